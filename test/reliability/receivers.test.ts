import { startLocalStack, type LocalStack } from '../../local/stack';
import { type Receiver, respond, startReceiver } from '../helpers/receiver';
import {
  type AccountedWebhook,
  allRecords,
  dribble,
  eventually,
  neverAnswer,
  printTally,
  publishVisits,
  putWebhook,
  type RawReceiver,
  resetMidBody,
  type Seen,
  startRawReceiver,
  tally,
} from './support';

jest.setTimeout(60_000);

const ACCOUNT = 'acc_hostile';
const TIMEOUT_MS = 800;
/** Three attempts: now, +1 s, +2 s; `Retry-After: 2` lifts the first wait from 1 s to 2 s. */
const SCHEDULE = '1,2';

/** Seen requests of an HTTP receiver whose answers are all `ok` (or all not). */
const seenOf = (r: Receiver, ok: boolean): Seen[] => r.requests.map((q) => ({ webhookId: String(q.headers['webhook-id']), ok, at: q.at }));

describe('hostile receivers: every (event, webhook) pair ends delivered or failed and dead-lettered, and one bad endpoint never stalls the others', () => {
  let stack: LocalStack;
  const http: Receiver[] = [];
  const raw: RawReceiver[] = [];

  afterAll(async () => {
    await stack?.close();
    for (const r of http) await r.close();
    for (const r of raw) await r.close();
  });

  it('500, 503 + Retry-After, 410, hang, reset mid-body, silent socket, byte-by-byte, 50 MB body', async () => {
    const started = Date.now();
    const httpReceiver = async (...a: Parameters<typeof startReceiver>) => {
      const r = await startReceiver(...a);
      http.push(r);
      return r;
    };
    const rawReceiver = async (misbehave: Parameters<typeof startRawReceiver>[0]) => {
      const r = await startRawReceiver(misbehave);
      raw.push(r);
      return r;
    };
    const big = Buffer.alloc(50 * 1024 * 1024, 'a');
    const ok = await httpReceiver(respond(200, 'ok'));
    const err500 = await httpReceiver(respond(500, 'boom'));
    const busy503 = await httpReceiver(respond(503, 'busy', { 'retry-after': '2' }));
    const gone410 = await httpReceiver(respond(410, 'gone'));
    const hang = await httpReceiver(() => undefined);
    const huge = await httpReceiver((_req, res) => {
      res.writeHead(200, { 'content-length': String(big.length) });
      res.end(big);
    });
    const reset = await rawReceiver(resetMidBody);
    const silent = await rawReceiver(neverAnswer);
    const slow = await rawReceiver(dribble(150));

    stack = await startLocalStack({
      port: 0,
      dataDir: ':memory:',
      print: () => undefined,
      // The breaker off: this suite follows each hostile endpoint through the whole retry schedule
      // (the breaker's parking has its own suite, test/local/isolation.test.ts).
      env: { WEBHOOKS_RETRY_SCHEDULE: SCHEDULE, WEBHOOKS_DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS), WEBHOOKS_BREAKER_FAILURES: '0' },
    });
    const hooks = {
      wh_ok: ok.url,
      wh_err500: err500.url,
      wh_busy503: busy503.url,
      wh_gone410: gone410.url,
      wh_hang: hang.url,
      wh_huge: huge.url,
      wh_reset: reset.url,
      wh_silent: silent.url,
      wh_dribble: slow.url,
    };
    for (const [webhookId, url] of Object.entries(hooks)) await putWebhook(stack, { accountId: ACCOUNT, webhookId, url });

    // Wave 1 meets the 410 and disables that webhook; wave 2 arrives while it is auto-disabled.
    const wave1 = await publishVisits(stack.url, ACCOUNT, 4, 'wave1');
    await eventually(() => stack.runtime.webhooks.get(ACCOUNT, 'wh_gone410'), (w) => w?.status === 'auto-disabled', 10_000, '410 disables the webhook');
    const wave2 = await publishVisits(stack.url, ACCOUNT, 4, 'wave2');
    const eventIds = [...wave1, ...wave2];

    // Settled: nothing left on the events or retry queue (in flight or delayed) means no handler
    // will touch a delivery again.
    await eventually(
      () => ({ events: stack.queues.events.size(), retry: stack.queues.retry.size() }),
      (q) => q.events === 0 && q.retry === 0,
      40_000,
      'the events and retry queues drained',
    );
    const records = new Map<string, Awaited<ReturnType<typeof allRecords>>>();
    for (const id of Object.keys(hooks)) records.set(id, await allRecords(stack, ACCOUNT, id));

    // Accounting: every pair is delivered, or failed and in the DLQ (410: or skipped while disabled).
    const accounted: AccountedWebhook[] = [
      { webhookId: 'wh_ok', seen: seenOf(ok, true) },
      { webhookId: 'wh_huge', seen: seenOf(huge, true) },
      { webhookId: 'wh_err500', seen: seenOf(err500, false) },
      { webhookId: 'wh_busy503', seen: seenOf(busy503, false) },
      { webhookId: 'wh_gone410', seen: seenOf(gone410, false), mayBeSkipped: true },
      { webhookId: 'wh_hang', seen: seenOf(hang, false) },
      { webhookId: 'wh_reset', seen: reset.seen },
      { webhookId: 'wh_silent', seen: silent.seen },
      { webhookId: 'wh_dribble', seen: slow.seen },
    ];
    const dlq = stack.queues.failedDeliveries.peek(10_000);
    const t = tally(eventIds, accounted, records, dlq);
    printTally('hostile receivers', t, { 'receiver faults': 8, 'wall time (s)': ((Date.now() - started) / 1000).toFixed(1) });
    expect(t.lostPairs).toEqual([]);
    expect(t.lost).toBe(0);
    expect(t.stray).toBe(0);
    expect(t.delivered + t.failedInDlq + t.skipped).toBe(t.pairs);
    expect(t.delivered).toBe(2 * eventIds.length);
    expect(stack.queues.eventsDlq.size()).toBe(0);
    expect(stack.queues.retryDlq.size()).toBe(0);

    const byId = (webhookId: string) => records.get(webhookId) ?? [];
    const full = async (webhookId: string) => Promise.all(byId(webhookId).map((r) => stack.runtime.deliveries.get(ACCOUNT, webhookId, r.deliveryId)));

    // The healthy endpoint got every event, and every request it saw is an attempt in the log (a
    // request counted as timed out on a starved machine is retried: a duplicate, same webhook-id).
    // It never waited for the dead ones: fan-out is concurrent, so each event reached it about when
    // it reached the hanging endpoint, not a timeout later (sequential sends would put them apart).
    const okRecords = await full('wh_ok');
    expect(new Set(ok.requests.map((q) => q.headers['webhook-id'])).size).toBe(eventIds.length);
    expect(ok.requests).toHaveLength(okRecords.reduce((n, r) => n + (r?.attemptCount ?? 0), 0));
    const firstSeen = (r: Receiver, deliveryId: string | undefined) => Math.min(...r.requests.filter((q) => q.headers['webhook-id'] === deliveryId).map((q) => q.at));
    const hangByEvent = new Map((await full('wh_hang')).map((r) => [r?.eventId, firstSeen(hang, r?.deliveryId)]));
    for (const r of okRecords) expect(firstSeen(ok, r?.deliveryId) - (hangByEvent.get(r?.eventId) ?? 0)).toBeLessThan(TIMEOUT_MS);

    // 50 MB answer: delivered after reading a bounded prefix of it (a first-attempt success keeps
    // its status and latency, not the body; the 512-character cap on snippets is the failures').
    for (const r of await full('wh_huge')) {
      expect(r?.status).toBe('delivered');
      expect(r?.attempts.at(-1)).toMatchObject({ ok: true, statusCode: 200 });
    }

    // 500, 503 and the hanging, never-answering, dribbling and resetting endpoints: three
    // attempts each, none running much past the timeout, then failed with a reason and a DLQ copy.
    // (On a starved machine any attempt may also time out; the slow ones must.)
    const expectedKinds: Record<string, string[]> = {
      wh_err500: ['http', 'timeout'],
      wh_busy503: ['http', 'timeout'],
      wh_reset: ['reset', 'timeout'],
      wh_hang: ['timeout'],
      wh_silent: ['timeout'],
      wh_dribble: ['timeout'],
    };
    for (const [webhookId, kinds] of Object.entries(expectedKinds)) {
      for (const r of await full(webhookId)) {
        expect({ webhookId, status: r?.status, attempts: r?.attemptCount }).toEqual({ webhookId, status: 'failed', attempts: 3 });
        expect(r?.reason).toMatch(/gave up after 3 attempts/);
        for (const a of r?.attempts ?? []) {
          expect({ webhookId, kind: kinds.includes(a.errorKind ?? '') }).toEqual({ webhookId, kind: true });
          expect(a.durationMs).toBeLessThan(TIMEOUT_MS + 3_000);
        }
        const copy = dlq.find((m) => m.attributes.deliveryId === r?.deliveryId);
        expect(copy?.attributes).toMatchObject({ webhookId, reason: expect.stringMatching(/gave up/) });
      }
    }

    // 503 + Retry-After: 2 waits at least 2 s before the second attempt (the schedule says 1 s).
    const busyById = new Map<string, number[]>();
    for (const q of busy503.requests) busyById.set(String(q.headers['webhook-id']), [...(busyById.get(String(q.headers['webhook-id'])) ?? []), q.at]);
    expect(busyById.size).toBe(eventIds.length);
    for (const [, times] of busyById) expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1_900);

    // 410: the webhook is auto-disabled with a reason; its failed deliveries had one attempt (no
    // retries); events of wave 2 are recorded skipped (recoverable) and never sent.
    const gone = await stack.runtime.webhooks.get(ACCOUNT, 'wh_gone410');
    expect(gone).toMatchObject({ enabled: false, status: 'auto-disabled', disabledReason: expect.stringMatching(/410/) });
    const goneRecords = await full('wh_gone410');
    for (const r of goneRecords.filter((x) => x?.status === 'failed')) expect(r?.attemptCount).toBe(1);
    const wave2Gone = goneRecords.filter((r) => wave2.includes(r?.eventId ?? ''));
    expect(wave2Gone.map((r) => r?.status)).toEqual(wave2.map(() => 'skipped'));
    const goneSent = new Set(gone410.requests.map((q) => q.headers['webhook-id']));
    for (const r of wave2Gone) expect(goneSent.has(r?.deliveryId)).toBe(false);
    expect(goneRecords.every((r) => r?.payload !== undefined)).toBe(true);
  });
});
