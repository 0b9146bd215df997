import { booleanEnv, optionalEnv } from '../shared/config';
import { API, ENV } from '../shared/contract';
import type { DeadLetterSink } from '../shared/domain/ports';
import { RecoveryService } from '../shared/domain/recovery-service';
import { createTestDeliveryService } from '../shared/domain/test-delivery';
import { WebhookService } from '../shared/domain/webhook-service';
import type { DeliveryRuntime, DeliveryRuntimeOverrides } from '../shared/runtime';
import { type Resolver, systemResolver } from '../shared/ssrf';
import type { ApiDependencies } from './app';

export interface ApiRuntimeOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Resolves webhook hosts for the create-time SSRF check. @default the system resolver */
  readonly resolver?: Resolver;
}

/**
 * The API's dependencies on top of a delivery runtime (same stores, retry queue, sender,
 * retry policy and clock as the delivery path). Reads `WEBHOOKS_ALLOW_HTTP` and
 * `WEBHOOKS_ALLOW_PRIVATE_TARGETS` (both default false).
 */
export function createApiRuntime(runtime: DeliveryRuntime, options: ApiRuntimeOptions = {}): ApiDependencies {
  const env = options.env ?? process.env;
  const recovery = new RecoveryService(runtime.deliveries, runtime.retryQueue, runtime.clock, runtime.retryPolicy.maxRetries);
  const tester = createTestDeliveryService(runtime);
  const webhooks = new WebhookService({
    store: runtime.webhooks,
    deliveries: runtime.deliveries,
    recovery,
    tester,
    clock: runtime.clock,
    resolver: options.resolver ?? systemResolver,
    allowHttp: booleanEnv(ENV.allowHttp, false, env),
    allowPrivateTargets: booleanEnv(ENV.allowPrivateTargets, false, env),
    maxRetries: runtime.retryPolicy.maxRetries,
  });
  const corsOrigins = (optionalEnv(API.corsOriginsEnv, env) ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  return { webhooks, log: runtime.log, corsOrigins };
}

/** The API never writes to the events DLQ or the failed-deliveries queue; a write there is a bug, not data to drop. */
const notInTheApi: DeadLetterSink = {
  send: () => Promise.reject(new Error('the API function has no dead-letter queue')),
};

/**
 * Overrides for `createDeliveryRuntime` in the API function: its environment then needs only
 * the two tables and `RETRY_QUEUE_URL`, not the events DLQ or the failed-deliveries queue.
 */
export const API_RUNTIME_OVERRIDES: DeliveryRuntimeOverrides = { eventsDlq: notInTheApi, failedSink: notInTheApi };
