import { DUE_SHARDS } from '../../lambdas/shared/adapters/dynamo-delivery-store';
import { DEFAULTS, EMITTED_METRICS, LIMITS } from '../../lambdas/shared/contract';
import { DEFAULT_BREAKER_SETTINGS, probeDelayMs } from '../../lambdas/shared/domain/breaker';
import type { Input } from './arguments';
import type { CpuFigures } from './cpu';
import { addOps, dynamoTotals, emptyOps, indexTotals, type Ops, readUnits, scaleOps, writeUnits } from './ops';
import { type PriceTable, type RegionPrices, tiered, tiersOf } from './prices';
import type { Simulation } from './simulate';
import type { StackFacts } from './stack-facts';

/** The model: list prices × what the stack is configured to do × what the code was measured to do. */

export const SECONDS_PER_MONTH = 730 * 3600;
const DAYS_PER_MONTH = 730 / 24;

/**
 * `lanes`: the isolation design as built (fast lane inline in the delivery function, slow lane on
 * the retry queue). `planner`: the alternative of the isolation issue, priced for the decision
 * record: the events' consumer only plans (lists the webhooks, sends one job per delivery to a
 * fair queue, SendMessageBatch of 10) and a second function attempts the jobs.
 */
export type Design = 'lanes' | 'planner';

/** Everything the model prices. */
export interface Scenario {
  readonly input: Input;
  /** Attempt-log and CloudWatch Logs retention (the stack's unless overridden). */
  readonly retentionDays: number;
  readonly logRetentionDays: number;
  /** Records per delivery invocation, when given instead of derived from the event rate. */
  readonly batchFill?: number;
  readonly table: PriceTable;
  readonly prices: RegionPrices;
  readonly stack: StackFacts;
  readonly sim: Simulation;
  readonly cpu: CpuFigures;
  /** @default 'lanes' */
  readonly design?: Design;
}

export interface Line {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
  /** Monthly charge whatever the traffic. */
  readonly fixed?: boolean;
}

export interface CostModel {
  readonly design: Design;
  readonly lines: Line[];
  readonly batchFill: number;
  /** Visits per bus entry (1: single events). */
  readonly visitsPerEntry: number;
  /** Deliveries per month, and those that succeed. */
  readonly D: number;
  readonly Dok: number;
  /** DynamoDB write units per successful fast-lane delivery, and all write units in the month (indexes included). */
  readonly wOk: number;
  readonly wru: number;
  /** The isolation volumes behind the lines. */
  readonly isolation: IsolationVolumes;
  readonly total: number;
  /** The total without the fixed lines. */
  readonly variable: number;
  readonly perMillion: number;
  /** Monthly cost per service, largest first. */
  readonly services: Array<[string, number]>;
  readonly topItems: Line[];
}

/** How many of each kind of thing the isolation design does in the month. */
export interface IsolationVolumes {
  /** Deliveries delivered by the fast lane, by the slow lane, failing, rate-limited. */
  readonly Dfast: number;
  readonly Dslow: number;
  readonly Dfail: number;
  readonly Drl: number;
  /** Inline attempts aborted at the fast lane's budget (once per slow hold per slow webhook). */
  readonly slowMarks: number;
  /** Outages (breaker openings) and failed probes in the month. */
  readonly outages: number;
  readonly probes: number;
  /** Deliveries per outage that still saw the cached webhook without its breaker, beyond the one measured. */
  readonly staleDeliveries: number;
  /** Reconciler invocations. */
  readonly ticks: number;
}

/** The scenario with its monthly volumes: E events, D deliveries, Dfail failing and Dok successful ones. */
interface Month extends Scenario {
  readonly design: Design;
  readonly E: number;
  readonly D: number;
  readonly Dfail: number;
  readonly Dok: number;
  /** Deliveries priced as the fast lane's (measured `sim.success`): lanes, the fast lane's; planner, every job that succeeds at once. */
  readonly Dsuccess: number;
  readonly v: IsolationVolumes;
  /** What everything but the fast lane's deliveries and the idle ticks costs in the month (measured ops × volumes). */
  readonly other: Ops;
  /** The same, by kind: what the report's lines split by. */
  readonly parts: { slow: Ops; rateLimit: Ops; failing: Ops };
  /** Management API: API function and authorizer invocations, their GB-s. */
  readonly apiInvocations: number;
  readonly apiGbSeconds: number;
  /** The free-tier allowance of `key` (0 without --free-tier). */
  free(key: string): number;
  add(line: Line): void;
}

/** Invocations and their fill, derived from the event rate and the mappings' batching. */
interface Traffic {
  /** EventBridge `detail` bytes of one event. */
  readonly detailBytes: number;
  /** Visits per bus entry, the entries in the month and one entry's `detail` bytes. */
  readonly visitsPerEntry: number;
  readonly entries: number;
  readonly entryBytes: number;
  /** Queue records (entries) per delivery invocation; `batchFill`: events (visits) per invocation. */
  readonly recordFill: number;
  readonly batchFill: number;
  readonly deliveryInvocations: number;
  readonly retryRecords: number;
  readonly retryFill: number;
  readonly retryInvocations: number;
  /** planner: jobs on the fair queue per job-function invocation, and those invocations. */
  readonly jobFill: number;
  readonly jobInvocations: number;
  /** planner: SendMessageBatch requests per planner invocation (10 jobs per request). */
  readonly jobBatchesPerInvocation: number;
}

