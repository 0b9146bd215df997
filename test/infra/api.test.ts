import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { GATEWAY_ERROR_RESPONSES } from '../../lambdas/shared/contract';
import { errorSchema } from '../../lambdas/api/schemas';
import { OPERATIONS } from '../../lambdas/api/operations';
import { API, BEARER_HEADER_PATTERN, DEFAULTS, ENV } from '../../lambdas/shared/contract';
import { API_STAGE_NAME, ManagementApi } from '../../lib/constructs/management-api';
import { buildTestApp, logicalIdOf, statementsOfRole, synthTemplate } from './app-fixture';

type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] };


/** `METHOD /path` of every method of the REST API, from the resource tree in the template. */
function routes(template: Template): Map<string, Resource> {
  const resources = template.findResources('AWS::ApiGateway::Resource') as Record<string, Resource>;
  const pathOf = (resourceId: unknown): string => {
    const ref = (resourceId as { Ref?: string }).Ref;
    if (ref === undefined) return ''; // the root: { Fn::GetAtt: [api, RootResourceId] }
    const resource = resources[ref];
    return `${pathOf(resource?.Properties?.ParentId)}/${String(resource?.Properties?.PathPart)}`;
  };
  const methods = template.findResources('AWS::ApiGateway::Method') as Record<string, Resource>;
  return new Map(Object.values(methods).map((m) => [`${String(m.Properties?.HttpMethod)} ${pathOf(m.Properties?.ResourceId)}`, m]));
}

function gatewayResponse(template: Template, type: string): Record<string, unknown> {
  const found = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } })) as Resource[];
  expect(found).toHaveLength(1);
  return found[0]?.Properties ?? {};
}

function functionId(template: Template, serviceName: string): string {
  const ids = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: serviceName }) } } }));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

