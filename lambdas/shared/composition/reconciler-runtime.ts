import { logger, metricSink } from '../adapters/powertools';
import { WithheldSecretCipher } from '../adapters/secret-cipher';
import { DEFAULTS, ENV } from '../contract';
import { type Clock, type LogSink, type MetricSink, systemClock } from '../domain/ports';
import { Reconciler } from '../domain/reconciler';
import { RecoveryService } from '../domain/recovery-service';
import { type AdapterOverrides, laneSettingsFromEnv, operationalEventsFromEnv, retryPolicyFromEnv, retryQueueFromEnv, storesFromEnv } from './adapters-from-env';
import { numberEnv } from './env';

/**
 * The reconciler on the production adapters: both tables and the retry queue, no sender, and no
 * signing secret: it lists webhooks only to manage their breakers, so its store withholds secrets
 * (they read as empty, which nothing can sign with) and the function needs no `kms:Decrypt`. It
 * also works on recovery jobs.
 */
export function createReconcilerRuntime(
  env: NodeJS.ProcessEnv = process.env,
  o: AdapterOverrides & { readonly clock?: Clock; readonly log?: LogSink; readonly metrics?: MetricSink } = {},
): Reconciler {
  const clock = o.clock ?? systemClock;
  const { webhooks, deliveries, recoveryJobs } = storesFromEnv(env, clock, { ...o, cipher: o.cipher ?? new WithheldSecretCipher() });
  const retryQueue = retryQueueFromEnv(env, o);
  const log = o.log ?? logger;
  const maxRetries = retryPolicyFromEnv(env, o).maxRetries;
  const operationalEvents = operationalEventsFromEnv(env, o);
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
    ...(operationalEvents ? { operationalEvents } : {}),
  });
}
