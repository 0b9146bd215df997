import { METRICS } from '../../../lambdas/shared/contract';
import { domain, runQueued, visitEvent } from './support';

/**
 * The breaker's life on in-memory ports: open → parked deliveries → one probe at a time (backing
 * off while the endpoint stays down) → released at a bounded pace once it is back; and the sweep
 * that re-queues deliveries left pending past their due time.
 */

const A = 'https://a.example.com/hook';

/** A webhook whose breaker opened after three failures (all three parked), with `parked` more events parked behind it. */
async function openWithParked(parked: number) {
  const d = domain();
  const w = d.hook('acc', A);
  d.sender.answer(A, { status: 503 });
  for (let i = 0; i < 3; i++) await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
  // The first two failures' retries find the breaker open (not yet due): parked, not hopped.
  for (const { message } of d.retryQueue.take()) expect(await d.delivery.handleQueued(message)).toMatchObject({ kind: 'parked' });
  for (let i = 0; i < parked; i++) await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
  return { d, w };
}

describe('Reconciler: probes and release', () => {
  it('probes one parked delivery when the probe is due, and backs off while the endpoint stays down', async () => {
    const { d, w } = await openWithParked(4);
    const requestsBefore = d.sender.requests.length;
    expect(await d.reconciler.tick()).toMatchObject({ probes: 0 }); // not yet due

    d.clock.advance(d.delivery.settings.probeIntervalMs);
    expect(await d.reconciler.tick()).toMatchObject({ probes: 1 });
    expect((await d.webhooks.get('acc', w.webhookId))?.breaker?.state).toBe('half-open');
    expect(await d.reconciler.tick()).toMatchObject({ probes: 0 }); // one probe at a time
    const [probe] = d.retryQueue.sent;
    expect(probe?.message.trigger).toBe('probe');

    await runQueued(d); // the probe fails
    expect(d.sender.requests).toHaveLength(requestsBefore + 1);
    const breaker = (await d.webhooks.get('acc', w.webhookId))?.breaker;
    expect(breaker).toMatchObject({ state: 'open', probes: 1 });
    expect(Date.parse(breaker!.probeAt)).toBe(d.clock.now() + 2 * d.delivery.settings.probeIntervalMs);
    expect(d.deliveries.all().filter((r) => r.parked)).toHaveLength(7); // the probed one is parked again
  });

  it('once a probe succeeds, releases the parked deliveries at the release pace and closes the breaker when none is left', async () => {
    const { d, w } = await openWithParked(30);
    d.sender.answer(A, { status: 200 });
    d.clock.advance(d.delivery.settings.probeIntervalMs);
    await d.reconciler.tick();
    await runQueued(d); // the probe succeeds
    expect((await d.webhooks.get('acc', w.webhookId))?.breaker?.state).toBe('releasing');
    expect(d.metrics.get(METRICS.breakerClosed)).toBe(1);

    // releasePerSecond 10 × a 10 s tick: 100 a tick at most, spread 0..9 s apart by queue delays.
    const report = await d.reconciler.tick();
    expect(report.released).toBe(32); // 30 events + the three that failed, less the probe (delivered)
    const delays = d.retryQueue.sent.map((s) => s.delaySeconds);
    expect(Math.max(...delays)).toBe(3);
    expect(delays.filter((s) => s === 0)).toHaveLength(10);
    await runQueued(d);
    // It closes a whole tick after the last release (the parked index may lag a fresh write).
    d.clock.current = Date.parse((await d.webhooks.get('acc', w.webhookId))!.breaker!.probeAt) + 1_000;
    expect(await d.reconciler.tick()).toMatchObject({ released: 0, closed: 0 });
    d.clock.advance(10_000);
    expect(await d.reconciler.tick()).toMatchObject({ released: 0, closed: 1 });
    expect((await d.webhooks.get('acc', w.webhookId))?.breaker).toBeUndefined();
    expect(d.deliveries.all().every((r) => r.status === 'delivered' && !r.parked)).toBe(true);

    // New events flow inline again.
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.retryQueue.sent).toHaveLength(0);
  });

  it('turns the parked deliveries of a webhook disabled meanwhile into skipped ones (recoverable), then closes', async () => {
    const { d, w } = await openWithParked(2);
    await d.management.update('acc', w.webhookId, { enabled: false });
    expect(await d.reconciler.tick()).toMatchObject({ skipped: 5 });
    expect(d.deliveries.all().filter((r) => r.status === 'skipped')).toHaveLength(5);
    expect(await d.reconciler.tick()).toMatchObject({ closed: 1 });
  });

  it('closes a breaker with nothing parked when its probe is due: the next delivery tries the endpoint', async () => {
    const d = domain();
    const w = d.hook('acc', A, { breaker: { state: 'open', since: new Date(d.clock.now()).toISOString(), reason: 'timeouts', probeAt: new Date(d.clock.now()).toISOString(), probes: 2 } });
    expect(await d.reconciler.tick()).toMatchObject({ closed: 1, probes: 0 });
    expect((await d.webhooks.get('acc', w.webhookId))?.breaker).toBeUndefined();
  });
});

