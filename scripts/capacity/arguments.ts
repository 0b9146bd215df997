import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Assumptions, DEFAULT_ASSUMPTIONS, DEFAULT_TARGET, type Target } from './model';

/** The repository root (this file is scripts/capacity/arguments.ts). */
const ROOT = resolve(__dirname, '..', '..');

export const HELP = `npm run capacity -- [options]

What a steady load needs from every AWS limit it touches (EventBridge, SQS, the Lambda event source
mappings and account concurrency, DynamoDB partitions and tables, KMS, API Gateway), against the
AWS default quotas and what the synthesized stack is configured for; which limit binds first; what
the stack carries; the context settings, quota increases and code changes that reach the target.
Exits 1, with the reason, when the stack's settings cannot carry the target even with every quota
raised; 2 on a usage error.

Target
  --events-per-second N        visit events per second (default ${DEFAULT_TARGET.eventsPerSecond})
  --fan-out N                  webhooks per event, ≥ 1 (default ${DEFAULT_TARGET.fanOut})
  --failing F                  share of deliveries to endpoints that are down, 0–1 or a percentage (default ${DEFAULT_TARGET.failing})
  --p50-ms N                   endpoint response time, median (default ${DEFAULT_TARGET.p50Ms})
  --p99-ms N                   endpoint response time, 99th percentile, above the median (default ${DEFAULT_TARGET.p99Ms})
  --top-account-share F        share of the events that belong to the busiest account, 0–1 or a percentage (default ${DEFAULT_TARGET.topAccountShare})

Assumptions
  --accounts N                 active accounts, one origin each (default ${DEFAULT_ASSUMPTIONS.accounts})
  --data-keys N                distinct KMS data keys a container meets (default ${DEFAULT_ASSUMPTIONS.dataKeys})

Stack
  -c, --context KEY=VALUE      CDK context for the synthesis, as \`cdk synth -c\` (repeatable), e.g. -c deliveryConcurrency=1000
  --bench FILE                 bench results for CPU per delivery (default bench/results.json; built-in figures without it)

  -h, --help                   this text
`;

const OPTIONS = {
  'events-per-second': { type: 'string', default: String(DEFAULT_TARGET.eventsPerSecond) },
  'fan-out': { type: 'string', default: String(DEFAULT_TARGET.fanOut) },
  failing: { type: 'string', default: String(DEFAULT_TARGET.failing) },
  'p50-ms': { type: 'string', default: String(DEFAULT_TARGET.p50Ms) },
  'p99-ms': { type: 'string', default: String(DEFAULT_TARGET.p99Ms) },
  'top-account-share': { type: 'string', default: String(DEFAULT_TARGET.topAccountShare) },
  accounts: { type: 'string', default: String(DEFAULT_ASSUMPTIONS.accounts) },
  'data-keys': { type: 'string', default: String(DEFAULT_ASSUMPTIONS.dataKeys) },
  context: { type: 'string', short: 'c', multiple: true, default: [] as string[] },
  bench: { type: 'string', default: join(ROOT, 'bench', 'results.json') },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** A usage error: exit code 2, the message, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CapacityArgs {
  readonly help: boolean;
  readonly target: Target;
  readonly assumptions: Assumptions;
  readonly context: Record<string, string>;
  readonly bench: string;
}

function number(name: string, raw: string | undefined, { min, max, above, integer = false }: { min?: number; max?: number; above?: number; integer?: boolean }): number {
  const text = (raw ?? '').trim();
  const percent = text.endsWith('%');
  const value = percent ? Number(text.slice(0, -1)) / 100 : Number(text);
  const ok =
    text !== '' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (min === undefined || value >= min) &&
    (max === undefined || value <= max) &&
    (above === undefined || value > above);
  if (!ok) {
    const range = [above !== undefined ? `> ${above}` : undefined, min !== undefined ? `≥ ${min}` : undefined, max !== undefined ? `≤ ${max}` : undefined].filter(Boolean).join(' and ');
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The command line. Throws {@link UsageError} on unknown options, stray arguments and bad values. */
export function parseCapacityArgs(argv: string[]): CapacityArgs {
  let values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const bench = values.bench ?? join(ROOT, 'bench', 'results.json');
  if (values.help) return { help: true, target: DEFAULT_TARGET, assumptions: DEFAULT_ASSUMPTIONS, context: {}, bench };
  const context: Record<string, string> = {};
  for (const pair of values.context ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--context takes KEY=VALUE, got ${JSON.stringify(pair)}`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const p50Ms = number('p50-ms', values['p50-ms'], { above: 0 });
  const p99Ms = number('p99-ms', values['p99-ms'], { above: 0 });
  if (!(p99Ms > p50Ms)) throw new UsageError(`--p99-ms (${p99Ms}) must be above --p50-ms (${p50Ms})`);
  return {
    help: false,
    target: {
      eventsPerSecond: number('events-per-second', values['events-per-second'], { above: 0 }),
      fanOut: number('fan-out', values['fan-out'], { min: 1 }),
      failing: number('failing', values.failing, { min: 0, max: 1 }),
      p50Ms,
      p99Ms,
      topAccountShare: number('top-account-share', values['top-account-share'], { min: 0, max: 1 }),
    },
    assumptions: {
      ...DEFAULT_ASSUMPTIONS,
      accounts: number('accounts', values.accounts, { min: 1, integer: true }),
      dataKeys: number('data-keys', values['data-keys'], { min: 0, integer: true }),
    },
    context,
    bench,
  };
}
