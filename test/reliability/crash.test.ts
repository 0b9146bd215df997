import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalQueue } from '../../local/queue';
import { type LocalProcess, startLocalProcess } from '../helpers/local-process';
import { type Receiver, respond, receiverPool } from '../helpers/receiver';
import { eventually, printTally, publishVisits, type RecordView, tally } from './support';

jest.setTimeout(90_000);

const ACCOUNT = 'demo';
const EVENTS = 40;

interface QueueDepths {
  events: { messages: number };
  retry: { messages: number };
  eventsDlq: { messages: number };
  retryDlq: { messages: number };
  failedDeliveries: { messages: number };
}

describe('the delivery process killed with SIGKILL mid-batch (events, then retries), restarted on the same data dir each time', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'webhooks-crash-'));
  // The breaker off: the down endpoint's deliveries keep a retry chain on the journaled retry queue to kill.
  const env = { WEBHOOKS_DATA_DIR: dataDir, WEBHOOKS_RETRY_SCHEDULE: '1,1', WEBHOOKS_DELIVERY_TIMEOUT_MS: '5000', WEBHOOKS_BREAKER_FAILURES: '0' };
  const receivers = receiverPool();
  let proc: LocalProcess | undefined;
  afterAll(async () => {
    await proc?.stop('SIGKILL');
    await receivers.closeAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses nothing: every pair ends delivered (duplicates keep their webhook-id) or failed and dead-lettered', async () => {
    const started = Date.now();
    proc = await startLocalProcess(env);
    const apiKey = proc.demoKey ?? '';
    expect(apiKey).toMatch(/^vwk_/);
    const api = async <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; json: T }> => {
      const res = await fetch(`${proc!.url}/v1${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : {}) as T };
    };
    const receiver = receivers.start;
    // Slow answers keep batches in flight long enough to kill the process in the middle of one.
    const slowOk = (ms: number) => (req: Parameters<ReturnType<typeof respond>>[0], res: Parameters<ReturnType<typeof respond>>[1], socket: Parameters<ReturnType<typeof respond>>[2]) =>
      setTimeout(() => respond(200, 'ok')(req, res, socket), ms);
    const hooks: Array<{ name: string; receiver: Receiver; ok: boolean; webhookId?: string }> = [
      { name: 'slow', receiver: await receiver(slowOk(1500)), ok: true },
      { name: 'fast', receiver: await receiver(respond(204)), ok: true },
      { name: 'down', receiver: await receiver(respond(500, 'down')), ok: false },
    ];
    for (const hook of hooks) {
      const created = await api<{ id: string }>('/webhooks', { method: 'POST', body: { name: hook.name, url: hook.receiver.url, eventTypes: ['NEW_VISIT'] } });
      expect(created.status).toBe(201);
      hook.webhookId = created.json.id;
    }

    const eventIds = await publishVisits(proc.url, ACCOUNT, EVENTS, 'crash');
    const slow = hooks[0]!.receiver;
    // Mid-batch: some requests are out, their answers (and so their records) not yet back.
    await eventually(() => slow.requests.length, (n) => n >= 5, 20_000, 'first deliveries in flight');
    await new Promise((r) => setTimeout(r, 300));
    const before = await fetch(`${proc.url}/_local/queues`).then((r) => r.json() as Promise<QueueDepths>);
    await proc.stop('SIGKILL');
    const sentBeforeKill = hooks.map((h) => h.receiver.requests.length);
    expect(before.events.messages).toBeGreaterThan(0); // the kill really came mid-run

    proc = await startLocalProcess(env);
    expect(proc.demoKey).toBeUndefined(); // the same data dir, keys and all
    const depths = () => fetch(`${proc!.url}/_local/queues`).then((r) => r.json() as Promise<QueueDepths>);
    // Once more while retries are due: the retry queue's journal must bring them back too.
    const down = hooks[2]!.receiver;
    const downBefore = down.requests.length;
    const retrying = await eventually(depths, (d) => d.retry.messages > 0 && down.requests.length > downBefore + 5, 30_000, 'retries under way');
    await proc.stop('SIGKILL');
    proc = await startLocalProcess(env);
    await eventually(depths, (d) => d.events.messages === 0 && d.retry.messages === 0, 45_000, 'the events and retry queues drained after the restart');
    const final = await depths();

    const records = new Map<string, RecordView[]>();
    for (const hook of hooks) {
      const list: RecordView[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; json: { items: Array<{ id: string; eventId: string; status: string }>; nextCursor: string | null } } = await api(
          `/webhooks/${hook.webhookId}/deliveries?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(page.status).toBe(200);
        list.push(...page.json.items.map((d) => ({ deliveryId: d.id, eventId: d.eventId, status: d.status })));
        cursor = page.json.nextCursor;
      } while (cursor);
      records.set(hook.webhookId ?? '', list);
    }
    expect(await proc.stop('SIGTERM')).toBe(0);
    proc = undefined;
    // The failed-deliveries DLQ, read back from its journal in the data dir (the /_local/queues
    // endpoint shows only a sample).
    const dlq = new LocalQueue('failed-deliveries', { visibilityTimeoutSeconds: 30, journalPath: join(dataDir, 'queues', 'failed-deliveries.jsonl') }).peek(10_000);
    expect(dlq).toHaveLength(final.failedDeliveries.messages);

    const t = tally(
      eventIds,
      hooks.map((h) => ({ webhookId: h.webhookId ?? '', seen: h.receiver.requests.map((q) => ({ webhookId: String(q.headers['webhook-id']), ok: h.ok, at: q.at })) })),
      records,
      dlq,
    );
    printTally('SIGKILL mid-batch + restart (twice)', t, {
      'requests before the 1st kill': sentBeforeKill.join(' / '),
      'events queued at the 1st kill': before.events.messages,
      'retries queued at the 2nd kill': retrying.retry.messages,
      'wall time (s)': ((Date.now() - started) / 1000).toFixed(1),
    });
    expect(t.lostPairs).toEqual([]);
    expect(t.lost).toBe(0);
    expect(t.stray).toBe(0);
    expect(t.delivered).toBe(2 * EVENTS);
    expect(t.failedInDlq).toBe(EVENTS);
    expect(final.eventsDlq.messages).toBe(0);
    expect(final.retryDlq.messages).toBe(0);
  });
});
