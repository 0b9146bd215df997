import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DEFAULT_OPERATIONAL_EVENT_SOURCE, DEFAULTS, ENV, OPERATIONAL_EVENT_TYPES, operationalEventPattern, visitEventPattern } from '../../lambdas/shared/contract';
import { TABLE_DEFINITIONS, type TableDefinition } from '../../lib/table-definitions';
import { buildTestApp, logicalIdOf, statementsOfRole, synthTemplate } from './app-fixture';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function onlyLogicalId(template: Template, type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

/** Logical id referenced by `{ Ref }` or `{ Fn::GetAtt: [id, attr] }`. */
function referencedId(value: unknown): string {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  const id = v.Ref ?? v['Fn::GetAtt']?.[0];
  if (id === undefined) throw new Error(`not a reference: ${JSON.stringify(value)}`);
  return id;
}

/** Every policy statement in the template that lives in an IAM, queue or topic policy. */
function policyStatements(template: Template): { id: string; statement: Record<string, unknown> }[] {
  const out: { id: string; statement: Record<string, unknown> }[] = [];
  const docsOf: Record<string, (p: Record<string, unknown>) => unknown[]> = {
    'AWS::IAM::Policy': (p) => [p.PolicyDocument],
    'AWS::IAM::ManagedPolicy': (p) => [p.PolicyDocument],
    'AWS::IAM::Role': (p) => ((p.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map((x) => x.PolicyDocument),
    'AWS::SQS::QueuePolicy': (p) => [p.PolicyDocument],
    'AWS::SNS::TopicPolicy': (p) => [p.PolicyDocument],
    'AWS::Events::EventBusPolicy': (p) => [p.Statement === undefined ? undefined : { Statement: [p.Statement] }],
    'AWS::Events::EventBus': (p) => [p.Policy],
  };
  for (const [type, docs] of Object.entries(docsOf)) {
    for (const [id, resource] of Object.entries(resourcesOf(template, type))) {
      for (const doc of docs(resource.Properties ?? {})) {
        const statements = (doc as { Statement?: Record<string, unknown>[] } | undefined)?.Statement ?? [];
        for (const statement of statements) out.push({ id, statement });
      }
    }
  }
  return out;
}



function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function expectedKeySchema(def: { partitionKey: { name: string }; sortKey?: { name: string } }): unknown[] {
  return [
    { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
    ...(def.sortKey ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' }] : []),
  ];
}

describe('WebhooksStack (stage dev, defaults)', () => {
  const { template, app } = synthTemplate();
  const functions = resourcesOf(template, 'AWS::Lambda::Function');
  const queues = resourcesOf(template, 'AWS::SQS::Queue');
  const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping');
  const deliveryFnId = onlyLogicalId(template, 'AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'webhook-delivery' }) } });
  const retryFnId = onlyLogicalId(template, 'AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'webhook-retry' }) } });
  const id = logicalIdOf(app);

  it('is named Webhooks-<stage> and tags every taggable resource with project and stage', () => {
    expect(app.stack.stackName).toBe('Webhooks-dev');
    const tagged = ['AWS::SQS::Queue', 'AWS::DynamoDB::Table', 'AWS::Lambda::Function', 'AWS::IAM::Role', 'AWS::Logs::LogGroup', 'AWS::Events::EventBus', 'AWS::SNS::Topic', 'AWS::KMS::Key'];
    for (const type of tagged) {
      const resources = resourcesOf(template, type);
      expect(Object.keys(resources).length).toBeGreaterThan(0);
      for (const resource of Object.values(resources)) {
        expect(resource.Properties?.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'project', Value: 'visit-webhooks' },
            { Key: 'stage', Value: 'dev' },
          ]),
        );
      }
    }
  });

  it('routes exactly the contract event patterns (visits, and the operational events) from the custom bus to the events queue', () => {
    // The other rule is the reconciler's schedule (on the default bus, no pattern).
    const rules = Object.values(resourcesOf(template, 'AWS::Events::Rule')).filter((r) => r.Properties?.EventPattern !== undefined);
    expect(rules.map((r) => r.Properties?.EventPattern)).toEqual([visitEventPattern(), operationalEventPattern()]);
    for (const rule of rules) {
      expect(referencedId(rule.Properties?.EventBusName)).toBe(id(app.stack.events.eventBus));
      expect(JSON.stringify(rule.Properties?.Targets)).toContain(id(app.stack.events.eventsQueue));
    }
  });

  it('gives the rule target its own DLQ and a retry policy', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [id(app.stack.events.eventsQueue), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(app.stack.events.ruleDlq), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 24 * 3600 },
        },
      ],
    });
  });

  it('consumes the events and retry queues with partial batch responses and capped concurrency', () => {
    const expected = {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 20 },
    };
    template.resourcePropertiesCountIs('AWS::Lambda::EventSourceMapping', expected, 2);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ...expected,
      EventSourceArn: { 'Fn::GetAtt': [id(app.stack.events.eventsQueue), 'Arn'] },
      FunctionName: { Ref: deliveryFnId },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ...expected,
      EventSourceArn: { 'Fn::GetAtt': [id(app.stack.pipeline.retryQueue), 'Arn'] },
      FunctionName: { Ref: retryFnId },
    });
  });

  it('redrives the consumed queues to their DLQs after 5 receives, keeps DLQ messages 14 days, events 14 days, retries 4 days', () => {
    const pairs = [
      [app.stack.events.eventsQueue, app.stack.events.eventsDlq],
      [app.stack.pipeline.retryQueue, app.stack.pipeline.retryDlq],
    ] as const;
    for (const [queue, dlq] of pairs) {
      expect(queues[id(queue)]?.Properties?.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [id(dlq), 'Arn'] },
        maxReceiveCount: 5,
      });
      expect(queues[id(dlq)]?.Properties?.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      // A moved message keeps its enqueue time: the DLQ must last at least as long as its source queue.
      expect(queues[id(queue)]?.Properties?.MessageRetentionPeriod).toBeLessThanOrEqual(14 * 24 * 3600);
    }
    // The events queue keeps the SQS maximum (an outage of the delivery path loses nothing for 14 days);
    // the retry queue's messages are re-sent every ≤ 15 min, so the default 4 days is plenty.
    expect(queues[id(app.stack.events.eventsQueue)]?.Properties?.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(queues[id(app.stack.pipeline.retryQueue)]?.Properties?.MessageRetentionPeriod).toBe(4 * 24 * 3600);
    expect(queues[id(app.stack.events.ruleDlq)]?.Properties?.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(queues[id(app.stack.pipeline.failedDeliveriesQueue)]?.Properties?.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('encrypts every queue and denies every request that is not over TLS', () => {
    expect(Object.keys(queues)).toHaveLength(6);
    const queuePolicies = Object.values(resourcesOf(template, 'AWS::SQS::QueuePolicy'));
    for (const [queueId, queue] of Object.entries(queues)) {
      const encrypted = queue.Properties?.SqsManagedSseEnabled === true || queue.Properties?.KmsMasterKeyId !== undefined;
      expect({ queueId, encrypted }).toEqual({ queueId, encrypted: true });
      const denies = queuePolicies
        .filter((p) => asArray(p.Properties?.Queues).some((q) => referencedId(q) === queueId))
        .flatMap((p) => (p.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement)
        .filter((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }));
      expect({ queueId, denies: denies.length }).toEqual({ queueId, denies: 1 });
    }
  });

  it('sets each consumed queue visibility timeout to at least 6x its function timeout', () => {
    expect(Object.keys(mappings)).toHaveLength(2);
    for (const mapping of Object.values(mappings)) {
      const queue = queues[referencedId(mapping.Properties?.EventSourceArn)];
      const fn = functions[referencedId(mapping.Properties?.FunctionName)];
      const timeout = fn?.Properties?.Timeout as number;
      expect(timeout).toBe(30);
      expect(queue?.Properties?.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * timeout);
    }
  });

  it('creates the tables from TABLE_DEFINITIONS, with PITR, encryption at rest and on-demand billing', () => {
    const tables = resourcesOf(template, 'AWS::DynamoDB::Table');
    const byConstruct: [keyof typeof TABLE_DEFINITIONS, { node: { defaultChild?: unknown } }][] = [
      ['webhooks', app.stack.store.webhooksTable],
      ['deliveries', app.stack.store.deliveriesTable],
      ['stats', app.stack.store.statsTable],
      ['apiKeys', app.stack.store.apiKeysTable],
    ];
    expect(Object.keys(tables)).toHaveLength(4);
    for (const [name, construct] of byConstruct) {
      const def: TableDefinition = TABLE_DEFINITIONS[name];
      const props = tables[id(construct)]?.Properties ?? {};
      expect(props.KeySchema).toEqual(expectedKeySchema(def));
      expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(props.SSESpecification).toEqual({ SSEEnabled: true });
      expect(props.BillingMode).toBe('PAY_PER_REQUEST');
      expect(props.TableName).toBeUndefined();
      expect(tables[id(construct)]?.DeletionPolicy).toBe('Delete');
      expect(props.DeletionProtectionEnabled).toBe(false);
    }
  });

  it('turns point-in-time recovery off on the deliveries table only, with deliveriesPointInTimeRecovery=false', () => {
    const { template: off, app: offApp } = synthTemplate({ deliveriesPointInTimeRecovery: false });
    const tables = resourcesOf(off, 'AWS::DynamoDB::Table');
    const offId = logicalIdOf(offApp);
    const pitr = (construct: { node: { defaultChild?: unknown } }) => tables[offId(construct)]?.Properties?.PointInTimeRecoverySpecification;
    expect(pitr(offApp.stack.store.deliveriesTable)).toEqual({ PointInTimeRecoveryEnabled: false });
    expect(pitr(offApp.stack.store.webhooksTable)).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(pitr(offApp.stack.store.apiKeysTable)).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('uses the key schemas the handlers rely on, TTL on deliveries and the byAccount index on API keys', () => {
    const gsi = (name: string, hash: string, range: string) => ({
      IndexName: name,
      KeySchema: [
        { AttributeName: hash, KeyType: 'HASH' },
        { AttributeName: range, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'accountId', KeyType: 'HASH' },
        { AttributeName: 'webhookId', KeyType: 'RANGE' },
      ],
      // Sparse: only webhooks whose circuit breaker is set.
      GlobalSecondaryIndexes: [gsi('breakers', 'breakerShard', 'breakerProbeAt')],
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      // Sparse: every record that is not delivered (by status), and what the reconciler sweeps.
      GlobalSecondaryIndexes: [gsi('status', 'statusKey', 'sk'), gsi('due', 'dueShard', 'sweepAt')],
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'keyHash', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byAccount',
          KeySchema: [
            { AttributeName: 'accountId', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('runs every function on arm64 Node.js 22 with an explicit log group with retention', () => {
    // The delivery path's two, the reconciler, and the management API's two (test/infra/api.test.ts).
    expect(Object.keys(functions)).toHaveLength(5);
    expect(functions[deliveryFnId]?.Properties?.Timeout).toBe(30);
    expect(functions[retryFnId]?.Properties?.Timeout).toBe(30);
    const logGroups = resourcesOf(template, 'AWS::Logs::LogGroup');
    // The lanes are sized from their measured peak RSS (lib/config.ts); the other functions keep 512 MB.
    const laneMemory = new Map([
      [deliveryFnId, 384],
      [retryFnId, 256],
    ]);
    for (const [fnId, fn] of Object.entries(functions)) {
      expect(fn.Properties).toMatchObject({
        Architectures: ['arm64'],
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        MemorySize: laneMemory.get(fnId) ?? 512,
      });
      const logGroup = logGroups[referencedId((fn.Properties?.LoggingConfig as { LogGroup: unknown }).LogGroup)];
      expect(logGroup?.Properties?.RetentionInDays).toBe(7);
      expect(logGroup?.Properties?.LogGroupName).toBeUndefined();
    }
  });

  it('gives both functions the environment the handlers read, merged with the Powertools defaults', () => {
    for (const fnId of [deliveryFnId, retryFnId]) {
      const vars = (functions[fnId]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(vars).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_METRICS_NAMESPACE: 'VisitWebhooks',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        [ENV.webhooksTable]: { Ref: id(app.stack.store.webhooksTable) },
        [ENV.deliveriesTable]: { Ref: id(app.stack.store.deliveriesTable) },
        [ENV.eventsDlqUrl]: { Ref: id(app.stack.events.eventsDlq) },
        [ENV.retryQueueUrl]: { Ref: id(app.stack.pipeline.retryQueue) },
        [ENV.failedQueueUrl]: { Ref: id(app.stack.pipeline.failedDeliveriesQueue) },
        [ENV.allowHttp]: 'false',
        [ENV.allowPrivateTargets]: 'false',
        [ENV.retrySchedule]: DEFAULTS.retryScheduleSeconds.join(','),
        [ENV.retentionDays]: String(DEFAULTS.deliveryRetentionDays),
        [ENV.autoDisableAfterDays]: String(DEFAULTS.autoDisableAfterDays),
        [ENV.eventSource]: 'tracking',
      });
    }
  });

  it('grants the delivery and retry functions exactly the DynamoDB actions their code calls, on the two tables and no index', () => {
    const tableArn = (construct: { node: { defaultChild?: unknown } }): unknown => ({ 'Fn::GetAtt': [id(construct), 'Arn'] });
    for (const role of [app.stack.pipeline.delivery.role, app.stack.pipeline.retry.role]) {
      const dynamo = statementsOfRole(template, id(role)).filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
      // Before: grantReadWriteData on both tables (every read and write action, and `<table>/index/*`).
      expect(dynamo).toEqual([
        // listByAccount (Query on the table's key), get, and markFailing/clearFailing/autoDisable/markSlow/setBreaker.
        { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: tableArn(app.stack.store.webhooksTable) },
        // get (a record; a success by its minute: Query; its payload: BatchGetItem), write (and the rate
        // limiter's counters), the payload item and a success item a batch could not write (PutItem),
        // writeDelivered (BatchWriteItem of puts).
        {
          Effect: 'Allow',
          Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
          Resource: tableArn(app.stack.store.deliveriesTable),
        },
        // The statistics: one ADD per webhook and hour per invocation.
        { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: tableArn(app.stack.store.statsTable) },
      ]);
      const all = JSON.stringify(statementsOfRole(template, id(role)));
      expect(all).not.toContain('/index/');
      // The API keys table is the management API's business, not the delivery path's.
      expect(all).not.toContain(id(app.stack.store.apiKeysTable));
    }
  });

  it('lets the delivery and retry functions send to their queues (the retry queue for hops and hand-offs)', () => {
    const arn = (queue: { node: { defaultChild?: unknown } }) => JSON.stringify({ 'Fn::GetAtt': [id(queue), 'Arn'] });
    for (const role of [app.stack.pipeline.delivery.role, app.stack.pipeline.retry.role]) {
      const sends = statementsOfRole(template, id(role)).filter((s) => asArray(s.Action).includes('sqs:SendMessage'));
      const targets = sends.flatMap((s) => asArray(s.Resource).map((r) => JSON.stringify(r)));
      for (const queue of [app.stack.events.eventsDlq, app.stack.pipeline.failedDeliveriesQueue, app.stack.pipeline.retryQueue]) expect(targets).toContain(arn(queue));
    }
  });

  it('lets only the retry function run in a recursive loop (it re-enqueues to its own queue); every other function keeps Lambda\'s default (Terminate)', () => {
    expect(functions[retryFnId]?.Properties?.RecursiveLoop).toBe('Allow');
    for (const [fnId, fn] of Object.entries(functions)) {
      if (fnId === retryFnId) continue;
      expect({ fnId, recursiveLoop: fn.Properties?.RecursiveLoop }).toEqual({ fnId, recursiveLoop: undefined });
    }
  });

  it('uses no AWS-managed policies (but API Gateway\'s logging role) and no "*" resource in any policy statement', () => {
    const cloudWatchRoleId = app.stack.getLogicalId(app.stack.managementApi.api.node.findChild('CloudWatchRole').node.defaultChild as never);
    for (const [roleId, role] of Object.entries(resourcesOf(template, 'AWS::IAM::Role'))) {
      if (roleId === cloudWatchRoleId) {
        // The account-level role API Gateway writes execution logs with (acknowledged in nag.test.ts).
        expect(JSON.stringify(role.Properties?.ManagedPolicyArns)).toMatch(/^\[\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":iam::aws:policy\/service-role\/AmazonAPIGatewayPushToCloudWatchLogs"\]\]\}\]$/);
        continue;
      }
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
    const statements = policyStatements(template);
    expect(statements.length).toBeGreaterThan(10);
    // KMS key policies are not checked here: in a key policy "Resource": "*" means "this key".
    const wildcards = statements.filter(({ statement }) => asArray(statement.Resource).some((r) => typeof r === 'string' && r.includes('*')));
    expect(wildcards).toEqual([]);
    const wildcardAllows = statements.filter(
      ({ statement }) => statement.Effect === 'Allow' && asArray(statement.Action).some((a) => typeof a === 'string' && a.includes('*')),
    );
    expect(wildcardAllows).toEqual([]);
  });

  it('alarms on the depth of every DLQ, to the alarm topic', () => {
    const topicRef = { Ref: id(app.stack.monitoring.topic) };
    const dlqs = [app.stack.events.eventsDlq, app.stack.events.ruleDlq, app.stack.pipeline.retryDlq, app.stack.pipeline.failedDeliveriesQueue];
    for (const dlq of dlqs) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(dlq), 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        AlarmActions: [topicRef],
      });
    }
  });

  it('alarms on the age of the oldest message of the events queue (5 min) and the retry queue (30 min)', () => {
    const cases = [
      [app.stack.events.eventsQueue, 300],
      [app.stack.pipeline.retryQueue, 1800],
    ] as const;
    for (const [queue, threshold] of cases) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(queue), 'QueueName'] } }],
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: id(app.stack.monitoring.topic) }],
      });
    }
  });

  it('alarms when the oldest message of the events or retry queue is older than 1 day, long before it would expire', () => {
    for (const queue of [app.stack.events.eventsQueue, app.stack.pipeline.retryQueue]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(queue), 'QueueName'] } }],
        Threshold: 86_400,
        ComparisonOperator: 'GreaterThanThreshold',
        Statistic: 'Maximum',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: id(app.stack.monitoring.topic) }],
      });
    }
    // Both on the dashboard as alarm widgets (by ARN).
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).filter((alarmId) => /MonitoringEventsQueueExpiry|MonitoringRetryQueueExpiry/.test(alarmId));
    expect(alarmIds).toHaveLength(2);
    for (const alarmId of alarmIds) expect(body).toContain(`"${alarmId}","Arn"`);
    expect(body).toContain('Events queue: oldest message > 1 day');
  });

  it('deletes the events and retry queues with the stage outside prod', () => {
    for (const queue of [app.stack.events.eventsQueue, app.stack.pipeline.retryQueue]) expect(queues[id(queue)]?.DeletionPolicy).toBe('Delete');
  });

  it('alarms on errors and throttles of both functions', () => {
    for (const fnId of [deliveryFnId, retryFnId]) {
      for (const metric of ['Errors', 'Throttles']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
          AlarmActions: [{ Ref: id(app.stack.monitoring.topic) }],
        });
      }
    }
    // 4 DLQ depths, 2 queue ages, 2 queue expiries, errors and throttles of the delivery, retry and API functions, API 5XX,
    // failure rate, the reconciler's errors, overdue deliveries and operational events not published (19); the
    // authorizer's throttles, the visit events rule (4) and the schedule rule (2), 3 tables, 2 lanes' and the
    // account's concurrency, 4 DLQ expiries (17, test/infra/alarms.test.ts).
    expect(app.stack.monitoring.alarms).toHaveLength(36);
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(36);
  });

  it('alarms on the delivery failure rate from the functions own metrics, above a minimum volume', () => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    const rate = Object.values(alarms).find((a) => JSON.stringify(a).includes('DeliveryAttemptFailed'));
    expect(rate).toBeDefined();
    const props = (rate as { Properties: { Threshold: number; Metrics: Array<{ Expression?: string; MetricStat?: { Metric: { Namespace: string; Dimensions: Array<{ Value: string }> } } }> } }).Properties;
    expect(props.Threshold).toBe(50);
    const expression = props.Metrics.find((m) => m.Expression)?.Expression ?? '';
    expect(expression).toMatch(/^IF\(.* >= 20, 100 \* /);
    const services = props.Metrics.flatMap((m) => m.MetricStat?.Metric.Dimensions.map((d) => d.Value) ?? []);
    expect(new Set(services)).toEqual(new Set(['webhook-delivery', 'webhook-retry']));
    expect(props.Metrics.every((m) => !m.MetricStat || m.MetricStat.Metric.Namespace === 'VisitWebhooks')).toBe(true);
  });

  it('has a CloudWatch dashboard of deliveries, breakers, the reconciler\'s alarms, queues, functions and the API', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    expect(Object.keys(dashboards)).toHaveLength(1);
    const body = JSON.stringify(Object.values(dashboards)[0]);
    for (const text of ['Deliveries', 'DeliverySucceeded', 'Queue depth', 'Oldest message age', 'Function errors and throttles', 'Management API']) expect(body).toContain(text);
    for (const text of ['Breakers and parked deliveries', 'DeliveryParked', 'BreakerOpened', 'BreakerClosed', 'webhook-reconciler', 'Overdue deliveries', 'Reconciler errors']) expect(body).toContain(text);
    // The two reconciler alarms are on it as alarm widgets (by ARN).
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).filter((alarmId) => /MonitoringOverdueDeliveries|MonitoringReconcilerFunctionErrors/.test(alarmId));
    expect(alarmIds).toHaveLength(2);
    for (const alarmId of alarmIds) expect(body).toContain(`"${alarmId}","Arn"`);
    // And the reconciler among the functions.
    expect(body).toContain(`"Ref":"${id(app.stack.reconciler.handler.function)}"`);
  });

  it('encrypts the alarm topic with a rotated key CloudWatch may use, and enforces TLS on publish', () => {
    const keyId = id(app.stack.monitoring.topicKey);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('has a described output for every endpoint the pipeline and operators need', () => {
    const outputs = template.findOutputs('*');
    const names = [
      'EventBusName',
      'EventBusArn',
      'PutEventsPolicyArn',
      'EventSource',
      'PublisherIdentityPolicy',
      'EventsQueueUrl',
      'EventsDlqUrl',
      'RuleDlqUrl',
      'RetryQueueUrl',
      'RetryDlqUrl',
      'FailedDeliveriesQueueUrl',
      'WebhooksTableName',
      'DeliveriesTableName',
      'StatsTableName',
      'ApiKeysTableName',
      'AlarmTopicArn',
      'ApiUrl',
      'OperationalEventSource',
      'OperationalEventDetailTypes',
    ];
    expect(Object.keys(outputs).sort()).toEqual([...names].sort());
    for (const name of names) expect(outputs[name]?.Description).toEqual(expect.any(String));
    expect(outputs.EventBusName?.Value).toEqual({ Ref: id(app.stack.events.eventBus) });
    expect(outputs.FailedDeliveriesQueueUrl?.Value).toEqual({ Ref: id(app.stack.pipeline.failedDeliveriesQueue) });
    expect(outputs.OperationalEventSource?.Value).toBe(DEFAULT_OPERATIONAL_EVENT_SOURCE);
    expect(outputs.OperationalEventDetailTypes?.Value).toBe(OPERATIONAL_EVENT_TYPES.join(','));
  });

  it('exposes what a rule on the operational events needs as construct properties', () => {
    expect(app.stack.operationalEvents.eventBus).toBe(app.stack.events.eventBus);
    expect(app.stack.operationalEvents.source).toBe(DEFAULT_OPERATIONAL_EVENT_SOURCE);
    expect(app.stack.operationalEvents.detailTypes).toEqual(OPERATIONAL_EVENT_TYPES);
    expect(app.stack.operationalEvents.eventPattern).toEqual({ source: [DEFAULT_OPERATIONAL_EVENT_SOURCE], detailType: [...OPERATIONAL_EVENT_TYPES] });
  });

  it("synthesizes the README's rule: auto-disables on the bus to an SNS topic", () => {
    const { stack: webhooks } = buildTestApp();
    const topic = new sns.Topic(webhooks, 'WebhookDisabledTopic');
    new events.Rule(webhooks, 'WebhookDisabledToSns', {
      eventBus: webhooks.operationalEvents.eventBus,
      eventPattern: { source: [webhooks.operationalEvents.source], detailType: ['WEBHOOK_AUTO_DISABLED'] },
      targets: [new eventTargets.SnsTopic(topic, { message: events.RuleTargetInput.fromEventPath('$.detail.data') })],
    });
    Template.fromStack(webhooks).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['visit-webhooks'], 'detail-type': ['WEBHOOK_AUTO_DISABLED'] },
      Targets: [Match.objectLike({ Arn: { Ref: webhooks.getLogicalId(topic.node.defaultChild as never) }, InputPath: '$.detail.data' })],
    });
  });

  it('grants events:PutEvents, with the operational source only, to exactly the functions that emit operational events', () => {
    const busArn = { 'Fn::GetAtt': [id(app.stack.events.eventBus), 'Arn'] };
    const emitters = [app.stack.pipeline.delivery, app.stack.pipeline.retry, app.stack.reconciler.handler].map((f) => id(f.role));
    // Every inline policy of the stack that allows PutEvents, by the roles it is attached to.
    const putters = Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties?.PolicyDocument).includes('events:PutEvents'))
      .flatMap((p) => (p.Properties?.Roles as Array<{ Ref: string }>).map((r) => r.Ref));
    expect(putters.sort()).toEqual([...emitters].sort());
    for (const roleId of emitters) {
      const puts = statementsOfRole(template, roleId).filter((st) => JSON.stringify(st.Action).includes('events:'));
      expect(puts).toEqual([{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn, Condition: { StringEquals: { 'events:source': DEFAULT_OPERATIONAL_EVENT_SOURCE } } }]);
    }
    for (const fn of [app.stack.pipeline.delivery, app.stack.pipeline.retry, app.stack.reconciler.handler]) {
      const env = (functions[id(fn.function)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env[ENV.eventBusName]).toEqual({ Ref: id(app.stack.events.eventBus) });
      expect(env[ENV.operationalEventSource]).toBe(DEFAULT_OPERATIONAL_EVENT_SOURCE);
    }
  });

  it('offers a managed policy that allows events:PutEvents on this bus only, with the tracking source only (no operational events)', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [id(app.stack.events.eventBus), 'Arn'] }, Condition: { StringEquals: { 'events:source': 'tracking' } } }] },
    });
  });
});

