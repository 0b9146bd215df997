import { cdf, expectedMaxCappedAboveMs, expectedMaxCappedMs, latency, meanMs, slowerThan, Z99 } from '../../scripts/capacity/latency';
import {
  type Assumptions,
  bindingOrder,
  carried,
  DEFAULT_ASSUMPTIONS,
  DEFAULT_TARGET,
  distinctAccounts,
  evaluate,
  heldSlowShare,
  type LimitRow,
  loadOf,
  mappingCap,
  type ModelInputs,
  niceUp,
  plan,
  pollersFor,
  statusOf,
  type Target,
  UNITS,
} from '../../scripts/capacity/model';
import { AWS, DEFAULT_QUOTAS } from '../../scripts/capacity/quotas';
import type { StackSettings } from '../../scripts/capacity/stack';
import type { CpuFigures } from '../../scripts/cost/cpu';

/**
 * `npm run capacity`'s arithmetic on a stack written out here (the synthesized stack's values:
 * batch 10, window 1 s, 512 MB, MaximumConcurrency 20, one partition per webhook, 8 due shards):
 * each limit's need recomputed from its inputs, the binding limit, the plan, the refusal of a
 * target the settings cannot carry, and the command line. No timing.
 */


const lane = { batchSize: 10, windowSeconds: 1, memoryMb: 512, timeoutSeconds: 30, maxConcurrency: 20, provisioned: false };
const settings: StackSettings = {
  fast: lane,
  slow: lane,
  inlineTimeoutMs: 1_500,
  attemptTimeoutMs: 10_000,
  webhookCacheTtlMs: 10_000,
  slowHoldMs: 300_000,
  connectionsPerOrigin: 10,
  attemptLogShards: 16,
  dueShards: 16,
  reservedConcurrency: 1,
  apiRateLimit: 50,
  apiBurstLimit: 100,
  eventsQueues: 1,
  ruleTargets: 1,
  publisherBatch: 10,
  deliveriesOnDemand: true,
  keys: { attemptLog: 'pk (partition), sk (sort)', due: 'dueShard (partition)', status: 'statusKey (partition)', webhooks: 'accountId (partition)' },
};
const cpu: CpuFigures = { source: 'test', perEventMs: 0.1, perDeliveryHttpMs: 0.2, perDeliveredRecordMs: 0.5, perAwsCallMs: 1.5 };
const a: Assumptions = { ...DEFAULT_ASSUMPTIONS, awsCallMs: 10 };
const inputs = (target: Partial<Target> = {}, s: Partial<StackSettings> = {}): ModelInputs => ({ target: { ...DEFAULT_TARGET, ...target }, settings: { ...settings, ...s }, assumptions: a, cpu });
const rowOf = (rows: LimitRow[], id: string) => {
  const row = rows.find((r) => r.id === id);
  if (!row) throw new Error(`no row ${id}`);
  return row;
};
const maxed = { fast: { ...lane, maxConcurrency: 1000 }, slow: { ...lane, maxConcurrency: 1000 } };

describe('latency: a log-normal fitted to p50 and p99', () => {
  const l = latency(200, 2000);

  it('puts the median and the 99th percentile where they were given', () => {
    expect(l.sigma).toBeCloseTo(Math.log(10) / Z99, 10);
    expect(cdf(l, 200)).toBeCloseTo(0.5, 6);
    expect(cdf(l, 2000)).toBeCloseTo(0.99, 6);
    expect(slowerThan(l, 1500)).toBeCloseTo(1 - cdf(l, 1500), 12);
  });

  it('the expected slowest of n attempts cut at a budget: one attempt without a budget is the mean; n = 0 waits nothing; never past the budget', () => {
    expect(expectedMaxCappedMs(l, 1, 20_000)).toBeCloseTo(meanMs(l), -1);
    expect(meanMs(l)).toBeCloseTo(200 * Math.exp(l.sigma ** 2 / 2), 6);
    expect(expectedMaxCappedMs(l, 0, 1500)).toBe(0);
    const waits = [1, 10, 100, 1000].map((n) => expectedMaxCappedMs(l, n, 1500));
    for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeGreaterThan(waits[i - 1] as number);
    expect(waits[3]).toBeLessThanOrEqual(1500);
    expect(waits[3]).toBeGreaterThan(1490);
  });

  it('the slow lane draws from the tail above the inline budget, cut at the attempt budget', () => {
    const w = expectedMaxCappedAboveMs(l, 10, 1500, 10_000);
    expect(w).toBeGreaterThan(1500);
    expect(w).toBeLessThan(10_000);
    expect(expectedMaxCappedAboveMs(l, 1, 1500, 10_000)).toBeLessThan(w);
  });

  it('refuses p99 at or below p50', () => {
    expect(() => latency(200, 200)).toThrow(RangeError);
  });
});

