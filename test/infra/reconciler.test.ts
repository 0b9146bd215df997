import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { DUE_INDEX, STATUS_INDEX } from '../../lambdas/shared/adapters/dynamo-delivery-store';
import { BREAKERS_INDEX } from '../../lambdas/shared/adapters/dynamo-webhook-store';
import { DEFAULTS, ENV, METRICS } from '../../lambdas/shared/contract';
import { RECONCILER_INDEXES, Reconciler } from '../../lib/constructs/reconciler';
import { logicalIdOf, statementsOfRole, synthTemplate } from './app-fixture';

type Resource = { Type: string; Properties?: Record<string, unknown> };


describe('the reconciler (stage dev, defaults)', () => {
  const { template, app } = synthTemplate();
  const id = logicalIdOf(app);
  const reconciler = app.stack.reconciler;
  const fnId = id(reconciler.handler.function);
  const fnArn = { 'Fn::GetAtt': [fnId, 'Arn'] };
  const tableArn = (table: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [id(table), 'Arn'] });
  const indexArn = (table: { node: { defaultChild?: unknown } }, name: string) => ({ 'Fn::Join': ['', [tableArn(table), `/index/${name}`]] });

  it('runs every DEFAULTS.reconcileEverySeconds (60 s) from an EventBridge rule on the default bus, which may invoke it and nothing else', () => {
    expect(DEFAULTS.reconcileEverySeconds).toBe(60);
    const rules = template.findResources('AWS::Events::Rule', { Properties: { ScheduleExpression: Match.anyValue() } }) as Record<string, Resource>;
    expect(Object.keys(rules)).toEqual([id(reconciler.rule)]);
    expect(rules[id(reconciler.rule)]?.Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED', Targets: [{ Arn: fnArn, Id: expect.any(String) }] });
    expect(rules[id(reconciler.rule)]?.Properties?.EventBusName).toBeUndefined(); // the default bus: schedules live there
    expect(rules[id(reconciler.rule)]?.Properties?.EventPattern).toBeUndefined();
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission', { Properties: { FunctionName: fnArn } })) as Resource[];
    expect(permissions.map((p) => p.Properties)).toEqual([
      { Action: 'lambda:InvokeFunction', FunctionName: fnArn, Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': [id(reconciler.rule), 'Arn'] } },
    ]);
  });

  it('never runs two ticks at once: reserved concurrency 1, a throttled or failed tick not retried past a minute', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [id(reconciler.handler.role), 'Arn'] },
      ReservedConcurrentExecutions: 1,
      Timeout: 300,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
    const fn = template.findResources('AWS::Lambda::Function')[fnId] as Resource;
    // Lambda's loop detection stays on (Terminate): the reconciler is not invoked by the queue it sends to.
    expect(fn.Properties?.RecursiveLoop).toBeUndefined();
  });

  it('gets exactly the environment createReconcilerRuntime reads, with the Powertools defaults', () => {
    const fn = template.findResources('AWS::Lambda::Function')[fnId] as Resource;
    expect((fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'webhook-reconciler',
      POWERTOOLS_METRICS_NAMESPACE: 'VisitWebhooks',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      [ENV.webhooksTable]: { Ref: id(app.stack.store.webhooksTable) },
      [ENV.deliveriesTable]: { Ref: id(app.stack.store.deliveriesTable) },
      [ENV.retryQueueUrl]: { Ref: id(app.stack.pipeline.retryQueue) },
      // No secrets key: its store withholds signing secrets (createReconcilerRuntime).
      [ENV.reconcileEverySeconds]: '60',
      // The TTL of the records it re-writes, as the other functions write them.
      [ENV.retentionDays]: String(DEFAULTS.deliveryRetentionDays),
      // Where the breakers it closes are announced (operational events).
      [ENV.eventBusName]: { Ref: id(app.stack.events.eventBus) },
      [ENV.operationalEventSource]: 'visit-webhooks',
    });
  });

  it('queries the three sparse indexes its stores name (breakers, parked, due), and no other', () => {
    expect(RECONCILER_INDEXES).toEqual({ breakers: BREAKERS_INDEX, status: STATUS_INDEX, due: DUE_INDEX });
  });

  it('has IAM to the action: Query on the three index ARNs, the item actions it calls on each table, SendMessage on the retry queue, no KMS, PutEvents of operational events', () => {
    const statements = statementsOfRole(template, id(reconciler.handler.role));
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [id(reconciler.handler.logGroup), 'Arn'] } },
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: [
          indexArn(app.stack.store.deliveriesTable, 'due'),
          indexArn(app.stack.store.deliveriesTable, 'status'),
          indexArn(app.stack.store.webhooksTable, 'breakers'),
        ],
      },
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: tableArn(app.stack.store.webhooksTable) },
      // Deliveries: write; the payloads of listed records; recovery jobs (saved under a lease, read back).
      { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: tableArn(app.stack.store.deliveriesTable) },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [id(app.stack.pipeline.retryQueue), 'Arn'] } },
      // The breakers it closes are announced (operational events), with the operational source only.
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [id(app.stack.events.eventBus), 'Arn'] },
        Condition: { StringEquals: { 'events:source': 'visit-webhooks' } },
      },
    ]);
    const all = JSON.stringify(statements);
    expect(all).not.toContain('/index/*');
    expect(all).not.toContain(id(app.stack.store.apiKeysTable));
  });

  it('alarms when it re-queues overdue deliveries (sum over 5 minutes > 0, missing data not breaching) and when it fails', () => {
    const topic = [{ Ref: id(app.stack.monitoring.topic) }];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'VisitWebhooks',
      MetricName: METRICS.overdue,
      Dimensions: [{ Name: 'service', Value: 'webhook-reconciler' }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: topic,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: topic,
    });
    // No throttle alarm: a tick that outlasts the next one throttles it by design.
    const throttles = template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Throttles', Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }] } });
    expect(Object.keys(throttles)).toHaveLength(0);
  });
});

