import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { LocalKeyCipher } from '../../lambdas/shared/adapters/secret-cipher';
import { ENV, type EventType } from '../../lambdas/shared/contract';
import type { Webhook } from '../../lambdas/shared/domain/model';
import { createDeliveryRuntime, type DeliveryRuntime, type DeliveryRuntimeOverrides } from '../../lambdas/shared/composition/delivery-runtime';
import { ensureTables, LOCAL_AWS_CONFIG, type LocalDynamo, startDynalite, type TableNames } from '../../local/dynamo';
import { CollectingDeadLetters, CollectingRetryQueue, CountingMetrics, ManualClock, MemoryLog } from './fakes';
import { webhookFixture } from './webhook-fixture';

export const visitFixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/visit.json'), 'utf8')) as Record<string, unknown> & { id: string };

/** An EventBridge event as the rule hands it to SQS. */
export function eventBridgeEvent(eventType: EventType, accountId: string, data: Record<string, unknown> = visitFixture, id: string = randomUUID(), time = '2026-01-01T00:00:00Z') {
  return { version: '0', id, 'detail-type': eventType, source: 'tracking', account: '111122223333', time, region: 'us-east-1', resources: [], detail: { accountId, data } };
}

let messageCounter = 0;
export function sqsRecord(body: string | object, receiveCount = 1): SQSRecord {
  messageCounter++;
  return {
    messageId: `m-${messageCounter}`,
    receiptHandle: `rh-${messageCounter}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:events',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

export const lambdaContext: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'delivery',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:delivery',
  memoryLimitInMB: '512',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/delivery',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

export interface Harness {
  readonly dynamo: LocalDynamo;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: TableNames;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: ManualClock;
  readonly retryQueue: CollectingRetryQueue;
  readonly eventsDlq: CollectingDeadLetters;
  readonly failedSink: CollectingDeadLetters;
  readonly metrics: CountingMetrics;
  readonly log: MemoryLog;
  /** Builds a runtime (fresh caches) on the shared dynalite, tables and fakes. */
  runtime(overrides?: DeliveryRuntimeOverrides, env?: NodeJS.ProcessEnv): DeliveryRuntime;
  putWebhook(webhook: Partial<Webhook> & Pick<Webhook, 'accountId' | 'url'>): Promise<Webhook>;
  close(): Promise<void>;
}

/** dynalite with the stack's tables, plus in-memory queues and a manual clock. */
export async function startHarness(): Promise<Harness> {
  const dynamo = await startDynalite();
  const suffix = randomUUID().slice(0, 8);
  const tables: TableNames = { webhooks: `webhooks-${suffix}`, deliveries: `deliveries-${suffix}`, apiKeys: `apikeys-${suffix}` };
  await ensureTables(dynamo.client, tables);
  const doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  const env: NodeJS.ProcessEnv = {
    [ENV.webhooksTable]: tables.webhooks,
    [ENV.deliveriesTable]: tables.deliveries,
    [ENV.allowHttp]: 'true',
    [ENV.allowPrivateTargets]: 'true',
    [ENV.deliveryTimeoutMs]: '2000',
  };
  const clock = new ManualClock(Date.now());
  const retryQueue = new CollectingRetryQueue();
  const eventsDlq = new CollectingDeadLetters();
  const failedSink = new CollectingDeadLetters();
  const metrics = new CountingMetrics();
  const log = new MemoryLog();
  const runtimes: DeliveryRuntime[] = [];
  const cipher = new LocalKeyCipher(randomBytes(32));
  let counter = 0;
  return {
    dynamo,
    doc,
    tables,
    env,
    clock,
    retryQueue,
    eventsDlq,
    failedSink,
    metrics,
    log,
    runtime(overrides = {}, extraEnv = {}) {
      const runtime = createDeliveryRuntime(
        { ...env, ...extraEnv },
        { doc, retryQueue, eventsDlq, failedSink, clock, metrics, log, cipher, random: () => 0, dynamoConfig: { ...LOCAL_AWS_CONFIG, endpoint: dynamo.endpoint }, ...overrides },
      );
      runtimes.push(runtime);
      return runtime;
    },
    async putWebhook(partial) {
      counter++;
      const now = new Date(clock.now()).toISOString();
      const webhook = webhookFixture({ webhookId: `wh_test${counter}`, name: `hook ${counter}`, ...partial }, now);
      await doc.send(new PutCommand({ TableName: tables.webhooks, Item: webhook }));
      return webhook;
    },
    async close() {
      for (const r of runtimes) await r.sender.close();
      await dynamo.close();
    },
  };
}
