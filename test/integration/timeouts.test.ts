import type { Context } from 'aws-lambda';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { createRetryHandler } from '../../lambdas/retry/app';
import type { DeliveryRuntime } from '../../lambdas/shared/composition/delivery-runtime';
import { type Harness, startHarness } from '../../local/harness/harness';
import { createLambdaContext, eventBridgeEvent, sqsEvent, sqsRecord } from '../../local/lambda-events';
import { receiverPool, respond } from '../helpers/receiver';

/**
 * The timeout scenario of the isolation issue, as a regression test on the real handlers and
 * dynalite: an invocation that holds slow deliveries and little time never starts an attempt it
 * cannot finish, records its successes before it returns and hands the rest on (same id); the
 * redelivery a timeout would cause re-sends no success and reaches no webhook created since the
 * first receive; every delivery ends recorded, none lost.
 */

const ACCOUNT = 'acc_timeouts';
const SLOW_MS = 2_000;

/** A Lambda context with `ms` left (the manual clock does not move during a call: the time left is fixed). */
const contextWith = (ms: number): Context =>
  createLambdaContext({ functionName: 'delivery', region: 'us-east-1', account: '111122223333', awsRequestId: 'req-t', logStreamName: 's', remainingMs: () => ms });

describe('an invocation near its timeout', () => {
  let h: Harness;
  let runtime: DeliveryRuntime;
  const receivers = receiverPool();

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await receivers.closeAll();
    await h.close();
  });

  it('records its successes, hands slow deliveries on before its end, and its redelivery re-sends nothing and reaches no later webhook', async () => {
    runtime = h.runtime({}, { WEBHOOKS_DELIVERY_TIMEOUT_MS: '5000' });
    const deliver = createDeliveryHandler(runtime);
    const healthy = await receivers.start(respond(200));
    const slow = await receivers.start((_req, res) => setTimeout(() => respond(200)(_req, res, res.socket!), SLOW_MS));
    const wHealthy = await h.putWebhook({ accountId: ACCOUNT, url: healthy.url });
    const wSlow = await h.putWebhook({ accountId: ACCOUNT, url: slow.url });
    const firstReceive = h.clock.now();
    const records = Array.from({ length: 6 }, () => {
      const r = sqsRecord(eventBridgeEvent('NEW_VISIT', ACCOUNT));
      return { ...r, attributes: { ...r.attributes, ApproximateFirstReceiveTimestamp: String(firstReceive) } };
    });

    // 5 s left: the fast lane's 1.5 s attempts fit before the 3 s recording margin; the slow
    // endpoint misses them and is handed to the slow lane (the attempt is in its log).
    const first = await deliver(sqsEvent(...records), contextWith(5_000));
    expect(first.batchItemFailures).toEqual([]);
    expect(healthy.requests).toHaveLength(6);
    const healthyRecords = await runtime.deliveries.list(ACCOUNT, wHealthy.webhookId, { limit: 10 });
    expect(healthyRecords.items.map((r) => r.status)).toEqual(Array(6).fill('delivered'));
    const slowRecords = await runtime.deliveries.list(ACCOUNT, wSlow.webhookId, { limit: 10 });
    expect(slowRecords.items.map((r) => r.status)).toEqual(Array(6).fill('pending'));
    expect(slowRecords.items.every((r) => /no answer within the fast lane/.test(r.reason ?? ''))).toBe(true);
    expect(h.retryQueue.sent.map((s) => s.message.webhookId)).toEqual(Array(6).fill(wSlow.webhookId));

    // A webhook created after the first receive, then the redelivery a timeout would have caused.
    const later = await receivers.start(respond(200));
    const wLater = await h.putWebhook({ accountId: ACCOUNT, url: later.url, createdAt: new Date(firstReceive + 1_000).toISOString() });
    runtime.webhooks.invalidate();
    const again = await deliver(sqsEvent(...records.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: '2' } }))), contextWith(5_000));
    expect(again.batchItemFailures).toEqual([]);
    expect(healthy.requests).toHaveLength(6); // no success re-sent
    expect(later.requests).toHaveLength(0); // never a webhook created after the event was first received
    expect((await runtime.deliveries.list(ACCOUNT, wLater.webhookId, { limit: 10 })).items).toEqual([]);
    expect(h.retryQueue.sent).toHaveLength(6); // the slow ones were already handed on: nothing doubled

    // The slow lane, with too little time for a full attempt, hands each on again (same id, no attempt).
    const retry = createRetryHandler(runtime);
    const queued = h.retryQueue.take();
    const slowBefore = slow.requests.length;
    const short = await retry(sqsEvent(...queued.map((q) => sqsRecord(q.message))), contextWith(6_000));
    expect(short.batchItemFailures).toEqual([]);
    expect(slow.requests.length).toBe(slowBefore);
    const handedOn = h.retryQueue.take();
    expect(handedOn.map((q) => q.message.deliveryId).sort()).toEqual(queued.map((q) => q.message.deliveryId).sort());

    // With time for it, the slow lane delivers each with the full budget, same webhook-id.
    const full = await retry(sqsEvent(...handedOn.map((q) => sqsRecord(q.message))), contextWith(30_000));
    expect(full.batchItemFailures).toEqual([]);
    const done = await runtime.deliveries.list(ACCOUNT, wSlow.webhookId, { limit: 10 });
    expect(done.items.map((r) => r.status)).toEqual(Array(6).fill('delivered'));
    const ids = new Set(slow.requests.map((q) => q.headers['webhook-id']));
    expect(ids.size).toBe(6);
    expect([...ids].sort()).toEqual(done.items.map((r) => r.deliveryId).sort());
  }, 60_000);
});
