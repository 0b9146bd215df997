import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createLocalAdminListener, createLocalAdminRoutes } from '../../local/admin-routes';
import { stageWildcardArn } from '../../lambdas/authorizer/app';
import { API_KEY_PATTERN, BEARER_HEADER_PATTERN, hashApiKey, parseBearer } from '../../lambdas/shared/domain/api-keys';
import { ENV } from '../../lambdas/shared/contract';
import { parsePortalBearer } from '../../lambdas/shared/domain/portal-sessions';
import { type ApiTestContext, startApi } from './support';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:111122223333:api123/prod/GET/v1/webhooks';

describe('API keys: store, authorizer, local admin endpoints and the apikey CLI', () => {
  let t: ApiTestContext;

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(async () => {
    await t.close();
  });

  describe('DynamoApiKeyStore', () => {
    it('mints vwk_ keys shown once and stores only their SHA-256 hash', async () => {
      const created = await t.keys.create('acc_keys');
      expect(created.apiKey).toMatch(API_KEY_PATTERN);
      expect(created.keyId).toBe(created.apiKey.slice(0, 12));
      expect(Buffer.from(created.apiKey.slice(4), 'base64url')).toHaveLength(32);
      const items = (await t.h.doc.send(new ScanCommand({ TableName: t.h.tables.apiKeys }))).Items ?? [];
      const dump = JSON.stringify(items);
      expect(dump).not.toContain(created.apiKey);
      expect(items.find((i) => i.keyHash === hashApiKey(created.apiKey))).toMatchObject({ accountId: 'acc_keys', keyId: created.keyId, revoked: false });
      expect(hashApiKey(created.apiKey)).toMatch(/^[0-9a-f]{64}$/);
    });

    it('resolves a key to its account; unknown, malformed and revoked keys resolve to nothing', async () => {
      const a = await t.keys.create('acc_resolve');
      expect(await t.keys.resolve(a.apiKey)).toBe('acc_resolve');
      expect(await t.keys.resolve(`vwk_${'A'.repeat(43)}`)).toBeUndefined();
      expect(await t.keys.resolve('not a key')).toBeUndefined();
      expect(await t.keys.resolve(`keyid#${a.keyId}`)).toBeUndefined();
      expect(await t.keys.revoke({ apiKey: a.apiKey })).toMatchObject({ keyId: a.keyId, revoked: true });
      expect(await t.keys.resolve(a.apiKey)).toBeUndefined();
    });

    it("lists one account's keys oldest first, and revokes by public id", async () => {
      const first = await t.keys.create('acc_list');
      t.h.clock.advance(1000);
      const second = await t.keys.create('acc_list');
      await t.keys.create('acc_list_other');
      const listed = await t.keys.list('acc_list');
      expect(listed.map((k) => k.keyId)).toEqual([first.keyId, second.keyId]);
      expect(JSON.stringify(listed)).not.toContain(first.apiKey);
      const revoked = await t.keys.revoke({ keyId: first.keyId });
      expect(revoked).toMatchObject({ keyId: first.keyId, accountId: 'acc_list', revoked: true, revokedAt: expect.any(String) });
      expect(await t.keys.resolve(first.apiKey)).toBeUndefined();
      expect(await t.keys.resolve(second.apiKey)).toBe('acc_list');
      expect((await t.keys.list('acc_list')).map((k) => k.revoked)).toEqual([true, false]);
      expect(await t.keys.revoke({ keyId: 'vwk_AAAAAAAA' })).toBeUndefined();
      expect(await t.keys.revoke({ keyId: 'garbage' })).toBeUndefined();
    });

    it('refuses an unusable account id', async () => {
      await expect(t.keys.create('')).rejects.toThrow(/accountId/);
      await expect(t.keys.create('a b')).rejects.toThrow(/accountId/);
      await expect(t.keys.create('x'.repeat(129))).rejects.toThrow(/accountId/);
    });
  });

  describe('authorizer', () => {
    it('allows a valid key for the whole stage with context.accountId (TOKEN and REQUEST events)', async () => {
      const { apiKey, keyId } = await t.keys.create('acc_auth');
      const token = await t.authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${apiKey}`, methodArn: METHOD_ARN });
      expect(token).toEqual({
        principalId: 'acc_auth',
        policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:us-east-1:111122223333:api123/prod/*' }] },
        context: { accountId: 'acc_auth', keyId },
      });
      const request = await t.authorizer({
        type: 'REQUEST',
        methodArn: METHOD_ARN,
        resource: '/{proxy+}',
        path: '/v1/webhooks',
        httpMethod: 'GET',
        headers: { authorization: `bearer ${apiKey}` },
        multiValueHeaders: {},
        pathParameters: null,
        queryStringParameters: null,
        multiValueQueryStringParameters: null,
        stageVariables: null,
        requestContext: {} as never,
      });
      expect(request.context.accountId).toBe('acc_auth');
      expect(new RegExp(BEARER_HEADER_PATTERN).test(`Bearer ${apiKey}`)).toBe(true);
    });

    it("throws 'Unauthorized' for a missing, malformed, unknown or revoked key", async () => {
      const { apiKey } = await t.keys.create('acc_auth2');
      await t.keys.revoke({ apiKey });
      for (const authorizationToken of ['', 'Bearer', `Basic ${apiKey}`, `Bearer ${apiKey}x`, `Bearer vwk_${'B'.repeat(43)}`, `Bearer ${apiKey}`, apiKey]) {
        await expect(t.authorizer({ type: 'TOKEN', authorizationToken, methodArn: METHOD_ARN })).rejects.toThrow(/^Unauthorized$/);
      }
    });

    it('REQUEST events: reads Authorization in any letter case, and refuses an event carrying it more than once', async () => {
      const a = await t.keys.create('acc_multi_a');
      const b = await t.keys.create('acc_multi_b');
      const request = (headers: Record<string, string>, multiValueHeaders: Record<string, string[]>) =>
        t.authorizer({
          type: 'REQUEST',
          methodArn: METHOD_ARN,
          resource: '/{proxy+}',
          path: '/v1/webhooks',
          httpMethod: 'GET',
          headers,
          multiValueHeaders,
          pathParameters: null,
          queryStringParameters: null,
          multiValueQueryStringParameters: null,
          stageVariables: null,
          requestContext: {} as never,
        });
      for (const name of ['Authorization', 'authorization', 'AUTHORIZATION', 'AuThOrIzAtIoN']) {
        const one = await request({ [name]: `Bearer ${a.apiKey}` }, { [name]: [`Bearer ${a.apiKey}`] });
        expect(one.context.accountId).toBe('acc_multi_a');
      }
      for (const [headers, multi] of [
        // two spellings, as a client sent them
        [{ authorization: `Bearer ${b.apiKey}`, Authorization: `Bearer ${a.apiKey}` }, { authorization: [`Bearer ${b.apiKey}`], Authorization: [`Bearer ${a.apiKey}`] }],
        // one spelling twice: headers keeps the last value, multiValueHeaders has both
        [{ Authorization: `Bearer ${a.apiKey}` }, { Authorization: [`Bearer ${b.apiKey}`, `Bearer ${a.apiKey}`] }],
        // the same key twice is still two values
        [{ Authorization: `Bearer ${a.apiKey}` }, { Authorization: [`Bearer ${a.apiKey}`], AUTHORIZATION: [`Bearer ${a.apiKey}`] }],
        // two spellings in headers even where multiValueHeaders is empty
        [{ authorization: `Bearer ${b.apiKey}`, Authorization: `Bearer ${a.apiKey}` }, {}],
      ] as Array<[Record<string, string>, Record<string, string[]>]>) {
        await expect(request(headers, multi)).rejects.toThrow(/^Unauthorized$/);
      }
    });

    it("parseBearer (keys) and parsePortalBearer (sessions) together accept exactly the values of API Gateway's validation expression (BEARER_HEADER_PATTERN)", async () => {
      const { apiKey } = await t.keys.create('acc_pattern');
      const { token } = await t.sessions.create({ accountId: 'acc_pattern', readOnly: false, ttlSeconds: 600 });
      const pattern = new RegExp(BEARER_HEADER_PATTERN);
      const parse = (value: string) => ({ key: parseBearer(value), session: parsePortalBearer(value) });
      for (const [secret, parsed] of [
        [apiKey, { key: apiKey, session: undefined }],
        [token, { key: undefined, session: token }],
      ] as const) {
        const accepted = [`Bearer ${secret}`, `bearer ${secret}`, `BEARER   ${secret}`, `Bearer ${secret}  `];
        const prefix = secret.slice(0, 4);
        const refused = ['', 'Bearer', `Bearer${secret}`, ` Bearer ${secret}`, `Bearer\t${secret}`, `Bearer ${secret}x`, `Bearer ${secret.slice(0, -1)}`, `Bearer ${secret.replace(prefix, prefix.toUpperCase())}`, `Bearer ${secret.replace(prefix, 'vxx_')}`, `Basic ${secret}`, `Bearer ${secret} extra`, secret, `Bearer ${secret}\n`];
        for (const value of accepted) expect({ value, pattern: pattern.test(value), parsed: parse(value) }).toEqual({ value, pattern: true, parsed });
        for (const value of refused) expect({ value, pattern: pattern.test(value), parsed: parse(value) }).toEqual({ value, pattern: false, parsed: { key: undefined, session: undefined } });
      }
    });

    it('scopes the policy to the stage of the request', () => {
      expect(stageWildcardArn('arn:aws:execute-api:eu-west-1:1:abc/v1/POST/v1/webhooks/wh_1/test')).toBe('arn:aws:execute-api:eu-west-1:1:abc/v1/*');
    });

    it('through API Gateway: missing, invalid and revoked keys are 401 in the error shape; a valid key works', async () => {
      const { apiKey } = await t.keys.create('acc_gw');
      expect((await t.api.call('GET', '/v1/webhooks', { key: apiKey })).status).toBe(200);
      for (const opts of [{}, { authorization: 'Bearer nope' }, { authorization: `Token ${apiKey}` }, { key: `vwk_${'C'.repeat(43)}` }]) {
        const res = await t.api.call<{ error: { code: string } }>('GET', '/v1/webhooks', opts);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
      }
      await t.keys.revoke({ apiKey });
      const revoked = await t.api.call<{ error: { code: string } }>('POST', '/v1/webhooks', { key: apiKey, body: {} });
      expect(revoked.status).toBe(401);
    });
  });

  describe('local admin endpoints (/_local/api-keys)', () => {
    const routes = () => createLocalAdminRoutes(t.keys);
    const req = (method: string, path: string, body = '', remoteAddress = '127.0.0.1', query = '') => ({ method, path, query: new URLSearchParams(query), body, remoteAddress });

    it('creates, lists and revokes keys for loopback clients only', async () => {
      const created = await routes()(req('POST', '/_local/api-keys', '{"accountId":"acc_local"}'));
      expect(created?.statusCode).toBe(201);
      const body = JSON.parse(created!.body) as { accountId: string; apiKey: string; keyId: string };
      expect(Object.keys(body).sort()).toEqual(['accountId', 'apiKey', 'keyId']);
      expect(await t.keys.resolve(body.apiKey)).toBe('acc_local');
      const listed = await routes()(req('GET', '/_local/api-keys', '', '::1', 'accountId=acc_local'));
      expect(JSON.parse(listed!.body)).toEqual({ items: [{ keyId: body.keyId, accountId: 'acc_local', createdAt: expect.any(String), revoked: false }] });
      const revoked = await routes()(req('DELETE', `/_local/api-keys/${body.keyId}`, '', '::ffff:127.0.0.1'));
      expect(JSON.parse(revoked!.body)).toMatchObject({ keyId: body.keyId, revoked: true });
      expect((await routes()(req('DELETE', '/_local/api-keys/vwk_ZZZZZZZZ')))?.statusCode).toBe(404);
      expect((await routes()(req('POST', '/_local/api-keys', '{"accountId":"acc_local"}', '192.168.1.20')))?.statusCode).toBe(404);
      expect((await routes()(req('POST', '/_local/api-keys', '{"accountId":""}')))?.statusCode).toBe(400);
      expect((await routes()(req('POST', '/_local/api-keys', '{')))?.statusCode).toBe(400);
      expect((await routes()(req('GET', '/_local/api-keys')))?.statusCode).toBe(400);
      expect((await routes()(req('PUT', '/_local/api-keys')))?.statusCode).toBe(405);
      expect(await routes()(req('GET', '/v1/webhooks'))).toBeUndefined();
    });
  });

  describe('npm run apikey', () => {
    let server: Server;
    let localUrl: string;
    const cli = (args: string[], env: NodeJS.ProcessEnv) =>
      run(TSX, ['scripts/apikey.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 30_000 });

    beforeAll(async () => {
      const admin = createLocalAdminListener(t.keys);
      server = createServer((req, res) => {
        void admin(req, res).then((handled) => {
          if (!handled) {
            res.writeHead(404);
            res.end();
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      localUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('create --json prints exactly {"accountId","apiKey"} on stdout (local stack), and the key works', async () => {
      const { stdout } = await cli(['create', '--account', 'acc_cli', '--json'], { WEBHOOKS_LOCAL_URL: localUrl });
      expect(stdout.endsWith('\n')).toBe(true);
      expect(stdout.trim().split('\n')).toHaveLength(1);
      const parsed = JSON.parse(stdout) as Record<string, string>;
      expect(Object.keys(parsed)).toEqual(['accountId', 'apiKey']);
      expect(parsed.accountId).toBe('acc_cli');
      expect(parsed.apiKey).toMatch(API_KEY_PATTERN);
      expect(await t.keys.resolve(parsed.apiKey!)).toBe('acc_cli');

      const listed = await cli(['list', '--account', 'acc_cli'], { WEBHOOKS_LOCAL_URL: localUrl });
      expect(listed.stdout).toContain(parsed.apiKey!.slice(0, 12));
      expect(listed.stdout).not.toContain(parsed.apiKey);
      const revoked = await cli(['revoke', '--key', parsed.apiKey!], { WEBHOOKS_LOCAL_URL: localUrl });
      expect(revoked.stdout).toContain('revoked');
      expect(await t.keys.resolve(parsed.apiKey!)).toBeUndefined();
    });

    it('writes the DynamoDB table named by API_KEYS_TABLE_NAME directly (here: dynalite via AWS_ENDPOINT_URL_DYNAMODB)', async () => {
      const env = {
        [ENV.apiKeysTable]: t.h.tables.apiKeys,
        AWS_ENDPOINT_URL_DYNAMODB: t.h.dynamo.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      };
      const { stdout, stderr } = await cli(['create', '--account', 'acc_cli_ddb', '--json'], env);
      const parsed = JSON.parse(stdout) as { accountId: string; apiKey: string };
      expect(parsed.accountId).toBe('acc_cli_ddb');
      expect(await t.keys.resolve(parsed.apiKey)).toBe('acc_cli_ddb');
      expect(stderr).not.toContain(parsed.apiKey);
      const keyId = parsed.apiKey.slice(0, 12);
      await cli(['revoke', '--id', keyId], env);
      expect(await t.keys.resolve(parsed.apiKey)).toBeUndefined();
    });

    it('exits 2 with usage on bad arguments and 1 when the store is unreachable', async () => {
      await expect(cli(['create'], { WEBHOOKS_LOCAL_URL: localUrl })).rejects.toMatchObject({ code: 2, stdout: '' });
      await expect(cli(['revoke', '--key', 'k', '--id', 'i'], { WEBHOOKS_LOCAL_URL: localUrl })).rejects.toMatchObject({ code: 2 });
      await expect(cli(['create', '--account', 'a', '--json'], { WEBHOOKS_LOCAL_URL: 'http://127.0.0.1:9' })).rejects.toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/npm start/) });
    });
  });
});
