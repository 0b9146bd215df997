import { DEFAULTS } from '../../lambdas/shared/contract';
import type { Overrides } from './arguments';
import type { CapacityVerdict } from './capacity-check';
import type { DesignComparison } from './compare';
import type { CostModel, Line, Scenario } from './model';
import { describeOps, type Ops } from './ops';
import type { Simulation } from './simulate';

const TARGET_PER_MILLION = 2.0;

const usd = (v: number) => (v >= 100 ? `$${v.toFixed(0)}` : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(3)}`);
const qty = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v >= 10 ? v.toFixed(0) : v.toFixed(2));

/** A comparison without its two full models: totals and the difference. */
function comparisonSummary(c: DesignComparison) {
  return {
    eventsPerMonth: c.eventsPerMonth,
    fanOut: c.fanOut,
    lanesPerMillion: c.lanes.perMillion,
    plannerPerMillion: c.planner.perMillion,
    perMillionDifference: c.perMillionDifference,
    monthlyDifference: c.monthlyDifference,
    byService: Object.fromEntries(c.byService),
    plannerLines: c.planner.lines,
  };
}

/** `--json`: the scenario, what was measured and every line, machine-readable. */
export function printJson(s: Scenario, model: CostModel, alternative: DesignComparison, grid?: DesignComparison[], levers: Record<string, CostModel> = {}, capacity?: CapacityVerdict): void {
  const { input, retentionDays, logRetentionDays, table, prices, stack, sim, cpu } = s;
  console.log(
    JSON.stringify(
      {
        input: { ...input, retentionDays, logRetentionDays },
        prices: { region: input.region, dated: table.dated, verified: prices.verified },
        stack,
        simulation: serializable(sim),
        cpu,
        batchFill: model.batchFill,
        isolation: model.isolation,
        lines: model.lines,
        total: model.total,
        perMillionDeliveries: model.perMillion,
        variablePerMillionDeliveries: model.variable / (model.D / 1e6),
        plannerAlternative: comparisonSummary(alternative),
        levers: Object.fromEntries(
          Object.entries(levers).map(([name, m]) => [name, { perMillionDeliveries: m.perMillion, total: m.total, visitsPerEntry: m.visitsPerEntry, services: Object.fromEntries(m.services) }]),
        ),
        ...(capacity ? { capacity } : {}),
        ...(grid ? { isolationComparison: grid.map(comparisonSummary) } : {}),
      },
      null,
      2,
    ),
  );
}

function serializable(sim: Simulation) {
  const ops = (o: Ops) => ({ ...o, dynamo: Object.fromEntries(o.dynamo), index: Object.fromEntries(o.index) });
  return {
    ...sim,
    success: ops(sim.success),
    rateLimitExtra: ops(sim.rateLimitExtra),
    slow: { ...sim.slow, perDelivery: ops(sim.slow.perDelivery), perMark: ops(sim.slow.perMark) },
    failing: { ...sim.failing, perDelivery: ops(sim.failing.perDelivery), perOutage: ops(sim.failing.perOutage), perProbe: ops(sim.failing.perProbe), staleExtra: ops(sim.failing.staleExtra) },
    reconcilerTick: ops(sim.reconcilerTick),
  };
}

/** The report for people: what was read and assumed, the lines, the totals, and what would change them. */
export function printReport(s: Scenario, model: CostModel, overrides: Overrides, alternative: DesignComparison, batched?: CostModel): void {
  printScenario(s, model, overrides);
  console.log('');
  printLines(model);
  console.log('');
  printVerdict(model);
  const d = alternative.perMillionDifference;
  console.log(
    `Isolation alternative, "planner + per-webhook jobs": ${usd(alternative.planner.perMillion)}/M vs ${usd(alternative.lanes.perMillion)}/M as built ` +
      `(${d >= 0 ? '+' : '-'}${usd(Math.abs(d))}/M, ${d >= 0 ? '+' : '-'}${usd(Math.abs(alternative.monthlyDifference))}/month); --compare-isolation for 10 M/100 M events × fan-out 1/10.`,
  );
  console.log('');
  printLevers(s, model, batched);
}

/** `--compare-isolation`: both designs per million deliveries on the decision record's grid, and where they differ. */
export function printComparison(s: Scenario, grid: DesignComparison[]): void {
  const { input } = s;
  console.log(
    `Isolation designs, per million deliveries: "fast lane + slow lane" (as built) vs "planner + per-webhook jobs" (every delivery a job on a fair queue: ` +
      `SendMessageBatch of 10, receive and delete per batch, a job-function invocation share); ${(input.failureRate * 100).toFixed(1)} % failing (${input.failureMode}), ` +
      `${(input.slowFraction * 100).toFixed(1)} % slow (${input.slowEndpointMs} ms), ${(input.rateLimitedFraction * 100).toFixed(1)} % rate-limited`,
  );
  console.log(`${'events/month'.padEnd(14)}${'fan-out'.padStart(8)}${'lanes'.padStart(10)}${'planner'.padStart(10)}${'difference'.padStart(12)}${'per month'.padStart(12)}   where (planner − lanes, per month)`);
  for (const c of grid) {
    const signed = (v: number) => `${v >= 0 ? '+' : '-'}${usd(Math.abs(v))}`;
    console.log(
      `${qty(c.eventsPerMonth).padEnd(14)}${String(c.fanOut).padStart(8)}${usd(c.lanes.perMillion).padStart(10)}${usd(c.planner.perMillion).padStart(10)}${`${signed(c.perMillionDifference)}/M`.padStart(12)}${signed(c.monthlyDifference).padStart(12)}   ` +
        c.byService.map(([service, v]) => `${service} ${signed(v)}`).join(', '),
    );
  }
  console.log(
    'Same in both: failing endpoints (breaker, parking, probes), the rate limiter, the reconciler. The planner saves the slow lane\'s hand-offs (send, receive, delete, pending record + due GSI) and the aborted inline attempts; it pays a job per delivery.',
  );
}

function printScenario(s: Scenario, model: CostModel, overrides: Overrides): void {
  const { input, retentionDays, logRetentionDays, table, prices, stack, sim, cpu } = s;
  const d = stack.delivery;
  const iso = stack.isolation;
  const rec = stack.reconciler;
  const v = model.isolation;
  console.log(`Monthly cost, ${prices.name} (${input.region}), AWS list prices of ${table.dated}${input.freeTier ? ', free tier applied' : ', no free tier'}`);
  if (!prices.verified.startsWith('matches') && !prices.verified.startsWith('same')) console.log(`  ! prices for this region: ${prices.verified}`);
  console.log(
    `Traffic: ${qty(input.eventsPerMonth)} events/month, fan-out ${input.fanOut} → ${qty(model.D)} deliveries; payload ${(input.payloadBytes / 1024).toFixed(1)} KB; attempt log kept ${retentionDays} days; ` +
      `${pct(input.failureRate)} failing on ${input.failingWebhooks} webhooks (${input.failureMode === 'exhaust' ? 'down until auto-disabled: parked, then skipped' : 'back at the first probe: parked, then released'}), ` +
      `${pct(input.slowFraction)} slow on ${input.slowWebhooks} webhooks, ${pct(input.rateLimitedFraction)} rate-limited`,
  );
  console.log(
    `Stack (synthesized): delivery ${d.memoryMb} MB ${d.architecture}, batch ${d.batchSize}, window ${d.batchingWindowSeconds} s, max concurrency ${d.maxConcurrency ?? '-'}; ` +
      `log retention ${logRetentionDays} d${overrides.logRetentionDays !== undefined ? ' (--log-retention-days)' : ''}; retry schedule ${stack.retryScheduleSeconds.join(',')} s; ${stack.alarms} alarms; ${stack.kmsKeys} KMS keys; ${stack.inVpc ? 'in a VPC (NAT not modelled!)' : 'no VPC (no NAT)'}`,
  );
  console.log(
    `  lanes: inline budget ${iso.inlineTimeoutMs} ms, attempt budget ${iso.attemptTimeoutMs} ms; breaker after ${iso.breakerFailures} failures, auto-disable after ${iso.autoDisableAfterDays} days; ` +
      `reconciler ${rec.memoryMb} MB ${rec.architecture} every ${rec.everySeconds} s${rec.inStack ? '' : ' (NOT in the synthesized stack: assumed)'}`,
  );
  console.log('From the code (real handlers on dynalite; GSI writes counted from each written item before and after, as DynamoDB bills them: dynalite bills none):');
  console.log(`  fast-lane delivery = ${describeOps(sim.success)}`);
  console.log(`  slow-lane delivery = ${describeOps(sim.slow.perDelivery)}; the first after a 5-minute slow hold adds ${describeOps(sim.slow.perMark)}`);
  console.log(`  rate-limited delivery adds ${describeOps(sim.rateLimitExtra)}`);
  console.log(`  failing delivery = ${describeOps(sim.failing.perDelivery)}`);
  console.log(`  an outage once (breaker opened after ${sim.failing.deliveriesBeforeOpen} failing deliveries; their retries; ${input.failureMode === 'exhaust' ? 'the disabling probe' : 'the succeeding probe, the release'}; the close) = ${describeOps(sim.failing.perOutage)}`);
  console.log(`  a failed probe = ${describeOps(sim.failing.perProbe)}; an idle reconciler tick = ${describeOps(sim.reconcilerTick)}`);
  console.log(
    `Modelled volumes: ${qty(v.slowMarks)} aborted inline attempts (a slow webhook's first delivery after each 5-minute hold), ${qty(v.outages)} outages, ${qty(v.probes)} failed probes ` +
      `(${input.failureMode === 'exhaust' ? `until the auto-disable, backing off to ${stackProbeMax()} s` : 'none: the first succeeds'}), ${qty(v.ticks)} reconciler ticks`,
  );
  console.log(`CPU: ${cpu.perEventMs.toFixed(2)} ms/event + ${cpu.perDeliveryHttpMs.toFixed(2)} ms/delivery + ${cpu.perDeliveredRecordMs.toFixed(2)} ms per delivered record (batched) + ${cpu.perAwsCallMs.toFixed(2)} ms per single-item AWS call (${cpu.source}${input.cpuFactor !== 1 ? `, ×${input.cpuFactor}` : ''})`);
  console.log(
    `Assumed: slowest healthy endpoint per batch ${input.endpointMs} ms, slow endpoints ${input.slowEndpointMs} ms, failing attempts ${input.failingLatencyMs} ms, AWS call ${input.awsCallMs} ms, ${input.accounts} active accounts, batch fill ${model.batchFill.toFixed(1)}`,
  );
}

