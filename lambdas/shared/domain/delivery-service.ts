import { DEFAULTS, METRICS } from '../contract';
import { type DeliveryJob, sendAttempt } from './attempt';
import type { VisitEvent } from './events';
import { MAX_QUEUE_DELAY_SECONDS, type RetryMessage } from './messages';
import { type AttemptRecord, deliveryIdFor, isSubscribed, type Webhook } from './model';
import type { AttemptWrite, Clock, DeadLetterSink, DeliveryStore, LogSink, MetricSink, WebhookStore, RetryQueue, HttpSender } from './ports';
import { DeliveredBatch } from './delivered-batch';
import type { RetryPolicy } from './retry-policy';
import { mapLimit } from './concurrency';

export type AttemptOutcome =
  | { readonly kind: 'delivered'; readonly attempt: AttemptRecord }
  | { readonly kind: 'retry-scheduled'; readonly attempt?: AttemptRecord; readonly delaySeconds: number }
  | { readonly kind: 'failed'; readonly attempt?: AttemptRecord; readonly reason: string }
  | { readonly kind: 'skipped'; readonly reason: string };

export interface DeliveryServiceDeps {
  readonly webhooks: WebhookStore;
  readonly deliveries: DeliveryStore;
  readonly sender: HttpSender;
  readonly retryQueue: RetryQueue;
  /** Where deliveries that exhausted their retries (or were refused for good) are kept. */
  readonly failedSink: DeadLetterSink;
  readonly retryPolicy: RetryPolicy;
  readonly clock: Clock;
  readonly log: LogSink;
  readonly metrics: MetricSink;
  /** @default DEFAULTS.autoDisableAfterDays */
  readonly autoDisableAfterMs?: number;
  /** @default DEFAULTS.fanOutConcurrency */
  readonly fanOutConcurrency?: number;
  /**
   * A webhook failing continuously for this long is "open": new events skip the inline attempt
   * and go straight to the retry schedule until a retry succeeds. @default 60 s
   */
  readonly circuitOpenAfterMs?: number;
}

/** Result of fanning one event out. Infrastructure errors are thrown, never folded in here. */
export interface EventOutcome {
  readonly eventId: string;
  readonly matched: number;
  readonly outcomes: ReadonlyArray<{ webhookId: string; deliveryId: string; outcome: AttemptOutcome | { kind: 'duplicate' } }>;
}

/** Where a success is kept until the invocation flushes it: the batch, and the queue message that owns the write. */
export interface BatchSlot {
  readonly owner: string;
  readonly delivered: DeliveredBatch;
}

const DAY_MS = 86_400_000;

/**
 * The delivery domain: fan an event out to an account's webhooks, sign and send each
 * attempt, and decide what a failure means (retry, disable, give up). Knows nothing of
 * Lambda, SQS or DynamoDB: it talks to ports.
 */
export class DeliveryService {
  private readonly autoDisableAfterMs: number;
  private readonly fanOutConcurrency: number;
  private readonly circuitOpenAfterMs: number;

  constructor(private readonly deps: DeliveryServiceDeps) {
    this.autoDisableAfterMs = deps.autoDisableAfterMs ?? DEFAULTS.autoDisableAfterDays * DAY_MS;
    this.fanOutConcurrency = deps.fanOutConcurrency ?? DEFAULTS.fanOutConcurrency;
    this.circuitOpenAfterMs = deps.circuitOpenAfterMs ?? 60_000;
  }

