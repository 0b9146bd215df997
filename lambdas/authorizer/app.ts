import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayTokenAuthorizerEvent,
  Context,
} from 'aws-lambda';
import { keyIdOf, parseBearer } from '../shared/domain/api-keys';
import type { LogSink, ApiKeyStore, PortalSessionStore } from '../shared/domain/ports';
import { isWellFormedPortalToken } from '../shared/domain/portal-sessions';

/**
 * What the API handler reads from `event.requestContext.authorizer`. A portal session adds
 * `scope: 'portal'`, `readOnly` ('true' or 'false') and `expiresAt` (epoch ms): API Gateway
 * caches this answer for a while, so the handler itself refuses a session past its expiry.
 */
export interface ApiAuthorizerContext {
  readonly accountId: string;
  readonly keyId: string;
  readonly [key: string]: string;
}

export type AuthorizerEvent = APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent;

/**
 * Every `Authorization` value a REQUEST event carries, whatever the letter case of the header
 * name: `multiValueHeaders` holds each value the client sent (`headers` only the last one).
 */
export function authorizationValues(event: Pick<APIGatewayRequestAuthorizerEvent, 'headers' | 'multiValueHeaders'>): string[] {
  const multi: string[] = [];
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) if (name.toLowerCase() === 'authorization' && values) multi.push(...values);
  const single: string[] = [];
  for (const [name, value] of Object.entries(event.headers ?? {})) if (name.toLowerCase() === 'authorization' && value !== undefined) single.push(value);
  // Whichever map saw more: two spellings in `headers` are two values even if `multiValueHeaders` is empty.
  return multi.length >= single.length ? multi : single;
}

/**
 * The one `Authorization` header of either authorizer event type; undefined when absent or
 * sent more than once (which key would be meant is ambiguous, and API Gateway's cache key
 * might be another value than the one checked here).
 */
function authorizationOf(event: AuthorizerEvent): string | undefined {
  if (event.type === 'TOKEN') return event.authorizationToken;
  const values = authorizationValues(event);
  return values.length === 1 && values[0] ? values[0] : undefined;
}

/**
 * `arn:aws:execute-api:region:account:apiId/stage/*`: the whole API of this stage. API Gateway
 * caches an authorizer's policy per identity and reuses it for every route, so a policy that
 * named only the first route would deny the key's next, different request.
 */
export function stageWildcardArn(methodArn: string): string {
  // arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{path…}
  const slash = methodArn.indexOf('/');
  if (slash < 0) return methodArn;
  const stage = methodArn.slice(slash + 1).split('/')[0] ?? '';
  return `${methodArn.slice(0, slash)}/${stage}/*`;
}

/** The portal session token of an `Authorization: Bearer vps_…` value, if it has that shape. */
function parsePortalBearer(header: string | undefined): string | undefined {
  const token = header ? /^Bearer[ ]+(\S+)[ ]*$/i.exec(header)?.[1] : undefined;
  return token && isWellFormedPortalToken(token) ? token : undefined;
}

/**
 * The account of an `Authorization: Bearer <key>` value, or undefined (unknown, malformed,
 * revoked); with a session store, a `vps_` portal session token too (unknown or expired: undefined).
 */
export async function resolveBearer(
  keys: Pick<ApiKeyStore, 'resolve'>,
  authorization: string | undefined,
  sessions?: Pick<PortalSessionStore, 'resolve'>,
): Promise<ApiAuthorizerContext | undefined> {
  const apiKey = parseBearer(authorization);
  if (apiKey) {
    const accountId = await keys.resolve(apiKey);
    return accountId ? { accountId, keyId: keyIdOf(apiKey) } : undefined;
  }
  const token = sessions ? parsePortalBearer(authorization) : undefined;
  if (!token || !sessions) return undefined;
  const session = await sessions.resolve(token);
  if (!session) return undefined;
  return { accountId: session.accountId, keyId: session.sessionId, scope: 'portal', readOnly: String(session.readOnly), expiresAt: String(session.expiresAt) };
}

/**
 * The Lambda authorizer: hashes the bearer key, looks the hash up, and either allows the whole
 * stage with `context.accountId` (what the API handler scopes every request to) or throws
 * `Unauthorized`, which API Gateway answers with 401. Accepts TOKEN events (identity source
 * `method.request.header.Authorization`) and REQUEST events (the same header, any letter case;
 * an event carrying it more than once is refused).
 */
export function createAuthorizerHandler(keys: Pick<ApiKeyStore, 'resolve'>, log?: LogSink, sessions?: Pick<PortalSessionStore, 'resolve'>) {
  return async (event: AuthorizerEvent, _context?: Context): Promise<APIGatewayAuthorizerResult & { context: ApiAuthorizerContext }> => {
    const found = await resolveBearer(keys, authorizationOf(event), sessions);
    if (!found) {
      log?.info('api key refused');
      throw new Error('Unauthorized');
    }
    return {
      principalId: found.accountId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stageWildcardArn(event.methodArn) }],
      },
      context: found,
    };
  };
}
