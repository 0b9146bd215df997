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
  readonly failureRate: number;
  readonly failureMode: 'exhaust' | 'recover';
  readonly endpointMs: number;
  readonly failingEndpointMs: number;
  readonly awsCallMs: number;
  readonly accounts: number;
  readonly cpuFactor: number;
  readonly freeTier: boolean;
}

/** Options that replace what the stack or the traffic would give. */
export interface Overrides {
  readonly retentionDays?: number;
  readonly logRetentionDays?: number;
  readonly batchFill?: number;
}

export type CostArgs = ReturnType<typeof parseCostArgs>;

/** The command line (unknown options throw, as `parseArgs` does). */
export function parseCostArgs() {
  return parseArgs({
    options: {
      region: { type: 'string', default: 'us-east-1' },
      events: { type: 'string', default: '10000000' },
      'fan-out': { type: 'string', default: '1' },
      'payload-kb': { type: 'string', default: '1.5' },
      'failure-rate': { type: 'string', default: '0.01' },
      'failure-mode': { type: 'string', default: 'exhaust' },
      'retention-days': { type: 'string' },
      'log-retention-days': { type: 'string' },
      'endpoint-ms': { type: 'string', default: '200' },
      'failing-endpoint-ms': { type: 'string' },
      'aws-call-ms': { type: 'string', default: '8' },
      accounts: { type: 'string', default: '1000' },
      'batch-fill': { type: 'string' },
      'cpu-factor': { type: 'string', default: '1' },
      'free-tier': { type: 'boolean', default: false },
      bench: { type: 'string', default: join(ROOT, 'bench', 'results.json') },
      prices: { type: 'string', default: join(ROOT, 'bench', 'prices.json') },
      json: { type: 'boolean', default: false },
    },
  }).values;
}

/** A usage error: the message, no stack trace, exit code 2. */
export function usage(message: string): never {
  console.error(`npm run cost: ${message}`);
  process.exit(2);
}

function num(args: CostArgs, name: keyof CostArgs, min = 0): number {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < min) usage(`--${name} must be a number ≥ ${min}, got ${String(args[name])}`);
  return value;
}

export function readInput(args: CostArgs): Input {
  const input: Input = {
    region: args.region as string,
    eventsPerMonth: num(args, 'events', 1),
    fanOut: num(args, 'fan-out', 0.01),
    payloadBytes: Math.round(num(args, 'payload-kb', 0.01) * 1024),
    failureRate: num(args, 'failure-rate'),
    failureMode: args['failure-mode'] as 'exhaust' | 'recover',
    endpointMs: num(args, 'endpoint-ms'),
    failingEndpointMs: args['failing-endpoint-ms'] !== undefined ? num(args, 'failing-endpoint-ms') : num(args, 'endpoint-ms'),
    awsCallMs: num(args, 'aws-call-ms'),
    accounts: num(args, 'accounts', 1),
    cpuFactor: num(args, 'cpu-factor', 0.01),
    freeTier: args['free-tier'] as boolean,
  };
  if (input.failureRate > 1) usage('--failure-rate is a fraction (0.01 = 1 %)');
  if (input.failureMode !== 'exhaust' && input.failureMode !== 'recover') usage('--failure-mode is exhaust or recover');
  return input;
}

export function readOverrides(args: CostArgs): Overrides {
  return {
    ...(args['retention-days'] !== undefined ? { retentionDays: num(args, 'retention-days', 1) } : {}),
    ...(args['log-retention-days'] !== undefined ? { logRetentionDays: num(args, 'log-retention-days', 1) } : {}),
    ...(args['batch-fill'] !== undefined ? { batchFill: num(args, 'batch-fill', 1) } : {}),
  };
}