describe('capacity model: what each limit needs', () => {
  const t = DEFAULT_TARGET;
  const load = loadOf(t, settings, a, cpu);
  const rows = evaluate(inputs()).rows;
  const q = slowerThan(latency(t.p50Ms, t.p99Ms), settings.inlineTimeoutMs);

  it('splits the deliveries: failing, slow (above the inline budget), fast', () => {
    const D = t.eventsPerSecond * t.fanOut;
    expect(load.deliveriesPerSecond).toBe(D);
    expect(load.slowShare).toBeCloseTo(q, 12);
    expect(load.failingPerSecond).toBeCloseTo(D * t.failing, 9);
    expect(load.slowPerSecond).toBeCloseTo(D * (1 - t.failing) * q, 9);
    expect(load.fastOkPerSecond).toBeCloseTo(D * (1 - t.failing) * (1 - q), 9);
  });

  it('EventBridge: one entry per event (the publisher batches 10 per request), one invocation per event and target', () => {
    expect(rowOf(rows, 'eventbridge.putEvents').need).toBe(10_000);
    expect(rowOf(rows, 'eventbridge.putEvents').cap).toBe(AWS.putEvents.value);
    expect(rowOf(rows, 'eventbridge.invocations').need).toBe(10_000);
    expect(evaluate(inputs({}, { ruleTargets: 2 })).rows.find((r) => r.id === 'eventbridge.invocations')?.need).toBe(20_000);
  });

  it('the fast lane by Little\'s law: full batches, invocations × (slowest inline attempt + CPU at 512 MB + sequential AWS calls)', () => {
    const f = load.fast;
    expect(f.fill).toBe(10);
    expect(f.invocationsPerSecond).toBe(1_000);
    const healthy = 10 * t.fanOut * (1 - t.failing);
    expect(f.waitMs).toBeCloseTo(expectedMaxCappedMs(latency(200, 2000), healthy, 1500), 6);
    const cpuMs = 10 * 0.1 + healthy * (1 - q) * (0.2 + 0.5) + healthy * q * 2 * 1.5 + 10 * t.fanOut * t.failing * 1.5;
    expect(f.cpuMs).toBeCloseTo(cpuMs / (512 / 1769), 6);
    expect(f.awsMs).toBe(10 * (1 + Math.ceil((healthy * (1 - q)) / 25)));
    expect(f.durationMs).toBeCloseTo(f.waitMs + f.cpuMs + f.awsMs, 9);
    expect(f.concurrency).toBeCloseTo((1_000 * f.durationMs) / 1000, 9);
    expect(rowOf(rows, 'esm.fast').need).toBeCloseTo(f.concurrency, 9);
    expect(rowOf(rows, 'esm.fast').cap).toBe(20);
  });

  it('the busiest account\'s requests take turns on its origin\'s 10 connections, waiting at most a third of the budget for one', () => {
    const mean = meanMs(latency(200, 2000));
    const served = 10 * (1 + 500 / mean);
    const top = 10 * 0.2 * 10 * 0.99; // 19.8 requests per batch of 10 events
    expect(load.originWaitMs).toBeCloseTo(Math.ceil(top / 10) * mean, 9);
    expect(load.originOverflow).toBe(0);
    const batch20 = loadOf(t, { ...settings, fast: { ...lane, batchSize: 20 } }, a, cpu);
    expect(batch20.originOverflow).toBeCloseTo(2 * top - served, 9);
    expect(batch20.originWaitMs).toBeCloseTo(Math.ceil(served / 10) * mean, 9);
  });

  it('a batch at low rate holds what one window gathers', () => {
    expect(loadOf({ ...t, eventsPerSecond: 4 }, settings, a, cpu).fast.fill).toBe(4);
    expect(loadOf({ ...t, eventsPerSecond: 0.2 }, settings, a, cpu).fast.fill).toBe(1);
  });

  it('the slow lane by Little\'s law: one message per slow delivery, the slowest of the batch from the tail, three AWS calls', () => {
    const s = load.slow;
    expect(s.recordsPerSecond).toBeCloseTo(load.slowPerSecond, 9);
    expect(s.fill).toBe(10);
    expect(s.waitMs).toBeCloseTo(expectedMaxCappedAboveMs(latency(200, 2000), 10, 1500, 10_000), 6);
    expect(s.awsMs).toBe(30);
    expect(s.concurrency).toBeCloseTo(((s.recordsPerSecond / 10) * s.durationMs) / 1000, 9);
    expect(rowOf(rows, 'esm.slow').need).toBeCloseTo(s.concurrency, 9);
  });

  it('SQS in flight: inside invocations plus at most a window being gathered (one batch per concurrent invocation at most)', () => {
    const f = load.fast;
    expect(f.inFlight).toBeCloseTo(10_000 * (f.durationMs / 1000) + Math.min(10_000 * 1, f.concurrency * 10), 6);
    expect(rowOf(rows, 'sqs.events.inFlight').cap).toBe(120_000);
  });

  it('Lambda account concurrency: both lanes and the API, against the quota less reserved concurrency', () => {
    const row = rowOf(rows, 'lambda.concurrency');
    expect(row.need).toBeCloseTo(load.fast.concurrency + load.slow.concurrency + 50 * 0.1 * 2, 9);
    expect(row.cap).toBe(1000 - 1);
    expect(statusOf(row)).toBe('quota');
  });

  it('the attempt log: the busiest webhook gets the top account\'s share of the events, 1 WRU per fast delivery, 4 per slow one, over its sixteen shards', () => {
    const row = rowOf(rows, 'ddb.attemptLog.partition');
    const expected = 0.2 * 10_000 * ((1 - q) * UNITS.fastOkWrite + q * UNITS.slowWrite);
    expect(row.need).toBeCloseTo(expected / 16, 6);
    expect(row.cap).toBe(1000);
    expect(row.need).toBeLessThan(row.cap);
    // One partition key per webhook (before the shards) would be past it: the code's fix.
    const one = evaluate(inputs({}, { attemptLogShards: 1 })).rows.find((r) => r.id === 'ddb.attemptLog.partition')!;
    expect(one.need).toBeCloseTo(expected, 6);
    expect(statusOf(one)).toBe('code');
    // Without a dominant account, the busiest webhook is any other one.
    expect(loadOf({ ...t, topAccountShare: 0 }, settings, a, cpu).ddb.attemptLogWebhookWrite).toBeCloseTo((10_000 / 999) * ((1 - q) + 4 * q), 6);
  });

  it('the due index: 4 WRU per slow-lane delivery over 16 shards; the table and the indexes: per-path units', () => {
    expect(rowOf(rows, 'ddb.due.partition').need).toBeCloseTo((load.slowPerSecond * 4) / 16, 6);
    expect(rowOf(rows, 'ddb.deliveries.write').need).toBeCloseTo(load.fastOkPerSecond * 1 + load.slowPerSecond * 4 + load.failingPerSecond * 4, 6);
    expect(rowOf(rows, 'ddb.deliveries.indexes').need).toBeCloseTo(Math.max(load.slowPerSecond * 4, load.failingPerSecond * 3), 6);
    expect(rowOf(rows, 'ddb.deliveries.read').need).toBeCloseTo(load.slowPerSecond, 6);
    expect(rowOf(rows, 'ddb.deliveries.write').cap).toBe(40_000);
  });

  it('webhook lists: one per account a container sees per cache TTL; the busiest account\'s partition is listed by every container', () => {
    const perContainer = (10_000 / load.fast.concurrency) * 10;
    expect(load.webhookListsPerSecond).toBeCloseTo((load.fast.concurrency * distinctAccounts(perContainer, 0.2, 1000)) / 10, 6);
    const listRead = 0.5 * Math.ceil((10 * 1024) / 4096);
    expect(rowOf(rows, 'ddb.webhooks.partition').need).toBeCloseTo((load.fast.concurrency / 10) * listRead + 0.2 * load.slowPerSecond, 6);
    expect(distinctAccounts(0, 0.2, 1000)).toBe(0);
    expect(distinctAccounts(1e7, 0.2, 1000)).toBeCloseTo(1000, 6);
    expect(distinctAccounts(50, 1, 1000)).toBeCloseTo(1, 9);
  });

  it('KMS: containers start at the mappings\' scale-up rate, each decrypting its data keys once; past the 1,000-key cache, every list decrypts again', () => {
    expect(load.kms.burst).toBeCloseTo(((300 + 300) / 60) * 100, 9);
    expect(rowOf(rows, 'kms.decrypt').need).toBeCloseTo(1000, 9);
    const thrashing = loadOf(t, settings, { ...a, dataKeys: 2000 }, cpu);
    expect(thrashing.kms.need).toBeCloseTo(thrashing.webhookListsPerSecond * 10 + thrashing.slowPerSecond, 6);
    const provisioned = loadOf(t, { ...settings, fast: { ...lane, provisioned: true } }, a, cpu);
    expect(provisioned.kms.burst).toBeCloseTo(((1000 + 300) / 60) * 100, 9);
  });

  it('the per-request sensitivity: a webhook\'s slow-lane share from its rate and the 5-minute hold', () => {
    expect(heldSlowShare(0, 100, 300)).toBe(0);
    expect(heldSlowShare(0.02, 0, 300)).toBe(0.02);
    expect(heldSlowShare(0.02, 1, 300)).toBeCloseTo(301 / 350, 12);
    expect(heldSlowShare(0.02, 2000, 300)).toBeGreaterThan(0.9999);
    expect(load.perRequestTail.slowPerSecond).toBeGreaterThan(load.slowPerSecond);
  });

  it('info rows (ramps, API Gateway) never decide feasibility', () => {
    for (const id of ['esm.scaleUp', 'lambda.scaling', 'ddb.warm', 'apigw.account']) expect(statusOf(rowOf(rows, id))).toBe('info');
  });
});

