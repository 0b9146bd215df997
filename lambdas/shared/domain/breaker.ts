import { DEFAULTS } from '../contract';
import type { Breaker, Webhook } from './model';

/**
 * The per-webhook breaker and lanes (docs/design.md §8), as pure decisions. Where a delivery goes:
 *
 * - `inline`: the fast lane attempts it at once, with a short budget (`inlineTimeoutMs`);
 * - `slow`: the endpoint recently answered too slowly for the fast lane, so the delivery is
 *   handed to the slow lane (the retry queue, shared fairly between webhooks), which attempts it
 *   with the full budget;
 * - `park`: the breaker is open (the endpoint fails or times out): the delivery is kept, pending
 *   with the reason, and sent only after a probe found the endpoint back.
 */

export type Lane = 'inline' | 'slow' | 'park';

export interface BreakerSettings {
  readonly inlineTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly recordMarginMs: number;
  readonly slowHoldMs: number;
  readonly failuresToOpen: number;
  /** A failure run this long opens the breaker whatever the count (several containers each seeing a few). */
  readonly openAfterFailingMs: number;
  readonly probeIntervalMs: number;
  readonly probeMaxIntervalMs: number;
  readonly probeLeaseMs: number;
  readonly releasePerSecond: number;
  readonly rateLimitWaitSeconds: number;
  readonly overdueAfterMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  inlineTimeoutMs: DEFAULTS.inlineTimeoutMs,
  attemptTimeoutMs: DEFAULTS.deliveryTimeoutMs,
  recordMarginMs: DEFAULTS.recordMarginMs,
  slowHoldMs: DEFAULTS.slowHoldMs,
  failuresToOpen: DEFAULTS.breakerFailures,
  openAfterFailingMs: 60_000,
  probeIntervalMs: DEFAULTS.probeIntervalMs,
  probeMaxIntervalMs: DEFAULTS.probeMaxIntervalMs,
  probeLeaseMs: DEFAULTS.probeLeaseMs,
  releasePerSecond: DEFAULTS.releasePerSecond,
  rateLimitWaitSeconds: DEFAULTS.rateLimitWaitSeconds,
  overdueAfterMs: DEFAULTS.overdueAfterMs,
};

/** Whether the breaker keeps deliveries aside (open, or a probe on its way). */
export function isParking(breaker: Breaker | undefined): boolean {
  return breaker?.state === 'open' || breaker?.state === 'half-open';
}

export function laneFor(webhook: Webhook, nowMs: number): Lane {
  if (isParking(webhook.breaker)) return 'park';
  if (webhook.slowUntil && Date.parse(webhook.slowUntil) > nowMs) return 'slow';
  return 'inline';
}

/** The wait before probe number `probes + 1`: the base interval, doubled per failed probe, capped. */
export function probeDelayMs(probes: number, s: BreakerSettings): number {
  return Math.min(s.probeMaxIntervalMs, s.probeIntervalMs * 2 ** Math.min(probes, 20));
}

export function openedBreaker(nowMs: number, reason: string, s: BreakerSettings): Breaker {
  const since = new Date(nowMs).toISOString();
  return { state: 'open', since, reason, probeAt: new Date(nowMs + probeDelayMs(0, s)).toISOString(), probes: 0 };
}

/** A probe failed: open again, with a longer wait before the next one. */
export function afterFailedProbe(b: Breaker, nowMs: number, reason: string, s: BreakerSettings): Breaker {
  const probes = b.probes + 1;
  return { ...b, state: 'open', reason, probes, probeAt: new Date(nowMs + probeDelayMs(probes, s)).toISOString() };
}

/** A probe is on its way: nobody else probes until the lease ends. */
export function probing(b: Breaker, nowMs: number, s: BreakerSettings): Breaker {
  return { ...b, state: 'half-open', probeAt: new Date(nowMs + s.probeLeaseMs).toISOString() };
}

/** The endpoint answered a probe: release what was parked (the reconciler paces it). */
export function releasing(b: Breaker, nowMs: number): Breaker {
  return { ...b, state: 'releasing', reason: 'the endpoint recovered: releasing parked deliveries', probeAt: new Date(nowMs).toISOString() };
}

/** A human sentence for a parked delivery's record. */
export function parkedReason(b: Breaker): string {
  return `parked: the webhook's breaker is open since ${b.since} (${b.reason}); sent once a probe finds the endpoint back`;
}

/**
 * Consecutive failures per webhook seen by this container (a success resets them). Kept in
 * memory: each container opens the breaker on what it sees, and the stored breaker is shared.
 */
export class FailureStreaks {
  private readonly streaks = new Map<string, number>();

  constructor(private readonly maxWebhooks = 10_000) {}

  failed(webhookId: string): number {
    if (this.streaks.size >= this.maxWebhooks && !this.streaks.has(webhookId)) this.streaks.clear();
    const n = (this.streaks.get(webhookId) ?? 0) + 1;
    this.streaks.set(webhookId, n);
    return n;
  }

  succeeded(webhookId: string): void {
    this.streaks.delete(webhookId);
  }
}