export function costModel(scenario: Scenario): CostModel {
  const lines: Line[] = [];
  const month = monthOf(scenario, lines);
  const traffic = trafficOf(month);
  eventBridgeLines(month, traffic);
  sqsLines(month, traffic);
  const coldStarts = lambdaLines(month, traffic);
  const { wOk, wru } = dynamoLines(month);
  cloudWatchLines(month, traffic);
  kmsAndTransferLines(month, coldStarts);
  apiLines(month);
  return { design: month.design, lines, batchFill: traffic.batchFill, visitsPerEntry: traffic.visitsPerEntry, D: month.D, Dok: month.Dok, wOk, wru, isolation: month.v, ...summarize(lines, month.D) };
}

/**
 * Failed probes of one outage before the webhook is auto-disabled: the reconciler probes at its
 * ticks, the wait doubling from the first interval up to the maximum (breaker.ts), over
 * `windowMs` from the breaker's opening.
 */
export function probesBefore(windowMs: number, tickMs: number): number {
  let t = 0;
  let n = 0;
  for (;;) {
    t = Math.ceil((t + probeDelayMs(n, DEFAULT_BREAKER_SETTINGS)) / tickMs) * tickMs;
    if (t >= windowMs) return n;
    n++;
  }
}

/** The month's isolation volumes from the traffic, the inputs and the stack's settings. */
export function isolationVolumes(input: Input, stack: StackFacts, design: Design): IsolationVolumes {
  const D = input.eventsPerMonth * input.fanOut;
  const Dfail = D * input.failureRate;
  const Dslow = D * input.slowFraction;
  const outages = Dfail > 0 ? input.failingWebhooks : 0;
  const tickMs = stack.reconciler.everySeconds * 1000;
  const probesPerOutage = input.failureMode === 'exhaust' ? probesBefore(stack.isolation.autoDisableAfterDays * 86_400_000, tickMs) : 0;
  // The delivery function caches a webhook list 10 s: deliveries of a failing webhook in that window after the opening.
  const perOutage = outages > 0 ? Dfail / outages : 0;
  const inCacheWindow = Math.min(perOutage, (perOutage / SECONDS_PER_MONTH) * (DEFAULTS.webhookCacheTtlMs / 1000));
  // A slow webhook's hold (5 minutes) starts at an aborted inline attempt and ends with the first
  // delivery after it: with deliveries arriving at random, a cycle lasts the hold plus the mean gap
  // between deliveries, so a webhook with N slow deliveries a month aborts 1 / (hold/month + 1/N) of them.
  const perSlowWebhook = input.slowWebhooks > 0 ? Dslow / input.slowWebhooks : 0;
  const marksPerWebhook = perSlowWebhook > 0 ? 1 / (DEFAULT_BREAKER_SETTINGS.slowHoldMs / (SECONDS_PER_MONTH * 1000) + 1 / perSlowWebhook) : 0;
  return {
    Dfast: D - Dfail - Dslow,
    Dslow,
    Dfail,
    Drl: D * input.rateLimitedFraction,
    slowMarks: design === 'lanes' ? input.slowWebhooks * marksPerWebhook : 0,
    outages,
    probes: outages * probesPerOutage,
    staleDeliveries: outages * Math.max(0, inCacheWindow - 1),
    ticks: SECONDS_PER_MONTH / stack.reconciler.everySeconds,
  };
}

function monthOf(scenario: Scenario, lines: Line[]): Month {
  const fr = scenario.table.freeTier;
  const design = scenario.design ?? 'lanes';
  const E = scenario.input.eventsPerMonth;
  const D = E * scenario.input.fanOut;
  const v = isolationVolumes(scenario.input, scenario.stack, design);
  const { sim } = scenario;
  // planner: a slow endpoint's delivery is one job like any other (no hand-off, no pending record).
  const slow = design === 'lanes' ? addOps(scaleOps(sim.slow.perDelivery, v.Dslow), sim.slow.perMark, v.slowMarks) : emptyOps();
  const rateLimit = scaleOps(sim.rateLimitExtra, v.Drl);
  const failing = [
    scaleOps(sim.failing.perDelivery, v.Dfail),
    scaleOps(sim.failing.perOutage, v.outages),
    scaleOps(sim.failing.staleExtra, v.staleDeliveries),
    scaleOps(sim.failing.perProbe, v.probes),
  ].reduce((a, b) => addOps(a, b));
  return {
    ...scenario,
    design,
    E,
    D,
    Dfail: v.Dfail,
    Dok: D - v.Dfail,
    Dsuccess: design === 'lanes' ? v.Dfast : v.Dfast + v.Dslow,
    v,
    other: [slow, rateLimit, failing].reduce((a, b) => addOps(a, b)),
    parts: { slow, rateLimit, failing },
    ...apiVolumes(scenario),
    free: (key: string) => (scenario.input.freeTier ? Number(fr[key] ?? 0) : 0),
    add: (line: Line) => lines.push(line),
  };
}

/**
 * The management API's invocations: the API function once per request, the authorizer once per
 * request unless its 60 s cache answers (one key per account: at most one call per account and minute).
 */
function apiVolumes({ input, stack }: Scenario): { apiInvocations: number; apiGbSeconds: number } {
  const requests = input.apiRequests ?? input.accounts * 100;
  const authorizer = Math.min(requests, input.accounts * (SECONDS_PER_MONTH / 60));
  const apiInvocations = requests + authorizer;
  return { apiInvocations, apiGbSeconds: apiInvocations * ((input.apiMs ?? 50) / 1000) * ((stack.api?.memoryMb ?? 512) / 1024) };
}

