import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMITTED_METRICS } from '../../lambdas/shared/contract';
import { TABLE_DEFINITIONS } from '../../lib/table-definitions';
import type { Input } from '../../scripts/cost/arguments';
import { compareDesigns } from '../../scripts/cost/compare';
import type { CpuFigures } from '../../scripts/cost/cpu';
import { type CostModel, costModel, probesBefore, type Scenario, SECONDS_PER_MONTH, visitsPerEntryOf } from '../../scripts/cost/model';
import { addOps, emptyOps, type Fn, indexWrites, type Ops } from '../../scripts/cost/ops';
import { type PriceTable, tiered } from '../../scripts/cost/prices';
import type { Simulation } from '../../scripts/cost/simulate';
import type { StackFacts } from '../../scripts/cost/stack-facts';

/**
 * `npm run cost`'s arithmetic on a made-up simulation: each new line item's dollars, computed here
 * again from the price table; the planner-vs-lanes comparison; the command line's help and usage
 * errors. No timing.
 */

const ROOT = join(__dirname, '..', '..');
const table = JSON.parse(readFileSync(join(ROOT, 'bench', 'prices.json'), 'utf8')) as PriceTable;
const prices = table.regions['us-east-1'] as PriceTable['regions'][string];
const MONTH_S = 730 * 3600;

type OpsSpec = {
  dynamo?: Record<string, [calls: number, units: number]>;
  index?: Record<string, [writes: number, units: number]>;
  fn?: Partial<Record<Fn, Partial<Ops['fn'][Fn]>>>;
} & Partial<Omit<Ops, 'dynamo' | 'index' | 'fn'>>;

function ops({ dynamo = {}, index = {}, fn = {}, ...rest }: OpsSpec = {}): Ops {
  const o = { ...emptyOps(), ...rest };
  for (const [k, [calls, units]] of Object.entries(dynamo)) o.dynamo.set(k, { calls, units });
  for (const [k, [writes, units]] of Object.entries(index)) o.index.set(k, { writes, units });
  for (const [f, v] of Object.entries(fn) as Array<[Fn, Partial<Ops['fn'][Fn]>]>) o.fn[f] = { ...o.fn[f], ...v };
  return o;
}

const sim: Simulation = {
  success: ops({ dynamo: { 'deliveries BatchWriteItem': [0.1, 1] }, httpAttempts: 1, httpBytesOut: 2000, logBytes: 6, finalItemBytes: 500, fn: { delivery: { awsCalls: 0.1, attempts: 1, waitMs: 200 } } }),
  cacheMissQuery: { units: 0.5 },
  logBytesPerInvocation: 286,
  rateLimitExtra: ops({ dynamo: { 'deliveries UpdateItem': [1, 1] }, fn: { delivery: { awsCalls: 1 } } }),
  slow: {
    perDelivery: ops({
      dynamo: { 'deliveries UpdateItem': [2, 4], 'deliveries GetItem': [1, 1], 'webhooks GetItem': [1, 1] },
      index: { 'deliveries due': [2, 4] },
      sqsMessages: 1,
      sqsBytes: 2000,
      retryRecords: 1,
      httpAttempts: 1,
      httpBytesOut: 2000,
      logBytes: 500,
      finalItemBytes: 500,
      fn: { delivery: { awsCalls: 2 }, retry: { awsCalls: 3, attempts: 1, waitMs: 3000 } },
    }),
    perMark: ops({ dynamo: { 'webhooks UpdateItem': [1, 1], 'webhooks Query': [1, 0.5] }, httpAttempts: 1, fn: { delivery: { awsCalls: 2, attempts: 1, waitMs: 1500 } } }),
    messageBytes: 2000,
  },
  failing: {
    perDelivery: ops({ dynamo: { 'deliveries UpdateItem': [2, 6] }, index: { 'deliveries parked': [2, 6] }, finalItemBytes: 2000, fn: { delivery: { awsCalls: 1 }, reconciler: { awsCalls: 1 } } }),
    perOutage: ops({
      dynamo: { 'webhooks UpdateItem': [6, 6] },
      index: { 'deliveries due': [14, 36], 'webhooks breakers': [5, 5] },
      sqsMessages: 8,
      retryRecords: 7,
      httpAttempts: 4,
      fn: { retry: { awsCalls: 27, attempts: 4, waitMs: 8000 } },
    }),
    perProbe: ops({
      dynamo: { 'deliveries UpdateItem': [2, 6] },
      index: { 'webhooks breakers': [4, 4], 'deliveries parked': [2, 6], 'deliveries due': [2, 4] },
      sqsMessages: 1,
      retryRecords: 1,
      httpAttempts: 1,
      fn: { retry: { awsCalls: 4, attempts: 1, waitMs: 2000 }, reconciler: { awsCalls: 4 } },
    }),
    staleExtra: ops(),
    deliveriesBeforeOpen: 3,
  },
  reconcilerTick: ops({ dynamo: { 'webhooks Query': [1, 0.5], 'deliveries Query': [8, 4] }, fn: { reconciler: { awsCalls: 9 } } }),
};

