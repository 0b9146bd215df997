import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LocalKeyCipher } from '../../lambdas/shared/adapters/secret-cipher';
import { ENV } from '../../lambdas/shared/contract';
import type { Webhook } from '../../lambdas/shared/domain/model';
import { createDeliveryRuntime, type DeliveryRuntime, type DeliveryRuntimeOverrides } from '../../lambdas/shared/composition/delivery-runtime';
import { ensureTables, LOCAL_AWS_CONFIG, type LocalDynamo, startDynalite, type TableNames } from '../dynamo';
import { CollectingDeadLetters, CollectingRetryQueue, CountingMetrics, ManualClock, MemoryLog } from './fakes';
import { Reconciler } from '../../lambdas/shared/domain/reconciler';
import type { DueSweep } from './retry-driver';
import { webhookFixture } from './webhook-fixture';

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
  /** The reconciler's due sweep on the harness (its queue and clock), for `driveRetries`. */
  dueSweep(): DueSweep;
  close(): Promise<void>;
}

/**
 * The in-process harness: the real delivery runtime on dynalite with the stack's tables, plus
 * in-memory queues and a manual clock. The tests drive the handlers on it, and so does the cost
 * model (`npm run cost`) to count what a delivery reads, writes and sends.
 */
export async function startHarness(): Promise<Harness> {
  const dynamo = await startDynalite();
  const suffix = randomUUID().slice(0, 8);
  const tables: TableNames = { webhooks: `webhooks-${suffix}`, deliveries: `deliveries-${suffix}`, stats: `stats-${suffix}`, apiKeys: `apikeys-${suffix}` };
  await ensureTables(dynamo.client, tables);
  const doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  const env: NodeJS.ProcessEnv = {
    [ENV.webhooksTable]: tables.webhooks,
    [ENV.deliveriesTable]: tables.deliveries,
    [ENV.statsTable]: tables.stats,
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
  const harness: Harness = {
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
    dueSweep() {
      const runtime = harness.runtime();
      const reconciler = new Reconciler({ ...runtime, everySeconds: 60, settings: runtime.service.settings });
      return {
        next: async () => {
          const [first] = await runtime.deliveries.listDue('9999-12-31T00:00:00.000Z', 1);
          return first?.sweepAt ? Date.parse(first.sweepAt) : undefined;
        },
        run: async () => {
          await reconciler.tick();
        },
      };
    },
    async close() {
      for (const r of runtimes) await r.sender.close();
      await dynamo.close();
    },
  };
  return harness;
}