/** Records per invocation of a mapping that waits up to `windowSeconds` for `batchSize` records arriving at `perMonth`. */
export const fillOf = (perMonth: number, batchSize: number, windowSeconds: number) => Math.min(batchSize, Math.max(1, (perMonth / SECONDS_PER_MONTH) * Math.max(windowSeconds, 0.02)));

/**
 * Batch fill: how many records a delivery invocation gets. The mapping waits up to its batching
 * window for a full batch, so at low rates a batch holds about rate × window records.
 */
function trafficOf({ input, stack, E, D, other, batchFill: given }: Month): Traffic {
  const d = stack.delivery;
  const r = stack.retry;
  const detailBytes = input.payloadBytes + 60;
  const visitsPerEntry = visitsPerEntryOf(input);
  const entries = E / visitsPerEntry;
  const entryBytes = visitsPerEntry === 1 ? detailBytes : BATCH_FRAME_BYTES + visitsPerEntry * (detailBytes + 1);
  // The mapping batches queue records (entries); each brings its visits.
  const recordFill = given !== undefined ? given : fillOf(entries, d.batchSize, d.batchingWindowSeconds);
  const batchFill = recordFill * visitsPerEntry;
  const retryRecords = other.retryRecords;
  const retryFill = fillOf(retryRecords, r.batchSize, r.batchingWindowSeconds);
  // The planner's jobs queue is consumed like the events queue (same batch size and window).
  const jobFill = fillOf(D, d.batchSize, d.batchingWindowSeconds);
  return {
    detailBytes,
    visitsPerEntry,
    entries,
    entryBytes,
    recordFill,
    batchFill,
    deliveryInvocations: entries / recordFill,
    retryRecords,
    retryFill,
    retryInvocations: retryRecords / retryFill,
    jobFill,
    jobInvocations: D / jobFill,
    jobBatchesPerInvocation: Math.ceil((batchFill * input.fanOut) / 10),
  };
}

/** `{"visits":[` + `]}` around a batch entry's visits (eventbridge-publisher.ts). */
const BATCH_FRAME_BYTES = 13;
/** Source + DetailType of an entry (`tracking`, `NEW_VISIT`), counted in its size. */
const ENTRY_HEADER_BYTES = 17;

/**
 * Visits per bus entry. A number: as given (at most the contract's 100). `auto`: what
 * VisitBatchPublisher packs: as many visits as fit its 63 KiB entry (one billed chunk), at most
 * 100, and no more than one publisher sees within its flush interval at the month's average rate.
 */
export function visitsPerEntryOf(input: Input): number {
  const given = input.visitsPerEntry ?? 1;
  if (given !== 'auto') return Math.max(1, Math.min(given, LIMITS.visitsPerEventMax));
  const visitBytes = input.payloadBytes + 60 + 1;
  const fit = Math.floor((LIMITS.eventBilledChunkBytes - 1024 - ENTRY_HEADER_BYTES - BATCH_FRAME_BYTES) / visitBytes);
  const perFlush = ((input.eventsPerMonth / SECONDS_PER_MONTH) * ((input.publisherFlushMs ?? 1000) / 1000)) / (input.publishers ?? 1);
  return Math.max(1, Math.min(fit, LIMITS.visitsPerEventMax, perFlush));
}

/** EventBridge: each PutEvents entry is billed per 64 KB chunk of the entry (batch entries: several visits each). */
function eventBridgeLines({ prices, add }: Month, { entries, entryBytes, visitsPerEntry }: Traffic): void {
  const ebChunks = Math.ceil((entryBytes + ENTRY_HEADER_BYTES) / prices.eventbridge.billedChunkBytes);
  const what = visitsPerEntry === 1 ? 'custom events put on the bus' : `custom events put on the bus (batch entries of ${visitsPerEntry.toFixed(1)} visits, ${(entryBytes / 1024).toFixed(1)} KB)`;
  add({ service: 'EventBridge', item: what, quantity: entries * ebChunks, unit: 'events', usd: ((entries * ebChunks) / 1e6) * prices.eventbridge.customEventsPerMillion });
}

/**
 * SQS. Events queue: EventBridge sends each event (one request per 64 KB of the whole
 * EventBridge event); the mapping receives and deletes per batch; five pollers long-poll
 * (20 s) a queue even when it is empty. Retry queue (the slow lane, a fair queue: standard
 * pricing): every hand-off, retry, probe and release is a send, a receive and a delete (per
 * batch); failed deliveries go to the failed-deliveries queue. planner: every delivery is also a
 * job on a fair queue (SendMessageBatch, receive and delete per batch).
 */
