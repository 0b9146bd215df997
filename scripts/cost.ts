/**
 * `npm run cost`: monthly AWS cost of the webhook pipeline on list prices, per service, and per
 * million deliveries.
 *
 *   npm run cost                                   the issue's reference case (10 M events, fan-out 1, 1.5 KB, 1 % failing)
 *   npm run cost -- --region eu-west-1 --events 50000000 --fan-out 3 --payload-kb 4 --failure-rate 0.02
 *   npm run cost -- --failure-mode recover         failing deliveries succeed at their first retry (default: exhaust the schedule)
 *   npm run cost -- --retention-days 90 --log-retention-days 30   attempt log and CloudWatch Logs retention (default: the stack's)
 *   npm run cost -- --json                         machine-readable
 *
 * Nothing here is a guess that the code could answer instead:
 * - the configuration comes from the synthesized stack (memory, architecture, batch size and
 *   window, log retention, retry schedule, attempt-log TTL, alarms, keys);
 * - what a delivery reads and writes comes from running the real delivery and retry handlers
 *   (Powertools logging included) on dynalite with a fake HTTP sender, counting every DynamoDB
 *   call with its consumed capacity, every SQS message and every log byte;
 * - CPU per delivery comes from `npm run bench` (bench/results.json) when present.
 * What remains (endpoint latency, batch fill, accounts) is an assumption, printed with the result.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { CfnElement } from 'aws-cdk-lib';
import { logger, metricSink } from '../lambdas/shared/adapters/powertools';
import { createDeliveryHandler } from '../lambdas/delivery/app';
import { createRetryHandler } from '../lambdas/retry/app';
import { DEFAULTS, PIPELINE } from '../lambdas/shared/contract';
import type { RetryMessage } from '../lambdas/shared/domain/messages';
import { deliveryIdFor } from '../lambdas/shared/domain/model';
import { buildApp, cdkJsonContext } from '../lib/build-app';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord } from '../local/lambda-events';
import { startHarness } from '../local/harness/harness';
import { driveRetries } from '../local/harness/retry-driver';
import { benchPayload } from '../bench/payload';
import type { RetryQueue, HttpSender, SendRequest, SendResult } from '../lambdas/shared/domain/ports';

const ROOT = resolve(__dirname, '..');
const SECONDS_PER_MONTH = 730 * 3600;
const DAYS_PER_MONTH = 730 / 24;
const TARGET_PER_MILLION = 2.0;

// ---------------------------------------------------------------------------------------------
// Inputs

const { values: args } = parseArgs({
  options: {
    region: { type: 'string', default: 'us-east-1' },
    events: { type: 'string', default: '10000000' },
    'fan-out': { type: 'string', default: '1' },
    'payload-kb': { type: 'string', default: '1.5' },
    'failure-rate': { type: 'string', default: '0.01' },
    'failure-mode': { type: 'string', default: 'exhaust' },
    'retention-days': { type: 'string' },
    'log-retention-days': { type: 'string' },
    'endpoint-ms': { type: 'string', default: '200' },
    'failing-endpoint-ms': { type: 'string' },
    'aws-call-ms': { type: 'string', default: '8' },
    accounts: { type: 'string', default: '1000' },
    'batch-fill': { type: 'string' },
    'cpu-factor': { type: 'string', default: '1' },
    'free-tier': { type: 'boolean', default: false },
    bench: { type: 'string', default: join(ROOT, 'bench', 'results.json') },
    prices: { type: 'string', default: join(ROOT, 'bench', 'prices.json') },
    json: { type: 'boolean', default: false },
  },
});

/** A usage error: the message, no stack trace, exit code 2. */
function usage(message: string): never {
  console.error(`npm run cost: ${message}`);
  process.exit(2);
}

function num(name: keyof typeof args, min = 0): number {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < min) usage(`--${name} must be a number ≥ ${min}, got ${String(args[name])}`);
  return value;
}

const input = {
  region: args.region as string,
  eventsPerMonth: num('events', 1),
  fanOut: num('fan-out', 0.01),
  payloadBytes: Math.round(num('payload-kb', 0.01) * 1024),
  failureRate: num('failure-rate'),
  failureMode: args['failure-mode'] as 'exhaust' | 'recover',
  endpointMs: num('endpoint-ms'),
  failingEndpointMs: args['failing-endpoint-ms'] !== undefined ? num('failing-endpoint-ms') : num('endpoint-ms'),
  awsCallMs: num('aws-call-ms'),
  accounts: num('accounts', 1),
  cpuFactor: num('cpu-factor', 0.01),
  freeTier: args['free-tier'] as boolean,
};
if (input.failureRate > 1) usage('--failure-rate is a fraction (0.01 = 1 %)');
if (input.failureMode !== 'exhaust' && input.failureMode !== 'recover') usage('--failure-mode is exhaust or recover');

// ---------------------------------------------------------------------------------------------
// Prices

interface RegionPrices {
  name: string;
  verified: string;
  lambda: { requestsPerMillion: number; gbSecondArm64: number; gbSecondX86: number };
  sqs: { standardRequestsPerMillion: number; billedChunkBytes: number };
  eventbridge: { customEventsPerMillion: number; billedChunkBytes: number };
  dynamodb: { onDemandWritePerMillion: number; onDemandReadPerMillion: number; storageGbMonth: number; pitrGbMonth: number };
  cloudwatch: { logsIngestionPerGb: number; logsStoragePerGbMonth: number; customMetricMonth: number; standardAlarmMonth: number };
  kms: { keyMonth: number; requestsPer10k: number };
  dataTransfer: { internetOutPerGb: number };
}

interface PriceTable {
  dated: string;
  basis: string;
  regions: Record<string, RegionPrices>;
  freeTier: Record<string, number | string>;
  assumptions: { lambdaFullVcpuAtMb: number; dynamodbStorageOverheadBytesPerItem: number; logsCompressionRatio: number };
}

