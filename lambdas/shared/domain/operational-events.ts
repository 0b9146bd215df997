import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import { type EventType, isOperationalEventType, isVisitEventType, METRICS, type OperationalEventType, VISIT_EVENT_TYPES } from '../contract';
import type { Breaker, Webhook } from './model';
import type { Clock, LogSink, MetricSink, OperationalEventSink } from './ports';

/**
 * Operational events (docs/design.md §8, "Operational events"): the service tells the platform,
 * and the account's own subscribed webhooks, when a webhook is auto-disabled, when a delivery
 * exhausts its retries, and when a webhook's breaker opens and closes.
 *
 * On the bus an operational event is `{source: <operational source>, detail-type: <type>,
 * detail: {accountId, data}}`, the same envelope as a visit, so the events queue's consumer
 * delivers it to the account's subscribed webhooks like a visit: `data` is the body they receive
 * (signed, `X-Webhook-Event` = the type). `operationalEventSchema` below is that `data`; its JSON
 * Schema is docs/operational-event.schema.json (test/unit/operational-events.test.ts keeps the two equal).
 *
 * No loops: an operational event is announced only for a transition caused by the delivery of a
 * visit. What the delivery of an operational event causes (its exhaustion, the breaker it opens,
 * the disable it triggers) is logged and counted like any other, but never announced, so an
 * operational event can never lead to another. A breaker opened silently also closes silently
 * (`Breaker.quiet`), so no `WEBHOOK_BREAKER_CLOSED` arrives without its `WEBHOOK_BREAKER_OPENED`.
 * An operational event is never delivered to the webhook it is about.
 */

const text = z.string();
const common = {
  /** Unique per event (`opev_…`): the receiver's dedupe key with `webhook-id`. */
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  /** When the service saw the transition (ISO 8601). */
  time: text,
  accountId: z.string().check(z.minLength(1), z.maxLength(128)),
  /** The webhook the event is about (it never receives this event itself). */
  webhookId: z.string().check(z.minLength(1), z.maxLength(128)),
  webhookName: text,
  /** A sentence: why the transition happened. */
  reason: text,
};

export const webhookAutoDisabledSchema = z.looseObject({ ...common, type: z.literal('WEBHOOK_AUTO_DISABLED') });

export const deliveryExhaustedSchema = z.looseObject({
  ...common,
  type: z.literal('DELIVERY_EXHAUSTED'),
  /** The delivery (`webhook-id` of its attempts): recoverable with `POST …/deliveries/{id}/retry`. */
  deliveryId: text,
  /** The event the delivery carried. */
  eventId: text,
  eventType: z.enum(VISIT_EVENT_TYPES),
  /** Attempts made, the last included. */
  attempts: z.number().check(z.int(), z.minimum(1)),
  lastStatusCode: z.optional(z.number().check(z.int())),
});

export const breakerOpenedSchema = z.looseObject({
  ...common,
  type: z.literal('WEBHOOK_BREAKER_OPENED'),
  /** When the first probe is due: deliveries are parked until a probe finds the endpoint back. */
  nextProbeAt: text,
});

export const breakerClosedSchema = z.looseObject({
  ...common,
  type: z.literal('WEBHOOK_BREAKER_CLOSED'),
  /** When the breaker had opened. */
  openedAt: text,
});

/** The `data` of an operational event: the body a subscribed webhook receives. */
export const operationalEventSchema = z.discriminatedUnion('type', [webhookAutoDisabledSchema, deliveryExhaustedSchema, breakerOpenedSchema, breakerClosedSchema]);
export type OperationalEvent = z.infer<typeof operationalEventSchema>;

/** The schema's types are exactly the contract's OPERATIONAL_EVENT_TYPES (a compile-time check). */
type SameTypes = [OperationalEvent['type']] extends [OperationalEventType] ? ([OperationalEventType] extends [OperationalEvent['type']] ? true : false) : false;
export const SCHEMA_COVERS_EVERY_TYPE: SameTypes = true;


