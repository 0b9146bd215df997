import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { METRICS } from '../shared/contract';
import { InvalidEventError, parseEventRecord } from '../shared/domain/events';
import { deadlineOf } from '../shared/adapters/lambda-context';
import { logger, metrics } from '../shared/adapters/powertools';
import { REDRIVEN_ATTRIBUTE } from '../shared/domain/redrive';
import type { DeliveredBatch } from '../shared/domain/delivered-batch';
import type { DeliveryRuntime } from '../shared/composition/delivery-runtime';

/**
 * The events-queue consumer: each record is one EventBridge event, holding one visit or a batch
 * of visits (`detail.visits`, docs/design.md §4). A record fails (and is redelivered) only when
 * something could not be done or recorded; an invalid event, or an invalid visit of a batch,
 * goes to the events DLQ with its reason and never fails the rest of the batch.
 */
export function createRecordHandler(runtime: DeliveryRuntime) {
  return async (record: SQSRecord, delivered?: DeliveredBatch, context?: Context): Promise<void> => {
    let parsed;
    try {
      parsed = parseEventRecord(record.body, runtime.clock.now());
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err;
      runtime.log.warn('invalid event sent to the DLQ', { messageId: record.messageId, reason: err.reason });
      runtime.metrics.count(METRICS.invalidEvent);
      await runtime.eventsDlq.send(record.body, err.reason, { sourceMessageId: record.messageId });
      return;
    }
    // Each invalid visit of a batch is kept on its own, as a single event with its own id and reason.
    for (const visit of parsed.invalid) {
      runtime.log.warn('invalid visit of a batch event sent to the DLQ', { messageId: record.messageId, index: visit.index, reason: visit.reason });
      runtime.metrics.count(METRICS.invalidEvent);
      await runtime.eventsDlq.send(visit.body, visit.reason, { sourceMessageId: record.messageId, visitIndex: String(visit.index) });
    }
    if (parsed.events.length === 0) return;
    // A second receive, or a message redriven from a DLQ, may follow deliveries that already
    // happened: check the records before sending (a first receive cannot have any).
    const redelivery = Number(record.attributes?.ApproximateReceiveCount ?? '1') > 1 || record.messageAttributes?.[REDRIVEN_ATTRIBUTE] !== undefined;
    // The webhooks an event goes to are those that existed when the queue first handed it out:
    // a redelivery (after a crash or a timeout) never reaches a webhook created since.
    const firstReceivedAt = Number(record.attributes?.ApproximateFirstReceiveTimestamp);
    const deadline = deadlineOf(context, runtime.clock, runtime.service.settings.recordMarginMs);
    const outcomes = await runtime.service.deliverEvents(parsed.events, {
      redelivery,
      ...(delivered ? { batch: { owner: record.messageId, delivered } } : {}),
      ...(Number.isFinite(firstReceivedAt) && firstReceivedAt > 0 ? { firstReceivedAt } : {}),
      ...(deadline !== undefined ? { deadline } : {}),
    });
    parsed.events.forEach((event, i) => runtime.log.debug('event processed', { eventId: event.eventId, accountId: event.accountId, matched: outcomes[i]?.matched, filteredOut: outcomes[i]?.filteredOut.length }));
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
    // The statistics this invocation counted: one write per (webhook, hour); never fails the batch.
    await runtime.stats?.flush();
    if (unstored.size === 0) return response;
    const failures = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const messageId of unstored) failures.add(messageId);
    return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics)); // no ColdStart metric: the `cold_start` key of every log line says it
}
