import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { benchPayload } from '../../bench/payload';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { createReconcilerHandler } from '../../lambdas/reconciler/app';
import { createRetryHandler } from '../../lambdas/retry/app';
import { logger, metricSink } from '../../lambdas/shared/adapters/powertools';
import type { DeliveryRuntime } from '../../lambdas/shared/composition/delivery-runtime';
import { DEFAULTS, ENV, PIPELINE } from '../../lambdas/shared/contract';
import type { RetryMessage } from '../../lambdas/shared/domain/messages';
import { LOG_SHARDS, shardOf } from '../../lambdas/shared/adapters/dynamo-delivery-store';
import { deliveryIdFor, type Webhook } from '../../lambdas/shared/domain/model';
import type { DeadLetterSink, HttpSender, RetryQueue, SendRequest, SendResult } from '../../lambdas/shared/domain/ports';
import { Reconciler } from '../../lambdas/shared/domain/reconciler';
import { TABLE_DEFINITIONS, type TableDefinition } from '../../lib/table-definitions';
import { type Harness, startHarness } from '../../local/harness/harness';
import { LOCAL_AWS_CONFIG } from '../../local/dynamo';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord } from '../../local/lambda-events';
import type { Input } from './arguments';
import { addOps, clampOps, emptyOps, type Fn, indexWrites, type Ops, scaleOps, subOps, topLevelItemSize, writeUnitsOf } from './ops';
import { answersAfter, failsAfter, ScriptedSender } from './scripted-sender';
import type { IsolationFacts } from './stack-facts';

/**
 * What deliveries read, write, send and log: the real delivery, retry and reconciler handlers
 * (Powertools logging included) on dynalite with a scripted HTTP sender, every DynamoDB call
 * counted with its consumed capacity (and, since dynalite bills no index, every GSI write counted
 * from the item before and after the call), every SQS message, every attempt and every log byte,
 * attributed to the function that made it.
 */
export interface Simulation {
  /** Per successful fast-lane delivery, warm cache. */
  success: Ops;
  /** The webhook list read on a cache miss. */
  cacheMissQuery: { units: number };
  /** Log bytes per delivery invocation (Powertools context, EMF metrics flush), beyond the per-record lines. */
  logBytesPerInvocation: number;
  /** What a rate-limited delivery costs beyond a plain one (the limiter's conditional UpdateItem). */
  rateLimitExtra: Ops;
  /**
   * A slow endpoint's deliveries: `perDelivery` handed to the slow lane at once (the webhook is
   * marked slow), recorded pending, then delivered by the retry function; `perMark` what the first
   * delivery after a slow hold costs beyond that (the aborted inline attempt, markSlow, a cache miss).
   */
  slow: { perDelivery: Ops; perMark: Ops; messageBytes: number };
  /**
   * An endpoint that goes down, from the first failure to the end of the outage (exhaust: the
   * webhook is auto-disabled and its parked deliveries skipped; recover: the first probe succeeds
   * and the parked deliveries are released), split by two runs of different lengths into what each
   * failing delivery costs and what the outage costs once (the first deliveries' retry path until
   * the breaker opens, breaker writes, the disabling or succeeding probe, the close), and one
   * failed probe (repeated until the auto-disable in exhaust mode).
   */
  failing: {
    perDelivery: Ops;
    perOutage: Ops;
    perProbe: Ops;
    /**
     * What a delivery costs beyond a parked one while the delivery function's cached webhook list
     * (10 s) does not show the breaker yet (one such delivery is in `perOutage`).
     */
    staleExtra: Ops;
    /** Failing deliveries until the breaker opened (the rest parked). */
    deliveriesBeforeOpen: number;
  };
  /** One reconciler tick with nothing to do: the breakers Query and the eight `due` shard Queries. */
  reconcilerTick: Ops;
}

/** Where operations are counted: each measured step starts a fresh `current`, attributed to `fn`. */
interface Meter {
  current: Ops;
  fn: Fn;
}

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** The harness, its counters and what every measurement needs. */
interface Rig {
  readonly h: Harness;
  readonly meter: Meter;
  readonly retryQueue: RetryQueue;
  readonly failedSink: DeadLetterSink;
  readonly accountId: string;
  readonly payload: Record<string, unknown>;
  readonly input: Input;
  readonly isolation: IsolationFacts;
}