const priceTable = JSON.parse(readFileSync(args.prices as string, 'utf8')) as PriceTable;
function regionPrices(region: string): RegionPrices {
  const found = priceTable.regions[region];
  if (!found) usage(`no prices for region ${region} in ${String(args.prices)}; known: ${Object.keys(priceTable.regions).join(', ')}`);
  return found;
}
const prices = regionPrices(input.region);

// ---------------------------------------------------------------------------------------------
// The stack's configuration, read from the synthesized template

interface FunctionFacts {
  readonly memoryMb: number;
  readonly architecture: 'arm64' | 'x86_64';
  readonly timeoutSeconds: number;
  readonly batchSize: number;
  readonly batchingWindowSeconds: number;
  readonly maxConcurrency?: number;
  readonly logRetentionDays: number;
}

interface StackFacts {
  readonly delivery: FunctionFacts;
  readonly retry: FunctionFacts;
  readonly retryScheduleSeconds: number[];
  readonly attemptLogRetentionDays: number;
  readonly alarms: number;
  readonly kmsKeys: number;
  readonly queues: number;
  readonly tables: number;
  readonly pitrTables: number;
  readonly inVpc: boolean;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

function readStack(): StackFacts {
  // Exactly what `cdk synth` builds (cdk.json context), minus the esbuild bundling.
  const { app, stack } = buildApp({ nag: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, Resource> };
  const resources = template.Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const logicalId = (element: unknown) => stack.getLogicalId(element as CfnElement);
  const facts = (fnElement: unknown): FunctionFacts => {
    const id = logicalId(fnElement);
    const fn = resources[id]?.Properties ?? {};
    const mapping = ofType('AWS::Lambda::EventSourceMapping').find(([, r]) => (r.Properties?.FunctionName as { Ref?: string })?.Ref === id)?.[1].Properties ?? {};
    const logGroupId = ((fn.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup?.Ref ?? '') as string;
    const retention = resources[logGroupId]?.Properties?.RetentionInDays;
    return {
      memoryMb: Number(fn.MemorySize ?? 128),
      architecture: ((fn.Architectures as string[] | undefined)?.[0] ?? 'x86_64') as 'arm64' | 'x86_64',
      timeoutSeconds: Number(fn.Timeout ?? 3),
      batchSize: Number(mapping.BatchSize ?? 10),
      batchingWindowSeconds: Number(mapping.MaximumBatchingWindowInSeconds ?? 0),
      ...((mapping.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency !== undefined
        ? { maxConcurrency: (mapping.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency }
        : {}),
      logRetentionDays: retention === undefined ? 3650 : Number(retention),
    };
  };
  const deliveryId = logicalId(stack.pipeline.deliveryFunction.node.defaultChild);
  const env = ((resources[deliveryId]?.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {}) as Record<string, string>;
  const tables = ofType('AWS::DynamoDB::Table');
  return {
    delivery: facts(stack.pipeline.deliveryFunction.node.defaultChild),
    retry: facts(stack.pipeline.retryFunction.node.defaultChild),
    retryScheduleSeconds: (env.WEBHOOKS_RETRY_SCHEDULE ?? DEFAULTS.retryScheduleSeconds.join(',')).split(',').map(Number),
    attemptLogRetentionDays: Number(env.WEBHOOKS_DELIVERY_RETENTION_DAYS ?? DEFAULTS.deliveryRetentionDays),
    alarms: ofType('AWS::CloudWatch::Alarm').length,
    kmsKeys: ofType('AWS::KMS::Key').length,
    queues: ofType('AWS::SQS::Queue').length,
    tables: tables.length,
    pitrTables: tables.filter(([, r]) => (r.Properties?.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean } | undefined)?.PointInTimeRecoveryEnabled).length,
    inVpc: ofType('AWS::Lambda::Function').some(([, r]) => r.Properties?.VpcConfig !== undefined),
  };
}

// ---------------------------------------------------------------------------------------------
// What one delivery reads, writes, sends and logs: the real handlers on dynalite

interface Ops {
  /** DynamoDB calls by table kind and command, with capacity units. */
  dynamo: Map<string, { calls: number; units: number }>;
  sqsMessages: number;
  sqsBytes: number;
  /** Retry-queue messages consumed (hops and due attempts): each is a retry-function record. */
  retryRecords: number;
  hops: number;
  httpAttempts: number;
  httpBytesOut: number;
  logBytes: number;
  logLines: number;
  /** Size of the delivery's item at the end (DynamoDB item-size rules, before the 100-byte overhead). */
  finalItemBytes: number;
}

const emptyOps = (): Ops => ({
  dynamo: new Map(),
  sqsMessages: 0,
  sqsBytes: 0,
  retryRecords: 0,
  hops: 0,
  httpAttempts: 0,
  httpBytesOut: 0,
  logBytes: 0,
  logLines: 0,
  finalItemBytes: 0,
});

/** DynamoDB's item size: attribute names and values in UTF-8, numbers ~1 byte per 2 digits, +3 per list/map. */
export function itemSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').replace(/^0+/, '').length / 2) + 1;
  if (Buffer.isBuffer(value)) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + itemSize(v), 0);
  return 3 + Object.entries(value as Record<string, unknown>).reduce((n, [k, v]) => n + Buffer.byteLength(k) + 1 + itemSize(v), 0);
}

function topLevelItemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + itemSize(v), 0);
}

class ScriptedSender implements HttpSender {
  attempts = 0;
  bytesOut = 0;
  constructor(private readonly outcome: (attempt: number) => SendResult) {}
  async send(req: SendRequest): Promise<SendResult> {
    this.attempts++;
    // Request line, Host, Content-Length and the headers, then the body, as sent on the wire.
    const url = new URL(req.url);
    const head = `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-length: ${Buffer.byteLength(req.body)}\r\n` + Object.entries(req.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
    this.bytesOut += Buffer.byteLength(head) + Buffer.byteLength(req.body);
    return this.outcome(this.attempts);
  }
  async close(): Promise<void> {}
}

const OK: SendResult = { ok: true, statusCode: 200, durationMs: 120, responseSnippet: '{"received":true}' };
/** A failing endpoint answers an error page; the attempt log keeps up to 512 bytes of it. */
const FAILED: SendResult = { ok: false, statusCode: 503, durationMs: 150, errorKind: 'http', error: 'HTTP 503', responseSnippet: `<html><body>${'Service Unavailable '.repeat(30)}</body></html>`.slice(0, 512) };

interface Simulation {
  /** Per successful delivery, warm cache. */
  success: Ops;
  /** Per failing delivery (the chosen failure mode), with its retries, hops and dead-lettering. */
  failing: Ops;
  /** The webhook list read on a cache miss. */
  cacheMissQuery: { units: number };
  /** Log bytes per invocation (Powertools context, EMF metrics flush), beyond the per-record lines. */
  logBytesPerInvocation: number;
  retryHops: number;
  retryAttempts: number;
}

async function simulate(payloadBytes: number, fanOutForQuery: number): Promise<Simulation> {
  const h = await startHarness();
  const ops = { current: emptyOps() };
  // Count every DynamoDB call with the capacity dynalite charges (max of the item before and after, as DynamoDB does).
  h.doc.middlewareStack.add(
    (next, context) => async (callArgs) => {
      const cmdInput = callArgs.input as Record<string, unknown>;
      cmdInput.ReturnConsumedCapacity = 'TOTAL';
      const out = await next(callArgs);
      // Single-item calls name one table and return one ConsumedCapacity; batch calls (BatchWriteItem)
      // name their tables in RequestItems and return a list.
      const table = String(cmdInput.TableName ?? Object.keys((cmdInput.RequestItems as Record<string, unknown> | undefined) ?? {})[0] ?? '');
      const kind = table === h.tables.webhooks ? 'webhooks' : table === h.tables.deliveries ? 'deliveries' : 'other';
      const capacity = (out.output as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> }).ConsumedCapacity;
      const consumed = Array.isArray(capacity) ? capacity.reduce((n, c) => n + (c.CapacityUnits ?? 0), 0) : (capacity?.CapacityUnits ?? 0);
      const key = `${kind} ${String(context.commandName).replace(/Command$/, '')}`;
      const entry = ops.current.dynamo.get(key) ?? { calls: 0, units: 0 };
      entry.calls++;
      entry.units += consumed;
      ops.current.dynamo.set(key, entry);
      return out;
    },
    { step: 'initialize', name: 'costModelCounter' },
  );
  const counting: RetryQueue = {
    enqueue: async (message: RetryMessage, delaySeconds: number) => {
      ops.current.sqsMessages++;
      ops.current.sqsBytes += Buffer.byteLength(JSON.stringify(message));
      await h.retryQueue.enqueue(message, delaySeconds);
    },
  };
  // The handlers' stdout and stderr (Powertools logs, EMF metrics, warnings) are what CloudWatch Logs
  // ingests: count them, don't print them.
  const realStdout = process.stdout.write.bind(process.stdout);
  const realStderr = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    ops.current.logBytes += Buffer.byteLength(text);
    ops.current.logLines += (text.match(/\n/g) ?? []).length;
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  };
  const accountId = 'acct_01JDQ8Z6W3M4N5P6Q7R8S9T0VX';
  const payload = benchPayload(payloadBytes);
  /** Reads a delivery's item outside the counted operations. */
  const itemOf = async (account: string, webhookId: string, deliveryId?: string): Promise<Record<string, unknown> | undefined> => {
    const counted = ops.current;
    ops.current = emptyOps();
    try {
      const out = await h.doc.send(
        new QueryCommand({
          TableName: h.tables.deliveries,
          KeyConditionExpression: deliveryId ? 'pk = :pk AND deliveryId = :id' : 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `${account}#${webhookId}`, ...(deliveryId ? { ':id': deliveryId } : {}) },
          Limit: 1,
        }),
      );
      return out.Items?.[0];
    } finally {
      ops.current = counted;
    }
  };

  try {
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    // --- success, warm cache
    const okSender = new ScriptedSender(() => OK);
    const hooks = [];
    for (let i = 0; i < Math.max(1, Math.round(fanOutForQuery)); i++) {
      hooks.push(await h.putWebhook({ accountId, url: `https://hooks.example.com/visits/${i}`, webhookId: `wh_01JDQ8Z6W3M4N5P6Q7R8S9T${String(i).padStart(3, '0')}` }));
    }
    const okRuntime = h.runtime({ sender: okSender, log: logger, metrics: metricSink, retryQueue: counting });
    const okHandler = createDeliveryHandler(okRuntime);
    const batch = (n: number) => sqsEvent(...Array.from({ length: n }, () => sqsRecord(eventBridgeEvent('NEW_VISIT', accountId, payload))));
    // Cold-start metric and the first (cache-miss) Query happen here.
    ops.current = emptyOps();
    await okHandler(batch(1), lambdaContext);
    const queryUnits = [...ops.current.dynamo.entries()].filter(([k]) => k.startsWith('webhooks Query')).reduce((n, [, v]) => n + v.units, 0);
    // Two warm invocations: 1 record and 10 records, to split log bytes into per-invocation and per-record parts.
    ops.current = emptyOps();
    await okHandler(batch(1), lambdaContext);
    const one = ops.current;
    ops.current = emptyOps();
    okSender.attempts = 0;
    okSender.bytesOut = 0;
    const n = PIPELINE.batchSize;
    await okHandler(batch(n), lambdaContext);
    const ten = ops.current;
    const deliveriesInTen = n * hooks.length;
    const perRecordLog = (ten.logBytes - one.logBytes) / (n - 1);
    const perInvocationLog = one.logBytes - perRecordLog;
    const success: Ops = {
      ...emptyOps(),
      dynamo: new Map([...ten.dynamo.entries()].map(([k, v]) => [k, { calls: v.calls / deliveriesInTen, units: v.units / deliveriesInTen }])),
      httpAttempts: okSender.attempts / deliveriesInTen,
      httpBytesOut: okSender.bytesOut / deliveriesInTen,
      logBytes: perRecordLog / hooks.length,
      logLines: (ten.logLines - one.logLines) / (n - 1) / hooks.length,
    };
    const sampleDelivered = await itemOf(accountId, hooks[0]?.webhookId ?? '');
    success.finalItemBytes = sampleDelivered ? topLevelItemSize(sampleDelivered) : 0;

    // --- one failing delivery, through its whole retry schedule (or until it recovers)
    const failingAccount = `${accountId}F`;
    const failingHook = await h.putWebhook({
      accountId: failingAccount,
      url: 'https://down.example.com/hook',
      webhookId: 'wh_01JDQ8Z6W3M4N5P6Q7R8S9TFAIL',
      // Exhaust: the endpoint has been failing for a while, so the circuit is open (no inline attempt) — the
      // steady state of a dead endpoint. Recover: a first failure on a healthy webhook.
      ...(input.failureMode === 'exhaust' ? { failingSince: new Date(h.clock.now() - 3_600_000).toISOString() } : {}),
    });
    const failSender = new ScriptedSender((attempt) => (input.failureMode === 'recover' && attempt > 1 ? OK : FAILED));
    const failRuntime = h.runtime({ sender: failSender, log: logger, metrics: metricSink, retryQueue: counting });
    const failHandler = createDeliveryHandler(failRuntime);
    await failHandler(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', failingAccount, payload))), lambdaContext); // warm the cache
    h.retryQueue.take();
    failSender.attempts = 0;
    failSender.bytesOut = 0;
    ops.current = emptyOps();
    const event = eventBridgeEvent('NEW_VISIT', failingAccount, payload);
    await failHandler(sqsEvent(sqsRecord(event)), lambdaContext);
    const drive = await driveRetries(h.retryQueue, h.clock, createRetryHandler(failRuntime), 2000);
    const failing = ops.current;
    failing.retryRecords = drive.hops + drive.attempts;
    failing.hops = drive.hops;
    failing.httpAttempts = failSender.attempts;
    failing.httpBytesOut = failSender.bytesOut;
    failing.sqsMessages += h.failedSink.sent.length;
    failing.sqsBytes += h.failedSink.sent.reduce((b, m) => b + Buffer.byteLength(m.body), 0);
    // Log bytes stay as captured: the driver hands each retry record to its own invocation, so this
    // includes one invocation's overhead (metrics flush or its "no metrics" warning) per record: an upper bound.
    const finalItem = await itemOf(failingAccount, failingHook.webhookId, deliveryIdFor(Date.parse(event.time), event.id, failingHook.webhookId));
    failing.finalItemBytes = finalItem ? topLevelItemSize(finalItem) : 0;
    return { success, failing, cacheMissQuery: { units: queryUnits }, logBytesPerInvocation: Math.max(0, perInvocationLog), retryHops: drive.hops, retryAttempts: drive.attempts };
  } finally {
    process.stdout.write = realStdout;
    process.stderr.write = realStderr;
    await h.close();
  }
}

