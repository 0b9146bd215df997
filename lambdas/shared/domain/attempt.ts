import { DELIVERY_HEADERS, type EventType, isReservedHeader, USER_AGENT } from '../contract';
import type { AttemptRecord, AttemptTrigger, Webhook } from './model';
import type { Clock, HttpSender, SendResult } from './ports';
import { secretKey, signatureHeader } from './signing';

/**
 * One attempt: sign a delivery and send it. The only place where the request a receiver gets
 * is made, used by deliveries (delivery-service.ts, which then records the attempt and decides
 * what a failure means) and by test sends (webhook-service.ts) alike.
 */

/** Everything one attempt needs, whether it comes from an event or from the retry queue. */
export interface DeliveryJob {
  readonly accountId: string;
  readonly webhookId: string;
  readonly deliveryId: string;
  readonly eventId: string;
  readonly eventType: EventType;
  /** Event time, ISO: the record's `createdAt`. */
  readonly createdAt: string;
  readonly payload: string;
  /** Index into the retry schedule of the delay to use if this attempt fails. */
  readonly retryIndex: number;
  readonly trigger: AttemptTrigger;
}

/** What one attempt produced: the sender's result and the record kept in the attempt log. */
export interface SentAttempt {
  readonly result: SendResult;
  readonly record: AttemptRecord;
}

/**
 * Signs `job` with the webhook's secret (and its previous secret while a rotation overlaps),
 * sends it, and returns the result with its log record. Never throws for an HTTP outcome.
 */
export async function sendAttempt(
  deps: { readonly sender: HttpSender; readonly clock: Clock },
  webhook: Webhook,
  job: DeliveryJob,
  options: { readonly timeoutMs?: number; readonly queueTimeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<SentAttempt> {
  const now = deps.clock.now();
  const timestamp = Math.floor(now / 1000);
  const keys = [secretKey(webhook.secret)];
  if (webhook.previousSecret && webhook.previousSecretExpiresAt && Date.parse(webhook.previousSecretExpiresAt) > now) {
    keys.push(secretKey(webhook.previousSecret));
  }
  const signature = signatureHeader(keys, job.deliveryId, timestamp, job.payload);
  const result = await deps.sender.send({
    url: webhook.url,
    headers: buildHeaders(webhook, job, timestamp, signature),
    body: job.payload,
    // Webhooks sharing a host take turns on its connections.
    fairnessKey: webhook.webhookId,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.queueTimeoutMs !== undefined ? { queueTimeoutMs: options.queueTimeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { result, record: toAttemptRecord(result, job, deps.clock.now()) };
}

/** The request headers of one attempt (docs/design.md §5). Custom headers cannot override the contract's. */
export function buildHeaders(webhook: Webhook, job: DeliveryJob, timestamp: number, signature: string): Record<string, string> {
  const headers: Record<string, string> = {};
  let legacySignature = signature;
  for (const [name, value] of Object.entries(webhook.headers)) {
    // The customer guide's "shared secret header": a static X-Webhook-Signature replaces the HMAC copy.
    if (name.toLowerCase() === DELIVERY_HEADERS.legacySignature.toLowerCase()) legacySignature = value;
    else if (!isReservedHeader(name)) headers[name] = value;
  }
  return {
    ...headers,
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    [DELIVERY_HEADERS.id]: job.deliveryId,
    [DELIVERY_HEADERS.timestamp]: String(timestamp),
    [DELIVERY_HEADERS.signature]: signature,
    [DELIVERY_HEADERS.legacySignature]: legacySignature,
    [DELIVERY_HEADERS.event]: job.eventType,
  };
}

function toAttemptRecord(result: SendResult, job: DeliveryJob, now: number): AttemptRecord {
  return {
    at: new Date(now).toISOString(),
    trigger: job.trigger,
    ok: result.ok,
    durationMs: result.durationMs,
    ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
    ...(result.errorKind ? { errorKind: result.errorKind } : {}),
    ...(result.error ? { error: result.error } : {}),
    ...(result.responseSnippet ? { responseSnippet: result.responseSnippet } : {}),
  };
}
