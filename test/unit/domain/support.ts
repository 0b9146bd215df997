import { randomUUID } from 'node:crypto';
import type { EventType } from '../../../lambdas/shared/contract';
import { DeliveryService, type DeliveryServiceDeps } from '../../../lambdas/shared/domain/delivery-service';
import type { VisitEvent } from '../../../lambdas/shared/domain/events';
import type { RetryMessage } from '../../../lambdas/shared/domain/messages';
import type { Webhook } from '../../../lambdas/shared/domain/model';
import { createRetryPolicy } from '../../../lambdas/shared/domain/retry-policy';
import { Reconciler } from '../../../lambdas/shared/domain/reconciler';
import { RecoveryService } from '../../../lambdas/shared/domain/recovery-service';
import { WebhookService, type WebhookServiceDeps } from '../../../lambdas/shared/domain/webhook-service';
import { SAMPLE_PAYLOADS } from '../../../lambdas/shared/sample-payloads';
import { DeliveryStats } from '../../../lambdas/shared/domain/delivery-stats';
import { CollectingDeadLetters, CollectingOperationalEvents, CollectingRetryQueue, CountingMetrics, ManualClock, MemoryLog } from '../../../local/harness/fakes';
import { webhookFixture } from '../../../local/harness/webhook-fixture';
import { MemoryDeliveryStore, MemoryRateLimiter, MemoryRecoveryJobStore, MemoryStatsStore, MemoryWebhookStore, ScriptedSender } from '../../helpers/memory-ports';

/** The domain on in-memory ports: every port a test may inspect or script, and both services. */
export function domain(options: { schedule?: number[]; deliveryDeps?: Partial<DeliveryServiceDeps>; webhookDeps?: Partial<WebhookServiceDeps> } = {}) {
  // Starts at the real time: receivers' signature checks allow only a few minutes of skew.
  const clock = new ManualClock(Date.now());
  const webhooks = new MemoryWebhookStore();
  const deliveries = new MemoryDeliveryStore(clock);
  const sender = new ScriptedSender();
  const retryQueue = new CollectingRetryQueue();
  const failed = new CollectingDeadLetters();
  const metrics = new CountingMetrics();
  const log = new MemoryLog();
  const rateLimiter = new MemoryRateLimiter();
  const operational = new CollectingOperationalEvents();
  const statsStore = new MemoryStatsStore();
  const stats = new DeliveryStats(statsStore, log);
  // No jitter: delays are the schedule's own.
  const retryPolicy = createRetryPolicy(options.schedule ?? [60, 300, 1800], () => 0);
  const delivery = new DeliveryService({
    webhooks,
    deliveries,
    sender,
    retryQueue,
    failedSink: failed,
    retryPolicy,
    clock,
    log,
    metrics,
    rateLimiter,
    operationalEvents: operational,
    stats,
    ...options.deliveryDeps,
  });
  const recoveryJobs = new MemoryRecoveryJobStore();
  const recovery = new RecoveryService(deliveries, retryQueue, clock, retryPolicy.maxRetries, recoveryJobs, log);
  const reconciler = new Reconciler({
    webhooks,
    deliveries,
    retryQueue,
    clock,
    log,
    metrics,
    everySeconds: 10,
    recovery,
    operationalEvents: operational,
    ...(options.deliveryDeps?.settings ? { settings: options.deliveryDeps.settings } : {}),
  });
  const management = new WebhookService({
    store: webhooks,
    deliveries,
    recovery,
    sender,
    clock,
    // Every name resolves to a public documentation-range address unless a test says otherwise.
    resolver: async () => [{ address: '93.184.216.34', family: 4 }],
    allowHttp: false,
    allowPrivateTargets: false,
    ...options.webhookDeps,
  });
  /** Puts an enabled webhook of `accountId` at `url` (https) and returns it. */
  const hook = (accountId: string, url: string, partial: Partial<Webhook> = {}): Webhook => {
    // Ids as the service mints them (`wh_` + alphanumerics), so management operations find them.
    const w = webhookFixture({ accountId, url, webhookId: `wh_${randomUUID().replace(/-/g, '')}`, ...partial }, new Date(clock.now()).toISOString());
    webhooks.put(w);
    return w;
  };
  return { clock, webhooks, deliveries, recoveryJobs, sender, retryQueue, failed, metrics, log, rateLimiter, operational, statsStore, stats, retryPolicy, delivery, recovery, reconciler, management, hook };
}

/** A validated operational event (as parsed from the bus) about `webhookId`. */
export function operationalEvent(accountId: string, webhookId: string, time = Date.parse('2026-01-01T00:00:00Z')): VisitEvent {
  const data = { ...SAMPLE_PAYLOADS.WEBHOOK_BREAKER_OPENED, id: `opev_${randomUUID()}`, accountId, webhookId };
  return { eventId: randomUUID(), eventType: 'WEBHOOK_BREAKER_OPENED', accountId, time, data, body: JSON.stringify(data), aboutWebhookId: webhookId };
}

/** A validated visit event, as the delivery handler hands it to the domain. */
export function visitEvent(accountId: string, eventType: EventType = 'NEW_VISIT', time = Date.parse('2026-01-01T00:00:00Z')): VisitEvent {
  const data = { ...SAMPLE_PAYLOADS[eventType], id: `visit_${randomUUID()}` };
  return { eventId: randomUUID(), eventType, accountId, time, data, body: JSON.stringify(data) };
}

/** Plays the slow lane: runs every queued message (moving the clock to its due time) until none is left or `max` ran. */
export async function runQueued(d: ReturnType<typeof domain>, max = 200): Promise<RetryMessage[]> {
  const ran: RetryMessage[] = [];
  for (let next = d.retryQueue.sent.shift(); next && ran.length < max; next = d.retryQueue.sent.shift()) {
    d.clock.current = Math.max(d.clock.current, next.message.dueAt);
    ran.push(next.message);
    await d.delivery.handleQueued(next.message);
  }
  return ran;
}