describe('ManagementApi (stage dev, defaults)', () => {
  const { template, app } = synthTemplate();
  const id = logicalIdOf(app);
  const mapi = app.stack.managementApi;
  const apiFnId = functionId(template, 'webhook-api');
  const authorizerFnId = functionId(template, 'webhook-authorizer');
  const restApiRef = { Ref: id(mapi.api) };
  const tableArn = (table: { node: { defaultChild?: unknown } }): unknown => ({ 'Fn::GetAtt': [id(table), 'Arn'] });

  it('is one regional REST API with one stage named "api", so that paths read /api/v1/…', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] }, Name: 'Webhooks-dev-management' });
    template.resourceCountIs('AWS::ApiGateway::Stage', 1);
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: API_STAGE_NAME, RestApiId: restApiRef });
    expect(API_STAGE_NAME).not.toBe('v1');
  });

  it('authorizes with a TOKEN authorizer on the Authorization header, cached 60 s like the local gateway, refusing malformed keys without invoking it', () => {
    expect(API.authorizerCacheSeconds).toBe(60);
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      // API Gateway answers 401 itself to any other value: garbage costs no invocation and no read.
      IdentityValidationExpression: BEARER_HEADER_PATTERN,
      AuthorizerResultTtlInSeconds: API.authorizerCacheSeconds,
      RestApiId: restApiRef,
      AuthorizerUri: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [authorizerFnId, 'Arn'] }])] },
    });
  });

  it('routes ANY /v1/{proxy+} through the authorizer, GET /v1/openapi.json without it and POST /v1/portal-sessions with IAM, all to the API function', () => {
    const methods = routes(template);
    expect([...methods.keys()].sort()).toEqual(['ANY /v1/{proxy+}', 'GET /v1/openapi.json', 'POST /v1/portal-sessions']);
    // The platform's route: SigV4 (IAM), never the key authorizer, so no API key reaches it.
    const portal = methods.get('POST /v1/portal-sessions')?.Properties;
    expect(portal?.AuthorizationType).toBe('AWS_IAM');
    expect(portal?.AuthorizerId).toBeUndefined();
    const integration = {
      Type: 'AWS_PROXY',
      IntegrationHttpMethod: 'POST',
      Uri: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [apiFnId, 'Arn'] }])] },
    };
    expect(methods.get('ANY /v1/{proxy+}')?.Properties).toEqual(
      expect.objectContaining({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: id(mapi.authorizer) } }),
    );
    const openApi = methods.get('GET /v1/openapi.json')?.Properties;
    expect(openApi?.AuthorizationType).toBe('NONE');
    expect(openApi?.AuthorizerId).toBeUndefined();
    for (const method of ['ANY', 'GET', 'POST']) template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: method, Integration: integration });
  });

  it("serves every operation of the API: public ones by a method of their own without the authorizer (the platform's by an IAM-authorized one), the rest (GET /v1/event-types among them) through the authorized proxy", () => {
    const methods = routes(template);
    const staticPaths = new Set([...methods.keys()].map((m) => m.split(' ')[1]).filter((p) => p !== '/v1/{proxy+}'));
    for (const op of OPERATIONS) {
      if (!op.auth) {
        // The platform's route (POST /v1/portal-sessions) is IAM-authorized; the others are public.
        const expected = 'platform' in op && op.platform ? 'AWS_IAM' : 'NONE';
        expect({ op: op.operationId, authorization: methods.get(`${op.method} ${op.path}`)?.Properties?.AuthorizationType }).toEqual({ op: op.operationId, authorization: expected });
        continue;
      }
      // No static resource shadows it, so the greedy proxy (with the authorizer) takes it.
      expect({ op: op.operationId, underV1: op.path.startsWith('/v1/'), shadowed: staticPaths.has(op.path) }).toEqual({ op: op.operationId, underV1: true, shadowed: false });
    }
    expect(OPERATIONS.find((op) => op.path === '/v1/event-types')).toMatchObject({ method: 'GET', auth: true });
    expect(methods.get('ANY /v1/{proxy+}')?.Properties?.AuthorizationType).toBe('CUSTOM');
  });

  it('lets API Gateway invoke the API function from this stage only, and the authorizer from this authorizer only', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [apiFnId, 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
      SourceArn: { 'Fn::Join': ['', Match.arrayWith([restApiRef, '/', { Ref: id(mapi.api.deploymentStage) }, '/*/v1/*'])] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [authorizerFnId, 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
      SourceArn: { 'Fn::Join': ['', Match.arrayWith([restApiRef, '/authorizers/', { Ref: id(mapi.authorizer) }])] },
    });
  });

  it('throttles the stage at 50 requests/s with a burst of 100 by default, and logs errors without bodies', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [
        Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, LoggingLevel: 'ERROR', DataTraceEnabled: false }),
      ],
      TracingEnabled: false,
    });
    // Execution logs need the account-level role; it is retained, as other APIs of the region may log through it.
    template.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain' });
  });

  it('writes JSON access logs to a dedicated log group with the stage retention', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage')) as Resource[];
    const setting = stage?.Properties?.AccessLogSetting as { DestinationArn: unknown; Format: string };
    // The log group's ARN without the `:*` of its Arn attribute (feature flag logGroupDestinationArnWithoutWildcard).
    expect(setting.DestinationArn).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:', { Ref: id(mapi.accessLogGroup) }]],
    });
    const format = JSON.parse(setting.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      caller: '$context.authorizer.principalId',
      httpMethod: '$context.httpMethod',
      resourcePath: '$context.resourcePath',
      status: '$context.status',
      responseLength: '$context.responseLength',
      authorizerError: '$context.authorizer.error',
    });
    const logGroups = template.findResources('AWS::Logs::LogGroup') as Record<string, Resource>;
    expect(logGroups[id(mapi.accessLogGroup)]?.Properties?.RetentionInDays).toBe(7);
  });

  it.each([
    ['UNAUTHORIZED', '401', GATEWAY_ERROR_RESPONSES.UNAUTHORIZED.body],
    // The authorizer allows the whole stage or refuses: a Deny is the same bad key, 401 as documented.
    ['ACCESS_DENIED', '401', GATEWAY_ERROR_RESPONSES.UNAUTHORIZED.body],
    ['THROTTLED', '429', GATEWAY_ERROR_RESPONSES.THROTTLED.body],
    ['REQUEST_TOO_LARGE', '413', GATEWAY_ERROR_RESPONSES.REQUEST_TOO_LARGE.body],
    ['MISSING_AUTHENTICATION_TOKEN', '404', GATEWAY_ERROR_RESPONSES.MISSING_AUTHENTICATION_TOKEN.body],
  ])('answers %s with %s and a JSON body in the API error shape', (type, status, body) => {
    const response = gatewayResponse(template, type);
    expect(response.StatusCode).toBe(status);
    const json = JSON.parse((response.ResponseTemplates as Record<string, string>)['application/json'] ?? '') as unknown;
    expect(errorSchema.parse(json)).toEqual(body);
    expect(response.ResponseParameters).toMatchObject({ 'gatewayresponse.header.Cache-Control': "'no-store'" });
  });

  it('sends Retry-After on its own 429, as the API function does', () => {
    expect(gatewayResponse(template, 'THROTTLED').ResponseParameters).toMatchObject({ 'gatewayresponse.header.Retry-After': "'1'" });
  });

  it('keeps the status of every other 4XX and 5XX, with a body in the same shape', () => {
    for (const [type, code, variable] of [
      ['DEFAULT_4XX', 'request_rejected', '$context.error.messageString'],
      ['DEFAULT_5XX', 'internal_error', '$context.requestId'],
    ] as const) {
      const response = gatewayResponse(template, type);
      expect(response.StatusCode).toBeUndefined();
      const template_ = (response.ResponseTemplates as Record<string, string>)['application/json'] ?? '';
      expect(template_).toContain(variable);
      // What API Gateway substitutes: `messageString` is a quoted JSON string, `requestId` a bare id.
      const rendered = template_.replace('$context.error.messageString', '"Forbidden"').replace('$context.requestId', 'abc-123');
      expect(JSON.parse(rendered)).toEqual({ error: { code, message: expect.any(String), details: [] } });
    }
  });

  it('has no CORS without a dashboard origin: no preflight methods, no CORS headers, no origins variable', () => {
    expect([...routes(template).keys()].filter((r) => r.startsWith('OPTIONS'))).toEqual([]);
    expect(JSON.stringify(template.findResources('AWS::ApiGateway::GatewayResponse'))).not.toContain('Access-Control');
    expect(mapi.allowedOrigins).toEqual([]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'webhook-api', [API.corsOriginsEnv]: Match.absent() }) },
    });
  });

  it('gives the API function exactly the environment apiPartsFromEnv and createApiRuntime read', () => {
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'webhook-api' }) } } })) as Resource[];
    const vars = (fn?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(vars).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'webhook-api',
      POWERTOOLS_METRICS_NAMESPACE: 'VisitWebhooks',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      [ENV.webhooksTable]: { Ref: id(app.stack.store.webhooksTable) },
      [ENV.deliveriesTable]: { Ref: id(app.stack.store.deliveriesTable) },
      [ENV.statsTable]: { Ref: id(app.stack.store.statsTable) },
      [ENV.retryQueueUrl]: { Ref: id(app.stack.pipeline.retryQueue) },
      [ENV.allowHttp]: 'false',
      [ENV.allowPrivateTargets]: 'false',
      [ENV.retrySchedule]: DEFAULTS.retryScheduleSeconds.join(','),
      [ENV.retentionDays]: String(DEFAULTS.deliveryRetentionDays),
      [ENV.secretsKmsKeyId]: { 'Fn::GetAtt': [id(app.stack.secretsKey), 'Arn'] },
      [ENV.apiKeysTable]: { Ref: id(app.stack.store.apiKeysTable) },
      [ENV.apiAccountRateLimit]: String(API.accountRatePerSecond),
    });
    expect(fn?.Properties?.Timeout).toBeLessThan(29); // under API Gateway's integration timeout
  });

  it('lets the API function read and write webhooks and deliveries, send to the retry queue, use the secrets key, and only get API keys by hash and put portal sessions in the API keys table', () => {
    const statements = statementsOfRole(template, id(mapi.handler.role));
    expect(statements).toEqual([
      expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [id(mapi.handler.logGroup), 'Arn'] } }),
      // What its stores call, on the tables, and one named index (grantReadWriteData would add
      // `<table>/index/*`, every index, and Scan, BatchWriteItem, ConditionCheckItem besides).
      // webhooks: listPage/listByAccount, get (and the counter), create, update (and the counter), delete.
      { Effect: 'Allow', Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: tableArn(app.stack.store.webhooksTable) },
      // deliveries: the log (Query), get (and a record's payload: BatchGetItem), write (test sends,
      // retry, recover, the per-account rate counters), recovery jobs (PutItem), and the status index for ?status= and recovery.
      { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: tableArn(app.stack.store.deliveriesTable) },
      // The status index (?status= and recovery) and the statistics (GET …/stats, one Query per shard; never written here): one statement.
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: [tableArn(app.stack.store.statsTable), { 'Fn::Join': ['', [tableArn(app.stack.store.deliveriesTable), '/index/status']] }] },
      // The per-request key check: one GetItem by hash, as the authorizer's; portal sessions: one
      // PutItem of a token hash. No Query or Scan: no listing of keys or sessions.
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: tableArn(app.stack.store.apiKeysTable) },
      // SendMessage only (no GetQueueUrl, no GetQueueAttributes: the URL is in the environment).
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [id(app.stack.pipeline.retryQueue), 'Arn'] } },
      // Envelope encryption of signing secrets: a data key to store one, Decrypt to read one; never kms:Encrypt.
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: { 'Fn::GetAtt': [id(app.stack.secretsKey), 'Arn'] } },
    ]);
    expect(JSON.stringify(statements.filter((st) => JSON.stringify(st.Resource).includes(id(app.stack.store.apiKeysTable))))).not.toMatch(/Query|Scan|Update|Delete|index/);
  });

  it('associates no WAF web ACL unless one is configured', () => {
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    expect(mapi.webAclAssociation).toBeUndefined();
  });

  it('expires portal sessions in the API keys table by TTL (expiresAt)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'keyHash', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('lets a granted principal (the platform backend) invoke POST /v1/portal-sessions only', () => {
    const { app: granted } = { app: buildTestApp() };
    const role = new iam.Role(granted.stack, 'PlatformBackend', { assumedBy: new iam.AccountRootPrincipal() });
    granted.stack.managementApi.grantCreatePortalSession(role);
    const statements = statementsOfRole(Template.fromStack(granted.stack), logicalIdOf(granted)(role));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'execute-api:Invoke' });
    expect(JSON.stringify(statements[0])).toContain('/POST/v1/portal-sessions');
  });

  it('gives the authorizer only its table name and one GetItem on the API keys table (no Query, no Scan, no index)', () => {
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'webhook-authorizer' }) } } })) as Resource[];
    expect((fn?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'webhook-authorizer',
      POWERTOOLS_METRICS_NAMESPACE: 'VisitWebhooks',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      [ENV.apiKeysTable]: { Ref: id(app.stack.store.apiKeysTable) },
    });
    const statements = statementsOfRole(template, id(mapi.authorizerHandler.role));
    expect(statements).toEqual([
      expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: tableArn(app.stack.store.apiKeysTable) },
    ]);
  });

  it('alarms on errors and throttles of the API function and on 5XX of the stage, not on the authorizer refusing keys', () => {
    const topic = { Ref: id(app.stack.monitoring.topic) };
    for (const metric of ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: apiFnId } }],
        AlarmActions: [topic],
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: Match.arrayWith([{ Name: 'ApiName', Value: 'Webhooks-dev-management' }, { Name: 'Stage', Value: { Ref: id(mapi.api.deploymentStage) } }]),
      AlarmActions: [topic],
    });
    // A refused key is a thrown "Unauthorized", which Lambda counts as an error: its throttles are
    // alarmed, its errors are not (the concurrency graph names it, and alarms on errors would page on typos).
    const onAuthorizer = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => JSON.stringify(a).includes(authorizerFnId)) as Resource[];
    expect(onAuthorizer.map((a) => a.Properties?.MetricName)).toEqual(['Throttles']);
  });

  it('outputs ApiUrl: the stage URL without a trailing slash, so that ${ApiUrl}/v1/webhooks is the webhooks collection', () => {
    const outputs = template.findOutputs('*');
    expect(outputs.ApiUrl?.Description).toMatch(/\/v1\/webhooks/);
    expect(outputs.ApiUrl?.Value).toEqual({
      'Fn::Join': ['', ['https://', restApiRef, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, `/${API_STAGE_NAME}`]],
    });
    // RestApi's own `Endpoint` output (with a trailing slash, undescribed) is replaced by ApiUrl.
    expect(Object.keys(outputs).filter((name) => name.includes('Endpoint'))).toEqual([]);
  });
});

