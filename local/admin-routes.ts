import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { ValidationError } from '../lambdas/shared/domain/errors';
import { errorBody } from '../lambdas/shared/contract';
import type { ApiKeyInfo, ApiKeyStore } from '../lambdas/shared/domain/ports';

/**
 * Local-only admin endpoints for API keys, served by the local runtime (`npm start`) so that
 * `npm run apikey` can mint keys against a running local stack. Never deployed: in AWS the
 * CLI writes the api keys table directly.
 *
 * Contract (JSON in and out, errors in the API's error shape; loopback clients only, anything
 * else gets 404 as if the routes did not exist):
 *
 *   POST   /_local/api-keys              body {"accountId": "acme"}
 *          → 201 {"accountId": "acme", "apiKey": "vwk_…", "keyId": "vwk_AbCd1234"}   (the key, once)
 *          → 400 validation_error (accountId missing or not 1–128 of [A-Za-z0-9_.:@-])
 *   GET    /_local/api-keys?accountId=acme
 *          → 200 {"items": [{"keyId", "accountId", "createdAt", "revoked", "revokedAt"?}]}   (oldest first)
 *   DELETE /_local/api-keys/{keyId}
 *          → 200 {"keyId", "accountId", "createdAt", "revoked": true, "revokedAt"}
 *          → 404 not_found
 *
 * Mount it with `createLocalAdminListener(store)` on a node:http server, or call
 * `createLocalAdminRoutes(store)` with a plain request object.
 */

export const LOCAL_ADMIN_PREFIX = '/_local/api-keys';

export interface LocalAdminRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: string;
  /** The client's address: only loopback clients are served. */
  readonly remoteAddress: string | undefined;
}

export interface LocalAdminResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const json = (statusCode: number, body: unknown): LocalAdminResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const bare = address.replace(/^::ffff:/i, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

function infoJson(info: ApiKeyInfo) {
  return { keyId: info.keyId, accountId: info.accountId, createdAt: info.createdAt, revoked: info.revoked, ...(info.revokedAt ? { revokedAt: info.revokedAt } : {}) };
}

/** The admin routes as a function: a response, or undefined when the path is not one of them. */
export function createLocalAdminRoutes(store: ApiKeyStore): (req: LocalAdminRequest) => Promise<LocalAdminResponse | undefined> {
  return async (req) => {
    if (req.path !== LOCAL_ADMIN_PREFIX && !req.path.startsWith(`${LOCAL_ADMIN_PREFIX}/`)) return undefined;
    if (!isLoopback(req.remoteAddress)) return json(404, errorBody('not_found', 'no such route'));
    const rest = req.path.slice(LOCAL_ADMIN_PREFIX.length).replace(/^\//, '');
    try {
      if (rest === '' && req.method === 'POST') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(req.body || '{}');
        } catch {
          return json(400, errorBody('malformed_json', 'the request body is not valid JSON'));
        }
        const accountId = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).accountId : undefined;
        if (typeof accountId !== 'string') return json(400, errorBody('validation_error', 'accountId is required', [{ path: 'accountId', message: 'is required' }]));
        const created = await store.create(accountId);
        return json(201, { accountId: created.accountId, apiKey: created.apiKey, keyId: created.keyId });
      }
      if (rest === '' && req.method === 'GET') {
        const accountId = req.query.get('accountId');
        if (!accountId) return json(400, errorBody('validation_error', 'accountId is required', [{ path: 'accountId', message: 'is required' }]));
        return json(200, { items: (await store.list(accountId)).map(infoJson) });
      }
      if (rest !== '' && !rest.includes('/') && req.method === 'DELETE') {
        const revoked = await store.revoke({ keyId: decodeURIComponent(rest) });
        return revoked ? json(200, infoJson(revoked)) : json(404, errorBody('not_found', 'no such API key'));
      }
      if (rest.includes('/')) return json(404, errorBody('not_found', 'no such route'));
      return json(405, errorBody('method_not_allowed', rest === '' ? 'use GET or POST on this path' : 'use DELETE on this path'));
    } catch (err) {
      if (err instanceof ValidationError) return json(400, errorBody('validation_error', err.message, err.details));
      return json(500, errorBody('internal_error', 'internal error'));
    }
  };
}

/**
 * The same routes as a node:http listener step: answers and returns true for `/_local/api-keys…`,
 * returns false (untouched) for anything else. Pass the body if the server already read it.
 */
export function createLocalAdminListener(store: ApiKeyStore): (req: IncomingMessage, res: ServerResponse, body?: Buffer) => Promise<boolean> {
  const routes = createLocalAdminRoutes(store);
  return async (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== LOCAL_ADMIN_PREFIX && !url.pathname.startsWith(`${LOCAL_ADMIN_PREFIX}/`)) return false;
    let raw = body;
    if (!raw) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      raw = Buffer.concat(chunks);
    }
    const out = await routes({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: raw.toString('utf8'), remoteAddress: req.socket.remoteAddress });
    if (!out) return false;
    res.writeHead(out.statusCode, out.headers);
    res.end(out.body);
    return true;
  };
}
