/**
 * The measured process. `handler` mode runs the real delivery handler (createDeliveryHandler on
 * createDeliveryRuntime, Powertools logger and metrics included, as in Lambda) on batches of SQS
 * records; `limit` mode sends the same bodies with raw undici keep-alive POSTs and one HMAC each,
 * at the same concurrency. CPU time is this process's own (`process.cpuUsage()` deltas): the
 * receiver and dynalite run in other processes. stdout (the handler's logs) goes to the parent,
 * which counts and discards it.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { Agent, request } from 'undici';
import { createDeliveryHandler } from '../lambdas/delivery/app';
import { LocalKeyCipher } from '../lambdas/shared/adapters/secret-cipher';
import { DEFAULTS, DELIVERY_HEADERS, ENV, USER_AGENT } from '../lambdas/shared/contract';
import type { Webhook } from '../lambdas/shared/domain/model';
import { createDeliveryRuntime } from '../lambdas/shared/composition/delivery-runtime';
import { secretKey } from '../lambdas/shared/domain/signing';
import { CollectingDeadLetters, CollectingRetryQueue } from '../local/harness/fakes';
import { webhookFixture } from '../local/harness/webhook-fixture';
import { serveCommands } from './ipc';

export type SubjectMode = 'handler' | 'handler-stub-dynamo' | 'limit';

export interface SubjectSpec {
  readonly mode: SubjectMode;
  /** One URL per webhook of the account (the fan-out). */
  readonly urls: string[];
  readonly secrets: string[];
  readonly batchSize: number;
  readonly payload: Record<string, unknown>;
  /** Visits per queue record: 1, single events; more, batch entries (`detail.visits`, docs/design.md §4). @default 1 */
  readonly visitsPerRecord?: number;
  readonly dynamo?: { readonly endpoint: string; readonly webhooksTable: string; readonly deliveriesTable: string };
}

export interface RunRequest {
  readonly batches: number;
  readonly warmupBatches: number;
}

export interface RunResult {
  readonly deliveries: number;
  readonly wallMs: number;
  readonly cpuMicros: number;
  readonly cpuUserMicros: number;
  readonly cpuSystemMicros: number;
  /** Peak RSS of this process so far (getrusage), KiB. */
  readonly maxRssKiB: number;
  /** Peak RSS sampled every 20 ms during the measured window, KiB. */
  readonly windowRssKiB: number;
  readonly heapUsedKiB: number;
  readonly failures: number;
  readonly retriesScheduled: number;
}

const ACCOUNT = 'acct_bench';
const CREDENTIALS = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } as const;

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'delivery',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:delivery',
  memoryLimitInMB: '512',
  awsRequestId: 'bench',
  logGroupName: '/aws/lambda/delivery',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

let messageCounter = 0;