describe('WebhooksStack (stage prod)', () => {
  const { template, app } = synthTemplate({ stage: 'prod', alarmEmail: 'ops@example.com' });

  it('retains and deletion-protects the tables, and protects the stack', () => {
    const tables = Object.values(resourcesOf(template, 'AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(4);
    for (const table of tables) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
      expect(table.Properties?.DeletionProtectionEnabled).toBe(true);
    }
    expect(app.stack.stackName).toBe('Webhooks-prod');
    expect(app.stack.terminationProtection).toBe(true);
  });

  it('retains the DLQs and the in-flight queues (events, retry), and logs 30 days at INFO level', () => {
    const id = logicalIdOf(app);
    const queues = resourcesOf(template, 'AWS::SQS::Queue');
    for (const queue of [
      app.stack.events.eventsQueue,
      app.stack.pipeline.retryQueue,
      app.stack.events.eventsDlq,
      app.stack.events.ruleDlq,
      app.stack.pipeline.retryDlq,
      app.stack.pipeline.failedDeliveriesQueue,
    ]) {
      expect(queues[id(queue)]?.DeletionPolicy).toBe('Retain');
      expect(queues[id(queue)]?.UpdateReplacePolicy).toBe('Retain');
    }
    expect(Object.values(queues).every((queue) => queue.DeletionPolicy === 'Retain')).toBe(true);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.allResourcesProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: 'INFO' }) },
    });
  });

  it('subscribes the alarm email to the topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('runs the functions without --enable-source-maps (init and first-stack cost, docs/deployment.md) unless sourceMaps=true', () => {
    const functions = Object.values(resourcesOf(template, 'AWS::Lambda::Function'));
    expect(functions).toHaveLength(5);
    for (const fn of functions) expect((fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables).not.toHaveProperty('NODE_OPTIONS');
    const withMaps = synthTemplate({ stage: 'prod', sourceMaps: 'true' }).template;
    withMaps.allResourcesProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) } });
    const devWithout = synthTemplate({ sourceMaps: false }).template;
    expect(JSON.stringify(devWithout.findResources('AWS::Lambda::Function'))).not.toContain('enable-source-maps');
  });
});