export interface SimulationOptions {
  readonly input: Input;
  /** The stack's lanes and breaker settings: the handlers run with them. */
  readonly isolation: IsolationFacts;
}

export async function simulate({ input, isolation }: SimulationOptions): Promise<Simulation> {
  const h = await startHarness();
  const raw = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: h.dynamo.endpoint }));
  try {
    const meter: Meter = { current: emptyOps(), fn: 'delivery' };
    countDynamoCalls(h, meter, raw);
    const rig: Rig = {
      h,
      meter,
      retryQueue: countingRetryQueue(h, meter),
      failedSink: countingFailedSink(h, meter),
      accountId: 'acct_01JDQ8Z6W3M4N5P6Q7R8S9T0VX',
      payload: benchPayload(input.payloadBytes),
      input,
      isolation,
    };
    const restoreOutput = captureOutput(meter);
    try {
      const reconcilerTick = await measureIdleTick(rig);
      const ok = await measureSuccess(rig);
      const rateLimitExtra = clampOps(subOps(await measureRateLimited(rig), ok.success));
      const slow = await measureSlow(rig);
      const failing = await measureFailing(rig, reconcilerTick);
      return { success: ok.success, cacheMissQuery: { units: ok.queryUnits }, logBytesPerInvocation: Math.max(0, ok.perInvocationLog), rateLimitExtra, slow, failing, reconcilerTick };
    } finally {
      restoreOutput();
    }
  } finally {
    raw.destroy();
    await h.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Counting
// ---------------------------------------------------------------------------------------------

/** An item's key under a table definition. */
function keyOf(def: TableDefinition, item: Record<string, unknown>): Record<string, unknown> {
  return { [def.partitionKey.name]: item[def.partitionKey.name], ...(def.sortKey ? { [def.sortKey.name]: item[def.sortKey.name] } : {}) };
}

/** The items a write command touches, as (table, key). */
function writeTargets(command: string, input: Record<string, unknown>, defs: Map<string, TableDefinition>): Array<{ table: string; key: Record<string, unknown> }> {
  const table = String(input.TableName ?? '');
  const def = defs.get(table);
  if (command === 'UpdateItem' || command === 'DeleteItem') return def ? [{ table, key: input.Key as Record<string, unknown> }] : [];
  if (command === 'PutItem') return def ? [{ table, key: keyOf(def, input.Item as Record<string, unknown>) }] : [];
  if (command !== 'BatchWriteItem') return [];
  const targets: Array<{ table: string; key: Record<string, unknown> }> = [];
  for (const [name, requests] of Object.entries((input.RequestItems as Record<string, Array<Record<string, { Item?: Record<string, unknown>; Key?: Record<string, unknown> }>>>) ?? {})) {
    const d = defs.get(name);
    if (!d) continue;
    for (const r of requests) {
      const item = r.PutRequest?.Item;
      const key = r.DeleteRequest?.Key ?? (item ? keyOf(d, item) : undefined);
      if (key) targets.push({ table: name, key });
    }
  }
  return targets;
}

/**
 * Counts every DynamoDB call with the capacity dynalite charges (max of the item before and after,
 * as DynamoDB does), attributed to the function running; and the index writes of each write call,
 * from the touched items read (on a separate, uncounted client) before and after it.
 */
function countDynamoCalls(h: Harness, meter: Meter, raw: DynamoDBDocumentClient): void {
  const kinds = new Map<string, 'webhooks' | 'deliveries' | 'stats'>([
    [h.tables.webhooks, 'webhooks'],
    [h.tables.deliveries, 'deliveries'],
    [h.tables.stats, 'stats'],
  ]);
  const defs = new Map<string, TableDefinition>([
    [h.tables.webhooks, TABLE_DEFINITIONS.webhooks],
    [h.tables.deliveries, TABLE_DEFINITIONS.deliveries],
  ]);
  const read = async (t: { table: string; key: Record<string, unknown> }) => (await raw.send(new GetCommand({ TableName: t.table, Key: t.key, ConsistentRead: true }))).Item;
  h.doc.middlewareStack.add(
    (next, context) => async (callArgs) => {
      const ops = meter.current;
      const fn = meter.fn;
      const cmdInput = callArgs.input as Record<string, unknown>;
      cmdInput.ReturnConsumedCapacity = 'TOTAL';
      const command = String(context.commandName).replace(/Command$/, '');
      // Single-item calls name one table and return one ConsumedCapacity; batch calls (BatchWriteItem)
      // name their tables in RequestItems and return a list.
      const table = String(cmdInput.TableName ?? Object.keys((cmdInput.RequestItems as Record<string, unknown> | undefined) ?? {})[0] ?? '');
      const key = `${kinds.get(table) ?? 'other'} ${command}`;
      const entry = ops.dynamo.get(key) ?? { calls: 0, units: 0 };
      ops.dynamo.set(key, entry);
      entry.calls++;
      ops.fn[fn].awsCalls++;
      const targets = writeTargets(command, cmdInput, defs);
      const before = await Promise.all(targets.map(read));
      let out;
      try {
        out = await next(callArgs);
      } catch (err) {
        // A failed condition is billed as a write of the item (the limiter's refusals, a lost lease).
        if ((err as { name?: string }).name === 'ConditionalCheckFailedException') entry.units += before[0] ? writeUnitsOf(before[0]) : 1;
        throw err;
      }
      const capacity = (out.output as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> }).ConsumedCapacity;
      const units = Array.isArray(capacity) ? capacity.reduce((n, c) => n + (c.CapacityUnits ?? 0), 0) : (capacity?.CapacityUnits ?? 0);
      // dynalite bills an empty Query nothing; DynamoDB bills at least one read (0.5 RRU eventually consistent, 1 consistent).
      entry.units += command === 'Query' ? Math.max(units, cmdInput.ConsistentRead ? 1 : 0.5) : units;
      if (targets.length > 0) {
        const after = await Promise.all(targets.map(read));
        targets.forEach((t, i) => {
          for (const w of indexWrites(defs.get(t.table) as TableDefinition, before[i], after[i])) {
            const k = `${kinds.get(t.table)} ${w.index}`;
            const e = ops.index.get(k) ?? { writes: 0, units: 0 };
            ops.index.set(k, { writes: e.writes + w.writes, units: e.units + w.units });
          }
        });
      }
      return out;
    },
    { step: 'initialize', name: 'costModelCounter' },
  );
}

