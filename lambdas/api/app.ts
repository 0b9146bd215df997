import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError, InvalidCursorError } from '../shared/domain/errors';
import type { ApiAccess } from '../shared/domain/api-access';
import { singleBearerKey } from '../shared/domain/api-keys';
import type { Webhook } from '../shared/domain/model';
import { readStats } from '../shared/domain/delivery-stats';
import type { Clock, LogSink, StatsStore } from '../shared/domain/ports';
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
  /** Checked on every authenticated request: the key still valid, the account within its rate. */
  readonly access: Pick<ApiAccess, 'check'>;
  readonly log: LogSink;
  /** The statistics table (`GET …/stats`); without one, every count is 0. */
  readonly stats?: StatsStore;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Browser origins allowed to read responses (the dashboard); none = no CORS headers. */
  readonly corsOrigins?: readonly string[];
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
  return {
    listEventTypes: async () => ({ status: 200, body: eventTypeListJson() }),
    createWebhook: async (req) => {
      const created = await webhooks.create(req.accountId, req.body);
      return { status: 201, body: toCreatedJson(created, webhooks.health(created)) };
    },
    listWebhooks: async (req) => {
      const query = parseQuery(listWebhooksQuerySchema, req.query);
      return { status: 200, body: page(await webhooks.list(req.accountId, query), webhookJson) };
    },
    getWebhook: async (req) => ({ status: 200, body: webhookJson(await webhooks.get(req.accountId, param(req, 'id'))) }),
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

/** The account the authorizer put on the request (`context.accountId`). */
function authorizedAccount(event: APIGatewayProxyEvent): string | undefined {
  const authorizer: unknown = event.requestContext?.authorizer;
  if (typeof authorizer !== 'object' || authorizer === null) return undefined;
  const accountId = (authorizer as Record<string, unknown>).accountId;
  return typeof accountId === 'string' && accountId.length > 0 ? accountId : undefined;
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
      if (op.auth) {
        const account = authorizedAccount(event);
        if (!account) throw new HttpError(401, 'unauthorized', UNAUTHORIZED_MESSAGE);
        // The authorizer's answer may be cached (a key revoked since), and may have been given
        // for one of several Authorization headers: the one key of the request must still be
        // the account's. Then the account's rate (docs/design.md §6).
        const decision = await deps.access.check(account, singleBearerKey(event));
        if (!decision.allowed) {
          if (decision.reason === 'invalid_key') throw new HttpError(401, 'unauthorized', UNAUTHORIZED_MESSAGE);
          throw new HttpError(429, 'rate_limited', 'this account is over its request rate; retry after the number of seconds in Retry-After', [], { 'retry-after': String(decision.retryAfterSeconds) });
        }
        accountId = account;
      }
      const body = 'requestBody' in op ? readJsonBody(event) : undefined;
      const result = await handlers[op.operationId]({ accountId, params: match.params, query: event.queryStringParameters ?? {}, body, event });
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
