import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { createApiHandler } from '../../lambdas/api/app';
import { ENV, GATEWAY_ERROR_RESPONSES } from '../../lambdas/shared/contract';
import { openApiDocument } from '../../lambdas/api/openapi';
import { type Operation, OPERATIONS } from '../../lambdas/api/operations';
import { Router } from '../../lambdas/api/router';
import { type ApiRuntimeOptions, createApiRuntime } from '../../lambdas/shared/composition/api-runtime';
import { createAuthorizerHandler } from '../../lambdas/authorizer/app';
import { DynamoApiKeyStore } from '../../lambdas/shared/adapters/dynamo-api-key-store';
import { DynamoPortalSessionStore } from '../../lambdas/shared/adapters/dynamo-portal-session-store';
import type { DeliveryRuntime } from '../../lambdas/shared/composition/delivery-runtime';
import type { LookupAddress } from 'node:dns';
import { lambdaContext } from '../../local/lambda-events';
import { type Harness, startHarness } from '../../local/harness/harness';
import type { Resolver } from '../../lambdas/shared/domain/ports';
import type { ProxyHandler } from '../../local/api-gateway';
import { apiGatewayProxyEvent, type ProxyEventStage } from '../../local/api-gateway-event';

/**
 * Test support for the management API: plays API Gateway (TOKEN authorizer on
 * `Authorization`, its 401 gateway response, Lambda proxy events) in front of the real handler
 * and authorizer, and validates every response against the OpenAPI document.
 */

type JsonObject = Record<string, unknown>;
const DOC_ID = 'https://visit-webhooks.test/openapi.json';

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...(openApiDocument() as unknown as JsonObject), $id: DOC_ID });
const validators = new Map<string, ValidateFunction>();
const router = new Router<Operation>(OPERATIONS.map((op) => ({ method: op.method, path: op.path, value: op })));

function schemaValidator(schema: JsonObject): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    v = typeof schema.$ref === 'string' ? ajv.compile({ $ref: DOC_ID + schema.$ref }) : ajv.compile(schema);
    validators.set(key, v);
  }
  return v;
}

function resolveResponse(response: JsonObject): JsonObject {
  const ref = response.$ref;
  if (typeof ref !== 'string') return response;
  const name = ref.replace('#/components/responses/', '');
  const resolved = openApiDocument().components.responses[name];
  if (!resolved) throw new Error(`dangling response $ref ${ref}`);
  return resolved;
}

/**
 * Throws unless the response is exactly what the OpenAPI document says this method and path
 * answer with this status: documented status, JSON content type, body valid against the schema.
 */
export function assertMatchesOpenApi(method: string, path: string, res: APIGatewayProxyResult): void {
  const match = router.match(method, path);
  let schema: JsonObject | undefined;
  if (match.kind === 'found') {
    const operation = openApiDocument().paths[match.value.path]?.[match.value.method.toLowerCase()] as { responses: Record<string, JsonObject> } | undefined;
    if (!operation) throw new Error(`${method} ${match.value.path} is not in the OpenAPI document`);
    const documented = operation.responses[String(res.statusCode)];
    if (!documented) throw new Error(`${method} ${path} answered ${res.statusCode}, which the OpenAPI document does not list (${Object.keys(operation.responses).join(', ')})`);
    const content = resolveResponse(documented).content as Record<string, { schema: JsonObject }> | undefined;
    if (!content) {
      if (res.body !== '') throw new Error(`${method} ${path} ${res.statusCode} must have no body, got ${res.body}`);
      return;
    }
    schema = content['application/json']?.schema;
  } else {
    // Unknown route (404) or method (405): the API's error shape.
    schema = { $ref: '#/components/schemas/Error' };
  }
  if (!schema) throw new Error('no JSON schema documented');
  const contentType = Object.entries(res.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  if (!String(contentType).startsWith('application/json')) throw new Error(`${method} ${path} ${res.statusCode}: content-type ${String(contentType)}`);
  const validate = schemaValidator(schema);
  const body: unknown = JSON.parse(res.body);
  if (!validate(body)) {
    throw new Error(`${method} ${path} ${res.statusCode} does not match the OpenAPI document: ${ajv.errorsText(validate.errors)}\n${res.body.slice(0, 500)}`);
  }
}

export interface CallOptions {
  /** The API key; sent as `Authorization: Bearer <key>` unless `authorization` is given. */
  readonly key?: string;
  readonly authorization?: string;
  /** JSON-serialized with content-type application/json. */
  readonly body?: unknown;
  /** Sent as is (no content type unless given). */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** Skip the OpenAPI check (for tests of the checker itself). */
  readonly unchecked?: boolean;
  /** The request was IAM-authorized (SigV4) by API Gateway as this caller ARN: the platform's backend. */
  readonly iamCaller?: string;
}

export interface ApiResponse<T = JsonObject> {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: T;
  readonly raw: string;
}

export type { ProxyHandler } from '../../local/api-gateway';

/** The stage the tests' events come from. */
const TEST_STAGE: ProxyEventStage = { accountId: '111122223333', apiId: 'api123', stage: 'test', resourceId: 'res', basePath: '/test' };

export function proxyEvent(method: string, path: string, opts: CallOptions = {}, authorizer: Record<string, string> | null = null): APIGatewayProxyEvent {
  const headers: Record<string, string> = { Host: 'api.example.test', ...(opts.headers ?? {}) };
  const authorization = opts.authorization ?? (opts.key ? `Bearer ${opts.key}` : undefined);
  if (authorization !== undefined) headers.Authorization = authorization;
  let body: string | null = null;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  } else if (opts.rawBody !== undefined) body = opts.rawBody;
  const event = apiGatewayProxyEvent(TEST_STAGE, { method, path, headers, query: opts.query ?? null, body, sourceIp: '198.51.100.7', userAgent: 'jest', authorizer });
  if (opts.iamCaller) event.requestContext.identity.userArn = opts.iamCaller;
  return event;
}

