import type { HttpSender } from '../http-sender';
import type { RetryQueue } from './messages';
import { DeliveryService } from './delivery-service';
import type { AttemptWrite, Clock, DeadLetterSink, DeliveryStore, LogSink, MetricSink, WebhookStore } from './ports';
import type { RetryPolicy } from './retry-policy';

export interface TestDeliveryDeps {
  readonly sender: HttpSender;
  readonly deliveries: DeliveryStore;
  readonly retryPolicy: RetryPolicy;
  readonly clock: Clock;
  readonly log: LogSink;
}

/** Test sends leave the webhook's health alone: no failure run, no auto-disable, no 410-disable. */
const healthUntouched: WebhookStore = {
  listByAccount: () => Promise.reject(new Error('not used by test sends')),
  get: () => Promise.reject(new Error('not used by test sends')),
  markFailing: async () => undefined,
  clearFailing: async () => undefined,
  autoDisable: async () => undefined,
};

/** A test attempt starts past the end of the retry schedule, so nothing is ever queued. */
const noRetries: RetryQueue = {
  enqueue: () => Promise.reject(new Error('a test send is never retried')),
};

/** A failed test is not an undeliverable event: nothing goes to the failed-deliveries DLQ. */
const noDeadLetters: DeadLetterSink = { send: async () => undefined };
const noMetrics: MetricSink = { count: () => undefined, milliseconds: () => undefined };

/**
 * The log record of a test send keeps no payload (the sample is not the customer's data and
 * must never be re-sent by a retry or a recover-since) and says what it was.
 */
function testLog(inner: DeliveryStore): DeliveryStore {
  return {
    get: (accountId, webhookId, deliveryId) => inner.get(accountId, webhookId, deliveryId),
    list: (accountId, webhookId, query) => inner.list(accountId, webhookId, query),
    write: (write: AttemptWrite) => {
      const { payload: _payload, ...rest } = write;
      const reason = write.status === 'failed' ? `test send failed: ${write.attempt?.error ?? 'no response'}` : undefined;
      return inner.write({ ...rest, ...(reason ? { reason } : {}) });
    },
  };
}

/**
 * The real `DeliveryService` (same signing, headers, sender and SSRF checks, same attempt log)
 * wired for test sends: call its `attempt(webhook, job)` with `retryIndex = retryPolicy.maxRetries`.
 */
export function createTestDeliveryService(deps: TestDeliveryDeps): DeliveryService {
  return new DeliveryService({
    webhooks: healthUntouched,
    deliveries: testLog(deps.deliveries),
    sender: deps.sender,
    retryQueue: noRetries,
    failedSink: noDeadLetters,
    retryPolicy: deps.retryPolicy,
    clock: deps.clock,
    log: deps.log,
    metrics: noMetrics,
  });
}
