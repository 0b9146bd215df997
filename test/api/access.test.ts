import { DynamoRateLimiter } from '../../lambdas/shared/adapters/dynamo-rate-limiter';
import { ENV } from '../../lambdas/shared/contract';
import { ApiAccess, apiRateKey } from '../../lambdas/shared/domain/api-access';
import type { RateLimiter } from '../../lambdas/shared/domain/ports';
import { lambdaContext } from '../../local/lambda-events';
import { type ApiTestContext, assertMatchesOpenApi, proxyEvent, startApi } from './support';

interface ErrorJson {
  error: { code: string; message: string };
}

/**
 * The API function's own checks after the authorizer (docs/design.md §6): the request's one key
 * must still be its account's (revocation is immediate, whatever the authorizer's cache holds),
 * and each account has its own request rate, counted per second in the deliveries table.
 */
describe('API access: per-request key check and per-account rate', () => {
  let t: ApiTestContext;

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(async () => {
    await t.close();
  });

  describe('per-account rate (3 requests a second here, on the harness clock)', () => {
    const limited = () => t.client({ env: { ...t.h.env, [ENV.apiAccountRateLimit]: '3' } });

    it('answers 429 with Retry-After to the account over its rate only; another account is served; the next second admits it again', async () => {
      const api = limited();
      const [a, b] = [await t.keyFor('acc_rate_a'), await t.keyFor('acc_rate_b')];
      t.h.clock.current = Math.ceil(t.h.clock.now() / 1000) * 1000 + 100; // 100 ms into a second
      for (let i = 0; i < 3; i++) expect((await api.call('GET', '/v1/webhooks', { key: a })).status).toBe(200);
      const over = await api.call<ErrorJson>('GET', '/v1/webhooks', { key: a }); // OpenAPI-checked: a documented 429
      expect(over.status).toBe(429);
      expect(over.body.error.code).toBe('rate_limited');
      expect(over.headers['retry-after']).toBe('1');
      // Every operation counts, writes too.
      expect((await api.call('POST', '/v1/webhooks', { key: a, body: { name: 'x', url: 'http://127.0.0.1:9/h', eventTypes: ['NEW_VISIT'] } })).status).toBe(429);
      // The other account, in the same second, is not affected.
      for (let i = 0; i < 3; i++) expect((await api.call('GET', '/v1/webhooks', { key: b })).status).toBe(200);
      t.h.clock.advance(1000);
      expect((await api.call('GET', '/v1/webhooks', { key: a })).status).toBe(200);
    });

    it('counts per account, not per key: a second key of the same account shares the rate', async () => {
      const api = limited();
      const [k1, k2] = [await t.keyFor('acc_rate_keys'), await t.keyFor('acc_rate_keys')];
      t.h.clock.advance(1000);
      for (const key of [k1, k2, k1]) expect((await api.call('GET', '/v1/webhooks', { key })).status).toBe(200);
      expect((await api.call('GET', '/v1/webhooks', { key: k2 })).status).toBe(429);
    });

    it("counts a portal session against its account's rate: the account's keys and sessions share one window", async () => {
      const api = limited();
      const key = await t.keyFor('acc_rate_portal');
      const { token } = await t.sessions.create({ accountId: 'acc_rate_portal', readOnly: false, ttlSeconds: 3600 });
      const { token: readOnly } = await t.sessions.create({ accountId: 'acc_rate_portal', readOnly: true, ttlSeconds: 3600 });
      t.h.clock.current = Math.ceil(t.h.clock.now() / 1000) * 1000 + 100;
      for (const bearer of [key, token, readOnly]) expect((await api.call('GET', '/v1/webhooks', { key: bearer })).status).toBe(200);
      // The account is at its rate: the sessions are refused as its key is, with the same answer.
      for (const bearer of [token, readOnly, key]) {
        const over = await api.call<ErrorJson>('GET', '/v1/webhooks', { key: bearer });
        expect({ status: over.status, code: over.body.error.code, retryAfter: over.headers['retry-after'] }).toEqual({ status: 429, code: 'rate_limited', retryAfter: '1' });
      }
      // Another account's session, in the same second, is served.
      const { token: other } = await t.sessions.create({ accountId: 'acc_rate_portal_other', readOnly: false, ttlSeconds: 3600 });
      expect((await api.call('GET', '/v1/webhooks', { key: other })).status).toBe(200);
      t.h.clock.advance(1000);
      expect((await api.call('GET', '/v1/webhooks', { key: token })).status).toBe(200);
    });

    it('checkRate applies the rate alone (no key to look up), on the same counter as check', async () => {
      const lookups: string[] = [];
      const keys = { resolve: async (apiKey: string) => (lookups.push(apiKey), t.keys.resolve(apiKey)) };
      const access = new ApiAccess(keys, new DynamoRateLimiter(t.h.doc, t.h.tables.deliveries), t.h.clock, { accountRatePerSecond: 2 });
      const key = await t.keyFor('acc_rate_checkrate');
      t.h.clock.current = Math.ceil(t.h.clock.now() / 1000) * 1000;
      expect(await access.checkRate('acc_rate_checkrate')).toEqual({ allowed: true });
      expect(lookups).toEqual([]);
      expect(await access.check('acc_rate_checkrate', key)).toEqual({ allowed: true });
      expect(lookups).toEqual([key]);
      expect(await access.checkRate('acc_rate_checkrate')).toEqual({ allowed: false, reason: 'rate_limited', retryAfterSeconds: 1 });
    });

    it('remembers a refusal until its second ends: an account over its rate costs one counter write per second and container', async () => {
      let takes = 0;
      const dynamo = new DynamoRateLimiter(t.h.doc, t.h.tables.deliveries);
      const counting: RateLimiter = { tryTake: (key, perSecond, nowMs) => (takes++, dynamo.tryTake(key, perSecond, nowMs)) };
      const access = new ApiAccess(t.keys, counting, t.h.clock, { accountRatePerSecond: 2 });
      const key = await t.keyFor('acc_rate_memo');
      t.h.clock.current = Math.ceil(t.h.clock.now() / 1000) * 1000;
      const decisions = [];
      for (let i = 0; i < 10; i++) decisions.push(await access.check('acc_rate_memo', key));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, false, false, false, false, false, false, false, false]);
      expect(decisions[9]).toEqual({ allowed: false, reason: 'rate_limited', retryAfterSeconds: 1 });
      expect(takes).toBe(3); // two admitted, one refused; the other seven refused from memory
      t.h.clock.advance(1000);
      expect(await access.check('acc_rate_memo', key)).toEqual({ allowed: true });
      expect(apiRateKey('acc_rate_memo')).toBe('api:acc_rate_memo'); // `rate#api:…`: one '#', a webhook's counter has two
    });
  });

  describe('per-request key check', () => {
    it("a key revoked after the authorizer allowed it (its answer cached) can no longer reveal or rotate a secret, or read anything", async () => {
      const key = await t.keyFor('acc_revoked');
      const id = (await t.api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: { name: 'x', url: 'http://127.0.0.1:9/h', eventTypes: ['NEW_VISIT'] } })).body.id;
      // What API Gateway would reuse for 60 s: the authorizer's context from before the revocation.
      const cached = (await t.authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${key}`, methodArn: 'arn:aws:execute-api:us-east-1:1:api/test/GET/v1/webhooks' })).context;
      const call = (method: string, path: string) => t.api.handler(proxyEvent(method, path, { key }, { ...cached }), lambdaContext);
      expect((await call('GET', `/v1/webhooks/${id}/secret`)).statusCode).toBe(200);
      await t.keys.revoke({ apiKey: key });
      for (const [method, path] of [
        ['GET', `/v1/webhooks/${id}/secret`],
        ['POST', `/v1/webhooks/${id}/secret/rotate`],
        ['GET', `/v1/webhooks/${id}`],
        ['GET', '/v1/webhooks'],
        ['DELETE', `/v1/webhooks/${id}`],
      ] as const) {
        const res = await call(method, path);
        expect({ method, path, status: res.statusCode }).toEqual({ method, path, status: 401 });
        assertMatchesOpenApi(method, path, res);
        expect((JSON.parse(res.body) as ErrorJson).error.code).toBe('unauthorized');
      }
    });

    it('still re-checks an API key of an account that also has a portal session: the revoked key is refused, the session is not an API key and keeps working', async () => {
      const key = await t.keyFor('acc_portal_recheck');
      const { token } = await t.sessions.create({ accountId: 'acc_portal_recheck', readOnly: false, ttlSeconds: 3600 });
      const arn = 'arn:aws:execute-api:us-east-1:1:api/test/GET/v1/webhooks';
      const keyContext = (await t.authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${key}`, methodArn: arn })).context;
      const sessionContext = (await t.authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: arn })).context;
      await t.keys.revoke({ apiKey: key });
      expect((await t.api.handler(proxyEvent('GET', '/v1/webhooks', { key }, { ...keyContext }), lambdaContext)).statusCode).toBe(401);
      expect((await t.api.handler(proxyEvent('GET', '/v1/webhooks', { key: token }, { ...sessionContext }), lambdaContext)).statusCode).toBe(200);
    });

    it("refuses a portal session's cached answer unless the request's one Authorization header holds that session", async () => {
      const key = await t.keyFor('acc_portal_header');
      const [s1, s2] = [
        await t.sessions.create({ accountId: 'acc_portal_header', readOnly: true, ttlSeconds: 3600 }),
        await t.sessions.create({ accountId: 'acc_portal_header', readOnly: false, ttlSeconds: 3600 }),
      ];
      const arn = 'arn:aws:execute-api:us-east-1:1:api/test/GET/v1/webhooks';
      const context = { ...(await t.authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${s1.token}`, methodArn: arn })).context };
      const status = async (opts: Parameters<typeof proxyEvent>[2], mutate?: (e: ReturnType<typeof proxyEvent>) => void) => {
        const event = proxyEvent('GET', '/v1/webhooks', opts, context);
        mutate?.(event);
        return (await t.api.handler(event, lambdaContext)).statusCode;
      };
      expect(await status({ key: s1.token })).toBe(200);
      // Another session (a writable one) or a key of the same account under the read-only session's cached answer.
      expect(await status({ key: s2.token })).toBe(401);
      expect(await status({ key })).toBe(401);
      // No header, or the session's token sent twice.
      expect(await status({})).toBe(401);
      const twice = (e: ReturnType<typeof proxyEvent>) => {
        e.multiValueHeaders = { ...e.multiValueHeaders, Authorization: [`Bearer ${s1.token}`, `Bearer ${s1.token}`] };
      };
      expect(await status({ key: s1.token }, twice)).toBe(401);
    });

    it("refuses a request whose key is not the authorizer's account, or that carries more than one Authorization header", async () => {
      const [a, b] = [await t.keyFor('acc_check_a'), await t.keyFor('acc_check_b')];
      const contextA = { accountId: 'acc_check_a', keyId: a.slice(0, 12) };
      const ok = await t.api.handler(proxyEvent('GET', '/v1/webhooks', { key: a }, contextA), lambdaContext);
      expect(ok.statusCode).toBe(200);
      // B's key under A's cached context (a cache key confused by a second header): refused.
      expect((await t.api.handler(proxyEvent('GET', '/v1/webhooks', { key: b }, contextA), lambdaContext)).statusCode).toBe(401);
      // Two values, as API Gateway passes them in multiValueHeaders (one spelling twice, or two spellings).
      const twice = proxyEvent('GET', '/v1/webhooks', { key: a }, contextA);
      twice.multiValueHeaders = { ...twice.multiValueHeaders, Authorization: [`Bearer ${a}`, `Bearer ${b}`] };
      expect((await t.api.handler(twice, lambdaContext)).statusCode).toBe(401);
      const spellings = proxyEvent('GET', '/v1/webhooks', { key: a, headers: { authorization: `Bearer ${a}` } }, contextA);
      expect((await t.api.handler(spellings, lambdaContext)).statusCode).toBe(401);
      // No header at all, or a malformed one.
      expect((await t.api.handler(proxyEvent('GET', '/v1/webhooks', {}, contextA), lambdaContext)).statusCode).toBe(401);
      expect((await t.api.handler(proxyEvent('GET', '/v1/webhooks', { authorization: `Bearer ${a}x` }, contextA), lambdaContext)).statusCode).toBe(401);
      // Any letter case of the scheme and the header name, and extra spaces, are the same key.
      expect((await t.api.handler(proxyEvent('GET', '/v1/webhooks', { headers: { AUTHORIZATION: `bEaReR   ${a} ` } }, contextA), lambdaContext)).statusCode).toBe(200);
    });
  });
});
