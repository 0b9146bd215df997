import type { CfnElement } from 'aws-cdk-lib';
import { DEFAULTS, ENV } from '../../lambdas/shared/contract';
import { buildApp, cdkJsonContext } from '../../lib/build-app';

/** The stack's configuration, read from the synthesized template. */

export interface FunctionFacts {
  readonly memoryMb: number;
  readonly architecture: 'arm64' | 'x86_64';
  readonly timeoutSeconds: number;
  readonly batchSize: number;
  readonly batchingWindowSeconds: number;
  readonly maxConcurrency?: number;
  readonly logRetentionDays: number;
}

/** The lanes and breaker as the delivery function's environment configures them (defaults where it says nothing). */
export interface IsolationFacts {
  readonly attemptTimeoutMs: number;
  readonly inlineTimeoutMs: number;
  readonly breakerFailures: number;
  readonly autoDisableAfterDays: number;
  readonly reconcileEverySeconds: number;
}

/** The reconciler function and how often it runs; `inStack: false` when the template has none yet (assumed). */
export interface ReconcilerFacts {
  readonly inStack: boolean;
  readonly memoryMb: number;
  readonly architecture: 'arm64' | 'x86_64';
  readonly everySeconds: number;
  readonly logRetentionDays: number;
}

export interface StackFacts {
  readonly delivery: FunctionFacts;
  readonly retry: FunctionFacts;
  readonly reconciler: ReconcilerFacts;
  readonly isolation: IsolationFacts;
  readonly retryScheduleSeconds: number[];
  readonly attemptLogRetentionDays: number;
  readonly alarms: number;
  readonly kmsKeys: number;
  readonly queues: number;
  readonly tables: number;
  readonly pitrTables: number;
  /** Whether the deliveries table (the attempt log, nearly all the stored data) has point-in-time recovery (context `deliveriesPointInTimeRecovery`). */
  readonly deliveriesPitr: boolean;
  readonly inVpc: boolean;
  /** The management API's function (the authorizer is priced at the same size). */
  readonly api?: { readonly memoryMb: number; readonly architecture: 'arm64' | 'x86_64' };
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Resources = Record<string, Resource>;

const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** `rate(1 minute)`, `rate(5 minutes)`, `rate(30 seconds)`, `rate(1 hour)` in seconds; undefined for anything else (cron). */
export function rateSeconds(expression: unknown): number | undefined {
  const m = /^rate\((\d+) (second|minute|hour|day)s?\)$/.exec(String(expression ?? ''));
  if (!m) return undefined;
  const unit = { second: 1, minute: 60, hour: 3600, day: 86_400 }[m[2] as 'second' | 'minute' | 'hour' | 'day'];
  return Number(m[1]) * unit;
}

/** The logical id of the function an ARN expression points at (`Fn::GetAtt: [id, Arn]`). */
const targetId = (arn: unknown) => ((arn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0] ?? '') as string;

/**
 * The reconciler: the function a schedule (an EventBridge rule with a `rate(...)` expression, or
 * an EventBridge Scheduler schedule) invokes. Until the stack has one, what the code would run
 * (DEFAULTS.reconcileEverySeconds) on the functions' default size (512 MB arm64), flagged as assumed.
 */
function reconcilerFacts(resources: Resources, everySecondsFromEnv: number, logRetentionDays: number): ReconcilerFacts {
  const scheduled: Array<[string, number | undefined]> = [
    ...ofType(resources, 'AWS::Events::Rule').flatMap(([, r]) =>
      ((r.Properties?.Targets as Array<{ Arn?: unknown }> | undefined) ?? []).map((t): [string, number | undefined] => [targetId(t.Arn), rateSeconds(r.Properties?.ScheduleExpression)]),
    ),
    ...ofType(resources, 'AWS::Scheduler::Schedule').map(([, r]): [string, number | undefined] => [
      targetId((r.Properties?.Target as { Arn?: unknown } | undefined)?.Arn),
      rateSeconds(r.Properties?.ScheduleExpression),
    ]),
  ].filter(([id, every]) => every !== undefined && resources[id]?.Type === 'AWS::Lambda::Function');
  const [id, every] = scheduled[0] ?? [];
  if (!id) return { inStack: false, memoryMb: 512, architecture: 'arm64', everySeconds: everySecondsFromEnv, logRetentionDays };
  const facts = functionFacts(resources, id);
  return { inStack: true, memoryMb: facts.memoryMb, architecture: facts.architecture, everySeconds: every ?? everySecondsFromEnv, logRetentionDays: facts.logRetentionDays };
}

/** A function's memory, architecture, timeout, its event source mapping and its log retention. */
function functionFacts(resources: Resources, id: string): FunctionFacts {
  const fn = resources[id]?.Properties ?? {};
  const mapping = ofType(resources, 'AWS::Lambda::EventSourceMapping').find(([, r]) => (r.Properties?.FunctionName as { Ref?: string })?.Ref === id)?.[1].Properties ?? {};
  const logGroupId = ((fn.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup?.Ref ?? '') as string;
  const retention = resources[logGroupId]?.Properties?.RetentionInDays;
  return {
    memoryMb: Number(fn.MemorySize ?? 128),
    architecture: ((fn.Architectures as string[] | undefined)?.[0] ?? 'x86_64') as 'arm64' | 'x86_64',
    timeoutSeconds: Number(fn.Timeout ?? 3),
    batchSize: Number(mapping.BatchSize ?? 10),
    batchingWindowSeconds: Number(mapping.MaximumBatchingWindowInSeconds ?? 0),
    ...((mapping.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency !== undefined
      ? { maxConcurrency: (mapping.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency }
      : {}),
    logRetentionDays: retention === undefined ? 3650 : Number(retention),
  };
}

function hasPitr(table: Resource | undefined): boolean {
  return (table?.Properties?.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean } | undefined)?.PointInTimeRecoveryEnabled === true;
}

export function readStack(): StackFacts {
  // Exactly what `cdk synth` builds (cdk.json context), minus the esbuild bundling.
  const { app, stack } = buildApp({ nag: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const resources = (app.synth().getStackByName(stack.stackName).template as { Resources: Resources }).Resources;
  const logicalId = (element: unknown) => stack.getLogicalId(element as CfnElement);
  const deliveryId = logicalId(stack.pipeline.deliveryFunction.node.defaultChild);
  const env = ((resources[deliveryId]?.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {}) as Record<string, string>;
  const tables = ofType(resources, 'AWS::DynamoDB::Table');
  const delivery = functionFacts(resources, deliveryId);
  const envNumber = (name: string, fallback: number) => (env[name] !== undefined && Number.isFinite(Number(env[name])) ? Number(env[name]) : fallback);
  const attemptTimeoutMs = envNumber(ENV.deliveryTimeoutMs, DEFAULTS.deliveryTimeoutMs);
  const isolation: IsolationFacts = {
    attemptTimeoutMs,
    inlineTimeoutMs: Math.min(attemptTimeoutMs, envNumber(ENV.inlineTimeoutMs, DEFAULTS.inlineTimeoutMs)),
    breakerFailures: envNumber(ENV.breakerFailures, DEFAULTS.breakerFailures),
    autoDisableAfterDays: envNumber(ENV.autoDisableAfterDays, DEFAULTS.autoDisableAfterDays),
    reconcileEverySeconds: envNumber(ENV.reconcileEverySeconds, DEFAULTS.reconcileEverySeconds),
  };
  return {
    delivery,
    retry: functionFacts(resources, logicalId(stack.pipeline.retryFunction.node.defaultChild)),
    reconciler: reconcilerFacts(resources, isolation.reconcileEverySeconds, delivery.logRetentionDays),
    isolation,
    retryScheduleSeconds: (env.WEBHOOKS_RETRY_SCHEDULE ?? DEFAULTS.retryScheduleSeconds.join(',')).split(',').map(Number),
    attemptLogRetentionDays: Number(env.WEBHOOKS_DELIVERY_RETENTION_DAYS ?? DEFAULTS.deliveryRetentionDays),
    alarms: ofType(resources, 'AWS::CloudWatch::Alarm').length,
    kmsKeys: ofType(resources, 'AWS::KMS::Key').length,
    queues: ofType(resources, 'AWS::SQS::Queue').length,
    tables: tables.length,
    pitrTables: tables.filter(([, r]) => hasPitr(r)).length,
    deliveriesPitr: hasPitr(resources[logicalId(stack.store.deliveriesTable.node.defaultChild)]),
    inVpc: ofType(resources, 'AWS::Lambda::Function').some(([, r]) => r.Properties?.VpcConfig !== undefined),
    api: (({ memoryMb, architecture }) => ({ memoryMb, architecture }))(functionFacts(resources, logicalId(stack.managementApi.apiFunction.node.defaultChild))),
  };
}
