import { Webhook as StandardWebhook } from 'standardwebhooks';
import { DEFAULTS, METRICS } from '../../../lambdas/shared/contract';
import { domain, runQueued, visitEvent } from './support';

/**
 * The delivery domain on in-memory ports (no HTTP, no DynamoDB): fan-out, the attempt log,
 * retry decisions, the breaker, auto-disable and dead letters. The dynalite tier
 * (test/integration) runs the same decisions through the handlers and the real adapters.
 */

/** Settings under which the breaker never opens: for tests of the retry schedule itself. */
const NO_BREAKER = { deliveryDeps: { settings: { failuresToOpen: 1_000, openAfterFailingMs: Number.MAX_SAFE_INTEGER } } };

const A = 'https://a.example.com/hook';
const B = 'https://b.example.com/hook';
const C = 'https://c.example.com/hook';

describe('DeliveryService: fan-out', () => {
  it('sends one signed request to every enabled, subscribed webhook of the account, and records each as delivered', async () => {
    const d = domain();
    const [a, b] = [d.hook('acc', A), d.hook('acc', B, { eventTypes: ['NEW_VISIT'] })];
    d.hook('acc', C, { eventTypes: ['NEW_VISITOR'] });
    d.hook('other', 'https://other.example.com/hook');
    const event = visitEvent('acc', 'NEW_VISIT');

    const out = await d.delivery.deliverEvent(event, { redelivery: false });

    expect(out.matched).toBe(2);
    expect(d.sender.requests.map((r) => r.url).sort()).toEqual([A, B]);
    for (const [webhook, url] of [[a, A], [b, B]] as const) {
      const [req] = d.sender.to(url);
      expect(req?.body).toBe(event.body);
      const verified = new StandardWebhook(webhook.secret).verify(req!.body, req!.headers as Record<string, string>);
      expect(verified).toEqual(event.data);
      expect(req?.headers['X-Webhook-Event']).toBe('NEW_VISIT');
    }
    const records = d.deliveries.all();
    expect(records.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(records.every((r) => r.payload === undefined && r.attemptCount === 1)).toBe(true);
    expect(d.metrics.get(METRICS.delivered)).toBe(2);
  });

  it('sends nothing to a webhook its owner disabled, and records an auto-disabled one as skipped, payload kept for recovery', async () => {
    const d = domain();
    d.hook('acc', A, { enabled: false, status: 'disabled' });
    d.hook('acc', B, { enabled: false, status: 'auto-disabled', disabledReason: 'endpoint answered 410 Gone' });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.sender.requests).toHaveLength(0);
    const records = d.deliveries.all();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ status: 'skipped', attemptCount: 0, reason: 'webhook auto-disabled: endpoint answered 410 Gone' });
    expect(records[0]?.payload).toBeDefined();
    expect(d.metrics.get(METRICS.skipped)).toBe(1);
  });

  it('sends a static X-Webhook-Signature header instead of the HMAC copy when the webhook sets one', async () => {
    const d = domain();
    d.hook('acc', A, { headers: { 'X-Webhook-Signature': 'shared-token', 'X-Api-Version': '2' } });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    const headers = d.sender.to(A)[0]?.headers ?? {};
    expect(headers['X-Webhook-Signature']).toBe('shared-token');
    expect(headers['X-Api-Version']).toBe('2');
    expect(headers['webhook-signature']).toMatch(/^v1,/);
  });

  it('on a redelivery, does not send again to webhooks whose delivery is already recorded', async () => {
    const d = domain();
    d.hook('acc', A);
    d.hook('acc', B);
    const event = visitEvent('acc');
    d.sender.answer(B, { error: 'timeout' });
    await d.delivery.deliverEvent(event, { redelivery: false });
    const out = await d.delivery.deliverEvent(event, { redelivery: true });
    expect(out.outcomes.map((o) => o.outcome.kind)).toEqual(['duplicate', 'duplicate']);
    expect(d.sender.to(A)).toHaveLength(1);
  });

  it('throws when an outcome cannot be recorded, so the queue redelivers the event', async () => {
    const d = domain();
    d.hook('acc', A);
    d.deliveries.failNextWrites = 1;
    await expect(d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false })).rejects.toThrow('storage unavailable');
  });

  it('keeps the successes of an invocation for one batched write, flushed by the caller', async () => {
    const d = domain();
    d.hook('acc', A);
    d.hook('acc', B);
    const batch = d.delivery.deliveredBatch();
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false, batch: { owner: 'm1', delivered: batch } });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false, batch: { owner: 'm2', delivered: batch } });
    expect(d.deliveries.all()).toHaveLength(0);
    expect([...(await batch.flush())]).toEqual([]);
    expect(d.deliveries.batches).toEqual([4]);
    expect(d.deliveries.all().map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
  });
});

