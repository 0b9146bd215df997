import { Lazy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { errorBody, GATEWAY_ERROR_RESPONSES } from '../../../lambdas/shared/contract';

/** Headers every gateway response carries, as the API function's own responses do (lambdas/api/http.ts). */
const GATEWAY_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': "'no-store'",
  'X-Content-Type-Options': "'nosniff'",
};

/** The JSON error shape of `lambdas/api/http.ts`, as the body of a gateway response. */
interface GatewayErrorResponse {
  readonly type: apigw.ResponseType;
  /** Omitted to keep API Gateway's own status (the DEFAULT_* families cover several). */
  readonly statusCode?: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Placeholder replaced by a gateway-response variable after `JSON.stringify` (templates allow plain `$context` substitution only, no VTL). */
const GATEWAY_MESSAGE = '__GATEWAY_MESSAGE__';

/**
 * What API Gateway answers itself, before or instead of the API function, in the API's JSON
 * error shape (`{"error":{"code","message","details"}}`).
 */
export const GATEWAY_RESPONSES: readonly GatewayErrorResponse[] = [
  // Missing, malformed, unknown or revoked key: the authorizer throws "Unauthorized" (or the
  // header is absent or fails the authorizer's validation expression, and API Gateway does not
  // even call it). The API function answers the same 401 when the key no longer resolves.
  { type: apigw.ResponseType.UNAUTHORIZED, statusCode: '401', body: JSON.stringify(GATEWAY_ERROR_RESPONSES.UNAUTHORIZED.body) },
  // Only a Deny (or a policy not covering the route) leads here. The authorizer allows the whole
  // stage or refuses, so for a caller this is the same "bad key" as above: 401, as documented.
  { type: apigw.ResponseType.ACCESS_DENIED, statusCode: '401', body: JSON.stringify(GATEWAY_ERROR_RESPONSES.UNAUTHORIZED.body) },
  // A path outside /v1 (every /v1/… request reaches the function, which answers its own 404/405).
  {
    type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    statusCode: String(GATEWAY_ERROR_RESPONSES.MISSING_AUTHENTICATION_TOKEN.statusCode),
    body: JSON.stringify(GATEWAY_ERROR_RESPONSES.MISSING_AUTHENTICATION_TOKEN.body),
  },
  // Stage throttling; `Retry-After` as the function sends on its own 429.
  {
    type: apigw.ResponseType.THROTTLED,
    statusCode: String(GATEWAY_ERROR_RESPONSES.THROTTLED.statusCode),
    body: JSON.stringify(GATEWAY_ERROR_RESPONSES.THROTTLED.body),
    headers: { 'Retry-After': "'1'" },
  },
  // API Gateway's fixed 10 MB payload limit. The function enforces LIMITS.apiBodyMaxBytes (64 KiB)
  // with the same 413 body below that.
  {
    type: apigw.ResponseType.REQUEST_TOO_LARGE,
    statusCode: String(GATEWAY_ERROR_RESPONSES.REQUEST_TOO_LARGE.statusCode),
    body: JSON.stringify(GATEWAY_ERROR_RESPONSES.REQUEST_TOO_LARGE.body),
  },
  // Anything else API Gateway rejects (WAF_FILTERED if a web ACL is attached, …): its status and message, our shape.
  // No code of ERROR_CODES fits all of these; an unknown code sends a client to its generic branch, a wrong one misleads it.
  {
    type: apigw.ResponseType.DEFAULT_4XX,
    body: JSON.stringify({ error: { code: 'request_rejected', message: GATEWAY_MESSAGE, details: [] } }).replace(`"${GATEWAY_MESSAGE}"`, '$context.error.messageString'),
  },
  // Function crash or timeout (502/504), authorizer failure (500): keep the status, never leak details.
  {
    type: apigw.ResponseType.DEFAULT_5XX,
    body: JSON.stringify(errorBody('internal_error', 'internal error (request id $context.requestId)')),
  },
];

/**
 * Adds {@link GATEWAY_RESPONSES} to the API. Their headers resolve at synth, so that
 * `corsHeaders` (called then) includes origins allowed after this call.
 */
export function addGatewayResponses(api: apigw.RestApi, corsHeaders: () => Readonly<Record<string, string>>): void {
  for (const response of GATEWAY_RESPONSES) {
    const gatewayResponse = api.addGatewayResponse(`Gateway${response.type.responseType}`, {
      type: response.type,
      ...(response.statusCode !== undefined ? { statusCode: response.statusCode } : {}),
      templates: { 'application/json': response.body },
    });
    // Headers resolve at synth, so that origins added later by allowOrigin get CORS headers here too.
    const headers = { ...GATEWAY_RESPONSE_HEADERS, ...response.headers };
    const responseParameters = Lazy.any({
      produce: () => Object.fromEntries(Object.entries({ ...headers, ...corsHeaders() }).map(([name, value]) => [`gatewayresponse.header.${name}`, value])),
    });
    (gatewayResponse.node.defaultChild as apigw.CfnGatewayResponse).responseParameters = responseParameters;
    // Gateway responses take effect on the next deployment: let the headers change its hash too.
    api.latestDeployment?.addToLogicalId({ gatewayResponseHeaders: { type: response.type.responseType, responseParameters } });
  }
}
