import { z } from 'zod';
import { ERROR_CODES, EVENT_TYPES } from '../shared/contract';
import type { DeliveryRecord, Webhook } from '../shared/domain/model';
import type { SecretInfo, TestResult } from '../shared/domain/webhook-service';

/**
 * The response schemas of the management API, the query parameters, and the mapping from
 * domain objects to response JSON. The OpenAPI document (openapi.ts) is generated from these
 * and from the request schemas (domain/webhook-schemas.ts); the tests validate every response
 * against that document.
 */

/** Responses carry `Date#toISOString()` values; documented as `format: date-time`. */
const timestamp = z.string().meta({ format: 'date-time' });
const eventType = z.enum(EVENT_TYPES);

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
    trigger: z.enum(['event', 'retry', 'manual', 'test', 'probe']),
    ok: z.boolean(),
    statusCode: z.number().int().optional(),
    durationMs: z.number().int().min(0),
    error: z.string().optional(),
    errorKind: z.string().optional().meta({ description: '`http`, `timeout`, `connect`, `reset`, `ssrf`, `policy` or `other`.' }),
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
    nextAttemptAt: timestamp.optional(),
    lastStatusCode: z.number().int().optional(),
    lastError: z.string().optional(),
    reason: z.string().optional().meta({ description: 'Why the delivery ended failed or skipped.' }),
  })
  .meta({ description: 'One (event, webhook) delivery and its attempts. The payload is not included.' });

export const testResultSchema = z
  .object({
    deliveryId: z.string(),
    status: z.enum(['delivered', 'failed']),
    statusCode: z.number().int().optional(),
    durationMs: z.number().int().min(0),
    errorKind: z.string().optional(),
    error: z.string().optional(),
    responseSnippet: z.string().optional(),
  })
  .meta({ description: 'The result of a test send (never retried).' });

export const retryAcceptedSchema = z
  .object({ id: z.string(), status: z.literal('pending') })
  .meta({ description: 'The delivery was queued for one more attempt.' });

export const recoverResultSchema = z
  .object({ count: z.number().int().min(0).meta({ description: 'Deliveries re-queued.' }) })
  .meta({ description: 'How many deliveries were re-queued.' });

const nextCursor = z.string().nullable().meta({ description: 'Pass as `cursor` to get the next page; null on the last page.' });

export const webhookPageSchema = z.object({ items: z.array(webhookSchema), nextCursor }).meta({ description: 'A page of webhooks (creation order).' });
export const deliveryPageSchema = z.object({ items: z.array(deliverySchema), nextCursor }).meta({ description: 'A page of deliveries, newest first.' });


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

export type WebhookJson = z.output<typeof webhookSchema>;
export type DeliveryJson = z.output<typeof deliverySchema>;

export function toWebhookJson(w: Webhook): WebhookJson {
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
    createdAt: w.createdAt,
    updatedAt: w.updatedAt,
  };
}

export function toCreatedJson(w: Webhook): z.output<typeof webhookCreatedSchema> {
  return { ...toWebhookJson(w), secret: w.secret };
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
      ...(a.errorKind !== undefined ? { errorKind: a.errorKind } : {}),
      ...(a.responseSnippet !== undefined ? { responseSnippet: a.responseSnippet } : {}),
    })),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(r.nextAttemptAt !== undefined ? { nextAttemptAt: r.nextAttemptAt } : {}),
    ...(r.lastStatusCode !== undefined ? { lastStatusCode: r.lastStatusCode } : {}),
    ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}

export function toTestResultJson(t: TestResult): z.output<typeof testResultSchema> {
  return { ...t };
}