const fn = { memoryMb: 512, architecture: 'arm64' as const, timeoutSeconds: 30, batchSize: 10, batchingWindowSeconds: 1, logRetentionDays: 7 };
const stack: StackFacts = {
  delivery: fn,
  retry: fn,
  reconciler: { inStack: true, memoryMb: 512, architecture: 'arm64', everySeconds: 60, logRetentionDays: 7 },
  isolation: { attemptTimeoutMs: 10_000, inlineTimeoutMs: 1_500, breakerFailures: 3, autoDisableAfterDays: 5, reconcileEverySeconds: 60 },
  retryScheduleSeconds: [5, 300],
  attemptLogRetentionDays: 30,
  alarms: 14,
  kmsKeys: 2,
  queues: 5,
  tables: 3,
  pitrTables: 3,
  deliveriesPitr: true,
  inVpc: false,
};
const cpu: CpuFigures = { source: 'test', perEventMs: 0.14, perDeliveryHttpMs: 0.2, perDeliveredRecordMs: 0.46, perAwsCallMs: 1.45 };
const input: Input = {
  region: 'us-east-1',
  eventsPerMonth: 10_000_000,
  fanOut: 1,
  payloadBytes: 1536,
  failureRate: 0.01,
  failureMode: 'exhaust',
  failingWebhooks: 10,
  slowFraction: 0.01,
  slowWebhooks: 10,
  slowEndpointMs: 3000,
  rateLimitedFraction: 0.01,
  endpointMs: 200,
  failingLatencyMs: 2000,
  awsCallMs: 8,
  accounts: 1000,
  cpuFactor: 1,
  freeTier: false,
};
const scenario: Scenario = { input, retentionDays: 30, logRetentionDays: 7, table, prices, stack, sim, cpu };

const line = (model: CostModel, service: string, startsWith: string) => {
  const found = model.lines.filter((l) => l.service === service && l.item.startsWith(startsWith));
  if (found.length !== 1) throw new Error(`${found.length} lines ${service} "${startsWith}"`);
  return found[0] as CostModel['lines'][number];
};

