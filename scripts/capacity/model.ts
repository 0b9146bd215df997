import type { CpuFigures } from '../cost/cpu';
import { expectedMaxCappedAboveMs, expectedMaxCappedMs, type Latency, latency, meanMs, slowerThan } from './latency';
import { AWS, DEFAULT_QUOTAS, QUOTA_NAMES, type Quotas } from './quotas';
import type { LaneSettings, StackSettings } from './stack';

/**
 * The capacity model: what a steady load needs from every AWS limit it touches, by Little's law
 * (concurrency = arrival rate × time in the system) and per-item write and read units, against
 * the AWS default quotas and what the synthesized stack is configured for. Pure arithmetic: the
 * stack's settings (stack.ts), the CPU figures (scripts/cost/cpu.ts) and the inputs come in.
 */

/** The load to carry. */
export interface Target {
  readonly eventsPerSecond: number;
  /** Webhooks per event (deliveries per event). */
  readonly fanOut: number;
  /** Share of deliveries whose endpoint is down (their breaker parks them). */
  readonly failing: number;
  /** Endpoint response time, median and 99th percentile. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Share of all events that belong to the busiest account (its webhooks get each of them). */
  readonly topAccountShare: number;
}

export const DEFAULT_TARGET: Target = { eventsPerSecond: 10_000, fanOut: 10, failing: 0.01, p50Ms: 200, p99Ms: 2_000, topAccountShare: 0.2 };

/** What neither the stack nor the target says: printed with every result. */
export interface Assumptions {
  /** Active accounts; the traffic the busiest one does not carry is spread evenly over the others. */
  readonly accounts: number;
  /** Distinct KMS data keys a container meets among the signing secrets it decrypts (one per API container that ever wrote a secret). */
  readonly dataKeys: number;
  /** One AWS SDK call (DynamoDB, SQS), as npm run cost assumes. */
  readonly awsCallMs: number;
  /** Size of one webhook item (the list Query reads an account's webhooks). */
  readonly webhookItemBytes: number;
  /** The plan sizes every raised limit so that the need is at most this share of it. */
  readonly utilization: number;
  /** Assumed duration of one API or authorizer invocation (their concurrency is kept aside). */
  readonly apiInvocationSeconds: number;
}

export const DEFAULT_ASSUMPTIONS: Assumptions = { accounts: 1_000, dataKeys: 100, awsCallMs: 8, webhookItemBytes: 1_024, utilization: 0.8, apiInvocationSeconds: 0.1 };

/**
 * DynamoDB units per delivery, by path, as `npm run cost` measures them by running the real
 * handlers on dynalite (its `--json` simulation block; docs/performance.md), for a 1.5 KB payload.
 */
export const UNITS = {
  /**
   * A fast-lane success: an entry of a success item (about 120 B), at most one write unit a
   * delivery (one entry per item); several entries of a webhook in one invocation share it.
   * The model takes the worst case, one unit each.
   */
  fastOkWrite: 1,
  /** A slow-lane delivery: the event's payload item (2 WRU, once per event), the hand-off's pending record and the delivered update (1 WRU each). */
  slowWrite: 4,
  /** ... and the `due` index (in when pending, out when delivered) and the `status` index (pending bucket, in and out): 1 WRU each. */
  slowDueIndex: 4,
  /** ... and the retry function's consistent GetItems: the delivery record and the webhook. */
  slowDeliveryRead: 1,
  slowWebhookRead: 1,
  /** A failing delivery while its breaker is open: the payload item (2 WRU, once per event), parked, later skipped or released (1 WRU each). */
  failingWrite: 4,
  /** ... and the `status` index (sharded like the log): the parked bucket in, then out to skipped or pending: 1 WRU each, three writes. */
  failingParkedIndex: 3,
  /** The webhook list Query (eventually consistent): 0.5 RRU per 4 KB. */
  listReadPer4Kb: 0.5,
} as const;

/** BatchWriteItem takes 25 items; the delivered records of an invocation go in sequential calls of 25. */
const BATCH_WRITE_MAX = 25;

export interface LaneLoad {
  /** Messages per second into the lane's queues (all of them). */
  readonly recordsPerSecond: number;
  /** Queues (each with its mapping) the lane's records are spread over; fill, in-flight and per-mapping figures are per queue. */
  readonly queues: number;
  /** Records per invocation. */
  readonly fill: number;
  readonly invocationsPerSecond: number;
  /** Waiting on endpoints: the slowest attempt of the batch, cut at the lane's budget. */
  readonly waitMs: number;
  /** CPU time at the function's memory (share of a vCPU = memory / 1,769 MB). */
  readonly cpuMs: number;
  /** AWS calls made one after another (webhook list, batched records; the retry function's reads and write). */
  readonly awsMs: number;
  readonly durationMs: number;
  /** Little's law: invocations per second × seconds per invocation (all mappings). */
  readonly concurrency: number;
  /** The same for one mapping. */
  readonly perMapping: number;
  /** Messages received and not yet deleted in one queue: inside invocations, plus at most a window's worth being gathered into batches. */
  readonly inFlight: number;
}

export interface Load {
  readonly target: Target;
  readonly latency: Latency;
  readonly deliveriesPerSecond: number;
  /** Share of healthy deliveries slower than the fast lane's budget (they go to the slow lane). */
  readonly slowShare: number;
  readonly fastOkPerSecond: number;
  readonly slowPerSecond: number;
  readonly failingPerSecond: number;
  readonly fast: LaneLoad;
  readonly slow: LaneLoad;
  /** The part of the fast lane's wait that is the busiest account's requests queuing for the per-origin connections. */
  readonly originWaitMs: number;
  /** Of those requests, per batch, how many find no connection within the fast lane's queue wait (they go to the slow lane). */
  readonly originOverflow: number;
  /** Deliveries per second to one webhook of the busiest account, and to one webhook of any other account. */
  readonly topWebhookPerSecond: number;
  readonly otherWebhookPerSecond: number;
  /** Webhook list Queries per second (cache misses: one per account seen per container per TTL). */
  readonly webhookListsPerSecond: number;
  readonly ddb: {
    readonly deliveriesWrite: number;
    readonly deliveriesRead: number;
    readonly dueIndexWrite: number;
    readonly parkedIndexWrite: number;
    readonly webhooksRead: number;
    /** The busiest webhook's attempt-log partition, per shard. */
    readonly attemptLogPartitionWrite: number;
    /** The same with one partition per webhook (today's key), for the shard count. */
    readonly attemptLogWebhookWrite: number;
    readonly dueShardWrite: number;
    /** The busiest account's partition of the webhooks table. */
    readonly topAccountRead: number;
  };
  readonly kms: {
    /** Decrypts per second while the mappings add containers at their scale-up rate (the data-key cache holds). */
    readonly burst: number;
    /** When a container meets more data keys than its cache keeps (1,000), every webhook list decrypts again. */
    readonly thrash: number;
    readonly need: number;
  };
  /** Lambda concurrency kept aside for the management API and its authorizer (not driven by deliveries). */
  readonly apiConcurrency: number;
  /**
   * The same load if the latency tail is per request on every endpoint rather than a set of slow
   * endpoints: a webhook marked slow stays in the slow lane for the hold (5 minutes), so busy
   * webhooks live there. A sensitivity, not part of the limits.
   */
  readonly perRequestTail: { readonly slowPerSecond: number; readonly concurrency: number };
}