describe('ManagementApi (context: throttling, dashboard origin, delivery settings)', () => {
  const { template, app } = synthTemplate({
    apiRateLimit: '200',
    apiBurstLimit: 400,
    dashboardOrigin: 'https://dashboard.example.com',
    retrySchedule: '10,60',
    allowHttpTargets: 'true',
    deliveryRetentionDays: '7',
    logRetentionDays: 14,
  });
  const id = logicalIdOf(app);

  it('throttles the stage with apiRateLimit and apiBurstLimit', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 })],
    });
  });

  it('flows the delivery settings into the API function and the retention into the access logs', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'webhook-api',
          [ENV.retrySchedule]: '10,60',
          [ENV.allowHttp]: 'true',
          [ENV.retentionDays]: '7',
        }),
      },
    });
    const logGroups = template.findResources('AWS::Logs::LogGroup') as Record<string, Resource>;
    expect(logGroups[id(app.stack.managementApi.accessLogGroup)]?.Properties?.RetentionInDays).toBe(14);
  });

  it('answers CORS preflights for the dashboard origin itself, without the authorizer', () => {
    const methods = routes(template);
    for (const path of ['/v1/{proxy+}', '/v1/openapi.json']) {
      const preflight = methods.get(`OPTIONS ${path}`)?.Properties as Record<string, unknown> & {
        Integration: { Type: string; IntegrationResponses: { StatusCode: string; ResponseParameters: Record<string, string> }[] };
      };
      expect(preflight.AuthorizationType).toBe('NONE');
      expect(preflight.AuthorizerId).toBeUndefined();
      expect(preflight.Integration.Type).toBe('MOCK');
      expect(preflight.Integration.IntegrationResponses).toEqual([
        expect.objectContaining({
          StatusCode: '204',
          ResponseParameters: expect.objectContaining({
            'method.response.header.Access-Control-Allow-Origin': "'https://dashboard.example.com'",
            'method.response.header.Access-Control-Allow-Headers': "'Authorization,Content-Type'",
            'method.response.header.Access-Control-Allow-Methods': "'GET,POST,PATCH,DELETE,OPTIONS'",
          }),
        }),
      ]);
    }
  });

  it('puts CORS headers on the gateway responses, so the dashboard can read a 401 or a 429', () => {
    for (const type of ['UNAUTHORIZED', 'THROTTLED', 'REQUEST_TOO_LARGE', 'DEFAULT_4XX', 'DEFAULT_5XX']) {
      expect(gatewayResponse(template, type).ResponseParameters).toMatchObject({
        'gatewayresponse.header.Access-Control-Allow-Origin': "'https://dashboard.example.com'",
        'gatewayresponse.header.Access-Control-Expose-Headers': "'Retry-After,Allow'",
      });
    }
  });

  it('tells the API function the allowed origins, for the CORS headers of its own responses', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'webhook-api', [API.corsOriginsEnv]: 'https://dashboard.example.com' }) },
    });
  });
});

