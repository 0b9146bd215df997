import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { hopDelaySeconds, retryMessageSchema } from '../shared/domain/messages';
import { logger, metrics } from '../shared/adapters/powertools';
import type { DeliveryRuntime } from '../shared/composition/delivery-runtime';

/** A message this close to its due time is attempted now rather than hopped again. */
const DUE_TOLERANCE_MS = 1_000;

/**
 * The retry-queue consumer. A message not yet due is re-sent with the remaining delay (a
 * re-delay hop of at most 15 minutes); a due one is attempted through the delivery domain.
 */
export function createRetryRecordHandler(runtime: DeliveryRuntime) {
  return async (record: SQSRecord): Promise<void> => {
    let raw: unknown;
    try {
      raw = JSON.parse(record.body);
    } catch {
      raw = undefined;
    }
    const parsed = retryMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const reason = `invalid retry message: ${parsed.error.issues[0]?.message ?? 'not JSON'}`;
      runtime.log.error(reason, { messageId: record.messageId });
      await runtime.failedSink.send(record.body, reason, { sourceMessageId: record.messageId });
      return;
    }
    const message = parsed.data;
    const now = runtime.clock.now();
    if (message.dueAt - now > DUE_TOLERANCE_MS) {
      await runtime.retryQueue.enqueue(message, hopDelaySeconds(message.dueAt, now));
      return;
    }
    const outcome = await runtime.service.deliverRetry(message);
    runtime.log.debug('retry processed', { deliveryId: message.deliveryId, outcome: outcome.kind });
  };
}

export function createRetryHandler(runtime: DeliveryRuntime) {
  const recordHandler = createRetryRecordHandler(runtime);
  // One processor per invocation: a BatchProcessor keeps the batch's successes and failures on
  // itself, so a shared one lets concurrent invocations (the local runtime's consumers run
  // several) wipe each other's failures, and a failed record would be deleted as if delivered.
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false }),
  )
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
