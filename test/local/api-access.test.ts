import { request } from 'node:http';
import { createLocalApiRoutes } from '../../local/api-routes';
import { type LocalStack, startLocalStack } from '../../local/stack';

jest.setTimeout(30_000);

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly code: string | undefined;
}

/**
 * The management API on the local runtime, through its API Gateway (the authorizer's answer
 * cached 60 s per Authorization value, as in AWS) and the API function's per-request checks: one
 * account over its request rate gets 429 while another is served, and a revoked key stops working
 * at once although the gateway's cache still allows it.
 */
describe('local runtime: per-account API rate and revocation within the authorizer cache window', () => {
  let stack: LocalStack;
  let platformToken = '';
  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      dataDir: ':memory:',
      env: { ...process.env, WEBHOOKS_API_ACCOUNT_RATE_LIMIT: '3' },
      routes: (core) => {
        const routes = createLocalApiRoutes(core);
        platformToken = routes.platformToken;
        return routes;
      },
      print: () => undefined,
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** A raw HTTP request, so that headers can be sent twice or in any spelling. */
  const send = (method: string, path: string, headers: Array<[string, string]>, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const url = new URL(path, stack.url);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      // As an array, headers go out exactly as given (Host included: Node adds none then).
      const raw = ['Host', url.host, ...headers.flat(), ...(payload ? ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(payload))] : [])];
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method, headers: raw }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => {
          const json = text ? (JSON.parse(text) as { error?: { code: string } }) : {};
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, code: json.error?.code });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  const mint = async (accountId: string): Promise<string> => {
    const res = await fetch(`${stack.url}/_local/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId }) });
    return ((await res.json()) as { apiKey: string }).apiKey;
  };
  const bearer = (key: string): Array<[string, string]> => [['Authorization', `Bearer ${key}`]];

  it('refuses the account over its rate with 429 and Retry-After, and serves another account meanwhile', async () => {
    const [noisy, quiet] = [await mint('acc_local_noisy'), await mint('acc_local_quiet')];
    // 30 requests at once: at 3 a second, whatever seconds they span, most are refused.
    const burst = await Promise.all(Array.from({ length: 30 }, () => send('GET', '/v1/webhooks', bearer(noisy))));
    const refused = burst.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(burst.every((a) => a.status === 200 || a.status === 429)).toBe(true);
    for (const a of refused) expect(a).toEqual({ status: 429, retryAfter: '1', code: 'rate_limited' });
    // The other account is within its own rate.
    expect((await send('GET', '/v1/webhooks', bearer(quiet))).status).toBe(200);
  });

  it('a key revoked while its Allow is cached cannot reveal or rotate a secret, or read anything', async () => {
    const key = await mint('acc_local_revoked');
    const created = await fetch(`${stack.url}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', url: 'http://127.0.0.1:9/h', eventTypes: ['NEW_VISIT'] }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    // The gateway caches this Allow for 60 s.
    expect((await send('GET', `/v1/webhooks/${id}/secret`, bearer(key))).status).toBe(200);
    const keyId = key.slice(0, 12);
    expect((await fetch(`${stack.url}/_local/api-keys/${keyId}`, { method: 'DELETE' })).status).toBe(200);
    expect(await send('GET', `/v1/webhooks/${id}/secret`, bearer(key))).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await send('POST', `/v1/webhooks/${id}/secret/rotate`, bearer(key))).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await send('GET', '/v1/webhooks', bearer(key))).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it("lets a portal session token through the gateway's validation expression, and counts it against its account's rate", async () => {
    const res = await fetch(`${stack.url}/v1/portal-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${platformToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: 'acc_local_portal' }),
    });
    expect(res.status).toBe(201);
    const { token } = (await res.json()) as { token: string };
    expect(token).toMatch(/^vps_/);
    expect((await send('GET', '/v1/webhooks', bearer(token))).status).toBe(200);
    // A malformed session token never reaches the authorizer; a second header is refused too.
    expect(await send('GET', '/v1/webhooks', bearer(`${token}x`))).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await send('GET', '/v1/webhooks', [...bearer(token), ...bearer(token)])).toMatchObject({ status: 401, code: 'unauthorized' });
    // 30 requests at once: at 3 a second for the account, most are refused, as for a key.
    const burst = await Promise.all(Array.from({ length: 30 }, () => send('GET', '/v1/webhooks', bearer(token))));
    expect(burst.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    for (const a of burst) expect([200, 429]).toContain(a.status);
  });

  it('refuses malformed keys and a second Authorization header before the authorizer; the scheme and header name in any letter case', async () => {
    const key = await mint('acc_local_headers');
    for (const headers of [
      [['Authorization', `Bearer ${key}x`]],
      [['Authorization', `Token ${key}`]],
      [['Authorization', 'Bearer nope']],
      [['authorization', `Bearer ${key}`], ['Authorization', `Bearer ${key}`]],
    ] as Array<Array<[string, string]>>) {
      expect(await send('GET', '/v1/webhooks', headers)).toMatchObject({ status: 401, code: 'unauthorized' });
    }
    expect((await send('GET', '/v1/webhooks', [['AUTHORIZATION', `bearer  ${key}`]])).status).toBe(200);
  });
});
