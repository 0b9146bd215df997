import type { CfnElement } from 'aws-cdk-lib';
import { DUE_SHARDS, LOG_SHARDS } from '../../lambdas/shared/adapters/dynamo-delivery-store';
import { DEFAULTS } from '../../lambdas/shared/contract';
import { buildApp, cdkJsonContext } from '../../lib/build-app';
import { readStack } from '../cost/stack-facts';

/**
 * What the capacity model needs from the stack, read from the synthesized template like
 * `npm run cost` does: the function and event source mapping facts through its `readStack`
 * (scripts/cost/stack-facts.ts), and the rest (tables, reserved concurrency, the API stage's
 * throttling, the rule's targets, provisioned pollers) from one more synthesis of the same app.
 * Numbers that live in code rather than in the template (the sender's connections per origin,
 * the `due` index's shard count, the webhook cache TTL) are the code's, and named as such.
 */

/** One SQS event source mapping and the function behind it. */
export interface LaneSettings {
  readonly batchSize: number;
  readonly windowSeconds: number;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** ScalingConfig.MaximumConcurrency; undefined: none (standard mode's own ceiling applies). */
  readonly maxConcurrency?: number;
  /** Provisioned mode (ProvisionedPollerConfig on the mapping). */
  readonly provisioned: boolean;
  /** Provisioned mode's MaximumPollers (context `<lane>Pollers`); each poller takes up to 10 concurrent invocations. */
  readonly maxPollers?: number;
}

export interface StackSettings {
  /** The events queue's mapping and the delivery function (the fast lane). */
  readonly fast: LaneSettings;
  /** The retry queue's mapping and the retry function (the slow lane). */
  readonly slow: LaneSettings;
  readonly inlineTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  /** How long a container trusts its copy of an account's webhook list (code: DEFAULTS.webhookCacheTtlMs). */
  readonly webhookCacheTtlMs: number;
  /** How long a webhook found too slow for the fast lane stays in the slow lane (code: DEFAULTS.slowHoldMs). */
  readonly slowHoldMs: number;
  /** Requests in flight per origin per container (code: the HTTP sender's default, not configured by the runtime). */
  readonly connectionsPerOrigin: number;
  /** Partition keys per webhook in the attempt log (code: LOG_SHARDS, `pk` = `accountId#webhookId#<shard>`). */
  readonly attemptLogShards: number;
  /** Partitions of the `due` index (code: DUE_SHARDS). */
  readonly dueShards: number;
  /** Reserved concurrency of the stack's functions (carved out of the account's pool). */
  readonly reservedConcurrency: number;
  readonly apiRateLimit: number;
  readonly apiBurstLimit: number;
  /** Events queues, each with its own mapping to the delivery function (1: one rule, one queue). */
  readonly eventsQueues: number;
  /** Targets of the visit-events rule (each matched event is one invocation per target). */
  readonly ruleTargets: number;
  /** Entries per PutEvents request of the publisher (lambdas/shared/adapters/eventbridge-publisher.ts). */
  readonly publisherBatch: number;
  /** The deliveries table: on-demand, and any maximum or warm throughput set on it. */
  readonly deliveriesOnDemand: boolean;
  readonly deliveriesWarmWrite?: number;
  readonly deliveriesMaxWrite?: number;
  /** Key schema as synthesized, for the report. */
  readonly keys: { readonly attemptLog: string; readonly due: string; readonly status: string; readonly webhooks: string };
}

/** The HTTP sender's default (lambdas/shared/adapters/http-sender.ts); the delivery runtime does not set it. */
export const SENDER_CONNECTIONS_PER_ORIGIN = 10;
/** Entries per PutEvents request of `publishVisitEvent`. */
export const PUBLISHER_BATCH = 10;

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Resources = Record<string, Resource>;
type KeySchema = Array<{ AttributeName: string; KeyType: 'HASH' | 'RANGE' }>;

const pollersOf = (mapping: Record<string, unknown>) => (mapping.ProvisionedPollerConfig as { MaximumPollers?: number } | undefined)?.MaximumPollers;

const keyText = (schema: KeySchema | undefined) => (schema ?? []).map((k) => `${k.AttributeName} (${k.KeyType === 'HASH' ? 'partition' : 'sort'})`).join(', ');

/**
 * Synthesizes the app as `cdk synth` would (cdk.json context, plus `context` as `-c key=value`
 * would pass it: through CDK_CONTEXT_JSON, which the App reads over its defaults) and reads the
 * settings. Throws lib/config.ts's ConfigError on a bad context value.
 */
export function readStackSettings(context: Record<string, string> = {}): StackSettings {
  if (Object.keys(context).length > 0) {
    const inherited = process.env.CDK_CONTEXT_JSON ? (JSON.parse(process.env.CDK_CONTEXT_JSON) as Record<string, unknown>) : {};
    process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...inherited, ...context });
  }
  const facts = readStack();
  const { app, stack } = buildApp({ nag: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const resources = (app.synth().getStackByName(stack.stackName).template as { Resources: Resources }).Resources;
  const id = (element: unknown) => stack.getLogicalId(element as CfnElement);
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  const mappingOf = (fnId: string) => ofType('AWS::Lambda::EventSourceMapping').find(([, r]) => (r.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref === fnId)?.[1].Properties ?? {};
  const lane = (f: typeof facts.delivery, fnId: string): LaneSettings => ({
    batchSize: f.batchSize,
    windowSeconds: f.batchingWindowSeconds,
    memoryMb: f.memoryMb,
    timeoutSeconds: f.timeoutSeconds,
    ...(f.maxConcurrency !== undefined ? { maxConcurrency: f.maxConcurrency } : {}),
    provisioned: mappingOf(fnId).ProvisionedPollerConfig !== undefined,
    ...(pollersOf(mappingOf(fnId)) !== undefined ? { maxPollers: pollersOf(mappingOf(fnId)) } : {}),
  });

  const table = (element: unknown) => resources[id(element)]?.Properties ?? {};
  const deliveries = table(stack.store.deliveriesTable.node.defaultChild);
  const webhooks = table(stack.store.webhooksTable.node.defaultChild);
  const gsis = (deliveries.GlobalSecondaryIndexes as Array<{ IndexName: string; KeySchema: KeySchema }> | undefined) ?? [];
  const warm = deliveries.WarmThroughput as { WriteUnitsPerSecond?: number } | undefined;
  const max = deliveries.OnDemandThroughput as { MaxWriteRequestUnits?: number } | undefined;

  const stage = ofType('AWS::ApiGateway::Stage')[0]?.[1].Properties ?? {};
  const throttle = ((stage.MethodSettings as Array<{ ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }> | undefined) ?? [])[0] ?? {};
  const rule = resources[id(stack.events.rule.node.defaultChild)]?.Properties ?? {};
  const reserved = ofType('AWS::Lambda::Function').reduce((sum, [, r]) => sum + Number(r.Properties?.ReservedConcurrentExecutions ?? 0), 0);

  return {
    fast: lane(facts.delivery, id(stack.pipeline.deliveryFunction.node.defaultChild)),
    slow: lane(facts.retry, id(stack.pipeline.retryFunction.node.defaultChild)),
    inlineTimeoutMs: facts.isolation.inlineTimeoutMs,
    attemptTimeoutMs: facts.isolation.attemptTimeoutMs,
    webhookCacheTtlMs: DEFAULTS.webhookCacheTtlMs,
    slowHoldMs: DEFAULTS.slowHoldMs,
    connectionsPerOrigin: SENDER_CONNECTIONS_PER_ORIGIN,
    attemptLogShards: LOG_SHARDS,
    dueShards: DUE_SHARDS,
    reservedConcurrency: reserved,
    apiRateLimit: Number(throttle.ThrottlingRateLimit ?? stack.config.apiRateLimit),
    apiBurstLimit: Number(throttle.ThrottlingBurstLimit ?? stack.config.apiBurstLimit),
    eventsQueues: ofType('AWS::Lambda::EventSourceMapping').filter(([, r]) => (r.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref === id(stack.pipeline.deliveryFunction.node.defaultChild)).length,
    ruleTargets: ((rule.Targets as unknown[] | undefined) ?? []).length,
    publisherBatch: PUBLISHER_BATCH,
    deliveriesOnDemand: deliveries.BillingMode === 'PAY_PER_REQUEST',
    ...(warm?.WriteUnitsPerSecond !== undefined ? { deliveriesWarmWrite: warm.WriteUnitsPerSecond } : {}),
    ...(max?.MaxWriteRequestUnits !== undefined ? { deliveriesMaxWrite: max.MaxWriteRequestUnits } : {}),
    keys: {
      attemptLog: keyText(deliveries.KeySchema as KeySchema),
      due: keyText(gsis.find((g) => g.IndexName === 'due')?.KeySchema),
      status: keyText(gsis.find((g) => g.IndexName === 'status')?.KeySchema),
      webhooks: keyText(webhooks.KeySchema as KeySchema),
    },
  };
}
