import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** The repository root (this file is scripts/cost/arguments.ts). */
const ROOT = resolve(__dirname, '..', '..');

/** The traffic and assumptions the model prices, from the command line. */
export interface Input {
  readonly region: string;
  readonly eventsPerMonth: number;
  readonly fanOut: number;
  readonly payloadBytes: number;
  /** Share of deliveries whose endpoint is down (they park behind the breaker). */
  readonly failureRate: number;
  /** exhaust: failing endpoints stay down until their webhook is auto-disabled; recover: back at the first probe. */
  readonly failureMode: 'exhaust' | 'recover';
  /** Webhooks whose endpoint goes down in the month (one outage each: the breaker opens once per outage). */
  readonly failingWebhooks: number;
  /** Share of deliveries whose endpoint answers, but too slowly for the fast lane (the slow lane delivers them). */
  readonly slowFraction: number;
  /** Webhooks behind `slowFraction`: each costs an aborted inline attempt once per slow hold (5 minutes). */
  readonly slowWebhooks: number;
  /** Response time of those slow endpoints (above the fast lane's budget). */
  readonly slowEndpointMs: number;
  /** Share of deliveries to webhooks with a rate limit (one conditional UpdateItem each). */
  readonly rateLimitedFraction: number;
  readonly endpointMs: number;
  /** How long a failing endpoint takes to fail an attempt (dead endpoints: seconds). */
  readonly failingLatencyMs: number;
  readonly awsCallMs: number;
  readonly accounts: number;
  readonly cpuFactor: number;
  readonly freeTier: boolean;
  /**
   * Visits per EventBridge entry (batch entries, docs/design.md §4): a number, or `auto`, what the
   * batching publisher packs from the payload size and the rate. @default 1 (single events)
   */
  readonly visitsPerEntry?: number | 'auto';
  /** The batching publisher's flush interval, and how many publishers share the traffic (auto only). */
  readonly publisherFlushMs?: number;
  readonly publishers?: number;
  /** Distinct KMS data keys a container decrypts (1: one per deployment, as the cipher keeps it). @default 1 */
  readonly dataKeys?: number;
  /** Management API requests a month (API Gateway REST + authorizer + API function). @default accounts × 100 */
  readonly apiRequests?: number;
  /** One API or authorizer invocation's duration. @default 50 */
  readonly apiMs?: number;
  /** Peak events/s over the month's average, for the capacity check. @default 1 */
  readonly peakFactor?: number;
}

/** Options that replace what the stack or the traffic would give. */
export interface Overrides {
  readonly retentionDays?: number;
  readonly logRetentionDays?: number;
  readonly batchFill?: number;
}

