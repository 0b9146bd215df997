import { z } from 'zod';
import { ERROR_CODES, EVENT_TYPES, LIMITS } from '../shared/contract';
import { LATENCY_RELATIVE_ERROR, STATS_WINDOWS } from '../shared/domain/delivery-stats';
import type { AttemptTrigger, DeliveryRecord, Webhook } from '../shared/domain/model';
import type { RecoveryJob, SendResult } from '../shared/domain/ports';
import type { SecretInfo, TestResult, WebhookHealth } from '../shared/domain/webhook-service';

/**
 * The response schemas of the management API, the query parameters, and the mapping from
 * domain objects to response JSON. The OpenAPI document (openapi.ts) is generated from these
 * and from the request schemas (domain/webhook-schemas.ts); the tests validate every response
 * against that document.
 */

/** Responses carry `Date#toISOString()` values; documented as `format: date-time`. */
const timestamp = z.string().meta({ format: 'date-time' });
const eventType = z.enum(EVENT_TYPES);

type ErrorKind = NonNullable<SendResult['errorKind']>;
/** Every kind of failed attempt the sender reports (ports.ts `SendResult.errorKind`). */
const ERROR_KINDS = ['http', 'timeout', 'connect', 'reset', 'ssrf', 'policy', 'queued', 'aborted', 'other'] as const satisfies readonly ErrorKind[];
/** What started an attempt (model.ts `AttemptTrigger`). */
const TRIGGERS = ['event', 'retry', 'manual', 'recover', 'test', 'probe'] as const satisfies readonly AttemptTrigger[];
// Both lists name every member of their union (a new one fails to compile until it is documented).
type Missing<All, Listed> = Exclude<All, Listed> extends never ? true : Exclude<All, Listed>;
const _allErrorKinds: Missing<ErrorKind, (typeof ERROR_KINDS)[number]> = true;
const _allTriggers: Missing<AttemptTrigger, (typeof TRIGGERS)[number]> = true;
void _allErrorKinds;
void _allTriggers;

const errorKindSchema = z.enum(ERROR_KINDS).meta({
  description:
    'Why the attempt failed: `http` (a non-2xx answer), `timeout`, `connect`, `reset`, `ssrf` (the target resolved to a non-public address), `policy` (the URL is not allowed), ' +
    '`queued` (no connection to the endpoint was free in time: the request was never sent), `aborted` (the attempt was interrupted, e.g. by a shutdown: it is sent again) or `other`.',
});

function toErrorKind(kind: string): ErrorKind {
  return (ERROR_KINDS as readonly string[]).includes(kind) ? (kind as ErrorKind) : 'other';
}

export const healthSchema = z
  .object({
    breaker: z.enum(['closed', 'open', 'probing', 'releasing']).meta({
      description:
        'The circuit breaker. `closed`: deliveries flow. `open`: the endpoint kept failing, so new deliveries are paused (kept pending with `parked: true`, never lost) and one test delivery (a probe) is sent at `nextProbeAt`. ' +
        '`probing`: a probe is on its way. `releasing`: a probe succeeded and the paused deliveries are being sent again, at a bounded pace.',
    }),
    since: timestamp.optional().meta({ description: 'When the breaker opened (absent while closed).' }),
    reason: z.string().optional().meta({ description: 'Why the breaker opened, e.g. the last failure (absent while closed).' }),
    nextProbeAt: timestamp.optional().meta({ description: 'While `open`: when the next probe is due.' }),
    slowLaneUntil: timestamp
      .optional()
      .meta({ description: 'The endpoint answered too slowly for the fast lane: until then its deliveries go through the slow lane (a longer timeout, a little later).' }),
  })
  .meta({ description: 'Delivery health (read-only, set by the service).' });

