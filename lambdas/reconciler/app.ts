import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { logger, metrics } from '../shared/adapters/powertools';
import type { ReconcileReport, Reconciler } from '../shared/domain/reconciler';

/**
 * The reconciler function, run on a schedule (every `DEFAULTS.reconcileEverySeconds`): breaker
 * probes, the paced release of parked deliveries, and the sweep of overdue pending deliveries
 * (docs/design.md §8). A failed tick throws (the schedule retries it, and the errors alarm sees it).
 */
export function createReconcilerHandler(reconciler: Reconciler) {
  return middy(async (): Promise<ReconcileReport> => reconciler.tick())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
