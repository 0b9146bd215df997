import { Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { API, BEARER_HEADER_PATTERN, ENV } from '../../../lambdas/shared/contract';
import type { WebhooksFunction } from '../../function-defaults';
import { accessLogFormat } from './access-log';
import { addPreflight, assertOrigin, gatewayCorsHeaders } from './cors';
import { createApiFunctions } from './functions';
import { addGatewayResponses } from './gateway-responses';
import { acknowledgeApiFindings, acknowledgeFunctionFindings } from './nag-notes';
import type { ManagementApiProps } from './props';
import { WEB_ACL_ARN_PATTERN } from '../../config';

/**
 * Name of the one stage. The contract's paths start with `/v1`, so the stage must not be
 * named `v1` (that would make `/v1/v1/webhooks`): the API lives at `https://…/api/v1/…`.
 */
export const API_STAGE_NAME = 'api';

interface StageSettings {
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly accessLogGroup: logs.ILogGroup;
}

/**
 * `arn` must be a regional WAFv2 web ACL's ARN ({@link WEB_ACL_ARN_PATTERN}) in the stack's region
 * when that is known: API Gateway stages take regional ACLs of their own region only.
 */
function assertWebAclArn(path: string, arn: string, region: string): void {
  const match = WEB_ACL_ARN_PATTERN.exec(arn);
  if (!match) throw new Error(`${path}: webAclArn must be a regional WAFv2 web ACL ARN (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>), got ${JSON.stringify(arn)}`);
  if (!Token.isUnresolved(region) && match[1] !== region) throw new Error(`${path}: webAclArn is in ${match[1]}, but the stage is in ${region}; a stage takes a web ACL of its own region`);
}

/**
 * The management API (docs/design.md §6): a regional REST API whose `/v1/{proxy+}` routes go to the
 * API function through a cached TOKEN authorizer (API key → account), with a public
 * `GET /v1/openapi.json`, stage throttling, JSON access logs, gateway responses in the API's
 * error shape and, for the dashboard, CORS.
 *
 * REST API rather than HTTP API: stage and method throttling, a TOKEN authorizer whose result
 * is cached per key, gateway responses (401/413/429/4xx/5xx in our JSON shape), access and
 * execution logs, and a stage a WAF web ACL can be associated with.
 */
export class ManagementApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly authorizer: apigw.TokenAuthorizer;
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
  /**
   * `POST /v1/portal-sessions`: the platform's backend only, IAM-authorized (SigV4); grant it with
   * {@link grantCreatePortalSession}.
   */
  public readonly portalSessionsMethod: apigw.Method;
  /** The stage's association with the operator's WAF web ACL (`webAclArn`), if any. */
  public readonly webAclAssociation?: wafv2.CfnWebACLAssociation;
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
    const accountRateLimit = props.accountRateLimit ?? Math.max(1, Math.floor(Math.min(API.accountRatePerSecond, rateLimit)));
    if (!Number.isInteger(accountRateLimit) || accountRateLimit < 1 || accountRateLimit > rateLimit) {
      throw new Error(`${this.node.path}: accountRateLimit must be a whole number from 1 to rateLimit (${rateLimit}), got ${accountRateLimit}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_WEEK;

    const functions = createApiFunctions(this, { ...props, accountRateLimit }, {
      logRetention,
      removalPolicy,
      ...(props.logLevel !== undefined ? { logLevel: props.logLevel } : {}),
    });
    this.handler = functions.handler;
    this.apiFunction = functions.handler.function;
    this.authorizerHandler = functions.authorizer;
    this.authorizerFunction = functions.authorizer.function;
    acknowledgeFunctionFindings([this.handler, this.authorizerHandler]);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy });
    this.api = this.createRestApi({ rateLimit, burstLimit, accessLogGroup: this.accessLogGroup });
    const stack = Stack.of(this);
    this.url = `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${API_STAGE_NAME}`;

    // A TOKEN authorizer for its validation expression: API Gateway answers a malformed or
    // missing key (or portal session token) with 401 itself, without invoking the authorizer (garbage costs no Lambda and no
    // read). The cache key is the one value the authorizer checked; the API function refuses a
    // request with more than one Authorization header and checks the key again (docs/design.md §6).
    this.authorizer = new apigw.TokenAuthorizer(this, 'KeyAuthorizer', {
      handler: this.authorizerFunction,
      identitySource: apigw.IdentitySource.header('Authorization'),
      validationRegex: BEARER_HEADER_PATTERN,
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
    // Portal sessions are minted by the platform's backend with IAM credentials customers never
    // hold: a static sibling with AuthorizationType.IAM, so no API key can reach it.
    this.portalSessionsMethod = v1.addResource('portal-sessions').addMethod('POST', integration, { authorizationType: apigw.AuthorizationType.IAM });
    this.corsResources = [proxy, openApi];

    addGatewayResponses(this.api, () => gatewayCorsHeaders(this.origins));
    for (const origin of props.allowedOrigins ?? []) this.allowOrigin(origin);

    if (props.webAclArn !== undefined) {
      assertWebAclArn(this.node.path, props.webAclArn, stack.region);
      // AWS::WAFv2::WebACLAssociation on the stage; the ACL itself is the operator's (its rules, its bill).
      this.webAclAssociation = new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    }

    acknowledgeApiFindings({
      api: this.api,
      openApiMethod: this.openApiMethod,
      proxyMethod: this.proxyMethod,
      portalSessionsMethod: this.portalSessionsMethod,
      webAcl: props.webAclArn !== undefined,
    });
  }

  /** Lets `grantee` (the platform backend's role) create portal sessions: `execute-api:Invoke` on that one method. */
  public grantCreatePortalSession(grantee: iam.IGrantable): iam.Grant {
    return this.portalSessionsMethod.grantExecute(grantee);
  }

  /** The dashboard's URL, the base of the portal session URLs the API returns. */
  public setPortalUrl(url: string): void {
    this.apiFunction.addEnvironment(ENV.portalUrl, url);
  }

  /**
   * Allows a browser origin (the dashboard) by CORS: preflight `OPTIONS` answered by API Gateway
   * without the authorizer, CORS headers on the gateway responses, and the origin passed to the
   * API function ({@link API.corsOriginsEnv}) for its own responses. Tokens (a CloudFront domain)
   * are accepted; call before synthesis.
   */
  public allowOrigin(origin: string): void {
    assertOrigin(this.node.path, origin);
    if (this.origins.includes(origin)) return;
    this.origins.push(origin);
    if (this.origins.length === 1) {
      for (const resource of this.corsResources) addPreflight(resource, this.origins);
      this.apiFunction.addEnvironment(API.corsOriginsEnv, Lazy.string({ produce: () => this.origins.join(',') }));
    }
  }

  /** The allowed origins so far. */
  public get allowedOrigins(): readonly string[] {
    return [...this.origins];
  }

    /** The REST API with its one stage: throttling, execution logs on errors only, JSON access logs. */
  private createRestApi({ rateLimit, burstLimit, accessLogGroup }: StageSettings): apigw.RestApi {
    const api = new apigw.RestApi(this, 'Api', {
      // Unique per stack, so the API's CloudWatch metrics (dimension ApiName) never mix stages.
      restApiName: `${Stack.of(this).stackName}-management`,
      description: 'Outbound webhooks management API (docs/design.md §6)',
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
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogGroup),
        accessLogFormat: accessLogFormat(),
      },
    });
    // The stack's described `ApiUrl` output (no trailing slash) replaces RestApi's undescribed `Endpoint` output.
    api.node.tryRemoveChild('Endpoint');
    return api;
  }
}