// ---------------------------------------------------------------------------------------------
// CPU per delivery: from the bench when it has run, else the figures it measured when this was written

interface CpuFigures {
  readonly source: string;
  /** ms of CPU per event (parse, batch machinery), independent of fan-out. */
  readonly perEventMs: number;
  /** ms of CPU per delivery on the HTTP path (sign, send, log), without AWS calls. */
  readonly perDeliveryHttpMs: number;
  /**
   * ms of CPU per delivered attempt for its attempt-log record, written with the batch's other
   * successes (one BatchWriteItem per invocation): handler minus DynamoDB-stubbed handler at fan-out 1.
   */
  readonly perDeliveredRecordMs: number;
  /** ms of CPU per single-item AWS SDK call (UpdateItem, GetItem, SendMessage) on the failure path. */
  readonly perAwsCallMs: number;
}

/**
 * Measured by `npm run bench` on 2026-11-28 (Node 20, 2-vCPU Xeon VM; handler 0.81, stubbed 0.35 and
 * 0.22 CPU-s/1k at fan-out 1 and 10, successes recorded in batches); used when bench/results.json
 * is absent or from a quick run. A single-item SDK call (1.45 ms) was measured by A/B when every
 * attempt made one UpdateItem; results.json cannot give it any more, so it stays built in.
 */