function countingRetryQueue(h: Harness, meter: Meter): RetryQueue {
  return {
    enqueue: async (message: RetryMessage, delaySeconds: number) => {
      meter.current.sqsMessages++;
      meter.current.sqsBytes += Buffer.byteLength(JSON.stringify(message));
      meter.current.fn[meter.fn].awsCalls++;
      await h.retryQueue.enqueue(message, delaySeconds);
    },
  };
}

function countingFailedSink(h: Harness, meter: Meter): DeadLetterSink {
  return {
    send: async (body: string, reason: string, attributes?: Readonly<Record<string, string>>) => {
      meter.current.sqsMessages++;
      meter.current.sqsBytes += Buffer.byteLength(body);
      meter.current.fn[meter.fn].awsCalls++;
      await h.failedSink.send(body, reason, attributes);
    },
  };
}

/** A sender answering from `script`, each attempt counted (bytes, wait) for the function running. */
function meteredSender(meter: Meter, script: (attempt: number, req: SendRequest) => SendResult): ScriptedSender {
  return new ScriptedSender(script, (bytes: number, result: SendResult) => {
    const ops = meter.current;
    ops.httpAttempts++;
    ops.httpBytesOut += bytes;
    ops.fn[meter.fn].attempts++;
    ops.fn[meter.fn].waitMs += result.durationMs;
  });
}

/**
 * The handlers' stdout and stderr (Powertools logs, EMF metrics, warnings) are what CloudWatch Logs
 * ingests: count them, don't print them. Returns the function that puts the real streams back.
 */
function captureOutput(meter: Meter): () => void {
  const realStdout = process.stdout.write.bind(process.stdout);
  const realStderr = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    meter.current.logBytes += Buffer.byteLength(text);
    meter.current.logLines += (text.match(/\n/g) ?? []).length;
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  return () => {
    process.stdout.write = realStdout;
    process.stderr.write = realStderr;
  };
}

// ---------------------------------------------------------------------------------------------
// Running the handlers
// ---------------------------------------------------------------------------------------------

/** A function's runtime on the harness with the stack's lane and breaker settings, counted queues and `sender`. */
function runtimeFor(rig: Rig, sender: HttpSender): DeliveryRuntime {
  const s = rig.isolation;
  return rig.h.runtime(
    { sender, log: logger, metrics: metricSink, retryQueue: rig.retryQueue, failedSink: rig.failedSink },
    {
      [ENV.deliveryTimeoutMs]: String(s.attemptTimeoutMs),
      [ENV.inlineTimeoutMs]: String(s.inlineTimeoutMs),
      [ENV.breakerFailures]: String(s.breakerFailures),
      [ENV.autoDisableAfterDays]: String(s.autoDisableAfterDays),
    },
  );
}

