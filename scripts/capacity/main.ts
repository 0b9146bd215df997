/**
 * `npm run capacity`: what a steady load needs from every AWS limit it touches, against the AWS
 * default quotas and what the synthesized stack is configured for; which limit binds first; what
 * the stack carries; and the context settings, quota increases and code changes that reach the
 * target. `npm run capacity -- --help` lists the options; docs/capacity.md explains the model.
 *
 *   npm run capacity                                       10,000 events/s, fan-out 10, 1 % failing, p50 200 / p99 2,000 ms, busiest account 20 %
 *   npm run capacity -- --events-per-second 500 --fan-out 2
 *   npm run capacity -- -c deliveryConcurrency=1000        the stack synthesized with that context
 *
 * Exit codes: 0 when the stack's settings (with quota increases) carry the target, 1 when they
 * cannot (the reasons on stderr, the whole report on stdout), 2 on a usage error.
 */
import { ConfigError } from '../../lib/config';
import { cpuFigures } from '../cost/cpu';
import { HELP, parseCapacityArgs, UsageError } from './arguments';
import { bindingOrder, carried, evaluate, type ModelInputs, plan, type Status } from './model';
import { AWS, DEFAULT_QUOTAS, type Quotas } from './quotas';
import { type Capacity, refusalLine, reportText } from './report';
import { readStackSettings, type StackSettings } from './stack';

function usage(message: string): never {
  console.error(`npm run capacity: ${message}\n(npm run capacity -- --help lists the options)`);
  process.exit(2);
}

function main(): void {
  let args;
  try {
    args = parseCapacityArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) usage(err.message);
    throw err;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  let settings: StackSettings;
  try {
    settings = readStackSettings(args.context);
  } catch (err) {
    if (err instanceof ConfigError) usage(err.message);
    throw err;
  }
  const cpu = cpuFigures(args.bench);
  const m: ModelInputs = { target: args.target, settings, assumptions: args.assumptions, cpu };
  const evaluation = evaluate(m);

  // What the stack carries: as configured; with every existing setting at its maximum; and with every adjustable quota raised too.
  const maxed: StackSettings = {
    ...settings,
    fast: settings.fast.provisioned ? settings.fast : { ...settings.fast, maxConcurrency: AWS.esmMaximumConcurrencyMax.value },
    slow: settings.slow.provisioned ? settings.slow : { ...settings.slow, maxConcurrency: AWS.esmMaximumConcurrencyMax.value },
  };
  const unlimited = Object.fromEntries(Object.keys(DEFAULT_QUOTAS).map((k) => [k, Number.POSITIVE_INFINITY])) as unknown as Quotas;
  const capacity = (label: string, inputs: ModelInputs): Capacity => {
    const c = carried(inputs);
    return { label, eventsPerSecond: c.eventsPerSecond, ...(c.binding ? { binding: c.binding } : {}) };
  };
  const capacities = [
    capacity(`as configured (deliveryConcurrency ${settings.fast.maxConcurrency ?? 'none'}), default quotas:`, m),
    capacity(`existing settings at their maximum (deliveryConcurrency ${AWS.esmMaximumConcurrencyMax.value}), default quotas:`, { ...m, settings: maxed }),
    capacity('existing settings at their maximum, every adjustable quota raised:', { ...m, settings: maxed, quotas: unlimited }),
  ];

  process.stdout.write(
    reportText({ target: args.target, settings, context: args.context, assumptions: args.assumptions, cpu, evaluation, order: bindingOrder(m), capacities, plan: plan(m) }),
  );
  if (!evaluation.reachable) {
    console.error(`npm run capacity: refused: the stack's settings cannot carry ${args.target.eventsPerSecond.toLocaleString('en-US')} events/s even with every quota raised:`);
    for (const x of evaluation.blockers) console.error(`  - ${refusalLine(x, evaluation.status[x.id] as Status)}`);
    process.exitCode = 1;
  }
}

main();
