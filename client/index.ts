/**
 * The management API's typed client, for the platform's backend and the dashboard: types
 * generated from the OpenAPI document (schema.d.ts, `npm run generate:client`) and calls made by
 * openapi-fetch, so a path, parameter, body or response that no longer matches the API is a
 * type error in the caller.
 *
 * ```ts
 * import { createWebhooksClient } from 'visit-webhooks/client';
 * const api = createWebhooksClient({ baseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/api', token: process.env.WEBHOOKS_API_KEY! });
 * const { data, error } = await api.GET('/v1/webhooks/{id}', { params: { path: { id: 'wh_…' } } });
 * ```
 *
 * `POST /v1/portal-sessions` is IAM-authorized: pass a `fetch` that signs each request with
 * SigV4 (service `execute-api`) and no `token`.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { components, operations, paths };

/** The API's JSON shapes by their OpenAPI names: `Schemas['Webhook']`, `Schemas['Delivery']`, … */
export type Schemas = components['schemas'];

export type WebhooksClient = Client<paths>;

export interface WebhooksClientOptions {
  /**
   * The API's base URL: the stage URL (`ApiUrl` output, `…/api`), with or without a trailing
   * `/v1`; '' for the same origin (a browser).
   */
  readonly baseUrl: string;
  /** An API key (`vwk_…`) or a portal session token (`vps_…`), sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** @default globalThis.fetch */
  readonly fetch?: (request: Request) => Promise<Response>;
}

/** The base URL without trailing slashes or a trailing `/v1` (the paths start with `/v1`). */
export function normalizeBaseUrl(configured: string | undefined | null): string {
  return (configured ?? '').trim().replace(/\/+$/, '').replace(/\/v1$/, '');
}

export function createWebhooksClient(options: WebhooksClientOptions): WebhooksClient {
  // Same origin ('') in a browser: the page's origin, so every request URL is absolute.
  const base = normalizeBaseUrl(options.baseUrl);
  const pageOrigin = (globalThis as { location?: { origin?: string } }).location?.origin;
  const baseUrl = base === '' && pageOrigin ? pageOrigin : base;
  return createClient<paths>({
    baseUrl,
    headers: { accept: 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
