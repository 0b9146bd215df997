import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError, InvalidCursorError } from '../shared/domain/errors';
import type { ApiAccess } from '../shared/domain/api-access';
import { singleAuthorization, singleBearerKey } from '../shared/domain/api-keys';
import type { Webhook } from '../shared/domain/model';
import { readStats } from '../shared/domain/delivery-stats';
import type { Clock, LogSink, PortalSessionStore, StatsStore } from '../shared/domain/ports';
import { parsePortalBearer, portalSessionIdOf, portalSessionRequestSchema, portalUrl } from '../shared/domain/portal-sessions';
import { toFieldIssues } from '../shared/domain/webhook-schemas';
import type { WebhookService } from '../shared/domain/webhook-service';
import { logger } from '../shared/adapters/powertools';
import { errorResponse, headerValue, HttpError, jsonResponse, readJsonBody } from './http';
import { eventTypeListJson } from './event-types';
import { openApiDocument } from './openapi';
import { type Operation, type OperationId, OPERATIONS } from './operations';
import { Router } from './router';
import {
  listDeliveriesQuerySchema,
  listWebhooksQuerySchema,
  statsQuerySchema,
  toCreatedJson,
  toDeliveryJson,
  toRecoveryJson,
  toSecretJson,
  toTestResultJson,
  toWebhookJson,
} from './schemas';

/** What the API handler runs on; `createApiRuntime` (shared/composition/api-runtime.ts) builds it from the environment. */
export interface ApiDependencies {
  readonly webhooks: WebhookService;
  /** Checked on every authenticated request: the key still valid, the account within its rate (a portal session: the rate only). */
  readonly access: Pick<ApiAccess, 'check' | 'checkRate'>;
  readonly log: LogSink;
  /** The statistics table (`GET …/stats`); without one, every count is 0. */
  readonly stats?: StatsStore;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Browser origins allowed to read responses (the dashboard); none = no CORS headers. */
  readonly corsOrigins?: readonly string[];
  /** Where `POST /v1/portal-sessions` stores sessions; without it that route answers 500. */
  readonly portalSessions?: PortalSessionStore;
  /** The dashboard's URL, the base of portal session URLs (a function: known once a local server listens); none = relative URLs. */
  readonly portalUrl?: string | (() => string | undefined);
  /** The clock portal session expiry is checked against. @default Date.now */
  readonly now?: () => number;
}

/**
 * CORS on the function's own responses: a Lambda proxy integration returns only the headers
 * the function sets, so an allowed `Origin` is echoed here (API Gateway answers the preflight).
 */
export function withCors(result: APIGatewayProxyResult, origin: string | undefined, allowed: readonly string[] | undefined): APIGatewayProxyResult {
  if (!origin || !allowed || !allowed.includes(origin)) return result;
  return {
    ...result,
    headers: {
      ...(result.headers ?? {}),
      'access-control-allow-origin': origin,
      'access-control-expose-headers': 'Retry-After, Allow, Location',
      vary: 'Origin',
    },
  };
}

/** One parsed request, as a route handler sees it. */
interface RouteRequest {
  /** The caller's account (from the authorizer); empty on public routes. */
  readonly accountId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
  readonly event: APIGatewayProxyEvent;
  /** A read-only portal session: header values are withheld, like the signing secret. */
  readonly readOnly?: boolean;
}

interface RouteResult {
  readonly status: number;
  readonly body?: unknown;
  /** Response headers beyond the JSON ones (e.g. `location` of a started job). */
  readonly headers?: Readonly<Record<string, string>>;
}

type RouteHandler = (req: RouteRequest) => Promise<RouteResult>;

const UNAUTHORIZED_MESSAGE = 'missing, invalid or revoked API key (Authorization: Bearer <key>)';

const THROTTLING_ERRORS = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled']);

function param(req: RouteRequest, name: string): string {
  return req.params[name] ?? '';
}

function parseQuery<S extends z.ZodType>(schema: S, query: RouteRequest['query']): z.output<S> {
  const result = schema.safeParse(query);
  if (!result.success) throw new ValidationError(toFieldIssues(result.error, query));
  return result.data;
}

function page<T, J>(p: { items: T[]; nextCursor?: string }, map: (item: T) => J) {
  return { items: p.items.map(map), nextCursor: p.nextCursor ?? null };
}