describe('the reconciler (context overrides)', () => {
  it('re-writes records with the configured retention and logs as configured', () => {
    const { template, app } = synthTemplate({ stage: 'prod', deliveryRetentionDays: '7', logRetentionDays: 14 });
    const fnId = app.stack.getLogicalId(app.stack.reconciler.handler.function.node.defaultChild as never);
    const fn = template.findResources('AWS::Lambda::Function')[fnId] as Resource;
    expect((fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({ [ENV.retentionDays]: '7', POWERTOOLS_LOG_LEVEL: 'INFO' });
  });

  it('reserves no concurrency with reconcilerReservedConcurrency=0 (a new account\'s quota leaves none to reserve), and then alarms on its throttles', () => {
    const { template, app } = synthTemplate({ reconcilerReservedConcurrency: '0' });
    const fnId = app.stack.getLogicalId(app.stack.reconciler.handler.function.node.defaultChild as never);
    const fn = template.findResources('AWS::Lambda::Function')[fnId] as Resource;
    expect(fn.Properties?.ReservedConcurrentExecutions).toBeUndefined();
    const throttles = template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Throttles', Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }] } });
    expect(Object.keys(throttles)).toHaveLength(1);
    expect(synthTemplate({ reconcilerReservedConcurrency: 3 }).template.toJSON().Resources[fnId].Properties.ReservedConcurrentExecutions).toBe(3);
    expect(() => synthTemplate({ reconcilerReservedConcurrency: '-1' })).toThrow(/reconcilerReservedConcurrency/);
  });

  it('refuses a tick that is not a whole number of minutes (the schedule\'s unit)', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'T');
    const table = new dynamodb.Table(stack, 'T1', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const props = { webhooksTable: table, deliveriesTable: table, retryQueue: new sqs.Queue(stack, 'Q') };
    expect(() => new Reconciler(stack, 'R90', { ...props, everySeconds: 90 })).toThrow(/whole number of minutes/);
    expect(() => new Reconciler(stack, 'R30', { ...props, everySeconds: 30 })).toThrow(/whole number of minutes/);
    const ok = new Reconciler(stack, 'R120', { ...props, everySeconds: 120 });
    expect(ok.rule.node.defaultChild).toBeDefined();
  });
});