describe('WebhooksStack (context overrides)', () => {
  const { template } = synthTemplate({
    stage: 'staging-2',
    eventSource: 'tracking.v2',
    retrySchedule: '10, 60,600',
    allowHttpTargets: 'true',
    deliveryRetentionDays: '7',
    autoDisableAfterDays: 3,
    deliveryConcurrency: '50',
    logRetentionDays: 14,
  });

  it('flows context into the rule, the environment, the mappings and the log groups', () => {
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: visitEventPattern('tracking.v2') });
    // The delivery path's functions read all of these; the API function the ones it shares (api.test.ts).
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      {
        Environment: {
          Variables: Match.objectLike({
            [ENV.retrySchedule]: '10,60,600',
            [ENV.allowHttp]: 'true',
            [ENV.retentionDays]: '7',
            [ENV.autoDisableAfterDays]: '3',
            [ENV.eventSource]: 'tracking.v2',
            POWERTOOLS_LOG_LEVEL: 'DEBUG',
          }),
        },
      },
      2,
    );
    template.allResourcesProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 50 } });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});

describe('WebhooksStack (provisioned pollers and warm throughput)', () => {
  const { template, app } = synthTemplate({ deliveryConcurrency: 1000, deliveryPollers: 230, retryPollers: 120, retryMinPollers: 10, deliveriesWarmWrites: 140_000 });
  const id = logicalIdOf(app);

  it('puts each lane\'s mapping in provisioned mode, without MaximumConcurrency, and pre-warms the deliveries table', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Array<{ Properties: Record<string, unknown> }>;
    const byQueue = (queue: unknown) => mappings.find((m) => JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify({ 'Fn::GetAtt': [id(queue as never), 'Arn'] }))?.Properties;
    expect(byQueue(app.stack.events.eventsQueue)).toMatchObject({ ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 230 } });
    expect(byQueue(app.stack.pipeline.retryQueue)).toMatchObject({ ProvisionedPollerConfig: { MinimumPollers: 10, MaximumPollers: 120 } });
    for (const m of mappings) expect(m.Properties).not.toHaveProperty('ScalingConfig');
    template.hasResourceProperties('AWS::DynamoDB::Table', { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], WarmThroughput: { WriteUnitsPerSecond: 140_000 } });
  });
});

