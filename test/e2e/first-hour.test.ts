import { EVENT_TYPES } from '../../lambdas/shared/contract';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { SAMPLE_PAYLOADS } from '../../lambdas/shared/sample-payloads';
import { type LocalProcess, startLocalProcess } from '../helpers/local-process';
import { receiverPool } from '../helpers/receiver';
import { eventually } from '../helpers/eventually';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/**
 * The environment a new user has: none of the switches the test setup sets for quiet test runs
 * (test/setup-env.js), none of the explicit addresses, so the defaults of npm start and the CLIs
 * are what is tested.
 */
const USER_ENV: NodeJS.ProcessEnv = {
  POWERTOOLS_METRICS_DISABLED: undefined,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
  WEBHOOKS_LOCAL_URL: undefined,
  PORT: undefined,
  API_KEYS_TABLE_NAME: undefined,
};

function cli(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, [join('scripts', script), ...args], { cwd: ROOT, env: { ...process.env, ...USER_ENV, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the first hour: npm start on another port, the CLIs finding it, a quiet console', () => {
  const receivers = receiverPool();
  let dataDir: string;
  let proc: LocalProcess;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'webhooks-first-hour-'));
    proc = await startLocalProcess({ ...USER_ENV, WEBHOOKS_DATA_DIR: dataDir });
    // npm start (tsx, dynalite, the dashboard check) takes seconds alone and more on a busy machine.
  }, 120_000);
  afterAll(async () => {
    await proc.stop('SIGKILL');
    await receivers.closeAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the banner shows the port and the steps in the order a user needs them, the receiver with its --port', () => {
    const banner = proc.output.join('');
    const port = new URL(proc.url).port;
    expect(banner).toMatch(new RegExp(`\\n  Port +${port} +\\(PORT=<n> npm start`));
    const [create = -1, receiver = -1, send = -1] = ['curl -s -X POST', 'npm run receiver', 'npm run send-event'].map((s) => banner.indexOf(s));
    expect(create).toBeGreaterThan(0);
    expect(receiver).toBeGreaterThan(create);
    expect(send).toBeGreaterThan(receiver);
    expect(banner).toContain(`curl -s -X POST ${proc.url}/v1/webhooks`);
    expect(banner).toContain('"url":"http://127.0.0.1:4000/webhook"');
    expect(banner).toContain('npm run receiver -- --secret whsec_... --port 4000');
    // The receiver step comes after the create call whose answer holds the secret it needs.
    expect(banner.slice(banner.indexOf('  2. '), receiver)).toMatch(/signing secret[\s\S]*curl -s -X POST/);
  });

  it('writes its address to the data dir, where apikey and send-event find it on a port that is not 3000', async () => {
    expect(JSON.parse(readFileSync(join(dataDir, 'local-stack.json'), 'utf8'))).toMatchObject({ url: proc.url, pid: proc.child.pid });
    const key = await cli('apikey.ts', ['create', '--account', 'acc_first_hour', '--json'], { WEBHOOKS_DATA_DIR: dataDir });
    expect({ code: key.code, stderr: key.stderr }).toEqual({ code: 0, stderr: '' });
    const { apiKey } = JSON.parse(key.stdout) as { apiKey: string };

    // The event catalog through the local API Gateway: authorized like every route.
    const catalog = await fetch(`${proc.url}/v1/event-types`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(catalog.status).toBe(200);
    expect(((await catalog.json()) as { items: Array<{ eventType: string }> }).items.map((i) => i.eventType)).toEqual([...EVENT_TYPES]);
    expect((await fetch(`${proc.url}/v1/event-types`)).status).toBe(401);

    const hook = await receivers.start();
    const created = await fetch(`${proc.url}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'first hour', url: hook.url, eventTypes: ['NEW_VISIT'] }),
    });
    expect(created.status).toBe(201);
    const { id, secret } = (await created.json()) as { id: string; secret: string };

    const sent = await cli('send-event.ts', ['NEW_VISIT', '--account', 'acc_first_hour'], { WEBHOOKS_DATA_DIR: dataDir });
    // No AWS SDK notice about Node versions (nor anything else) on stderr.
    expect({ code: sent.code, stderr: sent.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(sent.stdout)).toMatchObject({ published: 1, endpoint: proc.url });
    const [req] = await eventually(() => hook.requests, (r) => r.length === 1);
    expect(new StandardWebhook(secret).verify(req!.body, req!.headers as Record<string, string>)).toEqual(SAMPLE_PAYLOADS.NEW_VISIT);

    // Once the delivery is recorded its invocation has ended, metrics included: no raw metric JSON on the console.
    await eventually(
      async () => {
        const res = await fetch(`${proc.url}/v1/webhooks/${id}/deliveries`, { headers: { authorization: `Bearer ${apiKey}` } });
        return ((await res.json()) as { items: Array<{ status: string }> }).items[0]?.status;
      },
      (status) => status === 'delivered',
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(proc.output.join('').split('\n').filter((line) => line.includes('"_aws"'))).toEqual([]);
  }, 90_000);

  it('says where it looked when no stack answers', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'webhooks-first-hour-none-'));
    try {
      const out = await cli('apikey.ts', ['list', '--account', 'demo'], { WEBHOOKS_DATA_DIR: empty, PORT: '1' });
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('no running local stack found');
      expect(out.stderr).toContain('http://127.0.0.1:1 (from PORT): nothing answers there');
      const send = await cli('send-event.ts', ['NEW_VISIT', '--account', 'demo', '--url', 'http://127.0.0.1:1'], {});
      expect(send.code).toBe(1);
      expect(send.stderr).toContain('http://127.0.0.1:1 (from --url): nothing answers there');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 90_000);

  it('removes its address when it stops', async () => {
    expect(await proc.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(dataDir, 'local-stack.json'))).toBe(false);
  }, 90_000);
});
