import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayTokenAuthorizerEvent,
  Context,
} from 'aws-lambda';
import { authorizationValues, keyIdOf, parseBearer } from '../shared/domain/api-keys';
import type { LogSink, ApiKeyStore, PortalSessionStore } from '../shared/domain/ports';
import { parsePortalBearer } from '../shared/domain/portal-sessions';

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