export const webhookSchema = z
  .object({
    id: z.string().meta({ description: 'Webhook id (`wh_…`).', examples: ['wh_0mk2x8a1b3f4c5d6e7f8a9b0'] }),
    name: z.string(),
    url: z.string().meta({ format: 'uri' }),
    eventTypes: z.array(eventType).min(1).meta({ uniqueItems: true }),
    description: z.string(),
    headers: z.record(z.string(), z.string()),
    enabled: z.boolean(),
    status: z.enum(['active', 'disabled', 'auto-disabled']).meta({ description: '`auto-disabled`: the service disabled it (endpoint answered 410, or every delivery failed for days); see `disabledReason`.' }),
    disabledReason: z.string().optional(),
    rateLimit: z
      .number()
      .int()
      .min(LIMITS.rateLimitMin)
      .max(LIMITS.rateLimitMax)
      .optional()
      .meta({ description: 'At most this many deliveries a second (absent: no limit). Deliveries beyond it wait for a later second: they are never dropped or failed.' }),
    filter: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'The payload filter (an EventBridge event pattern over the delivered visit), as it was saved; absent: every event of the subscribed types is delivered.' }),
    health: healthSchema,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ description: 'A webhook (its signing secret is never part of it).' });

export const webhookCreatedSchema = webhookSchema
  .extend({ secret: z.string().meta({ description: 'Signing secret (`whsec_…`); shown here, by `GET …/secret` and on rotation only.' }) })
  .meta({ description: 'The created webhook with its signing secret.' });

export const secretSchema = z
  .object({
    secret: z.string().regex(/^whsec_/).meta({ description: 'Standard Webhooks signing secret: `whsec_` + base64 key.' }),
    previousSecretExpiresAt: timestamp.optional().meta({ description: 'During a rotation: until when the previous secret also signs (a second signature in `webhook-signature`).' }),
  })
  .meta({ description: 'The signing secret.' });

export const attemptSchema = z
  .object({
    at: timestamp,
    trigger: z.enum(TRIGGERS).meta({ description: '`event` (first attempt), `retry` (the schedule), `manual` (a retry you asked for), `recover` (re-queued by a recovery you started), `test` (a test send) or `probe` (the breaker testing the endpoint).' }),
    ok: z.boolean(),
    statusCode: z.number().int().optional(),
    durationMs: z.number().int().min(0),
    error: z.string().optional(),
    errorKind: errorKindSchema.optional(),
    responseSnippet: z.string().optional().meta({ description: 'First bytes of the response body.' }),
  })
  .meta({ description: 'One HTTP attempt.' });

export const deliveryStatusSchema = z.enum(['pending', 'delivered', 'failed', 'skipped']);

export const deliverySchema = z
  .object({
    id: z.string().meta({ description: 'Delivery id: also the `webhook-id` header, stable across retries.' }),
    eventId: z.string(),
    eventType,
    status: deliveryStatusSchema,
    attemptCount: z.number().int().min(0),
    attempts: z.array(attemptSchema).meta({ description: 'Attempts, oldest first.' }),
    createdAt: timestamp,
    updatedAt: timestamp,
    nextAttemptAt: timestamp.optional().meta({ description: 'Of a pending delivery: when its next attempt is due (absent while parked: a parked delivery waits for the endpoint to recover).' }),
    lastStatusCode: z.number().int().optional(),
    lastError: z.string().optional(),
    reason: z.string().optional().meta({ description: 'Why the delivery ended failed or skipped, or why a pending one waits (slow lane, rate limit, paused by the breaker).' }),
    parked: z
      .literal(true)
      .optional()
      .meta({ description: "`true` while the delivery is pending and paused because the webhook's breaker is open (see `reason`): it is sent once a probe finds the endpoint back. Absent otherwise." }),
  })
  .meta({ description: 'One (event, webhook) delivery and its attempts. The payload is not included.' });

export const testResultSchema = z
  .object({
    deliveryId: z.string(),
    status: z.enum(['delivered', 'failed']),
    statusCode: z.number().int().optional(),
    durationMs: z.number().int().min(0),
    errorKind: errorKindSchema.optional(),
    error: z.string().optional(),
    responseSnippet: z.string().optional(),
  })
  .meta({ description: 'The result of a test send (never retried).' });

export const retryAcceptedSchema = z
  .object({ id: z.string(), status: z.literal('pending') })
  .meta({ description: 'The delivery was queued for one more attempt.' });

export const recoveryJobSchema = z
  .object({
    id: z.string().meta({ description: 'Recovery job id: read its progress at `GET /v1/webhooks/{id}/recoveries/{jobId}`.' }),
    status: z.enum(['running', 'done']).meta({ description: '`running` until every failed or skipped delivery since `since` was looked at; then `done`.' }),
    since: timestamp,
    scanned: z.number().int().min(0).meta({ description: 'Failed or skipped deliveries looked at so far.' }),
    requeued: z.number().int().min(0).meta({ description: 'Of those, re-queued by this job (one already re-queued by another job or retry is not counted again).' }),
    unrecoverable: z.number().int().min(0).meta({ description: 'Of those, deliveries whose payload has expired: they cannot be sent again.' }),
    createdAt: timestamp,
    updatedAt: timestamp,
    finishedAt: timestamp.optional(),
  })
  .meta({ description: 'An asynchronous recovery: every failed or skipped delivery since a time, re-queued with the full retry schedule.' });

