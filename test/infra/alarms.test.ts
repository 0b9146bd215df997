import { Match } from 'aws-cdk-lib/assertions';
import { DLQ_EXPIRY_ALARM_AGE } from '../../lib/webhooks-stack';
import { logicalIdOf, synthTemplate } from './app-fixture';

/** The platform's blind spots (docs/runbook.md): rule targets, table throttling, Lambda limits, DLQ expiry; X-Ray as an option. */

type Alarm = { Properties: Record<string, unknown> };

describe('alarms on the platform limits (defaults)', () => {
  const { template, app } = synthTemplate();
  const id = logicalIdOf(app);
  const s = app.stack;
  const topic = [{ Ref: id(s.monitoring.topic) }];
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Alarm[];
  const dims = (...pairs: [string, unknown][]) => pairs.map(([Name, Value]) => ({ Name, Value }));

  it('the visit events rule: FailedInvocations, ThrottledRules, retries for 10 minutes, DLQ failures (custom bus dimensions)', () => {
    const ruleDims = dims(['EventBusName', { Ref: id(s.events.eventBus) }], ['RuleName', { Ref: id(s.events.rule) }]);
    for (const [metric, periods] of [['FailedInvocations', 1], ['ThrottledRules', 1], ['RetryInvocationAttempts', 2], ['InvocationsFailedToBeSentToDlq', 1]] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Events',
        MetricName: metric,
        Dimensions: ruleDims,
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: periods,
        TreatMissingData: 'notBreaching',
        AlarmActions: topic,
      });
    }
  });

  it('the reconciler schedule (default bus: RuleName only): FailedInvocations and ThrottledRules', () => {
    for (const metric of ['FailedInvocations', 'ThrottledRules']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Events', MetricName: metric, Dimensions: dims(['RuleName', { Ref: id(s.reconciler.rule) }]), AlarmActions: topic });
    }
  });

  it('each table: read and write throttle events plus its indexes\' write throttles, above 0 for two 5-minute periods', () => {
    const cases = [
      [s.store.webhooksTable, ['breakers']],
      [s.store.deliveriesTable, ['status', 'due']],
      [s.store.apiKeysTable, ['byAccount']],
    ] as const;
    for (const [table, indexes] of cases) {
      const tableDim = { Name: 'TableName', Value: { Ref: id(table) } };
      const mine = alarms.filter((a) => JSON.stringify(a.Properties.Metrics ?? []).includes(JSON.stringify(tableDim)) && JSON.stringify(a).includes('ThrottleEvents'));
      expect(mine).toHaveLength(1);
      const props = mine[0]?.Properties as { Metrics: { MetricStat?: { Metric: { MetricName: string; Dimensions: unknown[] } }; Expression?: string }[]; EvaluationPeriods: number; Threshold: number };
      expect(props).toMatchObject({ EvaluationPeriods: 2, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: topic });
      const stats = props.Metrics.filter((m) => m.MetricStat).map((m) => [m.MetricStat?.Metric.MetricName, JSON.stringify(m.MetricStat?.Metric.Dimensions)]);
      expect(stats).toEqual([
        ['ReadThrottleEvents', JSON.stringify([tableDim])],
        ['WriteThrottleEvents', JSON.stringify([tableDim])],
        ...indexes.map((name) => ['WriteThrottleEvents', JSON.stringify([{ Name: 'GlobalSecondaryIndexName', Value: name }, tableDim])]),
      ]);
      expect(props.Metrics.find((m) => m.Expression)?.Expression).toBe(['r', 'w', ...indexes.map((_, i) => `i${i}`)].map((k) => `FILL(t${k}, 0)`).join(' + '));
    }
  });

  it('Lambda: errors and throttles per function (the authorizer throttles only, the reconciler errors only with its reservation of 1)', () => {
    const onFunction = (fn: { node: { defaultChild?: unknown } }) =>
      alarms
        .filter((a) => JSON.stringify(a.Properties.Dimensions ?? []) === JSON.stringify(dims(['FunctionName', { Ref: id(fn) }])))
        .map((a) => a.Properties.MetricName)
        .sort();
    expect(onFunction(s.pipeline.deliveryFunction)).toEqual(['ConcurrentExecutions', 'Errors', 'Throttles']);
    expect(onFunction(s.pipeline.retryFunction)).toEqual(['ConcurrentExecutions', 'Errors', 'Throttles']);
    expect(onFunction(s.managementApi.apiFunction)).toEqual(['Errors', 'Throttles']);
    expect(onFunction(s.managementApi.authorizerFunction)).toEqual(['Throttles']);
    expect(onFunction(s.reconciler.handler.function)).toEqual(['Errors']);
  });

  it('concurrency near the limit: each lane at 90 % of its mapping\'s maximum for 5 minutes, the account at 80 % of its quota', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'ConcurrentExecutions',
      Dimensions: dims(['FunctionName', { Ref: id(s.pipeline.deliveryFunction) }]),
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 5,
      Threshold: 18,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [Match.objectLike({ MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'ClaimedAccountConcurrency' }, Period: 60, Stat: 'Maximum' } })],
      EvaluationPeriods: 5,
      Threshold: 800,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: topic,
    });
  });

  it('every DLQ: oldest message older than 10 days (of 14), beside the events and retry queues\' 1-day expiry alarms', () => {
    expect(DLQ_EXPIRY_ALARM_AGE.toDays()).toBe(10);
    for (const queue of [s.events.eventsDlq, s.events.ruleDlq, s.pipeline.retryDlq, s.pipeline.failedDeliveriesQueue]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: dims(['QueueName', { 'Fn::GetAtt': [id(queue), 'QueueName'] }]),
        Threshold: 864_000,
        AlarmActions: topic,
      });
    }
  });

  it('the dashboard graphs the rules, the throttle events and the concurrency, and shows each new alarm', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardBody: unknown } }[];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const title of ['EventBridge rules', 'DynamoDB throttle events', 'Lambda concurrency (max per minute)']) expect(body).toContain(title);
    for (const metric of ['RetryInvocationAttempts', 'ThrottledRules', 'WriteThrottleEvents', 'ClaimedAccountConcurrency', 'ConcurrentExecutions']) expect(body).toContain(metric);
    for (const alarmId of ['VisitEventsRuleRetrying', 'DeliveriesTableThrottles', 'AccountConcurrency', 'EventsDlqExpiry']) {
      const logical = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).find((k) => k.startsWith(`Monitoring${alarmId}`));
      expect(logical).toBeDefined();
      expect(body).toContain(logical);
    }
  });

  it('takes the account quota from context accountConcurrencyQuota and the lane ceilings from the mappings', () => {
    const custom = synthTemplate({ accountConcurrencyQuota: 3000, deliveryConcurrency: 200 }).template;
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { Metrics: [Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ClaimedAccountConcurrency' }) }) })], Threshold: 2400 });
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ConcurrentExecutions', Threshold: 180 });
  });
});

describe('X-Ray tracing (context tracing)', () => {
  it('is off by default: no tracing config on any function, stage tracing off', () => {
    const { template } = synthTemplate();
    expect(JSON.stringify(template.findResources('AWS::Lambda::Function'))).not.toContain('TracingConfig');
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: false });
  });

  it('tracing=true: every function Active, the API stage traced', () => {
    const { template, app } = synthTemplate({ tracing: 'true' });
    const fns = [app.stack.pipeline.delivery, app.stack.pipeline.retry, app.stack.reconciler.handler, app.stack.managementApi.handler, app.stack.managementApi.authorizerHandler];
    for (const fn of fns) {
      template.hasResourceProperties('AWS::Lambda::Function', { Role: { 'Fn::GetAtt': [app.stack.getLogicalId(fn.role.node.defaultChild as never), 'Arn'] }, TracingConfig: { Mode: 'Active' } });
    }
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
    expect(() => synthTemplate({ tracing: 'yes' })).toThrow(/tracing/);
  });
});
