import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { METRICS } from '../shared/contract';
import { InvalidEventError, parseEventBridgeRecord } from '../shared/domain/events';
import { deadlineOf } from '../shared/adapters/lambda-context';
import { logger, metrics } from '../shared/adapters/powertools';
import { REDRIVEN_ATTRIBUTE } from '../shared/domain/redrive';
import type { DeliveredBatch } from '../shared/domain/delivered-batch';
import type { DeliveryRuntime } from '../shared/composition/delivery-runtime';

/**
 * The events-queue consumer: each record is one EventBridge event. A record fails (and is
 * redelivered) only when something could not be done or recorded; an invalid event goes to
 * the events DLQ with its reason and never fails the rest of the batch.
 */
export function createRecordHandler(runtime: DeliveryRuntime) {
  return async (record: SQSRecord, delivered?: DeliveredBatch, context?: Context): Promise<void> => {
    let event;
    try {
      event = parseEventBridgeRecord(record.body, runtime.clock.now());
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err;
      runtime.log.warn('invalid event sent to the DLQ', { messageId: record.messageId, reason: err.reason });
      runtime.metrics.count(METRICS.invalidEvent);
      await runtime.eventsDlq.send(record.body, err.reason, { sourceMessageId: record.messageId });
      return;
    }
    // A second receive, or a message redriven from a DLQ, may follow deliveries that already
    // happened: check the records before sending (a first receive cannot have any).
    const redelivery = Number(record.attributes?.ApproximateReceiveCount ?? '1') > 1 || record.messageAttributes?.[REDRIVEN_ATTRIBUTE] !== undefined;
    // The webhooks an event goes to are those that existed when the queue first handed it out:
    // a redelivery (after a crash or a timeout) never reaches a webhook created since.
    const firstReceivedAt = Number(record.attributes?.ApproximateFirstReceiveTimestamp);
    const deadline = deadlineOf(context, runtime.clock, runtime.service.settings.recordMarginMs);
    const outcome = await runtime.service.deliverEvent(event, {
      redelivery,
      ...(delivered ? { batch: { owner: record.messageId, delivered } } : {}),
      ...(Number.isFinite(firstReceivedAt) && firstReceivedAt > 0 ? { firstReceivedAt } : {}),
      ...(deadline !== undefined ? { deadline } : {}),
    });
    runtime.log.debug('event processed', { eventId: event.eventId, accountId: event.accountId, matched: outcome.matched, filteredOut: outcome.filteredOut.length });
  };
}

/** The Lambda handler: Powertools batch processing, logger context and metrics through middy. */
export function createDeliveryHandler(runtime: DeliveryRuntime) {
  const recordHandler = createRecordHandler(runtime);
  // One processor per invocation: a BatchProcessor keeps the batch's successes and failures on
  // itself, so a shared one lets concurrent invocations (the local runtime's consumers run
  // several) wipe each other's failures, and a failed record would be deleted as if delivered.
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // Successful first attempts are recorded together once every record is done; a record whose
    // success could not be recorded fails, so SQS redelivers it (see DeliveredBatch).
    const delivered = runtime.service.deliveredBatch();
    const response = await processPartialResponse(event, (record: SQSRecord) => recordHandler(record, delivered, context), new BatchProcessor(EventType.SQS), {
      context,
      throwOnFullBatchFailure: false,
    });
    const unstored = await delivered.flush();
    if (unstored.size === 0) return response;
    const failures = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const messageId of unstored) failures.add(messageId);
    return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics)); // no ColdStart metric: the `cold_start` key of every log line says it
}