/** A resolver answering from a table (no DNS in tests). */
export function fakeResolver(table: Record<string, string[]>): Resolver {
  return async (hostname) => {
    const addresses = table[hostname.toLowerCase()];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

export interface ApiClient {
  readonly handler: ProxyHandler;
  call<T = JsonObject>(method: string, path: string, opts?: CallOptions): Promise<ApiResponse<T>>;
}

export interface ApiTestContext {
  readonly h: Harness;
  readonly runtime: DeliveryRuntime;
  readonly keys: DynamoApiKeyStore;
  readonly sessions: DynamoPortalSessionStore;
  readonly authorizer: ReturnType<typeof createAuthorizerHandler>;
  /** The API as the harness configures it (http and loopback targets allowed). */
  readonly api: ApiClient;
  /** Another API handler on the same stores, with other options (e.g. production SSRF rules). */
  client(options?: ApiRuntimeOptions, runtime?: DeliveryRuntime): ApiClient;
  /** Mints a key for an account. */
  keyFor(accountId: string): Promise<string>;
  close(): Promise<void>;
}

export async function startApi(): Promise<ApiTestContext> {
  const h = await startHarness();
  const runtime = h.runtime();
  const keys = new DynamoApiKeyStore(h.doc, h.tables.apiKeys, () => h.clock.now());
  const sessions = new DynamoPortalSessionStore(h.doc, h.tables.apiKeys, () => h.clock.now());
  const authorizer = createAuthorizerHandler(keys, h.log, sessions);
  const isPublic = (method: string, path: string) => {
    const m = router.match(method, path);
    return m.kind === 'found' && !m.value.auth;
  };

  const client = (options: ApiRuntimeOptions = {}, rt: DeliveryRuntime = runtime): ApiClient => {
    // The suites' requests run on the harness's manual clock, hence in one "second" until a test
    // advances it: a generous per-account rate unless a test's env sets one (test/api/rate-limits.test.ts).
    const env = { [ENV.apiAccountRateLimit]: '100000', ...(options.env ?? h.env) };
    const handler = createApiHandler(createApiRuntime({ ...rt, apiKeys: keys }, { portalSessions: sessions, ...options, env }));
    return {
      handler,
      async call<T>(method: string, path: string, opts: CallOptions = {}): Promise<ApiResponse<T>> {
        let authContext: Record<string, string> | null = null;
        let result: APIGatewayProxyResult | undefined;
        if (!isPublic(method, path)) {
          const authorization = opts.authorization ?? (opts.key ? `Bearer ${opts.key}` : undefined);
          // API Gateway answers 401 itself when the identity source is absent, else asks the authorizer.
          try {
            if (!authorization) throw new Error('Unauthorized');
            const out = await authorizer({ type: 'TOKEN', authorizationToken: authorization, methodArn: `arn:aws:execute-api:us-east-1:111122223333:api123/test/${method}${path}` });
            if (out.policyDocument.Statement[0]?.Effect !== 'Allow') throw new Error('Unauthorized');
            authContext = { ...out.context };
          } catch (err) {
            if ((err as Error).message !== 'Unauthorized') throw err;
            const gw = GATEWAY_ERROR_RESPONSES.UNAUTHORIZED;
            result = { statusCode: gw.statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(gw.body) };
          }
        }
        result ??= await handler(proxyEvent(method, path, opts, authContext), lambdaContext);
        if (!opts.unchecked) assertMatchesOpenApi(method, path, result);
        const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
        return { status: result.statusCode, headers, body: (result.body ? JSON.parse(result.body) : undefined) as T, raw: result.body };
      },
    };
  };

  return {
    h,
    runtime,
    keys,
    sessions,
    authorizer,
    api: client(),
    client,
    keyFor: async (accountId) => (await keys.create(accountId)).apiKey,
    close: () => h.close(),
  };
}

/** A valid create body. */
export function webhookBody(url: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'CRM', url, eventTypes: ['NEW_VISIT'], ...overrides };
}