describe('capacity model: the binding limit, what the stack carries, the plan', () => {
  it('at the target, the binding limit is the one furthest past its ceiling', () => {
    const e = evaluate(inputs());
    const ratios = e.rows.filter((r) => r.steady).map((r) => r.need / r.cap);
    expect(e.binding.id).toBe('esm.fast');
    expect(e.binding.need / e.binding.cap).toBe(Math.max(...ratios));
    // With the mappings at 1,000, the account's concurrency quota is the furthest past its ceiling at 4,000 events/s.
    const e2 = evaluate(inputs({ eventsPerSecond: 4_000 }, maxed));
    expect(e2.binding.id).toBe('lambda.concurrency');
    expect(e2.status['lambda.concurrency']).toBe('quota');
    expect(e2.status['ddb.deliveries.write']).toBe('quota');
    expect(e2.reachable).toBe(true); // quotas alone reach it
  });

  it('what the stack carries: the rate at which the first limit reaches its ceiling, and that limit', () => {
    const c = carried(inputs());
    expect(c.binding?.id).toBe('esm.fast');
    const at = evaluate(inputs({ eventsPerSecond: c.eventsPerSecond }));
    expect(rowOf(at.rows, 'esm.fast').need).toBeCloseTo(20, 1);
    expect(at.fits).toBe(true);
    expect(evaluate(inputs({ eventsPerSecond: c.eventsPerSecond * 1.01 })).fits).toBe(false);
    const order = bindingOrder(inputs());
    expect(order[0]?.row.id).toBe('esm.fast');
    expect(order[0]?.eventsPerSecond).toBeCloseTo(c.eventsPerSecond, 3);
    for (let i = 1; i < order.length; i++) expect(order[i]?.eventsPerSecond).toBeGreaterThanOrEqual(order[i - 1]?.eventsPerSecond as number);
  });

  it('with every quota raised and standard-mode mappings at 1,000, the fast lane\'s mapping is what binds; one partition key per webhook would bind at 1,000 WRU', () => {
    const unlimited = Object.fromEntries(Object.keys(DEFAULT_QUOTAS).map((k) => [k, Number.POSITIVE_INFINITY])) as unknown as typeof DEFAULT_QUOTAS;
    const c = carried({ ...inputs({}, maxed), quotas: unlimited });
    expect(c.binding?.id).toBe('esm.fast');
    const unsharded = carried({ ...inputs({}, { ...maxed, attemptLogShards: 1 }), quotas: unlimited });
    expect(unsharded.binding?.id).toBe('ddb.attemptLog.partition');
    const q = slowerThan(latency(200, 2000), 1500);
    expect(unsharded.eventsPerSecond).toBeCloseTo(1000 / (0.2 * ((1 - q) + 4 * q)), 0);
  });

  it('the default target is reachable: the fast lane needs provisioned pollers (a setting), the account quotas need raising', () => {
    const e = evaluate(inputs());
    expect(e.reachable).toBe(true);
    expect(e.status['esm.fast']).toBe('setting');
    expect(e.status['esm.slow']).toBe('setting');
    expect(e.status['lambda.concurrency']).toBe('quota');
    expect(e.status['ddb.attemptLog.partition']).not.toBe('code'); // sixteen shards per webhook carry it
  });

  it('refuses a target the settings cannot carry, naming what blocks it and what lifts it', () => {
    const e = evaluate(inputs({ eventsPerSecond: 200_000 }));
    expect(e.reachable).toBe(false);
    const blockers = e.blockers.map((r) => [r.id, e.status[r.id]]);
    expect(blockers).toEqual(expect.arrayContaining([['ddb.attemptLog.partition', 'code'], ['ddb.due.partition', 'code']]));
    expect(blockers.some(([id]) => id === 'sqs.events.inFlight')).toBe(true);
  });

  it('the plan for the default target: named settings and quota increases, no code change, after which every limit fits', () => {
    const p = plan(inputs());
    const texts = p.steps.map((s) => `${s.kind}: ${s.text}`);
    expect(texts.some((x) => x.startsWith('setting: -c deliveryConcurrency=1000'))).toBe(true);
    expect(texts.some((x) => x.startsWith('setting: -c deliveryPollers=') && x.includes('provisioned mode'))).toBe(true);
    expect(p.steps.filter((s) => s.kind === 'code' || s.kind === 'new-setting' || s.kind === 'hard')).toEqual([]);
    expect(p.settings.attemptLogShards).toBe(16);
    expect(p.settings.dueShards).toBe(16);
    expect(p.settings.fast).toMatchObject({ provisioned: true, maxPollers: pollersFor(evaluate(inputs()).load.fast.perMapping, 0.8) });
    expect(p.quotas.lambdaConcurrency).toBe(niceUp((evaluate(inputs()).rows.find((r) => r.id === 'lambda.concurrency')?.need ?? 0) / 0.8 + 1));
    expect(p.quotas.ddbTableWrite).toBe(140_000);
    expect(p.quotas.putEvents).toBe(13_000); // within the default, but at 100 % of it
    expect(p.after.fits).toBe(true);
  });

  it('provisioned pollers: ten concurrent each, the cap from the maximum', () => {
    expect(pollersFor(1_767, 0.8)).toBe(230);
    expect(pollersFor(1, 0.8)).toBe(10);
    expect(pollersFor(100_000, 0.8)).toBe(2_000);
    expect(mappingCap({ ...lane, provisioned: true, maxPollers: 230 })).toBe(2_300);
    expect(mappingCap({ ...lane, provisioned: true })).toBe(20_000);
    expect(mappingCap(lane)).toBe(20);
  });

  it('a target existing settings reach: reachable, with the setting sized for 80 % use', () => {
    const e = evaluate(inputs({ eventsPerSecond: 500 }));
    expect(e.fits).toBe(false);
    expect(e.reachable).toBe(true);
    const p = plan(inputs({ eventsPerSecond: 500 }));
    const need = Math.max(e.load.fast.concurrency, e.load.slow.concurrency);
    expect(p.steps.find((s) => s.kind === 'setting')?.text).toContain(`deliveryConcurrency=${niceUp(need / 0.8)}`);
    expect(p.after.fits).toBe(true);
  });

  it('a small target fits as configured', () => {
    expect(evaluate(inputs({ eventsPerSecond: 50 })).fits).toBe(true);
    expect(plan(inputs({ eventsPerSecond: 50 })).steps.filter((s) => s.kind !== 'ramp')).toEqual([]);
  });

  it('an events queue past SQS\'s in-flight cap is split until each queue is within it', () => {
    const p = plan(inputs({ eventsPerSecond: 100_000, fanOut: 1 }));
    expect(p.settings.eventsQueues).toBeGreaterThan(1);
    expect(p.steps.some((s) => s.kind === 'hard' && s.text.includes('split it into'))).toBe(true);
    expect(p.after.fits).toBe(true);
  });

  it('rounds raised limits up to two significant digits', () => {
    expect(niceUp(2731)).toBe(2800);
    expect(niceUp(138_790)).toBe(140_000);
    expect(niceUp(12_500)).toBe(13_000);
    expect(niceUp(999.5)).toBe(1000);
    expect(niceUp(7)).toBe(7);
  });
});