/** Runs `work` with its calls attributed to `fn`. */
async function attributed<T>(meter: Meter, fn: Fn, work: () => Promise<T>): Promise<T> {
  const previous = meter.fn;
  meter.fn = fn;
  try {
    return await work();
  } finally {
    meter.fn = previous;
  }
}

const eventFor = (rig: Rig, accountId: string) => eventBridgeEvent('NEW_VISIT', accountId, rig.payload);

/** One event through the delivery function, alone in its invocation. */
async function deliverOne(rig: Rig, handler: SqsHandler, accountId: string): Promise<ReturnType<typeof eventFor>> {
  const event = eventFor(rig, accountId);
  await attributed(rig.meter, 'delivery', () => handler(sqsEvent(sqsRecord(event)), lambdaContext));
  return event;
}

/**
 * Plays the retry queue (the slow lane) with the manual clock: each message in order (`dueNow`:
 * only those sent without a delay, i.e. a slow lane that keeps up), the clock moved by its delay,
 * one record per invocation of the retry function. Counts the records and the hops.
 */
async function drain(rig: Rig, handler: SqsHandler, dueNow = false): Promise<void> {
  const { h, meter } = rig;
  for (let step = 0; step < 5000; step++) {
    const queue = h.retryQueue.sent;
    const index = dueNow ? queue.findIndex((m) => m.delaySeconds === 0) : queue.length > 0 ? 0 : -1;
    if (index < 0) return;
    const [next] = queue.splice(index, 1);
    if (!next) return;
    h.clock.advance(next.delaySeconds * 1000);
    const before = queue.length;
    const hop = next.message.dueAt - h.clock.now() > 1000;
    const result = await attributed(meter, 'retry', () => handler(sqsEvent(sqsRecord(next.message)), lambdaContext));
    if (result.batchItemFailures.length > 0) throw new Error('retry handler reported a failure');
    meter.current.retryRecords++;
    if (hop && queue.length > before) meter.current.hops++;
  }
  throw new Error('retry chain did not end');
}

/** Runs `work` (reads of the measurement itself) outside the counted operations. */
async function uncounted<T>(rig: Rig, work: () => Promise<T>): Promise<T> {
  const counted = rig.meter.current;
  rig.meter.current = emptyOps();
  try {
    return await work();
  } finally {
    rig.meter.current = counted;
  }
}