const SINGLE_CALL_MS = 1.45;
const DEFAULT_CPU: CpuFigures = {
  source: 'built-in figures measured by npm run bench on 2026-11-28',
  perEventMs: 0.14,
  perDeliveryHttpMs: 0.2,
  perDeliveredRecordMs: 0.46,
  perAwsCallMs: SINGLE_CALL_MS,
};

function cpuFigures(): CpuFigures {
  const file = args.bench as string;
  if (!existsSync(file)) return DEFAULT_CPU;
  type Mode = { mode: string; cpuSecondsPer1000: { median: number } };
  const results = JSON.parse(readFileSync(file, 'utf8')) as { quick?: boolean; date?: string; throughput?: Array<{ fanOut: number; receiver: string; modes: Mode[] }> };
  const plain = (results.throughput ?? []).filter((c) => c.receiver === 'plain');
  const cpu = (fanOut: number, mode: string) => plain.find((c) => c.fanOut === fanOut)?.modes.find((m) => m.mode === mode)?.cpuSecondsPer1000.median;
  const h1 = cpu(1, 'handler');
  const s1 = cpu(1, 'handler-stub-dynamo');
  const s10 = cpu(10, 'handler-stub-dynamo');
  if (results.quick || h1 === undefined || s1 === undefined || s10 === undefined) return DEFAULT_CPU;
  // CPU-s per 1k deliveries = ms per delivery. Per event e, per delivery d: fan-out 1 → e + d, fan-out 10 → e/10 + d.
  const d = (10 * s10 - s1) / 9;
  const e = Math.max(0, s1 - d);
  return {
    source: `bench/results.json of ${results.date ?? '?'}`,
    perEventMs: e,
    perDeliveryHttpMs: Math.max(0, d),
    perDeliveredRecordMs: Math.max(0, h1 - s1),
    perAwsCallMs: SINGLE_CALL_MS,
  };
}

