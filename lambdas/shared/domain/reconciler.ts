import { METRICS } from '../contract';
import type { DeliveryJob } from './attempt';
import { type BreakerSettings, DEFAULT_BREAKER_SETTINGS, probing } from './breaker';
import { recordBase, toMessage } from './delivery-service';
import { hopDelaySeconds, MAX_QUEUE_DELAY_SECONDS } from './messages';
import type { DeliveryRecord, Webhook } from './model';
import { OperationalEvents } from './operational-events';
import type { Clock, DeliveryStore, LogSink, MetricSink, OperationalEventSink, RetryQueue, WebhookStore } from './ports';

export interface ReconcilerDeps {
  readonly webhooks: WebhookStore;
  readonly deliveries: DeliveryStore;
  readonly retryQueue: RetryQueue;
  readonly clock: Clock;
  readonly log: LogSink;
  readonly metrics: MetricSink;
  /** How often `tick` runs: the release pace is spread over this much time. */
  readonly everySeconds: number;
  readonly settings?: Partial<BreakerSettings>;
  /** Runs recovery jobs (POST …/recover) until a deadline (epoch ms); returns deliveries re-queued. */
  readonly recovery?: { work(deadline: number): Promise<number> };
  /** Where operational events go (a breaker it closes); none: not published. */
  readonly operationalEvents?: OperationalEventSink;
}

/** What one tick did, for logs and tests. */
export interface ReconcileReport {
  readonly probes: number;
  readonly released: number;
  readonly skipped: number;
  readonly closed: number;
  /** Retries queued by the due sweep (their wait was longer than a queue delay). */
  readonly queued: number;
  readonly overdue: number;
  /** Deliveries re-queued by recovery jobs. */
  readonly recovered: number;
}

/** Webhooks with a breaker looked at per tick, and due deliveries queued per tick. */
const BREAKERS_PER_TICK = 1_000;
const DUE_PER_TICK = 5_000;

/**
 * The periodic reconciler (a schedule in AWS, a timer locally; docs/design.md §8). Each tick:
 *
 * - for each webhook whose breaker is open and due a probe, takes the probe lease and sends its
 *   oldest parked delivery through the slow lane as the probe (one at a time);
 * - for each webhook whose endpoint recovered (`releasing`), releases the next parked deliveries
 *   at `releasePerSecond`, spread over the tick with queue delays, and closes the breaker when
 *   none is left;
 * - for a webhook disabled meanwhile, turns its parked deliveries into skipped ones (recoverable);
 * - sweeps the `due` index: queues the retries that wait longer than a queue delay (15 minutes
 *   before they are due, with the remaining delay), and re-queues pending deliveries long past
 *   their due time (a lost queue message), counting those in `OverdueDeliveries`;
 * - works on running recovery jobs for what is left of its budget.
 *
 * So no delivery stays pending for ever, and nothing waits on a per-delivery chain of hops while
 * its endpoint is down.
 */
export class Reconciler {
  private readonly settings: BreakerSettings;
  private readonly announce: OperationalEvents;

  constructor(private readonly deps: ReconcilerDeps) {
    this.settings = { ...DEFAULT_BREAKER_SETTINGS, ...deps.settings };
    this.announce = new OperationalEvents({ sink: deps.operationalEvents, clock: deps.clock, log: deps.log, metrics: deps.metrics });
  }

  async tick(): Promise<ReconcileReport> {
    const report = { probes: 0, released: 0, skipped: 0, closed: 0, queued: 0, overdue: 0, recovered: 0 };
    let cursor: string | undefined;
    let seen = 0;
    do {
      const page = await this.deps.webhooks.listBreakers({ limit: 100, ...(cursor ? { cursor } : {}) });
      for (const webhook of page.items) await this.reconcileBreaker(webhook, report);
      seen += page.items.length;
      cursor = page.nextCursor;
    } while (cursor && seen < BREAKERS_PER_TICK);
    const due = await this.sweepDue();
    report.queued = due.queued;
    report.overdue = due.overdue;
    if (this.deps.recovery) report.recovered = await this.deps.recovery.work(this.deps.clock.now() + this.deps.everySeconds * 500);
    if (Object.values(report).some((n) => n > 0)) this.deps.log.info('reconciled', { ...report });
    return report;
  }

