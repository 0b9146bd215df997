import type { Overrides } from './arguments';
import type { CostModel, Line, Scenario } from './model';
import { describeOps, type Ops } from './ops';
import type { Simulation } from './simulate';

const TARGET_PER_MILLION = 2.0;

const usd = (v: number) => (v >= 100 ? `$${v.toFixed(0)}` : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(3)}`);
const qty = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v >= 10 ? v.toFixed(0) : v.toFixed(2));

/** `--json`: the scenario, what was measured and every line, machine-readable. */
export function printJson(s: Scenario, model: CostModel): void {
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
        lines: model.lines,
        total: model.total,
        perMillionDeliveries: model.perMillion,
        variablePerMillionDeliveries: model.variable / (model.D / 1e6),
      },
      null,
      2,
    ),
  );
}

function serializable(sim: Simulation) {
  const ops = (o: Ops) => ({ ...o, dynamo: Object.fromEntries(o.dynamo) });
  return { ...sim, success: ops(sim.success), failing: ops(sim.failing) };
}

/** The report for people: what was read and assumed, the lines, the totals, and what would change them. */
export function printReport(s: Scenario, model: CostModel, overrides: Overrides): void {
  printScenario(s, model, overrides);
  console.log('');
  printLines(model);
  console.log('');
  printVerdict(model);
  console.log('');
  printLevers(s, model);
}

function printScenario(s: Scenario, model: CostModel, overrides: Overrides): void {
  const { input, retentionDays, logRetentionDays, table, prices, stack, sim, cpu } = s;
  const d = stack.delivery;
  console.log(`Monthly cost, ${prices.name} (${input.region}), AWS list prices of ${table.dated}${input.freeTier ? ', free tier applied' : ', no free tier'}`);
  if (!prices.verified.startsWith('matches') && !prices.verified.startsWith('same')) console.log(`  ! prices for this region: ${prices.verified}`);
  console.log(
    `Traffic: ${qty(input.eventsPerMonth)} events/month, fan-out ${input.fanOut} → ${qty(model.D)} deliveries; payload ${(input.payloadBytes / 1024).toFixed(1)} KB; ` +
      `${(input.failureRate * 100).toFixed(1)} % of deliveries failing (${input.failureMode === 'exhaust' ? 'every attempt of the schedule fails' : 'they succeed at the first retry'}); attempt log kept ${retentionDays} days`,
  );
  console.log(
    `Stack (synthesized): delivery ${d.memoryMb} MB ${d.architecture}, batch ${d.batchSize}, window ${d.batchingWindowSeconds} s, max concurrency ${d.maxConcurrency ?? '-'}; ` +
      `log retention ${logRetentionDays} d${overrides.logRetentionDays !== undefined ? ' (--log-retention-days)' : ''}; retry schedule ${stack.retryScheduleSeconds.join(',')} s; ${stack.alarms} alarms; ${stack.kmsKeys} KMS keys; ${stack.inVpc ? 'in a VPC (NAT not modelled!)' : 'no VPC (no NAT)'}`,
  );
  console.log(
    `From the code (real handlers on dynalite): a delivered attempt = ${describeOps(sim.success)}; a failing delivery = ${describeOps(sim.failing)}, ` +
      `${sim.retryHops} re-delay hops + ${sim.retryAttempts} due retries`,
  );
  console.log(`CPU: ${cpu.perEventMs.toFixed(2)} ms/event + ${cpu.perDeliveryHttpMs.toFixed(2)} ms/delivery + ${cpu.perDeliveredRecordMs.toFixed(2)} ms per delivered record (batched) + ${cpu.perAwsCallMs.toFixed(2)} ms per single-item AWS call (${cpu.source}${input.cpuFactor !== 1 ? `, ×${input.cpuFactor}` : ''})`);
  console.log(`Assumed: slowest endpoint response per batch ${input.endpointMs} ms (failing ${input.failingEndpointMs} ms), AWS call ${input.awsCallMs} ms, ${input.accounts} active accounts, batch fill ${model.batchFill.toFixed(1)}`);
}

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

function printLevers({ prices, sim }: Scenario, { lines, total, D, Dok, wOk, wru }: CostModel): void {
  console.log('What would change it (savings computed from the lines above; each lever alone):');
  const line = (service: string, startsWith: string) => lineCost(lines, service, startsWith);
  const perM = (v: number) => usd(v / (D / 1e6));
  const levers: Array<[string, number]> = [
    [
      'the tracking pipeline sends to the events queue itself (SendMessageBatch, 10 per request) instead of EventBridge PutEvents',
      line('EventBridge', 'custom events') + line('SQS', 'events queue: EventBridge sends') * 0.9,
    ],
    [
      `retries wait without 15-minute re-delay hops (visibility timeout up to 12 h, or EventBridge Scheduler): ${sim.failing.retryRecords} → ${sim.retryAttempts} records per failing delivery`,
      (line('SQS', 'retry + failed queues') + line('SQS', 'retry queue') + line('Lambda', 'retry')) * (1 - sim.retryAttempts / Math.max(1, sim.failing.retryRecords)),
    ],
    [
      'successes recorded several to an attempt-log item (e.g. per webhook and minute) instead of one item each (estimate: -80 % of their writes, -50 % of storage)',
      line('DynamoDB', 'writes') * (Dok * wOk / Math.max(1, wru)) * 0.8 + (line('DynamoDB', 'attempt-log storage') + line('DynamoDB', 'point-in-time')) * 0.5,
    ],
    ['fixed items (metrics, alarms, keys) spread over more traffic: at 10× the events', lines.filter((l) => l.fixed).reduce((n, l) => n + l.usd, 0) * 0.9],
  ];
  for (const [what, saving] of levers.sort((a, b) => b[1] - a[1])) {
    console.log(`  -${perM(saving).padStart(7)}/M  → ${usd((total - saving) / (D / 1e6))}/M   ${what}`);
  }
  const floor = line('EventBridge', 'custom events') + line('SQS', 'events queue') + (Dok * wOk / 1e6) * prices.dynamodb.onDemandWritePerMillion;
  console.log(`  Floor of this design (EventBridge + events queue + one attempt-log write per delivery, nothing else): ${perM(floor)}/M.`);
}
