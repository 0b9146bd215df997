import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../../lambdas/shared/contract';

export interface MonitoringProps {
  /**
   * Email address subscribed to the alarm topic (the subscription must be confirmed).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Removal policy of the topic's KMS key.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

const PERIOD = Duration.minutes(5);

/**
 * The alarm topic and the alarms on it. The topic is encrypted with its own KMS key:
 * CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed `aws/sns`
 * key, whose policy cannot be changed to admit them.
 */
export class Monitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly topicKey: kms.Key;
  /** Every alarm made through this construct, in creation order. */
  public readonly alarms: cloudwatch.Alarm[] = [];
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    // Alarm names are generated, so the confused-deputy guard matches any alarm of this account and region.
    const alarmArnPattern = stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': alarmArnPattern },
    };

    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the visit webhooks alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy, "*" means this key
        conditions: fromOwnAlarms,
      }),
    );

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Visit webhooks alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, so CloudWatch must be admitted explicitly.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromOwnAlarms,
      }),
    );
    if (props.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    this.action = new SnsAction(this.topic);
  }

  /** Alarms as soon as a (dead-letter) queue holds a message. */
  public alarmOnQueueDepth(id: string, queue: sqs.IQueue, description: string): cloudwatch.Alarm {
    return this.addAlarm(id, {
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: description,
    });
  }

  /** Alarms when the oldest message of a queue is older than `maxAge` (consumers stalled or too slow). */
  public alarmOnQueueAge(id: string, queue: sqs.IQueue, maxAge: Duration, description: string): cloudwatch.Alarm {
    return this.addAlarm(id, {
      metric: queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: maxAge.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: description,
    });
  }

  /** Alarms on any error (a crashed invocation, not a reported batch item failure) and any throttle. */
  public alarmOnFunction(id: string, fn: lambda.IFunction, name: string): cloudwatch.Alarm[] {
    return [this.alarmOnFunctionErrors(id, fn, name), this.alarmOnFunctionThrottles(id, fn, name)];
  }

  /** Alarms on any failed invocation of the function (an error or a timeout); id `<id>Errors`. */
  public alarmOnFunctionErrors(id: string, fn: lambda.IFunction, name: string): cloudwatch.Alarm {
    return this.addAlarm(`${id}Errors`, {
      metric: fn.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `The ${name} function failed invocations (errors or timeouts)`,
    });
  }

  /**
   * The AWS/Events metrics of one rule: on a custom bus they carry `EventBusName` and `RuleName`,
   * on the default bus `RuleName` only (EventBridge's convention).
   */
  public static ruleMetric(rule: events.IRule, metricName: string, eventBus?: events.IEventBus): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName,
      dimensionsMap: { ...(eventBus ? { EventBusName: eventBus.eventBusName } : {}), RuleName: rule.ruleName },
      period: PERIOD,
      statistic: cloudwatch.Stats.SUM,
    });
  }

  /**
   * Alarms on a rule's target trouble (ids `<id>FailedInvocations`, `<id>Throttled`, and with
   * `retries`, `<id>Retrying`, `<id>DlqFailures`):
   * - `FailedInvocations`: invocations that failed for good and were not dead-lettered (> 0);
   * - `ThrottledRules`: the rule was throttled (> 0);
   * - `RetryInvocationAttempts` (> 0 in two 5-minute periods in a row): the target keeps failing
   *   now (a broken queue policy, a deleted queue); without it, such a failure shows only when the
   *   events leave the retry policy (up to 24 h later) for the DLQ;
   * - `InvocationsFailedToBeSentToDlq` (> 0): events lost, the DLQ itself refused them.
   */
  public alarmOnRule(id: string, rule: events.IRule, name: string, options: { eventBus?: events.IEventBus; retries?: boolean } = {}): cloudwatch.Alarm[] {
    const metric = (metricName: string) => Monitoring.ruleMetric(rule, metricName, options.eventBus);
    const alarms = [
      this.addAlarm(`${id}FailedInvocations`, {
        metric: metric('FailedInvocations'),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: `The ${name} rule failed to invoke its target for good (EventBridge FailedInvocations)`,
      }),
      this.addAlarm(`${id}Throttled`, {
        metric: metric('ThrottledRules'),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: `The ${name} rule was throttled (EventBridge ThrottledRules): invocations are delayed and retried`,
      }),
    ];
    if (options.retries) {
      alarms.push(
        this.addAlarm(`${id}Retrying`, {
          metric: metric('RetryInvocationAttempts'),
          threshold: 0,
          evaluationPeriods: 2,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          alarmDescription: `EventBridge has been retrying the ${name} rule's target for 10 minutes (RetryInvocationAttempts): the target refuses events (queue policy, queue deleted); after 24 h they go to the rule DLQ`,
        }),
        this.addAlarm(`${id}DlqFailures`, {
          metric: metric('InvocationsFailedToBeSentToDlq'),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          alarmDescription: `Events of the ${name} rule could not be put on its DLQ either (InvocationsFailedToBeSentToDlq): they are lost`,
        }),
      );
    }
    return alarms;
  }

  /**
   * Read and write throttle events of a table and the write throttles of its indexes (a GSI that
   * cannot keep up throttles the table's writes), summed over 5 minutes.
   */
  public static tableThrottles(table: dynamodb.ITable, indexNames: readonly string[] = [], label?: string, idPrefix = 't'): cloudwatch.MathExpression {
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    const terms: string[] = [];
    const add = (suffix: string, metricName: string, extra: Record<string, string> = {}) => {
      const key = `${idPrefix}${suffix}`;
      usingMetrics[key] = new cloudwatch.Metric({
        namespace: 'AWS/DynamoDB',
        metricName,
        dimensionsMap: { TableName: table.tableName, ...extra },
        period: PERIOD,
        statistic: cloudwatch.Stats.SUM,
      });
      terms.push(`FILL(${key}, 0)`);
    };
    add('r', 'ReadThrottleEvents');
    add('w', 'WriteThrottleEvents');
    indexNames.forEach((indexName, i) => add(`i${i}`, 'WriteThrottleEvents', { GlobalSecondaryIndexName: indexName }));
    return new cloudwatch.MathExpression({ expression: terms.join(' + '), usingMetrics, period: PERIOD, ...(label !== undefined ? { label } : {}) });
  }

  /**
   * Alarms when a table (or one of its indexes) throttled requests in two 5-minute periods in a
   * row: the SDK retries a throttled request a few times, so a single burst is absorbed; sustained
   * throttling means a hot partition (the attempt log's per-webhook key) or the table's on-demand
   * ceiling, and failed writes that turn into retries and DLQ messages.
   */
  public alarmOnTableThrottles(id: string, table: dynamodb.ITable, name: string, indexNames: readonly string[] = []): cloudwatch.Alarm {
    return this.addAlarm(id, {
      metric: Monitoring.tableThrottles(table, indexNames, `${name} throttle events`),
      threshold: 0,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `The ${name} table${indexNames.length > 0 ? ' or its indexes' : ''} throttled requests for 10 minutes (Read/WriteThrottleEvents): a hot partition or the table's throughput ceiling`,
    });
  }

  /** Alarms on any throttled invocation of the function; id `<id>Throttles`. */
  public alarmOnFunctionThrottles(id: string, fn: lambda.IFunction, name: string): cloudwatch.Alarm {
    return this.addAlarm(`${id}Throttles`, {
      metric: fn.metricThrottles({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `The ${name} function was throttled`,
    });
  }

  /**
   * Alarms when the function's concurrency (its `ConcurrentExecutions`, maximum over a minute) stays
   * at `share` (default 90 %) of `limit` or more for 5 minutes: the lane uses all the concurrency it
   * may (its reserved concurrency, or its mapping's maximum concurrency), so its queue grows.
   */
  public alarmOnFunctionConcurrency(id: string, fn: lambda.IFunction, name: string, limit: number, limitName: string, share = 0.9): cloudwatch.Alarm {
    const threshold = Math.max(1, Math.floor(limit * share));
    return this.addAlarm(id, {
      metric: fn.metric('ConcurrentExecutions', { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: `The ${name} function ran at ${threshold} or more concurrent executions for 5 minutes (${Math.round(share * 100)} % of its ${limitName}, ${limit}): it is at its ceiling, its queue grows`,
    });
  }

  /**
   * Alarms when the account's claimed concurrency in the region (`ClaimedAccountConcurrency`:
   * unreserved executions plus every reservation) stays at `share` (default 80 %) of `quota` or more
   * for 5 minutes: past the quota every function of the account is throttled, and throttled SQS
   * messages count towards `maxReceiveCount`.
   */
  public alarmOnAccountConcurrency(id: string, quota: number, share = 0.8): cloudwatch.Alarm {
    const threshold = Math.floor(quota * share);
    return this.addAlarm(id, {
      metric: Monitoring.accountConcurrency(),
      threshold,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: `The account's Lambda concurrency in this region reached ${threshold} (${Math.round(share * 100)} % of the quota of ${quota}, context accountConcurrencyQuota) for 5 minutes: ask for a quota increase or cap the lanes`,
    });
  }

  /** `ClaimedAccountConcurrency` of the account and region (no dimension), maximum over a minute. */
  public static accountConcurrency(): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'ClaimedAccountConcurrency', period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: 'account (claimed)' });
  }

  /**
   * Alarms when the reconciler found any pending delivery past its due time (`OverdueDeliveries`,
   * its Powertools metric, dimension `service`), summed over 5 minutes. It should stay 0: each one
   * is a delivery whose queue message was lost or whose chain of hops was cut.
   */
  public alarmOnOverdueDeliveries(id: string, props: { namespace: string; service: string }): cloudwatch.Alarm {
    return this.addAlarm(id, {
      metric: new cloudwatch.Metric({
        namespace: props.namespace,
        metricName: METRICS.overdue,
        dimensionsMap: { service: props.service },
        period: PERIOD,
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription:
        'The reconciler re-queued pending deliveries found past their due time (OverdueDeliveries > 0): a retry message was lost, or a chain of hops was cut (recursive loop detection, a failed send)',
    });
  }

  /**
   * Alarms on any operational event the functions could not put on the bus
   * (`OperationalEventNotPublished`, summed over `services`): the event is in the function's log, whole.
   */
  public alarmOnOperationalEventsNotPublished(id: string, props: { namespace: string; services: readonly string[] }): cloudwatch.Alarm {
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    props.services.forEach((service, i) => {
      usingMetrics[`m${i}`] = new cloudwatch.Metric({
        namespace: props.namespace,
        metricName: METRICS.operationalEventNotPublished,
        dimensionsMap: { service },
        period: PERIOD,
        statistic: cloudwatch.Stats.SUM,
      });
    });
    return this.addAlarm(id, {
      metric: new cloudwatch.MathExpression({ expression: Object.keys(usingMetrics).map((k) => `FILL(${k}, 0)`).join(' + '), usingMetrics, period: PERIOD, label: 'Operational events not published' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription:
        'Operational events (webhook auto-disabled, delivery exhausted, breaker opened or closed) could not be put on the bus: the deliveries went on; each event is logged whole ("operational event could not be published") and can be put again',
    });
  }

  /**
   * Alarms when more than `threshold` of delivery attempts fail over 15 minutes (with at least
   * `minAttempts` attempts, so one failure in a quiet hour does not page anyone). Reads the
   * Powertools EMF metrics of the delivery and retry functions (dimension `service`).
   */
  public alarmOnDeliveryFailureRate(id: string, props: { namespace: string; services: readonly string[]; threshold?: number; minAttempts?: number }): cloudwatch.Alarm {
    const period = Duration.minutes(15);
    const metrics: Record<string, cloudwatch.IMetric> = {};
    const sum = (metricName: string, prefix: string) =>
      props.services.map((service, i) => {
        const key = `${prefix}${i}`;
        metrics[key] = new cloudwatch.Metric({ namespace: props.namespace, metricName, dimensionsMap: { service }, period, statistic: cloudwatch.Stats.SUM });
        return `FILL(${key}, 0)`;
      });
    const failed = sum(METRICS.failedAttempt, 'f').join(' + ');
    const succeeded = sum(METRICS.delivered, 's').join(' + ');
    const minAttempts = props.minAttempts ?? 20;
    return this.addAlarm(id, {
      metric: new cloudwatch.MathExpression({
        // 0 below the minimum volume; otherwise the failed share of all attempts, in percent
        expression: `IF((${failed}) + (${succeeded}) >= ${minAttempts}, 100 * (${failed}) / ((${failed}) + (${succeeded})), 0)`,
        usingMetrics: metrics,
        period,
        label: 'Failed delivery attempts (%)',
      }),
      threshold: props.threshold ?? 50,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `More than ${props.threshold ?? 50} % of delivery attempts failed in 15 minutes (at least ${minAttempts} attempts): customer endpoints are down, or something on our side is`,
    });
  }

  /** A CloudWatch dashboard of the service: deliveries, latency, breakers, reconciler, queues, functions, API. */
  public addDashboard(props: {
    namespace: string;
    deliveryServices: readonly string[];
    /** The reconciler's `service` dimension (it counts closed breakers too). */
    reconcilerService?: string;
    /** Alarms shown as their own graphs, with the threshold (the reconciler's). */
    alarms?: ReadonlyArray<{ title: string; alarm: cloudwatch.IAlarm }>;
    /** Queue alarms shown as their own graphs, below the queue graphs (the expiry alarms). */
    queueAlarms?: ReadonlyArray<{ title: string; alarm: cloudwatch.IAlarm }>;
    queues: ReadonlyArray<{ label: string; queue: sqs.IQueue }>;
    functions: ReadonlyArray<{ label: string; fn: lambda.IFunction }>;
    /** EventBridge rules: failed, throttled, retried invocations and DLQ failures. */
    rules?: ReadonlyArray<{ label: string; rule: events.IRule; eventBus?: events.IEventBus }>;
    /** Tables (and indexes) whose throttle events are graphed. */
    tables?: ReadonlyArray<{ label: string; table: dynamodb.ITable; indexNames?: readonly string[] }>;
    /** Functions whose concurrency is graphed, with the account's claimed concurrency against its quota. */
    concurrency?: { functions: ReadonlyArray<{ label: string; fn: lambda.IFunction }>; accountQuota: number };
    /** Alarms shown below the EventBridge, DynamoDB and concurrency graphs. */
    platformAlarms?: ReadonlyArray<{ title: string; alarm: cloudwatch.IAlarm }>;
    apiStage?: { metricServerError(p?: cloudwatch.MetricOptions): cloudwatch.Metric; metricClientError(p?: cloudwatch.MetricOptions): cloudwatch.Metric; metricLatency(p?: cloudwatch.MetricOptions): cloudwatch.Metric };
  }): cloudwatch.Dashboard {
    const m = (metricName: string, statistic: string = cloudwatch.Stats.SUM, services: readonly string[] = props.deliveryServices) =>
      services.map(
        (service) => new cloudwatch.Metric({ namespace: props.namespace, metricName, dimensionsMap: { service }, period: PERIOD, statistic, label: `${metricName} (${service})` }),
      );
    const breakerServices = [...props.deliveryServices, ...(props.reconcilerService !== undefined ? [props.reconcilerService] : [])];
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Deliveries',
        width: 12,
        left: [...m(METRICS.delivered), ...m(METRICS.failedAttempt), ...m(METRICS.exhausted), ...m(METRICS.skipped), ...m(METRICS.invalidEvent)],
      }),
      new cloudwatch.GraphWidget({ title: 'Attempt latency (ms)', width: 12, left: [...m(METRICS.latency, 'p50'), ...m(METRICS.latency, 'p99')] }),
    );
    const alarms = props.alarms ?? [];
    const breakerWidth = Math.max(6, 24 - 8 * alarms.length);
    dashboard.addWidgets(
      // Parked deliveries wait for their webhook's breaker to close; openings and closings per webhook.
      new cloudwatch.GraphWidget({
        title: 'Breakers and parked deliveries',
        width: breakerWidth,
        left: m(METRICS.parked),
        right: [...m(METRICS.breakerOpened), ...m(METRICS.breakerClosed, cloudwatch.Stats.SUM, breakerServices)],
      }),
      ...alarms.map(({ title, alarm }) => new cloudwatch.AlarmWidget({ title, alarm, width: 8 })),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue depth',
        width: 12,
        left: props.queues.map(({ label, queue }) => queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM, label })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Oldest message age (s)',
        width: 12,
        left: props.queues.map(({ label, queue }) => queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM, label })),
      }),
    );
    const queueAlarms = props.queueAlarms ?? [];
    if (queueAlarms.length > 0) {
      const width = Math.max(6, Math.floor(24 / queueAlarms.length));
      dashboard.addWidgets(...queueAlarms.map(({ title, alarm }) => new cloudwatch.AlarmWidget({ title, alarm, width })));
    }
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Function errors and throttles',
        width: 12,
        left: props.functions.flatMap(({ label, fn }) => [
          fn.metricErrors({ period: PERIOD, label: `${label} errors` }),
          fn.metricThrottles({ period: PERIOD, label: `${label} throttles` }),
        ]),
      }),
      new cloudwatch.GraphWidget({
        title: 'Function duration p99 (ms)',
        width: 12,
        left: props.functions.map(({ label, fn }) => fn.metricDuration({ period: PERIOD, statistic: 'p99', label })),
      }),
    );
    const platform: cloudwatch.IWidget[] = [];
    if (props.rules && props.rules.length > 0) {
      const rules = props.rules;
      platform.push(
        new cloudwatch.GraphWidget({
          title: 'EventBridge rules',
          width: 8,
          left: rules.flatMap(({ label, rule, eventBus }) =>
            ['FailedInvocations', 'ThrottledRules', 'RetryInvocationAttempts', 'InvocationsFailedToBeSentToDlq'].map((metricName) =>
              Monitoring.ruleMetric(rule, metricName, eventBus).with({ label: `${label} ${metricName}` }),
            ),
          ),
        }),
      );
    }
    if (props.tables && props.tables.length > 0) {
      platform.push(
        new cloudwatch.GraphWidget({
          title: 'DynamoDB throttle events',
          width: 8,
          left: props.tables.map(({ label, table, indexNames }, i) => Monitoring.tableThrottles(table, indexNames ?? [], label, `t${i}`)),
        }),
      );
    }
    if (props.concurrency) {
      platform.push(
        new cloudwatch.GraphWidget({
          title: 'Lambda concurrency (max per minute)',
          width: 8,
          left: [
            ...props.concurrency.functions.map(({ label, fn }) => fn.metric('ConcurrentExecutions', { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label })),
            Monitoring.accountConcurrency(),
          ],
          leftAnnotations: [{ value: props.concurrency.accountQuota, label: 'account quota' }],
        }),
      );
    }
    if (platform.length > 0) dashboard.addWidgets(...platform);
    const platformAlarms = props.platformAlarms ?? [];
    for (let i = 0; i < platformAlarms.length; i += 4) {
      dashboard.addWidgets(...platformAlarms.slice(i, i + 4).map(({ title, alarm }) => new cloudwatch.AlarmWidget({ title, alarm, width: 6 })));
    }
    if (props.apiStage) {
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Management API',
          width: 24,
          left: [props.apiStage.metricClientError({ period: PERIOD, label: '4XX' }), props.apiStage.metricServerError({ period: PERIOD, label: '5XX' })],
          right: [props.apiStage.metricLatency({ period: PERIOD, statistic: 'p99', label: 'latency p99 (ms)' })],
        }),
      );
    }
    return dashboard;
  }

  private addAlarm(id: string, props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number }): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }
}