const nextCursor = z.string().nullable().meta({ description: 'Pass as `cursor` to get the next page; null on the last page.' });

export const webhookPageSchema = z.object({ items: z.array(webhookSchema), nextCursor }).meta({ description: 'A page of webhooks (creation order).' });
export const deliveryPageSchema = z.object({ items: z.array(deliverySchema), nextCursor }).meta({ description: 'A page of deliveries, newest first.' });


export const portalSessionSchema = z
  .object({
    url: z.string().meta({ description: 'Opens Settings → Webhooks for the account, the token in the URL fragment. Relative when the service knows no dashboard URL.' }),
    token: z.string().meta({ description: 'The session token (`vps_…`), shown only here: a bearer token for this API, scoped to the account.' }),
    sessionId: z.string().meta({ description: 'The public id of the session (the token\'s first characters), as logs name it.' }),
    accountId: z.string(),
    readOnly: z.boolean(),
    expiresAt: z.string().meta({ description: 'When the session stops working (ISO 8601).' }),
  })
  .meta({ description: 'A portal session: open `url` (e.g. in an iframe) to show the account\'s webhooks without an API key.' });

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z.array(z.object({ path: z.string().meta({ description: 'The field, e.g. `url`, `headers.Host`, `eventTypes[0]`.' }), message: z.string() })),
    }),
  })
  .meta({ description: 'An error. `details` names each invalid field (empty for other errors).' });

const limit = z.coerce
  .number('limit must be a number')
  .int('limit must be an integer')
  .min(1, 'limit must be between 1 and 100')
  .max(100, 'limit must be between 1 and 100')
  .default(20)
  .meta({ description: 'Page size (1-100).' });
// Cursors are base64url (adapters/dynamo-client.ts `encodeCursor`) of a key of ids at most 512
// characters long: documenting that keeps schema-valid requests inside the platform's URL limits.
const cursor = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[A-Za-z0-9_-]+$/, 'cursor is not a cursor this API returned')
  .optional()
  .meta({ description: '`nextCursor` of the previous page.' });

export const listWebhooksQuerySchema = z.object({ limit, cursor });
export const listDeliveriesQuerySchema = z.object({
  status: deliveryStatusSchema.optional().meta({ description: 'Only deliveries in this status.' }),
  limit,
  cursor,
});

export const statsQuerySchema = z.object({
  window: z
    .enum(STATS_WINDOWS as readonly ['24h', '7d'], `window must be one of ${STATS_WINDOWS.join(', ')}`)
    .default('24h')
    .meta({ description: '`24h`: the last 24 hours by hour (the current hour last); `7d`: the last 7 days by UTC day (today last).' }),
});

const count = (description: string) => z.number().int().min(0).meta({ description });
const statsFields = {
  attempted: count('Attempts made (first attempts, retries, probes and manual retries; test sends excluded). A fast-lane attempt cut at 1.5 s and sent again through the slow lane counts here only.'),
  delivered: count('Attempts that succeeded (a 2xx in time).'),
  failed: count('Attempts that failed (non-2xx, timeout, connection error).'),
  retried: count('Attempts that were not a delivery\'s first (retries, probes, manual retries).'),
  filteredOut: count("Events the webhook's filter rejected: no delivery was made."),
  successRate: z.number().min(0).max(1).nullable().meta({ description: '`delivered / (delivered + failed)`, 4 decimals; null when there was neither.' }),
  latencyMs: z
    .object({
      p50: z.number().min(0).nullable(),
      p95: z.number().min(0).nullable(),
    })
    .meta({
      description: `Median and 95th percentile of successful attempts' durations in ms, from a log-scale histogram: within ±${Math.round(LATENCY_RELATIVE_ERROR * 1000) / 10} % of an observed duration. Null without successful attempts.`,
    }),
};