async function readItem(rig: Rig, table: string, key: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
  return uncounted(rig, async () => (await rig.h.doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item);
}

async function readWebhook(rig: Rig, accountId: string, webhookId: string): Promise<Webhook> {
  const item = await readItem(rig, rig.h.tables.webhooks, { accountId, webhookId });
  if (!item) throw new Error(`webhook ${webhookId} is gone`);
  return item as unknown as Webhook;
}

/** The stored size of the delivery of `event` for `webhookId`: its own record, plus its event's payload item when there is one. */
async function deliveryItemBytes(rig: Rig, accountId: string, webhookId: string, event: ReturnType<typeof eventFor>): Promise<number> {
  const deliveryId = deliveryIdFor(Date.parse(event.time), event.id, webhookId);
  const item = await readItem(rig, rig.h.tables.deliveries, { pk: `${accountId}#${webhookId}#${shardOf(deliveryId)}`, sk: deliveryId });
  const payload = await readItem(rig, rig.h.tables.deliveries, { pk: `payload#${accountId}#${event.id}`, sk: 'payload' });
  return (item ? topLevelItemSize(item) : 0) + (payload ? topLevelItemSize(payload) : 0);
}

/** Stored bytes per first-attempt success of a webhook: its success items' sizes over the entries they hold. */
async function successBytesPerDelivery(rig: Rig, accountId: string, webhookId: string): Promise<number> {
  let bytes = 0;
  let entries = 0;
  for (let shard = 0; shard < LOG_SHARDS; shard++) {
    const items = await uncounted(rig, async () =>
      (
        await rig.h.doc.send(
          new QueryCommand({ TableName: rig.h.tables.deliveries, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${accountId}#${webhookId}#${shard}` } }),
        )
      ).Items ?? [],
    );
    for (const item of items) {
      if (typeof item.entries !== 'string') continue;
      bytes += topLevelItemSize(item);
      entries += (JSON.parse(item.entries) as unknown[]).length;
    }
  }
  return entries > 0 ? Math.round(bytes / entries) : 0;
}

/** The reconciler on the harness (its own stores, as its own function has), behind its real handler. */
function reconcilerHandler(rig: Rig): () => Promise<{ probes: number; released: number; skipped: number; closed: number; overdue: number }> {
  const rt = runtimeFor(rig, meteredSender(rig.meter, answersAfter(rig.input.endpointMs)));
  const reconciler = new Reconciler({
    webhooks: rt.webhooks,
    deliveries: rt.deliveries,
    retryQueue: rig.retryQueue,
    clock: rig.h.clock,
    log: logger,
    metrics: metricSink,
    everySeconds: rig.isolation.reconcileEverySeconds,
  });
  const handler = createReconcilerHandler(reconciler);
  return () => attributed(rig.meter, 'reconciler', () => handler({}, lambdaContext));
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

/** A reconciler tick with nothing to do (no breaker, nothing overdue): what every minute of the month costs. */
async function measureIdleTick(rig: Rig): Promise<Ops> {
  const tick = reconcilerHandler(rig);
  rig.meter.current = emptyOps();
  await tick(); // first invocation: module-level setup
  const idle = emptyOps();
  rig.meter.current = idle;
  await tick();
  rig.meter.current = emptyOps();
  return idle;
}

/** Successful deliveries, warm cache: per delivery, split into per-record and per-invocation log bytes. */
async function measureSuccess(rig: Rig): Promise<{ success: Ops; queryUnits: number; perInvocationLog: number }> {
  const { h, meter, accountId, payload, input } = rig;
  meter.current = emptyOps(); // set-up, not counted
  const hooks: Webhook[] = [];
  for (let i = 0; i < Math.max(1, Math.round(input.fanOut)); i++) {
    hooks.push(await h.putWebhook({ accountId, url: `https://hooks.example.com/visits/${i}`, webhookId: `wh_01JDQ8Z6W3M4N5P6Q7R8S9T${String(i).padStart(3, '0')}` }));
  }
  const okHandler = createDeliveryHandler(runtimeFor(rig, meteredSender(meter, answersAfter(input.endpointMs))));
  const batch = (n: number) => sqsEvent(...Array.from({ length: n }, () => sqsRecord(eventBridgeEvent('NEW_VISIT', accountId, payload))));
  // Cold-start metric and the first (cache-miss) Query happen here.
  meter.current = emptyOps();
  await okHandler(batch(1), lambdaContext);
  const queryUnits = [...meter.current.dynamo.entries()].filter(([k]) => k.startsWith('webhooks Query')).reduce((n, [, v]) => n + v.units, 0);
  // Two warm invocations: 1 record and 10 records, to split log bytes into per-invocation and per-record parts.
  meter.current = emptyOps();
  await okHandler(batch(1), lambdaContext);
  const one = meter.current;
  meter.current = emptyOps();
  const n = PIPELINE.batchSize;
  await okHandler(batch(n), lambdaContext);
  const ten = meter.current;
  const deliveriesInTen = n * hooks.length;
  const perRecordLog = (ten.logBytes - one.logBytes) / (n - 1);
  const success: Ops = { ...scaleOps(ten, 1 / deliveriesInTen), logBytes: perRecordLog / hooks.length, logLines: (ten.logLines - one.logLines) / (n - 1) / hooks.length };
  success.finalItemBytes = await successBytesPerDelivery(rig, accountId, hooks[0]?.webhookId ?? '');
  return { success, queryUnits, perInvocationLog: one.logBytes - perRecordLog };
}

/** Deliveries to webhooks with a rate limit they stay within: per delivery, warm cache (compared with plain ones by the caller). */
async function measureRateLimited(rig: Rig): Promise<Ops> {
  const { h, meter, payload, input } = rig;
  const accountId = `${rig.accountId}R`;
  meter.current = emptyOps(); // set-up, not counted
  const hooks = Math.max(1, Math.round(input.fanOut));
  for (let i = 0; i < hooks; i++) {
    await h.putWebhook({ accountId, url: `https://limited.example.com/visits/${i}`, webhookId: `wh_01JDQ8Z6W3M4N5P6Q7R8S9R${String(i).padStart(3, '0')}`, rateLimit: 1000 });
  }
  const handler = createDeliveryHandler(runtimeFor(rig, meteredSender(meter, answersAfter(input.endpointMs))));
  const batch = (n: number) => sqsEvent(...Array.from({ length: n }, () => sqsRecord(eventBridgeEvent('NEW_VISIT', accountId, payload))));
  meter.current = emptyOps();
  await handler(batch(1), lambdaContext);
  meter.current = emptyOps();
  const n = PIPELINE.batchSize;
  await handler(batch(n), lambdaContext);
  const per = scaleOps(meter.current, 1 / (n * hooks));
  // Log bytes per record are compared with the plain batch's, which excluded the per-invocation part.
  return { ...per, logBytes: 0, logLines: 0 };
}

/**
 * A slow endpoint (answers after --slow-endpoint-ms, beyond the fast lane's budget): the steady
 * state (the webhook is marked slow: each delivery is handed to the slow lane at once and delivered
 * there), and the delivery after a slow hold ran out (an inline attempt aborted at the budget,
 * markSlow, then the same hand-off).
 */
async function measureSlow(rig: Rig): Promise<Simulation['slow']> {
  const { h, meter, input } = rig;
  const accountId = `${rig.accountId}S`;
  meter.current = emptyOps(); // set-up, not counted
  const hook = await h.putWebhook({ accountId, url: 'https://slow.example.com/hook', webhookId: 'wh_01JDQ8Z6W3M4N5P6Q7R8S9TSLOW' });
  const script = answersAfter(input.slowEndpointMs);
  const deliver = createDeliveryHandler(runtimeFor(rig, meteredSender(meter, script)));
  const retry = createRetryHandler(runtimeFor(rig, meteredSender(meter, script)));
  const step = async () => {
    const event = await deliverOne(rig, deliver, accountId);
    await drain(rig, retry, true);
    return event;
  };
  meter.current = emptyOps();
  await step(); // first sight: marked slow (not counted)
  await step(); // the cache is refilled after markSlow (not counted)
  meter.current = emptyOps();
  const steadyEvent = await step();
  const perDelivery = meter.current;
  meter.current = emptyOps();
  perDelivery.finalItemBytes = await deliveryItemBytes(rig, accountId, hook.webhookId, steadyEvent);
  h.clock.advance(5 * 60_000 + 1_000); // the slow hold ends
  meter.current = emptyOps();
  await step();
  const marked = meter.current;
  meter.current = emptyOps();
  return { perDelivery, perMark: clampOps(subOps(marked, perDelivery)), messageBytes: perDelivery.sqsMessages > 0 ? perDelivery.sqsBytes / perDelivery.sqsMessages : 0 };
}

/**
 * One outage of `n` deliveries on a fresh webhook, start to end; the first failed probe is counted
 * apart (exhaust mode repeats it until the auto-disable). Reconciler ticks are counted without
 * their idle part (the fixed reconciler line has it).
 */
async function outage(rig: Rig, n: number, tag: string, idleTick: Ops): Promise<{ total: Ops; probe: Ops; lastItemBytes: number; openedAfter: number; staleExtra: Ops }> {
  const { h, meter, input, isolation } = rig;
  const accountId = `${rig.accountId}F${tag}`;
  meter.current = emptyOps(); // set-up, not counted
  let down = false;
  const script = (attempt: number, req: SendRequest) => (down ? failsAfter(input.failingLatencyMs) : answersAfter(input.endpointMs))(attempt, req);
  const hook = await h.putWebhook({ accountId, url: `https://down${tag}.example.com/hook`, webhookId: `wh_01JDQ8Z6W3M4N5P6Q7R8S9TF${tag}` });
  const deliver = createDeliveryHandler(runtimeFor(rig, meteredSender(meter, script)));
  const retry = createRetryHandler(runtimeFor(rig, meteredSender(meter, script)));
  const tick = reconcilerHandler(rig);
  let ticks = 0;
  const reconcile = async () => {
    ticks++;
    const report = await tick();
    await drain(rig, retry);
    return report;
  };
  // Healthy before the outage: one delivered event warms the delivery function's cache (not counted).
  meter.current = emptyOps();
  await deliverOne(rig, deliver, accountId);
  await reconcile();
  down = true;
  const total = emptyOps();
  meter.current = total;
  ticks = 0;
  // Events a second apart; the slow lane keeps up with what is due now, delayed retries wait. The
  // first delivery after the breaker opened still sees the delivery function's cached webhook (no
  // breaker yet): counted apart as `staleOnset`; then the cache expires, and the rest park at once.
  let last = eventFor(rig, accountId);
  let openedAfter = 0;
  let staleOnset: Ops | undefined;
  let steadyOnset: Ops | undefined;
  for (let i = 1; i <= n; i++) {
    h.clock.advance(1_000);
    const before = addOps(emptyOps(), total);
    last = await deliverOne(rig, deliver, accountId);
    await drain(rig, retry, true);
    const onset = subOps(total, before);
    if (openedAfter && !staleOnset) {
      staleOnset = onset;
      h.clock.advance(DEFAULTS.webhookCacheTtlMs);
    } else if (openedAfter) steadyOnset = onset;
    if (!openedAfter && (await readWebhook(rig, accountId, hook.webhookId)).breaker) openedAfter = i;
  }
  if (!staleOnset || !steadyOnset) throw new Error(`the breaker opened after ${openedAfter} of ${n} deliveries: too late to measure parking`);
  await drain(rig, retry); // the retries of the first deliveries find the breaker open: parked
  let webhook = await readWebhook(rig, accountId, hook.webhookId);
  if (!webhook.breaker) throw new Error('the breaker did not open: the failing path cannot be measured');
  const probe = emptyOps();
  const untilProbe = () => Math.max(0, Date.parse(webhook.breaker?.probeAt ?? '') - h.clock.now() + 1_000);
  if (input.failureMode === 'exhaust') {
    // One failed probe, counted apart.
    h.clock.advance(untilProbe());
    meter.current = probe;
    await reconcile();
    meter.current = total;
    ticks--;
    webhook = await readWebhook(rig, accountId, hook.webhookId);
    // The endpoint stays down: the first probe after the auto-disable period disables the webhook, then its parked deliveries are skipped.
    const disableAt = Date.parse(webhook.failingSince ?? new Date(h.clock.now()).toISOString()) + isolation.autoDisableAfterDays * 86_400_000;
    h.clock.advance(Math.max(0, disableAt - h.clock.now()) + 1_000);
    webhook = await readWebhook(rig, accountId, hook.webhookId);
    h.clock.advance(untilProbe());
  } else {
    h.clock.advance(untilProbe());
    down = false; // back at the first probe: it succeeds, the parked deliveries are released
  }
  for (let i = 0; i < 10 && (await readWebhook(rig, accountId, hook.webhookId)).breaker; i++) {
    await reconcile();
    h.clock.advance(isolation.reconcileEverySeconds * 1000);
  }
  if ((await readWebhook(rig, accountId, hook.webhookId)).breaker) throw new Error('the breaker did not close after the outage');
  meter.current = emptyOps();
  const lastItemBytes = await deliveryItemBytes(rig, accountId, hook.webhookId, last);
  return { total: subOps(total, scaleOps(idleTick, ticks)), probe: subOps(probe, idleTick), lastItemBytes, openedAfter, staleExtra: clampOps(subOps(staleOnset, steadyOnset)) };
}

/**
 * Failing deliveries: two outages of different lengths, their difference per delivery is what each
 * failing delivery costs (parked, then skipped or released), the rest what an outage costs once.
 */
async function measureFailing(rig: Rig, idleTick: Ops): Promise<Simulation['failing']> {
  if (rig.isolation.breakerFailures === 0) throw new Error('the stack turns the breaker off (WEBHOOKS_BREAKER_FAILURES=0): its retry-schedule-only failing path is not modelled');
  const n1 = rig.isolation.breakerFailures + 2;
  const n2 = n1 + 5;
  const a = await outage(rig, n1, 'A', idleTick);
  const b = await outage(rig, n2, 'B', idleTick);
  const perDelivery = clampOps(scaleOps(subOps(b.total, a.total), 1 / (n2 - n1)));
  perDelivery.finalItemBytes = b.lastItemBytes;
  const perOutage = clampOps(subOps(a.total, scaleOps(perDelivery, n1)));
  const perProbe = clampOps(scaleOps(addOps(a.probe, b.probe), 0.5));
  return { perDelivery, perOutage, perProbe, staleExtra: b.staleExtra, deliveriesBeforeOpen: a.openedAfter };
}