describe('WebhooksStack (lane capacity context)', () => {
  const { template, app } = synthTemplate({
    deliveryConcurrency: '50',
    retryConcurrency: 8,
    deliveryReservedConcurrency: '60',
    deliveryBatchSize: '100',
    deliveryMaxBatchingWindowSeconds: 5,
    deliveryMemoryMb: '1024',
    retryBatchSize: 5,
    retryMaxBatchingWindowSeconds: '0',
    retryMemoryMb: 256,
  });
  const id = logicalIdOf(app);

  it('sets each lane\'s mapping from its own keys', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(app.stack.events.eventsQueue), 'Arn'] },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    const retryMapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping', {
      Properties: { EventSourceArn: { 'Fn::GetAtt': [id(app.stack.pipeline.retryQueue), 'Arn'] } },
    }));
    expect(retryMapping).toHaveLength(1);
    expect(retryMapping[0]?.Properties).toMatchObject({ BatchSize: 5, ScalingConfig: { MaximumConcurrency: 8 } });
    // A window of 0 is no window.
    expect(retryMapping[0]?.Properties?.MaximumBatchingWindowInSeconds ?? 0).toBe(0);
  });

  it('sets each lane\'s memory and reserved concurrency (none unless asked for)', () => {
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    expect(functions[id(app.stack.pipeline.deliveryFunction)]?.Properties).toMatchObject({ MemorySize: 1024, ReservedConcurrentExecutions: 60 });
    expect(functions[id(app.stack.pipeline.retryFunction)]?.Properties).toMatchObject({ MemorySize: 256 });
    expect(functions[id(app.stack.pipeline.retryFunction)]?.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
  });
});

describe('WebhooksStack (lane defaults)', () => {
  const { template, app } = synthTemplate();
  it('has no reserved concurrency, 384 MB on the delivery function and 256 MB on the retry function', () => {
    const id = logicalIdOf(app);
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    for (const [fn, mb] of [
      [app.stack.pipeline.deliveryFunction, 384],
      [app.stack.pipeline.retryFunction, 256],
    ] as const) {
      expect(functions[id(fn)]?.Properties?.MemorySize).toBe(mb);
      expect(functions[id(fn)]?.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    }
  });
});
