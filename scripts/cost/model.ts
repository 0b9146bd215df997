import { DEFAULTS } from '../../lambdas/shared/contract';
import type { Input } from './arguments';
import type { CpuFigures } from './cpu';
import { dynamoTotals } from './ops';
import type { PriceTable, RegionPrices } from './prices';
import type { Simulation } from './simulate';
import type { StackFacts } from './stack-facts';

/** The model: list prices × what the stack is configured to do × what the code was measured to do. */

export const SECONDS_PER_MONTH = 730 * 3600;
const DAYS_PER_MONTH = 730 / 24;

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
  readonly lines: Line[];
  readonly batchFill: number;
  /** Deliveries per month, and those that succeed. */
  readonly D: number;
  readonly Dok: number;
  /** DynamoDB write units per successful delivery, and all write units in the month. */
  readonly wOk: number;
  readonly wru: number;
  readonly total: number;
  /** The total without the fixed lines. */
  readonly variable: number;
  readonly perMillion: number;
  /** Monthly cost per service, largest first. */
  readonly services: Array<[string, number]>;
  readonly topItems: Line[];
}

/** The scenario with its monthly volumes: E events, D deliveries, Dfail failing and Dok successful ones. */
interface Month extends Scenario {
  readonly E: number;
  readonly D: number;
  readonly Dfail: number;
  readonly Dok: number;
  /** The free-tier allowance of `key` (0 without --free-tier). */
  free(key: string): number;
  add(line: Line): void;
}

/** Invocations and their fill, derived from the event rate and the mappings' batching. */
interface Traffic {
  /** EventBridge `detail` bytes of one event. */
  readonly detailBytes: number;
  readonly batchFill: number;
  readonly deliveryInvocations: number;
  readonly retryRecords: number;
  readonly retryFill: number;
  readonly retryInvocations: number;
}

export function costModel(scenario: Scenario): CostModel {
  const lines: Line[] = [];
  const month = monthOf(scenario, lines);
  const traffic = trafficOf(month);
  eventBridgeLines(month, traffic);
  sqsLines(month, traffic);
  lambdaLines(month, traffic);
  const { wOk, wru } = dynamoLines(month);
  cloudWatchLines(month, traffic);
  kmsAndTransferLines(month);
  return { lines, batchFill: traffic.batchFill, D: month.D, Dok: month.Dok, wOk, wru, ...summarize(lines, month.D) };
}

function monthOf(scenario: Scenario, lines: Line[]): Month {
  const fr = scenario.table.freeTier;
  const E = scenario.input.eventsPerMonth;
  const D = E * scenario.input.fanOut;
  const Dfail = D * scenario.input.failureRate;
  return {
    ...scenario,
    E,
    D,
    Dfail,
    Dok: D - Dfail,
    free: (key: string) => (scenario.input.freeTier ? Number(fr[key] ?? 0) : 0),
    add: (line: Line) => lines.push(line),
  };
}

/**
 * Batch fill: how many records a delivery invocation gets. The mapping waits up to its batching
 * window for a full batch, so at low rates a batch holds about rate × window records.
 */
function trafficOf({ input, stack, sim, E, Dfail, batchFill: given }: Month): Traffic {
  const d = stack.delivery;
  const r = stack.retry;
  const eventRate = E / SECONDS_PER_MONTH;
  const batchFill = given !== undefined ? given : Math.min(d.batchSize, Math.max(1, eventRate * Math.max(d.batchingWindowSeconds, 0.02)));
  const retryRecords = Dfail * sim.failing.retryRecords;
  const retryRate = retryRecords / SECONDS_PER_MONTH;
  const retryFill = Math.min(r.batchSize, Math.max(1, retryRate * Math.max(r.batchingWindowSeconds, 0.02)));
  return { detailBytes: input.payloadBytes + 60, batchFill, deliveryInvocations: E / batchFill, retryRecords, retryFill, retryInvocations: retryRecords / retryFill };
}

/** EventBridge: each PutEvents entry is billed per 64 KB chunk of the entry. */
function eventBridgeLines({ prices, E, add }: Month, { detailBytes }: Traffic): void {
  const ebChunks = Math.ceil(detailBytes / prices.eventbridge.billedChunkBytes);
  add({ service: 'EventBridge', item: 'custom events put on the bus', quantity: E * ebChunks, unit: 'events', usd: ((E * ebChunks) / 1e6) * prices.eventbridge.customEventsPerMillion });
}

