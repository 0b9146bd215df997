import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { LOCAL_AWS_CONFIG } from '../../local/dynamo';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord } from '../../local/lambda-events';
import { type Harness, startHarness } from '../../local/harness/harness';
import { type Receiver, startReceiver } from '../helpers/receiver';

/**
 * First attempts that succeed are recorded together at the end of the invocation
 * (BatchWriteItem), and a success that cannot be recorded fails its message so SQS redelivers it.
 */
describe('delivery handler: the attempt log of a batch is written together (dynalite)', () => {
  let h: Harness;
  let r: Receiver;
  beforeAll(async () => {
    h = await startHarness();
    r = await startReceiver();
  });
  beforeEach(() => {
    r.reset(); // each test sees only the requests it caused
  });
  afterAll(async () => {
    await r.close();
    await h.close();
  });

  /** A DocumentClient on the same dynalite that counts commands and can fail chosen ones. */
  function countingDoc(fail: (command: string) => boolean = () => false) {
    const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: h.dynamo.endpoint, maxAttempts: 1 });
    const calls: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? '';
        // The attempt log's calls only: the statistics' one ADD per webhook is test/api/stats.test.ts's business.
        if ((args.input as { TableName?: string }).TableName !== h.tables.stats) calls.push(name);
        if (fail(name)) throw Object.assign(new Error(`injected: ${name}`), { name: 'InternalServerError', $fault: 'server' });
        return next(args);
      },
      { step: 'initialize', name: 'countAndFail' },
    );
    return { doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), calls };
  }

  it('records 30 first-attempt successes of three webhooks as three success items in one BatchWriteItem, and no UpdateItem', async () => {
    for (let i = 0; i < 3; i++) await h.putWebhook({ accountId: 'acc_batch', url: r.url });
    const { doc, calls } = countingDoc();
    const handler = createDeliveryHandler(h.runtime({ doc }));
    const records = Array.from({ length: 10 }, () => sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_batch')));
    const result = await handler(sqsEvent(...records), lambdaContext);

    expect(result.batchItemFailures).toEqual([]);
    expect(r.requests.length).toBe(30);
    expect(calls.filter((c) => c === 'BatchWriteItemCommand')).toHaveLength(1); // one item per webhook (and minute): 3 of 25
    expect(calls.filter((c) => c === 'UpdateItemCommand' || c === 'PutItemCommand')).toHaveLength(0);
    const reader = h.runtime();
    const webhookIds = (await reader.webhooks.listByAccount('acc_batch')).map((w) => w.webhookId);
    for (const q of r.requests) {
      const id = String(q.headers['webhook-id']);
      const found = await Promise.all(webhookIds.map((w) => reader.deliveries.get('acc_batch', w, id)));
      const record = found.find((x) => x !== undefined);
      expect(record).toMatchObject({ status: 'delivered', attemptCount: 1, lastStatusCode: 200, eventType: 'NEW_VISIT' });
      expect(record?.attempts).toHaveLength(1);
      expect(record?.attempts[0]).toMatchObject({ ok: true, trigger: 'event', statusCode: 200 });
      expect(record).not.toHaveProperty('payload');
    }
  });

  it('records the same event received twice in one batch once (a batch write may not repeat a key)', async () => {
    const w = await h.putWebhook({ accountId: 'acc_twice', url: r.url });
    const { doc } = countingDoc();
    const handler = createDeliveryHandler(h.runtime({ doc }));
    const event = eventBridgeEvent('NEW_VISIT', 'acc_twice');
    const result = await handler(sqsEvent(sqsRecord(event), sqsRecord(event)), lambdaContext);
    expect(result.batchItemFailures).toEqual([]);
    const sent = r.requests;
    expect(sent).toHaveLength(2);
    expect(sent[0]!.headers['webhook-id']).toBe(sent[1]!.headers['webhook-id']);
    const page = await h.runtime().deliveries.list('acc_twice', w.webhookId, { limit: 10 });
    expect(page.items.map((x) => x.status)).toEqual(['delivered']);
  });

  it('falls back to one PutItem per success item when BatchWriteItem fails', async () => {
    const w = await h.putWebhook({ accountId: 'acc_fallback', url: r.url });
    const { doc, calls } = countingDoc((c) => c === 'BatchWriteItemCommand');
    const handler = createDeliveryHandler(h.runtime({ doc }));
    const result = await handler(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_fallback')), sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_fallback'))), lambdaContext);
    expect(result.batchItemFailures).toEqual([]);
    expect(calls.filter((c) => c === 'BatchWriteItemCommand')).toHaveLength(1);
    expect(calls.filter((c) => c === 'PutItemCommand')).toHaveLength(1); // both deliveries are in one item
    expect(calls.filter((c) => c === 'UpdateItemCommand')).toHaveLength(0);
    const page = await h.runtime().deliveries.list('acc_fallback', w.webhookId, { limit: 10 });
    expect(page.items.map((x) => x.status)).toEqual(['delivered', 'delivered']);
  });

  it('fails only the messages whose success could not be recorded; their redelivery sends again with the same webhook-id', async () => {
    const w = await h.putWebhook({ accountId: 'acc_unrecorded', url: r.url });
    let broken = true;
    const { doc } = countingDoc((c) => broken && (c === 'BatchWriteItemCommand' || c === 'PutItemCommand'));
    const handler = createDeliveryHandler(h.runtime({ doc }));
    const event = eventBridgeEvent('NEW_VISIT', 'acc_unrecorded');
    const record = sqsRecord(event);
    const firstLine = h.log.lines.length;

    const first = await handler(sqsEvent(record), lambdaContext);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(h.log.lines.slice(firstLine).join('\n')).toContain('delivered but not recorded');

    broken = false;
    const second = await handler(sqsEvent(sqsRecord(event, 2)), lambdaContext);
    expect(second.batchItemFailures).toEqual([]);
    const sent = r.requests;
    expect(sent).toHaveLength(2);
    expect(sent[1]!.headers['webhook-id']).toBe(sent[0]!.headers['webhook-id']);
    const stored = await h.runtime().deliveries.get('acc_unrecorded', w.webhookId, String(sent[0]!.headers['webhook-id']));
    expect(stored?.status).toBe('delivered');
  });
});