export const statsBucketSchema = z.object({ start: timestamp.meta({ description: 'Start of the hour (24h) or UTC day (7d).' }), ...statsFields });

export const statsSchema = z
  .object({
    webhookId: z.string(),
    window: z.enum(['24h', '7d']),
    granularity: z.enum(['hour', 'day']),
    from: timestamp.meta({ description: 'Start of the first bucket.' }),
    to: timestamp.meta({ description: 'End of the last bucket (exclusive): the end of the current hour or day.' }),
    totals: z.object(statsFields).meta({ description: 'The whole window.' }),
    buckets: z.array(statsBucketSchema).meta({ description: '24 hours or 7 days, oldest first; a bucket without activity has zeros and nulls.' }),
  })
  .meta({ description: "A webhook's delivery statistics over the window, from counters kept per hour (never a scan of the attempt log)." });

export type WebhookJson = z.output<typeof webhookSchema>;
export type DeliveryJson = z.output<typeof deliverySchema>;

export function toHealthJson(h: WebhookHealth): z.output<typeof healthSchema> {
  return {
    breaker: h.breaker,
    ...(h.since !== undefined ? { since: h.since } : {}),
    ...(h.reason !== undefined ? { reason: h.reason } : {}),
    ...(h.nextProbeAt !== undefined ? { nextProbeAt: h.nextProbeAt } : {}),
    ...(h.slowLaneUntil !== undefined ? { slowLaneUntil: h.slowLaneUntil } : {}),
  };
}

/** A webhook as the API shows it, with its health (WebhookService.health: it depends on the time). */
export function toWebhookJson(w: Webhook, health: WebhookHealth): WebhookJson {
  return {
    id: w.webhookId,
    name: w.name,
    url: w.url,
    eventTypes: [...w.eventTypes],
    description: w.description ?? '',
    headers: { ...(w.headers ?? {}) },
    enabled: w.enabled,
    status: w.status,
    ...(w.disabledReason ? { disabledReason: w.disabledReason } : {}),
    ...(w.rateLimit !== undefined ? { rateLimit: w.rateLimit } : {}),
    ...(w.filter !== undefined ? { filter: JSON.parse(w.filter) as Record<string, unknown> } : {}),
    health: toHealthJson(health),
    createdAt: w.createdAt,
    updatedAt: w.updatedAt,
  };
}

export function toCreatedJson(w: Webhook, health: WebhookHealth): z.output<typeof webhookCreatedSchema> {
  return { ...toWebhookJson(w, health), secret: w.secret };
}

export function toSecretJson(s: SecretInfo): z.output<typeof secretSchema> {
  return { secret: s.secret, ...(s.previousSecretExpiresAt ? { previousSecretExpiresAt: s.previousSecretExpiresAt } : {}) };
}

export function toDeliveryJson(r: DeliveryRecord): DeliveryJson {
  return {
    id: r.deliveryId,
    eventId: r.eventId,
    eventType: r.eventType,
    status: r.status,
    attemptCount: r.attemptCount,
    attempts: r.attempts.map((a) => ({
      at: a.at,
      trigger: a.trigger,
      ok: a.ok,
      ...(a.statusCode !== undefined ? { statusCode: a.statusCode } : {}),
      durationMs: a.durationMs,
      ...(a.error !== undefined ? { error: a.error } : {}),
      ...(a.errorKind !== undefined ? { errorKind: toErrorKind(a.errorKind) } : {}),
      ...(a.responseSnippet !== undefined ? { responseSnippet: a.responseSnippet } : {}),
    })),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(r.nextAttemptAt !== undefined ? { nextAttemptAt: r.nextAttemptAt } : {}),
    ...(r.lastStatusCode !== undefined ? { lastStatusCode: r.lastStatusCode } : {}),
    ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.parked === true && r.status === 'pending' ? { parked: true as const } : {}),
  };
}

export function toTestResultJson(t: TestResult): z.output<typeof testResultSchema> {
  const { errorKind, ...rest } = t;
  return { ...rest, ...(errorKind !== undefined ? { errorKind: toErrorKind(errorKind) } : {}) };
}

export function toRecoveryJson(job: RecoveryJob): z.output<typeof recoveryJobSchema> {
  return {
    id: job.jobId,
    status: job.status,
    since: job.since,
    scanned: job.scanned,
    requeued: job.requeued,
    unrecoverable: job.unrecoverable,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
  };
}