/**
 * SQS. Events queue: EventBridge sends each event (one request per 64 KB of the whole
 * EventBridge event); the mapping receives and deletes per batch; five pollers long-poll
 * (20 s) a queue even when it is empty. Retry queue: every hop and retry is a send, a
 * receive and a delete (per batch); exhausted deliveries go to the failed-deliveries queue.
 */
function sqsLines({ prices, sim, E, Dfail, free, add }: Month, t: Traffic): void {
  const eventJsonBytes = t.detailBytes + 330;
  const sqsChunk = prices.sqs.billedChunkBytes;
  const idlePolls = 2 * 5 * (SECONDS_PER_MONTH / 20);
  const sqsRequests = {
    eventsSend: E * Math.ceil(eventJsonBytes / sqsChunk),
    eventsReceiveDelete: 2 * t.deliveryInvocations,
    retrySends: Dfail * sim.failing.sqsMessages,
    retryReceiveDelete: 2 * t.retryInvocations,
    idle: idlePolls,
  };
  const sqsTotal = Object.values(sqsRequests).reduce((a, b) => a + b, 0);
  const sqsBilled = Math.max(0, sqsTotal - free('sqsRequests'));
  const usd = (requests: number) => (requests / 1e6) * prices.sqs.standardRequestsPerMillion * (sqsBilled / sqsTotal);
  add({ service: 'SQS', item: 'events queue: EventBridge sends', quantity: sqsRequests.eventsSend, unit: 'requests', usd: usd(sqsRequests.eventsSend) });
  add({ service: 'SQS', item: `events queue: receive + delete per batch (${t.batchFill.toFixed(1)} records)`, quantity: sqsRequests.eventsReceiveDelete, unit: 'requests', usd: usd(sqsRequests.eventsReceiveDelete) });
  add({ service: 'SQS', item: `retry + failed queues: sends (${sim.failing.sqsMessages} per failing delivery)`, quantity: sqsRequests.retrySends, unit: 'requests', usd: usd(sqsRequests.retrySends) });
  add({ service: 'SQS', item: `retry queue: receive + delete per batch (${t.retryFill.toFixed(1)} records)`, quantity: sqsRequests.retryReceiveDelete, unit: 'requests', usd: usd(sqsRequests.retryReceiveDelete) });
  add({ service: 'SQS', item: 'idle long polls (5 pollers × 2 mappings, 20 s)', quantity: sqsRequests.idle, unit: 'requests', usd: usd(sqsRequests.idle), fixed: true });
}

/** The vCPU share of a memory size: CPU work stretches by it. */
const share = (table: PriceTable, mb: number) => Math.min(1, mb / table.assumptions.lambdaFullVcpuAtMb);

/**
 * Lambda durations. CPU work stretches by the vCPU share of the memory size; waiting on the
 * endpoint and on AWS calls does not. Duration = waits + CPU / share (no overlap assumed: conservative).
 */
function lambdaDurations({ input, table, stack, sim, cpu, Dfail }: Month, t: Traffic) {
  const d = stack.delivery;
  const cpuPerOkDeliveryMs = (cpu.perDeliveryHttpMs + cpu.perDeliveredRecordMs) * input.cpuFactor;
  const cpuPerEventMs = cpu.perEventMs * input.cpuFactor;
  const failingInBatch = 1 - (1 - input.failureRate) ** (t.batchFill * input.fanOut);
  const deliveryCpuMs = t.batchFill * (cpuPerEventMs + input.fanOut * cpuPerOkDeliveryMs);
  const deliveryWaitMs = input.endpointMs + input.awsCallMs * (1 + 2 * failingInBatch);
  const deliveryDurationMs = deliveryWaitMs + deliveryCpuMs / share(table, d.memoryMb);
  // Retry function: hops (parse, one SQS send) and due attempts (reads, the POST, writes, sends).
  const failingDynamoCalls = [...sim.failing.dynamo.values()].reduce((n, v) => n + v.calls, 0);
  const failingAwsCalls = failingDynamoCalls + sim.failing.sqsMessages;
  const retryCpuMsPerFailing = (sim.failing.httpAttempts * cpu.perDeliveryHttpMs + sim.failing.retryRecords * cpu.perEventMs + failingAwsCalls * cpu.perAwsCallMs) * input.cpuFactor;
  const retryWaitMsPerFailing = sim.retryAttempts * input.failingEndpointMs + failingAwsCalls * input.awsCallMs;
  // Records in a batch run concurrently: waits overlap across the batch, CPU does not.
  const retryDurationMsTotal = Dfail * (retryWaitMsPerFailing / t.retryFill + retryCpuMsPerFailing / share(table, stack.retry.memoryMb));
  return { deliveryCpuMs, deliveryWaitMs, deliveryDurationMs, retryDurationMsTotal };
}