function sqsLines({ input, prices, sim, design, other, free, add }: Month, t: Traffic): void {
  const eventJsonBytes = t.entryBytes + 330;
  const sqsChunk = prices.sqs.billedChunkBytes;
  const mappings = design === 'planner' ? 3 : 2;
  const jobsPerBatch = (t.batchFill * input.fanOut) / t.jobBatchesPerInvocation;
  const sqsRequests = {
    eventsSend: t.entries * Math.ceil(eventJsonBytes / sqsChunk),
    eventsReceiveDelete: 2 * t.deliveryInvocations,
    retrySends: other.sqsMessages,
    retryReceiveDelete: 2 * t.retryInvocations,
    jobsSend: design === 'planner' ? t.deliveryInvocations * t.jobBatchesPerInvocation * Math.max(1, Math.ceil((jobsPerBatch * sim.slow.messageBytes) / sqsChunk)) : 0,
    jobsReceiveDelete: design === 'planner' ? 2 * t.jobInvocations : 0,
    idle: mappings * 5 * (SECONDS_PER_MONTH / 20),
  };
  const sqsTotal = Object.values(sqsRequests).reduce((a, b) => a + b, 0);
  // Volume tiers over the month's requests (the free tier out of the first): one average price per request.
  const perRequest = sqsTotal > 0 ? tiered(sqsTotal, tiersOf(prices, 'sqsStandardRequestsPerMillion', prices.sqs.standardRequestsPerMillion), free('sqsRequests'), 1e6) / sqsTotal : 0;
  const usd = (requests: number) => requests * perRequest;
  add({ service: 'SQS', item: 'events queue: EventBridge sends', quantity: sqsRequests.eventsSend, unit: 'requests', usd: usd(sqsRequests.eventsSend) });
  add({ service: 'SQS', item: `events queue: receive + delete per batch (${t.recordFill.toFixed(1)} records)`, quantity: sqsRequests.eventsReceiveDelete, unit: 'requests', usd: usd(sqsRequests.eventsReceiveDelete) });
  if (design === 'planner') {
    add({ service: 'SQS', item: `jobs queue: SendMessageBatch (${jobsPerBatch.toFixed(1)} jobs of ${(sim.slow.messageBytes / 1024).toFixed(1)} KB each)`, quantity: sqsRequests.jobsSend, unit: 'requests', usd: usd(sqsRequests.jobsSend) });
    add({ service: 'SQS', item: `jobs queue: receive + delete per batch (${t.jobFill.toFixed(1)} jobs)`, quantity: sqsRequests.jobsReceiveDelete, unit: 'requests', usd: usd(sqsRequests.jobsReceiveDelete) });
  }
  add({
    service: 'SQS',
    item: `slow lane + failed queues: sends (hand-offs, retries, probes, releases, dead letters)`,
    quantity: sqsRequests.retrySends,
    unit: 'requests',
    usd: usd(sqsRequests.retrySends),
  });
  add({ service: 'SQS', item: `slow lane: receive + delete per batch (${t.retryFill.toFixed(1)} records)`, quantity: sqsRequests.retryReceiveDelete, unit: 'requests', usd: usd(sqsRequests.retryReceiveDelete) });
  add({ service: 'SQS', item: `idle long polls (5 pollers × ${mappings} mappings, 20 s)`, quantity: sqsRequests.idle, unit: 'requests', usd: usd(sqsRequests.idle), fixed: true });
}

/** The vCPU share of a memory size: CPU work stretches by it. */
const share = (table: PriceTable, mb: number) => Math.min(1, mb / table.assumptions.lambdaFullVcpuAtMb);

/**
 * Lambda durations (ms, summed over the month). CPU work stretches by the vCPU share of the memory
 * size; waiting on endpoints and on AWS calls does not. Duration = waits + CPU / share (no overlap
 * assumed within a record: conservative).
 *
 * - delivery (lanes): per invocation the slowest healthy endpoint, the batch's AWS calls, the CPU
 *   of its events and fast-lane deliveries; plus, in total, what the other deliveries did in it
 *   (measured: parks, hand-offs, the aborted inline attempts of slow endpoints, waited in full).
 * - planner: the delivery function only lists webhooks and sends jobs; a job function does the
 *   fast lane's work per job batch, waiting for a slow endpoint where a job batch has one.
 * - retry: records of a batch run concurrently, so their waits overlap across the batch; CPU does not.
 * - reconciler: each tick's breakers Query, then the eight `due` Queries in parallel; probes,
 *   releases and skips add their calls one after another.
 */
