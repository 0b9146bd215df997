/**
 * The management API's JSON (docs/design.md §6, GET /v1/openapi.json), as the dashboard reads it.
 * Written by hand rather than imported from the API's zod schemas so the browser bundle stays
 * free of zod; the browser tests run against the real API and catch any drift.
 */
import type { EventType } from '../../lambdas/shared/contract';

export type WebhookStatus = 'active' | 'disabled' | 'auto-disabled';

/** Delivery health, set by the service (read-only). */
export interface WebhookHealth {
  /** `open`: deliveries are paused after repeated failures; `probing`: a test delivery is on its way; `releasing`: paused deliveries are being sent again. */
  readonly breaker: 'closed' | 'open' | 'probing' | 'releasing';
  readonly since?: string;
  readonly reason?: string;
  /** While open: when the next test delivery (probe) is due. */
  readonly nextProbeAt?: string;
  /** The endpoint is slow: its deliveries go through the slow lane until then. */
  readonly slowLaneUntil?: string;
}

export interface Webhook {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly eventTypes: EventType[];
  readonly description: string;
  readonly headers: Record<string, string>;
  readonly enabled: boolean;
  readonly status: WebhookStatus;
  readonly disabledReason?: string;
  /** Deliveries per second (1-1000); absent: no limit. */
  readonly rateLimit?: number;
  /** The payload filter (an EventBridge event pattern over the visit); absent: every event of the subscribed types. */
  readonly filter?: Record<string, unknown>;
  readonly health: WebhookHealth;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface CreatedWebhook extends Webhook {
  readonly secret: string;
}

/** What create and edit send (PATCH sends any subset). */
export interface WebhookInput {
  readonly name: string;
  readonly url: string;
  readonly eventTypes: EventType[];
  readonly description: string;
  readonly headers: Record<string, string>;
  readonly enabled?: boolean;
  /** A number sets the limit; `null` (edit only) removes it; absent: none on create, unchanged on edit. */
  readonly rateLimit?: number | null;
  /** A pattern sets the filter; `null` (edit only) removes it; absent: none on create, unchanged on edit. */
  readonly filter?: Record<string, unknown> | null;
}

export interface SecretInfo {
  readonly secret: string;
  /** During a rotation: until when the previous secret also signs. */
  readonly previousSecretExpiresAt?: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'skipped';

export interface Attempt {
  readonly at: string;
  readonly trigger: 'event' | 'retry' | 'manual' | 'recover' | 'test' | 'probe';
  readonly ok: boolean;
  readonly statusCode?: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly errorKind?: string;
  readonly responseSnippet?: string;
}

export interface Delivery {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: EventType;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  /** Oldest first. */
  readonly attempts: Attempt[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly nextAttemptAt?: string;
  readonly lastStatusCode?: number;
  readonly lastError?: string;
  /** Why it failed or was skipped, or why a pending one waits. */
  readonly reason?: string;
  /** Pending and paused while the webhook's breaker is open. */
  readonly parked?: boolean;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface TestResult {
  readonly deliveryId: string;
  readonly status: 'delivered' | 'failed';
  readonly statusCode?: number;
  readonly durationMs: number;
  readonly errorKind?: string;
  readonly error?: string;
  readonly responseSnippet?: string;
}

/** One entry of an error's `details`: `path` names the field (`url`, `headers.Host`, `eventTypes[0]`). */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** An asynchronous recovery (POST …/recover, GET …/recoveries/{jobId}). */
export interface RecoveryJob {
  readonly id: string;
  readonly status: 'running' | 'done';
  readonly since: string;
  readonly scanned: number;
  readonly requeued: number;
  readonly unrecoverable: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
}

/** One bucket (an hour or a day) of a webhook's delivery statistics (`GET …/stats`). */
export interface StatsCounts {
  readonly attempted: number;
  readonly delivered: number;
  readonly failed: number;
  readonly retried: number;
  readonly filteredOut: number;
  /** delivered / (delivered + failed), 0–1; null without outcomes. */
  readonly successRate: number | null;
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null };
}

export type StatsWindow = '24h' | '7d';

export interface WebhookStats {
  readonly webhookId: string;
  readonly window: StatsWindow;
  readonly granularity: 'hour' | 'day';
  readonly from: string;
  readonly to: string;
  readonly totals: StatsCounts;
  readonly buckets: ReadonlyArray<StatsCounts & { readonly start: string }>;
}