/** An events-queue record as the EventBridge rule puts it on SQS (what Lambda hands the handler): one visit, or a batch entry of `visits`. */
function record(payload: Record<string, unknown>, visits = 1): SQSRecord {
  messageCounter++;
  const now = Date.now();
  const detail = visits === 1 ? { accountId: ACCOUNT, data: payload } : { visits: Array.from({ length: visits }, (_, i) => ({ accountId: ACCOUNT, data: { ...payload, id: `${String(payload.id)}-${i}` } })) };
  const body = JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': 'NEW_VISIT',
    source: 'tracking',
    account: '111122223333',
    time: new Date(now).toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  });
  return {
    messageId: `m-${messageCounter}`,
    receiptHandle: `rh-${messageCounter}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(now), SenderId: 'bench', ApproximateFirstReceiveTimestamp: String(now) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:events',
    awsRegion: 'us-east-1',
  };
}

function webhooksFor(spec: SubjectSpec): Webhook[] {
  const now = new Date().toISOString();
  return spec.urls.map((url, i) =>
    webhookFixture({ accountId: ACCOUNT, webhookId: `wh_bench${String(i).padStart(2, '0')}`, name: `bench ${i}`, url, secret: spec.secrets[i] as string }, now),
  );
}

async function setupHandler(spec: SubjectSpec): Promise<{ runBatch(): Promise<{ failures: number }>; retries(): number }> {
  const webhooks = webhooksFor(spec);
  const retryQueue = new CollectingRetryQueue();
  // Secrets are stored encrypted (lambdas/shared/adapters/secret-cipher.ts); the local-key cipher
  // stands in for KMS, whose data key the Lambda decrypts once per container.
  const secretsKey = randomBytes(32);
  const cipher = new LocalKeyCipher(secretsKey);
  let doc: DynamoDBDocumentClient | undefined;
  let env: NodeJS.ProcessEnv;
  if (spec.mode === 'handler') {
    const dynamo = spec.dynamo;
    if (!dynamo) throw new Error('handler mode needs dynalite');
    const seed = DynamoDBDocumentClient.from(new DynamoDBClient({ ...CREDENTIALS, endpoint: dynamo.endpoint }));
    for (const item of webhooks) {
      const secret = await cipher.encrypt(item.secret, `${item.accountId}/${item.webhookId}`);
      await seed.send(new PutCommand({ TableName: dynamo.webhooksTable, Item: { ...item, secret } }));
    }
    seed.destroy();
    env = { [ENV.webhooksTable]: dynamo.webhooksTable, [ENV.deliveriesTable]: dynamo.deliveriesTable };
  } else {
    // Diagnostic: the same handler with DynamoDB answered in memory (no attempt-log round trip).
    doc = {
      send: async (command: unknown) => (command instanceof QueryCommand ? { Items: webhooks.map((w) => ({ ...w })) } : {}),
    } as unknown as DynamoDBDocumentClient;
    env = { [ENV.webhooksTable]: 'stub-webhooks', [ENV.deliveriesTable]: 'stub-deliveries' };
  }
  const runtime = createDeliveryRuntime(
    { ...env, [ENV.allowHttp]: 'true', [ENV.allowPrivateTargets]: 'true', [ENV.secretsKey]: secretsKey.toString('base64') },
    {
      ...(doc ? { doc } : { dynamoConfig: { ...CREDENTIALS, endpoint: spec.dynamo?.endpoint } }),
      retryQueue,
      eventsDlq: new CollectingDeadLetters(),
      failedSink: new CollectingDeadLetters(),
    },
  );
  const handler = createDeliveryHandler(runtime);
  return {
    runBatch: async () => {
      const records: SQSRecord[] = [];
      for (let i = 0; i < spec.batchSize; i++) records.push(record(spec.payload, spec.visitsPerRecord ?? 1));
      const event: SQSEvent = { Records: records };
      const response = await handler(event, context);
      return { failures: response.batchItemFailures.length };
    },
    retries: () => retryQueue.sent.length,
  };
}

/**
 * The limit: what a minimal sender does for the same deliveries. Same bodies, same header set,
 * one HMAC-SHA256 each, an undici keep-alive Agent with the sender's pool settings, and the same
 * number of requests in flight as a handler batch (batch size × fan-out), as a closed loop: no
 * batch barrier, no event validation, no attempt log, no logging.
 */
function createLimitSender(spec: SubjectSpec): { burst(total: number): Promise<void>; failures(): number } {
  const agent = new Agent({
    connections: 10,
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 60_000,
    headersTimeout: DEFAULTS.deliveryTimeoutMs,
    bodyTimeout: DEFAULTS.deliveryTimeoutMs,
  });
  const keys = spec.secrets.map((s) => secretKey(s));
  const body = JSON.stringify(spec.payload);
  const urls = spec.urls.map((u) => new URL(u));
  const inFlight = spec.batchSize * spec.urls.length;
  let counter = 0;
  let failures = 0;
  const post = async (target: number): Promise<void> => {
    const id = `msg_${++counter}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = `v1,${createHmac('sha256', keys[target] as Buffer).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
    const res = await request(urls[target] as URL, {
      method: 'POST',
      dispatcher: agent,
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        [DELIVERY_HEADERS.id]: id,
        [DELIVERY_HEADERS.timestamp]: String(timestamp),
        [DELIVERY_HEADERS.signature]: signature,
        [DELIVERY_HEADERS.legacySignature]: signature,
        [DELIVERY_HEADERS.event]: 'NEW_VISIT',
      },
    });
    await res.body.text();
    if (res.statusCode !== 200) failures++;
  };
  return {
    async burst(total: number): Promise<void> {
      let left = total;
      const worker = async (w: number): Promise<void> => {
        while (left > 0) {
          left--;
          await post(w % urls.length);
        }
      };
      await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
    },
    failures: () => failures,
  };
}

/** Runs `body` inside a measured window: CPU (this process), wall time and RSS. */
async function measure(deliveries: number, failuresOf: () => number, retriesOf: () => number, body: () => Promise<void>): Promise<RunResult> {
  const failures0 = failuresOf();
  const retries0 = retriesOf();
  let windowRss = 0;
  const sampler = setInterval(() => (windowRss = Math.max(windowRss, process.memoryUsage.rss())), 20);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  windowRss = Math.max(windowRss, process.memoryUsage.rss());
  return {
    deliveries,
    wallMs,
    cpuMicros: cpu.user + cpu.system,
    cpuUserMicros: cpu.user,
    cpuSystemMicros: cpu.system,
    maxRssKiB: process.resourceUsage().maxRSS,
    windowRssKiB: Math.round(windowRss / 1024),
    heapUsedKiB: Math.round(process.memoryUsage().heapUsed / 1024),
    failures: failuresOf() - failures0,
    retriesScheduled: retriesOf() - retries0,
  };
}

async function main(): Promise<void> {
  let run: ((request: RunRequest) => Promise<RunResult>) | undefined;
  serveCommands({ pid: process.pid }, {
    setup: async (payload) => {
      const spec = payload as SubjectSpec;
      const perBatch = spec.batchSize * (spec.visitsPerRecord ?? 1) * spec.urls.length;
      if (spec.mode === 'limit') {
        const sender = createLimitSender(spec);
        run = async ({ batches, warmupBatches }) => {
          await sender.burst(warmupBatches * perBatch);
          return measure(batches * perBatch, sender.failures, () => 0, () => sender.burst(batches * perBatch));
        };
      } else {
        const subject = await setupHandler(spec);
        let failures = 0;
        run = async ({ batches, warmupBatches }) => {
          for (let b = 0; b < warmupBatches; b++) await subject.runBatch();
          return measure(batches * perBatch, () => failures, subject.retries, async () => {
            for (let b = 0; b < batches; b++) failures += (await subject.runBatch()).failures;
          });
        };
      }
      return true;
    },
    run: (payload) => {
      if (!run) throw new Error('setup first');
      return run(payload as RunRequest);
    },
  });
}

void main();
