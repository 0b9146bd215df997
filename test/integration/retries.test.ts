import { Webhook as StandardWebhook } from 'standardwebhooks';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { createRetryHandler } from '../../lambdas/retry/app';
import { METRICS } from '../../lambdas/shared/contract';
import { DeliveryService } from '../../lambdas/shared/domain/delivery-service';
import { RecoveryService } from '../../lambdas/shared/domain/recovery-service';
import type { DeliveryStore } from '../../lambdas/shared/domain/ports';
import type { DeliveryRuntime } from '../../lambdas/shared/composition/delivery-runtime';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord } from '../../local/lambda-events';
import { type Harness, startHarness } from '../../local/harness/harness';
import { type Behaviour, respond, receiverPool } from '../helpers/receiver';
import { driveRetries } from '../../local/harness/retry-driver';

const SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];
/** The breaker never opens: for the tests of the retry schedule itself (the breaker has its own tests). */
const NO_BREAKER = { settings: { failuresToOpen: Number.MAX_SAFE_INTEGER, openAfterFailingMs: Number.MAX_SAFE_INTEGER } };

describe('retries with backoff, dead letters, auto-disable and recovery (manual clock)', () => {
  let h: Harness;
  let runtime: DeliveryRuntime;
  let deliver: ReturnType<typeof createDeliveryHandler>;
  let retry: ReturnType<typeof createRetryHandler>;
  const receivers = receiverPool();
  const receiver = receivers.start;
  const useRuntime = (r: DeliveryRuntime) => {
    runtime = r;
    deliver = createDeliveryHandler(r);
    retry = createRetryHandler(r);
  };

  beforeAll(async () => {
    h = await startHarness();
  });
  beforeEach(() => {
    h.retryQueue.take();
    h.failedSink.sent.length = 0;
    h.clock.current = Date.now();
    useRuntime(h.runtime({}, { WEBHOOKS_DELIVERY_TIMEOUT_MS: '500' }));
  });
  afterAll(async () => {
    await receivers.closeAll();
    await h.close();
  });

  /** A receiver that fails `n` times (with `failure`), then answers 200. */
  const failing = (n: number, failure: Behaviour = respond(500)): Behaviour => {
    let seen = 0;
    return (req, res, socket) => (seen++ < n ? failure(req, res, socket) : respond(200)(req, res, socket));
  };

  it('retries only the failing webhook, re-signed each time with the same webhook-id, until it succeeds', async () => {
    const [ok1, ok2, flaky] = [await receiver(), await receiver(), await receiver(failing(2))];
    await h.putWebhook({ accountId: 'acc_r1', url: ok1.url });
    await h.putWebhook({ accountId: 'acc_r1', url: ok2.url });
    const w = await h.putWebhook({ accountId: 'acc_r1', url: flaky.url });

    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_r1'))), lambdaContext);
    const drive = await driveRetries(h.retryQueue, h.clock, retry, { sweep: h.dueSweep() });

    expect(ok1.requests).toHaveLength(1);
    expect(ok2.requests).toHaveLength(1);
    expect(flaky.requests).toHaveLength(3);
    expect(drive.delays).toEqual([5, 300]);
    expect(new Set(flaky.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const timestamps = flaky.requests.map((r) => Number(r.headers['webhook-timestamp']));
    expect(timestamps[1]! - timestamps[0]!).toBe(5);
    expect(timestamps[2]! - timestamps[1]!).toBe(300);
    for (const req of flaky.requests) {
      // verify each attempt's signature at its own time (the library checks ±5 min against now)
      jest.useFakeTimers({ now: Number(req.headers['webhook-timestamp']) * 1000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask'] });
      expect(() => new StandardWebhook(w.secret).verify(req.body, req.headers as Record<string, string>)).not.toThrow();
      jest.useRealTimers();
    }
    const record = await runtime.deliveries.get('acc_r1', w.webhookId, flaky.requests[0]!.headers['webhook-id'] as string);
    expect(record).toMatchObject({ status: 'delivered', attemptCount: 3 });
    expect(record?.attempts.map((a) => a.trigger)).toEqual(['event', 'retry', 'retry']);
    expect((await h.runtime().webhooks.get('acc_r1', w.webhookId))?.failingSince).toBeUndefined();
  });

  it('follows the whole schedule, waits past 15 minutes in the due index (no hops), then fails into the DLQ', async () => {
    useRuntime(h.runtime(NO_BREAKER, { WEBHOOKS_DELIVERY_TIMEOUT_MS: '500' }));
    const dead = await receiver(respond(500, 'down'));
    const w = await h.putWebhook({ accountId: 'acc_r2', url: dead.url });
    const failedBefore = h.metrics.get(METRICS.exhausted);

    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_r2'))), lambdaContext);
    const drive = await driveRetries(h.retryQueue, h.clock, retry, { sweep: h.dueSweep() });

    expect(dead.requests).toHaveLength(1 + SCHEDULE.length);
    expect(drive.attempts).toBe(SCHEDULE.length);
    // every queued delay is within SQS's 15-minute limit; a longer wait is one message, queued by
    // the reconciler 15 minutes before it is due: no hops
    expect(Math.max(...drive.delays)).toBeLessThanOrEqual(900);
    expect(drive.hops).toBe(0);
    expect(drive.delays).toHaveLength(SCHEDULE.length);
    const times = dead.requests.map((r) => Number(r.headers['webhook-timestamp']));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps).toEqual(SCHEDULE);
    const id = dead.requests[0]!.headers['webhook-id'] as string;
    const record = await runtime.deliveries.get('acc_r2', w.webhookId, id);
    expect(record).toMatchObject({ status: 'failed', attemptCount: 8 });
    expect(record?.reason).toMatch(/gave up after 8 attempts/);
    expect(record?.payload).toBeDefined();
    expect(h.failedSink.sent).toHaveLength(1);
    expect(h.failedSink.sent[0]!.attributes.deliveryId).toBe(id);
    expect(h.metrics.get(METRICS.exhausted) - failedBefore).toBe(1);
  });

  it('adds upward jitter to each delay', async () => {
    useRuntime(h.runtime({ random: () => 1 }));
    const dead = await receiver(respond(500));
    await h.putWebhook({ accountId: 'acc_jitter', url: dead.url });
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_jitter'))), lambdaContext);
    expect(h.retryQueue.sent[0]!.delaySeconds).toBe(6); // 5 s + 20 %
  });

  it('waits at least Retry-After on 429 and 503, bounded by the schedule ceiling', async () => {
    useRuntime(h.runtime(NO_BREAKER, { WEBHOOKS_DELIVERY_TIMEOUT_MS: '500' }));
    const limited = await receiver(failing(2, respond(429, '', { 'retry-after': '120' })));
    await h.putWebhook({ accountId: 'acc_429', url: limited.url });
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_429'))), lambdaContext);
    expect(h.retryQueue.sent[0]!.delaySeconds).toBe(120);
    await driveRetries(h.retryQueue, h.clock, retry, { sweep: h.dueSweep() });
    const times = limited.requests.map((r) => Number(r.headers['webhook-timestamp']));
    expect(times[1]! - times[0]!).toBe(120);
    expect(times[2]! - times[1]!).toBe(300); // the schedule's own delay is longer than Retry-After

    const huge = await receiver(respond(503, '', { 'retry-after': '999999' }));
    await h.putWebhook({ accountId: 'acc_503', url: huge.url });
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_503'))), lambdaContext);
    // Ten hours away: no queue message yet, the record waits in the due index.
    expect(h.retryQueue.take()).toEqual([]);
    const [waiting] = (await h.runtime().deliveries.list('acc_503', (await h.runtime().webhooks.listByAccount('acc_503'))[0]!.webhookId, { limit: 1 })).items;
    expect(Date.parse(waiting!.nextAttemptAt!) - h.clock.now()).toBe(36000 * 1000);
  });

  it('disables the webhook on 410 Gone and stops its retries', async () => {
    const gone = await receiver(respond(410));
    const w = await h.putWebhook({ accountId: 'acc_410', url: gone.url });
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_410'))), lambdaContext);
    expect(h.retryQueue.sent).toHaveLength(0);
    const stored = await runtime.webhooks.get('acc_410', w.webhookId);
    expect(stored).toMatchObject({ enabled: false, status: 'auto-disabled', disabledReason: 'endpoint answered 410 Gone' });
    const record = await runtime.deliveries.get('acc_410', w.webhookId, gone.requests[0]!.headers['webhook-id'] as string);
    expect(record).toMatchObject({ status: 'failed', reason: 'endpoint answered 410 Gone' });
    expect(h.failedSink.sent).toHaveLength(1);
  });

  it.each<[string, Behaviour]>([
    ['a redirect', respond(302, '', { location: 'http://127.0.0.1:1/elsewhere' })],
    ['a 400', respond(400)],
    ['a hang past the timeout', () => undefined],
    ['a connection reset', (_req, _res, socket) => socket.destroy()],
  ])('retries after %s', async (_name, behaviour) => {
    const r = await receiver(failing(1, behaviour));
    const w = await h.putWebhook({ accountId: `acc_${_name.length}`, url: r.url });
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', w.accountId))), lambdaContext);
    await driveRetries(h.retryQueue, h.clock, retry, { sweep: h.dueSweep() });
    expect(r.requests).toHaveLength(2);
    const record = await runtime.deliveries.get(w.accountId, w.webhookId, r.requests[0]!.headers['webhook-id'] as string);
    expect(record).toMatchObject({ status: 'delivered', attemptCount: 2 });
    expect(record?.attempts[0]!.ok).toBe(false);
  });

  it('retries a refused connection', async () => {
    const r = await receiver();
    const url = r.url;
    await r.close();
    const w = await h.putWebhook({ accountId: 'acc_refused', url });
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_refused'))), lambdaContext);
    const queued = h.retryQueue.take();
    expect(queued).toHaveLength(1);
    const record = await runtime.deliveries.get('acc_refused', w.webhookId, queued[0]!.message.deliveryId);
    expect(record?.attempts[0]).toMatchObject({ ok: false, errorKind: 'connect' });
  });

  it('a crash between sending and recording costs a duplicate with the same webhook-id, never a loss', async () => {
    const r = await receiver();
    const w = await h.putWebhook({ accountId: 'acc_crash', url: r.url });
    const base = h.runtime();
    let crashes = 1;
    const crashingStore: DeliveryStore = {
      get: (...a) => base.deliveries.get(...a),
      list: (...a) => base.deliveries.list(...a),
      listParked: (...a) => base.deliveries.listParked(...a),
      listBucket: (...a) => base.deliveries.listBucket(...a),
      listDue: (...a) => base.deliveries.listDue(...a),
      write: async (wr) => {
        if (crashes-- > 0) throw new Error('process died before recording (simulated)');
        return base.deliveries.write(wr);
      },
    };
    const crashing = createDeliveryHandler({ ...base, service: new DeliveryService({ ...depsOf(base), deliveries: crashingStore }) });
    const event = eventBridgeEvent('NEW_VISIT', 'acc_crash');
    const first = await crashing(sqsEvent(sqsRecord(event)), lambdaContext);
    expect(first.batchItemFailures).toHaveLength(1); // SQS will redeliver the event
    const second = await crashing(sqsEvent(sqsRecord(event, 2)), lambdaContext);
    expect(second.batchItemFailures).toHaveLength(0);
    expect(r.requests).toHaveLength(2);
    expect(r.requests[1]!.headers['webhook-id']).toBe(r.requests[0]!.headers['webhook-id']);
    const record = await base.deliveries.get('acc_crash', w.webhookId, r.requests[0]!.headers['webhook-id'] as string);
    expect(record?.status).toBe('delivered');
    // and a third redelivery sends nothing more
    await crashing(sqsEvent(sqsRecord(event, 3)), lambdaContext);
    expect(r.requests).toHaveLength(2);
  });

  it('opens the breaker for a webhook failing for over a minute: its deliveries are parked with the reason, neither attempted nor queued', async () => {
    const r = await receiver(respond(500));
    const since = new Date(h.clock.now() - 120_000).toISOString();
    const w = await h.putWebhook({ accountId: 'acc_open', url: r.url, failingSince: since });
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_open'))), lambdaContext);
    expect(r.requests).toHaveLength(1); // this failure opens it
    expect((await runtime.webhooks.get('acc_open', w.webhookId))?.breaker).toMatchObject({ state: 'open', reason: expect.stringMatching(/^failing for 120 s, the last: HTTP 500/) });
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_open'))), lambdaContext);
    expect(r.requests).toHaveLength(1);
    expect(h.retryQueue.sent).toHaveLength(0);
    const pending = await runtime.deliveries.list('acc_open', w.webhookId, { limit: 10, status: 'pending' });
    expect(pending.items).toHaveLength(2);
    expect(pending.items.every((d) => d.parked === true && /^parked: the webhook's breaker is open since/.test(d.reason ?? ''))).toBe(true);
    const parked = await runtime.deliveries.listParked('acc_open', w.webhookId, { limit: 10 });
    expect(parked.items.map((d) => d.deliveryId)).toEqual(pending.items.map((d) => d.deliveryId).reverse());
  });

  it('auto-disables a webhook failing for 5 days, records events while disabled, and recovers them all after re-enabling', async () => {
    const r = await receiver(respond(500));
    const w = await h.putWebhook({ accountId: 'acc_auto', url: r.url });
    const start = h.clock.now();
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_auto', undefined, undefined, new Date(start).toISOString()))), lambdaContext);
    expect((await runtime.webhooks.get('acc_auto', w.webhookId))?.failingSince).toBeDefined();
    h.retryQueue.take();
    h.clock.advance(5 * 86_400_000 + 1000);
    useRuntime(h.runtime()); // fresh cache: sees failingSince
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_auto', undefined, undefined, new Date(h.clock.now()).toISOString()))), lambdaContext);
    // the circuit is open (failing for days), so the event went to the schedule; its retry attempt trips the auto-disable
    await driveRetries(h.retryQueue, h.clock, retry, { sweep: h.dueSweep() });
    const disabled = await runtime.webhooks.get('acc_auto', w.webhookId);
    expect(disabled).toMatchObject({ enabled: false, status: 'auto-disabled' });
    expect(disabled?.disabledReason).toMatch(/every delivery failed since/);

    // 105 events while auto-disabled: recorded, not sent
    const sentBefore = r.requests.length;
    useRuntime(h.runtime());
    h.clock.advance(1000); // after the delivery that tripped the auto-disable (failed, not one of the 105)
    const recoverFrom = h.clock.now();
    for (let batch = 0; batch < 21; batch++) {
      const records = Array.from({ length: 5 }, (_, i) =>
        sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_auto', undefined, undefined, new Date(recoverFrom + (batch * 5 + i) * 1000).toISOString())),
      );
      const result = await deliver(sqsEvent(...records), lambdaContext);
      expect(result.batchItemFailures).toEqual([]);
    }
    expect(r.requests.length).toBe(sentBefore);
    const skipped = await runtime.deliveries.list('acc_auto', w.webhookId, { limit: 200, status: 'skipped' });
    expect(skipped.items.filter((d) => Date.parse(d.createdAt) >= recoverFrom)).toHaveLength(105);
    // ... and the first event, whose queue message this test threw away: the due sweep found it
    // pending past its time, re-queued it, and it was skipped as the webhook was disabled by then.
    expect(skipped.items).toHaveLength(106);

    // re-enable (as the API does) and recover since T: every skipped delivery, over several pages
    await h.putWebhook({ ...disabled!, enabled: true, status: 'active', disabledReason: undefined, failingSince: undefined });
    r.behave(respond(200));
    useRuntime(h.runtime());
    const recovery = new RecoveryService(runtime.deliveries, runtime.retryQueue, h.clock, runtime.retryPolicy.maxRetries, runtime.recoveryJobs);
    const job = await recovery.startRecovery('acc_auto', w.webhookId, recoverFrom, 60_000);
    expect(job).toMatchObject({ status: 'done', scanned: 105, requeued: 105 });
    await driveRetries(h.retryQueue, h.clock, retry, { sweep: h.dueSweep() });
    expect(r.requests.length - sentBefore).toBe(105);
    const delivered = await runtime.deliveries.list('acc_auto', w.webhookId, { limit: 200, status: 'delivered' });
    expect(delivered.items).toHaveLength(105);
  });

  it('retries one failed delivery on request, once', async () => {
    const r = await receiver(respond(500));
    const w = await h.putWebhook({ accountId: 'acc_manual', url: r.url });
    useRuntime(h.runtime({}, { WEBHOOKS_RETRY_SCHEDULE: '1' }));
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_manual'))), lambdaContext);
    await driveRetries(h.retryQueue, h.clock, retry, { sweep: h.dueSweep() });
    const id = r.requests[0]!.headers['webhook-id'] as string;
    expect((await runtime.deliveries.get('acc_manual', w.webhookId, id))?.status).toBe('failed');
    const recovery = new RecoveryService(runtime.deliveries, runtime.retryQueue, h.clock, runtime.retryPolicy.maxRetries);
    await recovery.retryDelivery('acc_manual', w.webhookId, id);
    expect((await runtime.deliveries.get('acc_manual', w.webhookId, id))?.status).toBe('pending');
    await driveRetries(h.retryQueue, h.clock, retry, { sweep: h.dueSweep() });
    expect(r.requests).toHaveLength(3);
    const record = await runtime.deliveries.get('acc_manual', w.webhookId, id);
    expect(record).toMatchObject({ status: 'failed', attemptCount: 3 });
    expect(record?.attempts.map((a) => a.trigger)).toEqual(['event', 'retry', 'manual']);
    await expect(recovery.retryDelivery('acc_manual', w.webhookId, 'msg_nope')).rejects.toThrow(/not found/);
  });

  it('records a retry for a deleted webhook as failed, and one for a disabled webhook as skipped', async () => {
    const r = await receiver(respond(500));
    const w = await h.putWebhook({ accountId: 'acc_gone', url: r.url });
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_gone'))), lambdaContext);
    await h.putWebhook({ ...w, enabled: false, status: 'disabled' });
    await driveRetries(h.retryQueue, h.clock, retry, { sweep: h.dueSweep() });
    const id = r.requests[0]!.headers['webhook-id'] as string;
    expect(await runtime.deliveries.get('acc_gone', w.webhookId, id)).toMatchObject({ status: 'skipped' });
    expect(r.requests).toHaveLength(1);
  });
});

function depsOf(runtime: DeliveryRuntime) {
  return {
    webhooks: runtime.webhooks,
    deliveries: runtime.deliveries,
    sender: runtime.sender,
    retryQueue: runtime.retryQueue,
    failedSink: runtime.failedSink,
    retryPolicy: runtime.retryPolicy,
    clock: runtime.clock,
    log: runtime.log,
    metrics: runtime.metrics,
    rateLimiter: runtime.rateLimiter,
  };
}
