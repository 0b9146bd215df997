/**
 * `npm run cost`: monthly AWS cost of the webhook pipeline on list prices, per service, and per
 * million deliveries. `npm run cost -- --help` lists the options.
 *
 *   npm run cost                                   the reference case (10 M events, fan-out 1, 1.5 KB, 1 % failing, 1 % slow)
 *   npm run cost -- --region eu-west-1 --events 50000000 --fan-out 3 --payload-kb 4 --failure-rate 0.02
 *   npm run cost -- --failure-mode recover         failing endpoints come back at the first probe (default: down until auto-disabled)
 *   npm run cost -- --slow-fraction 0.05 --rate-limited-fraction 0.1 --failing-latency-ms 10000
 *   npm run cost -- --compare-isolation            "planner + per-webhook jobs" vs the lanes as built, 10 M / 100 M events, fan-out 1 / 10
 *   npm run cost -- --json                         machine-readable
 *
 * Nothing here is a guess that the code could answer instead:
 * - the configuration comes from the synthesized stack (memory, architecture, batch size and
 *   window, log retention, retry schedule, lanes and breaker settings, the reconciler and its
 *   schedule, attempt-log TTL, alarms, keys): stack-facts.ts;
 * - what a delivery reads and writes comes from running the real delivery, retry and reconciler
 *   handlers (Powertools logging included) on dynalite with a scripted HTTP sender, counting every
 *   DynamoDB call with its consumed capacity, every GSI write, every SQS message and every log
 *   byte: simulate.ts;
 * - CPU per delivery comes from `npm run bench` (bench/results.json) when present: cpu.ts.
 * What remains (endpoint latencies, shares of slow, failing and rate-limited endpoints, batch fill,
 * accounts) is an assumption, printed with the result.
 * The arithmetic is in model.ts (compare.ts for the two isolation designs), the prices in
 * prices.ts (bench/prices.json), the output in report.ts.
 */
import '../../local/sdk-notice';
import { readStackSettings } from '../capacity/stack';
import { type CostArgs, type Input, parseCostArgs, readInput, readOverrides } from './arguments';
import { capacityVerdict } from './capacity-check';
import { COMPARISON_GRID, compareDesigns, type DesignComparison } from './compare';
import { cpuFigures } from './cpu';
import { costModel, type Scenario } from './model';
import { loadPrices } from './prices';
import { printComparison, printJson, printReport } from './report';
import { type Simulation, simulate } from './simulate';
import { readStack } from './stack-facts';

async function main(): Promise<void> {
  const args = parseCostArgs();
  const input = readInput(args);
  const { table, prices } = loadPrices(args.prices as string, input.region);
  const overrides = readOverrides(args);
  const stack = readStack();
  const cpu = cpuFigures(args.bench as string);
  // A cost is only meaningful for traffic the stack can carry: what npm run capacity refuses is refused here.
  const capacity = capacityVerdict(input, readStackSettings(), cpu);
  if (!capacity.reachable) {
    console.error(`npm run cost: refused: npm run capacity finds ${capacity.eventsPerSecond.toFixed(0)} events/s at fan-out ${input.fanOut} infeasible for this stack, even with every quota raised:`);
    for (const reason of capacity.reasons) console.error(`  - ${reason}`);
    process.exit(1);
  }
  // The simulation depends on the traffic only through the fan-out (webhooks per account) and the payload.
  const sims = new Map<number, Simulation>();
  const simulationFor = async (i: Input) => {
    const key = Math.max(1, Math.round(i.fanOut));
    const known = sims.get(key);
    if (known) return known;
    const sim = await simulate({ input: i, isolation: stack.isolation });
    sims.set(key, sim);
    return sim;
  };
  const scenarioFor = async (i: Input): Promise<Scenario> => ({
    input: i,
    retentionDays: overrides.retentionDays ?? stack.attemptLogRetentionDays,
    logRetentionDays: overrides.logRetentionDays ?? stack.delivery.logRetentionDays,
    ...(overrides.batchFill !== undefined ? { batchFill: overrides.batchFill } : {}),
    table,
    prices,
    stack,
    sim: await simulationFor(i),
    cpu,
  });
  const scenario = await scenarioFor(input);
  const model = costModel(scenario);
  // The batch-entries lever, priced on the same scenario: what VisitBatchPublisher would pack.
  const batched = model.visitsPerEntry === 1 ? costModel({ ...scenario, input: { ...input, visitsPerEntry: 'auto' } }) : undefined;
  const alternative = compareDesigns(scenario);
  let grid: DesignComparison[] | undefined;
  if (args['compare-isolation']) {
    grid = [];
    for (const point of COMPARISON_GRID) {
      // Each point re-reads the options with its traffic, so derived defaults (failing and slow webhooks) follow the fan-out.
      const pointArgs: CostArgs = { ...args, events: String(point.events), 'fan-out': String(point.fanOut) };
      grid.push(compareDesigns(await scenarioFor(readInput(pointArgs))));
    }
  }
  if (args.json) {
    // Each lever of this scenario alone, on the same measurements (no new simulation).
    const levers = {
      ...(batched ? { batchEntries: batched } : {}),
      ...((input.dataKeys ?? 1) === 1 ? { perContainerDataKeys: costModel({ ...scenario, input: { ...input, dataKeys: 100 } }) } : {}),
    };
    printJson(scenario, model, alternative, grid, levers, capacity);
  }
  else {
    printReport(scenario, model, overrides, alternative, batched);
    console.log(
      capacity.fits
        ? `Capacity (npm run capacity, ${capacity.eventsPerSecond.toFixed(1)} events/s): carried as configured; closest limit ${capacity.binding}.`
        : `Capacity (npm run capacity, ${capacity.eventsPerSecond.toFixed(1)} events/s): NOT carried as configured (${capacity.binding}); settings or quota increases reach it (npm run capacity lists them). Priced as configured.`,
    );
    if (grid) {
      console.log('');
      printComparison(scenario, grid);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