function lambdaLines(month: Month, t: Traffic): void {
  const { table, prices, stack, sim, free, add } = month;
  const d = stack.delivery;
  const r = stack.retry;
  const { deliveryCpuMs, deliveryWaitMs, deliveryDurationMs, retryDurationMsTotal } = lambdaDurations(month, t);
  const gbSecondPrice = (arch: string) => (arch === 'arm64' ? prices.lambda.gbSecondArm64 : prices.lambda.gbSecondX86);
  const coldStarts = 2 * (730 / 2) * Math.max(1, Math.ceil((t.deliveryInvocations / SECONDS_PER_MONTH) * (deliveryDurationMs / 1000)));
  const initMs = 600;
  const gbS = {
    delivery: t.deliveryInvocations * (deliveryDurationMs / 1000) * (d.memoryMb / 1024),
    retry: (retryDurationMsTotal / 1000) * (r.memoryMb / 1024),
    init: coldStarts * (initMs / 1000) * (d.memoryMb / 1024),
  };
  const gbSTotal = gbS.delivery + gbS.retry + gbS.init;
  const gbSBilledShare = gbSTotal > 0 ? Math.max(0, gbSTotal - free('lambdaGbSeconds')) / gbSTotal : 1;
  const invocations = t.deliveryInvocations + t.retryInvocations;
  const invBilledShare = invocations > 0 ? Math.max(0, invocations - free('lambdaRequests')) / invocations : 1;
  add({ service: 'Lambda', item: `delivery requests (${t.batchFill.toFixed(1)} events each)`, quantity: t.deliveryInvocations, unit: 'invocations', usd: (t.deliveryInvocations / 1e6) * prices.lambda.requestsPerMillion * invBilledShare });
  add({
    service: 'Lambda',
    item: `delivery duration (${d.memoryMb} MB ${d.architecture}, ${deliveryDurationMs.toFixed(0)} ms: ${deliveryWaitMs.toFixed(0)} waiting + ${(deliveryCpuMs / share(table, d.memoryMb)).toFixed(0)} CPU)`,
    quantity: gbS.delivery,
    unit: 'GB-s',
    usd: gbS.delivery * gbSecondPrice(d.architecture) * gbSBilledShare,
  });
  add({ service: 'Lambda', item: `retry requests (${t.retryFill.toFixed(1)} records each)`, quantity: t.retryInvocations, unit: 'invocations', usd: (t.retryInvocations / 1e6) * prices.lambda.requestsPerMillion * invBilledShare });
  add({ service: 'Lambda', item: `retry duration (${sim.failing.retryRecords} records per failing delivery)`, quantity: gbS.retry, unit: 'GB-s', usd: gbS.retry * gbSecondPrice(r.architecture) * gbSBilledShare });
  add({ service: 'Lambda', item: `init (cold starts ≈ ${Math.round(coldStarts)}, ${initMs} ms each)`, quantity: gbS.init, unit: 'GB-s', usd: gbS.init * gbSecondPrice(d.architecture) * gbSBilledShare });
}

