import { METRICS } from '../../../lambdas/shared/contract';
import { operationalEventSchema } from '../../../lambdas/shared/domain/operational-events';
import { domain, operationalEvent, runQueued, visitEvent } from './support';

/**
 * Operational events from the delivery domain and the reconciler, on in-memory ports: what is
 * announced (auto-disable, exhausted, breaker opened and closed), to whom an operational event is
 * delivered (the account's subscribed webhooks but the one it is about), the loop rule (nothing
 * the delivery of an operational event causes is announced), and that a bus failure costs no delivery.
 */

const A = 'https://a.example.com/hook';
const OPS = 'https://ops.example.com/hook';
const NO_BREAKER = { deliveryDeps: { settings: { failuresToOpen: 1_000, openAfterFailingMs: Number.MAX_SAFE_INTEGER } } };
const OPERATIONAL_TYPES = ['WEBHOOK_AUTO_DISABLED', 'DELIVERY_EXHAUSTED', 'WEBHOOK_BREAKER_OPENED', 'WEBHOOK_BREAKER_CLOSED'] as const;

describe('operational events: what is announced', () => {
  it('announces the breaker opening (once) and, after a successful probe, its closing, each valid against the schema', async () => {
    const d = domain();
    const w = d.hook('acc', A, { name: 'CRM' });
    d.sender.answer(A, { status: 503 });
    for (let i = 0; i < 4; i++) await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.operational.types()).toEqual(['WEBHOOK_BREAKER_OPENED']);
    const [opened] = d.operational.events;
    expect(opened).toMatchObject({ accountId: 'acc', webhookId: w.webhookId, webhookName: 'CRM', reason: '3 failed attempts in a row, the last: HTTP 503' });
    expect(opened && opened.type === 'WEBHOOK_BREAKER_OPENED' ? opened.nextProbeAt : undefined).toBe((await d.webhooks.get('acc', w.webhookId))?.breaker?.probeAt);

    d.retryQueue.take();
    d.sender.answer(A, { status: 200 });
    d.clock.advance(d.delivery.settings.probeIntervalMs);
    await d.reconciler.tick();
    await runQueued(d); // the probe succeeds
    expect(d.operational.types()).toEqual(['WEBHOOK_BREAKER_OPENED', 'WEBHOOK_BREAKER_CLOSED']);
    expect(d.operational.events[1]).toMatchObject({ webhookId: w.webhookId, openedAt: opened?.time });
    // Releasing the parked deliveries and the final close of a released breaker announce nothing more.
    for (let i = 0; i < 3; i++) {
      d.clock.advance(10_000);
      await d.reconciler.tick();
      await runQueued(d);
    }
    expect((await d.webhooks.get('acc', w.webhookId))?.breaker).toBeUndefined();
    expect(d.operational.types()).toEqual(['WEBHOOK_BREAKER_OPENED', 'WEBHOOK_BREAKER_CLOSED']);
    for (const event of d.operational.events) expect(operationalEventSchema.safeParse(event).success).toBe(true);
  });

  it('announces a breaker the reconciler closes with nothing parked', async () => {
    const d = domain();
    const now = new Date(d.clock.now()).toISOString();
    d.hook('acc', A, { breaker: { state: 'open', since: now, reason: 'timeouts', probeAt: now, probes: 1 } });
    expect(await d.reconciler.tick()).toMatchObject({ closed: 1 });
    expect(d.operational.events).toEqual([expect.objectContaining({ type: 'WEBHOOK_BREAKER_CLOSED', reason: expect.stringMatching(/^nothing was parked/) })]);
  });

  it('announces an auto-disable by 410 Gone, with its reason, once', async () => {
    const d = domain();
    const w = d.hook('acc', A);
    d.sender.answer(A, { status: 410 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    // Another container, with its cached copy of the webhook still enabled, gets a 410 too: the
    // disable is a conditional write, so it is announced once.
    const job = { accountId: 'acc', webhookId: w.webhookId, deliveryId: 'msg_other', eventId: 'e2', eventType: 'NEW_VISIT' as const, createdAt: new Date(d.clock.now()).toISOString(), payload: '{}', retryIndex: 0, trigger: 'event' as const };
    expect(await d.delivery.attempt(w, job, { inline: false })).toMatchObject({ kind: 'failed' });
    expect(d.operational.events).toEqual([expect.objectContaining({ type: 'WEBHOOK_AUTO_DISABLED', webhookId: w.webhookId, reason: 'endpoint answered 410 Gone' })]);
  });

  it('announces an auto-disable after days of failures', async () => {
    const d = domain();
    const w = d.hook('acc', A, { failingSince: new Date(d.clock.now() - 5 * 86_400_000).toISOString() });
    d.sender.answer(A, { status: 500 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.operational.events).toEqual([expect.objectContaining({ type: 'WEBHOOK_AUTO_DISABLED', webhookId: w.webhookId, reason: expect.stringMatching(/^every delivery failed since/) })]);
  });

  it('announces a delivery that exhausted its retries, with its id, event, attempts and last status', async () => {
    const d = domain({ ...NO_BREAKER, schedule: [1, 1] });
    const w = d.hook('acc', A);
    d.sender.answer(A, { status: 502 });
    const event = visitEvent('acc');
    const out = await d.delivery.deliverEvent(event, { redelivery: false });
    await runQueued(d);
    expect(d.operational.events).toEqual([
      expect.objectContaining({
        type: 'DELIVERY_EXHAUSTED',
        webhookId: w.webhookId,
        deliveryId: out.outcomes[0]?.deliveryId,
        eventId: event.eventId,
        eventType: 'NEW_VISIT',
        attempts: 3,
        lastStatusCode: 502,
        reason: 'gave up after 3 attempts: HTTP 502',
      }),
    ]);
  });
});

describe('operational events: delivery to subscribed webhooks', () => {
  it("goes to the account's webhooks subscribed to its type, never to the webhook it is about nor to another account's", async () => {
    const d = domain();
    const about = d.hook('acc', A, { eventTypes: ['NEW_VISIT', ...OPERATIONAL_TYPES] });
    d.hook('acc', OPS, { eventTypes: [...OPERATIONAL_TYPES] });
    d.hook('acc', 'https://visits-only.example.com/hook', { eventTypes: ['NEW_VISIT'] });
    d.hook('other', 'https://other.example.com/hook', { eventTypes: [...OPERATIONAL_TYPES] });
    const event = operationalEvent('acc', about.webhookId);
    const out = await d.delivery.deliverEvent(event, { redelivery: false });
    expect(out.matched).toBe(1);
    expect(d.sender.requests.map((r) => r.url)).toEqual([OPS]);
    expect(d.sender.requests[0]?.headers['X-Webhook-Event']).toBe('WEBHOOK_BREAKER_OPENED');
    expect(d.sender.requests[0]?.body).toBe(event.body);
  });
});

describe('operational events: no loops', () => {
  it("announces no breaker move that deliveries of operational events cause, opening or closing", async () => {
    const d = domain();
    const about = d.hook('acc', A);
    const ops = d.hook('acc', OPS, { eventTypes: [...OPERATIONAL_TYPES] });
    d.sender.answer(OPS, { status: 503 });
    for (let i = 0; i < 3; i++) await d.delivery.deliverEvent(operationalEvent('acc', about.webhookId), { redelivery: false });
    expect((await d.webhooks.get('acc', ops.webhookId))?.breaker).toMatchObject({ state: 'open', quiet: true });
    expect(d.metrics.get(METRICS.breakerOpened)).toBe(1);

    d.retryQueue.take();
    d.sender.answer(OPS, { status: 200 });
    d.clock.advance(d.delivery.settings.probeIntervalMs);
    await d.reconciler.tick();
    await runQueued(d); // the probe succeeds: releasing, quietly
    expect(d.metrics.get(METRICS.breakerClosed)).toBe(1);
    expect((await d.webhooks.get('acc', ops.webhookId))?.breaker).toMatchObject({ state: 'releasing', quiet: true });
    expect(d.operational.events).toEqual([]);
  });

  it('announces neither the exhaustion nor the auto-disable that an operational event\'s delivery causes', async () => {
    const d = domain({ ...NO_BREAKER, schedule: [1] });
    const about = d.hook('acc', A);
    const ops = d.hook('acc', OPS, { eventTypes: [...OPERATIONAL_TYPES] });
    d.sender.answer(OPS, { status: 500 });
    await d.delivery.deliverEvent(operationalEvent('acc', about.webhookId), { redelivery: false });
    await runQueued(d);
    expect(d.deliveries.all().map((r) => r.status)).toEqual(['failed']);
    d.sender.answer(OPS, { status: 410 });
    await d.delivery.deliverEvent(operationalEvent('acc', about.webhookId), { redelivery: false });
    expect((await d.webhooks.get('acc', ops.webhookId))?.status).toBe('auto-disabled');
    expect(d.operational.events).toEqual([]);
    expect(d.log.lines.filter((l) => l.includes('operational event not announced'))).toHaveLength(2);
  });
});

describe('operational events: a bus that fails', () => {
  it('never fails or loses the delivery: the outcome stands, the failure is logged with the event and counted', async () => {
    const d = domain();
    const w = d.hook('acc', A);
    d.operational.failNext = 1;
    d.sender.answer(A, { status: 503 });
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push((await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false })).outcomes[0]?.outcome.kind);
    expect(outcomes).toEqual(['retry-scheduled', 'retry-scheduled', 'parked']);
    expect((await d.webhooks.get('acc', w.webhookId))?.breaker?.state).toBe('open');
    expect(d.metrics.get(METRICS.operationalEventNotPublished)).toBe(1);
    const line = d.log.lines.find((l) => l.includes('operational event could not be published'));
    expect(line).toContain('WEBHOOK_BREAKER_OPENED');
    expect(line).toContain(w.webhookId);
    expect(d.operational.events).toEqual([]);
  });
});