describe('Reconciler: overdue deliveries', () => {
  it('queues a retry that waits longer than a queue delay 15 minutes before it is due: no hop every 15 minutes', async () => {
    const d = domain({ schedule: [3_600], deliveryDeps: { settings: { failuresToOpen: 1_000 } } });
    d.hook('acc', A);
    d.sender.answer(A, { status: 500 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(d.retryQueue.take()).toEqual([]); // an hour away: no queue message yet
    const [record] = d.deliveries.all();
    const dueAt = Date.parse(record!.nextAttemptAt!);
    expect(await d.reconciler.tick()).toMatchObject({ queued: 0 });
    d.clock.current = dueAt - 900_000 - 1;
    expect(await d.reconciler.tick()).toMatchObject({ queued: 0 });
    d.clock.current = dueAt - 900_000 + 30_000; // the tick after the 15-minute mark
    expect(await d.reconciler.tick()).toMatchObject({ queued: 1, overdue: 0 });
    const [queued] = d.retryQueue.take();
    expect(queued).toMatchObject({ delaySeconds: 870, message: { deliveryId: record!.deliveryId, dueAt, retryIndex: 1 } });
    expect(await d.reconciler.tick()).toMatchObject({ queued: 0 }); // now a safety net only: swept again only if overdue
    expect(d.metrics.get(METRICS.overdue)).toBe(0);
  });

  it('re-queues a pending delivery whose queue message was lost, and counts it', async () => {
    const d = domain({ deliveryDeps: { settings: { failuresToOpen: 1_000 } } });
    d.hook('acc', A);
    d.sender.answer(A, { status: 500 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    const [lost] = d.retryQueue.take(); // the message never arrives (say, a hop cut by the recursive-loop guard)
    expect(await d.reconciler.tick()).toMatchObject({ overdue: 0 });

    d.clock.current = lost!.message.dueAt + d.delivery.settings.overdueAfterMs + 1;
    expect(await d.reconciler.tick()).toMatchObject({ overdue: 1 });
    expect(d.metrics.get(METRICS.overdue)).toBe(1);
    const [requeued] = d.retryQueue.sent;
    expect(requeued?.message).toMatchObject({ deliveryId: lost!.message.deliveryId, retryIndex: lost!.message.retryIndex });

    d.sender.answer(A, { status: 200 });
    await runQueued(d);
    expect(d.deliveries.all()[0]).toMatchObject({ status: 'delivered' });
    expect(await d.reconciler.tick()).toMatchObject({ overdue: 0 });
  });
});

describe('parking against a stale view of the breaker', () => {
  it('hands a delivery to the slow lane when the breaker closed between the lane reading it and parking', async () => {
    const d = domain();
    const now = new Date(d.clock.now()).toISOString();
    const w = d.hook('acc', A, { breaker: { state: 'open', since: now, reason: 'timeouts', probeAt: now, probes: 0 } });
    const stale = await d.webhooks.listByAccount('acc');
    await d.webhooks.setBreaker('acc', w.webhookId, undefined); // the reconciler closed it meanwhile
    d.webhooks.listByAccount = async () => stale; // the lane still holds the cached copy
    const out = await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    expect(out.outcomes[0]?.outcome).toMatchObject({ kind: 'handed-off', reason: expect.stringMatching(/breaker closed while this delivery was being parked/) });
    expect(d.retryQueue.sent).toHaveLength(1);
    expect(d.deliveries.all()[0]?.parked).toBeUndefined();
  });
});
