import { logger, metricSink } from '../adapters/powertools';
import { DEFAULTS, ENV } from '../contract';
import { type Clock, type LogSink, type MetricSink, systemClock } from '../domain/ports';
import { Reconciler } from '../domain/reconciler';
import { type AdapterOverrides, laneSettingsFromEnv, operationalEventsFromEnv, retryQueueFromEnv, storesFromEnv } from './adapters-from-env';
import { numberEnv } from './env';

/**
 * The reconciler on the production adapters: both tables and the retry queue, no sender. (Listing
 * webhooks decrypts their secrets, so it needs the secrets key's Decrypt too.)
 */
export function createReconcilerRuntime(
  env: NodeJS.ProcessEnv = process.env,
  o: AdapterOverrides & { readonly clock?: Clock; readonly log?: LogSink; readonly metrics?: MetricSink } = {},
): Reconciler {
  const clock = o.clock ?? systemClock;
  const { webhooks, deliveries } = storesFromEnv(env, clock, o);
  const operationalEvents = operationalEventsFromEnv(env, o);
  return new Reconciler({
    webhooks,
    deliveries,
    retryQueue: retryQueueFromEnv(env, o),
    clock,
    log: o.log ?? logger,
    metrics: o.metrics ?? metricSink,
    everySeconds: numberEnv(ENV.reconcileEverySeconds, DEFAULTS.reconcileEverySeconds, env),
    settings: laneSettingsFromEnv(env),
    ...(operationalEvents ? { operationalEvents } : {}),
  });
}