/** The route handlers: parse, call the domain, map the result. Typed so every operation has one. */
function routeHandlers(deps: ApiDependencies): Record<OperationId, RouteHandler> {
  const { webhooks } = deps;
  const webhookJson = (w: Webhook) => toWebhookJson(w, webhooks.health(w));
  // Custom header values are often credentials for the customer's endpoint: a read-only session
  // sees their names only (values ''), as it never sees the signing secret.
  const viewJson = (req: RouteRequest) => (w: Webhook) => {
    const json = webhookJson(w);
    return req.readOnly ? { ...json, headers: Object.fromEntries(Object.keys(json.headers).map((name) => [name, ''])) } : json;
  };
  return {
    listEventTypes: async () => ({ status: 200, body: eventTypeListJson() }),
    createWebhook: async (req) => {
      const created = await webhooks.create(req.accountId, req.body);
      return { status: 201, body: toCreatedJson(created, webhooks.health(created)) };
    },
    listWebhooks: async (req) => {
      const query = parseQuery(listWebhooksQuerySchema, req.query);
      return { status: 200, body: page(await webhooks.list(req.accountId, query), viewJson(req)) };
    },
    getWebhook: async (req) => ({ status: 200, body: viewJson(req)(await webhooks.get(req.accountId, param(req, 'id'))) }),
    updateWebhook: async (req) => ({ status: 200, body: webhookJson(await webhooks.update(req.accountId, param(req, 'id'), req.body)) }),
    deleteWebhook: async (req) => {
      await webhooks.delete(req.accountId, param(req, 'id'));
      return { status: 204 };
    },
    getWebhookSecret: async (req) => ({ status: 200, body: toSecretJson(await webhooks.revealSecret(req.accountId, param(req, 'id'))) }),
    rotateWebhookSecret: async (req) => ({ status: 200, body: toSecretJson(await webhooks.rotateSecret(req.accountId, param(req, 'id'))) }),
    testWebhook: async (req) => ({ status: 200, body: toTestResultJson(await webhooks.sendTest(req.accountId, param(req, 'id'), req.body)) }),
    listDeliveries: async (req) => {
      const query = parseQuery(listDeliveriesQuerySchema, req.query);
      return { status: 200, body: page(await webhooks.listDeliveries(req.accountId, param(req, 'id'), query), toDeliveryJson) };
    },
    retryDelivery: async (req) => {
      const record = await webhooks.retryDelivery(req.accountId, param(req, 'id'), param(req, 'deliveryId'));
      return { status: 202, body: { id: record.deliveryId, status: 'pending' } };
    },
    recoverDeliveries: async (req) => {
      const job = await webhooks.recover(req.accountId, param(req, 'id'), req.body);
      return { status: 202, body: toRecoveryJson(job), headers: { location: `${basePath(req.event)}/v1/webhooks/${encodeURIComponent(job.webhookId)}/recoveries/${job.jobId}` } };
    },
    getRecovery: async (req) => ({ status: 200, body: toRecoveryJson(await webhooks.getRecovery(req.accountId, param(req, 'id'), param(req, 'jobId'))) }),
    getWebhookStats: async (req) => {
      const query = parseQuery(statsQuerySchema, req.query);
      const webhook = await webhooks.get(req.accountId, param(req, 'id')); // 404 for another account's webhook
      const stats = await readStats(deps.stats ?? NO_STATS, req.accountId, webhook.webhookId, query.window, (deps.clock ?? Date).now());
      return { status: 200, body: { webhookId: webhook.webhookId, ...stats } };
    },
    createPortalSession: async (req) => {
      const parsed = portalSessionRequestSchema.safeParse(req.body);
      if (!parsed.success) throw new ValidationError(toFieldIssues(parsed.error, req.body));
      if (!deps.portalSessions) throw new Error('portal sessions are not configured (no API keys table)');
      const session = await deps.portalSessions.create(parsed.data);
      // The token is in the answer only: never in a log line (the session id names it there).
      deps.log.info('portal session created', { sessionId: session.sessionId, accountId: session.accountId, readOnly: session.readOnly, expiresAt: new Date(session.expiresAt).toISOString() });
      return {
        status: 201,
        body: {
          url: portalUrl(typeof deps.portalUrl === 'function' ? deps.portalUrl() : deps.portalUrl, session.token, session.readOnly),
          token: session.token,
          sessionId: session.sessionId,
          accountId: session.accountId,
          readOnly: session.readOnly,
          expiresAt: new Date(session.expiresAt).toISOString(),
        },
      };
    },
    getOpenApi: async (req) => ({ status: 200, body: { ...openApiDocument(), servers: [{ url: basePath(req.event) || '/' }] } }),
  };
}