  /**
   * Delivers an event to every matching webhook of its account. `redelivery` (the queue's
   * receive count is above 1) turns on the idempotency check: deliveries already recorded are
   * not attempted again. Throws if any step could not be recorded, so the queue redelivers.
   */
  async deliverEvent(event: VisitEvent, options: { redelivery: boolean; batch?: BatchSlot }): Promise<EventOutcome> {
    const { webhooks: store, log } = this.deps;
    const all = await store.listByAccount(event.accountId);
    const matching = all.filter((w) => isSubscribed(w, event.eventType) && (w.enabled || w.status === 'auto-disabled'));
    const createdAt = new Date(event.time).toISOString();
    const errors: unknown[] = [];
    const outcomes = await mapLimit(matching, this.fanOutConcurrency, async (webhook) => {
      const deliveryId = deliveryIdFor(event.time, event.eventId, webhook.webhookId);
      const job: DeliveryJob = {
        accountId: event.accountId,
        webhookId: webhook.webhookId,
        deliveryId,
        eventId: event.eventId,
        eventType: event.eventType,
        createdAt,
        payload: event.body,
        retryIndex: 0,
        trigger: 'event',
      };
      try {
        if (options.redelivery) {
          const existing = await this.deps.deliveries.get(event.accountId, webhook.webhookId, deliveryId);
          // A record exists only once an attempt (or skip) was recorded: that outcome stands,
          // and any retry it needs is already on the retry queue.
          if (existing) return { webhookId: webhook.webhookId, deliveryId, outcome: { kind: 'duplicate' as const } };
        }
        if (!webhook.enabled) {
          return { webhookId: webhook.webhookId, deliveryId, outcome: await this.skip(job, `webhook ${webhook.status}: ${webhook.disabledReason ?? 'disabled'}`) };
        }
        if (this.isCircuitOpen(webhook)) {
          log.info('circuit open: scheduling without an inline attempt', { webhookId: webhook.webhookId, deliveryId });
          return { webhookId: webhook.webhookId, deliveryId, outcome: await this.scheduleRetry(job, webhook, undefined, undefined) };
        }
        return { webhookId: webhook.webhookId, deliveryId, outcome: await this.attempt(webhook, job, options.batch) };
      } catch (err) {
        errors.push(err);
        log.error('delivery could not be completed or recorded; the event will be redelivered', {
          webhookId: webhook.webhookId,
          deliveryId,
          error: err instanceof Error ? err.message : String(err),
        });
        return { webhookId: webhook.webhookId, deliveryId, outcome: { kind: 'failed' as const, reason: 'infrastructure error' } };
      }
    });
    if (errors.length > 0) throw errors[0];
    return { eventId: event.eventId, matched: matching.length, outcomes };
  }

  /**
   * Handles a message from the retry queue that is due now: re-checks the record (a delivered
   * record is final) and the webhook (deleted or disabled webhooks are not sent to).
   */
  async deliverRetry(message: RetryMessage): Promise<AttemptOutcome | { kind: 'duplicate' }> {
    const job: DeliveryJob = { ...message, trigger: message.trigger };
    const record = await this.deps.deliveries.get(message.accountId, message.webhookId, message.deliveryId);
    if (record?.status === 'delivered') return { kind: 'duplicate' };
    const webhook = await this.deps.webhooks.get(message.accountId, message.webhookId);
    if (!webhook) return this.fail(job, undefined, 'webhook was deleted', false);
    if (!webhook.enabled) return this.skip(job, `webhook ${webhook.status}: ${webhook.disabledReason ?? 'disabled'}`);
    return this.attempt(webhook, job);
  }

  /** A batch for the `delivered` records of one invocation's first attempts (see DeliveredBatch). */
  deliveredBatch(): DeliveredBatch {
    return new DeliveredBatch(this.deps.deliveries, this.deps.log);
  }

  /**
   * Signs and sends one attempt, then records it and decides what comes next. With `batch`, a
   * success is recorded when the batch is flushed (the caller owns that), not before returning.
   */
  async attempt(webhook: Webhook, job: DeliveryJob, batch?: BatchSlot): Promise<AttemptOutcome> {
    const { clock, metrics, log } = this.deps;
    const { result, record: attempt } = await sendAttempt(this.deps, webhook, job);
    const logContext = { webhookId: job.webhookId, deliveryId: job.deliveryId, eventId: job.eventId, trigger: job.trigger };
    if (result.ok) {
      const write: AttemptWrite = { ...recordBase(job), status: 'delivered', attempt };
      if (batch) batch.delivered.add(batch.owner, write);
      else await this.deps.deliveries.write(write);
      if (webhook.failingSince) await this.deps.webhooks.clearFailing(job.accountId, job.webhookId);
      metrics.count(METRICS.delivered);
      metrics.milliseconds(METRICS.latency, result.durationMs);
      log.debug('delivered', { ...logContext, statusCode: result.statusCode, durationMs: result.durationMs });
      return { kind: 'delivered', attempt };
    }
    metrics.count(METRICS.failedAttempt);
    log.warn('attempt failed', { ...logContext, statusCode: result.statusCode, errorKind: result.errorKind, error: result.error });
    if (result.statusCode === 410) {
      const reason = 'endpoint answered 410 Gone';
      await this.deps.webhooks.autoDisable(job.accountId, job.webhookId, reason, new Date(clock.now()).toISOString());
      return this.fail(job, attempt, reason, true);
    }
    const failingSince = webhook.failingSince ? Date.parse(webhook.failingSince) : undefined;
    if (failingSince === undefined) await this.deps.webhooks.markFailing(job.accountId, job.webhookId, attempt.at);
    else if (clock.now() - failingSince >= this.autoDisableAfterMs) {
      const reason = `every delivery failed since ${webhook.failingSince}`;
      await this.deps.webhooks.autoDisable(job.accountId, job.webhookId, reason, attempt.at);
      log.warn('webhook auto-disabled', { ...logContext, reason });
      return this.fail(job, attempt, `webhook auto-disabled: ${reason}`, true);
    }
    return this.scheduleRetry(job, webhook, attempt, result.retryAfterSeconds);
  }

