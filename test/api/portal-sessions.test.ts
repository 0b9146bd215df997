import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { PORTAL_SESSIONS } from '../../lambdas/shared/contract';
import { hashPortalToken, PORTAL_TOKEN_PATTERN } from '../../lambdas/shared/domain/portal-sessions';
import { lambdaContext } from '../../local/lambda-events';
import { type ApiClient, type ApiTestContext, proxyEvent, startApi, webhookBody } from './support';

/**
 * Portal sessions on dynalite, through the real authorizer and API handler: the platform's
 * `POST /v1/portal-sessions` (IAM-authorized), the session token as a bearer, its account
 * scope, read-only sessions, expiry (including the authorizer's cached answer) and what is
 * stored and logged.
 */

const PLATFORM = 'arn:aws:iam::111122223333:role/platform-backend';
const DASHBOARD = 'https://dashboard.example.test';

interface Session {
  readonly url: string;
  readonly token: string;
  readonly sessionId: string;
  readonly accountId: string;
  readonly readOnly: boolean;
  readonly expiresAt: string;
}

describe('portal sessions', () => {
  let t: ApiTestContext;
  let api: ApiClient;

  beforeAll(async () => {
    t = await startApi();
    api = t.client({ portalUrl: () => `${DASHBOARD}/` });
  });
  afterAll(async () => {
    await t.close();
  });

  const createSession = async (body: Record<string, unknown>): Promise<Session> => {
    const res = await api.call<Session>('POST', '/v1/portal-sessions', { body, iamCaller: PLATFORM });
    expect(res.status).toBe(201);
    return res.body;
  };

  it('are minted by the platform (IAM caller): a URL with the token in its fragment, 1 hour by default', async () => {
    const now = t.h.clock.now();
    const session = await createSession({ accountId: 'acc_portal' });
    expect(session.token).toMatch(PORTAL_TOKEN_PATTERN);
    expect(session.url).toBe(`${DASHBOARD}/settings/webhooks#${PORTAL_SESSIONS.fragmentParam}=${session.token}`);
    expect(session).toMatchObject({ accountId: 'acc_portal', readOnly: false, sessionId: session.token.slice(0, 12) });
    expect(Date.parse(session.expiresAt)).toBe(now + PORTAL_SESSIONS.defaultTtlSeconds * 1000);
    const short = await createSession({ accountId: 'acc_portal', ttlSeconds: 120, readOnly: true });
    expect(Date.parse(short.expiresAt)).toBe(now + 120_000);
    expect(short.readOnly).toBe(true);
    expect(short.url).toBe(`${DASHBOARD}/settings/webhooks#${PORTAL_SESSIONS.fragmentParam}=${short.token}&access=read-only`);
    expect(short.token).not.toBe(session.token);
  });

  it('refuse a lifetime outside 60 s to 24 h and other bad input with the field named (400)', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ accountId: 'acc_portal', ttlSeconds: 86_401 }, 'ttlSeconds'],
      [{ accountId: 'acc_portal', ttlSeconds: 59 }, 'ttlSeconds'],
      [{ accountId: 'acc_portal', ttlSeconds: 90.5 }, 'ttlSeconds'],
      [{ accountId: 'acc_portal', readOnly: 'yes' }, 'readOnly'],
      [{ readOnly: true }, 'accountId'],
      [{ accountId: 'no spaces allowed' }, 'accountId'],
      [{ accountId: 'acc_portal', scope: 'admin' }, 'scope'],
    ];
    for (const [body, path] of cases) {
      const res = await api.call<{ error: { code: string; details: Array<{ path: string }> } }>('POST', '/v1/portal-sessions', { body, iamCaller: PLATFORM });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d) => d.path)).toContain(path);
    }
  });

  it('cannot be minted with an API key or a session token: the route is the platform\'s only (403)', async () => {
    const key = await t.keyFor('acc_customer');
    const session = await createSession({ accountId: 'acc_customer' });
    for (const authorization of [`Bearer ${key}`, `Bearer ${session.token}`]) {
      // As if the request had reached the function with the key authorizer's context (it cannot in
      // AWS: the method is IAM-authorized), and without any IAM identity.
      const context = (await t.authorizer({ type: 'TOKEN', authorizationToken: authorization, methodArn: 'arn:aws:execute-api:us-east-1:111122223333:api123/test/POST/v1/portal-sessions' })).context;
      const res = await api.handler(proxyEvent('POST', '/v1/portal-sessions', { body: { accountId: 'acc_other' } }, { ...context }), lambdaContext);
      expect(res.statusCode).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'forbidden' } });
      // Even with an identity: a request the key authorizer let through is never the platform's.
      const forged = proxyEvent('POST', '/v1/portal-sessions', { body: { accountId: 'acc_other' }, iamCaller: PLATFORM }, { ...context });
      expect((await api.handler(forged, lambdaContext)).statusCode).toBe(403);
    }
    const anonymous = await api.call('POST', '/v1/portal-sessions', { body: { accountId: 'acc_other' } });
    expect(anonymous.status).toBe(403);
  });

  it("act as the account's key: list, create, edit and delete its webhooks, and nothing of another account (404)", async () => {
    const otherKey = await t.keyFor('acc_neighbour');
    const theirs = await api.call<{ id: string }>('POST', '/v1/webhooks', { key: otherKey, body: webhookBody('https://neighbour.example.test/hook') });
    expect(theirs.status).toBe(201);
    const { token } = await createSession({ accountId: 'acc_session' });

    const created = await api.call<{ id: string }>('POST', '/v1/webhooks', { key: token, body: webhookBody('https://mine.example.test/hook') });
    expect(created.status).toBe(201);
    const list = await api.call<{ items: Array<{ id: string }> }>('GET', '/v1/webhooks', { key: token });
    expect(list.body.items.map((w) => w.id)).toEqual([created.body.id]);
    expect((await api.call('PATCH', `/v1/webhooks/${created.body.id}`, { key: token, body: { name: 'Renamed' } })).body).toMatchObject({ name: 'Renamed' });
    for (const [method, path] of [
      ['GET', `/v1/webhooks/${theirs.body.id}`],
      ['PATCH', `/v1/webhooks/${theirs.body.id}`],
      ['DELETE', `/v1/webhooks/${theirs.body.id}`],
      ['GET', `/v1/webhooks/${theirs.body.id}/secret`],
      ['GET', `/v1/webhooks/${theirs.body.id}/deliveries`],
    ] as const) {
      const res = await api.call(method, path, { key: token, ...(method === 'PATCH' ? { body: { name: 'x' } } : {}) });
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect((await api.call('DELETE', `/v1/webhooks/${created.body.id}`, { key: token })).status).toBe(204);
    // The neighbour's webhook is untouched.
    expect((await api.call('GET', `/v1/webhooks/${theirs.body.id}`, { key: otherKey })).status).toBe(200);
  });

  it('read-only: reads answer, every change and the signing secret are 403', async () => {
    const key = await t.keyFor('acc_readonly');
    const hook = await api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: webhookBody('https://ro.example.test/hook', { headers: { Authorization: 'Bearer customer-endpoint-token' } }) });
    const { token } = await createSession({ accountId: 'acc_readonly', readOnly: true });
    const id = hook.body.id;
    // Header values (often the endpoint's credentials) are withheld from read-only sessions, names kept.
    const listed = await api.call<{ items: Array<{ headers: Record<string, string> }> }>('GET', '/v1/webhooks', { key: token });
    expect(listed.status).toBe(200);
    expect(listed.body.items[0]?.headers).toEqual({ Authorization: '' });
    const one = await api.call<{ headers: Record<string, string> }>('GET', `/v1/webhooks/${id}`, { key: token });
    expect(one.body.headers).toEqual({ Authorization: '' });
    expect(one.raw).not.toContain('customer-endpoint-token');
    expect((await api.call<{ headers: Record<string, string> }>('GET', `/v1/webhooks/${id}`, { key })).body.headers).toEqual({ Authorization: 'Bearer customer-endpoint-token' });
    expect((await api.call('GET', `/v1/webhooks/${id}/deliveries`, { key: token })).status).toBe(200);
    const writes: Array<[string, string, unknown?]> = [
      ['POST', '/v1/webhooks', webhookBody('https://ro.example.test/new')],
      ['PATCH', `/v1/webhooks/${id}`, { enabled: false }],
      ['DELETE', `/v1/webhooks/${id}`],
      ['GET', `/v1/webhooks/${id}/secret`],
      ['POST', `/v1/webhooks/${id}/secret/rotate`],
      ['POST', `/v1/webhooks/${id}/test`, { eventType: 'NEW_VISIT' }],
      ['POST', `/v1/webhooks/${id}/recover`, { since: new Date(0).toISOString() }],
      ['POST', `/v1/webhooks/${id}/deliveries/dlv_00000000000000000000000000/retry`],
    ];
    for (const [method, path, body] of writes) {
      const res = await api.call<{ error: { code: string } }>(method, path, { key: token, ...(body !== undefined ? { body } : {}) });
      expect([method, path, res.status, res.body.error.code]).toEqual([method, path, 403, 'forbidden']);
    }
    // Nothing changed.
    expect((await api.call('GET', `/v1/webhooks/${id}`, { key })).body).toMatchObject({ enabled: true });
  });

  it('expire: the authorizer refuses the token, and the API refuses a cached authorizer answer past the expiry (401)', async () => {
    const { token } = await createSession({ accountId: 'acc_expiry', ttlSeconds: 60 });
    const methodArn = 'arn:aws:execute-api:us-east-1:111122223333:api123/test/GET/v1/webhooks';
    const cached = (await t.authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn })).context;
    expect(cached).toMatchObject({ accountId: 'acc_expiry', scope: 'portal', readOnly: 'false' });
    expect((await api.call('GET', '/v1/webhooks', { key: token })).status).toBe(200);

    t.h.clock.advance(60_000);
    expect((await api.call('GET', '/v1/webhooks', { key: token })).status).toBe(401);
    await expect(t.authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn })).rejects.toThrow('Unauthorized');
    // API Gateway may still hold the answer it cached a minute ago: the handler checks the expiry itself.
    const late = await api.handler(proxyEvent('GET', '/v1/webhooks', { key: token }, { ...cached }), lambdaContext);
    expect(late.statusCode).toBe(401);
    expect(JSON.parse(late.body)).toMatchObject({ error: { code: 'unauthorized', message: expect.stringContaining('expired') } });
  });

  it('are stored as hashes only, outside the account\'s key listing, and never logged in clear', async () => {
    const before = t.h.log.lines.length;
    const session = await createSession({ accountId: 'acc_stored', readOnly: true });
    await api.call('GET', '/v1/webhooks', { key: session.token });
    await api.call('POST', '/v1/webhooks', { key: session.token, body: webhookBody('https://x.example.test/') });
    t.h.clock.advance(PORTAL_SESSIONS.defaultTtlSeconds * 1000);
    await api.call('GET', '/v1/webhooks', { key: session.token });

    const items = (await t.h.doc.send(new ScanCommand({ TableName: t.h.tables.apiKeys }))).Items ?? [];
    expect(JSON.stringify(items)).not.toContain(session.token);
    expect(items.find((i) => i.keyHash === `session#${hashPortalToken(session.token)}`)).toMatchObject({
      kind: 'portal-session',
      sessionAccountId: 'acc_stored',
      readOnly: true,
      sessionId: session.sessionId,
      expiresAt: Math.ceil(Date.parse(session.expiresAt) / 1000),
    });
    expect(await t.keys.list('acc_stored')).toEqual([]);

    const logged = t.h.log.lines.slice(before).join('\n');
    expect(logged).toContain('portal session created');
    expect(logged).toContain(session.sessionId);
    expect(logged).not.toContain(session.token);
    expect(logged).not.toContain(session.token.slice(12));
  });
});
