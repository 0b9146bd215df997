import type { ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeliveryStore } from '../../lambdas/shared/adapters/dynamo-delivery-store';
import type { DeliveryRecord } from '../../lambdas/shared/domain/model';
import { startDynalite } from '../../local/dynamo';
import { LocalQueue } from '../../local/queue';
import { LOCAL_TABLES, type LocalStack, startLocalStack } from '../../local/stack';
import { receiverPool, respond } from '../helpers/receiver';
import { allRecords, eventually, printTally, publishVisits, putWebhook, tally } from '../reliability/support';

jest.setTimeout(120_000);

const ACCOUNT = 'acc_shutdown';
const EVENTS = 60;

/**
 * close() after a hostile load: an endpoint that never answers (attempts with a 25 s budget)
 * and a retry backlog bigger than the slow lane takes at once. With a 1 s drain, close() must
 * resolve (the test times out otherwise: that is the assertion), the interrupted deliveries must be
 * recorded pending and be on the journaled retry queue, and a restart on the same data dir must
 * deliver every one of them, under its own webhook-id, once the endpoint answers.
 */
describe('bounded shutdown: close() drains, interrupts, re-queues; the next start finishes the work', () => {
  const receivers = receiverPool();
  const dataDir = mkdtempSync(join(tmpdir(), 'webhooks-shutdown-'));
  const stacks: LocalStack[] = [];
  afterAll(async () => {
    for (const s of stacks) await s.close();
    await receivers.closeAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = {
    WEBHOOKS_SHUTDOWN_DRAIN_MS: '1000',
    WEBHOOKS_INLINE_TIMEOUT_MS: '300',
    // Far longer than the drain (and than the abort grace): only the abort can end these attempts
    // in time. (It must stay below the function timeout less the recording margin, 27 s: the slow
    // lane hands on any delivery it has no time to attempt.)
    WEBHOOKS_DELIVERY_TIMEOUT_MS: '25000',
    WEBHOOKS_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1,1,1',
    // The breaker off: the hanging endpoint's deliveries stay in the lanes (nothing is parked).
    WEBHOOKS_BREAKER_FAILURES: '0',
  };
  const start = async (lines: string[]) => {
    const s = await startLocalStack({ port: 0, dataDir, env, print: (line) => lines.push(line) });
    stacks.push(s);
    return s;
  };

  it('close() with a 1 s drain returns under a hanging endpoint and a retry backlog; nothing is lost', async () => {
    const held: ServerResponse[] = [];
    let healthy = false;
    const seen: Array<{ webhookId: string; ok: boolean; at: number }> = [];
    const receiver = await receivers.start((req, res) => {
      seen.push({ webhookId: String(req.headers['webhook-id']), ok: healthy, at: req.at });
      if (healthy) respond(200)(req, res, res.socket!);
      else held.push(res);
    });

    const firstLines: string[] = [];
    const first = await start(firstLines);
    const webhook = await putWebhook(first, { accountId: ACCOUNT, webhookId: 'wh_hang', url: receiver.url, eventTypes: ['NEW_VISIT'] });
    const eventIds = await publishVisits(first.url, ACCOUNT, EVENTS, 'shutdown');
    // Under load: requests hang at the endpoint and the retry queue holds more than the slow lane is working on.
    await eventually(
      () => ({ hanging: seen.length, retry: first.queues.retry.size(), visible: first.queues.retry.visibleCount() }),
      (d) => d.hanging >= 10 && d.retry >= 40 && d.visible > 0,
      60_000,
      'hanging requests and a retry backlog',
    );
    const hangingIds = new Set(seen.map((s) => s.webhookId));

    await first.close(); // resolves: the assertion is that the test gets past this line
    expect(firstLines.some((l) => /drain time is up; interrupting/.test(l))).toBe(true);
    expect(firstLines.filter((l) => /still running after the abort/.test(l))).toEqual([]);
    expect(seen.every((s) => !s.ok)).toBe(true);

    // What was not done is in the journals: each event is on the events queue still, or its
    // delivery is on the retry queue (the interrupted ones re-queued, same delivery id).
    const journal = (name: string) => new LocalQueue(name, { visibilityTimeoutSeconds: 30, journalPath: join(dataDir, 'queues', `${name}.jsonl`) }).peek(100_000);
    const onEventsQueue = new Set(journal('events').map((m) => (JSON.parse(m.body) as { id: string }).id));
    const retries = journal('retry').map((m) => JSON.parse(m.body) as { eventId: string; deliveryId: string; webhookId: string });
    const onRetryQueue = new Set(retries.map((m) => m.eventId));
    expect(eventIds.filter((id) => !onEventsQueue.has(id) && !onRetryQueue.has(id))).toEqual([]);
    expect(retries.every((m) => m.webhookId === webhook.webhookId)).toBe(true);
    const queuedDeliveries = new Set(retries.map((m) => m.deliveryId));
    for (const id of hangingIds) expect(queuedDeliveries.has(id)).toBe(true);

    // And the interrupted deliveries are recorded pending, their aborted attempt with them.
    const interrupted = await readRecords(dataDir, ACCOUNT, webhook.webhookId);
    const aborted = interrupted.filter((r) => r.attempts.some((a) => a.errorKind === 'aborted'));
    expect(aborted.length).toBeGreaterThan(0);
    for (const r of aborted) {
      expect(r.status).toBe('pending');
      expect(r.reason).toMatch(/interrupted by a shutdown/);
      expect(queuedDeliveries.has(r.deliveryId)).toBe(true);
    }
    expect(interrupted.every((r) => r.status === 'pending')).toBe(true);

    // The endpoint answers again; the next start on the same data dir delivers everything.
    healthy = true;
    for (const res of held.splice(0)) if (!res.destroyed) res.destroy();
    const second = await start([]);
    await eventually(
      () => allRecords(second, ACCOUNT, webhook.webhookId),
      (records) => records.length === EVENTS && records.every((r) => r.status === 'delivered'),
      60_000,
      'every delivery delivered after the restart',
    );
    const okIds = new Set(seen.filter((s) => s.ok).map((s) => s.webhookId));
    for (const id of hangingIds) expect(okIds.has(id)).toBe(true); // same webhook-id as the interrupted request
    for (const r of aborted) expect(okIds.has(r.deliveryId)).toBe(true);

    const t = tally(eventIds, [{ webhookId: webhook.webhookId, seen }], new Map([[webhook.webhookId, await allRecords(second, ACCOUNT, webhook.webhookId)]]), []);
    printTally('bounded shutdown + restart', t, { 'interrupted (aborted attempts)': aborted.length, 'requests hanging at close': hangingIds.size });
    expect(t.lostPairs).toEqual([]);
    expect(t.lost).toBe(0);
    expect(t.delivered).toBe(EVENTS);
    expect(t.stray).toBe(0);
    await second.close();
  });
});

/** Every delivery record of a webhook, read from the data dir's DynamoDB while no stack runs. */
async function readRecords(dataDir: string, accountId: string, webhookId: string): Promise<DeliveryRecord[]> {
  const dynamo = await startDynalite({ path: join(dataDir, 'dynamodb') });
  try {
    const store = new DynamoDeliveryStore(DynamoDBDocumentClient.from(dynamo.client), LOCAL_TABLES.deliveries, 30);
    const out: DeliveryRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list(accountId, webhookId, { limit: 100, ...(cursor ? { cursor } : {}) });
      for (const item of page.items) {
        const full = await store.get(accountId, webhookId, item.deliveryId);
        if (full) out.push(full);
      }
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  } finally {
    await dynamo.close();
  }
}