describe('DeliveryService: payload filters', () => {
  const FROM_ELSEWHERE = JSON.stringify({ location: { country: [{ 'anything-but': ['United States'] }] } });
  const NEWSLETTER = JSON.stringify({ params: { utm_source: ['newsletter'] } });

  it('delivers only to webhooks whose filter matches: a rejected one gets no request, no record, no queue message, and is counted', async () => {
    const filtered: string[] = [];
    const d = domain({ deliveryDeps: { onFilteredOut: (w, e) => filtered.push(`${w.webhookId} ${e.eventId}`) } });
    const all = d.hook('acc', A);
    const newsletter = d.hook('acc', B, { filter: NEWSLETTER });
    const elsewhere = d.hook('acc', C, { filter: FROM_ELSEWHERE });
    const event = visitEvent('acc'); // the sample: a US visit from the newsletter

    const out = await d.delivery.deliverEvent(event, { redelivery: false });

    expect(out.matched).toBe(2);
    expect(out.filteredOut).toEqual([elsewhere.webhookId]);
    expect(out.outcomes.map((o) => o.webhookId).sort()).toEqual([all.webhookId, newsletter.webhookId].sort());
    expect(d.sender.requests.map((r) => r.url).sort()).toEqual([A, B]);
    expect(d.deliveries.all().map((r) => r.webhookId).sort()).toEqual([all.webhookId, newsletter.webhookId].sort());
    expect(d.retryQueue.sent).toHaveLength(0);
    expect(filtered).toEqual([`${elsewhere.webhookId} ${event.eventId}`]);
    expect(d.log.lines.some((l) => l.includes('"level":"debug"') && l.includes('filtered out') && l.includes(elsewhere.webhookId))).toBe(true);
  });

  it('a filter applies before everything else: a failing, auto-disabled or rate-limited webhook whose filter rejects the event records nothing', async () => {
    const d = domain();
    d.hook('acc', A, { filter: FROM_ELSEWHERE, enabled: false, status: 'auto-disabled', disabledReason: 'endpoint answered 410 Gone' });
    d.hook('acc', B, { filter: FROM_ELSEWHERE, rateLimit: 1 });
    const out = await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(out.matched).toBe(0);
    expect(out.filteredOut).toHaveLength(2);
    expect(d.deliveries.all()).toHaveLength(0);
    expect(d.metrics.get(METRICS.skipped)).toBe(0);
  });

  it('the visit decides: a visit from France reaches the "elsewhere" webhook, a visit without utm_source misses the newsletter one', async () => {
    const d = domain();
    d.hook('acc', B, { filter: NEWSLETTER });
    d.hook('acc', C, { filter: FROM_ELSEWHERE });
    const event = visitEvent('acc');
    const data = { ...event.data, location: { country: 'France' }, params: {} };
    const out = await d.delivery.deliverEvent({ ...event, data, body: JSON.stringify(data) }, { redelivery: false });
    expect(d.sender.requests.map((r) => r.url)).toEqual([C]);
    expect(out.filteredOut).toHaveLength(1);
  });

  it('uses the new filter as soon as the webhook changes (compiled once per updatedAt)', async () => {
    const d = domain();
    const w = d.hook('acc', A, { filter: FROM_ELSEWHERE });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.sender.requests).toHaveLength(0);
    d.webhooks.put({ ...w, filter: NEWSLETTER, updatedAt: new Date(d.clock.now() + 1000).toISOString() });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.sender.requests).toHaveLength(1);
  });
});