/** DynamoDB on-demand: request units as dynalite charged them, per delivery kind; storage for the retention. */
function dynamoLines({ input, retentionDays, table, prices, stack, sim, E, Dfail, Dok, free, add }: Month): { wOk: number; wru: number } {
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
  const overhead = table.assumptions.dynamodbStorageOverheadBytesPerItem;
  // Items live `retentionDays` (TTL), and TTL deletes within about two days after expiry.
  const storedMonths = (retentionDays + 2) / DAYS_PER_MONTH;
  const storedGb = ((Dok * (sim.success.finalItemBytes + overhead) + Dfail * (sim.failing.finalItemBytes + overhead)) * storedMonths) / 1e9;
  const billedGb = Math.max(0, storedGb - free('dynamodbStorageGb'));
  add({ service: 'DynamoDB', item: `attempt-log storage (${retentionDays} days; ${sim.success.finalItemBytes} B per delivered item)`, quantity: storedGb, unit: 'GB-month', usd: billedGb * prices.dynamodb.storageGbMonth });
  add({ service: 'DynamoDB', item: `point-in-time recovery on the same data (${stack.pitrTables}/${stack.tables} tables)`, quantity: storedGb, unit: 'GB-month', usd: storedGb * prices.dynamodb.pitrGbMonth });
  return { wOk, wru };
}

/** CloudWatch Logs: what the handlers write (Powertools logs, EMF metrics) plus Lambda's START/END/REPORT lines; metrics; alarms. */
function cloudWatchLines({ logRetentionDays, table, prices, stack, sim, Dfail, Dok, free, add }: Month, t: Traffic): void {
  const platformBytesPerInvocation = 330;
  const logBytes =
    Dok * sim.success.logBytes +
    Dfail * sim.failing.logBytes +
    t.deliveryInvocations * (sim.logBytesPerInvocation + platformBytesPerInvocation) +
    t.retryInvocations * platformBytesPerInvocation;
  const logGb = logBytes / 1e9;
  add({ service: 'CloudWatch', item: `log ingestion (${sim.success.logBytes.toFixed(0)} B per delivery, ${(sim.logBytesPerInvocation + platformBytesPerInvocation).toFixed(0)} B per invocation)`, quantity: logGb, unit: 'GB', usd: Math.max(0, logGb - free('logsGb')) * prices.cloudwatch.logsIngestionPerGb });
  const logStoredGb = logGb * table.assumptions.logsCompressionRatio * (logRetentionDays / DAYS_PER_MONTH);
  add({ service: 'CloudWatch', item: `log storage (${logRetentionDays}-day retention, compressed)`, quantity: logStoredGb, unit: 'GB-month', usd: logStoredGb * prices.cloudwatch.logsStoragePerGbMonth });
  // Custom metrics from EMF: the contract's six metric names and ColdStart, per function (service dimension).
  const customMetrics = 2 * 7;
  add({ service: 'CloudWatch', item: 'custom metrics (EMF: 7 names × 2 functions)', quantity: customMetrics, unit: 'metrics', usd: Math.max(0, customMetrics - free('customMetrics')) * prices.cloudwatch.customMetricMonth, fixed: true });
  add({ service: 'CloudWatch', item: 'alarms', quantity: stack.alarms, unit: 'alarms', usd: Math.max(0, stack.alarms - free('alarms')) * prices.cloudwatch.standardAlarmMonth, fixed: true });
}

/**
 * KMS keys, and data transfer out: every attempt's request (TLS record overhead ~2 %, ~1 KB of client
 * handshake on a new connection: endpoints see too few requests per container to keep one open).
 */
function kmsAndTransferLines({ prices, stack, sim, Dfail, Dok, free, add }: Month): void {
  add({ service: 'KMS', item: 'customer managed keys', quantity: stack.kmsKeys, unit: 'keys', usd: stack.kmsKeys * prices.kms.keyMonth, fixed: true });
  const attempts = Dok * sim.success.httpAttempts + Dfail * sim.failing.httpAttempts;
  const outBytes = Dok * sim.success.httpBytesOut + Dfail * sim.failing.httpBytesOut;
  const outGb = (outBytes * 1.02 + attempts * 1024) / 1e9;
  add({ service: 'Data transfer', item: `out to endpoints (${(sim.success.httpBytesOut / 1024).toFixed(1)} KB per request + TLS)`, quantity: outGb, unit: 'GB', usd: Math.max(0, outGb - free('dataTransferOutGb')) * prices.dataTransfer.internetOutPerGb });
}

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