describe('cost model: the isolation design as built', () => {
  const model = costModel(scenario);
  const Dslow = 100_000;
  const Dfail = 100_000;
  // Probes of one outage until the auto-disable (5 days), at the reconciler's ticks: 60, 120, 180,
  // 300, 480 s (10, 20, 40, 80, 160 s waits, each rounded up to a tick), then every 300 s.
  const probesPerOutage = 5 + Math.floor((5 * 86_400 - 780) / 300) + 1;
  const probes = 10 * probesPerOutage;
  const wru = (units: number) => (units / 1e6) * prices.dynamodb.onDemandWritePerMillion;

  it('counts the probes of an outage and the reconciler ticks', () => {
    expect(probesBefore(5 * 86_400_000, 60_000)).toBe(1443);
    expect(probesPerOutage).toBe(1443);
    expect(model.isolation.probes).toBe(probes);
    expect(model.isolation.ticks).toBe(43_800);
  });

  it('aborts one inline attempt per slow webhook each time its 5-minute hold has ended', () => {
    const perWebhook = 1 / (300 / MONTH_S + 1 / (Dslow / 10));
    expect(model.isolation.slowMarks).toBeCloseTo(10 * perWebhook, 6);
  });

  it('prices the GSI writes measured on every kind of delivery (slow lane, parked, outages, probes)', () => {
    const units = Dslow * 4 + Dfail * 6 + 10 * (36 + 5) + probes * (4 + 6 + 4);
    expect(line(model, 'DynamoDB', 'writes: GSIs').quantity).toBeCloseTo(units, 3);
    expect(line(model, 'DynamoDB', 'writes: GSIs').usd).toBeCloseTo(wru(units), 9);
  });

  it('prices one conditional UpdateItem per rate-limited delivery', () => {
    expect(line(model, 'DynamoDB', 'writes: rate limiter').usd).toBeCloseTo(wru(100_000), 9);
  });

  it('prices the slow lane: pending record and delivered update per delivery, markSlow per aborted attempt', () => {
    const marks = model.isolation.slowMarks;
    expect(line(model, 'DynamoDB', 'writes: slow lane').usd).toBeCloseTo(wru(Dslow * 4 + marks * 1), 9);
    const sends = Dslow * 1 + 10 * 8 + probes * 1;
    expect(line(model, 'SQS', 'slow lane + failed queues: sends').usd).toBeCloseTo((sends / 1e6) * prices.sqs.standardRequestsPerMillion, 9);
    // 100 k records a month fill a 1-second window with one record: a receive and a delete each.
    const records = Dslow + 10 * 7 + probes;
    expect(line(model, 'SQS', 'slow lane: receive + delete').usd).toBeCloseTo(((2 * records) / 1e6) * prices.sqs.standardRequestsPerMillion, 9);
  });

  it('prices failing deliveries parked, then skipped, with the outages and probes', () => {
    const units = Dfail * 6 + 10 * 6 + probes * 6;
    expect(line(model, 'DynamoDB', 'writes: failing endpoints').usd).toBeCloseTo(wru(units), 9);
  });

  it('prices the reconciler: 43,800 invocations, their duration and their GSI queries, as fixed lines', () => {
    const requests = line(model, 'Lambda', 'reconciler requests');
    expect(requests.fixed).toBe(true);
    expect(requests.usd).toBeCloseTo((43_800 / 1e6) * prices.lambda.requestsPerMillion, 9);
    // The breakers Query, then the eight due Queries in parallel: two calls' wait; nine calls' CPU at 512 MB's vCPU share.
    const tickMs = 2 * 8 + (9 * 1.45) / (512 / table.assumptions.lambdaFullVcpuAtMb);
    const duration = line(model, 'Lambda', 'reconciler duration');
    expect(duration.fixed).toBe(true);
    expect(duration.usd).toBeCloseTo(43_800 * (tickMs / 1000) * 0.5 * prices.lambda.gbSecondArm64, 9);
    const queries = line(model, 'DynamoDB', 'reconciler ticks');
    expect(queries.fixed).toBe(true);
    expect(queries.usd).toBeCloseTo(((43_800 * 4.5) / 1e6) * prices.dynamodb.onDemandReadPerMillion, 9);
  });

  it('prices point-in-time recovery on the attempt log only when the deliveries table has it', () => {
    const storage = line(model, 'DynamoDB', 'attempt-log storage');
    const on = line(model, 'DynamoDB', 'point-in-time recovery');
    expect(on.quantity).toBe(storage.quantity);
    expect(on.usd).toBeCloseTo(storage.quantity * prices.dynamodb.pitrGbMonth, 9);
    const off = line(costModel({ ...scenario, stack: { ...stack, deliveriesPitr: false, pitrTables: 2 } }), 'DynamoDB', 'point-in-time recovery');
    expect(off.item).toMatch(/\(off; 2\/3 tables\)/);
    expect(off.usd).toBe(0);
  });

  it('prices one custom metric per name the functions emit (EMITTED_METRICS), as a fixed line', () => {
    const metrics = line(model, 'CloudWatch', 'custom metrics');
    const emitted = EMITTED_METRICS.delivery.length + EMITTED_METRICS.retry.length + EMITTED_METRICS.reconciler.length;
    expect(metrics.quantity).toBe(emitted);
    expect(metrics.fixed).toBe(true);
    expect(metrics.usd).toBeCloseTo(emitted * prices.cloudwatch.customMetricMonth, 9);
  });

  it('adds the aborted inline attempts to the delivery function at the fast lane budget', () => {
    const without = costModel({ ...scenario, input: { ...input, slowWebhooks: 0 } });
    const extraMs = model.isolation.slowMarks * 1500 + (model.isolation.slowMarks * (2 * 1.45 + 0.2)) / (512 / table.assumptions.lambdaFullVcpuAtMb);
    const delta = line(model, 'Lambda', 'delivery duration').usd - line(without, 'Lambda', 'delivery duration').usd;
    expect(delta).toBeCloseTo((extraMs / 1000) * 0.5 * prices.lambda.gbSecondArm64, 6);
  });

  it('prices a failing attempt at --failing-latency-ms (through the measured waits)', () => {
    // Four failing attempts of an outage at 10 s instead of 2 s.
    const perOutage = addOps(emptyOps(), sim.failing.perOutage);
    perOutage.fn.retry.waitMs = 40_000;
    const slower: Simulation = { ...sim, failing: { ...sim.failing, perOutage } };
    const a = line(model, 'Lambda', 'retry (slow lane) duration').usd;
    const b = line(costModel({ ...scenario, sim: slower }), 'Lambda', 'retry (slow lane) duration').usd;
    expect(b - a).toBeCloseTo(((10 * 32_000) / 1000) * 0.5 * prices.lambda.gbSecondArm64, 9);
  });
});

