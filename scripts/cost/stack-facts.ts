import type { CfnElement } from 'aws-cdk-lib';
import { DEFAULTS } from '../../lambdas/shared/contract';
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

export interface StackFacts {
  readonly delivery: FunctionFacts;
  readonly retry: FunctionFacts;
  readonly retryScheduleSeconds: number[];
  readonly attemptLogRetentionDays: number;
  readonly alarms: number;
  readonly kmsKeys: number;
  readonly queues: number;
  readonly tables: number;
  readonly pitrTables: number;
  readonly inVpc: boolean;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Resources = Record<string, Resource>;

const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

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

export function readStack(): StackFacts {
  // Exactly what `cdk synth` builds (cdk.json context), minus the esbuild bundling.
  const { app, stack } = buildApp({ nag: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const resources = (app.synth().getStackByName(stack.stackName).template as { Resources: Resources }).Resources;
  const logicalId = (element: unknown) => stack.getLogicalId(element as CfnElement);
  const deliveryId = logicalId(stack.pipeline.deliveryFunction.node.defaultChild);
  const env = ((resources[deliveryId]?.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {}) as Record<string, string>;
  const tables = ofType(resources, 'AWS::DynamoDB::Table');
  return {
    delivery: functionFacts(resources, deliveryId),
    retry: functionFacts(resources, logicalId(stack.pipeline.retryFunction.node.defaultChild)),
    retryScheduleSeconds: (env.WEBHOOKS_RETRY_SCHEDULE ?? DEFAULTS.retryScheduleSeconds.join(',')).split(',').map(Number),
    attemptLogRetentionDays: Number(env.WEBHOOKS_DELIVERY_RETENTION_DAYS ?? DEFAULTS.deliveryRetentionDays),
    alarms: ofType(resources, 'AWS::CloudWatch::Alarm').length,
    kmsKeys: ofType(resources, 'AWS::KMS::Key').length,
    queues: ofType(resources, 'AWS::SQS::Queue').length,
    tables: tables.length,
    pitrTables: tables.filter(([, r]) => (r.Properties?.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean } | undefined)?.PointInTimeRecoveryEnabled).length,
    inVpc: ofType(resources, 'AWS::Lambda::Function').some(([, r]) => r.Properties?.VpcConfig !== undefined),
  };
}