function lambdaDurations(month: Month, t: Traffic) {
  const { input, table, stack, sim, cpu, design, D, Dsuccess, other, v } = month;
  const d = stack.delivery;
  const f = input.cpuFactor;
  const deliveryShare = share(table, d.memoryMb);
  const cpuPerOkDeliveryMs = (cpu.perDeliveryHttpMs + cpu.perDeliveredRecordMs) * f;
  const nonFast = D > 0 ? 1 - v.Dfast / D : 0;
  const fastShare = D > 0 ? Dsuccess / D : 1;
  const withNonFast = (records: number) => 1 - (1 - nonFast) ** records;
  // The other deliveries' work in the delivery (or job) function: their calls' and attempts' CPU, their endpoint waits.
  const otherDeliveryCpuMs = (other.fn.delivery.awsCalls * cpu.perAwsCallMs + other.fn.delivery.attempts * cpu.perDeliveryHttpMs) * f;
  const otherDeliveryMsTotal = other.fn.delivery.waitMs + otherDeliveryCpuMs / deliveryShare;
  let deliveryWaitMs: number;
  let deliveryCpuMs: number;
  let jobDurationMs = 0;
  let jobDurationMsTotal = 0;
  if (design === 'lanes') {
    deliveryCpuMs = t.batchFill * (cpu.perEventMs * f + input.fanOut * fastShare * cpuPerOkDeliveryMs);
    deliveryWaitMs = input.endpointMs + input.awsCallMs * (1 + 2 * withNonFast(t.batchFill * input.fanOut));
  } else {
    // Planner: the webhook list (on a cache miss; counted as one call) and one round of SendMessageBatch.
    deliveryCpuMs = t.batchFill * cpu.perEventMs * f + t.jobBatchesPerInvocation * cpu.perAwsCallMs * f;
    deliveryWaitMs = 2 * input.awsCallMs;
    const jobCpuMs = t.jobFill * fastShare * cpuPerOkDeliveryMs;
    jobDurationMs = input.endpointMs + input.awsCallMs * (1 + 2 * (D > 0 ? 1 - (1 - v.Dfail / D) ** t.jobFill : 0)) + jobCpuMs / deliveryShare;
    // A job batch with a slow endpoint's job waits for it (several in one batch overlap).
    const slowExtensionMsTotal = (v.Dslow * Math.max(0, input.slowEndpointMs - input.endpointMs)) / Math.max(1, t.jobFill * input.slowFraction);
    jobDurationMsTotal = t.jobInvocations * jobDurationMs + slowExtensionMsTotal + otherDeliveryMsTotal;
  }
  const deliveryDurationMs = deliveryWaitMs + deliveryCpuMs / deliveryShare;
  const deliveryDurationMsTotal = t.deliveryInvocations * deliveryDurationMs + (design === 'lanes' ? otherDeliveryMsTotal : 0);
  const r = other.fn.retry;
  const retryCpuMs = (r.attempts * cpu.perDeliveryHttpMs + t.retryRecords * cpu.perEventMs + r.awsCalls * cpu.perAwsCallMs) * f;
  const retryDurationMsTotal = (r.waitMs + r.awsCalls * input.awsCallMs) / t.retryFill + retryCpuMs / share(table, stack.retry.memoryMb);
  const reconcilerShare = share(table, stack.reconciler.memoryMb);
  const idleTickMs = 2 * input.awsCallMs + (sim.reconcilerTick.fn.reconciler.awsCalls * cpu.perAwsCallMs * f) / reconcilerShare;
  const reconcilerWorkMsTotal = other.fn.reconciler.awsCalls * (input.awsCallMs + (cpu.perAwsCallMs * f) / reconcilerShare);
  return { deliveryCpuMs, deliveryWaitMs, deliveryDurationMs, deliveryDurationMsTotal, otherDeliveryMsTotal, jobDurationMs, jobDurationMsTotal, retryDurationMsTotal, idleTickMs, reconcilerWorkMsTotal };
}