const pct = (f: number) => `${(f * 100).toFixed(1)} %`;
const stackProbeMax = () => (DEFAULTS.probeMaxIntervalMs / 1000).toFixed(0);

function printLines({ lines, services, total, variable, perMillion, D }: CostModel): void {
  console.log(`${'service'.padEnd(14)}${'item'.padEnd(84)}${'quantity'.padStart(16)}${'monthly'.padStart(10)}${'per M dlv'.padStart(11)}`);
  for (const l of lines) {
    console.log(`${l.service.padEnd(14)}${(l.item + (l.fixed ? ' [fixed]' : '')).slice(0, 83).padEnd(84)}${`${qty(l.quantity)} ${l.unit}`.padStart(16)}${usd(l.usd).padStart(10)}${usd(l.usd / (D / 1e6)).padStart(11)}`);
  }
  console.log('');
  for (const [service, v] of services) console.log(`  ${service.padEnd(14)}${usd(v).padStart(10)}  ${usd(v / (D / 1e6)).padStart(8)} per M deliveries  ${((v / total) * 100).toFixed(0).padStart(3)} %`);
  console.log(`  ${'total'.padEnd(14)}${usd(total).padStart(10)}  ${usd(perMillion).padStart(8)} per M deliveries (${usd(variable / (D / 1e6))} without the fixed items)`);
}