/** Without a statistics table nothing was counted. */
const NO_STATS: StatsStore = { add: async () => undefined, read: async () => [] };

/**
 * The prefix in front of the API's paths as the client sees them (the stage on an
 * execute-api URL, a base path mapping on a custom domain), so the document's `servers`
 * entry is right wherever it is served.
 */
function basePath(event: APIGatewayProxyEvent): string {
  const full = event.requestContext?.path;
  if (!full || !full.endsWith(event.path)) return '';
  return full.slice(0, full.length - event.path.length).replace(/\/+$/, '');
}

/** What the authorizer put on the request: the account and, for a portal session, its scope and expiry. */
interface Caller {
  readonly accountId: string;
  /** The key's or session's public id (`keyId`): a portal session's must be that of the request's token. */
  readonly sessionId: string;
  /** A portal session (not an API key). */
  readonly portal: boolean;
  readonly readOnly: boolean;
  /** Epoch ms; Infinity for API keys. */
  readonly expiresAt: number;
}

function authorizedCaller(event: APIGatewayProxyEvent): Caller | undefined {
  const authorizer: unknown = event.requestContext?.authorizer;
  if (typeof authorizer !== 'object' || authorizer === null) return undefined;
  const context = authorizer as Record<string, unknown>;
  const accountId = context.accountId;
  if (typeof accountId !== 'string' || accountId.length === 0) return undefined;
  const sessionId = typeof context.keyId === 'string' ? context.keyId : '';
  if (context.scope !== 'portal') return { accountId, sessionId, portal: false, readOnly: false, expiresAt: Infinity };
  const expiresAt = Number(context.expiresAt);
  // A portal context without a valid expiry is refused rather than treated as unlimited.
  return { accountId, sessionId, portal: true, readOnly: context.readOnly !== 'false', expiresAt: Number.isFinite(expiresAt) ? expiresAt : 0 };
}

/** Whether the request's one `Authorization` header holds the portal session the authorizer resolved. */
function isCallersSession(event: APIGatewayProxyEvent, caller: Caller): boolean {
  const token = parsePortalBearer(singleAuthorization(event));
  return token !== undefined && portalSessionIdOf(token) === caller.sessionId;
}

/**
 * Whether API Gateway authorized the request with IAM (SigV4): it then names the caller's ARN in
 * `identity.userArn`, which a client cannot set. A request that went through the key authorizer
 * (an `authorizer` context) never counts, whatever its identity says.
 */
function isPlatformCaller(event: APIGatewayProxyEvent): boolean {
  const authorizer: unknown = event.requestContext?.authorizer;
  if (typeof authorizer === 'object' && authorizer !== null && Object.keys(authorizer).length > 0) return false;
  const arn = event.requestContext?.identity?.userArn;
  return typeof arn === 'string' && arn.startsWith('arn:');
}

/** Maps any error to the JSON error shape; unexpected ones are logged and answered with a generic 500. */
function toErrorResponse(err: unknown, log: LogSink, event: APIGatewayProxyEvent, operationId: string): APIGatewayProxyResult {
  if (err instanceof HttpError) return errorResponse(err);
  if (err instanceof ValidationError) return errorResponse(new HttpError(400, 'validation_error', err.message, err.details));
  if (err instanceof InvalidCursorError) return errorResponse(new HttpError(400, 'validation_error', 'cursor is not valid', [{ path: 'cursor', message: 'is not a cursor this API returned' }]));
  if (err instanceof NotFoundError) return errorResponse(new HttpError(404, 'not_found', err.message));
  if (err instanceof ConflictError) {
    const code = (['webhook_limit_reached', 'concurrent_update', 'not_retryable', 'webhook_disabled'] as const).find((c) => c === err.code) ?? 'concurrent_update';
    return errorResponse(new HttpError(409, code, err.message));
  }
  const name = (err as { name?: string } | null)?.name;
  if (name && THROTTLING_ERRORS.has(name)) {
    log.warn('throttled by a backing service', { operationId, error: name });
    return errorResponse(new HttpError(429, 'rate_limited', 'too many requests; retry later', [], { 'retry-after': '1' }));
  }
  const requestId = event.requestContext?.requestId ?? 'unknown';
  log.error('unexpected error', { operationId, requestId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), stack: err instanceof Error ? err.stack : undefined });
  return errorResponse(new HttpError(500, 'internal_error', `internal error (request id ${requestId})`));
}

