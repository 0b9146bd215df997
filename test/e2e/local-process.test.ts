import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { publishVisitEvent } from '../../lambdas/shared/adapters/eventbridge-publisher';
import { visitFixture } from '../../local/lambda-events';
import { type LocalProcess, runScript, startLocalProcess } from '../helpers/local-process';
import { respond, receiverPool } from '../helpers/receiver';
import { eventually } from '../helpers/eventually';

jest.setTimeout(120_000);

/** The distinct permission bits of the folders and files under `dir` (itself included). */
function modesUnder(dir: string): { dirs: number[]; files: number[] } {
  const dirs = new Set<number>();
  const files = new Set<number>();
  const walk = (path: string) => {
    dirs.add(statSync(path).mode & 0o777);
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(path, entry.name));
      else if (entry.isFile()) files.add(statSync(join(path, entry.name)).mode & 0o777);
    }
  };
  walk(dir);
  return { dirs: [...dirs].sort(), files: [...files].sort() };
}

describe('npm start, end to end through the running process', () => {
  const receivers = receiverPool();
  const receiver = receivers.start;
  const dirs: string[] = [];
  const procs: LocalProcess[] = [];
  /** A process on a data dir of its own (a fresh, empty one unless given). */
  const start = async (dataDir = mkdtempSync(join(tmpdir(), 'webhooks-e2e-'))) => {
    if (!dirs.includes(dataDir)) dirs.push(dataDir);
    const proc = await startLocalProcess({ WEBHOOKS_DATA_DIR: dataDir, WEBHOOKS_RETRY_SCHEDULE: '1,1' });
    procs.push(proc);
    return { proc, dataDir };
  };
  /** Started once on an empty data dir; tests add their own accounts to it and never stop it. */
  let shared: LocalProcess;
  beforeAll(async () => {
    shared = (await start()).proc;
  });
  afterAll(async () => {
    for (const proc of procs) await proc.stop('SIGKILL');
    await receivers.closeAll();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A key for an account of the calling test's own, from the loopback admin route (what `npm run apikey` calls). */
  const mintKey = async (proc: LocalProcess, accountId: string): Promise<string> => {
    const res = await fetch(`${proc.url}/_local/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { apiKey: string }).apiKey;
  };
  const apiOf = (proc: () => LocalProcess, apiKey: string) => async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${proc().url}/v1${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const publish = (proc: LocalProcess, eventType: 'NEW_VISIT' | 'NEW_VISITOR', accountId: string, count = 1) =>
    publishVisitEvent(
      new EventBridgeClient({ endpoint: proc.url, region: 'eu-west-3', credentials: { accessKeyId: 'any', secretAccessKey: 'any' } }),
      Array.from({ length: count }, (_, i) => ({ eventType, accountId, data: { ...visitFixture, id: `visit_${i}` } })),
      { eventBusName: 'default' },
    );

  it('starts, prints a demo key on an empty data dir, and mints keys with the CLI', async () => {
    expect(shared.demoKey).toMatch(/^vwk_/);
    const out = await runScript('apikey.ts', ['create', '--account', 'acc_e2e', '--json'], { WEBHOOKS_LOCAL_URL: shared.url });
    const created = JSON.parse(out) as { accountId: string; apiKey: string };
    expect(Object.keys(created).sort()).toEqual(['accountId', 'apiKey']);
    expect(created.accountId).toBe('acc_e2e');
    expect((await apiOf(() => shared, created.apiKey)('/webhooks')).status).toBe(200);
    const openapi = await fetch(`${shared.url}/v1/openapi.json`);
    expect(openapi.status).toBe(200);
    expect(((await openapi.json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
  });

  it('delivers a published NEW_VISIT, signed, to a webhook created through the API; a NEW_VISITOR-only webhook gets nothing', async () => {
    const api = apiOf(() => shared, await mintKey(shared, 'acc_e2e_visit'));
    const [visits, visitors] = [await receiver(), await receiver()];
    const created = await api('/webhooks', { method: 'POST', body: { name: 'CRM', url: visits.url, eventTypes: ['NEW_VISIT'], headers: { 'X-Api-Version': '2' } } });
    expect(created.status).toBe(201);
    const secret = created.json.secret as string;
    expect((await api('/webhooks', { method: 'POST', body: { name: 'visitors', url: visitors.url, eventTypes: ['NEW_VISITOR'] } })).status).toBe(201);

    await publish(shared, 'NEW_VISIT', 'acc_e2e_visit');
    const [req] = await eventually(() => visits.requests, (r) => r.length === 1);
    expect(new StandardWebhook(secret).verify(req!.body, req!.headers as Record<string, string>)).toEqual({ ...visitFixture, id: 'visit_0' });
    expect(req!.headers['x-api-version']).toBe('2');
    await new Promise((r) => setTimeout(r, 300));
    expect(visitors.requests).toHaveLength(0);
  });

  it('retries on the short WEBHOOKS_RETRY_SCHEDULE', async () => {
    const api = apiOf(() => shared, await mintKey(shared, 'acc_e2e_retry'));
    let calls = 0;
    const flaky = await receiver((req, res, socket) => (calls++ < 2 ? respond(500)(req, res, socket) : respond(200)(req, res, socket)));
    const created = await api('/webhooks', { method: 'POST', body: { name: 'flaky', url: flaky.url, eventTypes: ['NEW_VISITOR'] } });
    await publish(shared, 'NEW_VISITOR', 'acc_e2e_retry');
    await eventually(() => flaky.requests.length, (n) => n === 3);
    const deliveries = await eventually(
      () => api(`/webhooks/${created.json.id as string}/deliveries`),
      (d) => (d.json.items as Array<{ status: string }>)[0]?.status === 'delivered',
    );
    expect((deliveries.json.items as Array<{ attemptCount: number }>)[0]?.attemptCount).toBe(3);
  });

  it('SIGTERM mid-batch loses nothing; a restart on the same data dir keeps webhooks and finishes pending deliveries', async () => {
    // A process of its own: this test stops and restarts it.
    const first = await start();
    let proc = first.proc;
    const api = apiOf(() => proc, await mintKey(proc, 'acc_e2e_restart'));
    const slow = await receiver((req, res, socket) => setTimeout(() => respond(200)(req, res, socket), 150));
    const created = await api('/webhooks', { method: 'POST', body: { name: 'slow', url: slow.url, eventTypes: ['NEW_VISIT'] } });
    const webhookId = created.json.id as string;
    await publish(proc, 'NEW_VISIT', 'acc_e2e_restart', 30);
    await eventually(() => slow.requests.length, (n) => n >= 1);
    expect(await proc.stop('SIGTERM')).toBe(0);
    // Everything the process wrote (journals, dynalite's files, the secrets key) is the owner's only.
    expect(modesUnder(first.dataDir)).toEqual({ dirs: [0o700], files: [0o600] });
    const beforeRestart = slow.requests.length;
    expect(beforeRestart).toBeLessThan(30 * 2);

    proc = (await start(first.dataDir)).proc;
    expect(proc.demoKey).toBeUndefined(); // not an empty data dir any more
    const listed = await api('/webhooks?limit=100');
    expect((listed.json.items as Array<{ id: string }>).map((w) => w.id)).toContain(webhookId);
    await eventually(() => new Set(slow.requests.map((r) => r.headers['webhook-id'])).size, (n) => n === 30, 60_000);
    const page = await eventually(
      () => api(`/webhooks/${webhookId}/deliveries?limit=100&status=delivered`),
      (d) => (d.json.items as unknown[]).length === 30,
      30_000,
    );
    expect(page.status).toBe(200);
  });
});