function printVerdict({ perMillion, topItems, D }: CostModel): void {
  console.log(`Target ≤ $${TARGET_PER_MILLION.toFixed(2)} per million deliveries: ${perMillion <= TARGET_PER_MILLION ? 'met' : 'MISSED'} ($${perMillion.toFixed(2)}).`);
  console.log(`Largest items: ${topItems.map((l) => `${l.service} ${l.item.split(' (')[0]} ${usd(l.usd / (D / 1e6))}/M`).join('; ')}.`);
}

/** The monthly cost of the lines of `service` whose item starts with `startsWith`. */
function lineCost(lines: Line[], service: string, startsWith: string): number {
  return lines.filter((l) => l.service === service && l.item.startsWith(startsWith)).reduce((n, l) => n + l.usd, 0);
}

function printLevers({ prices, input }: Scenario, { lines, total, D, Dok, wOk }: CostModel, batched?: CostModel): void {
  console.log('What would change it (savings computed from the lines above; each lever alone):');
  const line = (service: string, startsWith: string) => lineCost(lines, service, startsWith);
  const perM = (v: number) => usd(v / (D / 1e6));
  const levers: Array<[string, number]> = [
    [
      'the tracking pipeline sends to the events queue itself (SendMessageBatch, 10 per request) instead of EventBridge PutEvents',
      line('EventBridge', 'custom events') + line('SQS', 'events queue: EventBridge sends') * 0.9,
    ],
    ['no point-in-time recovery on the attempt log (-c deliveriesPointInTimeRecovery=false)', line('DynamoDB', 'point-in-time')],
    ['fixed items (metrics, alarms, keys) spread over more traffic: at 10× the events', lines.filter((l) => l.fixed).reduce((n, l) => n + l.usd, 0) * 0.9],
  ];
  if (batched) {
    levers.push([
      `batch entries (--visits-per-entry auto): ${batched.visitsPerEntry.toFixed(1)} visits an entry with VisitBatchPublisher (flush ${input.publisherFlushMs ?? 1000} ms, ${input.publishers ?? 1} publisher${(input.publishers ?? 1) === 1 ? '' : 's'})`,
      total - batched.total,
    ]);
  }
  for (const [what, saving] of levers.sort((a, b) => b[1] - a[1])) {
    console.log(`  -${perM(saving).padStart(7)}/M  → ${usd((total - saving) / (D / 1e6))}/M   ${what}`);
  }
  const floor = line('EventBridge', 'custom events') + line('SQS', 'events queue') + ((Dok * wOk) / 1e6) * prices.dynamodb.onDemandWritePerMillion;
  console.log(`  Floor of this design (EventBridge + events queue + the success entries of the attempt log, nothing else): ${perM(floor)}/M.`);
}
