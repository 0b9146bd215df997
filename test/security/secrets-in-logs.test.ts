import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiTestContext, proxyEvent, startApi, webhookBody } from '../api/support';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord } from '../../local/lambda-events';
import { type LocalProcess, runScript, startLocalProcess } from '../helpers/local-process';
import { respond, receiverPool } from '../helpers/receiver';
import { driveRetries } from '../../local/harness/retry-driver';
import { eventually, publishVisits } from '../reliability/support';

jest.setTimeout(90_000);

/** Every form of a secret worth searching for: the whole value, and for `whsec_` secrets the key material alone. */
function needles(secrets: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    out.add(s);
    if (s.startsWith('whsec_')) {
      const body = s.slice('whsec_'.length);
      out.add(body);
      out.add(Buffer.from(body, 'base64').toString('hex')); // the key bytes, hex-encoded
      out.add(Buffer.from(body, 'base64').toString('base64url'));
    }
  }
  return [...out];
}

function leaks(text: string, secrets: Iterable<string>): string[] {
  return needles(secrets).filter((needle) => text.includes(needle));
}

describe('no secret or API key in any log line of a full run', () => {
  const receivers = receiverPool();
  const receiver = receivers.start;
  afterAll(async () => {
    await receivers.closeAll();
  });

  it('the local runtime process: stdout and stderr, Powertools at DEBUG with event logging on', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'webhooks-logs-'));
    let proc: LocalProcess | undefined;
    try {
      const platformToken = `vpt_${randomBytes(32).toString('base64url')}`;
      proc = await startLocalProcess({
        WEBHOOKS_DATA_DIR: dataDir,
        WEBHOOKS_LOCAL_PLATFORM_TOKEN: platformToken,
        WEBHOOKS_RETRY_SCHEDULE: '1',
        // One account makes many calls within a second here: this test is about logs, not the
        // account's request rate (test/api/access.test.ts, test/local/api-access.test.ts).
        WEBHOOKS_API_ACCOUNT_RATE_LIMIT: '1000',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        // what an operator turns on to debug: it must not put API keys or secrets in the log either
        POWERTOOLS_LOGGER_LOG_EVENT: 'true',
        POWERTOOLS_METRICS_DISABLED: 'false',
      });
      const url = proc.url;
      const apiKeys = new Set<string>([proc.demoKey ?? '']);
      const secrets = new Set<string>();
      const cliErr: string[] = [];
      const mint = async (accountId: string) => {
        const out = await runScript('apikey.ts', ['create', '--account', accountId, '--json'], { WEBHOOKS_LOCAL_URL: url });
        const key = (JSON.parse(out) as { apiKey: string }).apiKey;
        apiKeys.add(key);
        return key;
      };
      const key = await mint('acc_logs');
      const other = await mint('acc_logs_other');
      const revoked = await mint('acc_logs');
      await runScript('apikey.ts', ['revoke', '--key', revoked], { WEBHOOKS_LOCAL_URL: url }).catch((err: { stderr?: string }) => cliErr.push(err.stderr ?? ''));
      const api = async (k: string, method: string, path: string, body?: unknown) => {
        const res = await fetch(`${url}/v1${path}`, { method, headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
        const text = await res.text();
        return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
      };

      const [ok, down, gone] = [await receiver(), await receiver(respond(500, 'nope')), await receiver(respond(410))];
      const token = `tok_${randomBytes(12).toString('hex')}`; // a static X-Webhook-Signature shared secret
      secrets.add(token);
      const ids: string[] = [];
      for (const [name, r, headers] of [
        ['ok', ok, { 'X-Webhook-Signature': token }],
        ['down', down, {}],
        ['gone', gone, {}],
      ] as const) {
        const created = await api(key, 'POST', '/webhooks', { name, url: r.url, eventTypes: ['NEW_VISIT', 'NEW_VISITOR'], headers });
        expect({ status: created.status, body: created.status === 201 ? {} : created.json }).toEqual({ status: 201, body: {} });
        secrets.add(String(created.json.secret));
        ids.push(String(created.json.id));
      }
      secrets.add(String((await api(key, 'GET', `/webhooks/${ids[0]}/secret`)).json.secret));
      secrets.add(String((await api(key, 'POST', `/webhooks/${ids[0]}/secret/rotate`)).json.secret));
      expect((await api(key, 'POST', `/webhooks/${ids[0]}/test`, { eventType: 'NEW_VISIT' })).json.status).toBe('delivered');
      await api(key, 'POST', `/webhooks/${ids[1]}/test`, { eventType: 'NEW_VISITOR' });
      // refused requests: revoked, mangled and foreign keys, bad bodies
      expect((await api(revoked, 'GET', '/webhooks')).status).toBe(401);
      expect((await api(`${key}x`, 'GET', '/webhooks')).status).toBe(401);
      expect((await api(other, 'GET', `/webhooks/${ids[0]}/secret`)).status).toBe(404);
      expect((await api(key, 'POST', '/webhooks', { ...webhookBody(ok.url), headers: { 'X-A': `${token}\r\n` } })).status).toBe(400);
      await fetch(`${url}/v1/webhooks?api_key=${key}`, { headers: { authorization: `Bearer ${key}` } });

      // portal sessions: minted with the platform token, used, refused (read-only write, wrong platform token)
      secrets.add(platformToken);
      for (const readOnly of [false, true]) {
        const res = await fetch(`${url}/v1/portal-sessions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${platformToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ accountId: 'acc_logs', readOnly }),
        });
        expect(res.status).toBe(201);
        const session = (await res.json()) as { token: string };
        apiKeys.add(session.token);
        expect((await api(session.token, 'GET', '/webhooks')).status).toBe(200);
        expect((await api(session.token, 'PATCH', `/webhooks/${ids[1]}`, { name: 'renamed' })).status).toBe(readOnly ? 403 : 200);
      }
      expect((await fetch(`${url}/v1/portal-sessions`, { method: 'POST', headers: { authorization: `Bearer ${platformToken}x`, 'content-type': 'application/json' }, body: '{"accountId":"acc_logs"}' })).status).toBe(403);

      // deliveries: signed with both secrets during the rotation, retried, dead-lettered, 410-disabled
      await publishVisits(url, 'acc_logs', 4, 'logs');
      await eventually(() => ok.requests.length, (n) => n >= 5, 20_000, 'deliveries');
      await eventually(
        () => fetch(`${url}/_local/queues`).then((r) => r.json() as Promise<{ events: { messages: number }; retry: { messages: number } }>),
        (q) => q.events.messages === 0 && q.retry.messages === 0,
        20_000,
        'queues drained',
      );
      expect(await proc.stop('SIGTERM')).toBe(0);

      const output = proc.output.join('');
      expect(output.length).toBeGreaterThan(1000);
      expect(output).toMatch(/"level":"DEBUG"|Lambda invocation event/); // Powertools did log, at DEBUG, with events
      // The demo key is shown once, on purpose, in the start banner; nowhere else.
      const demoKey = proc.demoKey ?? '';
      expect(output.split(demoKey).length - 1).toBe(1);
      expect(output.split('\n').find((l) => l.includes(demoKey))).toMatch(/Demo API key/);
      const rest = output.replace(demoKey, '');
      const found = leaks(rest, [...secrets, ...apiKeys].filter(Boolean));
      console.log(
        `local process log: ${output.split('\n').length} lines, ${secrets.size} secrets and ${apiKeys.size} API keys searched (${needles([...secrets, ...apiKeys]).length} forms), ${found.length} found`,
      );
      expect(found).toEqual([]);
      expect(leaks(cliErr.join('\n'), [...secrets, ...apiKeys])).toEqual([]);
    } finally {
      await proc?.stop('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the handlers in process, logging through Powertools at DEBUG (as in Lambda)', async () => {
    // Powertools reads POWERTOOLS_LOG_LEVEL once, when the module-scope logger is made (and each
    // warm invocation resets to it): load fresh copies of the handlers with DEBUG set.
    const previous = process.env.POWERTOOLS_LOG_LEVEL;
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    let m!: {
      powertools: typeof import('../../lambdas/shared/adapters/powertools');
      delivery: typeof import('../../lambdas/delivery/app');
      retry: typeof import('../../lambdas/retry/app');
      api: typeof import('../../lambdas/api/app');
      apiRuntime: typeof import('../../lambdas/shared/composition/api-runtime');
      authorizer: typeof import('../../lambdas/authorizer/app');
    };
    jest.isolateModules(() => {
      m = {
        powertools: jest.requireActual('../../lambdas/shared/adapters/powertools'),
        delivery: jest.requireActual('../../lambdas/delivery/app'),
        retry: jest.requireActual('../../lambdas/retry/app'),
        api: jest.requireActual('../../lambdas/api/app'),
        apiRuntime: jest.requireActual('../../lambdas/shared/composition/api-runtime'),
        authorizer: jest.requireActual('../../lambdas/authorizer/app'),
      };
    });
    process.env.POWERTOOLS_LOG_LEVEL = previous;
    const logger = m.powertools.logger;
    expect(logger.getLevelName()).toBe('DEBUG');

    // Everything written to stdout and stderr while the handlers run (kept out of the test output).
    const captured: string[] = [];
    const capture = (stream: NodeJS.WriteStream) =>
      jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
        captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      }) as typeof stream.write);
    const spies = [capture(process.stdout), capture(process.stderr)];
    let t: ApiTestContext | undefined;
    try {
      t = await startApi();
      const runtime = t.h.runtime({ log: logger }, { WEBHOOKS_RETRY_SCHEDULE: '1' });
      const handler = m.api.createApiHandler(m.apiRuntime.createApiRuntime({ ...runtime, apiKeys: t.keys }, { env: t.h.env }));
      const authorizer = m.authorizer.createAuthorizerHandler(t.keys, logger);
      const key = await t.keyFor('acc_pt_logs');
      const apiKeys = [key];
      const secrets: string[] = [];
      const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
        const out = await authorizer({ type: 'TOKEN', authorizationToken: `Bearer ${key}`, methodArn: 'arn:aws:execute-api:us-east-1:1:api/test/GET/v1/webhooks' });
        const res = await handler(proxyEvent(method, path, { key, ...(body !== undefined ? { body } : {}) }, { ...out.context }), lambdaContext);
        return JSON.parse(res.body || '{}') as T;
      };
      const [ok, down] = [await receiver(), await receiver(respond(503, 'later', { 'retry-after': '1' }))];
      for (const r of [ok, down]) {
        const created = await call<{ id: string; secret: string }>('POST', '/v1/webhooks', webhookBody(r.url, { eventTypes: ['NEW_VISIT'] }));
        secrets.push(created.secret);
        secrets.push((await call<{ secret: string }>('POST', `/v1/webhooks/${created.id}/secret/rotate`)).secret);
        secrets.push((await call<{ secret: string }>('GET', `/v1/webhooks/${created.id}/secret`)).secret);
        await call('POST', `/v1/webhooks/${created.id}/test`, { eventType: 'NEW_VISIT' });
      }
      for (const authorization of [`Bearer ${key}x`, 'Bearer nope', key]) {
        await authorizer({ type: 'TOKEN', authorizationToken: authorization, methodArn: 'arn:aws:execute-api:us-east-1:1:api/test/GET/v1/webhooks' }).catch(() => undefined);
      }
      await m.delivery.createDeliveryHandler(runtime)(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_pt_logs'))), lambdaContext);
      await driveRetries(t.h.retryQueue, t.h.clock, m.retry.createRetryHandler(runtime), { sweep: t.h.dueSweep() });
      expect(t.h.failedSink.sent.length).toBeGreaterThan(0);

      const output = captured.join('');
      expect(output).toMatch(/"level":"DEBUG"/);
      expect(output).toMatch(/attempt failed/);
      expect(output).toMatch(/delivery failed/);
      const found = leaks(output, [...secrets, ...apiKeys]);
      console.log(`Powertools log: ${output.split('\n').length} lines, ${new Set(secrets).size} secrets and ${apiKeys.length} API keys searched, ${found.length} found`);
      expect(found).toEqual([]);
    } finally {
      for (const spy of spies) spy.mockRestore();
      await t?.close();
    }
  });
});