/** Whether a transition caused by delivering an event of this type is announced: visits yes, operational events never. */
export function announces(cause: EventType): boolean {
  return !isOperationalEventType(cause);
}

/**
 * Announces operational events for the delivery domain and the reconciler. `cause` is the event
 * type of the delivery whose attempt caused the transition: an operational one announces nothing.
 * Never throws: a failure to publish is logged with the whole event (an operator can put it
 * again) and counted (`OperationalEventNotPublished`, alarmed); the delivery goes on as if it had
 * been published. The sink retries what EventBridge rejects.
 */
export class OperationalEvents {
  constructor(
    private readonly deps: { readonly sink?: OperationalEventSink | undefined; readonly clock: Clock; readonly log: LogSink; readonly metrics: MetricSink },
  ) {}

  autoDisabled(webhook: Webhook, reason: string, cause: EventType): Promise<void> {
    if (!announces(cause)) return this.silent('WEBHOOK_AUTO_DISABLED', webhook);
    return this.publish({ ...this.common(webhook, reason), type: 'WEBHOOK_AUTO_DISABLED' });
  }

  exhausted(webhook: Webhook, delivery: { readonly deliveryId: string; readonly eventId: string; readonly eventType: EventType; readonly attempts: number; readonly lastStatusCode?: number | undefined }, reason: string): Promise<void> {
    const eventType = delivery.eventType;
    if (!isVisitEventType(eventType)) return this.silent('DELIVERY_EXHAUSTED', webhook);
    return this.publish({
      ...this.common(webhook, reason),
      type: 'DELIVERY_EXHAUSTED',
      deliveryId: delivery.deliveryId,
      eventId: delivery.eventId,
      eventType,
      attempts: delivery.attempts,
      ...(delivery.lastStatusCode !== undefined ? { lastStatusCode: delivery.lastStatusCode } : {}),
    });
  }

  /** After the breaker was stored open; a `quiet` breaker (opened by an operational event's delivery) is not announced. */
  breakerOpened(webhook: Webhook, breaker: Breaker): Promise<void> {
    if (breaker.quiet) return this.silent('WEBHOOK_BREAKER_OPENED', webhook);
    return this.publish({ ...this.common(webhook, breaker.reason), type: 'WEBHOOK_BREAKER_OPENED', nextProbeAt: breaker.probeAt });
  }

  /** After the breaker was stored closed (or releasing); announced only if its opening was. */
  breakerClosed(webhook: Webhook, breaker: Breaker, reason: string): Promise<void> {
    if (breaker.quiet) return this.silent('WEBHOOK_BREAKER_CLOSED', webhook);
    return this.publish({ ...this.common(webhook, reason), type: 'WEBHOOK_BREAKER_CLOSED', openedAt: breaker.since });
  }

  private async silent(type: OperationalEventType, webhook: Webhook): Promise<void> {
    this.deps.log.info('operational event not announced: caused by the delivery of an operational event', { type, webhookId: webhook.webhookId });
  }

  private common(webhook: Webhook, reason: string) {
    return {
      id: `opev_${randomUUID().replace(/-/g, '')}`,
      time: new Date(this.deps.clock.now()).toISOString(),
      accountId: webhook.accountId,
      webhookId: webhook.webhookId,
      webhookName: webhook.name,
      reason,
    };
  }

  private async publish(event: OperationalEvent): Promise<void> {
    const { sink, log, metrics } = this.deps;
    if (!sink) return;
    try {
      await sink.publish([event]);
      log.info('operational event published', { type: event.type, eventId: event.id, webhookId: event.webhookId });
    } catch (err) {
      metrics.count(METRICS.operationalEventNotPublished);
      // The event itself holds no secret (names, ids, reasons): logged whole so it can be put again.
      log.error('operational event could not be published', { event, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
