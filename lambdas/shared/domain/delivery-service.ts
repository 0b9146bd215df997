import { DEFAULTS, type EventType, METRICS } from '../contract';
import { type DeliveryJob, sendAttempt } from './attempt';
import {
  afterFailedProbe,
  type BreakerSettings,
  DEFAULT_BREAKER_SETTINGS,
  FailureStreaks,
  isParking,
  laneFor,
  openedBreaker,
  parkedReason,
  releasing,
} from './breaker';
import { mapLimit } from './concurrency';
import { DeliveredBatch } from './delivered-batch';
import { FilterCache } from './event-filter';
import type { VisitEvent } from './events';
import { hopDelaySeconds, MAX_QUEUE_DELAY_SECONDS, type RetryMessage } from './messages';
import { type AttemptRecord, type Breaker, deliveryIdFor, isSubscribed, type Webhook } from './model';
import { announces, OperationalEvents } from './operational-events';
import type { DeliveryStats } from './delivery-stats';
import type { AttemptWrite, Clock, DeadLetterSink, DeliveryStore, HttpSender, LogSink, MetricSink, OperationalEventSink, RateLimiter, RetryQueue, WebhookStore } from './ports';
import type { RetryPolicy } from './retry-policy';

export type AttemptOutcome =
  | { readonly kind: 'delivered'; readonly attempt: AttemptRecord }
  | { readonly kind: 'retry-scheduled'; readonly attempt?: AttemptRecord; readonly delaySeconds: number }
  | { readonly kind: 'handed-off'; readonly attempt?: AttemptRecord; readonly delaySeconds: number; readonly reason: string }
  | { readonly kind: 'parked'; readonly attempt?: AttemptRecord; readonly reason: string }
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
  /** Enforces webhooks' `rateLimit` across consumers. */
  readonly rateLimiter: RateLimiter;
  /** @default DEFAULTS.autoDisableAfterDays */
  readonly autoDisableAfterMs?: number;
  /** @default DEFAULTS.fanOutConcurrency */
  readonly fanOutConcurrency?: number;
  /** Lanes, breaker and timing (docs/design.md §8). @default DEFAULT_BREAKER_SETTINGS */
  readonly settings?: Partial<BreakerSettings>;
  /**
   * Aborted when the process stops (the local runtime's bounded drain): attempts in flight end at
   * once and their deliveries are handed on, unchanged, for the next start. Never a failure.
   */
  readonly shutdown?: AbortSignal;
  /**
   * Told of each (event, webhook) pair that the webhook's payload filter rejected: no delivery,
   * no record, no queue message. The hook statistics count "filtered out" with.
   */
  readonly onFilteredOut?: (webhook: Webhook, event: VisitEvent) => void;
  /** Where operational events go (docs/design.md §8); none: they are not published. */
  readonly operationalEvents?: OperationalEventSink;
  /** Counts attempts per webhook and hour for the statistics (flushed by the handler per invocation); none: not counted. */
  readonly stats?: DeliveryStats;
}

/** Result of fanning one event out. Infrastructure errors are thrown, never folded in here. */
export interface EventOutcome {
  readonly eventId: string;
  readonly matched: number;
  /** Subscribed webhooks whose payload filter rejected the event (nothing was delivered or recorded for them). */
  readonly filteredOut: readonly string[];
  readonly outcomes: ReadonlyArray<{ webhookId: string; deliveryId: string; outcome: AttemptOutcome | { kind: 'duplicate' } }>;
}

/** Where a success is kept until the invocation flushes it: the batch, and the queue message that owns the write. */
export interface BatchSlot {
  readonly owner: string;
  readonly delivered: DeliveredBatch;
}

export interface EventOptions {
  /** The queue's receive count is above 1 (or the message was redriven): check the records first. */
  readonly redelivery: boolean;
  readonly batch?: BatchSlot;
  /**
   * When the queue first handed the event to a consumer (epoch ms): webhooks created after it
   * do not get the event, however often it is redelivered. @default now
   */
  readonly firstReceivedAt?: number;
  /** Epoch ms by which every attempt must have ended (the invocation's end less its recording margin). */
  readonly deadline?: number;
}

