import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { VisitBatchPublisher } from '../../lambdas/shared/adapters/eventbridge-publisher';
import { batchVisitEventId } from '../../lambdas/shared/domain/events';
import type { Webhook } from '../../lambdas/shared/domain/model';
import { LOCAL_AWS_CONFIG } from '../../local/dynamo';
import { webhookFixture } from '../../local/harness/webhook-fixture';
import { visitFixture } from '../../local/lambda-events';
import { LOCAL_TABLES, type LocalStack, startLocalStack } from '../../local/stack';
import { eventually } from '../helpers/eventually';
import { receiverPool } from '../helpers/receiver';

/**
 * Batch entries (docs/design.md §4) through the local runtime: the real EventBridge client puts
 * an entry of N visits on the local bus, the rule routes it to the events queue, and the delivery
 * handler delivers each visit on its own.
 */
describe('batch entries on the local runtime', () => {
  const receivers = receiverPool();
  let stack: LocalStack;
  let client: EventBridgeClient;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, dataDir: ':memory:', env: {}, print: () => undefined });
    client = new EventBridgeClient({ ...LOCAL_AWS_CONFIG, endpoint: stack.url });
  });
  afterAll(async () => {
    client.destroy();
    await stack.close();
    await receivers.closeAll();
  });

  async function putWebhook(partial: Partial<Webhook> & Pick<Webhook, 'accountId' | 'url' | 'webhookId'>): Promise<Webhook> {
    const webhook = webhookFixture({ eventTypes: ['NEW_VISIT'], ...partial }, new Date().toISOString());
    await DynamoDBDocumentClient.from(stack.dynamo.client).send(new PutCommand({ TableName: LOCAL_TABLES.webhooks, Item: webhook }));
    return webhook;
  }

  it('an entry of N visits, one invalid, gives N-1 signed deliveries, each its own, and keeps the invalid one with its reason', async () => {
    const [a, b] = [await receivers.start(), await receivers.start()];
    const wa = await putWebhook({ accountId: 'acc_batch_a', webhookId: 'wh_a', url: a.url });
    const wb = await putWebhook({ accountId: 'acc_batch_b', webhookId: 'wh_b', url: b.url });
    const n = 6;
    const visits = Array.from({ length: n }, (_, i) => ({ accountId: i % 2 === 0 ? 'acc_batch_a' : 'acc_batch_b', data: { ...visitFixture, id: `batch-visit-${i}` } }));
    visits[3] = { accountId: 'acc_batch_b', data: { url: 'https://example.com/no-id' } as never };

    const out = await client.send(new PutEventsCommand({ Entries: [{ Source: 'tracking', DetailType: 'NEW_VISIT', Detail: JSON.stringify({ visits }) }] }));
    expect(out.FailedEntryCount).toBe(0);
    const entryId = out.Entries?.[0]?.EventId ?? '';

    await eventually(() => a.requests.length + b.requests.length, (count) => count === n - 1);
    const bodies = (r: typeof a, w: Webhook) => r.requests.map((req) => (new StandardWebhook(w.secret).verify(req.body, req.headers as Record<string, string>) as { id: string }).id);
    expect(bodies(a, wa).sort()).toEqual(['batch-visit-0', 'batch-visit-2', 'batch-visit-4']);
    expect(bodies(b, wb).sort()).toEqual(['batch-visit-1', 'batch-visit-5']);
    // Each visit is its own delivery: its own webhook-id, its own record.
    const ids = [...a.requests, ...b.requests].map((req) => req.headers['webhook-id']);
    expect(new Set(ids).size).toBe(n - 1);
    const recordsA = await eventually(() => stack.runtime.deliveries.list('acc_batch_a', 'wh_a', { limit: 10 }), (p) => p.items.length === 3 && p.items.every((d) => d.status === 'delivered'));
    expect(recordsA.items.map((d) => d.eventId).sort()).toEqual([0, 2, 4].map((i) => batchVisitEventId(entryId, i)));
    await eventually(() => stack.runtime.deliveries.list('acc_batch_b', 'wh_b', { limit: 10 }), (p) => p.items.length === 2 && p.items.every((d) => d.status === 'delivered'));

    const dead = await eventually(() => stack.queues.eventsDlq.peek(10), (d) => d.length === 1);
    expect(dead[0]!.attributes.reason).toMatch(/^detail\.visits\.3\.data\.id: /);
    expect(dead[0]!.attributes.visitIndex).toBe('3');
    expect(JSON.parse(dead[0]!.body)).toMatchObject({ id: batchVisitEventId(entryId, 3), 'detail-type': 'NEW_VISIT', detail: visits[3] });
    await eventually(() => stack.queues.events.size(), (size) => size === 0);
  });

  it('the batching publisher packs visits into one entry and every visit arrives', async () => {
    const r = await receivers.start();
    await putWebhook({ accountId: 'acc_batch_p', webhookId: 'wh_p', url: r.url });
    const publisher = new VisitBatchPublisher(client, { eventBusName: 'default', flushAfterMs: 60_000 });
    const sent = Array.from({ length: 12 }, (_, i) => publisher.publish({ eventType: 'NEW_VISIT', accountId: 'acc_batch_p', data: { ...visitFixture, id: `packed-${i}` } }));
    await publisher.close();
    const entryIds = await Promise.all(sent);
    expect(new Set(entryIds).size).toBe(1);
    expect(publisher.stats).toMatchObject({ visits: 12, entries: 1, requests: 1, failedVisits: 0 });
    await eventually(() => r.requests.length, (count) => count === 12);
    expect(r.requests.map((req) => (JSON.parse(req.body) as { id: string }).id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `packed-${i}`).sort());
  });
});
