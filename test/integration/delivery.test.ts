import { Webhook as StandardWebhook } from 'standardwebhooks';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { METRICS } from '../../lambdas/shared/contract';
import type { DeliveryRuntime } from '../../lambdas/shared/composition/delivery-runtime';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord, visitFixture } from '../../local/lambda-events';
import { type Harness, startHarness } from '../../local/harness/harness';
import { type Receiver, respond, startReceiver, receiverPool } from '../helpers/receiver';

describe('delivery handler: EventBridge event on SQS → signed POSTs (dynalite, loopback receivers)', () => {
  let h: Harness;
  let runtime: DeliveryRuntime;
  let handler: ReturnType<typeof createDeliveryHandler>;
  const receivers = receiverPool();
  const receiver = receivers.start;

  beforeAll(async () => {
    h = await startHarness();
  });
  beforeEach(() => {
    h.retryQueue.failNext = 0; // a test that injects a queue failure and stops early leaves none behind
    runtime = h.runtime();
    handler = createDeliveryHandler(runtime);
  });
  afterAll(async () => {
    await receivers.closeAll();
    await h.close();
  });

  it('fans out to every enabled, subscribed webhook of the account, signed and verifiable', async () => {
    const [a, b, c] = [await receiver(), await receiver(), await receiver()];
    const wa = await h.putWebhook({ accountId: 'acc_fan', url: a.url, headers: { 'X-Api-Version': '2', Authorization: 'Bearer abc' } });
    const wb = await h.putWebhook({ accountId: 'acc_fan', url: b.url, eventTypes: ['NEW_VISIT'] });
    await h.putWebhook({ accountId: 'acc_fan', url: c.url, eventTypes: ['NEW_VISITOR'] });
    const event = eventBridgeEvent('NEW_VISIT', 'acc_fan');
    const deliveredBefore = h.metrics.get(METRICS.delivered);

    const result = await handler(sqsEvent(sqsRecord(event)), lambdaContext);

    expect(result.batchItemFailures).toEqual([]);
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(1);
    expect(c.requests).toHaveLength(0);
    for (const [r, w] of [
      [a, wa],
      [b, wb],
    ] as const) {
      const req = r.requests[0]!;
      expect(req.method).toBe('POST');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['user-agent']).toMatch(/visit-webhooks/);
      expect(req.headers['x-webhook-event']).toBe('NEW_VISIT');
      expect(req.headers['x-webhook-signature']).toBe(req.headers['webhook-signature']);
      expect(JSON.parse(req.body)).toEqual(visitFixture);
      // An independent receiver verifies with the public library.
      expect(new StandardWebhook(w.secret).verify(req.body, req.headers as Record<string, string>)).toEqual(visitFixture);
    }
    expect(a.requests[0]!.headers['x-api-version']).toBe('2');
    expect(a.requests[0]!.headers.authorization).toBe('Bearer abc');
    expect(a.requests[0]!.headers['webhook-id']).not.toBe(b.requests[0]!.headers['webhook-id']);
    const record = await runtime.deliveries.get('acc_fan', wa.webhookId, a.requests[0]!.headers['webhook-id'] as string);
    expect(record).toMatchObject({ status: 'delivered', attemptCount: 1, eventId: event.id, eventType: 'NEW_VISIT' });
    // A first-attempt success is a compact entry: status, latency and time, not the response body (kept for failures).
    expect(record?.attempts[0]).toMatchObject({ ok: true, statusCode: 200, trigger: 'event' });
    expect(record?.attempts[0]).not.toHaveProperty('responseSnippet');
    expect(record?.payload).toBeUndefined();
    expect(h.metrics.get(METRICS.delivered) - deliveredBefore).toBeGreaterThanOrEqual(2);
  });

  it('sends nothing to a disabled webhook or to another account', async () => {
    const [disabled, other, mine] = [await receiver(), await receiver(), await receiver()];
    await h.putWebhook({ accountId: 'acc_iso', url: disabled.url, enabled: false, status: 'disabled' });
    await h.putWebhook({ accountId: 'acc_other', url: other.url });
    await h.putWebhook({ accountId: 'acc_iso', url: mine.url });

    const result = await handler(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISITOR', 'acc_iso'))), lambdaContext);

    expect(result.batchItemFailures).toEqual([]);
    expect(disabled.requests).toHaveLength(0);
    expect(other.requests).toHaveLength(0);
    expect(mine.requests).toHaveLength(1);
    expect(mine.requests[0]!.headers['x-webhook-event']).toBe('NEW_VISITOR');
  });

  it('sends a static X-Webhook-Signature token instead of the HMAC when the webhook sets one', async () => {
    const r = await receiver();
    const w = await h.putWebhook({ accountId: 'acc_token', url: r.url, headers: { 'x-webhook-signature': 'my-shared-token' } });
    await handler(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_token'))), lambdaContext);
    const req = r.requests[0]!;
    expect(req.headers['x-webhook-signature']).toBe('my-shared-token');
    expect(new StandardWebhook(w.secret).verify(req.body, req.headers as Record<string, string>)).toEqual(visitFixture);
  });

  it('records a failed attempt and schedules a retry for that webhook only', async () => {
    const [good, bad] = [await receiver(), await receiver(respond(500, 'boom'))];
    await h.putWebhook({ accountId: 'acc_fail', url: good.url });
    const wBad = await h.putWebhook({ accountId: 'acc_fail', url: bad.url });
    h.retryQueue.take();

    const result = await handler(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_fail'))), lambdaContext);

    expect(result.batchItemFailures).toEqual([]);
    const retries = h.retryQueue.take();
    expect(retries).toHaveLength(1);
    expect(retries[0]!.message).toMatchObject({ webhookId: wBad.webhookId, retryIndex: 1, deliveryId: bad.requests[0]!.headers['webhook-id'] });
    expect(retries[0]!.delaySeconds).toBe(5);
    const record = await runtime.deliveries.get('acc_fail', wBad.webhookId, bad.requests[0]!.headers['webhook-id'] as string);
    expect(record).toMatchObject({ status: 'pending', attemptCount: 1, lastStatusCode: 500, lastError: 'HTTP 500' });
    expect(record?.attempts[0]).toMatchObject({ ok: false, statusCode: 500, responseSnippet: 'boom' });
    expect(record?.payload).toBe(JSON.stringify(visitFixture));
  });

  it('reports a batch item failure when the failure cannot be queued, and does not re-send delivered webhooks on redelivery', async () => {
    const [good, bad] = [await receiver(), await receiver(respond(503))];
    await h.putWebhook({ accountId: 'acc_redeliver', url: good.url });
    await h.putWebhook({ accountId: 'acc_redeliver', url: bad.url });
    const event = eventBridgeEvent('NEW_VISIT', 'acc_redeliver');
    h.retryQueue.failNext = 1;

    const first = await handler(sqsEvent(sqsRecord(event)), lambdaContext);
    expect(first.batchItemFailures).toHaveLength(1);
    expect(good.requests).toHaveLength(1);

    const second = await handler(sqsEvent(sqsRecord(event, 2)), lambdaContext);
    expect(second.batchItemFailures).toEqual([]);
    expect(good.requests).toHaveLength(1); // idempotent: recorded as delivered, not re-sent
    expect(bad.requests).toHaveLength(2); // never recorded, so attempted again (same webhook-id)
    expect(bad.requests[1]!.headers['webhook-id']).toBe(bad.requests[0]!.headers['webhook-id']);
  });

  it('sends a bad event to the events DLQ with its reason without failing the good ones', async () => {
    const r = await receiver();
    await h.putWebhook({ accountId: 'acc_mixed', url: r.url });
    const bad = sqsRecord({ ...eventBridgeEvent('NEW_VISIT', 'acc_mixed'), detail: { accountId: 'acc_mixed', data: { url: 'no id' } } });
    const garbage = sqsRecord('not json at all');
    const good = sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_mixed'));
    const invalidBefore = h.metrics.get(METRICS.invalidEvent);

    const result = await handler(sqsEvent(bad, good, garbage), lambdaContext);

    expect(result.batchItemFailures).toEqual([]);
    expect(r.requests).toHaveLength(1);
    const dead = h.eventsDlq.sent.filter((d) => d.attributes.sourceMessageId === bad.messageId || d.attributes.sourceMessageId === garbage.messageId);
    expect(dead).toHaveLength(2);
    expect(dead.map((d) => d.reason).join('\n')).toMatch(/data\.id/);
    expect(dead.map((d) => d.reason).join('\n')).toMatch(/not JSON/);
    expect(dead.find((d) => d.attributes.sourceMessageId === bad.messageId)?.body).toBe(bad.body);
    expect(h.metrics.get(METRICS.invalidEvent) - invalidBefore).toBe(2);
  });

  it('fails only the records it could not process when DynamoDB is unreachable', async () => {
    const broken = createDeliveryHandler(h.runtime({ doc: undefined, dynamoConfig: { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 } }));
    const record = sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_down'));
    const result = await broken(sqsEvent(record), lambdaContext);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  });

  it('never logs a signing secret', async () => {
    const r = await receiver(respond(500));
    const w = await h.putWebhook({ accountId: 'acc_log', url: r.url });
    const firstLine = h.log.lines.length;
    await handler(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_log'))), lambdaContext);
    const secretBody = w.secret.slice('whsec_'.length);
    expect(h.log.lines.slice(firstLine).length).toBeGreaterThan(0); // this delivery logged (not only the tests before it)
    expect(h.log.lines.join('\n')).not.toContain(secretBody);
  });
});

describe('delivery handler: redriven events', () => {
  let h: Harness;
  let receiverA: Receiver;
  beforeAll(async () => {
    h = await startHarness();
    receiverA = await startReceiver();
  });
  afterAll(async () => {
    await receiverA.close();
    await h.close();
  });

  it('treats a message redriven from a DLQ as a redelivery: webhooks already served are not sent again', async () => {
    const handler = createDeliveryHandler(h.runtime());
    await h.putWebhook({ accountId: 'acc_redrive', url: receiverA.url });
    const event = eventBridgeEvent('NEW_VISIT', 'acc_redrive');
    await handler(sqsEvent(sqsRecord(event)), lambdaContext);
    expect(receiverA.requests).toHaveLength(1);
    const redriven = { ...sqsRecord(event, 1), messageAttributes: { redriven: { stringValue: 'true', dataType: 'String', stringListValues: [], binaryListValues: [] } } };
    const result = await handler(sqsEvent(redriven), lambdaContext);
    expect(result.batchItemFailures).toEqual([]);
    expect(receiverA.requests).toHaveLength(1);
  });
});
