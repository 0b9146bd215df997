import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CachedWebhookStore } from '../adapters/cached-webhook-store';
import { createDocumentClient } from '../adapters/dynamo-client';
import { DynamoDeliveryStore } from '../adapters/dynamo-delivery-store';
import { DynamoRecoveryJobStore } from '../adapters/dynamo-recovery-job-store';
import { DynamoRateLimiter } from '../adapters/dynamo-rate-limiter';
import { DynamoStatsStore } from '../adapters/dynamo-stats-store';
import { EventBridgeOperationalEvents, lazyEventBridgeClient } from '../adapters/eventbridge-publisher';
import { DynamoWebhookStore } from '../adapters/dynamo-webhook-store';
import { UndiciHttpSender } from '../adapters/http-sender';
import { DynamoDataKeyStore } from '../adapters/dynamo-data-key-store';
import { KmsEnvelopeCipher, LocalKeyCipher } from '../adapters/secret-cipher';
import { lazySqsClient, SqsRetryQueue } from '../adapters/sqs';
import { DEFAULT_OPERATIONAL_EVENT_SOURCE, DEFAULTS, ENV, PIPELINE } from '../contract';
import type { BreakerSettings } from '../domain/breaker';
import type { Clock, HttpSender, OperationalEventSink, RateLimiter, Resolver, RetryQueue, SecretCipher, StatsStore } from '../domain/ports';
import { createRetryPolicy, type RetryPolicy } from '../domain/retry-policy';
import { booleanEnv, numberEnv, optionalEnv, parseRetrySchedule, requiredEnv } from './env';

/**
 * The adapters that more than one function's runtime is built from, each read from the
 * environment (names in `ENV`, contract.ts) in one place. Overrides replace an adapter or a
 * client configuration for the local runtime and tests; production passes none.
 */

export interface AdapterOverrides {
  readonly doc?: DynamoDBDocumentClient;
  readonly dynamoConfig?: DynamoDBClientConfig;
  readonly sqsConfig?: SQSClientConfig;
  readonly sender?: HttpSender;
  readonly resolver?: Resolver;
  readonly retryQueue?: RetryQueue;
  readonly random?: () => number;
  readonly rateLimiter?: RateLimiter;
  /** How signing secrets are encrypted at rest; by default from the environment (KMS or a local key). */
  readonly cipher?: SecretCipher;
  /** Where operational events go; by default EventBridge, on the bus the environment names (none named: not published). */
  readonly operationalEvents?: OperationalEventSink;
}

/** Operational events on EventBridge (`WEBHOOKS_EVENT_BUS_NAME`, `WEBHOOKS_OPERATIONAL_EVENT_SOURCE`); undefined when no bus is named. */
export function operationalEventsFromEnv(env: NodeJS.ProcessEnv, o: AdapterOverrides): OperationalEventSink | undefined {
  if (o.operationalEvents) return o.operationalEvents;
  const bus = optionalEnv(ENV.eventBusName, env);
  if (!bus) return undefined;
  return new EventBridgeOperationalEvents(lazyEventBridgeClient(), bus, optionalEnv(ENV.operationalEventSource, env) ?? DEFAULT_OPERATIONAL_EVENT_SOURCE);
}

/** The statistics table (`WEBHOOKS_STATS_TABLE_NAME`); undefined when none is named (statistics are then not kept). */
export function statsStoreFromEnv(env: NodeJS.ProcessEnv, o: AdapterOverrides): StatsStore | undefined {
  const table = optionalEnv(ENV.statsTable, env);
  return table ? new DynamoStatsStore(o.doc ?? createDocumentClient(o.dynamoConfig), table) : undefined;
}

/**
 * The secrets cipher the environment configures: KMS in AWS, a local key elsewhere; none is an
 * error. With the document client and the webhooks table, KMS uses one data key per deployment
 * (kept wrapped in the webhooks table) instead of one per container.
 */
export function secretCipherFromEnv(env: NodeJS.ProcessEnv, doc?: DynamoDBDocumentClient): SecretCipher {
  const kmsKey = optionalEnv(ENV.secretsKmsKeyId, env);
  const webhooksTable = optionalEnv(ENV.webhooksTable, env);
  // KMS client created on first use
  if (kmsKey) return new KmsEnvelopeCipher(undefined, kmsKey, doc && webhooksTable ? new DynamoDataKeyStore(doc, webhooksTable) : undefined);
  const localKey = optionalEnv(ENV.secretsKey, env);
  if (localKey) return new LocalKeyCipher(Buffer.from(localKey, 'base64'));
  throw new Error(`signing secrets must be encrypted at rest: set ${ENV.secretsKmsKeyId} (AWS) or ${ENV.secretsKey} (base64 of 32 bytes)`);
}

