import { Duration, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { API, DEFAULTS, ENV, errorBody, GATEWAY_ERROR_RESPONSES } from '../../lambdas/shared/contract';
import type { LogLevel } from '../config';
import { FUNCTION_RUNTIME, WebhooksFunction } from '../function-defaults';

/** Handler files, relative to the repository root; each exports `handler`. */
export const API_HANDLER_ENTRY = 'lambdas/api/handler.ts';
export const AUTHORIZER_HANDLER_ENTRY = 'lambdas/authorizer/handler.ts';

/**
 * Name of the one stage. The contract's paths start with `/v1`, so the stage must not be
 * named `v1` (that would make `/v1/v1/webhooks`): the API lives at `https://…/api/v1/…`.
 */
export const API_STAGE_NAME = 'api';

/**
 * Timeout of the API function. REST API integrations give up after 29 s; ending the function
 * earlier leaves the function's own timeout (logged, alarmed) as what happens first. The
 * slowest operation, a test send, is bounded by the delivery timeout (10 s).
 */
export const API_FUNCTION_TIMEOUT = Duration.seconds(25);
/** The authorizer does one DynamoDB GetItem. */
export const AUTHORIZER_FUNCTION_TIMEOUT = Duration.seconds(10);

/** Request headers a browser may send cross-origin; `Authorization` carries the API key. */
export const CORS_ALLOW_HEADERS = ['Authorization', 'Content-Type'] as const;
export const CORS_ALLOW_METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** Response headers a browser script may read: `Retry-After` on 429, `Allow` on 405. */
export const CORS_EXPOSE_HEADERS = ['Retry-After', 'Allow'] as const;
/** How long a browser may cache a preflight answer. */
export const CORS_MAX_AGE = Duration.minutes(10);

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
  // identity source is absent, and API Gateway does not even call it).
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

export interface ManagementApiProps {
  readonly webhooksTable: dynamodb.ITable;
  readonly deliveriesTable: dynamodb.ITable;
  /** Holds key hashes; only the authorizer reads it. */
  readonly apiKeysTable: dynamodb.ITable;
  /** `POST …/retry` and `POST …/recover` re-queue deliveries here. */
  readonly retryQueue: sqs.IQueue;
  /**
   * The KMS key whose data keys encrypt signing secrets at rest (envelope encryption): the API
   * function generates a data key to store a secret (create, rotate) and decrypts data keys to
   * read one (reveal, test sends).
   */
  readonly secretsKey: kms.IKey;
  /**
   * Whether plain `http://` webhook targets may be created and test-sent to.
   * @default false
   */
  readonly allowHttpTargets?: boolean;
  /**
   * Delays after the first attempt, in whole seconds (recover re-queues with this schedule).
   * @default DEFAULTS.retryScheduleSeconds
   */
  readonly retryScheduleSeconds?: readonly number[];
  /**
   * TTL of delivery records written by test sends, in days.
   * @default DEFAULTS.deliveryRetentionDays
   */
  readonly deliveryRetentionDays?: number;
  /**
   * Steady-state requests per second of the stage (every method).
   * @default 50
   */
  readonly rateLimit?: number;
  /**
   * Burst of the stage (token bucket size).
   * @default 100
   */
  readonly burstLimit?: number;
  /**
   * Browser origins allowed by CORS (the dashboard); more can be added with {@link ManagementApi.allowOrigin}.
   * @default - none: no preflight methods, no CORS headers
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Retention of the function log groups and of the access log group.
   * @default RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * `POWERTOOLS_LOG_LEVEL` of the functions.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * Removal policy of the log groups.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The management API (DESIGN.md §4): a regional REST API whose `/v1/{proxy+}` routes go to the
 * API function through a cached REQUEST authorizer (API key → account), with a public
 * `GET /v1/openapi.json`, stage throttling, JSON access logs, gateway responses in the API's
 * error shape and, for the dashboard, CORS.
 *
 * REST API rather than HTTP API: stage and method throttling, a REQUEST authorizer whose result
 * is cached per key, gateway responses (401/413/429/4xx/5xx in our JSON shape), access and
 * execution logs, and a stage a WAF web ACL can be associated with.
 */
export class ManagementApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly authorizer: apigw.RequestAuthorizer;
  /** The API function with its role and log group. */
  public readonly handler: WebhooksFunction;
  public readonly apiFunction: NodejsFunction;
  /** The authorizer function with its role and log group. */
  public readonly authorizerHandler: WebhooksFunction;
  public readonly authorizerFunction: NodejsFunction;
  public readonly accessLogGroup: logs.LogGroup;
  /** `/v1/{proxy+}` (ANY, authorized) and `/v1/openapi.json` (GET, public). */
  public readonly proxyMethod: apigw.Method;
  public readonly openApiMethod: apigw.Method;
  /** Base URL without a trailing slash: requests go to `${url}/v1/webhooks`. */
  public readonly url: string;
  private readonly origins: string[] = [];
  private readonly corsResources: apigw.IResource[];

  constructor(scope: Construct, id: string, props: ManagementApiProps) {
    super(scope, id);
    const rateLimit = props.rateLimit ?? 50;
    const burstLimit = props.burstLimit ?? 100;
    if (!(rateLimit > 0) || !Number.isInteger(burstLimit) || burstLimit < 1) {
      throw new Error(`${this.node.path}: rateLimit must be positive and burstLimit a positive integer, got ${rateLimit} and ${burstLimit}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_WEEK;
    const common = {
      logRetention,
      removalPolicy,
      ...(props.logLevel !== undefined ? { logLevel: props.logLevel } : {}),
    };

    this.handler = new WebhooksFunction(this, 'Handler', {
      ...common,
      entry: API_HANDLER_ENTRY,
      serviceName: 'webhook-api',
      description: 'Management API: webhooks, secrets, test sends, delivery log, retry and recover',
      timeout: API_FUNCTION_TIMEOUT,
      // Exactly what apiPartsFromEnv and createApiRuntime read, each paired with its grant below.
      environment: {
        [ENV.webhooksTable]: props.webhooksTable.tableName,
        [ENV.deliveriesTable]: props.deliveriesTable.tableName,
        [ENV.retryQueueUrl]: props.retryQueue.queueUrl,
        [ENV.allowHttp]: String(props.allowHttpTargets ?? false),
        [ENV.allowPrivateTargets]: 'false',
        [ENV.retrySchedule]: (props.retryScheduleSeconds ?? DEFAULTS.retryScheduleSeconds).join(','),
        [ENV.retentionDays]: String(props.deliveryRetentionDays ?? DEFAULTS.deliveryRetentionDays),
        [ENV.secretsKmsKeyId]: props.secretsKey.keyArn,
      },
    });
    this.apiFunction = this.handler.function;
    props.webhooksTable.grantReadWriteData(this.handler.role);
    props.deliveriesTable.grantReadWriteData(this.handler.role);
    // Retry and recover re-queue deliveries; test sends are attempted inline and never queued.
    props.retryQueue.grantSendMessages(this.handler.role);
    // Exactly the two calls of KmsEnvelopeCipher (no kms:Encrypt, no ReEncrypt).
    props.secretsKey.grant(this.handler.role, 'kms:GenerateDataKey', 'kms:Decrypt');

    this.authorizerHandler = new WebhooksFunction(this, 'Authorizer', {
      ...common,
      entry: AUTHORIZER_HANDLER_ENTRY,
      serviceName: 'webhook-authorizer',
      description: 'Management API authorizer: maps an API key (by its hash) to its account',
      timeout: AUTHORIZER_FUNCTION_TIMEOUT,
      environment: { [ENV.apiKeysTable]: props.apiKeysTable.tableName },
    });
    this.authorizerFunction = this.authorizerHandler.function;
    // One GetItem by key hash. `grantReadData` would add Query/Scan and the table's indexes
    // (`…/index/*`), which would let a compromised authorizer enumerate every account's keys.
    this.authorizerHandler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [props.apiKeysTable.tableArn] }),
    );

    for (const fn of [this.handler, this.authorizerHandler]) {
      Validations.of(fn.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason: `${FUNCTION_RUNTIME.name} is a supported LTS runtime and the one the team tests against (the code also runs on Node 20 locally); moving to a newer runtime is a deliberate upgrade, not an automatic one.`,
      });
    }

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy });

    const stack = Stack.of(this);
    this.api = new apigw.RestApi(this, 'Api', {
      // Unique per stack, so the API's CloudWatch metrics (dimension ApiName) never mix stages.
      restApiName: `${stack.stackName}-management`,
      description: 'Outbound webhooks management API (DESIGN.md §4)',
      // Regional: callers are servers and the dashboard; a WAF web ACL attaches to the stage directly.
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Execution logs (APIG6) need the account-level CloudWatch role. Retained (the CDK default):
      // the account setting outlives this stack, and other REST APIs in the region may log through it.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: API_STAGE_NAME,
        throttlingRateLimit: rateLimit,
        throttlingBurstLimit: burstLimit,
        // ERROR: authorizer and integration failures, without request or response bodies
        // (bodies carry webhook secrets and custom headers).
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: false,
        tracingEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigw.AccessLogField.contextRequestId(),
            extendedRequestId: apigw.AccessLogField.contextExtendedRequestId(),
            requestTime: apigw.AccessLogField.contextRequestTime(),
            ip: apigw.AccessLogField.contextIdentitySourceIp(),
            userAgent: apigw.AccessLogField.contextIdentityUserAgent(),
            // The account the key belongs to (the authorizer's principalId) and the key's public id.
            caller: apigw.AccessLogField.contextAuthorizerPrincipalId(),
            keyId: apigw.AccessLogField.contextAuthorizer('keyId'),
            httpMethod: apigw.AccessLogField.contextHttpMethod(),
            resourcePath: apigw.AccessLogField.contextResourcePath(),
            path: apigw.AccessLogField.contextPath(),
            protocol: apigw.AccessLogField.contextProtocol(),
            status: apigw.AccessLogField.contextStatus(),
            responseLength: apigw.AccessLogField.contextResponseLength(),
            responseLatency: apigw.AccessLogField.contextResponseLatency(),
            integrationStatus: apigw.AccessLogField.contextIntegrationStatus(),
            integrationLatency: apigw.AccessLogField.contextIntegrationLatency(),
            integrationError: apigw.AccessLogField.contextIntegrationErrorMessage(),
            authorizerStatus: apigw.AccessLogField.contextAuthorizerStatus(),
            authorizerLatency: apigw.AccessLogField.contextAuthorizerLatency(),
            authorizerError: apigw.AccessLogField.contextAuthorizerError(),
            errorType: apigw.AccessLogField.contextErrorResponseType(),
            errorMessage: apigw.AccessLogField.contextErrorMessage(),
          }),
        ),
      },
    });
    // The stack's described `ApiUrl` output (no trailing slash) replaces RestApi's undescribed `Endpoint` output.
    this.api.node.tryRemoveChild('Endpoint');
    this.url = `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${API_STAGE_NAME}`;

    this.authorizer = new apigw.RequestAuthorizer(this, 'KeyAuthorizer', {
      handler: this.authorizerFunction,
      identitySources: [apigw.IdentitySource.header('Authorization')],
      resultsCacheTtl: Duration.seconds(API.authorizerCacheSeconds),
    });

    // One integration for both methods; no test-invoke permission (console test calls bypass the authorizer).
    const integration = new apigw.LambdaIntegration(this.apiFunction, { proxy: true, allowTestInvoke: false });
    const v1 = this.api.root.addResource('v1');
    const proxy = v1.addProxy({ anyMethod: false });
    this.proxyMethod = proxy.addMethod('ANY', integration, {
      authorizer: this.authorizer,
      authorizationType: apigw.AuthorizationType.CUSTOM,
    });
    // A static sibling beats the greedy {proxy+}: the document is served without the authorizer.
    const openApi = v1.addResource('openapi.json');
    this.openApiMethod = openApi.addMethod('GET', integration, { authorizationType: apigw.AuthorizationType.NONE });
    this.corsResources = [proxy, openApi];

    for (const response of GATEWAY_RESPONSES) {
      const gatewayResponse = this.api.addGatewayResponse(`Gateway${response.type.responseType}`, {
        type: response.type,
        ...(response.statusCode !== undefined ? { statusCode: response.statusCode } : {}),
        templates: { 'application/json': response.body },
      });
      // Headers resolve at synth, so that origins added later by allowOrigin get CORS headers here too.
      const headers = { ...GATEWAY_RESPONSE_HEADERS, ...response.headers };
      const responseParameters = Lazy.any({
        produce: () => Object.fromEntries(Object.entries({ ...headers, ...this.gatewayCorsHeaders() }).map(([name, value]) => [`gatewayresponse.header.${name}`, value])),
      });
      (gatewayResponse.node.defaultChild as apigw.CfnGatewayResponse).responseParameters = responseParameters;
      // Gateway responses take effect on the next deployment: let the headers change its hash too.
      this.api.latestDeployment?.addToLogicalId({ gatewayResponseHeaders: { type: response.type.responseType, responseParameters } });
    }

    for (const origin of props.allowedOrigins ?? []) this.allowOrigin(origin);

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Every route is a Lambda proxy integration: the API function validates bodies, parameters and sizes with the same zod schemas that generate GET /v1/openapi.json, ' +
        'and answers 400/413/415 in the API error shape. A request validator without models would validate nothing, and models would duplicate the schemas.',
    });
    Validations.of(this.api.node.findChild('CloudWatchRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The account-level role API Gateway writes execution logs with (AWS::ApiGateway::Account). AWS documents this service-role policy for exactly that purpose, ' +
        'only apigateway.amazonaws.com can assume the role, and the log group names are chosen by API Gateway, so no narrower policy can be written in advance.',
    });
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'A WAF web ACL is an optional add-on of the deployment (it costs per ACL and per request): the API is protected by API keys, stage throttling and the function\'s own limits. ' +
        'The stage is regional, so an operator can associate a web ACL with it without changing this stack.',
    });
    Validations.of(this.openApiMethod).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason: 'GET /v1/openapi.json is the public API description (DESIGN.md §4: "no auth"); it holds no account data. Every other route uses the API key authorizer.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'GET /v1/openapi.json is the public API description (DESIGN.md §4: "no auth"); it holds no account data and needs no user pool.',
      },
    );
    Validations.of(this.proxyMethod).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'The callers are customers\' servers and scripts with API keys (DESIGN.md §4), not end users: a Lambda REQUEST authorizer maps the hashed key to its account. ' +
        'A Cognito user pool would add a second identity system for no caller.',
    });
  }

  /**
   * Allows a browser origin (the dashboard) by CORS: preflight `OPTIONS` answered by API Gateway
   * without the authorizer, CORS headers on the gateway responses, and the origin passed to the
   * API function ({@link API.corsOriginsEnv}) for its own responses. Tokens (a CloudFront domain)
   * are accepted; call before synthesis.
   */
  public allowOrigin(origin: string): void {
    if (!Token.isUnresolved(origin)) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = undefined;
      }
      if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.origin !== origin) {
        throw new Error(`${this.node.path}: allowOrigin expects an origin such as https://dashboard.example.com, got ${JSON.stringify(origin)}`);
      }
    }
    if (this.origins.includes(origin)) return;
    this.origins.push(origin);
    if (this.origins.length === 1) {
      for (const resource of this.corsResources) this.addPreflight(resource);
      this.apiFunction.addEnvironment(API.corsOriginsEnv, Lazy.string({ produce: () => this.origins.join(',') }));
    }
  }

  /** The allowed origins so far. */
  public get allowedOrigins(): readonly string[] {
    return [...this.origins];
  }

  /**
   * Preflight answered by a mock integration (no authorizer: browsers never send credentials on
   * a preflight). The first origin is the static answer; a template switches to the request's
   * `Origin` when it is another allowed one, as `addCorsPreflight` does for a fixed list.
   */
  private addPreflight(resource: apigw.IResource): apigw.Method {
    const header = (name: string): string => `method.response.header.${name}`;
    const responseParameters: Record<string, string> = {
      [header('Access-Control-Allow-Origin')]: Lazy.string({ produce: () => `'${this.origins[0] ?? ''}'` }),
      [header('Access-Control-Allow-Headers')]: `'${CORS_ALLOW_HEADERS.join(',')}'`,
      [header('Access-Control-Allow-Methods')]: `'${CORS_ALLOW_METHODS.join(',')}'`,
      [header('Access-Control-Max-Age')]: `'${CORS_MAX_AGE.toSeconds()}'`,
      [header('Vary')]: "'Origin'",
    };
    const template = Lazy.string({
      produce: () =>
        [
          '#set($origin = $input.params().header.get("Origin"))',
          '#if($origin == "")',
          '  #set($origin = $input.params().header.get("origin"))',
          '#end',
          `#if(${this.origins.map((o) => `$origin == "${o}"`).join(' || ')})`,
          '  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)',
          '#end',
        ].join('\n'),
    });
    return resource.addMethod(
      'OPTIONS',
      new apigw.MockIntegration({
        requestTemplates: { 'application/json': '{ "statusCode": 204 }' },
        integrationResponses: [{ statusCode: '204', responseParameters, responseTemplates: { 'application/json': template } }],
      }),
      {
        authorizationType: apigw.AuthorizationType.NONE,
        methodResponses: [{ statusCode: '204', responseParameters: Object.fromEntries(Object.keys(responseParameters).map((k) => [k, true])) }],
      },
    );
  }

  /**
   * CORS headers of the gateway responses (401, 429, …), so that a browser can read them. A
   * gateway response cannot branch on the request, so with several origins it answers `*`:
   * these bodies are fixed error messages without account data, and the API authenticates with
   * a bearer key, never cookies (no `Access-Control-Allow-Credentials`), so nothing is exposed.
   */
  private gatewayCorsHeaders(): Record<string, string> {
    if (this.origins.length === 0) return {};
    return {
      'Access-Control-Allow-Origin': this.origins.length === 1 ? `'${this.origins[0]}'` : "'*'",
      'Access-Control-Expose-Headers': `'${CORS_EXPOSE_HEADERS.join(',')}'`,
    };
  }
}