export const HELP = `npm run cost -- [options]

Monthly AWS cost of the webhook pipeline on list prices, per service and per million deliveries.
Configuration comes from the synthesized stack, what a delivery reads, writes and sends from
running the real handlers on dynalite; the options below are the traffic and what the code cannot know.

Traffic
  --events N                   events per month (default 10000000)
  --fan-out N                  webhooks per event (default 1)
  --payload-kb N               event payload size in KB (default 1.5)
  --accounts N                 active accounts (webhook-list cache hits; default 1000)
  --region NAME                price region (default us-east-1)

Failing, slow and rate-limited endpoints (the isolation design)
  --failure-rate F             share of deliveries to endpoints that are down (default 0.01)
  --failure-mode M             exhaust: down until the webhook is auto-disabled (parked, then skipped);
                               recover: back at the first probe (parked, then released) (default exhaust)
  --failing-webhooks N         webhooks going down in the month, one outage each (default: webhooks × failure rate)
  --failing-latency-ms N       how long a failing attempt takes (a dead endpoint: seconds; default 2000)
                               (--failing-endpoint-ms is the old name)
  --slow-fraction F            share of deliveries to endpoints too slow for the fast lane (default 0.01)
  --slow-webhooks N            webhooks behind them (default: webhooks × slow fraction)
  --slow-endpoint-ms N         their response time (default 3000)
  --rate-limited-fraction F    share of deliveries to rate-limited webhooks (default 0.01)

Bus entries (lever: batch entries, docs/design.md §4)
  --visits-per-entry N|auto    visits per EventBridge entry: 1 = single events (default 1); auto = what
                               VisitBatchPublisher packs: as many as fit one 64 KB chunk (≤ 100), fewer
                               when the rate does not fill one within the flush interval
  --publisher-flush-ms N       the publisher's flush interval (default 1000; auto only)
  --publishers N               publishers sharing the traffic, each packing its own entries (default 1; auto only)

Management API, secrets, capacity
  --api-requests N             management API requests a month (default: accounts × 100)
  --api-ms N                   one API or authorizer invocation (default 50)
  --data-keys N                distinct KMS data keys each container decrypts (default 1: one per deployment;
                               100 prices the one-data-key-per-API-container cipher of before)
  --peak-factor N              peak over average events/s for the capacity check (default 1); a scenario
                               npm run capacity calls infeasible is refused (exit 1)

Assumptions
  --endpoint-ms N              slowest healthy endpoint response per batch (default 200)
  --aws-call-ms N              one AWS call (default 8)
  --batch-fill N               records per delivery invocation (default: from the event rate)
  --cpu-factor N               scale the bench's CPU figures (default 1)
  --retention-days N           attempt-log retention (default: the stack's)
  --log-retention-days N       CloudWatch Logs retention (default: the stack's)
  --free-tier                  apply the always-free allowances

Output
  --compare-isolation          price "planner + per-webhook jobs" against the lanes as built
                               at 10 M and 100 M events, fan-out 1 and 10
  --json                       machine-readable
  --bench FILE                 bench results (default bench/results.json)
  --prices FILE                price table (default bench/prices.json)
  -h, --help                   this text
`;

export type CostArgs = ReturnType<typeof parseCostArgs>;