/** The Lambda lines; returns the cold starts of the functions that decrypt signing secrets (delivery, retry, reconciler, API), for KMS. */
function lambdaLines(month: Month, t: Traffic): number {
  const { table, prices, stack, design, v, free, add } = month;
  const d = stack.delivery;
  const r = stack.retry;
  const rec = stack.reconciler;
  const x = lambdaDurations(month, t);
  const gbSecondPrice = (arch: string) => (arch === 'arm64' ? prices.lambda.gbSecondArm64 : prices.lambda.gbSecondX86);
  const coldStarts = 2 * (730 / 2) * Math.max(1, Math.ceil((t.deliveryInvocations / SECONDS_PER_MONTH) * (x.deliveryDurationMs / 1000)));
  const initMs = 600;
  const gb = (ms: number, mb: number) => (ms / 1000) * (mb / 1024);
  const gbS = {
    delivery: gb(x.deliveryDurationMsTotal, d.memoryMb),
    jobs: gb(x.jobDurationMsTotal, d.memoryMb),
    retry: gb(x.retryDurationMsTotal, r.memoryMb),
    reconcilerIdle: gb(v.ticks * x.idleTickMs, rec.memoryMb),
    reconcilerWork: gb(x.reconcilerWorkMsTotal, rec.memoryMb),
    init: coldStarts * gb(initMs, d.memoryMb),
  };
  const gbSTotal = Object.values(gbS).reduce((a, b) => a + b, 0) + month.apiGbSeconds;
  // Volume tiers per architecture over the month's GB-s (the free tier shared in proportion): an average price each.
  const byArch = { arm64: 0, x86_64: 0 };
  const archOf: Record<keyof typeof gbS, string> = { delivery: d.architecture, jobs: d.architecture, retry: r.architecture, reconcilerIdle: rec.architecture, reconcilerWork: rec.architecture, init: d.architecture };
  for (const [k, v] of Object.entries(gbS)) byArch[archOf[k as keyof typeof gbS] === 'arm64' ? 'arm64' : 'x86_64'] += v;
  byArch[month.stack.api?.architecture === 'x86_64' ? 'x86_64' : 'arm64'] += month.apiGbSeconds;
  const averagePrice = (arch: string) => {
    const key = arch === 'arm64' ? 'arm64' : 'x86_64';
    const total = byArch[key];
    if (total <= 0) return gbSecondPrice(arch);
    const tiers = tiersOf(prices, key === 'arm64' ? 'lambdaGbSecondArm64' : 'lambdaGbSecondX86', gbSecondPrice(arch));
    return tiered(total, tiers, free('lambdaGbSeconds') * (total / gbSTotal)) / total;
  };
  const jobInvocations = design === 'planner' ? t.jobInvocations : 0;
  const invocations = t.deliveryInvocations + t.retryInvocations + v.ticks + jobInvocations + month.apiInvocations;
  const invBilledShare = invocations > 0 ? Math.max(0, invocations - free('lambdaRequests')) / invocations : 1;
  const requests = (n: number) => (n / 1e6) * prices.lambda.requestsPerMillion * invBilledShare;
  const seconds = (gbSeconds: number, arch: string) => gbSeconds * averagePrice(arch);
  const deliveryName = design === 'planner' ? 'planner' : 'delivery';
  add({ service: 'Lambda', item: `${deliveryName} requests (${t.batchFill.toFixed(1)} events each)`, quantity: t.deliveryInvocations, unit: 'invocations', usd: requests(t.deliveryInvocations) });
  const cpuPart = x.deliveryCpuMs / share(table, d.memoryMb);
  const extra = design === 'lanes' && x.otherDeliveryMsTotal > 0 ? `; + ${(x.otherDeliveryMsTotal / 3.6e6).toFixed(0)} h aborted attempts, parks` : '';
  add({
    service: 'Lambda',
    item: `${deliveryName} duration (${d.memoryMb} MB ${d.architecture}, ${x.deliveryDurationMs.toFixed(0)} ms: ${x.deliveryWaitMs.toFixed(0)} waiting + ${cpuPart.toFixed(0)} CPU${extra})`,
    quantity: gbS.delivery,
    unit: 'GB-s',
    usd: seconds(gbS.delivery, d.architecture),
  });
  if (design === 'planner') {
    add({ service: 'Lambda', item: `job function requests (${t.jobFill.toFixed(1)} jobs each)`, quantity: t.jobInvocations, unit: 'invocations', usd: requests(t.jobInvocations) });
    add({ service: 'Lambda', item: `job function duration (${d.memoryMb} MB ${d.architecture}, ${x.jobDurationMs.toFixed(0)} ms per batch, slow endpoints' waits)`, quantity: gbS.jobs, unit: 'GB-s', usd: seconds(gbS.jobs, d.architecture) });
  }
  add({ service: 'Lambda', item: `retry (slow lane) requests (${t.retryFill.toFixed(1)} records each)`, quantity: t.retryInvocations, unit: 'invocations', usd: requests(t.retryInvocations) });
  add({ service: 'Lambda', item: `retry (slow lane) duration (${(t.retryRecords / 1e3).toFixed(0)} k records)`, quantity: gbS.retry, unit: 'GB-s', usd: seconds(gbS.retry, r.architecture) });
  add({ service: 'Lambda', item: `reconciler requests (every ${rec.everySeconds} s)`, quantity: v.ticks, unit: 'invocations', usd: requests(v.ticks), fixed: true });
  add({ service: 'Lambda', item: `reconciler duration (${rec.memoryMb} MB ${rec.architecture}, ${x.idleTickMs.toFixed(0)} ms a tick)`, quantity: gbS.reconcilerIdle, unit: 'GB-s', usd: seconds(gbS.reconcilerIdle, rec.architecture), fixed: true });
  add({ service: 'Lambda', item: 'reconciler work (probes, releases, skips)', quantity: gbS.reconcilerWork, unit: 'GB-s', usd: seconds(gbS.reconcilerWork, rec.architecture) });
  add({ service: 'Lambda', item: `init (cold starts ≈ ${Math.round(coldStarts)}, ${initMs} ms each)`, quantity: gbS.init, unit: 'GB-s', usd: seconds(gbS.init, d.architecture) });
  const api = month.stack.api ?? { memoryMb: 512, architecture: 'arm64' as const };
  add({ service: 'Lambda', item: `management API + authorizer requests (${qtyText(month.input.apiRequests ?? month.input.accounts * 100)} API requests)`, quantity: month.apiInvocations, unit: 'invocations', usd: requests(month.apiInvocations), fixed: true });
  add({ service: 'Lambda', item: `management API + authorizer duration (${api.memoryMb} MB ${api.architecture}, ${month.input.apiMs ?? 50} ms each)`, quantity: month.apiGbSeconds, unit: 'GB-s', usd: seconds(month.apiGbSeconds, api.architecture), fixed: true });
  // Containers of the retry, reconciler and API functions: one an hour each at least (as the delivery function's).
  return coldStarts + 3 * 730;
}

/**
 * DynamoDB on-demand: request units as dynalite charged them, per kind of delivery, plus the
 * index writes counted from the items (the sparse `due`, `status` and `breakers` GSIs project ALL:
 * each index write is billed per KB of the item, like a table write); storage for the retention.
 */