describe('ManagementApi (context: per-account rate, WAF web ACL)', () => {
  const webAclArn = 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/api-acl/a1b2c3d4-5678-90ab-cdef-0123456789ab';
  const { template, app } = synthTemplate({ apiRateLimit: 500, apiAccountRateLimit: '25', apiWafAclArn: webAclArn });
  const id = logicalIdOf(app);

  it('gives the API function the per-account rate (apiAccountRateLimit)', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'webhook-api', [ENV.apiAccountRateLimit]: '25' }) },
    });
  });

  it('associates the web ACL (apiWafAclArn) with the stage', () => {
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: webAclArn,
      ResourceArn: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, '::/restapis/', { Ref: id(app.stack.managementApi.api) }, '/stages/', { Ref: id(app.stack.managementApi.api.deploymentStage) }]],
      },
    });
  });

  it('refuses a web ACL of another region, and an account rate above the stage rate, at synth', () => {
    const stackApp = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(stackApp, 'Regional', { env: { account: '111122223333', region: 'eu-west-1' } });
    const table = (name: string) => new dynamodb.Table(stack, name, { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const props = { webhooksTable: table('W'), deliveriesTable: table('D'), apiKeysTable: table('K'), statsTable: table('S'), retryQueue: new sqs.Queue(stack, 'Q'), secretsKey: new kms.Key(stack, 'Key') };
    expect(() => new ManagementApi(stack, 'SameRegion', { ...props, webAclArn })).not.toThrow();
    expect(() => new ManagementApi(stack, 'OtherRegion', { ...props, webAclArn: webAclArn.replace('eu-west-1', 'us-east-1') })).toThrow(/in us-east-1, but the stage is in eu-west-1/);
    expect(() => new ManagementApi(stack, 'Global', { ...props, webAclArn: 'arn:aws:wafv2:us-east-1:111122223333:global/webacl/api-acl/a1b2c3d4-5678-90ab-cdef-0123456789ab' })).toThrow(/regional WAFv2 web ACL ARN/);
    expect(() => new ManagementApi(stack, 'TooFast', { ...props, rateLimit: 20, accountRateLimit: 21 })).toThrow(/accountRateLimit must be a whole number from 1 to rateLimit \(20\)/);
  });
});

