import { logger, metricSink } from '../adapters/powertools';
import { DEFAULTS, ENV } from '../contract';
import { type Clock, type LogSink, type MetricSink, systemClock } from '../domain/ports';
import { Reconciler } from '../domain/reconciler';
import { RecoveryService } from '../domain/recovery-service';
import { type AdapterOverrides, laneSettingsFromEnv, retryPolicyFromEnv, retryQueueFromEnv, storesFromEnv } from './adapters-from-env';
import { numberEnv } from './env';

/**
 * The reconciler on the production adapters: both tables and the retry queue, no sender; it also
 * works on recovery jobs. (Listing
 * webhooks decrypts their secrets, so it needs the secrets key's Decrypt too.)
 */
export function createReconcilerRuntime(
  env: NodeJS.ProcessEnv = process.env,
  o: AdapterOverrides & { readonly clock?: Clock; readonly log?: LogSink; readonly metrics?: MetricSink } = {},
): Reconciler {
  const clock = o.clock ?? systemClock;
  const { webhooks, deliveries, recoveryJobs } = storesFromEnv(env, clock, o);
  const retryQueue = retryQueueFromEnv(env, o);
  const log = o.log ?? logger;
  const maxRetries = retryPolicyFromEnv(env, o).maxRetries;
  return new Reconciler({
    webhooks,
    deliveries,
    retryQueue,
    clock,
    log,
    metrics: o.metrics ?? metricSink,
    everySeconds: numberEnv(ENV.reconcileEverySeconds, DEFAULTS.reconcileEverySeconds, env),
    settings: laneSettingsFromEnv(env),
    recovery: new RecoveryService(deliveries, retryQueue, clock, maxRetries, recoveryJobs, log),
  });
}
