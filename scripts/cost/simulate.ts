import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { benchPayload } from '../../bench/payload';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { createRetryHandler } from '../../lambdas/retry/app';
import { logger, metricSink } from '../../lambdas/shared/adapters/powertools';
import { PIPELINE } from '../../lambdas/shared/contract';
import type { RetryMessage } from '../../lambdas/shared/domain/messages';
import { deliveryIdFor } from '../../lambdas/shared/domain/model';
import type { RetryQueue } from '../../lambdas/shared/domain/ports';
import { type Harness, startHarness } from '../../local/harness/harness';
import { type DriveLog, driveRetries } from '../../local/harness/retry-driver';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord } from '../../local/lambda-events';
import type { Input } from './arguments';
import { emptyOps, type Ops, topLevelItemSize } from './ops';
import { FAILED, OK, ScriptedSender } from './scripted-sender';

/**
 * What one delivery reads, writes, sends and logs: the real delivery and retry handlers
 * (Powertools logging included) on dynalite with a scripted HTTP sender, every DynamoDB call
 * counted with its consumed capacity, every SQS message and every log byte.
 */
export interface Simulation {
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

/** Where operations are counted: each measured step starts a fresh `current`. */
interface Meter {
  current: Ops;
}

/** The harness, its counters and the event every measurement sends. */
interface Rig {
  readonly h: Harness;
  readonly meter: Meter;
  /** The harness's retry queue, counting each message sent on it. */
  readonly retryQueue: RetryQueue;
  readonly accountId: string;
  readonly payload: Record<string, unknown>;
}

export async function simulate(payloadBytes: number, fanOutForQuery: number, failureMode: Input['failureMode']): Promise<Simulation> {
  const h = await startHarness();
  try {
    const meter: Meter = { current: emptyOps() };
    countDynamoCalls(h, meter);
    const rig: Rig = { h, meter, retryQueue: countingRetryQueue(h, meter), accountId: 'acct_01JDQ8Z6W3M4N5P6Q7R8S9T0VX', payload: benchPayload(payloadBytes) };
    const restoreOutput = captureOutput(meter);
    try {
      const ok = await measureSuccess(rig, fanOutForQuery);
      const { failing, drive } = await measureFailing(rig, failureMode);
      return { success: ok.success, failing, cacheMissQuery: { units: ok.queryUnits }, logBytesPerInvocation: Math.max(0, ok.perInvocationLog), retryHops: drive.hops, retryAttempts: drive.attempts };
    } finally {
      restoreOutput();
    }
  } finally {
    await h.close();
  }
}

/** Counts every DynamoDB call with the capacity dynalite charges (max of the item before and after, as DynamoDB does). */
function countDynamoCalls(h: Harness, meter: Meter): void {
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
      const entry = meter.current.dynamo.get(key) ?? { calls: 0, units: 0 };
      entry.calls++;
      entry.units += consumed;
      meter.current.dynamo.set(key, entry);
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
      await h.retryQueue.enqueue(message, delaySeconds);
    },
  };
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

/** Reads a delivery's item outside the counted operations. */
async function readItem(rig: Rig, account: string, webhookId: string, deliveryId?: string): Promise<Record<string, unknown> | undefined> {
  const counted = rig.meter.current;
  rig.meter.current = emptyOps();
  try {
    const out = await rig.h.doc.send(
      new QueryCommand({
        TableName: rig.h.tables.deliveries,
        KeyConditionExpression: deliveryId ? 'pk = :pk AND deliveryId = :id' : 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `${account}#${webhookId}`, ...(deliveryId ? { ':id': deliveryId } : {}) },
        Limit: 1,
      }),
    );
    return out.Items?.[0];
  } finally {
    rig.meter.current = counted;
  }
}