/** The data-key cache of KmsEnvelopeCipher: cleared when it would exceed 1,000 keys. */
export const DATA_KEY_CACHE = 1_000;

const cpuShare = (memoryMb: number) => Math.min(1, memoryMb / AWS.lambdaMbPerVcpu.value);

/** ESM scale-up, concurrent invocations added per minute. */
export const scalePerMinute = (lane: LaneSettings) => (lane.provisioned ? AWS.esmProvisionedScalePerMinute.value : AWS.esmStandardScalePerMinute.value);

/** Records per invocation: full batches once the window gathers a batch, else what one window gathers. */
export const batchFill = (lane: LaneSettings, recordsPerSecond: number) => Math.min(lane.batchSize, Math.max(1, recordsPerSecond * lane.windowSeconds));

function laneLoad(lane: LaneSettings, recordsPerSecond: number, queues: number, waitMs: number, cpuMs: number, awsMs: number, fill = batchFill(lane, recordsPerSecond / queues)): LaneLoad {
  if (recordsPerSecond <= 0) return { recordsPerSecond: 0, queues, fill: 0, invocationsPerSecond: 0, waitMs: 0, cpuMs: 0, awsMs: 0, durationMs: 0, concurrency: 0, perMapping: 0, inFlight: 0 };
  const cpuWall = cpuMs / cpuShare(lane.memoryMb);
  const durationMs = waitMs + cpuWall + awsMs;
  const invocationsPerSecond = recordsPerSecond / fill;
  const concurrency = (invocationsPerSecond * durationMs) / 1000;
  const perQueue = recordsPerSecond / queues;
  return {
    recordsPerSecond,
    queues,
    fill,
    invocationsPerSecond,
    waitMs,
    cpuMs: cpuWall,
    awsMs,
    durationMs,
    concurrency,
    perMapping: concurrency / queues,
    // Received and not deleted: inside invocations (Little), plus what pollers hold while they gather a
    // batch, at most a window's arrivals and at most one batch per concurrent invocation (an upper bound:
    // batches that fill at once end the window early).
    inFlight: (perQueue * durationMs) / 1000 + Math.min(perQueue * lane.windowSeconds, (concurrency / queues) * fill),
  };
}

/** Of a webhook with `perSecond` deliveries, the share in the slow lane when each attempt is slow with probability q. */
export function heldSlowShare(q: number, perSecond: number, holdSeconds: number): number {
  if (q <= 0) return 0;
  if (perSecond <= 0) return q;
  // A cycle: 1/q inline deliveries (the last one slow, handed on), then the hold, all slow.
  const held = holdSeconds * perSecond;
  return Math.min(1, (held + 1) / (held + 1 / q));
}

/**
 * Expected distinct accounts among `events` events when the busiest account has `topShare` of
 * them and the others share the rest evenly: the webhook lists a container makes per cache TTL.
 */
export function distinctAccounts(events: number, topShare: number, accounts: number): number {
  if (events <= 0) return 0;
  if (accounts <= 1) return 1;
  const others = accounts - 1;
  return 1 - (1 - topShare) ** events + others * (1 - (1 - (1 - topShare) / others) ** events);
}