describe('cost model: planner + per-webhook jobs vs fast lane + slow lane', () => {
  const comparison = compareDesigns(scenario);
  const { planner, lanes } = comparison;
  const fill = 10_000_000 / MONTH_S; // records a 1-second window gathers (below the batch size)

  it('sends every delivery as a job: SendMessageBatch per planner invocation, receive + delete per job batch', () => {
    const invocations = 10_000_000 / fill;
    expect(line(planner, 'SQS', 'jobs queue: SendMessageBatch').usd).toBeCloseTo((invocations / 1e6) * prices.sqs.standardRequestsPerMillion, 6);
    expect(line(planner, 'SQS', 'jobs queue: receive + delete').usd).toBeCloseTo(((2 * 10_000_000) / fill / 1e6) * prices.sqs.standardRequestsPerMillion, 6);
    expect(line(planner, 'Lambda', 'job function requests').usd).toBeCloseTo((10_000_000 / fill / 1e6) * prices.lambda.requestsPerMillion, 6);
    expect(lanes.lines.some((l) => l.item.startsWith('jobs queue'))).toBe(false);
  });

  it('has no slow-lane hand-offs: slow endpoints are jobs like any other', () => {
    expect(planner.isolation.slowMarks).toBe(0);
    expect(planner.lines.some((l) => l.item.startsWith('writes: slow lane'))).toBe(false);
    const sends = 10 * 8 + 10 * 1443;
    expect(line(planner, 'SQS', 'slow lane + failed queues: sends').quantity).toBeCloseTo(sends, 6);
  });

  it('reports the difference per million deliveries and per month, split by service', () => {
    expect(comparison.monthlyDifference).toBeCloseTo(planner.total - lanes.total, 9);
    expect(comparison.perMillionDifference).toBeCloseTo((planner.total - lanes.total) / 10, 9);
    expect(comparison.byService.reduce((n, [, v]) => n + v, 0)).toBeCloseTo(comparison.monthlyDifference, 9);
    // At this traffic the planner's jobs cost more than the slow lane's hand-offs save.
    expect(comparison.perMillionDifference).toBeGreaterThan(0);
    expect(comparison.byService.find(([s]) => s === 'SQS')?.[1]).toBeGreaterThan(0);
    expect(comparison.byService.find(([s]) => s === 'DynamoDB')?.[1]).toBeLessThan(0);
  });
});