const DAY_MS = 86_400_000;

/**
 * The delivery domain: fan an event out to an account's webhooks, sign and send each attempt,
 * and decide what a failure means (retry, park, disable, give up). Two lanes keep one
 * customer's slow or dead endpoint from costing the others anything (docs/design.md §8): the
 * fast lane (`deliverEvent`) attempts inline only within a short budget and hands everything
 * that would wait to the slow lane (`handleQueued`, the retry queue). Knows nothing of Lambda,
 * SQS or DynamoDB: it talks to ports.
 */
export class DeliveryService {
  private readonly autoDisableAfterMs: number;
  private readonly fanOutConcurrency: number;
  readonly settings: BreakerSettings;
  private readonly streaks = new FailureStreaks();
  /** Payload filters, compiled once per webhook version (its `updatedAt`). */
  private readonly filters: FilterCache;
  private readonly announce: OperationalEvents;

  constructor(private readonly deps: DeliveryServiceDeps) {
    this.announce = new OperationalEvents({ sink: deps.operationalEvents, clock: deps.clock, log: deps.log, metrics: deps.metrics });
    this.autoDisableAfterMs = deps.autoDisableAfterMs ?? DEFAULTS.autoDisableAfterDays * DAY_MS;
    this.fanOutConcurrency = deps.fanOutConcurrency ?? DEFAULTS.fanOutConcurrency;
    this.settings = { ...DEFAULT_BREAKER_SETTINGS, ...deps.settings };
    this.filters = new FilterCache(10_000, (key, issue) => deps.log.warn('stored payload filter does not compile: it matches nothing', { webhook: key, error: issue.message }));
  }

  /** Whether a webhook's payload filter (if any) lets the event through. */
  private passesFilter(webhook: Webhook, event: VisitEvent): boolean {
    if (webhook.filter === undefined) return true;
    return this.filters.get(`${webhook.accountId}/${webhook.webhookId}`, webhook.updatedAt, webhook.filter)(event.data);
  }

