import type { z } from 'zod';
import { portalSessionRequestSchema } from '../shared/domain/portal-sessions';
import { eventTypeListSchema } from './event-types';
import { recoverRequestSchema, testRequestSchema, webhookCreateSchema, webhookPatchSchema } from '../shared/domain/webhook-schemas';
import {
  deliveryPageSchema,
  listDeliveriesQuerySchema,
  listWebhooksQuerySchema,
  portalSessionSchema,
  recoveryJobSchema,
  retryAcceptedSchema,
  secretSchema,
  statsQuerySchema,
  statsSchema,
  testResultSchema,
  webhookCreatedSchema,
  webhookPageSchema,
  webhookSchema,
} from './schemas';

/**
 * The operations of the management API as data: the router (app.ts) and the OpenAPI document
 * (openapi.ts) are both built from this list, so a route cannot exist undocumented, nor be
 * documented with another method, path, body, query or status than it has.
 */
export interface OperationSpec {
  readonly operationId: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  /** Needs `Authorization: Bearer <api key or portal session token>` (the authorizer). */
  readonly auth: boolean;
  /**
   * Called by the platform's backend, never by a customer: IAM-authorized (SigV4) in AWS, the
   * local platform token locally; not behind the authorizer (`auth: false`).
   */
  readonly platform?: boolean;
  /** Allowed to a read-only portal session (reads that reveal no secret). @default false */
  readonly readOnlySafe?: boolean;
  /** JSON request body schema (required body). */
  readonly requestBody?: z.ZodType;
  readonly query?: z.ZodObject;
  readonly success: { readonly status: number; readonly description: string; readonly schema?: z.ZodType };
  /** Error statuses this operation can answer (besides 5xx from the platform). */
  readonly errors: readonly number[];
}

const READ = [401, 404, 429, 500] as const;
/** Writes (and the secret) also answer 403 to a read-only portal session. */
const WRITE = [400, 401, 403, 404, 413, 415, 429, 500] as const;
const SECRET = [401, 403, 404, 429, 500] as const;

