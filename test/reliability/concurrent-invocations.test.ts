import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { createRetryHandler } from '../../lambdas/retry/app';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord } from '../../local/lambda-events';
import { type Harness, startHarness } from '../../local/harness/harness';
import { respond, receiverPool } from '../helpers/receiver';

/**
 * The local runtime (and the emulator mode) runs several invocations of one handler instance at
 * once, as its event source mappings have a concurrency of 2. Each invocation must report its own
 * failed records: a record reported as done is deleted from the queue, so a failure lost here is
 * a delivery lost for good.
 */
describe('one handler instance, concurrent invocations: each reports its own failures', () => {
  let h: Harness;
  const receivers = receiverPool();
  const receiver = receivers.start;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await receivers.closeAll();
    await h.close();
  });
  /** Resolves once the injected retry-queue failure has happened (A's failing record failed). */
  const failed = async () => {
    while (h.retryQueue.failNext > 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
  };

  it('delivery handler: a failure in one batch survives another batch starting and ending meanwhile', async () => {
    const [down, slow, fast] = [
      await receiver(respond(500)),
      await receiver((req, res, socket) => setTimeout(() => respond(200)(req, res, socket), 600)),
      await receiver(respond(200)),
    ];
    await h.putWebhook({ accountId: 'acc_cc_down', url: down.url });
    await h.putWebhook({ accountId: 'acc_cc_slow', url: slow.url });
    await h.putWebhook({ accountId: 'acc_cc_fast', url: fast.url });
    const handler = createDeliveryHandler(h.runtime());

    // Batch A: one record that fails fast (its retry cannot be queued), one that takes a while.
    h.retryQueue.failNext = 1;
    const failing = sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_cc_down'));
    const slowOk = sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_cc_slow'));
    const a = handler(sqsEvent(failing, slowOk), lambdaContext);
    // Batch B starts after A's failure and ends before A does.
    await failed();
    const b = await handler(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_cc_fast'))), lambdaContext);

    expect(b.batchItemFailures).toEqual([]);
    expect((await a).batchItemFailures).toEqual([{ itemIdentifier: failing.messageId }]);
    expect(fast.requests).toHaveLength(1);
  });

  it('retry handler: the same', async () => {
    const slow = await receiver((req, res, socket) => setTimeout(() => respond(200)(req, res, socket), 600));
    const fast = await receiver(respond(200));
    const wSlow = await h.putWebhook({ accountId: 'acc_ccr', url: slow.url });
    const wFast = await h.putWebhook({ accountId: 'acc_ccr', url: fast.url });
    const handler = createRetryHandler(h.runtime());
    const message = (webhookId: string, n: number) => ({
      kind: 'delivery-retry',
      accountId: 'acc_ccr',
      webhookId,
      deliveryId: `msg_0000000000RETRYCONCURRENT${n}`,
      eventId: `e${n}`,
      eventType: 'NEW_VISIT',
      createdAt: new Date().toISOString(),
      retryIndex: 1,
      dueAt: h.clock.now() + 60_000,
      trigger: 'retry',
      payload: '{"id":"v"}',
    });
    // A not-yet-due message hops (a re-send to the queue); failing that send fails the record.
    h.retryQueue.failNext = 1;
    const hop = sqsRecord(message(wSlow.webhookId, 1));
    const due = sqsRecord({ ...message(wSlow.webhookId, 2), dueAt: h.clock.now() });
    const a = handler(sqsEvent(hop, due), lambdaContext);
    await failed();
    const b = await handler(sqsEvent(sqsRecord({ ...message(wFast.webhookId, 3), dueAt: h.clock.now() })), lambdaContext);

    expect(b.batchItemFailures).toEqual([]);
    expect((await a).batchItemFailures).toEqual([{ itemIdentifier: hop.messageId }]);
  });
});