describe('DeliveryService: retry decisions', () => {
  it('schedules a retry for the failing webhook only, records it pending, and delivers it later with the same webhook-id, re-signed', async () => {
    const d = domain(NO_BREAKER);
    d.hook('acc', A);
    d.hook('acc', B);
    let calls = 0;
    d.sender.answer(B, () => (++calls <= 2 ? { status: 500 } : { status: 200 }));
    const event = visitEvent('acc');

    await d.delivery.deliverEvent(event, { redelivery: false });
    const queued = d.retryQueue.sent.map((s) => ({ webhookId: s.message.webhookId, delay: s.delaySeconds }));
    expect(queued).toHaveLength(1);
    expect(queued[0]?.delay).toBe(60);
    const pending = d.deliveries.all().find((r) => r.status === 'pending');
    expect(pending).toMatchObject({ attemptCount: 1, lastStatusCode: 500 });
    expect(pending?.nextAttemptAt).toBe(new Date(d.clock.now() + 60_000).toISOString());

    const ran = await runQueued(d);
    expect(ran.map((m) => m.retryIndex)).toEqual([1, 2]);
    const attempts = d.sender.to(B);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(attempts.map((r) => r.headers['webhook-timestamp'])).size).toBe(3);
    const record = d.deliveries.all().find((r) => r.webhookId === pending?.webhookId);
    expect(record).toMatchObject({ status: 'delivered', attemptCount: 3 });
    expect(record?.payload).toBeUndefined();
    expect(d.sender.to(A)).toHaveLength(1);
  });

  it('follows the whole schedule, then fails the delivery into the failed-deliveries queue with its reason', async () => {
    const d = domain({ schedule: [5, 60, 600], ...NO_BREAKER });
    const w = d.hook('acc', A);
    d.sender.answer(A, { status: 503 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    await runQueued(d);

    expect(d.sender.to(A)).toHaveLength(4);
    const [record] = d.deliveries.all();
    expect(record).toMatchObject({ status: 'failed', attemptCount: 4, reason: 'gave up after 4 attempts: HTTP 503' });
    expect(record?.payload).toBeDefined(); // kept for recovery
    expect(d.failed.sent).toHaveLength(1);
    expect(d.failed.sent[0]?.attributes).toEqual({ deliveryId: record?.deliveryId, webhookId: w.webhookId });
    expect(JSON.parse(d.failed.sent[0]!.body)).toMatchObject({ kind: 'delivery-retry', trigger: 'manual', retryIndex: 0 });
    expect(d.metrics.get(METRICS.exhausted)).toBe(1);
  });

  it('waits at least Retry-After, bounded by the longest delay of the schedule', async () => {
    const d = domain({ schedule: [5, 60] });
    d.hook('acc', A);
    d.hook('acc', B);
    d.sender.answer(A, { status: 429, retryAfterSeconds: 30 });
    d.sender.answer(B, { status: 503, retryAfterSeconds: 86_400 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    const delays = new Map(d.retryQueue.sent.map((s) => [s.message.webhookId, s.delaySeconds]));
    const idOf = async (url: string) => (await d.webhooks.listByAccount('acc')).find((w) => w.url === url)?.webhookId;
    expect(delays.get((await idOf(A)) ?? '')).toBe(30);
    expect(delays.get((await idOf(B)) ?? '')).toBe(60);
  });

  it('queues a retry within a queue delay at once; a longer one waits in the due index, with no queue message', async () => {
    const d = domain({ schedule: [900, 7200], deliveryDeps: { settings: { failuresToOpen: 1_000, openAfterFailingMs: 86_400_000 } } });
    d.hook('acc', A);
    d.sender.answer(A, { error: 'connect' });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    const [sent] = d.retryQueue.take();
    expect(sent).toMatchObject({ delaySeconds: 900, message: { dueAt: d.clock.now() + 900_000 } });
    // Queued: in the due index only as a safety net, overdueAfterMs past its due time.
    expect(d.deliveries.all()[0]?.sweepAt).toBe(new Date(d.clock.now() + 900_000 + d.delivery.settings.overdueAfterMs).toISOString());
    d.clock.advance(900_000);
    await d.delivery.handleQueued(sent!.message);
    expect(d.retryQueue.take()).toEqual([]);
    expect(d.deliveries.all()[0]).toMatchObject({ status: 'pending', nextAttemptAt: new Date(d.clock.now() + 7_200_000).toISOString() });
    expect(d.deliveries.all()[0]?.sweepAt).toBe(new Date(d.clock.now() + 7_200_000 - 900_000).toISOString());
  });

  it('on 410 Gone, disables the webhook with its reason and ends the delivery failed at once', async () => {
    const d = domain();
    const w = d.hook('acc', A);
    d.sender.answer(A, { status: 410 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(await d.webhooks.get('acc', w.webhookId)).toMatchObject({ enabled: false, status: 'auto-disabled', disabledReason: 'endpoint answered 410 Gone' });
    expect(d.retryQueue.sent).toHaveLength(0);
    expect(d.deliveries.all()[0]).toMatchObject({ status: 'failed', reason: 'endpoint answered 410 Gone' });
    expect(d.failed.sent).toHaveLength(1);
  });

  it('a retry for a deleted webhook ends failed (not dead-lettered); one for a disabled webhook is skipped', async () => {
    const d = domain();
    const gone = d.hook('acc', A);
    const off = d.hook('acc', B);
    d.sender.answer(A, { status: 500 });
    d.sender.answer(B, { status: 500 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    await d.webhooks.delete('acc', gone.webhookId);
    await d.webhooks.update('acc', off.webhookId, { enabled: false, status: 'disabled', updatedAt: new Date(d.clock.now()).toISOString() });
    await runQueued(d);
    const byWebhook = new Map(d.deliveries.all().map((r) => [r.webhookId, r]));
    expect(byWebhook.get(gone.webhookId)).toMatchObject({ status: 'failed', reason: 'webhook was deleted' });
    expect(byWebhook.get(off.webhookId)).toMatchObject({ status: 'skipped' });
    expect(d.failed.sent).toHaveLength(0);
  });

  it('a retry of a delivery already delivered (a duplicate message) sends nothing', async () => {
    const d = domain();
    d.hook('acc', A);
    d.sender.answer(A, { status: 500 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    const [queued] = d.retryQueue.take();
    d.sender.answer(A, { status: 200 });
    d.clock.current = queued!.message.dueAt;
    await d.delivery.handleQueued(queued!.message);
    expect(await d.delivery.handleQueued(queued!.message)).toEqual({ kind: 'duplicate' });
    expect(d.sender.to(A)).toHaveLength(2);
  });
});

describe('DeliveryService: breaker and auto-disable', () => {
  it('marks the start of a failure run and clears it on the next success', async () => {
    const d = domain();
    const w = d.hook('acc', A);
    d.sender.answer(A, { status: 500 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect((await d.webhooks.get('acc', w.webhookId))?.failingSince).toBe(new Date(d.clock.now()).toISOString());
    d.sender.answer(A, { status: 200 });
    await runQueued(d);
    expect((await d.webhooks.get('acc', w.webhookId))?.failingSince).toBeUndefined();
  });

  it('opens the breaker after three failed attempts in a row: later events are parked, not attempted, not queued', async () => {
    const d = domain();
    const w = d.hook('acc', A);
    d.sender.answer(A, { status: 503 });
    for (let i = 0; i < 3; i++) await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    const breaker = (await d.webhooks.get('acc', w.webhookId))?.breaker;
    expect(breaker).toMatchObject({ state: 'open', probes: 0, reason: '3 failed attempts in a row, the last: HTTP 503' });
    expect(d.metrics.get(METRICS.breakerOpened)).toBe(1);
    d.retryQueue.take();

    const out = await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(out.outcomes[0]?.outcome.kind).toBe('parked');
    expect(d.sender.requests).toHaveLength(3);
    expect(d.retryQueue.sent).toHaveLength(0);
    const parked = d.deliveries.all().filter((r) => r.parked);
    expect(parked).toHaveLength(2); // the third failure's delivery and the new event
    expect(parked.every((r) => r.status === 'pending' && r.payload !== undefined && /^parked: the webhook's breaker is open since/.test(r.reason ?? ''))).toBe(true);
  });

  it("parks a queued retry of a webhook whose breaker opened meanwhile, instead of hopping or attempting it", async () => {
    const d = domain(NO_BREAKER);
    const w = d.hook('acc', A);
    d.sender.answer(A, { status: 500 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    const [queued] = d.retryQueue.take();
    await d.webhooks.setBreaker('acc', w.webhookId, { state: 'open', since: new Date(d.clock.now()).toISOString(), reason: 'timeouts', probeAt: new Date(d.clock.now() + 10_000).toISOString(), probes: 0 });
    expect(await d.delivery.handleQueued(queued!.message)).toMatchObject({ kind: 'parked' }); // not yet due: no hop
    expect(d.retryQueue.sent).toHaveLength(0);
    expect(d.sender.requests).toHaveLength(1);
  });

  it('opens on a failure run of over a minute even when this container saw fewer failures', async () => {
    const d = domain();
    const w = d.hook('acc', A, { failingSince: new Date(d.clock.now() - 61_000).toISOString() });
    d.sender.answer(A, { status: 500 });
    const out = await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(out.outcomes[0]?.outcome.kind).toBe('parked');
    expect((await d.webhooks.get('acc', w.webhookId))?.breaker?.state).toBe('open');
  });

  it(`auto-disables a webhook whose every delivery failed for ${DEFAULTS.autoDisableAfterDays} days, then records events as skipped`, async () => {
    const d = domain();
    const since = new Date(d.clock.now() - DEFAULTS.autoDisableAfterDays * 86_400_000).toISOString();
    const w = d.hook('acc', A, { failingSince: since });
    // An attempt still happens on a retry (the breaker only skips inline attempts of new events).
    d.sender.answer(A, { status: 500 });
    await d.delivery.handleQueued({
      kind: 'delivery-retry',
      accountId: 'acc',
      webhookId: w.webhookId,
      deliveryId: 'msg_01ARZ3NDEKTSV4RRFFQ69G5FAV',
      eventId: 'e1',
      eventType: 'NEW_VISIT',
      createdAt: since,
      retryIndex: 1,
      dueAt: d.clock.now(),
      trigger: 'retry',
      payload: '{"id":"v"}',
    });
    const after = await d.webhooks.get('acc', w.webhookId);
    expect(after).toMatchObject({ enabled: false, status: 'auto-disabled', disabledReason: `every delivery failed since ${since}` });
    expect(d.deliveries.all()[0]).toMatchObject({ status: 'failed', reason: `webhook auto-disabled: every delivery failed since ${since}` });

    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.deliveries.all().filter((r) => r.status === 'skipped')).toHaveLength(1);
    expect(d.sender.requests).toHaveLength(1);
  });
});

describe('DeliveryService: lanes', () => {
  it('hands an endpoint that does not answer within the fast lane budget to the slow lane, and marks it slow', async () => {
    const d = domain();
    const w = d.hook('acc', A);
    d.sender.answer(A, { error: 'timeout' });
    const out = await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });

    expect(out.outcomes[0]?.outcome).toMatchObject({ kind: 'handed-off', delaySeconds: 0 });
    expect(d.sender.requests[0]?.timeoutMs).toBe(d.delivery.settings.inlineTimeoutMs);
    const [queued] = d.retryQueue.sent;
    expect(queued?.message).toMatchObject({ trigger: 'event', retryIndex: 0, webhookId: w.webhookId });
    expect(d.deliveries.all()[0]).toMatchObject({ status: 'pending', attemptCount: 1, reason: expect.stringMatching(/no answer within the fast lane/) });
    const stored = await d.webhooks.get('acc', w.webhookId);
    expect(Date.parse(stored?.slowUntil ?? '')).toBe(d.clock.now() + d.delivery.settings.slowHoldMs);
    // Slow is not failing: no failure run, no breaker.
    expect(stored?.failingSince).toBeUndefined();
    expect(d.metrics.get(METRICS.failedAttempt)).toBe(0);
    // A hand-off is a log line, not a metric (no alarm or dashboard reads it).
    const handedOff = d.log.lines.map((l) => JSON.parse(l) as { level: string; message: string; extra: Record<string, unknown>[] }).filter((l) => l.message === 'delivery handed off');
    expect(handedOff).toEqual([
      { level: 'info', message: 'delivery handed off', extra: [{ webhookId: w.webhookId, deliveryId: out.outcomes[0]?.deliveryId, delaySeconds: 0, reason: expect.stringMatching(/no answer within the fast lane/) }] },
    ]);
    expect(d.metrics.get('DeliveryHandedOff')).toBe(0);

    // The slow lane attempts it with the full budget.
    d.sender.answer(A, { status: 200 });
    await d.delivery.handleQueued(queued!.message);
    expect(d.sender.requests[1]?.timeoutMs).toBe(d.delivery.settings.attemptTimeoutMs);
    expect(d.deliveries.all()[0]).toMatchObject({ status: 'delivered', attemptCount: 2 });
  });

  it('sends a slow webhook\'s next events straight to the slow lane, with no inline attempt', async () => {
    const d = domain();
    d.hook('acc', A, { slowUntil: new Date(d.clock.now() + 60_000).toISOString() });
    d.hook('acc', B);
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.sender.requests.map((r) => r.url)).toEqual([B]);
    expect(d.retryQueue.sent).toHaveLength(1);
    expect(d.deliveries.all().find((r) => r.status === 'pending')?.reason).toBe('the endpoint answers slowly: sent through the slow lane');
  });

  it('never starts an inline attempt that cannot end before the deadline: hands it on, same delivery id', async () => {
    const d = domain();
    d.hook('acc', A);
    const out = await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false, deadline: d.clock.now() + 1_000 });
    expect(out.outcomes[0]?.outcome).toMatchObject({ kind: 'handed-off', reason: 'handed on: too little time left in this invocation' });
    expect(d.sender.requests).toHaveLength(0);
    expect(d.retryQueue.sent[0]?.message.deliveryId).toBe(out.outcomes[0]?.deliveryId);
  });

  it('the slow lane hands a delivery on rather than start an attempt the invocation cannot finish', async () => {
    const d = domain();
    d.hook('acc', A, { slowUntil: new Date(d.clock.now() + 60_000).toISOString() });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    const [queued] = d.retryQueue.take();
    const out = await d.delivery.handleQueued(queued!.message, { deadline: d.clock.now() + 5_000 });
    expect(out).toMatchObject({ kind: 'handed-off' });
    expect(d.sender.requests).toHaveLength(0);
    expect(d.retryQueue.sent[0]?.message).toMatchObject({ deliveryId: queued!.message.deliveryId, retryIndex: 0 });
  });

  it('hands a delivery whose request found no free connection in time to the slow lane, not counted as a failure', async () => {
    const d = domain();
    const w = d.hook('acc', A);
    d.sender.answer(A, { error: 'queued' });
    const out = await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(out.outcomes[0]?.outcome).toMatchObject({ kind: 'handed-off', reason: expect.stringMatching(/no free connection/) });
    expect(d.sender.requests[0]?.queueTimeoutMs).toBe(Math.floor(d.delivery.settings.inlineTimeoutMs / 3));
    expect(d.metrics.get(METRICS.failedAttempt)).toBe(0);
    expect((await d.webhooks.get('acc', w.webhookId))?.slowUntil).toBeUndefined();
  });

  it('never delivers an event to a webhook created after the event was first received', async () => {
    const d = domain();
    const firstReceivedAt = d.clock.now();
    d.hook('acc', A);
    d.clock.advance(1_000);
    d.hook('acc', B); // created after the first receive
    const event = visitEvent('acc');
    const out = await d.delivery.deliverEvent(event, { redelivery: true, firstReceivedAt });
    expect(out.matched).toBe(1);
    expect(d.sender.requests.map((r) => r.url)).toEqual([A]);
  });
});

describe('DeliveryService: rate limit', () => {
  it('lets a webhook have at most its rateLimit deliveries a second; the rest wait in the slow lane, never counted as failures', async () => {
    const d = domain();
    const w = d.hook('acc', A, { rateLimit: 2 });
    for (let i = 0; i < 5; i++) await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.sender.requests).toHaveLength(2);
    const waiting = d.retryQueue.take();
    expect(waiting.map((q) => q.delaySeconds)).toEqual([1, 1, 1]);
    expect(d.deliveries.all().filter((r) => r.status === 'pending').every((r) => /^rate limit: at most 2 deliveries a second/.test(r.reason ?? ''))).toBe(true);
    expect(d.metrics.get(METRICS.failedAttempt)).toBe(0);
    expect(d.rateLimiter.calls.every((c) => c.key === `acc#${w.webhookId}`)).toBe(true);

    // A second later, the slow lane sends two more and defers the third again.
    d.clock.advance(1_000);
    for (const { message } of waiting) await d.delivery.handleQueued(message);
    expect(d.sender.requests).toHaveLength(4);
    expect(d.retryQueue.sent).toHaveLength(1);
  });
});

describe('DeliveryService: shutdown', () => {
  it('hands an attempt aborted by a shutdown on, unchanged and not counted as a failure', async () => {
    const stop = new AbortController();
    const d = domain({ deliveryDeps: { shutdown: stop.signal } });
    const w = d.hook('acc', A);
    d.sender.answer(A, (req) => (req.signal?.aborted ? { error: 'aborted' } : { status: 200 }));
    stop.abort();
    const out = await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(out.outcomes[0]?.outcome).toMatchObject({ kind: 'handed-off', reason: expect.stringMatching(/interrupted by a shutdown/) });
    expect(d.retryQueue.sent[0]?.message).toMatchObject({ webhookId: w.webhookId, retryIndex: 0, trigger: 'event' });
    expect(d.metrics.get(METRICS.failedAttempt)).toBe(0);
    expect((await d.webhooks.get('acc', w.webhookId))?.failingSince).toBeUndefined();
  });
});
