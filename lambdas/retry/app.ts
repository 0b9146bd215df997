import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { retryMessageSchema } from '../shared/domain/messages';
import { deadlineOf } from '../shared/adapters/lambda-context';
import { logger, metrics } from '../shared/adapters/powertools';
import type { DeliveryRuntime } from '../shared/composition/delivery-runtime';

/**
 * The slow lane: the retry-queue consumer. Each message is one (event, webhook) delivery, handed
 * to the delivery domain (`handleQueued`): hopped again if not yet due, parked while the breaker
 * is open, attempted with the full budget if the invocation has time for it, handed on if not.
 */
export function createRetryRecordHandler(runtime: DeliveryRuntime) {
  return async (record: SQSRecord, context?: Context): Promise<void> => {
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
    const deadline = deadlineOf(context, runtime.clock, runtime.service.settings.recordMarginMs);
    const outcome = await runtime.service.handleQueued(message, deadline === undefined ? {} : { deadline });
    runtime.log.debug('queued delivery processed', { deliveryId: message.deliveryId, outcome: outcome.kind });
  };
}

export function createRetryHandler(runtime: DeliveryRuntime) {
  const recordHandler = createRetryRecordHandler(runtime);
  // One processor per invocation: a BatchProcessor keeps the batch's successes and failures on
  // itself, so a shared one lets concurrent invocations (the local runtime's consumers run
  // several) wipe each other's failures, and a failed record would be deleted as if delivered.
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const response = await processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
    // The statistics this invocation counted: one write per (webhook, hour); never fails the batch.
    await runtime.stats?.flush();
    return response;
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics)); // no ColdStart metric: the `cold_start` key of every log line says it
}
