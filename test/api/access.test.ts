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