// ---------------------------------------------------------------------------------------------
// The model

interface Line {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
  /** Monthly charge whatever the traffic. */
  readonly fixed?: boolean;
}

function dynamoTotals(ops: Ops, table: string, kind: 'read' | 'write'): { calls: number; units: number } {
  let calls = 0;
  let units = 0;
  for (const [key, v] of ops.dynamo) {
    const [t, command] = key.split(' ') as [string, string];
    const isRead = command === 'Get' || command === 'Query' || command === 'GetItem' || command === 'Scan' || command === 'BatchGet';
    if (t === table && (kind === 'read') === isRead) {
      calls += v.calls;
      units += v.units;
    }
  }
  return { calls, units };
}

async function main(): Promise<void> {
  const stackFacts = readStack();
  const retentionDays = args['retention-days'] !== undefined ? num('retention-days', 1) : stackFacts.attemptLogRetentionDays;
  const logRetentionDays = args['log-retention-days'] !== undefined ? num('log-retention-days', 1) : stackFacts.delivery.logRetentionDays;
  const sim = await simulate(input.payloadBytes, input.fanOut);
  const cpu = cpuFigures();
  const fr = priceTable.freeTier;
  const free = (key: string) => (input.freeTier ? Number(fr[key] ?? 0) : 0);

  const E = input.eventsPerMonth;
  const D = E * input.fanOut;
  const Dfail = D * input.failureRate;
  const Dok = D - Dfail;
  const lines: Line[] = [];
  const add = (line: Line) => lines.push(line);

  // EventBridge: each PutEvents entry is billed per 64 KB chunk of the entry.
  const detailBytes = input.payloadBytes + 60;
  const ebChunks = Math.ceil(detailBytes / prices.eventbridge.billedChunkBytes);
  add({ service: 'EventBridge', item: 'custom events put on the bus', quantity: E * ebChunks, unit: 'events', usd: ((E * ebChunks) / 1e6) * prices.eventbridge.customEventsPerMillion });

  // Batch fill: how many records a delivery invocation gets. The mapping waits up to its batching
  // window for a full batch, so at low rates a batch holds about rate × window records.
  const d = stackFacts.delivery;
  const r = stackFacts.retry;
  const eventRate = E / SECONDS_PER_MONTH;
  const batchFill = args['batch-fill'] !== undefined ? num('batch-fill', 1) : Math.min(d.batchSize, Math.max(1, eventRate * Math.max(d.batchingWindowSeconds, 0.02)));
  const deliveryInvocations = E / batchFill;

  // SQS. Events queue: EventBridge sends each event (one request per 64 KB of the whole
  // EventBridge event); the mapping receives and deletes per batch; five pollers long-poll
  // (20 s) a queue even when it is empty. Retry queue: every hop and retry is a send, a
  // receive and a delete (per batch); exhausted deliveries go to the failed-deliveries queue.
  const eventJsonBytes = detailBytes + 330;
  const sqsChunk = prices.sqs.billedChunkBytes;
  const retryRecords = Dfail * sim.failing.retryRecords;
  const retryRate = retryRecords / SECONDS_PER_MONTH;
  const retryFill = Math.min(r.batchSize, Math.max(1, retryRate * Math.max(r.batchingWindowSeconds, 0.02)));
  const idlePolls = 2 * 5 * (SECONDS_PER_MONTH / 20);
  const sqsRequests = {
    eventsSend: E * Math.ceil(eventJsonBytes / sqsChunk),
    eventsReceiveDelete: 2 * deliveryInvocations,
    retrySends: Dfail * sim.failing.sqsMessages,
    retryReceiveDelete: 2 * (retryRecords / retryFill),
    idle: idlePolls,
  };
  const sqsTotal = Object.values(sqsRequests).reduce((a, b) => a + b, 0);
  const sqsBilled = Math.max(0, sqsTotal - free('sqsRequests'));
  add({ service: 'SQS', item: 'events queue: EventBridge sends', quantity: sqsRequests.eventsSend, unit: 'requests', usd: (sqsRequests.eventsSend / 1e6) * prices.sqs.standardRequestsPerMillion * (sqsBilled / sqsTotal) });
  add({ service: 'SQS', item: `events queue: receive + delete per batch (${batchFill.toFixed(1)} records)`, quantity: sqsRequests.eventsReceiveDelete, unit: 'requests', usd: (sqsRequests.eventsReceiveDelete / 1e6) * prices.sqs.standardRequestsPerMillion * (sqsBilled / sqsTotal) });
  add({ service: 'SQS', item: `retry + failed queues: sends (${sim.failing.sqsMessages} per failing delivery)`, quantity: sqsRequests.retrySends, unit: 'requests', usd: (sqsRequests.retrySends / 1e6) * prices.sqs.standardRequestsPerMillion * (sqsBilled / sqsTotal) });
  add({ service: 'SQS', item: `retry queue: receive + delete per batch (${retryFill.toFixed(1)} records)`, quantity: sqsRequests.retryReceiveDelete, unit: 'requests', usd: (sqsRequests.retryReceiveDelete / 1e6) * prices.sqs.standardRequestsPerMillion * (sqsBilled / sqsTotal) });
  add({ service: 'SQS', item: 'idle long polls (5 pollers × 2 mappings, 20 s)', quantity: sqsRequests.idle, unit: 'requests', usd: (sqsRequests.idle / 1e6) * prices.sqs.standardRequestsPerMillion * (sqsBilled / sqsTotal), fixed: true });

  // Lambda. CPU work stretches by the vCPU share of the memory size; waiting on the endpoint
  // and on AWS calls does not. Duration = waits + CPU / share (no overlap assumed: conservative).
  const share = (mb: number) => Math.min(1, mb / priceTable.assumptions.lambdaFullVcpuAtMb);
  const gbSecondPrice = (arch: string) => (arch === 'arm64' ? prices.lambda.gbSecondArm64 : prices.lambda.gbSecondX86);
  const cpuPerOkDeliveryMs = (cpu.perDeliveryHttpMs + cpu.perDeliveredRecordMs) * input.cpuFactor;
  const cpuPerEventMs = cpu.perEventMs * input.cpuFactor;
  const failingInBatch = 1 - (1 - input.failureRate) ** (batchFill * input.fanOut);
  const deliveryCpuMs = batchFill * (cpuPerEventMs + input.fanOut * cpuPerOkDeliveryMs);
  const deliveryWaitMs = input.endpointMs + input.awsCallMs * (1 + 2 * failingInBatch);
  const deliveryDurationMs = deliveryWaitMs + deliveryCpuMs / share(d.memoryMb);
  // Retry function: hops (parse, one SQS send) and due attempts (reads, the POST, writes, sends).
  const failingDynamoCalls = [...sim.failing.dynamo.values()].reduce((n, v) => n + v.calls, 0);
  const failingAwsCalls = failingDynamoCalls + sim.failing.sqsMessages;
  const retryCpuMsPerFailing = (sim.failing.httpAttempts * cpu.perDeliveryHttpMs + sim.failing.retryRecords * cpu.perEventMs + failingAwsCalls * cpu.perAwsCallMs) * input.cpuFactor;
  const retryWaitMsPerFailing = sim.retryAttempts * input.failingEndpointMs + failingAwsCalls * input.awsCallMs;
  const retryInvocations = retryRecords / retryFill;
  // Records in a batch run concurrently: waits overlap across the batch, CPU does not.
  const retryDurationMsTotal = Dfail * (retryWaitMsPerFailing / retryFill + retryCpuMsPerFailing / share(r.memoryMb));
  const coldStarts = 2 * (730 / 2) * Math.max(1, Math.ceil((deliveryInvocations / SECONDS_PER_MONTH) * (deliveryDurationMs / 1000)));
  const initMs = 600;
  const gbS = {
    delivery: deliveryInvocations * (deliveryDurationMs / 1000) * (d.memoryMb / 1024),
    retry: (retryDurationMsTotal / 1000) * (r.memoryMb / 1024),
    init: coldStarts * (initMs / 1000) * (d.memoryMb / 1024),
  };
  const gbSTotal = gbS.delivery + gbS.retry + gbS.init;
  const gbSBilledShare = gbSTotal > 0 ? Math.max(0, gbSTotal - free('lambdaGbSeconds')) / gbSTotal : 1;
  const invocations = deliveryInvocations + retryInvocations;
  const invBilledShare = invocations > 0 ? Math.max(0, invocations - free('lambdaRequests')) / invocations : 1;
  add({ service: 'Lambda', item: `delivery requests (${batchFill.toFixed(1)} events each)`, quantity: deliveryInvocations, unit: 'invocations', usd: (deliveryInvocations / 1e6) * prices.lambda.requestsPerMillion * invBilledShare });
  add({
    service: 'Lambda',
    item: `delivery duration (${d.memoryMb} MB ${d.architecture}, ${deliveryDurationMs.toFixed(0)} ms: ${deliveryWaitMs.toFixed(0)} waiting + ${(deliveryCpuMs / share(d.memoryMb)).toFixed(0)} CPU)`,
    quantity: gbS.delivery,
    unit: 'GB-s',
    usd: gbS.delivery * gbSecondPrice(d.architecture) * gbSBilledShare,
  });
  add({ service: 'Lambda', item: `retry requests (${retryFill.toFixed(1)} records each)`, quantity: retryInvocations, unit: 'invocations', usd: (retryInvocations / 1e6) * prices.lambda.requestsPerMillion * invBilledShare });
  add({ service: 'Lambda', item: `retry duration (${sim.failing.retryRecords} records per failing delivery)`, quantity: gbS.retry, unit: 'GB-s', usd: gbS.retry * gbSecondPrice(r.architecture) * gbSBilledShare });
  add({ service: 'Lambda', item: `init (cold starts ≈ ${Math.round(coldStarts)}, ${initMs} ms each)`, quantity: gbS.init, unit: 'GB-s', usd: gbS.init * gbSecondPrice(d.architecture) * gbSBilledShare });

  // DynamoDB on-demand: request units as dynalite charged them, per delivery kind.
  const wOk = dynamoTotals(sim.success, 'deliveries', 'write').units + dynamoTotals(sim.success, 'webhooks', 'write').units;
  const wFail = dynamoTotals(sim.failing, 'deliveries', 'write').units + dynamoTotals(sim.failing, 'webhooks', 'write').units;
  const rFail = dynamoTotals(sim.failing, 'deliveries', 'read').units + dynamoTotals(sim.failing, 'webhooks', 'read').units;
  const wru = Dok * wOk + Dfail * wFail;
  // The webhook list is cached 10 s per container: a Query per event unless the account had another event in the last 10 s.
  const eventsPerAccountPer10s = (E / input.accounts / SECONDS_PER_MONTH) * (DEFAULTS.webhookCacheTtlMs / 1000);
  const missRate = eventsPerAccountPer10s >= 1 ? 1 / eventsPerAccountPer10s : 1;
  const rru = E * missRate * sim.cacheMissQuery.units + Dfail * rFail + Dok * dynamoTotals(sim.success, 'deliveries', 'read').units;
  add({ service: 'DynamoDB', item: `writes (${wOk.toFixed(1)} WRU per delivery, ${wFail.toFixed(0)} per failing delivery)`, quantity: wru, unit: 'WRU', usd: (wru / 1e6) * prices.dynamodb.onDemandWritePerMillion });
  add({ service: 'DynamoDB', item: `reads (webhook list on a cache miss: ${(missRate * 100).toFixed(0)} % of events; retries)`, quantity: rru, unit: 'RRU', usd: (rru / 1e6) * prices.dynamodb.onDemandReadPerMillion });
  const overhead = priceTable.assumptions.dynamodbStorageOverheadBytesPerItem;
  // Items live `retentionDays` (TTL), and TTL deletes within about two days after expiry.
  const storedMonths = (retentionDays + 2) / DAYS_PER_MONTH;
  const storedGb = ((Dok * (sim.success.finalItemBytes + overhead) + Dfail * (sim.failing.finalItemBytes + overhead)) * storedMonths) / 1e9;
  const billedGb = Math.max(0, storedGb - free('dynamodbStorageGb'));
  add({ service: 'DynamoDB', item: `attempt-log storage (${retentionDays} days; ${sim.success.finalItemBytes} B per delivered item)`, quantity: storedGb, unit: 'GB-month', usd: billedGb * prices.dynamodb.storageGbMonth });
  add({ service: 'DynamoDB', item: `point-in-time recovery on the same data (${stackFacts.pitrTables}/${stackFacts.tables} tables)`, quantity: storedGb, unit: 'GB-month', usd: storedGb * prices.dynamodb.pitrGbMonth });

  // CloudWatch Logs: what the handlers write (Powertools logs, EMF metrics) plus Lambda's START/END/REPORT lines.
  const platformBytesPerInvocation = 330;
  const logBytes =
    Dok * sim.success.logBytes +
    Dfail * sim.failing.logBytes +
    deliveryInvocations * (sim.logBytesPerInvocation + platformBytesPerInvocation) +
    retryInvocations * platformBytesPerInvocation;
  const logGb = logBytes / 1e9;
  add({ service: 'CloudWatch', item: `log ingestion (${sim.success.logBytes.toFixed(0)} B per delivery, ${(sim.logBytesPerInvocation + platformBytesPerInvocation).toFixed(0)} B per invocation)`, quantity: logGb, unit: 'GB', usd: Math.max(0, logGb - free('logsGb')) * prices.cloudwatch.logsIngestionPerGb });
  const logStoredGb = logGb * priceTable.assumptions.logsCompressionRatio * (logRetentionDays / DAYS_PER_MONTH);
  add({ service: 'CloudWatch', item: `log storage (${logRetentionDays}-day retention, compressed)`, quantity: logStoredGb, unit: 'GB-month', usd: logStoredGb * prices.cloudwatch.logsStoragePerGbMonth });
  // Custom metrics from EMF: the contract's six metric names and ColdStart, per function (service dimension).
  const customMetrics = 2 * 7;
  add({ service: 'CloudWatch', item: 'custom metrics (EMF: 7 names × 2 functions)', quantity: customMetrics, unit: 'metrics', usd: Math.max(0, customMetrics - free('customMetrics')) * prices.cloudwatch.customMetricMonth, fixed: true });
  add({ service: 'CloudWatch', item: 'alarms', quantity: stackFacts.alarms, unit: 'alarms', usd: Math.max(0, stackFacts.alarms - free('alarms')) * prices.cloudwatch.standardAlarmMonth, fixed: true });
  add({ service: 'KMS', item: 'customer managed keys', quantity: stackFacts.kmsKeys, unit: 'keys', usd: stackFacts.kmsKeys * prices.kms.keyMonth, fixed: true });

  // Data transfer out: every attempt's request (TLS record overhead ~2 %, ~1 KB of client
  // handshake on a new connection: endpoints see too few requests per container to keep one open).
  const attempts = Dok * sim.success.httpAttempts + Dfail * sim.failing.httpAttempts;
  const outBytes = Dok * sim.success.httpBytesOut + Dfail * sim.failing.httpBytesOut;
  const outGb = (outBytes * 1.02 + attempts * 1024) / 1e9;
  add({ service: 'Data transfer', item: `out to endpoints (${(sim.success.httpBytesOut / 1024).toFixed(1)} KB per request + TLS)`, quantity: outGb, unit: 'GB', usd: Math.max(0, outGb - free('dataTransferOutGb')) * prices.dataTransfer.internetOutPerGb });

  const total = lines.reduce((n, l) => n + l.usd, 0);
  const variable = lines.filter((l) => !l.fixed).reduce((n, l) => n + l.usd, 0);
  const perMillion = total / (D / 1e6);
  const byService = new Map<string, number>();
  for (const l of lines) byService.set(l.service, (byService.get(l.service) ?? 0) + l.usd);
  const services = [...byService.entries()].sort((a, b) => b[1] - a[1]);
  const topItems = [...lines].sort((a, b) => b.usd - a.usd).slice(0, 3);

  if (args.json) {
    console.log(JSON.stringify({ input: { ...input, retentionDays, logRetentionDays }, prices: { region: input.region, dated: priceTable.dated, verified: prices.verified }, stack: stackFacts, simulation: serializable(sim), cpu, batchFill, lines, total, perMillionDeliveries: perMillion, variablePerMillionDeliveries: variable / (D / 1e6) }, null, 2));
    return;
  }

  const usd = (v: number) => (v >= 100 ? `$${v.toFixed(0)}` : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(3)}`);
  const qty = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v >= 10 ? v.toFixed(0) : v.toFixed(2));
  console.log(`Monthly cost, ${prices.name} (${input.region}), AWS list prices of ${priceTable.dated}${input.freeTier ? ', free tier applied' : ', no free tier'}`);
  if (!prices.verified.startsWith('matches') && !prices.verified.startsWith('same')) console.log(`  ! prices for this region: ${prices.verified}`);
  console.log(
    `Traffic: ${qty(E)} events/month, fan-out ${input.fanOut} → ${qty(D)} deliveries; payload ${(input.payloadBytes / 1024).toFixed(1)} KB; ` +
      `${(input.failureRate * 100).toFixed(1)} % of deliveries failing (${input.failureMode === 'exhaust' ? 'every attempt of the schedule fails' : 'they succeed at the first retry'}); attempt log kept ${retentionDays} days`,
  );
  console.log(
    `Stack (synthesized): delivery ${d.memoryMb} MB ${d.architecture}, batch ${d.batchSize}, window ${d.batchingWindowSeconds} s, max concurrency ${d.maxConcurrency ?? '-'}; ` +
      `log retention ${logRetentionDays} d${args['log-retention-days'] !== undefined ? ' (--log-retention-days)' : ''}; retry schedule ${stackFacts.retryScheduleSeconds.join(',')} s; ${stackFacts.alarms} alarms; ${stackFacts.kmsKeys} KMS keys; ${stackFacts.inVpc ? 'in a VPC (NAT not modelled!)' : 'no VPC (no NAT)'}`,
  );
  console.log(
    `From the code (real handlers on dynalite): a delivered attempt = ${describeOps(sim.success)}; a failing delivery = ${describeOps(sim.failing)}, ` +
      `${sim.retryHops} re-delay hops + ${sim.retryAttempts} due retries`,
  );
  console.log(`CPU: ${cpu.perEventMs.toFixed(2)} ms/event + ${cpu.perDeliveryHttpMs.toFixed(2)} ms/delivery + ${cpu.perDeliveredRecordMs.toFixed(2)} ms per delivered record (batched) + ${cpu.perAwsCallMs.toFixed(2)} ms per single-item AWS call (${cpu.source}${input.cpuFactor !== 1 ? `, ×${input.cpuFactor}` : ''})`);
  console.log(`Assumed: slowest endpoint response per batch ${input.endpointMs} ms (failing ${input.failingEndpointMs} ms), AWS call ${input.awsCallMs} ms, ${input.accounts} active accounts, batch fill ${batchFill.toFixed(1)}`);
  console.log('');
  console.log(`${'service'.padEnd(14)}${'item'.padEnd(84)}${'quantity'.padStart(16)}${'monthly'.padStart(10)}${'per M dlv'.padStart(11)}`);
  for (const l of lines) {
    console.log(`${l.service.padEnd(14)}${(l.item + (l.fixed ? ' [fixed]' : '')).slice(0, 83).padEnd(84)}${`${qty(l.quantity)} ${l.unit}`.padStart(16)}${usd(l.usd).padStart(10)}${usd(l.usd / (D / 1e6)).padStart(11)}`);
  }
  console.log('');
  for (const [service, v] of services) console.log(`  ${service.padEnd(14)}${usd(v).padStart(10)}  ${usd(v / (D / 1e6)).padStart(8)} per M deliveries  ${((v / total) * 100).toFixed(0).padStart(3)} %`);
  console.log(`  ${'total'.padEnd(14)}${usd(total).padStart(10)}  ${usd(perMillion).padStart(8)} per M deliveries (${usd(variable / (D / 1e6))} without the fixed items)`);
  console.log('');
  console.log(`Target ≤ $${TARGET_PER_MILLION.toFixed(2)} per million deliveries: ${perMillion <= TARGET_PER_MILLION ? 'met' : 'MISSED'} ($${perMillion.toFixed(2)}).`);
  console.log(`Largest items: ${topItems.map((l) => `${l.service} ${l.item.split(' (')[0]} ${usd(l.usd / (D / 1e6))}/M`).join('; ')}.`);
  console.log('');
  console.log('What would change it (savings computed from the lines above; each lever alone):');
  const line = (service: string, startsWith: string) => lines.filter((l) => l.service === service && l.item.startsWith(startsWith)).reduce((n, l) => n + l.usd, 0);
  const perM = (v: number) => usd(v / (D / 1e6));
  const levers: Array<[string, number]> = [
    [
      'the tracking pipeline sends to the events queue itself (SendMessageBatch, 10 per request) instead of EventBridge PutEvents',
      line('EventBridge', 'custom events') + line('SQS', 'events queue: EventBridge sends') * 0.9,
    ],
    [
      `retries wait without 15-minute re-delay hops (visibility timeout up to 12 h, or EventBridge Scheduler): ${sim.failing.retryRecords} → ${sim.retryAttempts} records per failing delivery`,
      (line('SQS', 'retry + failed queues') + line('SQS', 'retry queue') + line('Lambda', 'retry')) * (1 - sim.retryAttempts / Math.max(1, sim.failing.retryRecords)),
    ],
    [
      'successes recorded several to an attempt-log item (e.g. per webhook and minute) instead of one item each (estimate: -80 % of their writes, -50 % of storage)',
      line('DynamoDB', 'writes') * (Dok * wOk / Math.max(1, wru)) * 0.8 + (line('DynamoDB', 'attempt-log storage') + line('DynamoDB', 'point-in-time')) * 0.5,
    ],
    ['fixed items (metrics, alarms, keys) spread over more traffic: at 10× the events', lines.filter((l) => l.fixed).reduce((n, l) => n + l.usd, 0) * 0.9],
  ];
  for (const [what, saving] of levers.sort((a, b) => b[1] - a[1])) {
    console.log(`  -${perM(saving).padStart(7)}/M  → ${usd((total - saving) / (D / 1e6))}/M   ${what}`);
  }
  const floor = line('EventBridge', 'custom events') + line('SQS', 'events queue') + (Dok * wOk / 1e6) * prices.dynamodb.onDemandWritePerMillion;
  console.log(`  Floor of this design (EventBridge + events queue + one attempt-log write per delivery, nothing else): ${perM(floor)}/M.`);
}

function describeOps(ops: Ops): string {
  const parts = [...ops.dynamo.entries()].filter(([, v]) => v.calls > 0).map(([k, v]) => `${fmtN(v.calls)}× ${k} (${fmtN(v.units)} CU)`);
  if (ops.sqsMessages > 0) parts.push(`${fmtN(ops.sqsMessages)} SQS sends`);
  parts.push(`${fmtN(ops.httpAttempts)} POST`);
  parts.push(`${fmtN(ops.logBytes)} log B`);
  parts.push(`item ${ops.finalItemBytes} B`);
  return parts.join(', ');
}

function fmtN(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function serializable(sim: Simulation) {
  const ops = (o: Ops) => ({ ...o, dynamo: Object.fromEntries(o.dynamo) });
  return { ...sim, success: ops(sim.success), failing: ops(sim.failing) };
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
