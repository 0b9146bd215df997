import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricSink } from './domain/ports';

/** Module-scope Powertools instances (service name and namespace come from the environment). */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'visit-webhooks' });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'VisitWebhooks',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'visit-webhooks',
});

/** The domain's metric port over Powertools Metrics. */
export const metricSink: MetricSink = {
  count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
  milliseconds: (name, value) => metrics.addMetric(name, MetricUnit.Milliseconds, value),
};
