/**
 * `npm run cost`: monthly AWS cost of the webhook pipeline on list prices, per service, and per
 * million deliveries.
 *
 *   npm run cost                                   the reference case (10 M events, fan-out 1, 1.5 KB, 1 % failing)
 *   npm run cost -- --region eu-west-1 --events 50000000 --fan-out 3 --payload-kb 4 --failure-rate 0.02
 *   npm run cost -- --failure-mode recover         failing deliveries succeed at their first retry (default: exhaust the schedule)
 *   npm run cost -- --retention-days 90 --log-retention-days 30   attempt log and CloudWatch Logs retention (default: the stack's)
 *   npm run cost -- --json                         machine-readable
 *
 * Nothing here is a guess that the code could answer instead:
 * - the configuration comes from the synthesized stack (memory, architecture, batch size and
 *   window, log retention, retry schedule, attempt-log TTL, alarms, keys): stack-facts.ts;
 * - what a delivery reads and writes comes from running the real delivery and retry handlers
 *   (Powertools logging included) on dynalite with a fake HTTP sender, counting every DynamoDB
 *   call with its consumed capacity, every SQS message and every log byte: simulate.ts;
 * - CPU per delivery comes from `npm run bench` (bench/results.json) when present: cpu.ts.
 * What remains (endpoint latency, batch fill, accounts) is an assumption, printed with the result.
 * The arithmetic is in model.ts, the prices in prices.ts (bench/prices.json), the output in report.ts.
 */
import { parseCostArgs, readInput, readOverrides } from './arguments';
import { cpuFigures } from './cpu';
import { costModel, type Scenario } from './model';
import { loadPrices } from './prices';
import { printJson, printReport } from './report';
import { simulate } from './simulate';
import { readStack } from './stack-facts';

async function main(): Promise<void> {
  const args = parseCostArgs();
  const input = readInput(args);
  const { table, prices } = loadPrices(args.prices as string, input.region);
  const overrides = readOverrides(args);
  const stack = readStack();
  const sim = await simulate(input.payloadBytes, input.fanOut, input.failureMode);
  const scenario: Scenario = {
    input,
    retentionDays: overrides.retentionDays ?? stack.attemptLogRetentionDays,
    logRetentionDays: overrides.logRetentionDays ?? stack.delivery.logRetentionDays,
    ...(overrides.batchFill !== undefined ? { batchFill: overrides.batchFill } : {}),
    table,
    prices,
    stack,
    sim,
    cpu: cpuFigures(args.bench as string),
  };
  const model = costModel(scenario);
  if (args.json) printJson(scenario, model);
  else printReport(scenario, model, overrides);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