/** What the target needs, everywhere. */
export function loadOf(target: Target, s: StackSettings, a: Assumptions, cpu: CpuFigures): Load {
  const lat = latency(target.p50Ms, target.p99Ms);
  const E = target.eventsPerSecond;
  const F = target.fanOut;
  const D = E * F;
  const q = slowerThan(lat, s.inlineTimeoutMs);
  const healthy = D * (1 - target.failing);
  const fastOk = healthy * (1 - q);
  const slowPerSecond = healthy * q;
  const failingPerSecond = D * target.failing;

  // The fast lane: one record per event, every healthy delivery of the batch attempted inline at
  // once (records in parallel, webhooks 10 at a time per event, so all of them for fan-out ≤ 10).
  // Its wait is that of the slowest attempt, cut at the inline budget (an upper bound: a webhook
  // already known slow is handed on without waiting), or the busiest account's queue for the
  // sender's per-origin connections (one origin per account assumed), whichever is longer.
  const fill = batchFill(s.fast, E / s.eventsQueues);
  const perBatch = { all: fill * F, healthy: fill * F * (1 - target.failing) };
  const batchWait = expectedMaxCappedMs(lat, perBatch.healthy, s.inlineTimeoutMs);
  // A fast-lane request waits at most a third of the budget for a turn (then it goes to the slow lane,
  // not a failure: delivery-service.ts), and then has its own budget. In that wait, each of the
  // origin's connections serves about queueMs / mean more requests; the rest of the batch's
  // requests to that origin overflow to the slow lane (not added to its load here: 0 at batch 10).
  const queueMs = Math.floor(s.inlineTimeoutMs / 3);
  const topRequests = fill * target.topAccountShare * F * (1 - target.failing);
  const servedInTime = s.connectionsPerOrigin * (1 + queueMs / meanMs(lat));
  const originOverflow = Math.max(0, topRequests - servedInTime);
  const waves = topRequests > 0 ? Math.ceil(Math.min(topRequests, servedInTime) / s.connectionsPerOrigin) : 0;
  const originWaitMs = Math.min(queueMs + s.inlineTimeoutMs, waves * meanMs(lat));
  const fastCpu =
    fill * cpu.perEventMs +
    perBatch.healthy * (1 - q) * (cpu.perDeliveryHttpMs + cpu.perDeliveredRecordMs) +
    perBatch.healthy * q * 2 * cpu.perAwsCallMs + // hand-off: SendMessage + pending record
    perBatch.all * target.failing * cpu.perAwsCallMs; // park
  const fastAws = a.awsCallMs * (1 + Math.ceil((perBatch.healthy * (1 - q)) / BATCH_WRITE_MAX));
  const fast = laneLoad(s.fast, E, s.eventsQueues, Math.max(batchWait, originWaitMs), fastCpu, fastAws, fill);

  // The slow lane: one message per slow delivery, each attempted with the full budget; its
  // endpoints are those slower than the inline budget, so the wait is the slowest of the batch
  // drawn from that tail. Before: GetItem of the record and of the webhook; after: the update.
  const slowFill = batchFill(s.slow, slowPerSecond);
  const slowWait = expectedMaxCappedAboveMs(lat, slowFill, s.inlineTimeoutMs, s.attemptTimeoutMs);
  const slowCpu = slowFill * (cpu.perDeliveryHttpMs + 3 * cpu.perAwsCallMs);
  const slow = laneLoad(s.slow, slowPerSecond, 1, slowWait, slowCpu, 3 * a.awsCallMs, slowFill);

  // Webhook lists: each fast-lane container lists every account it sees once per cache TTL.
  const ttlSeconds = s.webhookCacheTtlMs / 1000;
  const containers = fast.concurrency;
  const webhookListsPerSecond = containers > 0 ? (containers * distinctAccounts((E / containers) * ttlSeconds, target.topAccountShare, a.accounts)) / ttlSeconds : 0;
  const listRead = UNITS.listReadPer4Kb * Math.max(1, Math.ceil((F * a.webhookItemBytes) / 4096));

  const topWebhookPerSecond = target.topAccountShare * E;
  const otherWebhookPerSecond = a.accounts > 1 ? ((1 - target.topAccountShare) * E) / (a.accounts - 1) : 0;
  const perDeliveryWrite = (1 - q) * UNITS.fastOkWrite + q * UNITS.slowWrite;
  const attemptLogWebhookWrite = Math.max(topWebhookPerSecond, otherWebhookPerSecond) * perDeliveryWrite;
  const dueIndexWrite = slowPerSecond * UNITS.slowDueIndex;

  // KMS: a container decrypts each data key it meets once (KmsEnvelopeCipher); containers start at
  // the mappings' scale-up rate. Past the cache's 1,000 keys it is cleared, and each webhook list
  // (and each slow-lane GetItem of a webhook) decrypts again.
  const startsPerSecond = ((fast.concurrency > 0 ? fast.queues * scalePerMinute(s.fast) : 0) + (slow.concurrency > 0 ? scalePerMinute(s.slow) : 0)) / 60;
  const burst = startsPerSecond * Math.min(a.dataKeys, DATA_KEY_CACHE);
  const thrash = webhookListsPerSecond * F + slowPerSecond;

  // The per-request sensitivity: every webhook's share of slow-lane time from its own rate.
  const hold = s.slowHoldMs / 1000;
  const perRequestSlow =
    healthy * (target.topAccountShare * heldSlowShare(q, topWebhookPerSecond, hold) + (1 - target.topAccountShare) * heldSlowShare(q, otherWebhookPerSecond, hold));
  const prFill = batchFill(s.slow, perRequestSlow);
  const prLane = laneLoad(s.slow, perRequestSlow, 1, expectedMaxCappedMs(lat, prFill, s.attemptTimeoutMs), prFill * (cpu.perDeliveryHttpMs + 3 * cpu.perAwsCallMs), 3 * a.awsCallMs, prFill);

  return {
    target,
    latency: lat,
    deliveriesPerSecond: D,
    slowShare: q,
    fastOkPerSecond: fastOk,
    slowPerSecond,
    failingPerSecond,
    fast,
    slow,
    originWaitMs,
    originOverflow,
    topWebhookPerSecond,
    otherWebhookPerSecond,
    webhookListsPerSecond,
    ddb: {
      deliveriesWrite: fastOk * UNITS.fastOkWrite + slowPerSecond * UNITS.slowWrite + failingPerSecond * UNITS.failingWrite,
      deliveriesRead: slowPerSecond * UNITS.slowDeliveryRead,
      dueIndexWrite,
      parkedIndexWrite: failingPerSecond * UNITS.failingParkedIndex,
      webhooksRead: webhookListsPerSecond * listRead + slowPerSecond * UNITS.slowWebhookRead,
      attemptLogPartitionWrite: attemptLogWebhookWrite / s.attemptLogShards,
      attemptLogWebhookWrite,
      dueShardWrite: dueIndexWrite / s.dueShards,
      topAccountRead: (containers / ttlSeconds) * listRead + target.topAccountShare * slowPerSecond * UNITS.slowWebhookRead,
    },
    kms: { burst, thrash, need: a.dataKeys > DATA_KEY_CACHE ? thrash : burst },
    apiConcurrency: s.apiRateLimit * a.apiInvocationSeconds * 2,
    perRequestTail: { slowPerSecond: perRequestSlow, concurrency: prLane.concurrency },
  };
}

// --- Limits -------------------------------------------------------------------------------------

/** What a limit's row says about the target: within it, or what raises it. `info` rows are not steady-state limits. */
export type Status = 'ok' | 'info' | 'setting' | 'new-setting' | 'quota' | 'code' | 'hard';

/** How a limit is raised: an existing context setting (up to its maximum), a setting that does not exist, a quota, code, or nothing (an AWS hard limit). */
export interface Fix {
  readonly kind: Exclude<Status, 'ok' | 'info'>;
  readonly text: string;
  /** kind 'setting': the CDK context key and the most it accepts; `beyond` applies above it. */
  readonly setting?: string;
  readonly settingMax?: number;
  readonly beyond?: Fix;
  readonly quota?: keyof Quotas;
}

export interface LimitRow {
  readonly id: string;
  readonly service: string;
  readonly name: string;
  readonly unit: string;
  readonly need: number;
  /** The AWS default, as a number when it is one. */
  readonly awsDefault?: number;
  readonly awsDefaultText: string;
  /** What the stack is configured for (or does), in words. */
  readonly configured: string;
  /** The ceiling as the stack and the quotas stand: Infinity when nothing caps it. */
  readonly cap: number;
  /** Steady-state limits decide feasibility; the others (ramps, rates of change) are printed for planning. */
  readonly steady: boolean;
  readonly fix?: Fix;
  readonly source: string;
  readonly note?: string;
}

export function statusOf(row: LimitRow): Status {
  if (!row.steady) return 'info';
  if (row.need <= row.cap) return 'ok';
  let fix = row.fix;
  while (fix) {
    if (fix.kind !== 'setting') return fix.kind;
    if (fix.settingMax !== undefined && row.need <= fix.settingMax) return 'setting';
    fix = fix.beyond;
  }
  return 'hard';
}

/** The mapping's ceiling: provisioned mode's, or MaximumConcurrency within standard mode's. */
export function mappingCap(lane: LaneSettings): number {
  if (lane.provisioned) return Math.min(AWS.esmProvisionedMax.value, (lane.maxPollers ?? AWS.esmProvisionedMax.value / CONCURRENT_PER_POLLER) * CONCURRENT_PER_POLLER);
  return Math.min(lane.maxConcurrency ?? Number.POSITIVE_INFINITY, AWS.esmStandardMax.value);
}

/** Concurrent invocations one provisioned SQS poller drives (Lambda: up to 10 per poller). */
export const CONCURRENT_PER_POLLER = 10;

