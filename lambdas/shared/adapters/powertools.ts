import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../contract';
import type { MetricSink } from '../domain/ports';

/** Module-scope Powertools instances (service name and namespace come from the environment). */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'visit-webhooks' });
/**
 * Where Powertools Metrics reports on itself: through our logger. Its "No application metrics to
 * publish" warning is expected (a retry batch of re-delay hops records no metric) and goes to
 * DEBUG; anything else it says stays a warning.
 */
const metricsLog = {
  debug: (message: string) => logger.debug(message),
  info: (message: string) => logger.info(message),
  warn: (message: string) => (message.startsWith('No application metrics to publish') ? logger.debug(message) : logger.warn(message)),
  error: (message: string) => logger.error(message),
};
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'visit-webhooks',
  logger: metricsLog,
});

/** The domain's metric port over Powertools Metrics. */
export const metricSink: MetricSink = {
  count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
  milliseconds: (name, value) => metrics.addMetric(name, MetricUnit.Milliseconds, value),
};
