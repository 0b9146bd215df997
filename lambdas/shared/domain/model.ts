import { createHash } from 'node:crypto';
import type { EventType } from '../contract';

/** Webhook status as the API shows it. `auto-disabled` is set by the service, never by a user. */
export type WebhookStatus = 'active' | 'disabled' | 'auto-disabled';

/** A webhook as stored (secrets included: never log or return this whole). */
export interface Webhook {
  readonly accountId: string;
  readonly webhookId: string;
  readonly name: string;
  readonly url: string;
  readonly eventTypes: readonly EventType[];
  readonly description: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly enabled: boolean;
  readonly status: WebhookStatus;
  readonly disabledReason?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Current signing secret (`whsec_…`). */
  readonly secret: string;
  /** The secret before the last rotation, still signing until `previousSecretExpiresAt`. */
  readonly previousSecret?: string;
  readonly previousSecretExpiresAt?: string;
  /** Start of the current run of failed deliveries (cleared by any success). */
  readonly failingSince?: string;
  /** At most this many deliveries a second (1 to 1,000); absent: no limit. Deliveries beyond it wait. */
  readonly rateLimit?: number;
  /**
   * The payload filter, an EventBridge event pattern over the delivered body (event-filter.ts),
   * as the JSON text it was validated as; absent: every event of the subscribed types.
   */
  readonly filter?: string;
  /** The circuit breaker, when not closed (docs/design.md §8): deliveries are parked while it is open. */
  readonly breaker?: Breaker;
  /** The endpoint answered too slowly for the fast lane: until then, its deliveries go to the slow lane. */
  readonly slowUntil?: string;
}

/**
 * A webhook's circuit breaker when it is not closed. `open`: deliveries are parked (kept,
 * pending, with the reason) and one probe at a time is due at `probeAt`; `half-open`: a probe
 * is on its way (the lease ends at `probeAt`); `releasing`: the endpoint recovered and the
 * parked deliveries are being released at a bounded pace (new deliveries flow as when closed).
 */
export interface Breaker {
  readonly state: 'open' | 'half-open' | 'releasing';
  readonly since: string;
  readonly reason: string;
  readonly probeAt: string;
  /** Failed probes since the breaker opened (the probe interval backs off with it). */
  readonly probes: number;
  /**
   * Opened by the delivery of an operational event: neither its opening nor its closing is
   * announced as an operational event (no loops; operational-events.ts).
   */
  readonly quiet?: boolean;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'skipped';

/** What started an attempt. */
/** What started an attempt: `recover` = a recovery job (POST …/recover) re-queued it. */
export type AttemptTrigger = 'event' | 'retry' | 'manual' | 'recover' | 'test' | 'probe';

/** One HTTP attempt, as kept in the attempt log (no secrets, no request headers). */
export interface AttemptRecord {
  readonly at: string;
  readonly trigger: AttemptTrigger;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly statusCode?: number;
  readonly errorKind?: string;
  readonly error?: string;
  readonly responseSnippet?: string;
}

/** One (event, webhook) delivery and its attempts. */
export interface DeliveryRecord {
  readonly accountId: string;
  readonly webhookId: string;
  /** Also the `webhook-id` header: stable across every attempt of this (event, webhook). */
  readonly deliveryId: string;
  readonly eventId: string;
  readonly eventType: EventType;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly attempts: readonly AttemptRecord[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly nextAttemptAt?: string;
  readonly lastStatusCode?: number;
  readonly lastError?: string;
  /** The signed body, kept while the delivery may still need to be (re)sent. */
  readonly payload?: string;
  /** Why the delivery ended failed or skipped, or why a pending one waits. */
  readonly reason?: string;
  /** Pending and parked while the webhook's breaker is open: released when the endpoint recovers. */
  readonly parked?: boolean;
  /** Of a pending delivery: the retry index of its next attempt. */
  readonly retryIndex?: number;
  /** Of a pending, unparked delivery: when the due sweep looks at it. */
  readonly sweepAt?: string;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encodeTime(ms: number): string {
  let value = Math.max(0, Math.floor(ms));
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD.charAt(value % 32) + out;
    value = Math.floor(value / 32);
  }
  return out;
}

function encodeBytes(bytes: Buffer, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) out += CROCKFORD.charAt((bytes[i] ?? 0) % 32);
  return out;
}

/**
 * The delivery id of an (event, webhook) pair: `msg_` + the event time (so ids sort by time,
 * newest first with a reverse query) + a hash of the pair (so every retry and every
 * redelivery of the event derives the same id, the receiver's dedupe key).
 */
export function deliveryIdFor(eventTimeMs: number, eventId: string, webhookId: string): string {
  const hash = createHash('sha256').update(eventId).update('\n').update(webhookId).digest();
  return `msg_${encodeTime(eventTimeMs)}${encodeBytes(hash, 16)}`;
}

/** The event time (epoch ms) a delivery id starts with; NaN for anything else. */
export function deliveryIdTime(deliveryId: string): number {
  if (!deliveryId.startsWith('msg_') || deliveryId.length < 14) return Number.NaN;
  let value = 0;
  for (const char of deliveryId.slice(4, 14)) {
    const digit = CROCKFORD.indexOf(char);
    if (digit < 0) return Number.NaN;
    value = value * 32 + digit;
  }
  return value;
}

/** The smallest delivery id at or after a time: the lower bound of "recover since T". */
export function deliveryIdLowerBound(timeMs: number): string {
  return `msg_${encodeTime(timeMs)}`;
}

/** Whether a webhook should receive an event of this type right now. */
export function isSubscribed(webhook: Webhook, eventType: EventType): boolean {
  return webhook.eventTypes.includes(eventType);
}