  private async reconcileBreaker(webhook: Webhook, report: { probes: number; released: number; skipped: number; closed: number }): Promise<void> {
    const breaker = webhook.breaker;
    if (!breaker) return;
    const now = this.deps.clock.now();
    if (!webhook.enabled) {
      const n = await this.skipParked(webhook);
      report.skipped += n;
      if (n === 0 && (await this.close(webhook))) report.closed++;
      return;
    }
    if (breaker.state === 'releasing') {
      const n = await this.releaseParked(webhook);
      report.released += n;
      if (n > 0) {
        // Mark the release, so the close below waits a tick past the last page: the parked index
        // is eventually consistent, and a record it missed must not be left parked for ever.
        await this.deps.webhooks.setBreaker(webhook.accountId, webhook.webhookId, { ...breaker, probeAt: new Date(now).toISOString() }, { probeAt: breaker.probeAt });
      } else if (now - Date.parse(breaker.probeAt) >= this.deps.everySeconds * 1000 && (await this.close(webhook))) {
        report.closed++;
      }
      return;
    }
    // open, or half-open with its lease run out (the probe was lost): probe when due
    if (Date.parse(breaker.probeAt) > now) return;
    const [oldest] = (await this.deps.deliveries.listParked(webhook.accountId, webhook.webhookId, { limit: 1 })).items;
    if (!oldest) {
      // Nothing parked: nothing waits on the endpoint; the next delivery tries it (and reopens on failure).
      if (await this.close(webhook)) report.closed++;
      return;
    }
    if (!(await this.deps.webhooks.setBreaker(webhook.accountId, webhook.webhookId, probing(breaker, now, this.settings), { probeAt: breaker.probeAt }))) return;
    await this.requeue(oldest, 0, 'probe', 'probe: testing whether the endpoint is back');
    report.probes++;
  }

  /** Up to `releasePerSecond × everySeconds` parked deliveries, queued with delays spreading them over the tick. */
  private async releaseParked(webhook: Webhook): Promise<number> {
    const { releasePerSecond } = this.settings;
    const limit = Math.max(1, Math.floor(releasePerSecond * this.deps.everySeconds));
    const { items } = await this.deps.deliveries.listParked(webhook.accountId, webhook.webhookId, { limit });
    let i = 0;
    for (const record of items) {
      const delaySeconds = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.floor(i++ / releasePerSecond));
      await this.requeue(record, delaySeconds, 'retry', 'released: the endpoint recovered');
    }
    return items.length;
  }

  private async skipParked(webhook: Webhook): Promise<number> {
    const { items } = await this.deps.deliveries.listParked(webhook.accountId, webhook.webhookId, { limit: 100 });
    for (const record of items) {
      await this.deps.deliveries.write({
        ...recordBase(record),
        status: 'skipped',
        reason: `webhook ${webhook.status}: ${webhook.disabledReason ?? 'disabled'}`,
      });
    }
    return items.length;
  }

  private async close(webhook: Webhook): Promise<boolean> {
    const breaker = webhook.breaker;
    const closed = await this.deps.webhooks.setBreaker(webhook.accountId, webhook.webhookId, undefined, { probeAt: breaker?.probeAt ?? null });
    // A releasing breaker was announced closed when its probe succeeded (delivery-service.ts).
    if (closed && breaker && breaker.state !== 'releasing') {
      this.deps.metrics.count(METRICS.breakerClosed);
      const reason = webhook.enabled
        ? 'nothing was parked when the probe was due: the next delivery tries the endpoint'
        : `webhook ${webhook.status}: its parked deliveries were recorded skipped (recoverable)`;
      await this.announce.breakerClosed(webhook, breaker, reason);
    }
    return closed;
  }

  /**
   * The `due` index up to now: a record whose due time is still ahead was waiting longer than a
   * queue delay allows and is queued now with the rest of its wait; one already past its due time
   * by `overdueAfterMs` lost its queue message and is re-queued at once (OverdueDeliveries).
   */
  private async sweepDue(): Promise<{ queued: number; overdue: number }> {
    const now = this.deps.clock.now();
    const due = await this.deps.deliveries.listDue(new Date(now).toISOString(), DUE_PER_TICK);
    let overdue = 0;
    for (const record of due) {
      const dueAt = record.nextAttemptAt ? Date.parse(record.nextAttemptAt) : now;
      if (now - dueAt >= this.settings.overdueAfterMs) {
        overdue++;
        this.deps.log.warn('pending delivery past its due time: re-queued', { webhookId: record.webhookId, deliveryId: record.deliveryId, due: record.nextAttemptAt });
      }
      await this.requeue(record, hopDelaySeconds(dueAt, now), 'retry', record.reason ?? 'retry');
    }
    if (overdue > 0) this.deps.metrics.count(METRICS.overdue, overdue);
    return { queued: due.length - overdue, overdue };
  }

  /** Queues a recorded delivery (same id, its retry index) and records it pending, unparked. */
  private async requeue(record: DeliveryRecord, delaySeconds: number, trigger: DeliveryJob['trigger'], reason: string): Promise<void> {
    if (record.payload === undefined) return; // nothing to send (a test send's record): never parked or queued
    const job: DeliveryJob = { ...recordBase(record), payload: record.payload, retryIndex: record.retryIndex ?? 0, trigger };
    const dueAt = this.deps.clock.now() + delaySeconds * 1000;
    await this.deps.retryQueue.enqueue(toMessage(job, dueAt), delaySeconds);
    await this.deps.deliveries.write({
      ...recordBase(record),
      status: 'pending',
      nextAttemptAt: new Date(dueAt).toISOString(),
      sweepAt: new Date(dueAt + this.settings.overdueAfterMs).toISOString(),
      retryIndex: job.retryIndex,
      reason,
    });
  }
}
