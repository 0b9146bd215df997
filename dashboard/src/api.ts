/**
 * The dashboard's calls to the management API (docs/design.md §6), made with the typed client
 * (client/index.ts: openapi-fetch on the types generated from the OpenAPI document). Every call
 * sends the API key or portal session token as a bearer token; every failure becomes an
 * {@link ApiError} carrying the API's error code and field details, so the views can show them
 * next to the fields they name.
 */
import { createWebhooksClient, normalizeBaseUrl, type WebhooksClient } from '../../client';
import type { EventType } from '../../lambdas/shared/contract';
import type {
  CreatedWebhook,
  DeliveryPage,
  DeliveryStatus,
  FieldIssue,
  RecoveryJob,
  RetryAccepted,
  SecretInfo,
  StatsWindow,
  TestResult,
  Webhook,
  WebhookInput,
  WebhookPage,
  WebhookPatch,
  WebhookStats,
} from './types';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the API could not be reached. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The API's base URL from configuration: '' (same origin) when unset; trailing slashes and a
 * trailing `/v1` are dropped, so both the stage URL and the `ApiUrl`-style `…/v1` work.
 */
export const normalizeApiBase = normalizeBaseUrl;

function isFieldIssue(value: unknown): value is FieldIssue {
  return typeof value === 'object' && value !== null && typeof (value as FieldIssue).path === 'string' && typeof (value as FieldIssue).message === 'string';
}

/** Turns an error response into an ApiError; tolerates bodies that are not the API's JSON (a proxy's page). */
export function toApiError(status: number, body: unknown): ApiError {
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null) {
    const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
    return new ApiError(
      status,
      typeof code === 'string' ? code : 'http_error',
      typeof message === 'string' ? message : `HTTP ${status}`,
      Array.isArray(details) ? details.filter(isFieldIssue) : [],
    );
  }
  return new ApiError(status, 'http_error', `The API answered HTTP ${status}.`);
}

export interface DeliveryQuery {
  readonly limit?: number;
  readonly cursor?: string | null;
  readonly status?: DeliveryStatus | '';
}

export interface ApiClient {
  listWebhooks(cursor?: string | null, limit?: number): Promise<WebhookPage>;
  getWebhook(id: string): Promise<Webhook>;
  createWebhook(input: WebhookInput): Promise<CreatedWebhook>;
  updateWebhook(id: string, patch: WebhookPatch): Promise<Webhook>;
  deleteWebhook(id: string): Promise<void>;
  getSecret(id: string): Promise<SecretInfo>;
  rotateSecret(id: string): Promise<SecretInfo>;
  sendTest(id: string, eventType: EventType): Promise<TestResult>;
  listDeliveries(id: string, query?: DeliveryQuery): Promise<DeliveryPage>;
  retryDelivery(id: string, deliveryId: string): Promise<RetryAccepted>;
  /** Starts a recovery job (202); follow it with {@link ApiClient.getRecovery}. */
  recover(id: string, since: string): Promise<RecoveryJob>;
  getRecovery(id: string, jobId: string): Promise<RecoveryJob>;
  getStats(id: string, window: StatsWindow): Promise<WebhookStats>;
}

type Fetch = (request: Request) => Promise<Response>;

/** What every openapi-fetch call answers. */
interface Answer<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/** The data of a successful answer; an ApiError otherwise (status 0 when the API was not reached). */
async function unwrap<T>(call: () => Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call();
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the API. Check your connection and try again.');
  }
  if (!answer.response.ok) throw toApiError(answer.response.status, answer.error);
  return answer.data as T;
}

/** Drops the query parameters a caller left empty. */
function present<T extends Record<string, unknown>>(query: T): T {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '')) as T;
}

/** The dashboard's API client for one bearer token (an API key or a portal session token). */
export function createApiClient(base: string, token: string, fetchImpl?: Fetch): ApiClient {
  const api: WebhooksClient = createWebhooksClient({ baseUrl: base, token, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  const path = (id: string) => ({ params: { path: { id } } });
  return {
    listWebhooks: (cursor, limit = 100) => unwrap(() => api.GET('/v1/webhooks', { params: { query: present({ limit, cursor: cursor ?? undefined }) } })),
    getWebhook: (id) => unwrap(() => api.GET('/v1/webhooks/{id}', path(id))),
    createWebhook: (input) => unwrap(() => api.POST('/v1/webhooks', { body: input })),
    updateWebhook: (id, patch) => unwrap(() => api.PATCH('/v1/webhooks/{id}', { ...path(id), body: patch })),
    deleteWebhook: async (id) => {
      await unwrap(() => api.DELETE('/v1/webhooks/{id}', path(id)));
    },
    getSecret: (id) => unwrap(() => api.GET('/v1/webhooks/{id}/secret', path(id))),
    rotateSecret: (id) => unwrap(() => api.POST('/v1/webhooks/{id}/secret/rotate', path(id))),
    sendTest: (id, eventType) => unwrap(() => api.POST('/v1/webhooks/{id}/test', { ...path(id), body: { eventType } })),
    listDeliveries: (id, q = {}) =>
      unwrap(() =>
        api.GET('/v1/webhooks/{id}/deliveries', {
          params: { path: { id }, query: present({ limit: q.limit, cursor: q.cursor ?? undefined, status: q.status === '' ? undefined : q.status }) },
        }),
      ),
    retryDelivery: (id, deliveryId) => unwrap(() => api.POST('/v1/webhooks/{id}/deliveries/{deliveryId}/retry', { params: { path: { id, deliveryId } } })),
    recover: (id, since) => unwrap(() => api.POST('/v1/webhooks/{id}/recover', { ...path(id), body: { since } })),
    getRecovery: (id, jobId) => unwrap(() => api.GET('/v1/webhooks/{id}/recoveries/{jobId}', { params: { path: { id, jobId } } })),
    getStats: (id, window) => unwrap(() => api.GET('/v1/webhooks/{id}/stats', { params: { path: { id }, query: { window } } })),
  };
}
