import { createApiHandler } from '../../lambdas/api/app';
import { openApiDocument } from '../../lambdas/api/openapi';
import { OPERATIONS, PUBLIC_OPERATIONS } from '../../lambdas/api/operations';
import { EVENT_TYPE_DESCRIPTIONS, EVENT_TYPES, isOperationalEventType, LIMITS } from '../../lambdas/shared/contract';
import { SAMPLE_PAYLOADS } from '../../lambdas/shared/sample-payloads';
import type { WebhookAdminStore } from '../../lambdas/shared/domain/ports';
import { WebhookService } from '../../lambdas/shared/domain/webhook-service';
import { lambdaContext } from '../../local/lambda-events';
import { MemoryLog } from '../../local/harness/fakes';
import { type ApiTestContext, assertMatchesOpenApi, type ProxyHandler, proxyEvent, startApi, webhookBody } from './support';

interface ErrorJson {
  error: { code: string; message: string; details: Array<{ path: string; message: string }> };
}

describe('management API: HTTP behaviour (routing, bodies, errors, OpenAPI)', () => {
  let t: ApiTestContext;
  let key: string;
  /** A webhook of the test's own (several tests PATCH it). */
  let hookId: string;

  beforeAll(async () => {
    t = await startApi();
    key = await t.keyFor('acc_http');
  });
  beforeEach(async () => {
    hookId = (await t.api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: webhookBody('http://127.0.0.1:9/hook') })).body.id;
  });
  afterAll(async () => {
    await t.close();
  });

  describe('request bodies', () => {
    it('malformed JSON is a 400 malformed_json that does not echo the body', async () => {
      const res = await t.api.call<ErrorJson>('POST', '/v1/webhooks', { key, rawBody: '{"name": "x", "url": ', headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: 'malformed_json', message: 'the request body is not valid JSON', details: [] });
    });

    it('a body that is JSON but not an object is a 400 naming the body', async () => {
      for (const raw of ['[]', '"text"', '42', 'null']) {
        const res = await t.api.call<ErrorJson>('POST', '/v1/webhooks', { key, rawBody: raw, headers: { 'Content-Type': 'application/json' } });
        expect(res.status).toBe(400);
        expect(res.body.error.details[0]).toMatchObject({ path: 'body' });
      }
    });

    it('a missing body is a 400; a body that is not application/json is a 415', async () => {
      const missing = await t.api.call<ErrorJson>('POST', '/v1/webhooks', { key });
      expect(missing.status).toBe(400);
      expect(missing.body.error.details).toEqual([{ path: 'body', message: 'is required' }]);
      const json = JSON.stringify(webhookBody('http://127.0.0.1:9/hook'));
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp']) {
        const res = await t.api.call<ErrorJson>('POST', '/v1/webhooks', { key, rawBody: json, headers: { 'Content-Type': contentType } });
        expect({ contentType, status: res.status, code: res.body.error.code }).toEqual({ contentType, status: 415, code: 'unsupported_media_type' });
      }
      const none = await t.api.call<ErrorJson>('POST', '/v1/webhooks', { key, rawBody: json });
      expect(none.status).toBe(415);
      const patch = await t.api.call<ErrorJson>('PATCH', `/v1/webhooks/${hookId}`, { key, rawBody: '{"name":"x"}', headers: { 'content-type': 'text/json' } });
      expect(patch.status).toBe(415);
      for (const contentType of ['application/json; charset=utf-8', 'Application/JSON', 'application/merge-patch+json']) {
        const ok = await t.api.call('PATCH', `/v1/webhooks/${hookId}`, { key, rawBody: '{"name":"ok"}', headers: { 'content-type': contentType } });
        expect({ contentType, status: ok.status }).toEqual({ contentType, status: 200 });
      }
    });

    it(`a body over ${LIMITS.apiBodyMaxBytes} bytes is a 413`, async () => {
      const big = JSON.stringify(webhookBody('http://127.0.0.1:9/hook', { description: 'x'.repeat(LIMITS.apiBodyMaxBytes) }));
      const res = await t.api.call<ErrorJson>('POST', '/v1/webhooks', { key, rawBody: big, headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
      // Counted in bytes, not characters.
      const multibyte = JSON.stringify({ name: 'é'.repeat(LIMITS.apiBodyMaxBytes / 2 + 10) });
      expect((await t.api.call('PATCH', `/v1/webhooks/${hookId}`, { key, rawBody: multibyte, headers: { 'Content-Type': 'application/json' } })).status).toBe(413);
    });

    it('reads base64-encoded bodies', async () => {
      const event = proxyEvent('PATCH', `/v1/webhooks/${hookId}`, { key, headers: { 'Content-Type': 'application/json' } }, { accountId: 'acc_http' });
      event.body = Buffer.from('{"description":"from base64"}').toString('base64');
      event.isBase64Encoded = true;
      const res = await t.api.handler(event, lambdaContext);
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.body).description).toBe('from base64');
    });
  });

  describe('routing', () => {
    it('an unknown route is a 404, a known path with another method a 405 with Allow', async () => {
      for (const path of ['/', '/v2/webhooks', '/v1/webhook', '/v1/webhooks/wh_x/unknown', '/v1/webhooks/wh_x/deliveries/msg_x']) {
        const res = await t.api.call<ErrorJson>('GET', path, { key });
        expect({ path, status: res.status, code: res.body.error.code }).toEqual({ path, status: 404, code: 'not_found' });
      }
      const put = await t.api.call<ErrorJson>('PUT', `/v1/webhooks/${hookId}`, { key, body: {} });
      expect(put.status).toBe(405);
      expect(put.headers.allow).toBe('GET, PATCH, DELETE');
      expect(put.body.error.code).toBe('method_not_allowed');
      const del = await t.api.call('DELETE', '/v1/webhooks', { key });
      expect(del.status).toBe(405);
      expect(del.headers.allow).toBe('POST, GET');
      expect((await t.api.call('GET', `/v1/webhooks/${hookId}/secret/rotate`, { key })).status).toBe(405);
    });

    it('a malformed or unknown id is a 404, never a 5xx', async () => {
      for (const id of ['abc', 'wh_', `wh_${'a'.repeat(65)}`, 'wh_zzzzzzzz', '%E0%A4%A', '%23webhook-count', 'wh_a%2Fb', encodeURIComponent("wh_' OR 1=1"), 'x'.repeat(3000)]) {
        const res = await t.api.call<ErrorJson>('GET', `/v1/webhooks/${id}`, { key });
        expect({ id: id.slice(0, 20), status: res.status }).toEqual({ id: id.slice(0, 20), status: 404 });
      }
      for (const deliveryId of ['msg_1', 'nope', `msg_${'A'.repeat(26)}`]) {
        expect((await t.api.call('POST', `/v1/webhooks/${hookId}/deliveries/${deliveryId}/retry`, { key })).status).toBe(404);
      }
    });

    it('a trailing slash is tolerated', async () => {
      expect((await t.api.call('GET', '/v1/webhooks/', { key })).status).toBe(200);
    });

    it('refuses a request that reaches the handler without an authorizer account (401)', async () => {
      const res = await t.api.handler(proxyEvent('GET', '/v1/webhooks', {}, null), lambdaContext);
      expect(res.statusCode).toBe(401);
      expect(JSON.parse(res.body).error.code).toBe('unauthorized');
      const empty = await t.api.handler(proxyEvent('GET', '/v1/webhooks', {}, { accountId: '' }), lambdaContext);
      expect(empty.statusCode).toBe(401);
    });
  });

  describe('unexpected errors', () => {
    const failingStore = (err: unknown): WebhookAdminStore => {
      const fail = () => Promise.reject(err);
      return { listByAccount: fail, get: fail, markFailing: fail, clearFailing: fail, autoDisable: fail, markSlow: fail, setBreaker: fail, listBreakers: fail, create: fail, listPage: fail, update: fail, delete: fail };
    };
    const handlerWith = (err: unknown, log: MemoryLog): ProxyHandler => {
      const base = t.runtime;
      const webhooks = new WebhookService({
        store: failingStore(err),
        deliveries: base.deliveries,
        recovery: undefined as never,
        sender: { send: () => Promise.reject(err), close: async () => undefined },
        clock: base.clock,
        resolver: async () => [],
        allowHttp: true,
        allowPrivateTargets: true,
      });
      // Access is granted here: these tests are about what the operations' errors become.
      return createApiHandler({ webhooks, access: { check: async () => ({ allowed: true }), checkRate: async () => ({ allowed: true }) }, log });
    };

    it('answers a generic 500 internal_error, logs the cause, never leaks a stack trace', async () => {
      const log = new MemoryLog();
      const handler = handlerWith(new Error('db password is hunter2'), log);
      const event = proxyEvent('GET', '/v1/webhooks', {}, { accountId: 'acc_http' });
      const res = await handler(event, lambdaContext);
      expect(res.statusCode).toBe(500);
      assertMatchesOpenApi('GET', '/v1/webhooks', res);
      const body = JSON.parse(res.body) as ErrorJson;
      expect(body.error.code).toBe('internal_error');
      expect(body.error.message).toContain(event.requestContext.requestId);
      expect(res.body).not.toMatch(/hunter2|at .*\.ts|Error:/);
      expect(log.lines.join('\n')).toContain('hunter2');
    });

    it('maps backing-service throttling to 429 with Retry-After', async () => {
      const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
      const res = await handlerWith(throttled, new MemoryLog())(proxyEvent('GET', `/v1/webhooks/${hookId}`, {}, { accountId: 'acc_http' }), lambdaContext);
      expect(res.statusCode).toBe(429);
      expect(res.headers?.['retry-after']).toBe('1');
      assertMatchesOpenApi('GET', `/v1/webhooks/${hookId}`, res);
      expect(JSON.parse(res.body).error.code).toBe('rate_limited');
    });
  });

  describe('event catalog', () => {
    it('GET /v1/event-types lists every event type with its description, body schema and sample, as documented', async () => {
      const res = await t.api.call<{ items: Array<{ eventType: string; description: string; schema: Record<string, unknown>; example: unknown }> }>('GET', '/v1/event-types', { key });
      expect(res.status).toBe(200);
      assertMatchesOpenApi('GET', '/v1/event-types', { statusCode: res.status, headers: res.headers, body: res.raw });
      expect(res.body.items.map((i) => i.eventType)).toEqual([...EVENT_TYPES]);
      for (const item of res.body.items) {
        expect(item.description).toBe(EVENT_TYPE_DESCRIPTIONS[item.eventType as keyof typeof EVENT_TYPE_DESCRIPTIONS]);
        expect(item.example).toEqual(SAMPLE_PAYLOADS[item.eventType as keyof typeof SAMPLE_PAYLOADS]);
        // The schema standing alone is the document's Visit schema plus its dialect.
        if (isOperationalEventType(item.eventType)) expect(item.schema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: item.eventType });
        else expect(item.schema).toEqual({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...openApiDocument().components.schemas.Visit });
      }
    });

    it('GET /v1/event-types needs a key like every route but the document', async () => {
      const res = await t.api.call<ErrorJson>('GET', '/v1/event-types');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    });

    it('the document\'s webhooks section has one signed POST per event type, its body the Visit schema', () => {
      const doc = openApiDocument();
      expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_TYPES].sort());
      for (const eventType of EVENT_TYPES) {
        const post = doc.webhooks[eventType]?.post as { security: unknown[]; parameters: Array<{ name: string; in: string }>; responses: Record<string, unknown> };
        expect(post.security).toEqual([]); // signed, not authenticated with an API key
        expect(post.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(
          ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'X-Webhook-Signature', 'X-Webhook-Event', 'User-Agent'].map((n) => `header:${n}`),
        );
        expect(Object.keys(post.responses).sort()).toEqual(['2XX', '410', '429', 'default']);
      }
    });
  });

  describe('OpenAPI document', () => {
    it('is served at GET /v1/openapi.json without a key, as OpenAPI 3.1 with every operation', async () => {
      const res = await t.api.call<ReturnType<typeof openApiDocument>>('GET', '/v1/openapi.json');
      expect(res.status).toBe(200);
      expect(res.body.openapi).toBe('3.1.0');
      expect(res.body.servers).toEqual([{ url: '/test' }]); // the stage prefix the client used
      expect(res.body.paths).toEqual(openApiDocument().paths);
      const documented = Object.entries(res.body.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
      expect(documented.sort()).toEqual(OPERATIONS.map((op) => `${op.method} ${op.path}`).sort());
      expect(PUBLIC_OPERATIONS).toEqual([{ method: 'GET', path: '/v1/openapi.json' }]);
      expect(res.body.paths['/v1/openapi.json']?.get?.security).toEqual([]);
      expect(res.body.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
      for (const name of ['Webhook', 'WebhookCreate', 'WebhookPatch', 'Secret', 'Delivery', 'Attempt', 'TestResult', 'Error', 'WebhookPage', 'DeliveryPage']) {
        expect(res.body.components.schemas).toHaveProperty(name);
      }
      // Every $ref in the document resolves.
      const refs = [...res.raw.matchAll(/"\$ref":"#\/components\/(schemas|responses)\/(\w+)"/g)];
      expect(refs.length).toBeGreaterThan(20);
      for (const [, kind, name] of refs) expect(res.body.components[kind as 'schemas' | 'responses']).toHaveProperty(name as string);
    });

    it('documents the request rules the API enforces', () => {
      const create = openApiDocument().components.schemas.WebhookCreate as { properties: Record<string, Record<string, unknown>>; required: string[]; additionalProperties: boolean };
      expect(create.required.sort()).toEqual(['eventTypes', 'name', 'url']);
      expect(create.additionalProperties).toBe(false);
      expect(create.properties.name).toMatchObject({ minLength: 1, maxLength: LIMITS.nameMaxLength });
      expect(create.properties.url).toMatchObject({ maxLength: LIMITS.urlMaxLength, format: 'uri' });
      expect(create.properties.description).toMatchObject({ maxLength: LIMITS.descriptionMaxLength });
      expect(create.properties.headers).toMatchObject({ maxProperties: LIMITS.headersMaxCount, additionalProperties: { maxLength: LIMITS.headerValueMaxLength } });
      expect(create.properties.rateLimit).toMatchObject({ type: 'integer', minimum: LIMITS.rateLimitMin, maximum: LIMITS.rateLimitMax, description: expect.stringMatching(/never dropped or failed/) });
      const patch = openApiDocument().components.schemas.WebhookPatch as { properties: Record<string, { anyOf?: unknown[] }> };
      expect(patch.properties.rateLimit?.anyOf).toEqual([expect.objectContaining({ type: 'integer', minimum: LIMITS.rateLimitMin, maximum: LIMITS.rateLimitMax }), { type: 'null' }]);
      const webhook = openApiDocument().components.schemas.Webhook as { required: string[]; properties: Record<string, unknown> };
      expect(webhook.required).toContain('health');
      expect(openApiDocument().components.schemas.WebhookHealth).toMatchObject({ properties: { breaker: { enum: ['closed', 'open', 'probing', 'releasing'] } }, required: ['breaker'] });
      // The reserved-name pattern works without a case-insensitive flag.
      const names = (create.properties.headers as { propertyNames: { allOf: Array<{ pattern: string }> } }).propertyNames.allOf.map((p) => new RegExp(p.pattern, 'u'));
      const allowed = (name: string) => names.every((re) => re.test(name));
      expect(allowed('X-Webhook-Signature')).toBe(true);
      expect(allowed('Webhook-Signature')).toBe(false);
      expect(allowed('CONTENT-length')).toBe(false);
      expect(allowed('Bad Name')).toBe(false);
    });

    it('the response check fails a response that does not match the document', () => {
      const webhook = { id: 'wh_1', name: 'n', url: 'https://a.example/', eventTypes: ['NEW_VISIT'], description: '', headers: {}, enabled: true, status: 'active', health: { breaker: 'closed' }, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
      const res = (statusCode: number, body: unknown) => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(() => assertMatchesOpenApi('GET', '/v1/webhooks/wh_1', res(200, webhook))).not.toThrow();
      expect(() => assertMatchesOpenApi('GET', '/v1/webhooks/wh_1', res(200, { ...webhook, secret: 'whsec_leak' }))).toThrow(/does not match/);
      expect(() => assertMatchesOpenApi('GET', '/v1/webhooks/wh_1', res(200, { ...webhook, status: 'paused' }))).toThrow(/does not match/);
      expect(() => assertMatchesOpenApi('GET', '/v1/webhooks/wh_1', res(200, { ...webhook, health: { breaker: 'half-open' } }))).toThrow(/does not match/);
      expect(() => assertMatchesOpenApi('GET', '/v1/webhooks/wh_1', res(200, { ...webhook, rateLimit: 0 }))).toThrow(/does not match/);
      const { health: _h, ...noHealth } = webhook;
      expect(() => assertMatchesOpenApi('GET', '/v1/webhooks/wh_1', res(200, noHealth))).toThrow(/does not match/);
      const { name: _n, ...noName } = webhook;
      expect(() => assertMatchesOpenApi('GET', '/v1/webhooks/wh_1', res(200, noName))).toThrow(/does not match/);
      expect(() => assertMatchesOpenApi('GET', '/v1/webhooks/wh_1', res(409, { error: { code: 'not_found', message: 'x', details: [] } }))).toThrow(/does not list/);
      expect(() => assertMatchesOpenApi('GET', '/v1/webhooks/wh_1', res(404, { error: { code: 'nope', message: 'x', details: [] } }))).toThrow(/does not match/);
      expect(() => assertMatchesOpenApi('DELETE', '/v1/webhooks/wh_1', { statusCode: 204, body: '{}' })).toThrow(/no body/);
    });
  });
});
