import type { ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalProcess, startLocalProcess } from '../helpers/local-process';
import { receiverPool, respond } from '../helpers/receiver';
import { eventually } from '../helpers/eventually';
import { publishVisits } from '../reliability/support';

jest.setTimeout(120_000);

/**
 * `npm start` under a hanging endpoint: SIGTERM exits 0 after a bounded drain (1 s here), without
 * Node's MaxListenersExceeded warning however many attempts the abort ends, and the next start
 * on the same data dir delivers what was interrupted.
 */
describe('npm start: SIGTERM during hanging deliveries', () => {
  const receivers = receiverPool();
  const dataDir = mkdtempSync(join(tmpdir(), 'webhooks-e2e-shutdown-'));
  const procs: LocalProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await receivers.closeAll();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const env = {
    WEBHOOKS_DATA_DIR: dataDir,
    WEBHOOKS_SHUTDOWN_DRAIN_MS: '1000',
    WEBHOOKS_INLINE_TIMEOUT_MS: '300',
    // The slow lane's attempts outlast the drain: only the abort ends them in time.
    WEBHOOKS_DELIVERY_TIMEOUT_MS: '25000',
    WEBHOOKS_RETRY_SCHEDULE: '1,1,1,1,1',
    // The breaker off: the deliveries stay in the lanes instead of being parked.
    WEBHOOKS_BREAKER_FAILURES: '0',
  };

  it('exits 0 within the drain and finishes the interrupted deliveries at the next start', async () => {
    const held: ServerResponse[] = [];
    let healthy = false;
    const receiver = await receivers.start((req, res) => {
      if (healthy) respond(200)(req, res, res.socket!);
      else held.push(res);
    });
    let proc = await startLocalProcess(env);
    procs.push(proc);
    const key = proc.demoKey ?? '';
    const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
      const res = await fetch(`${proc.url}/v1${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const created = await api('/webhooks', { method: 'POST', body: { name: 'hangs', url: receiver.url, eventTypes: ['NEW_VISIT'] } });
    expect(created.status).toBe(201);
    const webhookId = created.json.id as string;
    await publishVisits(proc.url, 'demo', 30, 'sigterm');
    // A webhook-id seen twice: the fast lane's short attempt, then the slow lane's, hanging now.
    await eventually(
      () => receiver.requests.map((q) => String(q.headers['webhook-id'])),
      (ids) => new Set(ids).size < ids.length,
      60_000,
      'a slow-lane attempt hanging at the endpoint',
    );

    expect(await proc.stop('SIGTERM')).toBe(0);
    const output = proc.output.join('');
    expect(output).toMatch(/SIGTERM: stopping/);
    expect(output).toMatch(/drain time is up; interrupting/);
    expect(output).not.toMatch(/MaxListenersExceeded/);

    healthy = true;
    for (const res of held.splice(0)) if (!res.destroyed) res.destroy();
    proc = await startLocalProcess(env);
    procs.push(proc);
    const delivered = await eventually(
      () => api(`/webhooks/${webhookId}/deliveries?limit=100&status=delivered`),
      (d) => (d.json.items as unknown[]).length === 30,
      60_000,
      'every delivery delivered after the restart',
    );
    expect(delivered.status).toBe(200);
    expect(await proc.stop('SIGTERM')).toBe(0);
  });
});