/** The `<lane>Pollers` setting that carries `need` concurrent at `utilization`. */
export function pollersFor(need: number, utilization: number): number {
  return Math.min(2000, Math.max(2, Math.ceil(need / utilization / CONCURRENT_PER_POLLER / 10) * 10));
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');

function mappingRow(id: string, name: string, lane: LaneSettings, load: LaneLoad, mapping: string, newSetting: string): LimitRow {
  const configured = lane.provisioned ? `provisioned mode${lane.maxPollers !== undefined ? `, ${n0(lane.maxPollers)} pollers (context ${newSetting})` : ''}` : lane.maxConcurrency !== undefined ? `MaximumConcurrency ${lane.maxConcurrency} (context deliveryConcurrency)` : 'no MaximumConcurrency';
  const provisioned: Fix = {
    kind: 'setting',
    setting: newSetting,
    settingMax: 2000,
    text: `context ${newSetting}: provisioned mode on the ${mapping} mapping (ProvisionedPollerConfig, ${CONCURRENT_PER_POLLER} concurrent per poller, up to ${n0(AWS.esmProvisionedMax.value)}, +${n0(AWS.esmProvisionedScalePerMinute.value)}/min; exclusive with MaximumConcurrency)`,
  };
  return {
    id,
    service: 'Lambda ESM',
    name,
    unit: 'concurrent',
    need: load.perMapping,
    awsDefault: AWS.esmStandardMax.value,
    awsDefaultText: `${n0(AWS.esmStandardMax.value)} (standard); ${n0(AWS.esmProvisionedMax.value)} (provisioned)`,
    configured,
    cap: mappingCap(lane),
    steady: true,
    fix: lane.provisioned
      ? lane.maxPollers !== undefined && lane.maxPollers < 2000
        ? provisioned
        : { kind: 'hard', text: `above ${n0(AWS.esmProvisionedMax.value)}: split the queue and its mapping in two (code)` }
      : { kind: 'setting', setting: 'deliveryConcurrency', settingMax: AWS.esmMaximumConcurrencyMax.value, text: 'context deliveryConcurrency (sets both mappings)', beyond: provisioned },
    source: `${AWS.esmStandardMax.source}; ${AWS.esmMaximumConcurrencyMax.source}; ${AWS.esmProvisionedMax.source}`,
    note:
      `${n0(load.invocationsPerSecond)} invocations/s × ${(load.durationMs / 1000).toFixed(2)} s (wait ${n0(load.waitMs)} ms, CPU ${n0(load.cpuMs)} ms, AWS calls ${n0(load.awsMs)} ms; ${load.fill.toFixed(1)} records each)` +
      (load.queues > 1 ? ` over ${load.queues} queues and mappings` : ''),
  };
}

/** Every limit the load touches, with what it needs, the AWS default and what the stack is configured for. */
export function limitRows(load: Load, s: StackSettings, quotas: Quotas, a: Assumptions): LimitRow[] {
  const t = load.target;
  const quota = (q: keyof Quotas, text?: string): Fix => ({ kind: 'quota', quota: q, text: text ?? `raise ${QUOTA_NAMES[q]}` });
  const tableWriteCap = Math.min(quotas.ddbTableWrite, s.deliveriesMaxWrite ?? Number.POSITIVE_INFINITY);
  const unreservedCap = quotas.lambdaConcurrency - s.reservedConcurrency;
  const rampMinutes = (lane: LaneSettings, need: number) => (lane.provisioned ? need / AWS.esmProvisionedScalePerMinute.value : Math.max(0, need - AWS.esmStandardStart.value) / AWS.esmStandardScalePerMinute.value);
  const fastRamp = rampMinutes(s.fast, load.fast.perMapping);
  const warmWrite = s.deliveriesWarmWrite ?? AWS.ddbWarmWrite.value;
  const doublings = load.ddb.deliveriesWrite > warmWrite ? Math.ceil(Math.log2(load.ddb.deliveriesWrite / warmWrite)) : 0;
  const attemptLogFix: Fix = {
    kind: 'code',
    text:
      'more attempt-log shards: LOG_SHARDS in dynamo-delivery-store.ts (pk = accountId#webhookId#<n>; a record\'s shard is a hash of its id, a success item\'s is random; ' +
      'listing a webhook\'s log reads every shard; the status index\'s key shards with it)',
  };
  return [
    {
      id: 'eventbridge.putEvents',
      service: 'EventBridge',
      name: 'PutEvents throttle limit (account, Region)',
      unit: 'entries/s',
      need: t.eventsPerSecond,
      awsDefault: AWS.putEvents.value,
      awsDefaultText: `${n0(AWS.putEvents.value)}/s (us-east-1, us-west-2, eu-west-1; 2,400 us-east-2; lower elsewhere)`,
      configured: `publisher sends ${s.publisherBatch} entries per request (${n0(t.eventsPerSecond / s.publisherBatch)} requests/s)`,
      cap: quotas.putEvents,
      steady: true,
      fix: quota('putEvents'),
      source: AWS.putEvents.source,
      note: 'counted per entry (the conservative reading of "transactions per second"); if it counts requests, the need is a tenth: only the account can tell',
    },
    {
      id: 'eventbridge.invocations',
      service: 'EventBridge',
      name: 'rule target invocations (account, Region)',
      unit: 'invocations/s',
      need: t.eventsPerSecond * s.ruleTargets,
      awsDefault: AWS.invocations.value,
      awsDefaultText: `${n0(AWS.invocations.value)}/s (us-east-1, us-west-2, eu-west-1; 1,100 in most others)`,
      configured: `1 rule, ${s.ruleTargets} target (the events queue); retries 24 h, then the rule DLQ`,
      cap: quotas.invocations,
      steady: true,
      fix: quota('invocations'),
      source: AWS.invocations.source,
      note: 'over the quota, invocations are delayed (throttled), not dropped',
    },
    {
      id: 'sqs.events.inFlight',
      service: 'SQS',
      name: 'in-flight messages, events queue (each)',
      unit: 'messages',
      need: load.fast.inFlight,
      awsDefault: AWS.sqsInFlight.value,
      awsDefaultText: `~${n0(AWS.sqsInFlight.value)} per standard queue (hard)`,
      configured: `${s.eventsQueues} queue${s.eventsQueues > 1 ? 's' : ''}; batch ${s.fast.batchSize}, window ${s.fast.windowSeconds} s`,
      cap: AWS.sqsInFlight.value,
      steady: true,
      fix: { kind: 'hard', text: 'split the events queue: k rules with disjoint patterns on detail.accountId (e.g. by prefix), one queue and mapping each (lib/constructs/events-routing.ts, delivery-pipeline.ts)' },
      source: AWS.sqsInFlight.source,
      note: `inside invocations ${n0((load.fast.recordsPerSecond / load.fast.queues) * (load.fast.durationMs / 1000))}, gathering batches ≤ ${n0(load.fast.inFlight - (load.fast.recordsPerSecond / load.fast.queues) * (load.fast.durationMs / 1000))} (less when batches fill at once: only an account shows it)`,
    },
    {
      id: 'sqs.retry.inFlight',
      service: 'SQS',
      name: 'in-flight messages, retry queue (fair queue)',
      unit: 'messages',
      need: load.slow.inFlight,
      awsDefault: AWS.sqsInFlight.value,
      awsDefaultText: `~${n0(AWS.sqsInFlight.value)} per standard queue (hard)`,
      configured: `batch ${s.slow.batchSize}, window ${s.slow.windowSeconds} s; waiting retries are delayed messages (re-delay hops), not in flight`,
      cap: AWS.sqsInFlight.value,
      steady: true,
      fix: { kind: 'hard', text: 'split the retry queue (per-shard retry queues keyed by webhook; code)' },
      source: AWS.sqsInFlight.source,
    },
    mappingRow('esm.fast', 'concurrency, events queue → delivery (fast lane)', s.fast, load.fast, 'events queue', 'deliveryPollers'),
    mappingRow('esm.slow', 'concurrency, retry queue → retry (slow lane)', s.slow, load.slow, 'retry queue', 'retryPollers'),
    {
      id: 'esm.scaleUp',
      service: 'Lambda ESM',
      name: 'poller scale-up from idle, fast lane',
      unit: 'min',
      need: fastRamp,
      awsDefaultText: `+${AWS.esmStandardScalePerMinute.value}/min from ${AWS.esmStandardStart.value} (standard); +${n0(AWS.esmProvisionedScalePerMinute.value)}/min (provisioned)`,
      configured: s.fast.provisioned ? 'provisioned mode' : 'standard mode',
      cap: Number.POSITIVE_INFINITY,
      steady: false,
      source: `${AWS.esmStandardScalePerMinute.source}; ${AWS.esmProvisionedScalePerMinute.source}`,
      note: `${fastRamp.toFixed(1)} min to reach ${n0(load.fast.perMapping)} concurrent per mapping; about ${n0((t.eventsPerSecond * fastRamp * 60) / 2)} events queue up meanwhile, drained only by concurrency above the need`,
    },
    {
      id: 'lambda.concurrency',
      service: 'Lambda',
      name: 'concurrent executions (account, Region)',
      unit: 'concurrent',
      need: load.fast.concurrency + load.slow.concurrency + load.apiConcurrency,
      awsDefault: AWS.lambdaConcurrency.value,
      awsDefaultText: `${n0(AWS.lambdaConcurrency.value)} (new accounts can start lower)`,
      configured: `delivery and retry unreserved; ${s.reservedConcurrency} reserved (reconciler); API + authorizer ≈ ${n0(load.apiConcurrency)} kept aside`,
      cap: unreservedCap,
      steady: true,
      fix: quota('lambdaConcurrency'),
      source: `${AWS.lambdaConcurrency.source}; ${AWS.lambdaUnreservedMin.source}`,
      note: `fast ${n0(load.fast.concurrency)} + slow ${n0(load.slow.concurrency)} + API ${n0(load.apiConcurrency)}; reserved concurrency comes out of the quota`,
    },
    {
      id: 'lambda.scaling',
      service: 'Lambda',
      name: 'scaling rate per function',
      unit: 'environments/10 s',
      need: (Math.max(scalePerMinute(s.fast), scalePerMinute(s.slow)) / 60) * 10,
      awsDefault: AWS.lambdaScalingPer10s.value,
      awsDefaultText: `${n0(AWS.lambdaScalingPer10s.value)} per 10 s per function`,
      configured: 'driven by the mappings, which add at most their scale-up rate',
      cap: AWS.lambdaScalingPer10s.value,
      steady: false,
      source: AWS.lambdaScalingPer10s.source,
      note: 'never binds before the mappings\' own scale-up',
    },
    {
      id: 'ddb.attemptLog.partition',
      service: 'DynamoDB',
      name: 'attempt-log partition of the busiest webhook',
      unit: 'WRU/s',
      need: load.ddb.attemptLogPartitionWrite,
      awsDefault: AWS.ddbPartitionWrite.value,
      awsDefaultText: `${n0(AWS.ddbPartitionWrite.value)} WRU/s per partition (hard)`,
      configured: s.attemptLogShards === 1 ? `${s.keys.attemptLog}: pk = accountId#webhookId, one partition per webhook` : `${s.attemptLogShards} shards per webhook`,
      cap: AWS.ddbPartitionWrite.value,
      steady: true,
      fix: attemptLogFix,
      source: AWS.ddbPartitionWrite.source,
      note:
        `${n0(Math.max(load.topWebhookPerSecond, load.otherWebhookPerSecond))} deliveries/s to one webhook of the busiest account × ${(load.ddb.attemptLogWebhookWrite / Math.max(1e-9, Math.max(load.topWebhookPerSecond, load.otherWebhookPerSecond))).toFixed(2)} WRU` +
        `${s.attemptLogShards > 1 ? ` / ${s.attemptLogShards} shards` : ''}; were that endpoint slow: ${UNITS.slowWrite} WRU each; down (parked): ${UNITS.failingWrite} WRU + ${UNITS.failingParkedIndex} on the status index, sharded the same way. ` +
        'Split for heat cannot be counted on: the sort key (deliveryId) is time-ordered, so new writes land at one end of the range',
    },
    {
      id: 'ddb.due.partition',
      service: 'DynamoDB',
      name: 'due index partition (per shard)',
      unit: 'WRU/s',
      need: load.ddb.dueShardWrite,
      awsDefault: AWS.ddbPartitionWrite.value,
      awsDefaultText: `${n0(AWS.ddbPartitionWrite.value)} WRU/s per partition (hard)`,
      configured: `${s.keys.due}; ${s.dueShards} shards (DUE_SHARDS, code)`,
      cap: AWS.ddbPartitionWrite.value,
      steady: true,
      fix: { kind: 'code', text: 'more due shards: DUE_SHARDS in dynamo-delivery-store.ts (the overdue sweep Queries each shard; a GSI write throttle also throttles the table write)' },
      source: AWS.ddbPartitionWrite.source,
      note: `${n0(load.slowPerSecond)} slow-lane deliveries/s × ${UNITS.slowDueIndex} WRU (into the index at the hand-off, out when delivered) / ${s.dueShards}`,
    },
    {
      id: 'ddb.webhooks.partition',
      service: 'DynamoDB',
      name: 'webhooks partition of the busiest account',
      unit: 'RRU/s',
      need: load.ddb.topAccountRead,
      awsDefault: AWS.ddbPartitionRead.value,
      awsDefaultText: `${n0(AWS.ddbPartitionRead.value)} RRU/s per partition (hard)`,
      configured: `${s.keys.webhooks}; list cached ${s.webhookCacheTtlMs / 1000} s per container (code)`,
      cap: AWS.ddbPartitionRead.value,
      steady: true,
      fix: { kind: 'code', text: 'a longer webhook cache (DEFAULTS.webhookCacheTtlMs) or fewer containers listing it' },
      source: AWS.ddbPartitionRead.source,
      note: 'every fast-lane container lists the account once per TTL, plus its slow-lane GetItems',
    },
    {
      id: 'ddb.deliveries.write',
      service: 'DynamoDB',
      name: 'deliveries table writes (on-demand)',
      unit: 'WRU/s',
      need: load.ddb.deliveriesWrite,
      awsDefault: AWS.ddbTableWrite.value,
      awsDefaultText: `${n0(AWS.ddbTableWrite.value)} WRU/s per table`,
      configured: s.deliveriesOnDemand ? `on-demand, ${s.deliveriesMaxWrite !== undefined ? `maximum ${n0(s.deliveriesMaxWrite)}` : 'no maximum'}` : 'provisioned',
      cap: tableWriteCap,
      steady: true,
      fix: quota('ddbTableWrite'),
      source: AWS.ddbTableWrite.source,
      note: `fast ${n0(load.fastOkPerSecond)}/s × ${UNITS.fastOkWrite} + slow ${n0(load.slowPerSecond)}/s × ${UNITS.slowWrite} + failing ${n0(load.failingPerSecond)}/s × ${UNITS.failingWrite}`,
    },
    {
      id: 'ddb.deliveries.indexes',
      service: 'DynamoDB',
      name: 'deliveries indexes writes (due + status)',
      unit: 'WRU/s',
      need: Math.max(load.ddb.dueIndexWrite, load.ddb.parkedIndexWrite),
      awsDefault: AWS.ddbTableWrite.value,
      awsDefaultText: `${n0(AWS.ddbTableWrite.value)} WRU/s (assumed per index as per table)`,
      configured: 'sparse GSIs, projection ALL',
      cap: tableWriteCap,
      steady: true,
      fix: quota('ddbTableWrite'),
      source: AWS.ddbTableWrite.source,
      note: `due ${n0(load.ddb.dueIndexWrite)}, status ${n0(load.ddb.parkedIndexWrite)} WRU/s (the larger is checked)`,
    },
    {
      id: 'ddb.deliveries.read',
      service: 'DynamoDB',
      name: 'deliveries table reads',
      unit: 'RRU/s',
      need: load.ddb.deliveriesRead,
      awsDefault: AWS.ddbTableRead.value,
      awsDefaultText: `${n0(AWS.ddbTableRead.value)} RRU/s per table`,
      configured: 'on-demand; consistent GetItem per slow-lane delivery',
      cap: quotas.ddbTableRead,
      steady: true,
      fix: quota('ddbTableRead'),
      source: AWS.ddbTableRead.source,
    },
    {
      id: 'ddb.webhooks.read',
      service: 'DynamoDB',
      name: 'webhooks table reads',
      unit: 'RRU/s',
      need: load.ddb.webhooksRead,
      awsDefault: AWS.ddbTableRead.value,
      awsDefaultText: `${n0(AWS.ddbTableRead.value)} RRU/s per table`,
      configured: `list Query per account and container every ${s.webhookCacheTtlMs / 1000} s; consistent GetItem per slow-lane delivery`,
      cap: quotas.ddbTableRead,
      steady: true,
      fix: quota('ddbTableRead'),
      source: AWS.ddbTableRead.source,
      note: `${n0(load.webhookListsPerSecond)} lists/s (${n0(a.accounts)} accounts assumed)`,
    },
    {
      id: 'ddb.warm',
      service: 'DynamoDB',
      name: 'deliveries table warm throughput (ramp)',
      unit: 'WRU/s',
      need: load.ddb.deliveriesWrite,
      awsDefault: AWS.ddbWarmWrite.value,
      awsDefaultText: `${n0(AWS.ddbWarmWrite.value)} WRU/s for a new on-demand table`,
      configured: s.deliveriesWarmWrite !== undefined ? `warm ${n0(s.deliveriesWarmWrite)} WRU/s` : 'no warm throughput set',
      cap: warmWrite,
      steady: false,
      source: AWS.ddbWarmWrite.source,
      note: doublings > 0 ? `above it the table adapts to about double its previous peak per 30 min: ${doublings} doublings (~${doublings * 30} min) of throttling unless pre-warmed` : 'within the warm throughput',
    },
    {
      id: 'kms.decrypt',
      service: 'KMS',
      name: 'Decrypt (cryptographic operations, symmetric; shared)',
      unit: 'requests/s',
      need: load.kms.need,
      awsDefault: AWS.kmsSymmetric.value,
      awsDefaultText: `${n0(AWS.kmsSymmetric.value)}/s in most Regions (higher in the largest)`,
      configured: `data keys cached per container for its life (≤ ${n0(DATA_KEY_CACHE)}); ${a.dataKeys} data keys met per container assumed`,
      cap: quotas.kmsSymmetric,
      steady: true,
      fix: quota('kmsSymmetric'),
      source: AWS.kmsSymmetric.source,
      note:
        a.dataKeys > DATA_KEY_CACHE
          ? `more data keys than the cache keeps: every webhook list decrypts again: ${n0(load.kms.thrash)}/s`
          : `containers start at ≤ ${n0(((load.fast.concurrency > 0 ? load.fast.queues * scalePerMinute(s.fast) : 0) + (load.slow.concurrency > 0 ? scalePerMinute(s.slow) : 0)) / 60)}/s, each decrypting ${a.dataKeys} data keys once; were the cache to thrash (> ${n0(DATA_KEY_CACHE)} keys): ${n0(load.kms.thrash)}/s`,
    },
    {
      id: 'apigw.account',
      service: 'API Gateway',
      name: 'account throttle (REST + HTTP + WebSocket)',
      unit: 'requests/s',
      need: s.apiRateLimit,
      awsDefault: AWS.apiAccountRate.value,
      awsDefaultText: `${n0(AWS.apiAccountRate.value)}/s, burst ${n0(AWS.apiAccountBurst.value)}`,
      configured: `stage ${s.apiRateLimit}/s, burst ${s.apiBurstLimit} (context apiRateLimit, apiBurstLimit)`,
      cap: AWS.apiAccountRate.value,
      steady: false,
      source: AWS.apiAccountRate.source,
      note: 'not driven by deliveries: the management API serves the dashboard and API clients; the stage caps what it can take',
    },
  ];
}

// --- Evaluation, carrying capacity, plan ------------------------------------------------------

export interface Evaluation {
  readonly load: Load;
  readonly rows: LimitRow[];
  readonly status: Record<string, Status>;
  /** The steady-state limit closest to (or furthest past) its ceiling. */
  readonly binding: LimitRow;
  /** Every steady-state limit within its ceiling as configured, at the given quotas. */
  readonly fits: boolean;
  /** Reachable with existing context settings and quota increases only. */
  readonly reachable: boolean;
  /** What no existing setting or quota can raise: a setting that does not exist, code, an AWS hard limit. */
  readonly blockers: LimitRow[];
}

export interface ModelInputs {
  readonly target: Target;
  readonly settings: StackSettings;
  readonly quotas?: Quotas;
  readonly assumptions?: Assumptions;
  readonly cpu: CpuFigures;
}

const ratio = (row: LimitRow) => (row.cap === Number.POSITIVE_INFINITY ? 0 : row.cap <= 0 ? Number.POSITIVE_INFINITY : row.need / row.cap);

export function evaluate(m: ModelInputs): Evaluation {
  const a = m.assumptions ?? DEFAULT_ASSUMPTIONS;
  const quotas = m.quotas ?? DEFAULT_QUOTAS;
  const load = loadOf(m.target, m.settings, a, m.cpu);
  const rows = limitRows(load, m.settings, quotas, a);
  const status = Object.fromEntries(rows.map((r) => [r.id, statusOf(r)]));
  const steady = rows.filter((r) => r.steady);
  const binding = steady.reduce((worst, r) => (ratio(r) > ratio(worst) ? r : worst));
  const blockers = steady.filter((r) => ['new-setting', 'code', 'hard'].includes(status[r.id] as Status));
  return {
    load,
    rows,
    status,
    binding,
    fits: steady.every((r) => status[r.id] === 'ok'),
    reachable: blockers.length === 0,
    blockers,
  };
}

/**
 * The most events per second the stack carries with the target's other inputs: the largest rate at
 * which every steady-state limit (or only `only`, when given) is within its ceiling. Bisection on a
 * log scale: every need grows with the rate.
 */
export function carried(m: ModelInputs, only?: string): { eventsPerSecond: number; binding?: LimitRow } {
  const within = (eventsPerSecond: number) => {
    const e = evaluate({ ...m, target: { ...m.target, eventsPerSecond } });
    const rows = e.rows.filter((r) => r.steady && (only === undefined || r.id === only));
    return { ok: rows.every((r) => r.need <= r.cap), e };
  };
  const lowest = 0.01;
  if (!within(lowest).ok) return { eventsPerSecond: 0, binding: within(lowest).e.binding };
  let lo = Math.log(lowest);
  let hi = Math.log(1e9);
  if (within(Math.exp(hi)).ok) return { eventsPerSecond: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (within(Math.exp(mid)).ok) lo = mid;
    else hi = mid;
  }
  const above = within(Math.exp(hi)).e;
  const failing = above.rows.filter((r) => r.steady && (only === undefined || r.id === only) && r.need > r.cap);
  return { eventsPerSecond: Math.exp(lo), ...(failing[0] ? { binding: failing.reduce((w, r) => (ratio(r) > ratio(w) ? r : w)) } : {}) };
}

/** Each steady-state limit's own carrying rate, lowest first: the order in which they bind. */
export function bindingOrder(m: ModelInputs): Array<{ row: LimitRow; eventsPerSecond: number }> {
  const rows = evaluate(m).rows.filter((r) => r.steady);
  return rows.map((row) => ({ row, eventsPerSecond: carried(m, row.id).eventsPerSecond })).sort((x, y) => x.eventsPerSecond - y.eventsPerSecond);
}

/** Rounds up to two significant digits (2,731 → 2,800). */
export function niceUp(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return x;
  const magnitude = 10 ** Math.max(0, Math.floor(Math.log10(x)) - 1);
  return Math.ceil(x / magnitude - 1e-9) * magnitude;
}

export interface PlanStep {
  /** `ramp`: for the way up, not the steady state (warm throughput, scale-up time). */
  readonly kind: 'setting' | 'new-setting' | 'quota' | 'code' | 'hard' | 'ramp';
  readonly limit: string;
  readonly text: string;
}

export interface Plan {
  readonly steps: PlanStep[];
  readonly settings: StackSettings;
  readonly quotas: Quotas;
  /** The target evaluated with the plan applied. */
  readonly after: Evaluation;
  /** For the fast lane, the smallest batch and memory (neither a setting today) that keep standard mode, if any. */
  readonly fastAlternative?: { batchSize: number; memoryMb: number; concurrency: number };
}

/**
 * What reaches the target: for each steady-state limit past its ceiling, the change that lifts
 * it, sized so the need is at most `utilization` of the new ceiling; then the target evaluated
 * again with every change applied.
 */
export function plan(m: ModelInputs): Plan {
  const a = m.assumptions ?? DEFAULT_ASSUMPTIONS;
  const quotas0 = m.quotas ?? DEFAULT_QUOTAS;
  const before = evaluate(m);
  const { load } = before;
  const u = a.utilization;
  const over = (id: string) => {
    const row = before.rows.find((r) => r.id === id);
    return row !== undefined && row.need > row.cap;
  };
  const steps: PlanStep[] = [];
  let settings: StackSettings = m.settings;
  let quotas: Quotas = { ...quotas0 };
  let fastAlternative: Plan['fastAlternative'];

  // The events queue's in-flight cap: split it (k rules, k queues and mappings) until each is within it.
  if (over('sqs.events.inFlight')) {
    let k = settings.eventsQueues;
    while (k < 64 && loadOf(m.target, { ...settings, eventsQueues: k }, a, m.cpu).fast.inFlight > AWS.sqsInFlight.value * u) k++;
    const inFlight = loadOf(m.target, { ...settings, eventsQueues: k }, a, m.cpu).fast.inFlight;
    steps.push({
      kind: 'hard',
      limit: 'sqs.events.inFlight',
      text:
        `events queue in flight: ${Math.round(load.fast.inFlight).toLocaleString('en-US')} past SQS's ~${AWS.sqsInFlight.value.toLocaleString('en-US')} per queue: split it into ${k} ` +
        `(${k} rules with disjoint patterns on detail.accountId, e.g. by prefix; one queue and mapping each; ${Math.round(inFlight).toLocaleString('en-US')} in flight per queue) — lib/constructs/events-routing.ts and delivery-pipeline.ts, not a setting`,
    });
    settings = { ...settings, eventsQueues: k };
  }
  const retryRow = before.rows.find((r) => r.id === 'sqs.retry.inFlight');
  if (retryRow?.fix && over(retryRow.id)) steps.push({ kind: 'hard', limit: retryRow.id, text: retryRow.fix.text });

  // The mappings: deliveryConcurrency sets both; a mapping past what standard mode takes needs provisioned mode.
  const split = loadOf(m.target, settings, a, m.cpu);
  const standardMax = AWS.esmMaximumConcurrencyMax.value;
  const lanes = [
    { key: 'fast' as const, id: 'esm.fast', need: split.fast.perMapping, mapping: 'events queue', setting: 'deliveryPollers' },
    { key: 'slow' as const, id: 'esm.slow', need: split.slow.perMapping, mapping: 'retry queue', setting: 'retryPollers' },
  ];
  const laneOver = (l: (typeof lanes)[number]) => l.need > mappingCap(settings[l.key]);
  const needsProvisioned = lanes.filter((l) => !settings[l.key].provisioned && l.need > standardMax);
  const standardOver = lanes.filter((l) => !settings[l.key].provisioned && l.need <= standardMax && laneOver(l));
  if (standardOver.length > 0) {
    const current = settings.fast.maxConcurrency ?? 0;
    const wanted = Math.max(current, Math.min(standardMax, niceUp(Math.max(...standardOver.map((l) => l.need / u)))));
    const tight = standardOver.filter((l) => l.need > wanted * u);
    steps.push({
      kind: 'setting',
      limit: 'Lambda ESM concurrency',
      text:
        `-c deliveryConcurrency=${wanted} (today ${settings.fast.maxConcurrency ?? 'none'}; it sets both mappings)` +
        tight.map((l) => `; the ${l.mapping} mapping then runs at ${Math.round((100 * l.need) / wanted)} % of it: for headroom, provisioned mode with -c ${l.setting}=${pollersFor(l.need, u)}`).join(''),
    });
    settings = { ...settings, fast: { ...settings.fast, maxConcurrency: wanted }, slow: { ...settings.slow, maxConcurrency: wanted } };
  }
  const provisionedOver = lanes.filter((l) => settings[l.key].provisioned && laneOver(l) && l.need <= AWS.esmProvisionedMax.value);
  for (const l of [...needsProvisioned, ...provisionedOver]) {
    const pollers = pollersFor(l.need, u);
    steps.push({
      kind: 'setting',
      limit: `Lambda ESM concurrency (${l.mapping})`,
      text:
        `-c ${l.setting}=${pollers}: ${Math.round(l.need).toLocaleString('en-US')} concurrent${settings.eventsQueues > 1 && l.key === 'fast' ? ' per mapping' : ''} is above what the ${l.mapping} mapping takes ` +
        `(${standardMax.toLocaleString('en-US')} in standard mode): provisioned mode, ${CONCURRENT_PER_POLLER} concurrent per poller (ProvisionedPollerConfig; exclusive with MaximumConcurrency). ` +
        'Lambda sizes pollers by the queue; how many run is only seen in an account (ProvisionedPollers metric)',
    });
    settings = { ...settings, [l.key]: { ...settings[l.key], provisioned: true, maxPollers: pollers } };
    if (l.key === 'fast') fastAlternative = fastLaneAlternative({ ...m, settings }, a, standardMax * u);
  }
  for (const l of lanes) {
    if (settings[l.key].provisioned && l.need > AWS.esmProvisionedMax.value) {
      steps.push({ kind: 'hard', limit: l.id, text: `${Math.round(l.need).toLocaleString('en-US')} concurrent on one mapping is past provisioned mode's ${AWS.esmProvisionedMax.value.toLocaleString('en-US')}: split the ${l.mapping}` });
    }
  }

  const setShards = (id: string, needAtCurrent: number, current: number, key: 'attemptLogShards' | 'dueShards', text: (n: number) => string) => {
    if (!over(id)) return;
    const n = Math.ceil((needAtCurrent * current) / (AWS.ddbPartitionWrite.value * u));
    steps.push({ kind: 'code', limit: id, text: text(n) });
    settings = { ...settings, [key]: n };
  };
  setShards('ddb.attemptLog.partition', load.ddb.attemptLogPartitionWrite, settings.attemptLogShards, 'attemptLogShards', (n) =>
    `attempt log partition: ${Math.round(load.ddb.attemptLogWebhookWrite).toLocaleString('en-US')} WRU/s on one webhook's key is past ${AWS.ddbPartitionWrite.value.toLocaleString('en-US')}: ` +
    `more shards per webhook: LOG_SHARDS = ${n} (today ${m.settings.attemptLogShards}; dynamo-delivery-store.ts, not a setting; listing reads ${n} Queries merged)`,
  );
  setShards('ddb.due.partition', load.ddb.dueShardWrite, settings.dueShards, 'dueShards', (n) => `due index: DUE_SHARDS = ${n} (today ${m.settings.dueShards}; dynamo-delivery-store.ts, not a setting)`);
  const webhooksRow = before.rows.find((r) => r.id === 'ddb.webhooks.partition');
  if (webhooksRow?.fix && over(webhooksRow.id)) steps.push({ kind: 'code', limit: webhooksRow.id, text: webhooksRow.fix.text });

  // Quotas, sized on the needs with the changes above (the needs do not depend on them).
  const after0 = evaluate({ ...m, settings, quotas });
  const raise = (q: keyof Quotas, need: number) => {
    // Raised when the need is past the utilization target, not only past the quota: a quota met exactly throttles every burst.
    if (need <= quotas[q] * u) return;
    const value = niceUp(need / u);
    const headroom = need <= quotas[q] ? ` (within the default, but at ${Math.round((100 * need) / quotas[q])} % of it)` : '';
    steps.push({ kind: 'quota', limit: QUOTA_NAMES[q], text: `${QUOTA_NAMES[q]}: ${quotas0[q].toLocaleString('en-US')} → ${value.toLocaleString('en-US')}${headroom}` });
    quotas = { ...quotas, [q]: value };
  };
  const need = (id: string) => after0.rows.find((r) => r.id === id)?.need ?? 0;
  raise('putEvents', need('eventbridge.putEvents'));
  raise('invocations', need('eventbridge.invocations'));
  raise('lambdaConcurrency', need('lambda.concurrency') + settings.reservedConcurrency);
  raise('ddbTableWrite', Math.max(need('ddb.deliveries.write'), need('ddb.deliveries.indexes')));
  raise('ddbTableRead', Math.max(need('ddb.deliveries.read'), need('ddb.webhooks.read')));
  raise('kmsSymmetric', need('kms.decrypt'));
  const warm = after0.rows.find((r) => r.id === 'ddb.warm');
  if (warm && warm.need > warm.cap) {
    steps.push({
      kind: 'ramp',
      limit: 'DynamoDB warm throughput',
      text:
        `-c deliveriesWarmWrites=${niceUp(warm.need / u)}: pre-warm the deliveries table before the traffic arrives (its WarmThroughput; billed once per change), ` +
        'or let the traffic grow no faster than on-demand adapts',
    });
  }
  for (const [key, name] of [
    ['fast', 'events'],
    ['slow', 'retry'],
  ] as const) {
    const lane = after0.load[key];
    const minutes = settings[key].provisioned ? lane.perMapping / AWS.esmProvisionedScalePerMinute.value : Math.max(0, lane.perMapping - AWS.esmStandardStart.value) / AWS.esmStandardScalePerMinute.value;
    if (minutes > 1) {
      steps.push({
        kind: 'ramp',
        limit: `${name} mapping scale-up`,
        text: `the ${name} queue's mapping needs ~${minutes.toFixed(1)} min to scale from idle to ${Math.round(lane.perMapping).toLocaleString('en-US')} concurrent (${settings[key].provisioned ? 'provisioned' : 'standard'} mode): grow the traffic over at least that long, or keep minimum pollers warm (provisioned mode)`,
      });
    }
  }
  const after = evaluate({ ...m, settings, quotas });
  return { steps, settings, quotas, after, ...(fastAlternative ? { fastAlternative } : {}) };
}

/**
 * The fast lane in standard mode with larger batches and more memory (neither is a setting today):
 * the smallest batch (then memory) whose concurrency fits `limit`, while the busiest account's
 * requests per batch all still get a turn on its origin's connections within the fast lane's wait.
 */
function fastLaneAlternative(m: ModelInputs, a: Assumptions, limit: number): Plan['fastAlternative'] {
  for (const batchSize of [10, 20, 30, 40, 50, 100]) {
    for (const memoryMb of [512, 1024, 1769]) {
      const settings = { ...m.settings, fast: { ...m.settings.fast, batchSize, memoryMb, provisioned: false } };
      const load = loadOf(m.target, settings, a, m.cpu);
      if (load.originOverflow === 0 && load.fast.perMapping <= limit) return { batchSize, memoryMb, concurrency: load.fast.perMapping };
    }
  }
  return undefined;
}