  /**
   * The fast lane: delivers an event to every matching webhook of its account that existed when
   * the event was first received. A delivery is attempted inline only if its webhook is healthy,
   * within its rate limit and the invocation has time for it; anything else is handed to the slow
   * lane or parked, and recorded. Throws if any step could not be recorded, so the queue redelivers.
   */
  async deliverEvent(event: VisitEvent, options: EventOptions): Promise<EventOutcome> {
    const { webhooks: store, log } = this.deps;
    const firstReceivedAt = options.firstReceivedAt ?? this.deps.clock.now();
    const all = await store.listByAccount(event.accountId);
    const subscribed = all.filter(
      (w) =>
        isSubscribed(w, event.eventType) &&
        (w.enabled || w.status === 'auto-disabled') &&
        !(Date.parse(w.createdAt) > firstReceivedAt) &&
        // An operational event never goes to the webhook it is about.
        w.webhookId !== event.aboutWebhookId,
    );
    // A webhook whose payload filter rejects the event gets nothing: no delivery, no record, no message.
    const matching = subscribed.filter((w) => this.passesFilter(w, event));
    const filteredOut = subscribed.filter((w) => !matching.includes(w));
    for (const w of filteredOut) {
      log.debug('filtered out', { webhookId: w.webhookId, eventId: event.eventId, eventType: event.eventType });
      this.deps.stats?.recordFiltered(w, this.deps.clock.now());
      this.deps.onFilteredOut?.(w, event);
    }
    const createdAt = new Date(event.time).toISOString();
    const errors: unknown[] = [];
    const deliverTo = async (webhook: Webhook) => {
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
          // A record exists only once an attempt (or skip, park, hand-off) was recorded: that
          // outcome stands, and whatever comes next is already queued or parked.
          if (existing) return { webhookId: webhook.webhookId, deliveryId, outcome: { kind: 'duplicate' as const } };
        }
        return { webhookId: webhook.webhookId, deliveryId, outcome: await this.fastLane(webhook, job, options) };
      } catch (err) {
        errors.push(err);
        log.error('delivery could not be completed or recorded; the event will be redelivered', {
          webhookId: webhook.webhookId,
          deliveryId,
          error: err instanceof Error ? err.message : String(err),
        });
        return { webhookId: webhook.webhookId, deliveryId, outcome: { kind: 'failed' as const, reason: 'infrastructure error' } };
      }
    };
    // Attempts first, bookkeeping second: the healthy webhooks' requests leave before the parked
    // and handed-off deliveries of the same event are recorded (the records wait, the receivers don't).
    const now = this.deps.clock.now();
    const inline = (w: Webhook) => w.enabled && laneFor(w, now) === 'inline';
    const first = await mapLimit(matching.filter(inline), this.fanOutConcurrency, deliverTo);
    const then = await mapLimit(matching.filter((w) => !inline(w)), this.fanOutConcurrency, deliverTo);
    const byWebhook = new Map([...first, ...then].map((o) => [o.webhookId, o]));
    const outcomes = matching.flatMap((w) => byWebhook.get(w.webhookId) ?? []);
    if (errors.length > 0) throw errors[0];
    return { eventId: event.eventId, matched: matching.length, filteredOut: filteredOut.map((w) => w.webhookId), outcomes };
  }

  /**
   * The events of one queue record (one, or the visits of a batch entry): each delivered on its
   * own, `fanOutConcurrency` at a time. Every event is carried to its end before the first
   * error (if any) is thrown, so the queue's redelivery finds the others' records (a redelivery
   * checks them) and sends only what is missing.
   */
  async deliverEvents(events: readonly VisitEvent[], options: EventOptions): Promise<EventOutcome[]> {
    if (events.length === 1) return [await this.deliverEvent(events[0] as VisitEvent, options)];
    const errors: unknown[] = [];
    const outcomes = await mapLimit(events, this.fanOutConcurrency, (event) =>
      this.deliverEvent(event, options).catch((err: unknown) => {
        errors.push(err);
        return undefined;
      }),
    );
    if (errors.length > 0) throw errors[0];
    return outcomes.filter((o): o is EventOutcome => o !== undefined);
  }

  private async fastLane(webhook: Webhook, job: DeliveryJob, options: EventOptions): Promise<AttemptOutcome> {
    const s = this.settings;
    if (!webhook.enabled) return this.skip(job, `webhook ${webhook.status}: ${webhook.disabledReason ?? 'disabled'}`);
    const lane = laneFor(webhook, this.deps.clock.now());
    if (lane === 'park' && webhook.breaker) return this.park(job, undefined, webhook.breaker);
    if (lane === 'slow') return this.handOff(job, undefined, 0, 'the endpoint answers slowly: sent through the slow lane');
    if (!(await this.withinRateLimit(webhook))) return this.handOff(job, undefined, s.rateLimitWaitSeconds, rateLimitReason(webhook));
    const left = (options.deadline ?? Number.POSITIVE_INFINITY) - this.deps.clock.now();
    if (left < s.inlineTimeoutMs + inlineQueueMs(s)) return this.handOff(job, undefined, 0, 'handed on: too little time left in this invocation');
    return this.attempt(webhook, job, { batch: options.batch, inline: true, queueTimeoutMs: inlineQueueMs(s) });
  }

  /**
   * The slow lane: one message of the retry queue. Not yet due: hop again (SQS delays 15 minutes
   * at most), or park if the breaker opened meanwhile. Due: re-check the record (a delivered one
   * is final) and the webhook, then attempt with the full budget, unless the breaker parks it,
   * the rate limit defers it or the invocation has too little time left (handed on, same id).
   */
  async handleQueued(message: RetryMessage, options: { readonly deadline?: number } = {}): Promise<AttemptOutcome | { kind: 'duplicate' } | { kind: 'hopped' }> {
    const s = this.settings;
    const now = this.deps.clock.now();
    const job: DeliveryJob = { ...message };
    const record = await this.deps.deliveries.get(message.accountId, message.webhookId, message.deliveryId);
    if (record?.status === 'delivered') return { kind: 'duplicate' };
    const webhook = await this.deps.webhooks.get(message.accountId, message.webhookId);
    if (!webhook) return this.fail(job, undefined, 'webhook was deleted', false);
    if (!webhook.enabled) return this.skip(job, `webhook ${webhook.status}: ${webhook.disabledReason ?? 'disabled'}`);
    const probe = message.trigger === 'probe';
    if (!probe && isParking(webhook.breaker) && webhook.breaker) return this.park(job, undefined, webhook.breaker);
    if (message.dueAt - now > DUE_TOLERANCE_MS) {
      await this.deps.retryQueue.enqueue(message, hopDelaySeconds(message.dueAt, now));
      return { kind: 'hopped' };
    }
    if (!probe && !(await this.withinRateLimit(webhook))) return this.handOff(job, undefined, s.rateLimitWaitSeconds, rateLimitReason(webhook));
    const left = (options.deadline ?? Number.POSITIVE_INFINITY) - now;
    if (left < s.attemptTimeoutMs) return this.handOff(job, undefined, 0, 'handed on: too little time left in this invocation');
    // The wait for a connection to a busy host comes out of what the invocation has left over.
    return this.attempt(webhook, job, { inline: false, queueTimeoutMs: Math.max(1_000, Math.min(s.attemptTimeoutMs, left - s.attemptTimeoutMs)) });
  }

  /** A batch for the `delivered` records of one invocation's first attempts (see DeliveredBatch). */
  deliveredBatch(): DeliveredBatch {
    return new DeliveredBatch(this.deps.deliveries, this.deps.log);
  }

  /**
   * Signs and sends one attempt, then records it and decides what comes next. Inline (fast
   * lane), the attempt has the short budget, and an endpoint that does not answer within it is
   * marked slow and the delivery handed to the slow lane (not a failure). With `batch`, a success
   * is recorded when the batch is flushed (the caller owns that), not before returning.
   */
  async attempt(webhook: Webhook, job: DeliveryJob, options: { readonly batch?: BatchSlot | undefined; readonly inline: boolean; readonly queueTimeoutMs?: number }): Promise<AttemptOutcome> {
    const { clock, metrics, log } = this.deps;
    const s = this.settings;
    const { result, record: attempt } = await sendAttempt(this.deps, webhook, job, {
      timeoutMs: options.inline ? s.inlineTimeoutMs : s.attemptTimeoutMs,
      ...(options.queueTimeoutMs !== undefined ? { queueTimeoutMs: options.queueTimeoutMs } : {}),
      ...(this.deps.shutdown ? { signal: this.deps.shutdown } : {}),
    });
    this.deps.stats?.attempted(job, result, clock.now(), { inline: options.inline && s.inlineTimeoutMs < s.attemptTimeoutMs });
    const logContext = { webhookId: job.webhookId, deliveryId: job.deliveryId, eventId: job.eventId, trigger: job.trigger };
    if (result.ok) {
      const write: AttemptWrite = { ...recordBase(job), status: 'delivered', attempt };
      if (options.batch) options.batch.delivered.add(options.batch.owner, write);
      else await this.deps.deliveries.write(write);
      this.streaks.succeeded(job.webhookId);
      if (webhook.failingSince) await this.deps.webhooks.clearFailing(job.accountId, job.webhookId);
      if (webhook.breaker && job.trigger === 'probe') await this.probeSucceeded(webhook);
      metrics.count(METRICS.delivered);
      metrics.milliseconds(METRICS.latency, result.durationMs);
      log.debug('delivered', { ...logContext, statusCode: result.statusCode, durationMs: result.durationMs });
      return { kind: 'delivered', attempt };
    }
    if (result.errorKind === 'queued') {
      // Never sent: the host's connections were busy (other webhooks of the same host take turns).
      return this.handOff(job, undefined, 0, `no free connection to the endpoint's host in time: sent again through the slow lane`);
    }
    if (result.errorKind === 'aborted') {
      // Shutting down: the endpoint's answer never came back; send it again after the restart.
      return this.handOff(job, attempt, 0, 'interrupted by a shutdown: sent again once the service is back');
    }
    if (options.inline && result.errorKind === 'timeout' && s.inlineTimeoutMs < s.attemptTimeoutMs) {
      // Slow, not failed: later deliveries skip the fast lane for a while; this one gets the full budget.
      const until = new Date(clock.now() + s.slowHoldMs).toISOString();
      await this.deps.webhooks.markSlow(job.accountId, job.webhookId, until);
      log.info('endpoint too slow for the fast lane', { ...logContext, durationMs: result.durationMs });
      return this.handOff(job, attempt, 0, `no answer within the fast lane's ${s.inlineTimeoutMs} ms: sent again through the slow lane`);
    }
    metrics.count(METRICS.failedAttempt);
    log.warn('attempt failed', { ...logContext, statusCode: result.statusCode, errorKind: result.errorKind, error: result.error });
    return this.afterFailure(webhook, job, attempt, result.statusCode, result.retryAfterSeconds);
  }

  private async afterFailure(webhook: Webhook, job: DeliveryJob, attempt: AttemptRecord, statusCode: number | undefined, retryAfterSeconds: number | undefined): Promise<AttemptOutcome> {
    const { clock, log } = this.deps;
    const logContext = { webhookId: job.webhookId, deliveryId: job.deliveryId };
    if (statusCode === 410) {
      const reason = 'endpoint answered 410 Gone';
      if (await this.deps.webhooks.autoDisable(job.accountId, job.webhookId, reason, new Date(clock.now()).toISOString())) await this.announce.autoDisabled(webhook, reason, job.eventType);
      return this.fail(job, attempt, reason, true);
    }
    const failingSince = webhook.failingSince ? Date.parse(webhook.failingSince) : undefined;
    if (failingSince === undefined) await this.deps.webhooks.markFailing(job.accountId, job.webhookId, attempt.at);
    else if (clock.now() - failingSince >= this.autoDisableAfterMs) {
      const reason = `every delivery failed since ${webhook.failingSince}`;
      const disabled = await this.deps.webhooks.autoDisable(job.accountId, job.webhookId, reason, attempt.at);
      log.warn('webhook auto-disabled', { ...logContext, reason });
      if (disabled) await this.announce.autoDisabled(webhook, reason, job.eventType);
      return this.fail(job, attempt, `webhook auto-disabled: ${reason}`, true);
    }
    const failure = attempt.error ?? 'failed';
    if (job.trigger === 'probe' && webhook.breaker) {
      const next = afterFailedProbe(webhook.breaker, clock.now(), failure, this.settings);
      await this.deps.webhooks.setBreaker(job.accountId, job.webhookId, next, { probeAt: webhook.breaker.probeAt });
      return this.park(job, attempt, next);
    }
    const opened = await this.maybeOpenBreaker(webhook, failure, failingSince, job.eventType);
    // A manual retry is one attempt the customer asked for: it ends as the schedule says, never parked.
    if (opened && job.trigger !== 'manual') return this.park(job, attempt, opened);
    const outcome = await this.scheduleRetry(job, attempt, retryAfterSeconds);
    if (outcome.kind === 'failed' && job.trigger !== 'manual') {
      await this.announce.exhausted(webhook, { ...job, attempts: job.retryIndex + 1, lastStatusCode: statusCode }, outcome.reason);
    }
    return outcome;
  }

  /**
   * Opens the breaker after `failuresToOpen` failures in a row (seen here) or a failure run of
   * `openAfterFailingMs` (seen by anyone), unless it is already parking. Returns the stored
   * breaker when it is open (by this call or a concurrent one).
   */
  private async maybeOpenBreaker(webhook: Webhook, failure: string, failingSince: number | undefined, cause: EventType) {
    const { clock, log } = this.deps;
    const streak = this.streaks.failed(webhook.webhookId);
    const failingFor = failingSince === undefined ? 0 : clock.now() - failingSince;
    if (isParking(webhook.breaker) || (streak < this.settings.failuresToOpen && failingFor < this.settings.openAfterFailingMs)) return undefined;
    const why = streak >= this.settings.failuresToOpen ? `${streak} failed attempts in a row` : `failing for ${Math.round(failingFor / 1000)} s`;
    const opened = openedBreaker(clock.now(), `${why}, the last: ${failure}`, this.settings);
    // Opened by an operational event's delivery: neither announced now nor when it closes (no loops).
    const breaker = announces(cause) ? opened : { ...opened, quiet: true };
    if (await this.deps.webhooks.setBreaker(webhook.accountId, webhook.webhookId, breaker, { probeAt: webhook.breaker?.probeAt ?? null })) {
      this.deps.metrics.count(METRICS.breakerOpened);
      log.warn('breaker opened: deliveries are parked until a probe finds the endpoint back', { webhookId: webhook.webhookId, reason: breaker.reason });
      await this.announce.breakerOpened(webhook, breaker);
      return breaker;
    }
    const stored = (await this.deps.webhooks.get(webhook.accountId, webhook.webhookId))?.breaker;
    return isParking(stored) ? stored : undefined;
  }

  private async probeSucceeded(webhook: Webhook): Promise<void> {
    if (!webhook.breaker) return;
    const next = releasing(webhook.breaker, this.deps.clock.now());
    if (await this.deps.webhooks.setBreaker(webhook.accountId, webhook.webhookId, next, { probeAt: webhook.breaker.probeAt })) {
      this.deps.metrics.count(METRICS.breakerClosed);
      this.deps.log.info('probe succeeded: the breaker closes and parked deliveries are released', { webhookId: webhook.webhookId });
      await this.announce.breakerClosed(webhook, webhook.breaker, 'a probe succeeded: the endpoint is back, deliveries flow and the parked ones are released');
    }
  }

  private async withinRateLimit(webhook: Webhook): Promise<boolean> {
    if (webhook.rateLimit === undefined) return true;
    return this.deps.rateLimiter.tryTake(`${webhook.accountId}#${webhook.webhookId}`, webhook.rateLimit, this.deps.clock.now());
  }

  private async scheduleRetry(job: DeliveryJob, attempt: AttemptRecord | undefined, retryAfterSeconds: number | undefined): Promise<AttemptOutcome> {
    const delaySeconds = this.deps.retryPolicy.delaySeconds(job.retryIndex, retryAfterSeconds);
    if (delaySeconds === undefined) {
      // A manual retry is one attempt past the schedule: its failure says so, not "gave up after N".
      const why = job.trigger === 'manual' ? 'manual retry failed' : `gave up after ${job.retryIndex + 1} attempts`;
      return this.fail(job, attempt, `${why}: ${attempt?.error ?? 'failed'}`, true);
    }
    await this.queue({ ...job, retryIndex: job.retryIndex + 1, trigger: 'retry' }, delaySeconds, attempt, undefined);
    return { kind: 'retry-scheduled', ...(attempt ? { attempt } : {}), delaySeconds };
  }

  /** Passes a delivery to the slow lane (same id, same attempt number), recorded pending with the reason. */
  private async handOff(job: DeliveryJob, attempt: AttemptRecord | undefined, delaySeconds: number, reason: string): Promise<AttemptOutcome> {
    await this.queue(job, delaySeconds, attempt, reason);
    // Not a metric (no alarm or dashboard reads it): one log line per hand-off.
    this.deps.log.info('delivery handed off', { webhookId: job.webhookId, deliveryId: job.deliveryId, delaySeconds, reason });
    return { kind: 'handed-off', ...(attempt ? { attempt } : {}), delaySeconds, reason };
  }

  /**
   * Queue first, record second: a crash in between costs a duplicate attempt, never a loss. A
   * wait longer than a queue delay (15 minutes) makes no queue message now: the record waits in
   * the `due` index and the reconciler queues it 15 minutes before it is due (one message per
   * attempt, instead of a hop every 15 minutes). A queued one is in the index too, as a safety
   * net: swept if still pending `overdueAfterMs` past its due time.
   */
  private async queue(job: DeliveryJob, delaySeconds: number, attempt: AttemptRecord | undefined, reason: string | undefined): Promise<void> {
    const dueAt = this.deps.clock.now() + delaySeconds * 1000;
    const queued = delaySeconds <= MAX_QUEUE_DELAY_SECONDS;
    if (queued) await this.deps.retryQueue.enqueue(toMessage(job, dueAt), delaySeconds);
    await this.deps.deliveries.write({
      ...recordBase(job),
      status: 'pending',
      ...(attempt ? { attempt } : {}),
      nextAttemptAt: new Date(dueAt).toISOString(),
      sweepAt: new Date(queued ? dueAt + this.settings.overdueAfterMs : dueAt - MAX_QUEUE_DELAY_SECONDS * 1000).toISOString(),
      payload: job.payload,
      retryIndex: job.retryIndex,
      ...(reason ? { reason } : {}),
    });
  }

  /** Keeps a delivery aside while the breaker is open: pending, parked, with the reason; no queue message. */
  private async park(job: DeliveryJob, attempt: AttemptRecord | undefined, seen: Breaker): Promise<AttemptOutcome> {
    const reason = parkedReason(seen);
    await this.deps.deliveries.write({
      ...recordBase(job),
      status: 'pending',
      ...(attempt ? { attempt } : {}),
      payload: job.payload,
      reason,
      parked: true,
      retryIndex: job.retryIndex,
    });
    this.deps.metrics.count(METRICS.parked);
    // The breaker may have closed since this lane read it (a cached copy): a parked delivery of a
    // webhook without a parking breaker would wait for a release that never comes. Only the
    // reconciler closes a breaker, and never an open one before its probe is due: until then the
    // view cannot be stale in that way. After that, read it again.
    if (seen.state === 'open' && this.deps.clock.now() < Date.parse(seen.probeAt)) return { kind: 'parked', ...(attempt ? { attempt } : {}), reason };
    const current = await this.deps.webhooks.get(job.accountId, job.webhookId);
    if (current && !isParking(current.breaker) && current.breaker?.state !== 'releasing') {
      return this.handOff(job, undefined, 0, 'the breaker closed while this delivery was being parked: sent through the slow lane');
    }
    return { kind: 'parked', ...(attempt ? { attempt } : {}), reason };
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

/** How long a fast-lane attempt may wait for a connection before the delivery goes to the slow lane. */
function inlineQueueMs(s: BreakerSettings): number {
  return Math.floor(s.inlineTimeoutMs / 3);
}

/** A message this close to its due time is attempted now rather than hopped again. */
const DUE_TOLERANCE_MS = 1_000;

function rateLimitReason(webhook: Webhook): string {
  return `rate limit: at most ${webhook.rateLimit} deliveries a second; waiting for the next second`;
}

export function recordBase(job: Pick<DeliveryJob, 'accountId' | 'webhookId' | 'deliveryId' | 'eventId' | 'eventType' | 'createdAt'>) {
  return {
    accountId: job.accountId,
    webhookId: job.webhookId,
    deliveryId: job.deliveryId,
    eventId: job.eventId,
    eventType: job.eventType,
    createdAt: job.createdAt,
  };
}

/** The queue message of a delivery: what the slow lane needs to attempt it (the payload included). */
export function toMessage(job: DeliveryJob, dueAt: number): RetryMessage {
  const trigger = job.trigger === 'test' ? 'manual' : job.trigger;
  return { kind: 'delivery-retry', ...recordBase(job), retryIndex: job.retryIndex, dueAt, trigger, payload: job.payload };
}

/** A failed delivery as kept in the DLQ: a retry message that `npm run redrive` can re-queue. */
function toFailedMessage(job: DeliveryJob): RetryMessage {
  return { kind: 'delivery-retry', ...recordBase(job), retryIndex: 0, dueAt: 0, trigger: 'manual', payload: job.payload };
}