describe('cost simulation: GSI writes from the item before and after', () => {
  const deliveries = TABLE_DEFINITIONS.deliveries;
  const base = { pk: 'a#w#3', sk: 'msg_1', attempts: 'x'.repeat(1500) };

  it('a put when the item enters an index, a delete when it leaves, both when a key changes, one when another attribute changes', () => {
    const pending = { ...base, statusKey: 'a#w#pending#3', dueShard: 'due#3', sweepAt: '2026-01-01T00:00:05Z' };
    const parked = { ...base, statusKey: 'a#w#parked#3' };
    expect(indexWrites(deliveries, undefined, pending)).toEqual([
      { index: 'status', writes: 1, units: 2 },
      { index: 'due', writes: 1, units: 2 },
    ]);
    expect(indexWrites(deliveries, pending, parked)).toEqual([
      { index: 'status', writes: 2, units: 4 },
      { index: 'due', writes: 1, units: 2 },
    ]);
    expect(indexWrites(deliveries, pending, { ...pending, sweepAt: '2026-01-01T00:05:05Z' })).toEqual([
      { index: 'status', writes: 1, units: 2 },
      { index: 'due', writes: 2, units: 4 },
    ]);
    expect(indexWrites(deliveries, parked, { ...parked, reason: 'still down' })).toEqual([{ index: 'status', writes: 1, units: 2 }]);
    expect(indexWrites(deliveries, parked, parked)).toEqual([]);
    expect(indexWrites(deliveries, undefined, { ...base, status: 'delivered' })).toEqual([]);
  });
});

