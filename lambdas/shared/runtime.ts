import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULTS, ENV } from './contract';
import { booleanEnv, numberEnv, optionalEnv, parseRetrySchedule, requiredEnv } from './config';
import { CachedWebhookStore } from './adapters/cached-webhook-store';
import { createDocumentClient } from './adapters/dynamo-client';
import { DynamoDeliveryStore } from './adapters/dynamo-delivery-store';
import { DynamoWebhookStore } from './adapters/dynamo-webhook-store';
import { KmsEnvelopeCipher, LocalKeyCipher, type SecretCipher } from './adapters/secret-cipher';
import { lazySqsClient, SqsDeadLetterSink, SqsRetryQueue } from './adapters/sqs';
import { DeliveryService } from './domain/delivery-service';
import type { RetryQueue } from './domain/messages';
import { type Clock, type DeadLetterSink, type LogSink, type MetricSink, systemClock } from './domain/ports';
import { createRetryPolicy, type RetryPolicy } from './domain/retry-policy';
import { type HttpSender, UndiciHttpSender } from './http-sender';
import { logger, metricSink } from './powertools';
import type { Resolver } from './ssrf';

/** Everything the delivery and retry handlers run on, built once per container. */
export interface DeliveryRuntime {
  readonly service: DeliveryService;
  readonly webhooks: CachedWebhookStore;
  readonly deliveries: DynamoDeliveryStore;
  readonly retryQueue: RetryQueue;
  /** Where events that fail validation go, with their reason. */
  readonly eventsDlq: DeadLetterSink;
  readonly failedSink: DeadLetterSink;
  readonly sender: HttpSender;
  readonly retryPolicy: RetryPolicy;
  readonly clock: Clock;
  readonly log: LogSink;
  readonly metrics: MetricSink;
}

/** Overrides for tests and the local runtime; production passes none. */
export interface DeliveryRuntimeOverrides {
  readonly doc?: DynamoDBDocumentClient;
  readonly dynamoConfig?: DynamoDBClientConfig;
  readonly sqsConfig?: SQSClientConfig;
  readonly sender?: HttpSender;
  readonly resolver?: Resolver;
  readonly retryQueue?: RetryQueue;
  readonly eventsDlq?: DeadLetterSink;
  readonly failedSink?: DeadLetterSink;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly log?: LogSink;
  readonly metrics?: MetricSink;
  /** How signing secrets are encrypted at rest; by default from the environment (KMS or a local key). */
  readonly cipher?: SecretCipher;
}

/** The secrets cipher the environment configures: KMS in AWS, a local key elsewhere; none is an error. */
export function secretCipherFromEnv(env: NodeJS.ProcessEnv): SecretCipher {
  const kmsKey = optionalEnv(ENV.secretsKmsKeyId, env);
  if (kmsKey) return new KmsEnvelopeCipher(undefined, kmsKey); // KMS client created on first use
  const localKey = optionalEnv(ENV.secretsKey, env);
  if (localKey) return new LocalKeyCipher(Buffer.from(localKey, 'base64'));
  throw new Error(`signing secrets must be encrypted at rest: set ${ENV.secretsKmsKeyId} (AWS) or ${ENV.secretsKey} (base64 of 32 bytes)`);
}

/** Reads the configuration (ENV in contract.ts) and wires the production adapters. */
export function createDeliveryRuntime(env: NodeJS.ProcessEnv = process.env, o: DeliveryRuntimeOverrides = {}): DeliveryRuntime {
  const clock = o.clock ?? systemClock;
  const doc = o.doc ?? createDocumentClient(o.dynamoConfig);
  // Created (and @aws-sdk/client-sqs loaded) on first use: only failures write to SQS.
  const sqs = lazySqsClient(o.sqsConfig ?? {});
  const cipher = o.cipher ?? secretCipherFromEnv(env);
  const webhooks = new CachedWebhookStore(new DynamoWebhookStore(doc, requiredEnv(ENV.webhooksTable, env), cipher), DEFAULTS.webhookCacheTtlMs, clock);
  const deliveries = new DynamoDeliveryStore(doc, requiredEnv(ENV.deliveriesTable, env), numberEnv(ENV.retentionDays, DEFAULTS.deliveryRetentionDays, env));
  const retryQueue = o.retryQueue ?? new SqsRetryQueue(sqs, requiredEnv(ENV.retryQueueUrl, env));
  const eventsDlq = o.eventsDlq ?? new SqsDeadLetterSink(sqs, requiredEnv(ENV.eventsDlqUrl, env));
  const failedSink = o.failedSink ?? new SqsDeadLetterSink(sqs, requiredEnv(ENV.failedQueueUrl, env));
  const schedule = optionalEnv(ENV.retrySchedule, env);
  const retryPolicy = createRetryPolicy(schedule ? parseRetrySchedule(schedule) : DEFAULTS.retryScheduleSeconds, o.random);
  const sender =
    o.sender ??
    new UndiciHttpSender({
      timeoutMs: numberEnv(ENV.deliveryTimeoutMs, DEFAULTS.deliveryTimeoutMs, env),
      allowHttp: booleanEnv(ENV.allowHttp, false, env),
      allowPrivateTargets: booleanEnv(ENV.allowPrivateTargets, false, env),
      ...(o.resolver ? { resolver: o.resolver } : {}),
    });
  const log = o.log ?? logger;
  const metrics = o.metrics ?? metricSink;
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
    autoDisableAfterMs: numberEnv(ENV.autoDisableAfterDays, DEFAULTS.autoDisableAfterDays, env) * 86_400_000,
  });
  return { service, webhooks, deliveries, retryQueue, eventsDlq, failedSink, sender, retryPolicy, clock, log, metrics };
}
