import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { WEBHOOK_COUNTER_ID } from '../../lambdas/shared/adapters/dynamo-webhook-store';
import { ENV, LIMITS, RESERVED_HEADERS } from '../../lambdas/shared/contract';
import { type ApiClient, type ApiTestContext, fakeResolver, startApi, webhookBody } from './support';

interface WebhookJson {
  id: string;
  name: string;
  url: string;
  eventTypes: string[];
  description: string;
  headers: Record<string, string>;
  enabled: boolean;
  status: string;
  disabledReason?: string;
  rateLimit?: number;
  filter?: Record<string, unknown>;
  health: { breaker: string; since?: string; reason?: string; nextProbeAt?: string; slowLaneUntil?: string };
  createdAt: string;
  updatedAt: string;
  secret?: string;
}
interface ErrorJson {
  error: { code: string; message: string; details: Array<{ path: string; message: string }> };
}
interface PageJson {
  items: WebhookJson[];
  nextCursor: string | null;
}

const URL_OK = 'https://hooks.example.com/visits';

describe('management API: webhooks (handler on dynalite, responses checked against the OpenAPI document)', () => {
  let t: ApiTestContext;
  let strict: ApiClient;
  let key: string;

  beforeAll(async () => {
    t = await startApi();
    key = await t.keyFor('acc_main');
    // Production rules: https only, public targets only; DNS answered from a table.
    strict = t.client({
      env: { ...t.h.env, [ENV.allowHttp]: 'false', [ENV.allowPrivateTargets]: 'false' },
      resolver: fakeResolver({
        'hooks.example.com': ['93.184.215.14'],
        'both.example.com': ['93.184.215.14', '10.1.2.3'],
        'internal.example.com': ['10.0.0.7'],
        'metadata.example.com': ['169.254.169.254'],
        'mapped.example.com': ['::ffff:127.0.0.1'],
        'xn--bcher-kva.example.com': ['93.184.215.14'],
      }),
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const create = (body: unknown, k = key, client?: ApiClient) => (client ?? strict).call<WebhookJson & ErrorJson>('POST', '/v1/webhooks', { key: k, body });

  describe('create, read, list, edit, delete', () => {
    it('creates a webhook, shows its secret once, and reads it back without the secret', async () => {
      const created = await create(
        webhookBody(URL_OK, {
          name: 'Notify My CRM',
          eventTypes: ['NEW_VISITOR', 'NEW_VISIT', 'NEW_VISIT'],
          description: 'Triggers Slack notifications',
          headers: { 'X-Api-Version': '2', Authorization: 'Bearer abc', 'X-Webhook-Signature': 'shared-token' },
        }),
      );
      expect(created.status).toBe(201);
      const w = created.body;
      expect(w.id).toMatch(/^wh_[0-9a-z]+$/);
      expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(w).toMatchObject({
        name: 'Notify My CRM',
        url: URL_OK,
        eventTypes: ['NEW_VISIT', 'NEW_VISITOR'], // a set: duplicates removed, canonical order
        description: 'Triggers Slack notifications',
        headers: { 'X-Api-Version': '2', Authorization: 'Bearer abc', 'X-Webhook-Signature': 'shared-token' },
        enabled: true,
        status: 'active',
      });
      expect(w.createdAt).toBe(w.updatedAt);

      const got = await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key });
      expect(got.status).toBe(200);
      expect(got.body).not.toHaveProperty('secret');
      const { secret: _secret, ...withoutSecret } = w;
      expect(got.body).toEqual(withoutSecret);
      expect(got.raw).not.toContain(w.secret!.slice(6));

      const secret = await strict.call<{ secret: string }>('GET', `/v1/webhooks/${w.id}/secret`, { key });
      expect(secret.body).toEqual({ secret: w.secret });

      // What the delivery path reads is the same webhook.
      const stored = await t.runtime.webhooks.get('acc_main', w.id);
      expect(stored).toMatchObject({ accountId: 'acc_main', webhookId: w.id, secret: w.secret, url: URL_OK });
    });

    it('defaults description, headers and enabled; a webhook created disabled is status disabled', async () => {
      const plain = await create(webhookBody(URL_OK));
      expect(plain.status).toBe(201);
      expect(plain.body).toMatchObject({ description: '', headers: {}, enabled: true, status: 'active' });
      const off = await create(webhookBody(URL_OK, { enabled: false }));
      expect(off.body).toMatchObject({ enabled: false, status: 'disabled' });
    });

    it('edits any field with PATCH and keeps the others', async () => {
      const w = (await create(webhookBody(URL_OK, { description: 'old', headers: { 'X-A': '1' } }))).body;
      t.h.clock.advance(1000);
      const patched = await strict.call<WebhookJson>('PATCH', `/v1/webhooks/${w.id}`, {
        key,
        body: { name: 'Renamed', eventTypes: ['NEW_VISITOR'], headers: { 'X-B': '2' }, url: 'https://hooks.example.com/v2' },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id: w.id, name: 'Renamed', eventTypes: ['NEW_VISITOR'], headers: { 'X-B': '2' }, url: 'https://hooks.example.com/v2', description: 'old', enabled: true });
      expect(patched.body.updatedAt > w.updatedAt).toBe(true);
      expect(patched.body.createdAt).toBe(w.createdAt);
      const again = await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key });
      expect(again.body).toEqual(patched.body);
      const empty = await strict.call<WebhookJson>('PATCH', `/v1/webhooks/${w.id}`, { key, body: { description: '' } });
      expect(empty.body.description).toBe('');
      // The secret survives edits.
      expect((await t.runtime.webhooks.get('acc_main', w.id))?.secret).toBe(w.secret);
    });

    it('disables with enabled:false and re-enables an auto-disabled webhook, clearing its reason and failure run', async () => {
      const w = (await create(webhookBody(URL_OK))).body;
      const disabled = await strict.call<WebhookJson>('PATCH', `/v1/webhooks/${w.id}`, { key, body: { enabled: false } });
      expect(disabled.body).toMatchObject({ enabled: false, status: 'disabled' });
      expect(disabled.body).not.toHaveProperty('disabledReason');

      await strict.call('PATCH', `/v1/webhooks/${w.id}`, { key, body: { enabled: true } });
      await t.runtime.webhooks.markFailing('acc_main', w.id, new Date(t.h.clock.now() - 6 * 86_400_000).toISOString());
      await t.runtime.webhooks.autoDisable('acc_main', w.id, 'every delivery failed since then', new Date(t.h.clock.now()).toISOString());
      const auto = await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key });
      expect(auto.body).toMatchObject({ enabled: false, status: 'auto-disabled', disabledReason: 'every delivery failed since then' });

      const enabled = await strict.call<WebhookJson>('PATCH', `/v1/webhooks/${w.id}`, { key, body: { enabled: true } });
      expect(enabled.body).toMatchObject({ enabled: true, status: 'active' });
      expect(enabled.body).not.toHaveProperty('disabledReason');
      const stored = await t.runtime.webhooks.get('acc_main', w.id);
      expect(stored?.failingSince).toBeUndefined();
      expect(stored?.disabledReason).toBeUndefined();
    });

    it('deletes a webhook (204), after which it is a 404 everywhere', async () => {
      const w = (await create(webhookBody(URL_OK))).body;
      const del = await strict.call('DELETE', `/v1/webhooks/${w.id}`, { key });
      expect(del.status).toBe(204);
      expect(del.raw).toBe('');
      expect((await strict.call('GET', `/v1/webhooks/${w.id}`, { key })).status).toBe(404);
      expect((await strict.call('DELETE', `/v1/webhooks/${w.id}`, { key })).status).toBe(404);
      expect((await strict.call('PATCH', `/v1/webhooks/${w.id}`, { key, body: { name: 'x' } })).status).toBe(404);
      expect(await t.runtime.webhooks.get('acc_main', w.id)).toBeUndefined();
    });

    it('lists with limit and cursor pages, in creation order, without secrets', async () => {
      const k = await t.keyFor('acc_pages');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        t.h.clock.advance(1);
        ids.push((await create(webhookBody(URL_OK, { name: `hook ${i}` }), k)).body.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { status: number; body: PageJson; raw: string } = await strict.call<PageJson>('GET', '/v1/webhooks', { key: k, query: { limit: '2', ...(cursor ? { cursor } : {}) } });
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        expect(res.raw).not.toContain('whsec_');
        seen.push(...res.body.items.map((w) => w.id));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(ids);
      const all = await strict.call<PageJson>('GET', '/v1/webhooks', { key: k });
      expect(all.body.items).toHaveLength(5);
      expect(all.body.nextCursor).toBeNull();
      const exact = await strict.call<PageJson>('GET', '/v1/webhooks', { key: k, query: { limit: '5' } });
      expect(exact.body.nextCursor).toBeNull(); // no empty last page
    });

    it('refuses a bad limit or cursor with 400 naming the parameter', async () => {
      for (const [query, path] of [
        [{ limit: '0' }, 'limit'],
        [{ limit: '101' }, 'limit'],
        [{ limit: 'ten' }, 'limit'],
        [{ limit: '2.5' }, 'limit'],
        [{ cursor: 'not-a-cursor' }, 'cursor'],
        [{ cursor: Buffer.from('{"webhookId":5}').toString('base64url') }, 'cursor'],
      ] as const) {
        const res = await strict.call<ErrorJson>('GET', '/v1/webhooks', { key, query });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('validation_error');
        expect(res.body.error.details[0]?.path).toBe(path);
      }
    });
  });

  describe('rate limit', () => {
    it('is optional on create, returned by GET and list when set, and stored for the delivery path', async () => {
      const k = await t.keyFor('acc_rate');
      const plain = await create(webhookBody(URL_OK), k);
      expect(plain.status).toBe(201);
      expect(plain.body).not.toHaveProperty('rateLimit');
      t.h.clock.advance(1); // ids sort by creation time: a distinct millisecond keeps the list order known
      const limited = await create(webhookBody(URL_OK, { name: 'limited', rateLimit: 50 }), k);
      expect(limited.status).toBe(201);
      expect(limited.body.rateLimit).toBe(50);
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${limited.body.id}`, { key: k })).body.rateLimit).toBe(50);
      const list = await strict.call<PageJson>('GET', '/v1/webhooks', { key: k });
      expect(list.body.items.map((w) => [w.name, w.rateLimit])).toEqual([
        ['CRM', undefined],
        ['limited', 50],
      ]);
      expect((await t.runtime.webhooks.get('acc_rate', limited.body.id))?.rateLimit).toBe(50);
      expect((await t.runtime.webhooks.get('acc_rate', plain.body.id))?.rateLimit).toBeUndefined();
      for (const edge of [LIMITS.rateLimitMin, LIMITS.rateLimitMax]) expect((await create(webhookBody(URL_OK, { rateLimit: edge }), k)).body.rateLimit).toBe(edge);
    });

    it('PATCH sets and changes it, keeps it when absent, and removes it with null', async () => {
      const w = (await create(webhookBody(URL_OK))).body;
      const patch = (body: unknown) => strict.call<WebhookJson & ErrorJson>('PATCH', `/v1/webhooks/${w.id}`, { key, body });
      expect((await patch({ rateLimit: 10 })).body.rateLimit).toBe(10);
      expect((await patch({ rateLimit: 1000 })).body.rateLimit).toBe(1000);
      const renamed = await patch({ name: 'Renamed' });
      expect(renamed.body).toMatchObject({ name: 'Renamed', rateLimit: 1000 });
      const removed = await patch({ rateLimit: null });
      expect(removed.status).toBe(200);
      expect(removed.body).not.toHaveProperty('rateLimit');
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key })).body).not.toHaveProperty('rateLimit');
      expect((await t.runtime.webhooks.get('acc_main', w.id))?.rateLimit).toBeUndefined();
      // Removing a limit that is not there is fine too.
      expect((await patch({ rateLimit: null })).status).toBe(200);
    });

    it('is refused with a 400 naming rateLimit unless it is a whole number from 1 to 1000', async () => {
      const w = (await create(webhookBody(URL_OK))).body;
      const cases: Array<[unknown, RegExp]> = [
        [0, /between 1 and 1000/],
        [-1, /between 1 and 1000/],
        [1001, /between 1 and 1000/],
        [1e20, /between 1 and 1000/],
        [1.5, /whole number/],
        ['10', /must be a number/],
        [true, /must be a number/],
        [[5], /must be a number/],
        [{ perSecond: 5 }, /must be a number/],
      ];
      for (const [rateLimit, message] of cases) {
        for (const res of [
          await create(webhookBody(URL_OK, { rateLimit })),
          await strict.call<ErrorJson>('PATCH', `/v1/webhooks/${w.id}`, { key, body: { rateLimit } }),
        ]) {
          expect({ rateLimit, status: res.status, code: res.body.error?.code }).toEqual({ rateLimit, status: 400, code: 'validation_error' });
          expect(res.body.error.details).toEqual([{ path: 'rateLimit', message: expect.stringMatching(message) }]);
        }
      }
      // null removes a limit on PATCH; on create there is nothing to remove: leave it out.
      const nullOnCreate = await create(webhookBody(URL_OK, { rateLimit: null }));
      expect(nullOnCreate.status).toBe(400);
      expect(nullOnCreate.body.error.details[0]).toMatchObject({ path: 'rateLimit', message: expect.stringMatching(/must be a number/) });
      expect((await t.runtime.webhooks.get('acc_main', w.id))?.rateLimit).toBeUndefined();
    });
  });

  describe('payload filter', () => {
    const NEWSLETTER = { params: { utm_source: ['newsletter'] } };
    const ELSEWHERE = { location: { country: [{ 'anything-but': ['United States'] }] } };

    it('is optional on create, returned by GET and list exactly as sent, and stored as its JSON text', async () => {
      const k = await t.keyFor('acc_filter');
      const plain = await create(webhookBody(URL_OK), k);
      expect(plain.body).not.toHaveProperty('filter');
      t.h.clock.advance(1);
      const pattern = { ...NEWSLETTER, $or: [{ device: { hardwareConcurrency: ['6'] } }, { screen: { width: [{ numeric: ['>=', 1024] }] } }], ip: [{ cidr: '192.168.0.0/16' }] };
      const filtered = await create(webhookBody(URL_OK, { name: 'filtered', filter: pattern }), k);
      expect(filtered.status).toBe(201);
      expect(filtered.body.filter).toEqual(pattern);
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${filtered.body.id}`, { key: k })).body.filter).toEqual(pattern);
      const list = await strict.call<PageJson>('GET', '/v1/webhooks', { key: k });
      expect(list.body.items.map((w) => [w.name, w.filter])).toEqual([
        ['CRM', undefined],
        ['filtered', pattern],
      ]);
      expect((await t.runtime.webhooks.get('acc_filter', filtered.body.id))?.filter).toBe(JSON.stringify(pattern));
    });

    it('PATCH replaces it, keeps it when absent, and removes it with null', async () => {
      const w = (await create(webhookBody(URL_OK, { filter: NEWSLETTER }))).body;
      const patch = (body: unknown) => strict.call<WebhookJson & ErrorJson>('PATCH', `/v1/webhooks/${w.id}`, { key, body });
      expect((await patch({ filter: ELSEWHERE })).body.filter).toEqual(ELSEWHERE);
      expect((await patch({ name: 'Renamed' })).body).toMatchObject({ name: 'Renamed', filter: ELSEWHERE });
      const removed = await patch({ filter: null });
      expect(removed.status).toBe(200);
      expect(removed.body).not.toHaveProperty('filter');
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key })).body).not.toHaveProperty('filter');
      expect((await t.runtime.webhooks.get('acc_main', w.id))?.filter).toBeUndefined();
      expect((await patch({ filter: null })).status).toBe(200);
    });

    it('is refused with a 400 naming the offending part of the pattern, on create and on PATCH, and nothing changes', async () => {
      const w = (await create(webhookBody(URL_OK, { filter: NEWSLETTER }))).body;
      const cases: Array<[unknown, string, RegExp]> = [
        [{ location: { country: [{ prefx: 'Uni' }] } }, 'filter.location.country[0].prefx', /unknown operator "prefx"/],
        [{ location: { country: 'France' } }, 'filter.location.country', /must be an array of values/],
        [{ location: { country: [] } }, 'filter.location.country', /empty array/],
        [{ device: { hardwareConcurrency: [{ numeric: ['>', '4'] }] } }, 'filter.device.hardwareConcurrency[0].numeric[1]', /numeric string/],
        [{ url: [{ wildcard: 'https://**' }] }, 'filter.url[0].wildcard', /consecutive/],
        [{ country: [{ 'anything-but': ['a', 1] }] }, 'filter.country[0].anything-but[1]', /only strings or only numbers/],
        [{ $or: [NEWSLETTER] }, 'filter.$or', /at least two/],
        [{ ip: [{ cidr: '10.0.0.0/33' }] }, 'filter.ip[0].cidr', /below 32/],
        [{}, 'filter', /empty object/],
        [['newsletter'], 'filter', /must be an object/],
        ['{"params":{}}', 'filter', /must be an object/],
        [{ a: ['x'.repeat(LIMITS.filterMaxBytes)] }, 'filter', /at most 4096 bytes/],
        [{ a: Array.from({ length: LIMITS.filterMaxValues + 1 }, (_, i) => i) }, `filter.a[${LIMITS.filterMaxValues}]`, /at most 100 values/],
        [{ a: Array.from({ length: LIMITS.filterMaxWildcards + 1 }, (_, i) => ({ wildcard: `*${i}*` })) }, `filter.a[${LIMITS.filterMaxWildcards}].wildcard`, /at most 10 wildcards/],
      ];
      for (const [filter, path, message] of cases) {
        for (const res of [
          await create(webhookBody(URL_OK, { filter })),
          await strict.call<ErrorJson>('PATCH', `/v1/webhooks/${w.id}`, { key, body: { filter } }),
        ]) {
          expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 400, code: 'validation_error' });
          expect(res.body.error.details).toEqual([{ path, message: expect.stringMatching(message) }]);
        }
      }
      const nullOnCreate = await create(webhookBody(URL_OK, { filter: null }));
      expect(nullOnCreate.status).toBe(400);
      expect(nullOnCreate.body.error.details[0]).toMatchObject({ path: 'filter' });
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key })).body.filter).toEqual(NEWSLETTER);
    });

    it('nests at most 10 levels, reported at the level that is too deep', async () => {
      const nest = (levels: number): Record<string, unknown> => (levels === 1 ? { leaf: ['x'] } : { n: nest(levels - 1) });
      expect((await create(webhookBody(URL_OK, { filter: nest(LIMITS.filterMaxDepth) }))).status).toBe(201);
      const res = await create(webhookBody(URL_OK, { filter: nest(LIMITS.filterMaxDepth + 1) }));
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ path: `filter${'.n'.repeat(LIMITS.filterMaxDepth)}`, message: expect.stringMatching(/at most 10 levels/) }]);
    });
  });

  describe('health', () => {
    const T = (offsetMs: number) => new Date(t.h.clock.now() + offsetMs).toISOString();

    it('is closed with no slow lane for a new webhook', async () => {
      const w = (await create(webhookBody(URL_OK))).body;
      expect(w.health).toEqual({ breaker: 'closed' });
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key })).body.health).toEqual({ breaker: 'closed' });
    });

    it('shows a stored open breaker (since, reason, next probe) on GET and in the list; half-open is probing; releasing', async () => {
      const k = await t.keyFor('acc_health');
      const w = (await create(webhookBody(URL_OK, { name: 'down' }), k)).body;
      const since = T(-60_000);
      const probeAt = T(30_000);
      const reason = '3 failed attempts in a row, the last: HTTP 503';
      expect(await t.runtime.webhooks.setBreaker('acc_health', w.id, { state: 'open', since, reason, probeAt, probes: 2 })).toBe(true);

      const got = await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key: k });
      expect(got.status).toBe(200);
      expect(got.body.health).toEqual({ breaker: 'open', since, reason, nextProbeAt: probeAt });
      expect(got.body).toMatchObject({ status: 'active', enabled: true }); // paused deliveries are not a disabled webhook
      const list = await strict.call<PageJson>('GET', '/v1/webhooks', { key: k });
      expect(list.body.items.find((i) => i.id === w.id)?.health).toEqual({ breaker: 'open', since, reason, nextProbeAt: probeAt });
      // An edit does not touch it (the breaker is the service's, never the customer's).
      expect((await strict.call<WebhookJson>('PATCH', `/v1/webhooks/${w.id}`, { key: k, body: { description: 'x' } })).body.health.breaker).toBe('open');
      expect((await strict.call<ErrorJson>('PATCH', `/v1/webhooks/${w.id}`, { key: k, body: { health: { breaker: 'closed' } } })).body.error.details[0]?.path).toBe('health');

      await t.runtime.webhooks.setBreaker('acc_health', w.id, { state: 'half-open', since, reason, probeAt: T(60_000), probes: 2 });
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key: k })).body.health).toEqual({ breaker: 'probing', since, reason });

      const recovered = 'the endpoint recovered: releasing parked deliveries';
      await t.runtime.webhooks.setBreaker('acc_health', w.id, { state: 'releasing', since, reason: recovered, probeAt: T(0), probes: 2 });
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key: k })).body.health).toEqual({ breaker: 'releasing', since, reason: recovered });

      await t.runtime.webhooks.setBreaker('acc_health', w.id, undefined);
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key: k })).body.health).toEqual({ breaker: 'closed' });
    });

    it('shows the slow lane until it ends', async () => {
      const w = (await create(webhookBody(URL_OK))).body;
      const until = T(300_000);
      await t.runtime.webhooks.markSlow('acc_main', w.id, until);
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key })).body.health).toEqual({ breaker: 'closed', slowLaneUntil: until });
      t.h.clock.advance(300_001);
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key })).body.health).toEqual({ breaker: 'closed' });
    });
  });

  describe('validation: each rule is a 400 naming the field', () => {
    const expectInvalid = async (body: unknown, path: string, message?: RegExp, client?: ApiClient) => {
      const res = await create(body, key, client);
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'validation_error' });
      expect(res.body.error.details.map((d) => d.path)).toContain(path);
      if (message) expect(res.body.error.details.find((d) => d.path === path)?.message).toMatch(message);
      return res;
    };

    it('name: required, 1-100 characters, not blank, a string', async () => {
      await expectInvalid({ url: URL_OK, eventTypes: ['NEW_VISIT'] }, 'name', /required/);
      await expectInvalid(webhookBody(URL_OK, { name: '' }), 'name', /empty/);
      await expectInvalid(webhookBody(URL_OK, { name: 'x'.repeat(LIMITS.nameMaxLength + 1) }), 'name', /100/);
      await expectInvalid(webhookBody(URL_OK, { name: '   ' }), 'name', /blank/);
      await expectInvalid(webhookBody(URL_OK, { name: 42 }), 'name', /string/);
      expect((await create(webhookBody(URL_OK, { name: 'x'.repeat(LIMITS.nameMaxLength) }))).status).toBe(201);
    });

    it('name: no control characters or Unicode bidirectional controls; description: tabs and line breaks only', async () => {
      for (const c of ['\u0000', '\t', '\n', '\r', '\u001B', '\u007F', '\u0085', '\u202A', '\u202E', '\u2066', '\u2069', '\u200E', '\u200F', '\u061C']) {
        await expectInvalid(webhookBody(URL_OK, { name: `invoice${c}fdp.exe` }), 'name', /control/);
      }
      for (const c of ['\u0000', '\u000B', '\u001B', '\u007F', '\u202E', '\u2067']) await expectInvalid(webhookBody(URL_OK, { description: `a${c}b` }), 'description', /control/);
      const ok = await create(webhookBody(URL_OK, { name: 'Zahlungen – 日本 ✓', description: 'line one\r\nline two\n\tindented' }));
      expect(ok.status).toBe(201);
      const edited = await strict.call<ErrorJson>('PATCH', `/v1/webhooks/${ok.body.id}`, { key, body: { name: 'a\u202Eb' } });
      expect(edited.status).toBe(400);
      expect(edited.body.error.details[0]).toMatchObject({ path: 'name' });
    });

    it('url: required, absolute, at most 2048 characters, no userinfo, https only, no whitespace', async () => {
      await expectInvalid({ name: 'a', eventTypes: ['NEW_VISIT'] }, 'url', /required/);
      await expectInvalid(webhookBody('/relative/path'), 'url', /absolute/);
      await expectInvalid(webhookBody('hooks.example.com/visits'), 'url', /absolute/);
      const long = `https://hooks.example.com/${'a'.repeat(LIMITS.urlMaxLength)}`;
      await expectInvalid(webhookBody(long), 'url', /2048/);
      expect((await create(webhookBody(`https://hooks.example.com/${'a'.repeat(LIMITS.urlMaxLength - 26)}`))).status).toBe(201);
      await expectInvalid(webhookBody('https://user:pass@hooks.example.com/'), 'url', /credentials/);
      await expectInvalid(webhookBody('https://user@hooks.example.com/'), 'url', /credentials/);
      await expectInvalid(webhookBody('https://@hooks.example.com/'), 'url', /credentials/);
      await expectInvalid(webhookBody('http://hooks.example.com/'), 'url', /https/);
      await expectInvalid(webhookBody('ftp://hooks.example.com/'), 'url', /https/);
      await expectInvalid(webhookBody('javascript:alert(1)'), 'url', /https/);
      await expectInvalid(webhookBody('https://hooks.example.com/a b'), 'url', /whitespace/);
      await expectInvalid(webhookBody('https://hooks.example.com/\r\nX-Injected: 1'), 'url', /whitespace/);
    });

    it('url: is stored normalized, exactly as the sender will call it', async () => {
      expect((await create(webhookBody('https://HOOKS.example.com'))).body.url).toBe('https://hooks.example.com/');
      expect((await create(webhookBody('https://bücher.example.com/päth?q=1'))).body.url).toBe('https://xn--bcher-kva.example.com/p%C3%A4th?q=1');
      expect((await create(webhookBody('https://hooks.example.com:443/a/../b'))).body.url).toBe('https://hooks.example.com/b');
    });

    it('url: refuses loopback, private, link-local/metadata, mapped and unresolvable targets', async () => {
      const refused = [
        'https://127.0.0.1/hook',
        'https://169.254.169.254/latest/meta-data/',
        'https://2130706433/', // decimal 127.0.0.1
        'https://0x7f000001/', // hex 127.0.0.1
        'https://[::1]/hook',
        'https://[::ffff:127.0.0.1]/hook',
        'https://[fd00::1]/hook',
        'https://10.0.0.1/hook',
        'https://192.168.1.10/hook',
        'https://100.64.0.1/hook', // CGNAT
        'https://0.0.0.0/hook',
        'https://224.0.0.1/hook', // multicast
        'https://localhost/hook',
        'https://metadata.google.internal/computeMetadata/v1/',
        'https://internal.example.com/hook', // a public name resolving to a private address
        'https://both.example.com/hook', // any private address taints the name
        'https://metadata.example.com/hook',
        'https://mapped.example.com/hook',
        'https://does-not-resolve.example.com/hook',
      ];
      for (const url of refused) {
        const res = await create(webhookBody(url));
        expect({ url, status: res.status }).toEqual({ url, status: 400 });
        expect(res.body.error.details[0]).toMatchObject({ path: 'url', message: expect.stringMatching(/not allowed/) });
      }
      expect((await create(webhookBody('https://93.184.215.14/hook'))).status).toBe(201);
    });

    it('url: a name that does not resolve and one that resolves privately are refused in the same words (no probing internal DNS)', async () => {
      const messageFor = async (host: string) => {
        const res = await create(webhookBody(`https://${host}/hook`));
        expect(res.status).toBe(400);
        return res.body.error.details.find((d) => d.path === 'url')?.message.replace(host, '<host>');
      };
      const unresolvable = await messageFor('does-not-resolve.example.com');
      expect(unresolvable).toBe('target is not allowed: <host> is not a public address we can deliver to');
      for (const host of ['internal.example.com', 'both.example.com', 'metadata.example.com', 'mapped.example.com']) expect(await messageFor(host)).toBe(unresolvable);
    });

    it('url: destination ports: 443, 80 and 1024-65535 except service ports; never port 0', async () => {
      for (const port of [0, 1, 22, 25, 53, 110, 389, 636, 1023, 3306, 5432, 6379, 11211, 27017]) {
        await expectInvalid(webhookBody(`https://hooks.example.com:${port}/hook`), 'url', port === 0 ? /port 0/ : new RegExp(`port ${port} is not allowed`));
      }
      for (const port of [80, 443, 1024, 3000, 8080, 8443, 9000, 65535]) {
        expect({ port, status: (await create(webhookBody(`https://hooks.example.com:${port}/hook`))).status }).toEqual({ port, status: 201 });
      }
      // An edit is held to the same rule.
      const created = await create(webhookBody(URL_OK));
      const edited = await strict.call<ErrorJson>('PATCH', `/v1/webhooks/${created.body.id}`, { key, body: { url: 'https://hooks.example.com:6379/' } });
      expect(edited.status).toBe(400);
      expect(edited.body.error.details[0]).toMatchObject({ path: 'url', message: expect.stringMatching(/port 6379/) });
      // Where private targets are allowed (local runtime), any port but 0.
      expect((await create(webhookBody('http://127.0.0.1:6379/hook'), key, t.api)).status).toBe(201);
      await expectInvalid(webhookBody('http://127.0.0.1:0/hook'), 'url', /port 0/, t.api);
    });

    it('url: a deployment that allows http and private targets accepts a loopback http receiver', async () => {
      expect((await create(webhookBody('http://127.0.0.1:9/hook'), key, t.api)).status).toBe(201);
      // ... but still never credentials or other schemes.
      await expectInvalid(webhookBody('http://u:p@127.0.0.1/hook'), 'url', /credentials/, t.api);
      await expectInvalid(webhookBody('file:///etc/passwd'), 'url', /https/, t.api);
    });

    it('eventTypes: a non-empty array of NEW_VISIT / NEW_VISITOR', async () => {
      await expectInvalid({ name: 'a', url: URL_OK }, 'eventTypes', /required/);
      await expectInvalid(webhookBody(URL_OK, { eventTypes: [] }), 'eventTypes', /at least one/);
      await expectInvalid(webhookBody(URL_OK, { eventTypes: ['NEW_VISIT', 'PAGE_VIEW'] }), 'eventTypes[1]', /NEW_VISIT, NEW_VISITOR/);
      await expectInvalid(webhookBody(URL_OK, { eventTypes: 'NEW_VISIT' }), 'eventTypes', /array/);
      await expectInvalid(webhookBody(URL_OK, { eventTypes: ['new_visit'] }), 'eventTypes[0]');
    });

    it('description: at most 500 characters, a string', async () => {
      await expectInvalid(webhookBody(URL_OK, { description: 'd'.repeat(LIMITS.descriptionMaxLength + 1) }), 'description', /500/);
      await expectInvalid(webhookBody(URL_OK, { description: null }), 'description', /string/);
      expect((await create(webhookBody(URL_OK, { description: 'd'.repeat(LIMITS.descriptionMaxLength) }))).status).toBe(201);
    });

    it('headers: at most 20, RFC 7230 token names, printable values without CR/LF, at most 1000 characters', async () => {
      const many = Object.fromEntries(Array.from({ length: LIMITS.headersMaxCount + 1 }, (_, i) => [`X-H${i}`, 'v']));
      await expectInvalid(webhookBody(URL_OK, { headers: many }), 'headers', /20/);
      const twenty = Object.fromEntries(Array.from({ length: LIMITS.headersMaxCount }, (_, i) => [`X-H${i}`, 'v']));
      expect((await create(webhookBody(URL_OK, { headers: twenty }))).status).toBe(201);
      await expectInvalid(webhookBody(URL_OK, { headers: { 'Bad Header': 'v' } }), 'headers.Bad Header', /token/);
      await expectInvalid(webhookBody(URL_OK, { headers: { 'X-Ünïcode': 'v' } }), 'headers.X-Ünïcode', /token/);
      await expectInvalid(webhookBody(URL_OK, { headers: { 'X-Colon:': 'v' } }), 'headers.X-Colon:', /token/);
      await expectInvalid(webhookBody(URL_OK, { headers: { 'X-Inject': 'a\r\nX-Evil: 1' } }), 'headers.X-Inject', /CR or LF/);
      await expectInvalid(webhookBody(URL_OK, { headers: { 'X-Inject': 'a\nb' } }), 'headers.X-Inject', /CR or LF/);
      await expectInvalid(webhookBody(URL_OK, { headers: { 'X-Nul': 'a\u0000b' } }), 'headers.X-Nul', /printable/);
      await expectInvalid(webhookBody(URL_OK, { headers: { 'X-Long': 'v'.repeat(LIMITS.headerValueMaxLength + 1) } }), 'headers.X-Long', /1000/);
      expect((await create(webhookBody(URL_OK, { headers: { 'X-Long': 'v'.repeat(LIMITS.headerValueMaxLength) } }))).status).toBe(201);
      await expectInvalid(webhookBody(URL_OK, { headers: { 'X-Num': 5 } }), 'headers.X-Num', /string/);
      await expectInvalid(webhookBody(URL_OK, { headers: ['X-A'] }), 'headers', /object/);
      await expectInvalid(webhookBody(URL_OK, { headers: { 'X-Dup': '1', 'x-dup': '2' } }), 'headers.x-dup', /duplicate/);
    });

    it('headers: never a reserved header, in any letter case; X-Webhook-Signature is allowed', async () => {
      const variants = (name: string) => [name, name.toUpperCase(), name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())];
      for (const reserved of RESERVED_HEADERS) {
        for (const name of variants(reserved)) {
          const res = await expectInvalid(webhookBody(URL_OK, { headers: { [name]: 'x' } }), `headers.${name}`, /reserved/);
          expect(res.status).toBe(400);
        }
      }
      for (const name of ['X-Webhook-Signature', 'x-webhook-signature', 'X-Webhook-Id', 'Webhook-Ids', 'Hostname', 'X-Host']) {
        expect({ name, status: (await create(webhookBody(URL_OK, { headers: { [name]: 'ok' } }))).status }).toEqual({ name, status: 201 });
      }
    });

    it('enabled must be a boolean; unknown fields are refused', async () => {
      await expectInvalid(webhookBody(URL_OK, { enabled: 'yes' }), 'enabled', /true or false/);
      await expectInvalid(webhookBody(URL_OK, { event_types: ['NEW_VISIT'] }), 'event_types', /not a known field/);
      await expectInvalid(webhookBody(URL_OK, { secret: 'whsec_mine' }), 'secret', /not a known field/);
    });

    it('reports every invalid field at once', async () => {
      const res = await create({ name: '', url: 'nope', eventTypes: [], description: 7, headers: { Host: 'x' } });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d) => d.path).sort()).toEqual(['description', 'eventTypes', 'headers.Host', 'name']);
    });

    it('applies the same rules to PATCH', async () => {
      const w = (await create(webhookBody(URL_OK))).body;
      const patch = (body: unknown) => strict.call<ErrorJson>('PATCH', `/v1/webhooks/${w.id}`, { key, body });
      for (const [body, path] of [
        [{ url: 'https://169.254.169.254/' }, 'url'],
        [{ url: 'http://hooks.example.com/' }, 'url'],
        [{ name: '' }, 'name'],
        [{ eventTypes: [] }, 'eventTypes'],
        [{ headers: { 'content-length': '5' } }, 'headers.content-length'],
        [{ enabled: 1 }, 'enabled'],
        [{ status: 'active' }, 'status'],
        [{ id: 'wh_other' }, 'id'],
      ] as const) {
        const res = await patch(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body.error.details[0]?.path).toBe(path);
      }
      expect((await strict.call<WebhookJson>('GET', `/v1/webhooks/${w.id}`, { key })).body.url).toBe(URL_OK);
    });
  });

  describe('limits', () => {
    it('allows 100 webhooks per account; the 101st is a 409; deleting one frees a slot', async () => {
      const k = await t.keyFor('acc_limit');
      const ids: string[] = [];
      for (let batch = 0; batch < LIMITS.webhooksPerAccount / 10; batch++) {
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => create(webhookBody(URL_OK, { name: `hook ${batch * 10 + i}` }), k)));
        for (const r of results) {
          expect(r.status).toBe(201);
          ids.push(r.body.id);
        }
      }
      const over = await create(webhookBody(URL_OK, { name: 'one too many' }), k);
      expect(over.status).toBe(409);
      expect(over.body.error).toMatchObject({ code: 'webhook_limit_reached', message: expect.stringMatching(/100/) });

      // The delivery path's one Query sees exactly the webhooks: never the counter item.
      const listed = await t.runtime.webhooks.listByAccount('acc_limit');
      expect(listed).toHaveLength(LIMITS.webhooksPerAccount);
      expect(listed.every((w) => w.webhookId.startsWith('wh_') && typeof w.url === 'string')).toBe(true);
      const page = await strict.call<PageJson>('GET', '/v1/webhooks', { key: k, query: { limit: '100' } });
      expect(page.body.items).toHaveLength(100);
      expect(page.body.nextCursor).toBeNull();

      expect((await strict.call('DELETE', `/v1/webhooks/${ids[0]}`, { key: k })).status).toBe(204);
      expect((await create(webhookBody(URL_OK), k)).status).toBe(201);
      expect((await create(webhookBody(URL_OK), k)).status).toBe(409);
    });

    it('concurrent creates never exceed the limit', async () => {
      const k = await t.keyFor('acc_race');
      const results = await Promise.all(Array.from({ length: LIMITS.webhooksPerAccount + 15 }, (_, i) => create(webhookBody(URL_OK, { name: `r${i}` }), k)));
      expect(results.filter((r) => r.status === 201)).toHaveLength(LIMITS.webhooksPerAccount);
      expect(results.filter((r) => r.status === 409)).toHaveLength(15);
      expect(await t.runtime.webhooks.listByAccount('acc_race')).toHaveLength(LIMITS.webhooksPerAccount);
    });

    it('repairs a counter left high by a crash once it has been quiet, and not before', async () => {
      const k = await t.keyFor('acc_drift');
      const put = (at: number) =>
        t.h.doc.send(new PutCommand({ TableName: t.h.tables.webhooks, Item: { accountId: 'acc_drift', webhookId: WEBHOOK_COUNTER_ID, webhookCount: 100, countUpdatedAt: at } }));
      await put(Date.now());
      expect((await create(webhookBody(URL_OK), k)).status).toBe(409);
      await put(Date.now() - 10 * 60_000);
      expect((await create(webhookBody(URL_OK), k)).status).toBe(201);
      const counter = await t.h.doc.send(new GetCommand({ TableName: t.h.tables.webhooks, Key: { accountId: 'acc_drift', webhookId: WEBHOOK_COUNTER_ID } }));
      expect(counter.Item?.webhookCount).toBe(1);
      expect((await strict.call('GET', `/v1/webhooks/${encodeURIComponent(WEBHOOK_COUNTER_ID)}`, { key: k })).status).toBe(404);
    });
  });

  describe('accounts are isolated', () => {
    it("another account's webhook is a 404 for every operation, in both directions", async () => {
      const keyA = await t.keyFor('acc_iso_a');
      const keyB = await t.keyFor('acc_iso_b');
      const whA = (await create(webhookBody(URL_OK, { name: 'A' }), keyA, t.api)).body;
      const whB = (await create(webhookBody(URL_OK, { name: 'B' }), keyB, t.api)).body;
      const deliveryId = 'msg_0000000000AAAAAAAAAAAAAAAA';
      for (const [owner, id] of [
        ['acc_iso_a', whA.id],
        ['acc_iso_b', whB.id],
      ] as const) {
        await t.runtime.deliveries.write({ accountId: owner, webhookId: id, deliveryId, eventId: 'e1', eventType: 'NEW_VISIT', createdAt: new Date().toISOString(), status: 'failed', payload: '{}', reason: 'test' });
      }
      for (const [intruder, victim, victimKey] of [
        [keyB, whA, keyA],
        [keyA, whB, keyB],
      ] as const) {
        const calls: Array<[string, string, unknown]> = [
          ['GET', `/v1/webhooks/${victim.id}`, undefined],
          ['PATCH', `/v1/webhooks/${victim.id}`, { name: 'hijacked', url: 'https://hooks.example.com/evil' }],
          ['GET', `/v1/webhooks/${victim.id}/secret`, undefined],
          ['POST', `/v1/webhooks/${victim.id}/secret/rotate`, undefined],
          ['POST', `/v1/webhooks/${victim.id}/test`, { eventType: 'NEW_VISIT' }],
          ['GET', `/v1/webhooks/${victim.id}/deliveries`, undefined],
          ['POST', `/v1/webhooks/${victim.id}/deliveries/${deliveryId}/retry`, undefined],
          ['POST', `/v1/webhooks/${victim.id}/recover`, { since: '2020-01-01T00:00:00Z' }],
          ['DELETE', `/v1/webhooks/${victim.id}`, undefined],
        ];
        for (const [method, path, body] of calls) {
          const res = await t.api.call<ErrorJson>(method, path, { key: intruder, ...(body !== undefined ? { body } : {}) });
          expect({ method, path, status: res.status, code: res.body.error.code }).toEqual({ method, path, status: 404, code: 'not_found' });
        }
        const list = await t.api.call<PageJson>('GET', '/v1/webhooks', { key: intruder });
        expect(list.body.items.map((w) => w.id)).not.toContain(victim.id);
        const intact = await t.api.call<WebhookJson>('GET', `/v1/webhooks/${victim.id}`, { key: victimKey });
        expect(intact.status).toBe(200);
        expect(intact.body.name).toBe(victim.name);
        expect((await t.api.call<{ secret: string }>('GET', `/v1/webhooks/${victim.id}/secret`, { key: victimKey })).body.secret).toBe(victim.secret);
      }
      expect(t.h.retryQueue.sent.filter((s) => s.message.deliveryId === deliveryId)).toHaveLength(0);
    });
  });
});