export const OPERATIONS = [
  {
    operationId: 'listEventTypes',
    method: 'GET',
    path: '/v1/event-types',
    summary: 'List event types',
    description:
      'The event types a webhook can subscribe to, each with its description, the JSON Schema of its deliveries\' body and a sample body. The requests themselves are described in this document\'s `webhooks`.',
    auth: true,
    readOnlySafe: true,
    success: { status: 200, description: 'Every event type.', schema: eventTypeListSchema },
    errors: [401, 429, 500],
  },
  {
    operationId: 'createWebhook',
    method: 'POST',
    path: '/v1/webhooks',
    summary: 'Create a webhook',
    description: 'Creates a webhook and returns it with its signing secret. At most 100 webhooks an account (409).',
    auth: true,
    requestBody: webhookCreateSchema,
    success: { status: 201, description: 'Created; `secret` is shown here, by `GET …/secret` and on rotation only.', schema: webhookCreatedSchema },
    errors: [400, 401, 403, 409, 413, 415, 429, 500],
  },
  {
    operationId: 'listWebhooks',
    method: 'GET',
    path: '/v1/webhooks',
    summary: 'List webhooks',
    auth: true,
    query: listWebhooksQuerySchema,
    readOnlySafe: true,
    success: { status: 200, description: 'A page of webhooks.', schema: webhookPageSchema },
    errors: [400, 401, 429, 500],
  },
  {
    operationId: 'getWebhook',
    method: 'GET',
    path: '/v1/webhooks/{id}',
    summary: 'Get a webhook',
    description: 'The webhook, with its delivery `health`: whether its circuit breaker has paused deliveries, and whether its endpoint is in the slow lane.',
    auth: true,
    readOnlySafe: true,
    success: { status: 200, description: 'The webhook (without its secret).', schema: webhookSchema },
    errors: READ,
  },
  {
    operationId: 'updateWebhook',
    method: 'PATCH',
    path: '/v1/webhooks/{id}',
    summary: 'Edit a webhook',
    description:
      'Changes any of the create fields; absent fields keep their value. `enabled: true` re-enables a disabled or auto-disabled webhook; `rateLimit: null` removes the rate limit and `filter: null` the payload filter. `health` is read-only.',
    auth: true,
    requestBody: webhookPatchSchema,
    success: { status: 200, description: 'The webhook as it is now.', schema: webhookSchema },
    errors: WRITE,
  },
  {
    operationId: 'deleteWebhook',
    method: 'DELETE',
    path: '/v1/webhooks/{id}',
    summary: 'Delete a webhook',
    auth: true,
    success: { status: 204, description: 'Deleted.' },
    errors: SECRET,
  },
  {
    operationId: 'getWebhookSecret',
    method: 'GET',
    path: '/v1/webhooks/{id}/secret',
    summary: 'Reveal the signing secret',
    auth: true,
    success: { status: 200, description: 'The signing secret.', schema: secretSchema },
    errors: SECRET,
  },
  {
    operationId: 'rotateWebhookSecret',
    method: 'POST',
    path: '/v1/webhooks/{id}/secret/rotate',
    summary: 'Rotate the signing secret',
    description: 'Issues a new secret. The previous one keeps signing (a second signature in `webhook-signature`) for 24 hours. No request body.',
    auth: true,
    success: { status: 200, description: 'The new secret and when the previous one stops signing.', schema: secretSchema },
    errors: [401, 403, 404, 409, 429, 500],
  },
  {
    operationId: 'testWebhook',
    method: 'POST',
    path: '/v1/webhooks/{id}/test',
    summary: 'Send a test event',
    description: 'Sends the sample payload of an event type now, signed like any delivery, and returns the attempt. Works on disabled webhooks; never retried.',
    auth: true,
    requestBody: testRequestSchema,
    success: { status: 200, description: 'The attempt (a failed attempt is still a 200).', schema: testResultSchema },
    errors: WRITE,
  },
  {
    operationId: 'listDeliveries',
    method: 'GET',
    path: '/v1/webhooks/{id}/deliveries',
    summary: 'List deliveries (attempt log)',
    auth: true,
    query: listDeliveriesQuerySchema,
    readOnlySafe: true,
    success: { status: 200, description: 'A page of deliveries, newest first.', schema: deliveryPageSchema },
    errors: [400, 401, 404, 429, 500],
  },
  {
    operationId: 'retryDelivery',
    method: 'POST',
    path: '/v1/webhooks/{id}/deliveries/{deliveryId}/retry',
    summary: 'Retry one delivery',
    description: 'Queues one more attempt of a failed, skipped or pending delivery (same `webhook-id`). 409 when it was delivered, or the webhook is disabled. No request body.',
    auth: true,
    success: { status: 202, description: 'Queued.', schema: retryAcceptedSchema },
    errors: [401, 403, 404, 409, 429, 500],
  },
  {
    operationId: 'recoverDeliveries',
    method: 'POST',
    path: '/v1/webhooks/{id}/recover',
    summary: 'Recover failed deliveries since a time',
    description:
      'Starts a recovery job that re-queues every failed or skipped delivery created at or after `since`, with the full retry schedule, and answers 202 with the job ' +
      '(`Location`: where to read its progress). No cap: the job pages through all of them in the background; a small recovery is often `done` in the answer already. ' +
      'Safe to run twice: a delivery is re-queued once however many jobs cover it. 409 when the webhook is disabled.',
    auth: true,
    requestBody: recoverRequestSchema,
    success: { status: 202, description: 'The recovery job, started.', schema: recoveryJobSchema },
    errors: [400, 401, 403, 404, 409, 413, 415, 429, 500],
  },
  {
    operationId: 'getRecovery',
    method: 'GET',
    path: '/v1/webhooks/{id}/recoveries/{jobId}',
    summary: 'Progress of a recovery job',
    auth: true,
    readOnlySafe: true,
    success: { status: 200, description: 'The recovery job.', schema: recoveryJobSchema },
    errors: [401, 404, 429, 500],
  },
  {
    operationId: 'getWebhookStats',
    method: 'GET',
    path: '/v1/webhooks/{id}/stats',
    summary: 'Delivery statistics',
    description:
      'Attempted, delivered, failed, retried and filtered-out deliveries, success rate and p50/p95 latency of successful attempts, over the last 24 hours by hour or the last 7 days by day. Read from counters kept per webhook and hour (updated at most seconds after the attempts).',
    auth: true,
    query: statsQuerySchema,
    readOnlySafe: true,
    success: { status: 200, description: 'The statistics over the window.', schema: statsSchema },
    errors: [400, 401, 404, 429, 500],
  },
  {
    operationId: 'createPortalSession',
    method: 'POST',
    path: '/v1/portal-sessions',
    summary: 'Create a portal session (platform only)',
    description:
      'For the platform\'s backend, never for customers: IAM-authorized (AWS Signature Version 4, `execute-api:Invoke` on this method), not an API key. ' +
      'Returns a URL that opens Settings → Webhooks for `accountId` without an API key, for `ttlSeconds` (default 1 hour, at most 24 hours); `readOnly` sessions get 403 on every change and on the signing secret.',
    auth: false,
    platform: true,
    requestBody: portalSessionRequestSchema,
    success: { status: 201, description: 'The session; `token` and `url` are shown only here.', schema: portalSessionSchema },
    errors: [400, 403, 413, 415, 429, 500],
  },
  {
    operationId: 'getOpenApi',
    method: 'GET',
    path: '/v1/openapi.json',
    summary: 'This OpenAPI document',
    auth: false,
    success: { status: 200, description: 'The OpenAPI 3.1 document.' },
    errors: [429, 500],
  },
] as const satisfies readonly OperationSpec[];

export type Operation = (typeof OPERATIONS)[number];
export type OperationId = Operation['operationId'];

/** Requests the authorizer must let through without a key (API Gateway: no authorizer on these methods). */
export const PUBLIC_OPERATIONS: ReadonlyArray<{ readonly method: string; readonly path: string }> = OPERATIONS.filter((op) => !op.auth && !('platform' in op)).map(
  (op) => ({ method: op.method, path: op.path }),
);

/** Operations only the platform's backend calls (IAM-authorized in AWS; the local platform token locally). */
export const PLATFORM_OPERATIONS: ReadonlyArray<{ readonly method: string; readonly path: string }> = OPERATIONS.filter((op) => 'platform' in op).map((op) => ({
  method: op.method,
  path: op.path,
}));
