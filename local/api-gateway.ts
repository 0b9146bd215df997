import { isUtf8 } from 'node:buffer';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayTokenAuthorizerEvent,
  Context,
} from 'aws-lambda';
import { BEARER_HEADER_PATTERN } from '../lambdas/shared/domain/api-keys';
import { apiGatewayProxyEvent, type ProxyEventStage } from './api-gateway-event';

const BEARER_HEADER = new RegExp(BEARER_HEADER_PATTERN);

/**
 * Plays API Gateway (REST API, Lambda proxy integration with a cached TOKEN authorizer) in
 * front of the very handlers deployed to AWS: a plain HTTP request becomes an
 * `APIGatewayProxyEvent`, the authorizer's policy decides, and its context reaches the API
 * handler as `requestContext.authorizer`.
 */

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
export type TokenAuthorizer = (event: APIGatewayTokenAuthorizerEvent, context: Context) => Promise<APIGatewayAuthorizerResult>;

export interface ApiGatewayOptions {
  readonly handler: ProxyHandler;
  readonly authorizer: TokenAuthorizer;
  /** Paths (exact) that skip the authorizer, e.g. the OpenAPI document. */
  readonly publicPaths: readonly string[];
  /**
   * Paths (exact) of IAM-authorized methods (the platform's `POST /v1/portal-sessions`). Locally,
   * SigV4 is played by `Authorization: Bearer <platformToken>`: with it the request reaches the
   * handler with an IAM caller ARN and no authorizer context; without it API Gateway's 403.
   */
  readonly platformPaths?: readonly string[];
  readonly platformToken?: string;
  /** Authorizer result cache TTL, as the REST API's `resultsCacheTtl`. @default 300 s */
  readonly authorizerCacheSeconds?: number;
  /** Largest request body accepted; API Gateway answers 413 beyond it. */
  readonly maxBodyBytes: number;
}

const context = (name: string): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName: name,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
  memoryLimitInMB: '256',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${name}`,
  logStreamName: 'local',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

/** The IAM caller the local gateway names for requests carrying the platform token. */
export const LOCAL_PLATFORM_ARN = 'arn:aws:iam::000000000000:user/local-platform';

function isPlatformToken(authorizations: readonly string[], token: string | undefined): boolean {
  if (!token || authorizations.length !== 1) return false;
  const given = Buffer.from(authorizations[0] ?? '', 'utf8');
  const expected = Buffer.from(`Bearer ${token}`, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** No stage prefix locally: the API is served at the root, so the full path is the path. */
const LOCAL_STAGE: ProxyEventStage = { accountId: '000000000000', apiId: 'local', stage: 'local', resourceId: 'local', basePath: '' };

function jsonError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message, details: [] } }));
}

export function createApiGateway(options: ApiGatewayOptions) {
  const cache = new Map<string, { expires: number; result: APIGatewayAuthorizerResult }>();
  const ttlMs = (options.authorizerCacheSeconds ?? 300) * 1000;

  /**
   * `identity` is the request's one `Authorization` value (header name in any letter case): the
   * cache key, and what the authorizer sees as its token, so no spelling of the header can reach
   * another key's cached policy. As API Gateway's TOKEN authorizer with `validationRegex`, a
   * value that does not match {@link BEARER_HEADER_PATTERN} is refused without invoking it.
   */
  async function authorize(event: APIGatewayProxyEvent, identity: string): Promise<Record<string, string> | undefined> {
    const now = Date.now();
    let result = cache.get(identity);
    if (!result || result.expires <= now) {
      // API Gateway answers 401 itself when the token is missing or fails the validation expression.
      if (!identity || !BEARER_HEADER.test(identity)) return undefined;
      const authorizerEvent: APIGatewayTokenAuthorizerEvent = {
        type: 'TOKEN',
        methodArn: `arn:aws:execute-api:local:000000000000:local/v1/${event.httpMethod}${event.path}`,
        authorizationToken: identity,
      };
      try {
        result = { expires: now + ttlMs, result: await options.authorizer(authorizerEvent, context('authorizer')) };
      } catch {
        return undefined; // the authorizer's "Unauthorized" is a 401
      }
      if (cache.size > 10_000) cache.clear();
      cache.set(identity, result);
    }
    const allowed = result.result.policyDocument.Statement.some((s) => s.Effect === 'Allow');
    if (!allowed) return undefined;
    return Object.fromEntries(Object.entries(result.result.context ?? {}).map(([k, v]) => [k, String(v)]));
  }

  /** Handles a request under `/v1`; returns false for paths it does not own. */
  return async function route(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://local');
    if (!url.pathname.startsWith('/v1/') && url.pathname !== '/v1') return false;
    if (body.length > options.maxBodyBytes) {
      jsonError(res, 413, 'payload_too_large', `request body larger than ${options.maxBodyBytes} bytes`);
      return true;
    }
    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    const authorizations: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] as string;
      const value = req.rawHeaders[i + 1] as string;
      if (name.toLowerCase() === 'authorization') authorizations.push(value);
      headers[name] = headers[name] !== undefined ? `${headers[name]},${value}` : value;
      (multiValueHeaders[name] ??= []).push(value);
    }
    const query: Record<string, string> = {};
    const multiQuery: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) {
      query[k] = v;
      (multiQuery[k] ??= []).push(v);
    }
    // Bytes that are not UTF-8 would not survive a string: pass them base64-encoded, as API
    // Gateway does for binary payloads, so the handler sees (and refuses) what was sent.
    const binary = body.length > 0 && !isUtf8(body);
    const event = apiGatewayProxyEvent(LOCAL_STAGE, {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers,
      multiValueHeaders,
      query,
      multiValueQuery: multiQuery,
      body: body.length === 0 ? null : binary ? body.toString('base64') : body.toString('utf8'),
      isBase64Encoded: binary,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: req.headers['user-agent'] ?? null,
    });
    if ((options.platformPaths ?? []).includes(url.pathname)) {
      if (!isPlatformToken(authorizations, options.platformToken)) {
        jsonError(res, 403, 'forbidden', "this route is for the platform's backend: IAM authorization (locally: Authorization: Bearer <platform token>)");
        return true;
      }
      event.requestContext.identity.userArn = LOCAL_PLATFORM_ARN;
      event.requestContext.identity.caller = 'local-platform';
    } else if (req.method !== 'OPTIONS' && !options.publicPaths.includes(url.pathname)) {
      // More than one Authorization header (any spellings) is refused before the authorizer and
      // its cache: which key the request means is ambiguous.
      const authContext = authorizations.length > 1 ? undefined : await authorize(event, authorizations[0] ?? '');
      if (!authContext) {
        jsonError(res, 401, 'unauthorized', 'a valid API key is required: Authorization: Bearer <key>');
        return true;
      }
      event.requestContext.authorizer = authContext;
    }
    const result = await options.handler(event, context('api'));
    const outHeaders: Record<string, string | number | boolean | string[]> = { ...(result.headers ?? {}) };
    for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) outHeaders[k] = v.map(String);
    res.writeHead(result.statusCode, outHeaders as Record<string, string>);
    res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
    return true;
  };
}