/**
 * The request pipeline, without Lambda specifics: route (404/405), account (401), body
 * (413/415/400), then the operation. Every answer is JSON; nothing a client sends produces a 5xx.
 */
export function createApiRequestHandler(deps: ApiDependencies): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const handlers = routeHandlers(deps);
  const router = new Router<Operation>(OPERATIONS.map((op) => ({ method: op.method, path: op.path, value: op })));
  return async (event) => withCors(await route(event), headerValue(event, 'origin'), deps.corsOrigins);

  async function route(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const match = router.match(event.httpMethod ?? '', event.path ?? '');
    if (match.kind === 'not-found') return errorResponse(new HttpError(404, 'not_found', 'no such route'));
    if (match.kind === 'method-not-allowed') {
      return errorResponse(new HttpError(405, 'method_not_allowed', `use ${match.allow.join(', ')} on this path`, [], { allow: match.allow.join(', ') }));
    }
    const op = match.value;
    try {
      let accountId = '';
      let readOnly = false;
      if (op.auth) {
        const caller = authorizedCaller(event);
        if (!caller) throw new HttpError(401, 'unauthorized', UNAUTHORIZED_MESSAGE);
        // API Gateway caches the authorizer's answer: the session's own expiry is checked here.
        if (caller.portal && caller.expiresAt <= (deps.now ?? Date.now)()) throw new HttpError(401, 'unauthorized', 'the portal session has expired; open a new one');
        // The authorizer's answer may be cached (a key revoked since), and may have been given
        // for one of several Authorization headers: the one key of the request must still be
        // the account's. A portal session's token is no key: its one header must name the
        // session the authorizer resolved, and only the account's rate applies (docs/design.md §6).
        const decision = caller.portal
          ? isCallersSession(event, caller)
            ? await deps.access.checkRate(caller.accountId)
            : ({ allowed: false, reason: 'invalid_key' } as const)
          : await deps.access.check(caller.accountId, singleBearerKey(event));
        if (!decision.allowed) {
          if (decision.reason === 'invalid_key') throw new HttpError(401, 'unauthorized', UNAUTHORIZED_MESSAGE);
          throw new HttpError(429, 'rate_limited', 'this account is over its request rate; retry after the number of seconds in Retry-After', [], { 'retry-after': String(decision.retryAfterSeconds) });
        }
        if (caller.readOnly && !('readOnlySafe' in op && op.readOnlySafe)) throw new HttpError(403, 'forbidden', 'this portal session is read-only');
        accountId = caller.accountId;
        readOnly = caller.readOnly;
      }
      if ('platform' in op && op.platform && !isPlatformCaller(event)) {
        throw new HttpError(403, 'forbidden', "this route is for the platform's backend (IAM authorization), not for API keys");
      }
      const body = 'requestBody' in op ? readJsonBody(event) : undefined;
      const result = await handlers[op.operationId]({ accountId, params: match.params, query: event.queryStringParameters ?? {}, body, event, readOnly });
      deps.log.debug('request', { operationId: op.operationId, status: result.status });
      return jsonResponse(result.status, result.body, result.headers);
    } catch (err) {
      return toErrorResponse(err, deps.log, event, op.operationId);
    }
  }
}

/** The API Lambda handler (REST API proxy integration), with the Powertools logger context. */
export function createApiHandler(deps: ApiDependencies) {
  const handle = createApiRequestHandler(deps);
  return middy(async (event: APIGatewayProxyEvent, _context: Context): Promise<APIGatewayProxyResult> => handle(event)).use(
    // Never log the request event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it carries the
    // caller's API key (Authorization) and request bodies (shared-secret header values).
    injectLambdaContext(logger, { resetKeys: true, logEvent: false }),
  );
}