function dynamoLines(month: Month): { wOk: number; wru: number } {
  const { input, retentionDays, table, prices, stack, sim, E, v, Dsuccess, other, parts, free, add } = month;
  const wru$ = (units: number) => (units / 1e6) * prices.dynamodb.onDemandWritePerMillion;
  const tableWrites = (ops: Ops) => dynamoTotals(ops, 'deliveries', 'write').units + dynamoTotals(ops, 'webhooks', 'write').units;
  const wOk = writeUnits(sim.success);
  const fastWru = Dsuccess * wOk;
  const slowWru = tableWrites(parts.slow);
  const rateWru = tableWrites(parts.rateLimit);
  const failWru = tableWrites(parts.failing);
  const index = indexTotals(other);
  // Delivery statistics: one UpdateItem (ADD) per webhook and invocation (DeliveryStats.flush), as simulated.
  const statsWrites = (ops: Ops) => dynamoTotals(ops, 'stats', 'write').units;
  const statsPerOk = statsWrites(sim.success);
  const statsWru = Dsuccess * statsPerOk + statsWrites(parts.slow) + statsWrites(parts.rateLimit) + statsWrites(parts.failing) + statsWrites(other);
  const wru = fastWru + slowWru + rateWru + failWru + index.units + statsWru;
  add({ service: 'DynamoDB', item: `writes: delivered records, fast lane (${wOk.toFixed(1)} WRU each, batched)`, quantity: fastWru, unit: 'WRU', usd: wru$(fastWru) });
  if (month.design === 'lanes') {
    add({
      service: 'DynamoDB',
      item: `writes: slow lane (pending record, then delivered: ${tableWrites(sim.slow.perDelivery).toFixed(1)} WRU each; markSlow)`,
      quantity: slowWru,
      unit: 'WRU',
      usd: wru$(slowWru),
    });
  }
  add({ service: 'DynamoDB', item: `writes: rate limiter (${tableWrites(sim.rateLimitExtra).toFixed(1)} conditional UpdateItem per rate-limited delivery)`, quantity: rateWru, unit: 'WRU', usd: wru$(rateWru) });
  add({
    service: 'DynamoDB',
    item: `writes: failing endpoints (parked, then ${input.failureMode === 'exhaust' ? 'skipped' : 'released'}: ${tableWrites(sim.failing.perDelivery).toFixed(1)} WRU each; onsets, probes)`,
    quantity: failWru,
    unit: 'WRU',
    usd: wru$(failWru),
  });
  const byIndex = ['due', 'status', 'breakers'].map((name) => `${name} ${(indexTotals(other, name === 'breakers' ? 'webhooks breakers' : `deliveries ${name}`).units / 1e3).toFixed(0)} k`).join(', ');
  add({ service: 'DynamoDB', item: `writes: GSIs (ALL projection; WRU: ${byIndex})`, quantity: index.units, unit: 'WRU', usd: wru$(index.units) });
  add({
    service: 'DynamoDB',
    // As simulated: a batch of one account's events (best case); up to 1 WRU per delivery when every delivery of a batch is another webhook's.
    item: `writes: delivery statistics (1 ADD per webhook and invocation: ${statsPerOk.toFixed(2)} per delivery)`,
    quantity: statsWru,
    unit: 'WRU',
    usd: wru$(statsWru),
  });
  // The webhook list is cached 10 s per container: a Query per event unless the account had another event in the last 10 s.
  const eventsPerAccountPer10s = (E / input.accounts / SECONDS_PER_MONTH) * (DEFAULTS.webhookCacheTtlMs / 1000);
  const missRate = eventsPerAccountPer10s >= 1 ? 1 / eventsPerAccountPer10s : 1;
  const rru = E * missRate * sim.cacheMissQuery.units + Dsuccess * readUnits(sim.success) + readUnits(other);
  add({ service: 'DynamoDB', item: `reads (webhook list on a cache miss: ${(missRate * 100).toFixed(0)} % of events; slow lane, probes)`, quantity: rru, unit: 'RRU', usd: (rru / 1e6) * prices.dynamodb.onDemandReadPerMillion });
  const tickRru = v.ticks * readUnits(sim.reconcilerTick);
  add({ service: 'DynamoDB', item: `reconciler ticks: breakers, ${DUE_SHARDS} due-shard and the recovery jobs' GSI Queries (${readUnits(sim.reconcilerTick).toFixed(1)} RRU a tick)`, quantity: tickRru, unit: 'RRU', usd: (tickRru / 1e6) * prices.dynamodb.onDemandReadPerMillion, fixed: true });
  const overhead = table.assumptions.dynamodbStorageOverheadBytesPerItem;
  // Items live `retentionDays` (TTL), and TTL deletes within about two days after expiry.
  const storedMonths = (retentionDays + 2) / DAYS_PER_MONTH;
  const slowLaneItems = month.design === 'lanes' ? v.Dslow * (sim.slow.perDelivery.finalItemBytes + overhead) : 0;
  const storedGb = ((Dsuccess * (sim.success.finalItemBytes + overhead) + slowLaneItems + v.Dfail * (sim.failing.perDelivery.finalItemBytes + overhead)) * storedMonths) / 1e9;
  const billedGb = Math.max(0, storedGb - free('dynamodbStorageGb'));
  add({ service: 'DynamoDB', item: `attempt-log storage (${retentionDays} days; ${sim.success.finalItemBytes} B per delivered item)`, quantity: storedGb, unit: 'GB-month', usd: billedGb * prices.dynamodb.storageGbMonth });
  // PITR bills the table's size: the attempt log's, when the deliveries table has it (the other tables are a few KB).
  const pitrGb = stack.deliveriesPitr ? storedGb : 0;
  add({
    service: 'DynamoDB',
    item: `point-in-time recovery on the attempt log (${stack.deliveriesPitr ? 'on' : 'off'}; ${stack.pitrTables}/${stack.tables} tables)`,
    quantity: pitrGb,
    unit: 'GB-month',
    usd: pitrGb * prices.dynamodb.pitrGbMonth,
  });
  return { wOk, wru };
}

/**
 * Custom metrics from EMF: one per metric name × function (`service` dimension), as the
 * contract's `EMITTED_METRICS` lists them (no ColdStart: the handlers do not capture it).
 */
export const CUSTOM_METRICS = Object.values(EMITTED_METRICS).reduce((n, names) => n + names.length, 0);
const CUSTOM_METRICS_DETAIL = Object.entries(EMITTED_METRICS)
  .map(([fn, names]) => `${fn} ${names.length}`)
  .join(', ');