/** Successful deliveries, warm cache: per delivery, split into per-record and per-invocation log bytes. */
async function measureSuccess(rig: Rig, fanOutForQuery: number): Promise<{ success: Ops; queryUnits: number; perInvocationLog: number }> {
  const { h, meter, accountId, payload } = rig;
  const okSender = new ScriptedSender(() => OK);
  const hooks = [];
  for (let i = 0; i < Math.max(1, Math.round(fanOutForQuery)); i++) {
    hooks.push(await h.putWebhook({ accountId, url: `https://hooks.example.com/visits/${i}`, webhookId: `wh_01JDQ8Z6W3M4N5P6Q7R8S9T${String(i).padStart(3, '0')}` }));
  }
  const okRuntime = h.runtime({ sender: okSender, log: logger, metrics: metricSink, retryQueue: rig.retryQueue });
  const okHandler = createDeliveryHandler(okRuntime);
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
  okSender.attempts = 0;
  okSender.bytesOut = 0;
  const n = PIPELINE.batchSize;
  await okHandler(batch(n), lambdaContext);
  const ten = meter.current;
  const deliveriesInTen = n * hooks.length;
  const perRecordLog = (ten.logBytes - one.logBytes) / (n - 1);
  const success: Ops = {
    ...emptyOps(),
    dynamo: new Map([...ten.dynamo.entries()].map(([k, v]) => [k, { calls: v.calls / deliveriesInTen, units: v.units / deliveriesInTen }])),
    httpAttempts: okSender.attempts / deliveriesInTen,
    httpBytesOut: okSender.bytesOut / deliveriesInTen,
    logBytes: perRecordLog / hooks.length,
    logLines: (ten.logLines - one.logLines) / (n - 1) / hooks.length,
  };
  const sampleDelivered = await readItem(rig, accountId, hooks[0]?.webhookId ?? '');
  success.finalItemBytes = sampleDelivered ? topLevelItemSize(sampleDelivered) : 0;
  return { success, queryUnits, perInvocationLog: one.logBytes - perRecordLog };
}

/** One failing delivery, through its whole retry schedule (or until it recovers). */
async function measureFailing(rig: Rig, failureMode: Input['failureMode']): Promise<{ failing: Ops; drive: DriveLog }> {
  const { h, meter, payload } = rig;
  const failingAccount = `${rig.accountId}F`;
  const failingHook = await h.putWebhook({
    accountId: failingAccount,
    url: 'https://down.example.com/hook',
    webhookId: 'wh_01JDQ8Z6W3M4N5P6Q7R8S9TFAIL',
    // Exhaust: the endpoint has been failing for a while, so the circuit is open (no inline attempt) — the
    // steady state of a dead endpoint. Recover: a first failure on a healthy webhook.
    ...(failureMode === 'exhaust' ? { failingSince: new Date(h.clock.now() - 3_600_000).toISOString() } : {}),
  });
  const failSender = new ScriptedSender((attempt) => (failureMode === 'recover' && attempt > 1 ? OK : FAILED));
  const failRuntime = h.runtime({ sender: failSender, log: logger, metrics: metricSink, retryQueue: rig.retryQueue });
  const failHandler = createDeliveryHandler(failRuntime);
  await failHandler(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', failingAccount, payload))), lambdaContext); // warm the cache
  h.retryQueue.take();
  failSender.attempts = 0;
  failSender.bytesOut = 0;
  meter.current = emptyOps();
  const event = eventBridgeEvent('NEW_VISIT', failingAccount, payload);
  await failHandler(sqsEvent(sqsRecord(event)), lambdaContext);
  const drive = await driveRetries(h.retryQueue, h.clock, createRetryHandler(failRuntime), 2000);
  const failing = meter.current;
  failing.retryRecords = drive.hops + drive.attempts;
  failing.hops = drive.hops;
  failing.httpAttempts = failSender.attempts;
  failing.httpBytesOut = failSender.bytesOut;
  failing.sqsMessages += h.failedSink.sent.length;
  failing.sqsBytes += h.failedSink.sent.reduce((b, m) => b + Buffer.byteLength(m.body), 0);
  // Log bytes stay as captured: the driver hands each retry record to its own invocation, so this
  // includes one invocation's overhead (metrics flush or its "no metrics" warning) per record: an upper bound.
  const finalItem = await readItem(rig, failingAccount, failingHook.webhookId, deliveryIdFor(Date.parse(event.time), event.id, failingHook.webhookId));
  failing.finalItemBytes = finalItem ? topLevelItemSize(finalItem) : 0;
  return { failing, drive };
}
