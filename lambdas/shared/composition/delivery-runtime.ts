import type { CachedWebhookStore } from '../adapters/cached-webhook-store';
import type { DynamoDeliveryStore } from '../adapters/dynamo-delivery-store';
import { createDocumentClient } from '../adapters/dynamo-client';
import { logger, metricSink } from '../adapters/powertools';
import { lazySqsClient, SqsDeadLetterSink } from '../adapters/sqs';
import { DEFAULTS, ENV } from '../contract';
import { DeliveryService } from '../domain/delivery-service';
import { DeliveryStats } from '../domain/delivery-stats';
import {
  type Clock,
  type DeadLetterSink,
  type HttpSender,
  type LogSink,
  type MetricSink,
  type OperationalEventSink,
  type RateLimiter,
  type RecoveryJobStore,
  type RetryQueue,
  type StatsStore,
  systemClock,
} from '../domain/ports';
import type { BreakerSettings } from '../domain/breaker';
import type { RetryPolicy } from '../domain/retry-policy';
import {
  type AdapterOverrides,
  laneSettingsFromEnv,
  operationalEventsFromEnv,
  rateLimiterFromEnv,
  retryPolicyFromEnv,
  retryQueueFromEnv,
  senderFromEnv,
  statsStoreFromEnv,
  storesFromEnv,
} from './adapters-from-env';
import { numberEnv, requiredEnv } from './env';


export { secretCipherFromEnv } from './adapters-from-env';

/** Everything the delivery and retry handlers run on, built once per container. */
export interface DeliveryRuntime {
  readonly service: DeliveryService;
  readonly webhooks: CachedWebhookStore;
  readonly deliveries: DynamoDeliveryStore;
  /** Recovery jobs (the API starts them, the reconciler works on them). */
  readonly recoveryJobs: RecoveryJobStore;
  readonly retryQueue: RetryQueue;
  /** Where events that fail validation go, with their reason. */
  readonly eventsDlq: DeadLetterSink;
  readonly failedSink: DeadLetterSink;
  readonly sender: HttpSender;
  readonly retryPolicy: RetryPolicy;
  readonly clock: Clock;
  readonly log: LogSink;
  readonly metrics: MetricSink;
  readonly rateLimiter: RateLimiter;
  /** Delivery statistics counted by this container: the handlers flush them at the end of each invocation (none without a stats table). */
  readonly stats?: DeliveryStats;
  /** The statistics table itself (the local runtime's API reads it). */
  readonly statsStore?: StatsStore;
  /** Where operational events go (none without a bus). */
  readonly operationalEvents?: OperationalEventSink;
}

/** Overrides for tests and the local runtime; production passes none. */
export interface DeliveryRuntimeOverrides extends AdapterOverrides {
  /** Lanes and breaker (tests of the retry schedule alone turn the breaker off here). */
  readonly settings?: Partial<BreakerSettings>;
  /** Aborted to stop: attempts in flight end and are handed on (the local runtime's bounded drain). */
  readonly shutdown?: AbortSignal;
  readonly eventsDlq?: DeadLetterSink;
  readonly failedSink?: DeadLetterSink;
  readonly clock?: Clock;
  readonly log?: LogSink;
  readonly metrics?: MetricSink;
}

/** Reads the configuration (ENV in contract.ts) and wires the delivery and retry functions' adapters. */
export function createDeliveryRuntime(env: NodeJS.ProcessEnv = process.env, overrides: DeliveryRuntimeOverrides = {}): DeliveryRuntime {
  // One DynamoDB client for the stores and the rate limiter.
  const o = { ...overrides, doc: overrides.doc ?? createDocumentClient(overrides.dynamoConfig) };
  const clock = o.clock ?? systemClock;
  const { webhooks, deliveries, recoveryJobs } = storesFromEnv(env, clock, o);
  // Created (and @aws-sdk/client-sqs loaded) on first use: only failures write to SQS.
  const sqs = lazySqsClient(o.sqsConfig ?? {});
  const retryQueue = retryQueueFromEnv(env, o);
  const eventsDlq = o.eventsDlq ?? new SqsDeadLetterSink(sqs, requiredEnv(ENV.eventsDlqUrl, env));
  const failedSink = o.failedSink ?? new SqsDeadLetterSink(sqs, requiredEnv(ENV.failedQueueUrl, env));
  const retryPolicy = retryPolicyFromEnv(env, o);
  const sender = senderFromEnv(env, o);
  const log = o.log ?? logger;
  const metrics = o.metrics ?? metricSink;
  const rateLimiter = rateLimiterFromEnv(env, o);
  const statsStore = statsStoreFromEnv(env, o);
  const stats = statsStore ? new DeliveryStats(statsStore, log) : undefined;
  const operationalEvents = operationalEventsFromEnv(env, o);
  const service = new DeliveryService({
    webhooks,
    deliveries,
    sender,
    retryQueue,
    failedSink,
    retryPolicy,
    clock,
    log,
    metrics,
    rateLimiter,
    settings: { ...laneSettingsFromEnv(env), ...o.settings },
    ...(o.shutdown ? { shutdown: o.shutdown } : {}),
    ...(stats ? { stats } : {}),
    ...(operationalEvents ? { operationalEvents } : {}),
    autoDisableAfterMs: numberEnv(ENV.autoDisableAfterDays, DEFAULTS.autoDisableAfterDays, env) * 86_400_000,
  });
  return {
    service,
    webhooks,
    deliveries,
    recoveryJobs,
    retryQueue,
    eventsDlq,
    failedSink,
    sender,
    retryPolicy,
    clock,
    log,
    metrics,
    rateLimiter,
    ...(stats ? { stats } : {}),
    ...(statsStore ? { statsStore } : {}),
    ...(operationalEvents ? { operationalEvents } : {}),
  };
}