  private isCircuitOpen(webhook: Webhook): boolean {
    if (!webhook.failingSince) return false;
    return this.deps.clock.now() - Date.parse(webhook.failingSince) >= this.circuitOpenAfterMs;
  }

  private async scheduleRetry(
    job: DeliveryJob,
    webhook: Webhook,
    attempt: AttemptRecord | undefined,
    retryAfterSeconds: number | undefined,
  ): Promise<AttemptOutcome> {
    const delaySeconds = this.deps.retryPolicy.delaySeconds(job.retryIndex, retryAfterSeconds);
    if (delaySeconds === undefined) {
      return this.fail(job, attempt, `gave up after ${job.retryIndex + 1} attempts: ${attempt?.error ?? 'failed'}`, true);
    }
    const dueAt = this.deps.clock.now() + delaySeconds * 1000;
    const message: RetryMessage = {
      kind: 'delivery-retry',
      accountId: job.accountId,
      webhookId: webhook.webhookId,
      deliveryId: job.deliveryId,
      eventId: job.eventId,
      eventType: job.eventType,
      createdAt: job.createdAt,
      retryIndex: job.retryIndex + 1,
      dueAt,
      trigger: 'retry',
      payload: job.payload,
    };
    // Queue first, record second: a crash in between costs a duplicate attempt, never a loss.
    await this.deps.retryQueue.enqueue(message, Math.min(delaySeconds, MAX_QUEUE_DELAY_SECONDS));
    await this.deps.deliveries.write({
      ...recordBase(job),
      status: 'pending',
      ...(attempt ? { attempt } : {}),
      nextAttemptAt: new Date(dueAt).toISOString(),
      payload: job.payload,
    });
    return { kind: 'retry-scheduled', ...(attempt ? { attempt } : {}), delaySeconds };
  }

  /** Ends a delivery as failed, kept recoverable (payload in the record, a copy in the failed-deliveries DLQ). */
  private async fail(job: DeliveryJob, attempt: AttemptRecord | undefined, reason: string, deadLetter: boolean): Promise<AttemptOutcome> {
    if (deadLetter) {
      await this.deps.failedSink.send(JSON.stringify(toFailedMessage(job)), reason, { deliveryId: job.deliveryId, webhookId: job.webhookId });
    }
    await this.deps.deliveries.write({ ...recordBase(job), status: 'failed', ...(attempt ? { attempt } : {}), payload: job.payload, reason });
    this.deps.metrics.count(METRICS.exhausted);
    this.deps.log.warn('delivery failed', { webhookId: job.webhookId, deliveryId: job.deliveryId, reason });
    return { kind: 'failed', ...(attempt ? { attempt } : {}), reason };
  }

  /** Records a delivery that was not sent (webhook disabled) so it can be recovered later. */
  private async skip(job: DeliveryJob, reason: string): Promise<AttemptOutcome> {
    await this.deps.deliveries.write({ ...recordBase(job), status: 'skipped', payload: job.payload, reason });
    this.deps.metrics.count(METRICS.skipped);
    return { kind: 'skipped', reason };
  }
}

function recordBase(job: DeliveryJob) {
  return {
    accountId: job.accountId,
    webhookId: job.webhookId,
    deliveryId: job.deliveryId,
    eventId: job.eventId,
    eventType: job.eventType,
    createdAt: job.createdAt,
  };
}

/** A failed delivery as kept in the DLQ: a retry message that `npm run redrive` can re-queue. */
function toFailedMessage(job: DeliveryJob): RetryMessage {
  return {
    kind: 'delivery-retry',
    accountId: job.accountId,
    webhookId: job.webhookId,
    deliveryId: job.deliveryId,
    eventId: job.eventId,
    eventType: job.eventType,
    createdAt: job.createdAt,
    retryIndex: 0,
    dueAt: 0,
    trigger: 'manual',
    payload: job.payload,
  };
}