const OPTIONS = {
  region: { type: 'string', default: 'us-east-1' },
  events: { type: 'string', default: '10000000' },
  'fan-out': { type: 'string', default: '1' },
  'payload-kb': { type: 'string', default: '1.5' },
  'failure-rate': { type: 'string', default: '0.01' },
  'failure-mode': { type: 'string', default: 'exhaust' },
  'failing-webhooks': { type: 'string' },
  'failing-latency-ms': { type: 'string' },
  'failing-endpoint-ms': { type: 'string' },
  'slow-fraction': { type: 'string', default: '0.01' },
  'slow-webhooks': { type: 'string' },
  'slow-endpoint-ms': { type: 'string', default: '3000' },
  'rate-limited-fraction': { type: 'string', default: '0.01' },
  'retention-days': { type: 'string' },
  'log-retention-days': { type: 'string' },
  'endpoint-ms': { type: 'string', default: '200' },
  'aws-call-ms': { type: 'string', default: '8' },
  accounts: { type: 'string', default: '1000' },
  'batch-fill': { type: 'string' },
  'cpu-factor': { type: 'string', default: '1' },
  'free-tier': { type: 'boolean', default: false },
  'visits-per-entry': { type: 'string', default: '1' },
  'publisher-flush-ms': { type: 'string', default: '1000' },
  publishers: { type: 'string', default: '1' },
  'data-keys': { type: 'string', default: '1' },
  'api-requests': { type: 'string' },
  'api-ms': { type: 'string', default: '50' },
  'peak-factor': { type: 'string', default: '1' },
  'compare-isolation': { type: 'boolean', default: false },
  bench: { type: 'string', default: join(ROOT, 'bench', 'results.json') },
  prices: { type: 'string', default: join(ROOT, 'bench', 'prices.json') },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The command line. Unknown options and stray arguments are a usage error (exit 2); `--help` prints {@link HELP} and exits 0. */
export function parseCostArgs(argv: string[] = process.argv.slice(2)) {
  let values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (err) {
    usage(`${err instanceof Error ? err.message : String(err)}\n(npm run cost -- --help lists the options)`);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  return values;
}

/** A usage error: the message, no stack trace, exit code 2. */
export function usage(message: string): never {
  console.error(`npm run cost: ${message}`);
  process.exit(2);
}

function num(args: CostArgs, name: keyof CostArgs, min = 0): number {
  const value = Number(args[name]);
  if (args[name] === undefined || args[name] === '' || !Number.isFinite(value) || value < min) usage(`--${name} must be a number ≥ ${min}, got ${String(args[name])}`);
  return value;
}

function fraction(args: CostArgs, name: keyof CostArgs): number {
  const value = num(args, name);
  if (value > 1) usage(`--${name} is a fraction (0.01 = 1 %), got ${String(args[name])}`);
  return value;
}

/** Webhooks behind a share of the deliveries, when not given: that share of all webhooks (accounts × fan-out), at least one. */
const webhooksFor = (share: number, accounts: number, fanOut: number) => (share > 0 ? Math.max(1, Math.round(accounts * fanOut * share)) : 0);

export function readInput(args: CostArgs): Input {
  const fanOut = num(args, 'fan-out', 0.01);
  const accounts = num(args, 'accounts', 1);
  const failureRate = fraction(args, 'failure-rate');
  const slowFraction = fraction(args, 'slow-fraction');
  if (failureRate + slowFraction > 1) usage('--failure-rate and --slow-fraction together cannot exceed 1');
  const failureMode = args['failure-mode'] as 'exhaust' | 'recover';
  if (failureMode !== 'exhaust' && failureMode !== 'recover') usage('--failure-mode is exhaust or recover');
  const endpointMs = num(args, 'endpoint-ms');
  const latencyFlag = args['failing-latency-ms'] !== undefined ? 'failing-latency-ms' : args['failing-endpoint-ms'] !== undefined ? 'failing-endpoint-ms' : undefined;
  return {
    region: args.region as string,
    eventsPerMonth: num(args, 'events', 1),
    fanOut,
    payloadBytes: Math.round(num(args, 'payload-kb', 0.01) * 1024),
    failureRate,
    failureMode,
    failingWebhooks: args['failing-webhooks'] !== undefined ? num(args, 'failing-webhooks') : webhooksFor(failureRate, accounts, fanOut),
    slowFraction,
    slowWebhooks: args['slow-webhooks'] !== undefined ? num(args, 'slow-webhooks') : webhooksFor(slowFraction, accounts, fanOut),
    slowEndpointMs: num(args, 'slow-endpoint-ms'),
    rateLimitedFraction: fraction(args, 'rate-limited-fraction'),
    endpointMs,
    failingLatencyMs: latencyFlag ? num(args, latencyFlag) : 2000,
    awsCallMs: num(args, 'aws-call-ms'),
    accounts,
    cpuFactor: num(args, 'cpu-factor', 0.01),
    freeTier: args['free-tier'] as boolean,
    visitsPerEntry: args['visits-per-entry'] === 'auto' ? 'auto' : num(args, 'visits-per-entry', 1),
    publisherFlushMs: num(args, 'publisher-flush-ms', 1),
    publishers: num(args, 'publishers', 1),
    dataKeys: num(args, 'data-keys', 1),
    apiRequests: args['api-requests'] !== undefined ? num(args, 'api-requests') : accounts * 100,
    apiMs: num(args, 'api-ms'),
    peakFactor: num(args, 'peak-factor', 1),
  };
}

export function readOverrides(args: CostArgs): Overrides {
  return {
    ...(args['retention-days'] !== undefined ? { retentionDays: num(args, 'retention-days', 1) } : {}),
    ...(args['log-retention-days'] !== undefined ? { logRetentionDays: num(args, 'log-retention-days', 1) } : {}),
    ...(args['batch-fill'] !== undefined ? { batchFill: num(args, 'batch-fill', 1) } : {}),
  };
}
