/**
 * A small client for the management API (docs/design.md §6). Every call sends the API key as a
 * bearer token; every failure becomes an {@link ApiError} carrying the API's error code and
 * field details, so the views can show them next to the fields they name.
 */
import type { EventType } from '../../lambdas/shared/contract';
import type { CreatedWebhook, Delivery, DeliveryStatus, FieldIssue, Page, RecoveryJob, SecretInfo, StatsWindow, TestResult, Webhook, WebhookInput, WebhookStats } from './types';

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
export function normalizeApiBase(configured: string | undefined | null): string {
  const trimmed = (configured ?? '').trim().replace(/\/+$/, '');
  return trimmed.replace(/\/v1$/, '');
}

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
  listWebhooks(cursor?: string | null, limit?: number): Promise<Page<Webhook>>;
  getWebhook(id: string): Promise<Webhook>;
  createWebhook(input: WebhookInput): Promise<CreatedWebhook>;
  updateWebhook(id: string, patch: Partial<WebhookInput>): Promise<Webhook>;
  deleteWebhook(id: string): Promise<void>;
  getSecret(id: string): Promise<SecretInfo>;
  rotateSecret(id: string): Promise<SecretInfo>;
  sendTest(id: string, eventType: EventType): Promise<TestResult>;
  listDeliveries(id: string, query?: DeliveryQuery): Promise<Page<Delivery>>;
  retryDelivery(id: string, deliveryId: string): Promise<{ id: string; status: 'pending' }>;
  recover(id: string, since: string): Promise<RecoveryJob>;
  getRecovery(id: string, jobId: string): Promise<RecoveryJob>;
  getStats(id: string, window: StatsWindow): Promise<WebhookStats>;
}

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export function createApiClient(base: string, apiKey: string, fetchImpl: Fetch = (input, init) => fetch(input, init)): ApiClient {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetchImpl(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch {
      throw new ApiError(0, 'network_error', 'Could not reach the API. Check your connection and try again.');
    }
    const text = await response.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text) as unknown;
      } catch {
        json = undefined;
      }
    }
    if (!response.ok) throw toApiError(response.status, json);
    return json as T;
  }
  const id = encodeURIComponent;
  const query = (params: Record<string, string | number | null | undefined>) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
    const s = search.toString();
    return s ? `?${s}` : '';
  };

  return {
    listWebhooks: (cursor, limit = 100) => call('GET', `/v1/webhooks${query({ limit, cursor })}`),
    getWebhook: (webhookId) => call('GET', `/v1/webhooks/${id(webhookId)}`),
    createWebhook: (input) => call('POST', '/v1/webhooks', input),
    updateWebhook: (webhookId, patch) => call('PATCH', `/v1/webhooks/${id(webhookId)}`, patch),
    deleteWebhook: (webhookId) => call('DELETE', `/v1/webhooks/${id(webhookId)}`),
    getSecret: (webhookId) => call('GET', `/v1/webhooks/${id(webhookId)}/secret`),
    rotateSecret: (webhookId) => call('POST', `/v1/webhooks/${id(webhookId)}/secret/rotate`),
    sendTest: (webhookId, eventType) => call('POST', `/v1/webhooks/${id(webhookId)}/test`, { eventType }),
    listDeliveries: (webhookId, q = {}) => call('GET', `/v1/webhooks/${id(webhookId)}/deliveries${query({ limit: q.limit, cursor: q.cursor, status: q.status })}`),
    retryDelivery: (webhookId, deliveryId) => call('POST', `/v1/webhooks/${id(webhookId)}/deliveries/${id(deliveryId)}/retry`),
    recover: (webhookId, since) => call('POST', `/v1/webhooks/${id(webhookId)}/recover`, { since }),
    getRecovery: (webhookId, jobId) => call('GET', `/v1/webhooks/${id(webhookId)}/recoveries/${id(jobId)}`),
    getStats: (webhookId, window) => call('GET', `/v1/webhooks/${id(webhookId)}/stats${query({ window })}`),
  };
}
