import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';

/**
 * The `APIGatewayProxyEvent` a REST API's Lambda proxy integration (`/{proxy+}`) hands the API
 * function. The local runtime (local/api-gateway.ts) builds one per HTTP request, and the API
 * tests build theirs here too, so both play the same API Gateway.
 */

/** The API and stage an event comes from. */
export interface ProxyEventStage {
  readonly accountId: string;
  readonly apiId: string;
  readonly stage: string;
  readonly resourceId: string;
  /**
   * What precedes the request path in `requestContext.path`: `/<stage>` on AWS, '' where the API
   * is served at the root (the local runtime).
   */
  readonly basePath: string;
}

/** The HTTP request, as API Gateway passes it on. */
export interface ProxyEventRequest {
  readonly method: string;
  /** The path under the stage, e.g. `/v1/webhooks`. */
  readonly path: string;
  readonly headers: Record<string, string>;
  /** @default one value per header of `headers` */
  readonly multiValueHeaders?: Record<string, string[]>;
  /** Query string parameters; absent or empty gives `null`, as API Gateway does. */
  readonly query?: Record<string, string> | null;
  /** @default one value per parameter of `query` */
  readonly multiValueQuery?: Record<string, string[]>;
  readonly body: string | null;
  /** @default false */
  readonly isBase64Encoded?: boolean;
  readonly sourceIp: string;
  readonly userAgent: string | null;
  /** The authorizer's context (`requestContext.authorizer`). @default null */
  readonly authorizer?: Record<string, string> | null;
}

const oneEach = (values: Record<string, string>): Record<string, string[]> => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [v]]));

/** A proxy event for `request` on `stage`, with a fresh request id and the current time. */
export function apiGatewayProxyEvent(stage: ProxyEventStage, request: ProxyEventRequest): APIGatewayProxyEvent {
  const query = request.query && Object.keys(request.query).length > 0 ? request.query : null;
  return {
    resource: '/{proxy+}',
    path: request.path,
    httpMethod: request.method,
    headers: request.headers,
    multiValueHeaders: request.multiValueHeaders ?? oneEach(request.headers),
    queryStringParameters: query,
    multiValueQueryStringParameters: query ? (request.multiValueQuery ?? oneEach(query)) : null,
    pathParameters: { proxy: request.path.replace(/^\//, '') },
    stageVariables: null,
    body: request.body,
    isBase64Encoded: request.isBase64Encoded ?? false,
    requestContext: {
      accountId: stage.accountId,
      apiId: stage.apiId,
      authorizer: request.authorizer ?? null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      identity: {
        sourceIp: request.sourceIp,
        userAgent: request.userAgent,
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        user: null,
        userArn: null,
      },
      path: `${stage.basePath}${request.path}`,
      stage: stage.stage,
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: stage.resourceId,
      resourcePath: '/{proxy+}',
    },
  };
}