describe('ManagementApi.allowOrigin', () => {
  const deploymentIds = (template: Template): string[] => Object.keys(template.findResources('AWS::ApiGateway::Deployment'));

  it('adds an origin after construction (a CloudFront domain), everywhere the first one is, and redeploys', () => {
    const before = deploymentIds(synthTemplate({ dashboardOrigin: 'https://dashboard.example.com' }).template);
    const { stack } = buildTestApp({ context: { dashboardOrigin: 'https://dashboard.example.com' } });
    stack.managementApi.allowOrigin('https://d111111abcdef8.cloudfront.net');
    stack.managementApi.allowOrigin('https://dashboard.example.com'); // already there: no-op
    const template = Template.fromStack(stack);

    expect(stack.managementApi.allowedOrigins).toEqual(['https://dashboard.example.com', 'https://d111111abcdef8.cloudfront.net']);
    const [preflight] = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'OPTIONS' } })) as Resource[];
    const vtl = ((preflight?.Properties?.Integration as { IntegrationResponses: { ResponseTemplates: Record<string, string> }[] }).IntegrationResponses[0]?.ResponseTemplates ?? {})['application/json'];
    expect(vtl).toContain('$origin == "https://dashboard.example.com" || $origin == "https://d111111abcdef8.cloudfront.net"');
    expect(vtl).toContain('#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)');
    // A gateway response cannot choose among origins; its fixed error bodies are safe to share.
    expect(gatewayResponse(template, 'UNAUTHORIZED').ResponseParameters).toMatchObject({ 'gatewayresponse.header.Access-Control-Allow-Origin': "'*'" });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [API.corsOriginsEnv]: 'https://dashboard.example.com,https://d111111abcdef8.cloudfront.net' }) },
    });
    // Gateway responses take effect on a new deployment only.
    expect(deploymentIds(template)).toHaveLength(1);
    expect(deploymentIds(template)).not.toEqual(before);
  });

  it('refuses throttling that would block every request, at synth', () => {
    const { stack } = buildTestApp();
    const props = {
      webhooksTable: stack.store.webhooksTable,
      deliveriesTable: stack.store.deliveriesTable,
      apiKeysTable: stack.store.apiKeysTable,
      statsTable: stack.store.statsTable,
      retryQueue: stack.pipeline.retryQueue,
      secretsKey: stack.secretsKey,
    };
    expect(() => new ManagementApi(stack, 'NoRate', { ...props, rateLimit: 0 })).toThrow(/rateLimit must be positive/);
    expect(() => new ManagementApi(stack, 'NoBurst', { ...props, burstLimit: 0.5 })).toThrow(/burstLimit a positive integer/);
  });

  it('accepts an unresolved token (a distribution domain) and refuses what is not an origin', () => {
    const { stack } = buildTestApp();
    expect(() => stack.managementApi.allowOrigin(`https://${stack.managementApi.api.restApiId}.example.com`)).not.toThrow();
    for (const bad of ['https://dash.example.com/', 'https://dash.example.com/app', 'ftp://dash.example.com', 'dash.example.com', '*']) {
      expect(() => stack.managementApi.allowOrigin(bad)).toThrow(/allowOrigin expects an origin/);
    }
  });

  it('leaves ACCESS_DENIED and every other gateway response body unchanged by CORS', () => {
    const plain = synthTemplate().template;
    const withCors = synthTemplate({ dashboardOrigin: 'https://dashboard.example.com' }).template;
    for (const type of ['UNAUTHORIZED', 'ACCESS_DENIED', 'THROTTLED', 'REQUEST_TOO_LARGE', 'MISSING_AUTHENTICATION_TOKEN', 'DEFAULT_4XX', 'DEFAULT_5XX']) {
      expect(gatewayResponse(withCors, type).ResponseTemplates).toEqual(gatewayResponse(plain, type).ResponseTemplates);
      expect(gatewayResponse(withCors, type).StatusCode).toEqual(gatewayResponse(plain, type).StatusCode);
    }
  });
});