/** The webhooks table (cached for the delivery path's reads) and the attempt log. */
export function storesFromEnv(
  env: NodeJS.ProcessEnv,
  clock: Clock,
  o: AdapterOverrides,
): { webhooks: CachedWebhookStore; deliveries: DynamoDeliveryStore; recoveryJobs: DynamoRecoveryJobStore } {
  const doc = o.doc ?? createDocumentClient(o.dynamoConfig);
  const cipher = o.cipher ?? secretCipherFromEnv(env, doc);
  const webhooks = new CachedWebhookStore(new DynamoWebhookStore(doc, requiredEnv(ENV.webhooksTable, env), cipher), DEFAULTS.webhookCacheTtlMs, clock);
  const retentionDays = numberEnv(ENV.retentionDays, DEFAULTS.deliveryRetentionDays, env);
  const deliveries = new DynamoDeliveryStore(doc, requiredEnv(ENV.deliveriesTable, env), retentionDays);
  const recoveryJobs = new DynamoRecoveryJobStore(doc, requiredEnv(ENV.deliveriesTable, env), retentionDays);
  return { webhooks, deliveries, recoveryJobs };
}

/** The retry queue (SQS; the client and @aws-sdk/client-sqs are loaded on first use). */
export function retryQueueFromEnv(env: NodeJS.ProcessEnv, o: AdapterOverrides): RetryQueue {
  return o.retryQueue ?? new SqsRetryQueue(lazySqsClient(o.sqsConfig ?? {}), requiredEnv(ENV.retryQueueUrl, env));
}

export function retryPolicyFromEnv(env: NodeJS.ProcessEnv, o: AdapterOverrides): RetryPolicy {
  const schedule = optionalEnv(ENV.retrySchedule, env);
  return createRetryPolicy(schedule ? parseRetrySchedule(schedule) : DEFAULTS.retryScheduleSeconds, o.random);
}

/** Whether plain http and private targets are allowed (both false unless the environment says so). */
export function targetRulesFromEnv(env: NodeJS.ProcessEnv): { allowHttp: boolean; allowPrivateTargets: boolean } {
  return { allowHttp: booleanEnv(ENV.allowHttp, false, env), allowPrivateTargets: booleanEnv(ENV.allowPrivateTargets, false, env) };
}

/** The undici sender with the attempt timeout and target rules of the environment. */
export function senderFromEnv(env: NodeJS.ProcessEnv, o: AdapterOverrides): HttpSender {
  return (
    o.sender ??
    new UndiciHttpSender({
      timeoutMs: numberEnv(ENV.deliveryTimeoutMs, DEFAULTS.deliveryTimeoutMs, env),
      ...targetRulesFromEnv(env),
      ...(o.resolver ? { resolver: o.resolver } : {}),
    })
  );
}

/** Webhooks' rate limits, counted per second in the attempt log's table (shared by every consumer). */
export function rateLimiterFromEnv(env: NodeJS.ProcessEnv, o: AdapterOverrides): RateLimiter {
  return o.rateLimiter ?? new DynamoRateLimiter(o.doc ?? createDocumentClient(o.dynamoConfig), requiredEnv(ENV.deliveriesTable, env));
}

/**
 * The lanes' budgets and the breaker from the environment. The full attempt budget is clamped so
 * that a fresh invocation (the functions' timeout less the recording margin) can always hold one
 * attempt: otherwise the slow lane would hand every delivery on, for ever.
 */
export function laneSettingsFromEnv(env: NodeJS.ProcessEnv): Partial<BreakerSettings> {
  const ceiling = PIPELINE.functionTimeoutSeconds * 1000 - DEFAULTS.recordMarginMs - 1_000;
  const attemptTimeoutMs = Math.min(ceiling, numberEnv(ENV.deliveryTimeoutMs, DEFAULTS.deliveryTimeoutMs, env));
  const inlineTimeoutMs = Math.min(attemptTimeoutMs, numberEnv(ENV.inlineTimeoutMs, DEFAULTS.inlineTimeoutMs, env));
  const failures = numberEnv(ENV.breakerFailures, DEFAULTS.breakerFailures, env);
  const off = failures === 0 ? { failuresToOpen: Number.MAX_SAFE_INTEGER, openAfterFailingMs: Number.MAX_SAFE_INTEGER } : { failuresToOpen: failures };
  const probeIntervalMs = numberEnv(ENV.probeIntervalMs, DEFAULTS.probeIntervalMs, env);
  return { attemptTimeoutMs, inlineTimeoutMs, probeIntervalMs, probeMaxIntervalMs: Math.max(probeIntervalMs, DEFAULTS.probeMaxIntervalMs), ...off };
}