/** CloudWatch Logs: what the handlers write (Powertools logs, EMF metrics) plus Lambda's START/END/REPORT lines; metrics; alarms. */
function cloudWatchLines({ logRetentionDays, table, prices, stack, sim, design, v, Dsuccess, other, free, add }: Month, t: Traffic): void {
  const platformBytesPerInvocation = 330;
  const jobInvocations = design === 'planner' ? t.jobInvocations : 0;
  const logBytes =
    Dsuccess * sim.success.logBytes +
    other.logBytes +
    (t.deliveryInvocations + jobInvocations) * (sim.logBytesPerInvocation + platformBytesPerInvocation) +
    t.retryInvocations * platformBytesPerInvocation +
    v.ticks * (sim.reconcilerTick.logBytes + platformBytesPerInvocation);
  const logGb = logBytes / 1e9;
  const ingestUsd = tiered(logGb, tiersOf(prices, 'lambdaLogsIngestionPerGb', prices.cloudwatch.logsIngestionPerGb), free('logsGb'));
  add({ service: 'CloudWatch', item: `log ingestion (${sim.success.logBytes.toFixed(0)} B per delivery, ${(sim.logBytesPerInvocation + platformBytesPerInvocation).toFixed(0)} B per invocation)`, quantity: logGb, unit: 'GB', usd: ingestUsd });
  const logStoredGb = logGb * table.assumptions.logsCompressionRatio * (logRetentionDays / DAYS_PER_MONTH);
  add({ service: 'CloudWatch', item: `log storage (${logRetentionDays}-day retention, compressed)`, quantity: logStoredGb, unit: 'GB-month', usd: logStoredGb * prices.cloudwatch.logsStoragePerGbMonth });
  add({
    service: 'CloudWatch',
    item: `custom metrics (EMF, name × function: ${CUSTOM_METRICS_DETAIL})`,
    quantity: CUSTOM_METRICS,
    unit: 'metrics',
    usd: Math.max(0, CUSTOM_METRICS - free('customMetrics')) * prices.cloudwatch.customMetricMonth,
    fixed: true,
  });
  add({ service: 'CloudWatch', item: 'alarms', quantity: stack.alarms, unit: 'alarms', usd: Math.max(0, stack.alarms - free('alarms')) * prices.cloudwatch.standardAlarmMonth, fixed: true });
}

/**
 * KMS keys, and data transfer out: every attempt's request (TLS record overhead ~2 %, ~1 KB of client
 * handshake on a new connection: endpoints see too few requests per container to keep one open).
 */
function kmsAndTransferLines({ input, prices, stack, sim, Dsuccess, other, free, add }: Month, coldStarts: number): void {
  add({ service: 'KMS', item: 'customer managed keys', quantity: stack.kmsKeys, unit: 'keys', usd: stack.kmsKeys * prices.kms.keyMonth, fixed: true });
  // Each container decrypts each data key it meets once (KmsEnvelopeCipher caches it); with one
  // data key per container that wrote a secret, the API's containers each also generate one.
  const dataKeys = input.dataKeys ?? 1;
  const kmsRequests = coldStarts * dataKeys + (dataKeys > 1 ? 730 : 0);
  add({
    service: 'KMS',
    item: `requests (Decrypt: ${dataKeys} data key${dataKeys === 1 ? '' : 's'} per container × ≈ ${Math.round(coldStarts)} containers${dataKeys > 1 ? '; GenerateDataKey per API container' : ''})`,
    quantity: kmsRequests,
    unit: 'requests',
    usd: (kmsRequests / 1e4) * prices.kms.requestsPer10k,
  });
  const attempts = Dsuccess * sim.success.httpAttempts + other.httpAttempts;
  const outBytes = Dsuccess * sim.success.httpBytesOut + other.httpBytesOut;
  const outGb = (outBytes * 1.02 + attempts * 1024) / 1e9;
  const outUsd = tiered(outGb, tiersOf(prices, 'dataTransferOutPerGb', prices.dataTransfer.internetOutPerGb), free('dataTransferOutGb'));
  add({ service: 'Data transfer', item: `out to endpoints (${(sim.success.httpBytesOut / 1024).toFixed(1)} KB per request + TLS)`, quantity: outGb, unit: 'GB', usd: outUsd });
}

/** API Gateway (REST) requests on their volume tiers, and the API's DynamoDB reads (about 2 RRU a request: the key, the page). */
function apiLines({ input, prices, add }: Month): void {
  const requests = input.apiRequests ?? input.accounts * 100;
  if (!prices.apiGateway) return;
  add({
    service: 'API Gateway',
    item: 'REST API requests (management API and dashboard)',
    quantity: requests,
    unit: 'requests',
    usd: tiered(requests, tiersOf(prices, 'apiGatewayRestRequestsPerMillion', prices.apiGateway.restRequestsPerMillion), 0, 1e6),
    fixed: true,
  });
  add({ service: 'DynamoDB', item: 'management API reads (≈ 2 RRU a request, assumed)', quantity: 2 * requests, unit: 'RRU', usd: ((2 * requests) / 1e6) * prices.dynamodb.onDemandReadPerMillion, fixed: true });
}

const qtyText = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(1)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(0)} k` : v.toFixed(0));

function summarize(lines: Line[], D: number) {
  const total = lines.reduce((n, l) => n + l.usd, 0);
  const variable = lines.filter((l) => !l.fixed).reduce((n, l) => n + l.usd, 0);
  const byService = new Map<string, number>();
  for (const l of lines) byService.set(l.service, (byService.get(l.service) ?? 0) + l.usd);
  return {
    total,
    variable,
    perMillion: total / (D / 1e6),
    services: [...byService.entries()].sort((a, b) => b[1] - a[1]),
    topItems: [...lines].sort((a, b) => b.usd - a.usd).slice(0, 3),
  };
}