describe('signing secrets key (shared by the API and the delivery path)', () => {
  const { template, app } = synthTemplate();
  const id = logicalIdOf(app);
  const keyArn = { 'Fn::GetAtt': [id(app.stack.secretsKey), 'Arn'] };

  it('is a rotated KMS key, deleted with a dev stack and retained in prod', () => {
    template.hasResource('AWS::KMS::Key', { Properties: Match.objectLike({ EnableKeyRotation: true, Description: Match.stringLikeRegexp('signing secrets') }), DeletionPolicy: 'Delete' });
    const prod = synthTemplate({ stage: 'prod' }).template;
    prod.hasResource('AWS::KMS::Key', { Properties: Match.objectLike({ Description: Match.stringLikeRegexp('signing secrets') }), DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('lets the delivery and retry functions decrypt only, with the key in their environment', () => {
    for (const fn of [app.stack.pipeline.delivery, app.stack.pipeline.retry]) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Role: { 'Fn::GetAtt': [id(fn.role), 'Arn'] },
        Environment: { Variables: Match.objectLike({ [ENV.secretsKmsKeyId]: keyArn }) },
      });
      const kmsStatements = statementsOfRole(template, id(fn.role)).filter((s) => JSON.stringify(s.Action).includes('kms:'));
      expect(kmsStatements).toEqual([{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn }]);
    }
    // The authorizer never sees a secret.
    expect(JSON.stringify(statementsOfRole(template, id(app.stack.managementApi.authorizerHandler.role)))).not.toContain('kms:');
  });
});