describe('cost model: volume tiers, batch entries, KMS and API Gateway requests', () => {
  it('prices a quantity on volume tiers, the free allowance out of the first tier', () => {
    const tiers = [
      [100, 1],
      [300, 0.5],
      [null, 0.25],
    ] as const;
    expect(tiered(50, tiers)).toBe(50);
    expect(tiered(250, tiers)).toBe(100 + 75);
    expect(tiered(1000, tiers)).toBe(100 + 100 + 700 * 0.25);
    expect(tiered(250, tiers, 120)).toBe(175 - (100 + 10));
    expect(tiered(3e6, [[null, 0.4]], 0, 1e6)).toBeCloseTo(1.2, 10);
    // The table's own tiers: SQS's second price starts at 100 billion requests, data transfer's at 10 TB.
    expect(tiered(150e9, prices.tiers!.sqsStandardRequestsPerMillion!, 0, 1e6)).toBeCloseTo(100e3 * 0.4 + 50e3 * 0.3, 6);
    expect(tiered(20 * 1024, prices.tiers!.dataTransferOutPerGb!)).toBeCloseTo(10240 * 0.09 + 10240 * 0.085, 6);
  });

  it('packs visits per entry from the payload size, and from the rate within the flush interval', () => {
    const fast = { ...input, eventsPerMonth: 1e9, visitsPerEntry: 'auto' as const };
    // (64 KiB − 1 KiB − 30 B) / (1536 + 61 B) = 40 visits fit one billed chunk.
    expect(visitsPerEntryOf(fast)).toBe(40);
    expect(visitsPerEntryOf({ ...fast, payloadBytes: 200 })).toBe(100);
    expect(visitsPerEntryOf({ ...input, visitsPerEntry: 'auto' })).toBeCloseTo(10e6 / SECONDS_PER_MONTH, 6);
    expect(visitsPerEntryOf({ ...input, visitsPerEntry: 'auto', publisherFlushMs: 5000, publishers: 2 })).toBeCloseTo((10e6 / SECONDS_PER_MONTH) * 2.5, 6);
    expect(visitsPerEntryOf({ ...input, visitsPerEntry: 500 })).toBe(100);
    expect(visitsPerEntryOf(input)).toBe(1);
  });

  it('prices batch entries: bus events and queue sends per entry, invocations per record', () => {
    const big = { ...scenario, input: { ...input, eventsPerMonth: 1e10 } };
    const single = costModel(big);
    const batched = costModel({ ...big, input: { ...big.input, visitsPerEntry: 'auto' } });
    expect(batched.visitsPerEntry).toBe(40);
    expect(line(single, 'EventBridge', 'custom events').quantity).toBe(1e10);
    expect(line(batched, 'EventBridge', 'custom events').quantity).toBe(1e10 / 40);
    expect(line(batched, 'EventBridge', 'custom events').usd).toBeCloseTo((1e10 / 40 / 1e6) * prices.eventbridge.customEventsPerMillion, 6);
    expect(line(batched, 'SQS', 'events queue: EventBridge sends').quantity).toBe(1e10 / 40);
    // 10 billion events a month fill the mapping's batches of 10 either way: 10 entries of 40 visits an invocation.
    expect(line(single, 'Lambda', 'delivery requests').quantity).toBeCloseTo(1e10 / 10, 0);
    expect(line(batched, 'Lambda', 'delivery requests').quantity).toBeCloseTo(1e10 / 400, 0);
    expect(batched.batchFill).toBe(400);
    // Per delivery, nothing else changes: the attempt log, the data transfer.
    expect(line(batched, 'DynamoDB', 'writes: delivered records').usd).toBeCloseTo(line(single, 'DynamoDB', 'writes: delivered records').usd, 6);
    expect(line(batched, 'Data transfer', 'out').usd).toBeCloseTo(line(single, 'Data transfer', 'out').usd, 6);
  });

  it('prices KMS requests: one Decrypt per data key and container; one data key per deployment makes them few', () => {
    const one = line(costModel(scenario), 'KMS', 'requests');
    const hundred = line(costModel({ ...scenario, input: { ...input, dataKeys: 100 } }), 'KMS', 'requests');
    expect(hundred.quantity).toBeCloseTo(100 * one.quantity + 730, 6);
    expect(hundred.usd).toBeCloseTo((hundred.quantity / 1e4) * prices.kms.requestsPer10k, 10);
  });

  it('prices API Gateway REST requests on their tiers, the API and authorizer invocations, as fixed lines', () => {
    const model = costModel({ ...scenario, input: { ...input, apiRequests: 400e6 } });
    const api = line(model, 'API Gateway', 'REST API requests');
    expect(api.fixed).toBe(true);
    expect(api.usd).toBeCloseTo(333 * 3.5 + 67 * 2.8, 6);
    // The authorizer's cache: at most one call per account and minute.
    expect(line(model, 'Lambda', 'management API + authorizer requests').quantity).toBe(400e6 + 1000 * (SECONDS_PER_MONTH / 60));
  });
});

describe('npm run cost: the command line', () => {
  const run = (...args: string[]) => spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'scripts', 'cost', 'main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });

  it('--help prints the options and exits 0', () => {
    const out = run('--help');
    expect(out.status).toBe(0);
    for (const flag of ['--slow-fraction', '--rate-limited-fraction', '--failing-latency-ms', '--compare-isolation', '--failure-mode', '--json', '--visits-per-entry', '--data-keys', '--api-requests', '--peak-factor']) {
      expect(out.stdout).toContain(flag);
    }
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unknown flag is a usage error: exit 2, no stack trace', () => {
    const out = run('--no-such-flag');
    expect(out.status).toBe(2);
    expect(out.stderr).toContain("Unknown option '--no-such-flag'");
    expect(out.stderr).toContain('--help');
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad value is a usage error too', () => {
    const out = run('--slow-fraction', '2');
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--slow-fraction is a fraction');
  });

  it('refuses a scenario the capacity model calls infeasible: exit 1 with its reasons', () => {
    // 30 billion events a month at fan-out 10 is about 11,400 events/s: npm run capacity refuses 10,000.
    const out = run('--events', '30000000000', '--fan-out', '10');
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('refused: npm run capacity finds');
    expect(out.stderr).toMatch(/\n {2}- /);
    expect(out.stdout).toBe('');
  }, 120_000);
});
