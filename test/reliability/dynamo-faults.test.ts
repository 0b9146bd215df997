import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeliveryStore } from '../../lambdas/shared/adapters/dynamo-delivery-store';
import { LOCAL_TABLES, type LocalStack, startLocalStack } from '../../local/stack';
import { type Receiver, respond, startReceiver } from '../helpers/receiver';
import { DynamoFaults, eventually, printTally, publishVisits, putWebhook, type RecordView, sumTallies, tally, type Tally } from './support';

jest.setTimeout(60_000);

const ACCOUNTS = ['acc_ddb_1', 'acc_ddb_2', 'acc_ddb_3'];
const EVENTS_PER_ACCOUNT = 10;
/** Per account: three healthy endpoints and one that always answers 500. */
const HOOKS: ReadonlyArray<readonly [suffix: string, status: number]> = [
  ['a', 200],
  ['b', 200],
  ['c', 204],
  ['down', 500],
];

describe('DynamoDB throttling and 5xx during lookup (Query) and attempt recording (BatchWriteItem, UpdateItem)', () => {
  let stack: LocalStack;
  const receivers: Receiver[] = [];
  afterAll(async () => {
    await stack?.close();
    for (const r of receivers) await r.close();
  });

  it('loses nothing: every pair ends delivered (duplicates keep their webhook-id) or failed and dead-lettered', async () => {
    const started = Date.now();
    // The first three webhook lookups fail (each fails a whole batch), then a fifth of the
    // UpdateItem calls (failures, retries, fallbacks) and a third of the BatchWriteItem calls
    // (successes) fail at random, up to a budget: the run ends, and no message fails often enough
    // to reach its queue's DLQ.
    // Successes are a few BatchWriteItem calls now (one success item per webhook and flush), so half
    // of them fail; PutItem (an event's payload; a success item a batch could not write) fails too.
    const faults = new DynamoFaults({
      QueryCommand: { rate: 1, max: 3 },
      UpdateItemCommand: { rate: 0.2, max: 40 },
      BatchWriteItemCommand: { rate: 0.5, max: 12 },
      PutItemCommand: { rate: 0.1, max: 8 },
    });
    stack = await startLocalStack({
      port: 0,
      dataDir: ':memory:',
      print: () => undefined,
      configureDynamo: faults.install,
      env: {
        WEBHOOKS_RETRY_SCHEDULE: '1,1',
        WEBHOOKS_DELIVERY_TIMEOUT_MS: '5000',
        // The breaker off: the failing endpoints' deliveries follow the schedule to the DLQ, so
        // every path that writes to DynamoDB (retries, failures, fallbacks) meets the faults.
        WEBHOOKS_BREAKER_FAILURES: '0',
        // Two fast-lane consumers, as when this suite was written: its fault counts depend on the
        // order of BatchWriteItem calls, which eight concurrent invocations reshuffle.
        WEBHOOKS_LOCAL_FAST_LANE_CONCURRENCY: '2',
        // a record the handler failed reappears after 2 s instead of 3 minutes
        WEBHOOKS_LOCAL_VISIBILITY_TIMEOUT_SECONDS: '2',
      },
    });
    const hooks = new Map<string, Array<{ webhookId: string; receiver: Receiver; ok: boolean }>>();
    for (const accountId of ACCOUNTS) {
      const list = [];
      for (const [suffix, status] of HOOKS) {
        const receiver = await startReceiver(respond(status, status < 300 ? 'ok' : 'no'));
        receivers.push(receiver);
        const webhookId = `wh_${accountId.slice(-1)}${suffix}`;
        await putWebhook(stack, { accountId, webhookId, url: receiver.url });
        list.push({ webhookId, receiver, ok: status < 300 });
      }
      hooks.set(accountId, list);
    }

    faults.enabled = true;
    const eventIds = new Map<string, string[]>();
    for (const accountId of ACCOUNTS) {
      const half = EVENTS_PER_ACCOUNT / 2;
      eventIds.set(accountId, [...(await publishVisits(stack.url, accountId, half, `${accountId}_v`)), ...(await publishVisits(stack.url, accountId, half, `${accountId}_vr`, 'NEW_VISITOR'))]);
    }

    // Settled: nothing left on the events or retry queue (in flight or delayed) means no handler
    // will touch a delivery again.
    await eventually(
      () => ({ events: stack.queues.events.size(), retry: stack.queues.retry.size(), faults: faults.summary() }),
      (q) => q.events === 0 && q.retry === 0,
      45_000,
      'the events and retry queues drained',
    );
    faults.enabled = false;

    // Read with a client of our own: the handlers' client is the one that was failing.
    const store = new DynamoDeliveryStore(DynamoDBDocumentClient.from(stack.dynamo.client), LOCAL_TABLES.deliveries, 30);
    const dlq = stack.queues.failedDeliveries.peek(10_000);
    const parts: Tally[] = [];
    for (const accountId of ACCOUNTS) {
      const list = hooks.get(accountId) ?? [];
      const records = new Map<string, RecordView[]>();
      for (const { webhookId } of list) records.set(webhookId, (await store.list(accountId, webhookId, { limit: 100 })).items);
      const seen = list.map(({ webhookId, receiver, ok }) => ({ webhookId, seen: receiver.requests.map((q) => ({ webhookId: String(q.headers['webhook-id']), ok, at: q.at })) }));
      parts.push(tally(eventIds.get(accountId) ?? [], seen, records, dlq));
      // Every request carried the webhook-id of its pair, so duplicates are recognisable as such.
      for (const { webhookId, receiver } of list) {
        const ids = new Set((records.get(webhookId) ?? []).map((x) => x.deliveryId));
        for (const q of receiver.requests) expect(ids.has(String(q.headers['webhook-id']))).toBe(true);
      }
    }
    const t = sumTallies(parts);
    printTally('DynamoDB faults', t, {
      accounts: ACCOUNTS.length,
      'Query faults / calls': `${faults.total('QueryCommand')} / ${faults.callCount('QueryCommand')}`,
      'UpdateItem faults / calls': `${faults.total('UpdateItemCommand')} / ${faults.callCount('UpdateItemCommand')}`,
      'BatchWriteItem faults / calls': `${faults.total('BatchWriteItemCommand')} / ${faults.callCount('BatchWriteItemCommand')}`,
      'PutItem faults / calls': `${faults.total('PutItemCommand')} / ${faults.callCount('PutItemCommand')}`,
      kinds: faults.summary(),
      'wall time (s)': ((Date.now() - started) / 1000).toFixed(1),
    });

    // The faults really reached our code (not absorbed by SDK retries): every command, throttling and 5xx.
    expect(faults.total('QueryCommand')).toBe(3);
    expect(faults.total('UpdateItemCommand')).toBeGreaterThan(10);
    expect(faults.total('BatchWriteItemCommand')).toBeGreaterThanOrEqual(1);
    expect(faults.total('PutItemCommand')).toBeGreaterThanOrEqual(1);
    for (const name of ['ProvisionedThroughputExceededException', 'ThrottlingException', 'InternalServerError']) expect(faults.summary()).toContain(name);
    expect(faults.attemptsSeen.length).toBe(faults.total());
    expect(new Set(faults.attemptsSeen)).toEqual(new Set([1]));

    const events = ACCOUNTS.length * EVENTS_PER_ACCOUNT;
    expect(t.lostPairs).toEqual([]);
    expect(t.lost).toBe(0);
    expect(t.stray).toBe(0);
    expect(t.delivered).toBe(3 * events);
    expect(t.failedInDlq).toBe(events);
    expect(stack.queues.eventsDlq.size()).toBe(0);
    expect(stack.queues.retryDlq.size()).toBe(0);
  });
});
