import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import * as events from 'aws-cdk-lib/aws-events';
import { ENV } from '../lambdas/shared/contract';
import { allowOnTable } from './table-grants';
import type { StackConfig } from './config';
import { DashboardHosting, readDashboardContext } from './constructs/dashboard-hosting';
import { DELIVERY_FUNCTION_TIMEOUT, DeliveryPipeline } from './constructs/delivery-pipeline';
import { DLQ_RETENTION, EventsRouting } from './constructs/events-routing';
import { TABLE_DEFINITIONS, type TableDefinition } from './table-definitions';
import { API_STAGE_NAME, ManagementApi } from './constructs/management-api';
import { Monitoring } from './constructs/monitoring';
import { Reconciler } from './constructs/reconciler';
import { Store } from './constructs/store';
import { METRICS_NAMESPACE, SOURCE_MAPS_CONTEXT } from './function-defaults';

export interface WebhooksStackProps extends StackProps {
  /** The validated configuration (see `readStackConfig`). */
  readonly config: StackConfig;
}

/** A message in the events queue this old means the delivery function is stalled or far behind. */
export const EVENTS_QUEUE_MAX_AGE = Duration.minutes(5);
/**
 * Retry messages are re-sent with a delay of at most 15 minutes per hop, so even a long
 * backoff never leaves one message waiting longer than that; 30 minutes means stalled.
 */
export const RETRY_QUEUE_MAX_AGE = Duration.minutes(30);
/**
 * Expiry alarms: the oldest message of a consumed queue older than this is at risk of being lost.
 * The events queue keeps messages 14 days and its DLQ (which keeps the original enqueue time) 14
 * days too; at 1 day an operator still has 13 days to restore delivery or redrive before SQS
 * deletes anything, and the alarm stays clear of a merely slow backlog (the age alarm above pages
 * at 5 minutes). The retry queue keeps messages 4 days: 1 day leaves 3. A distinct alarm from the
 * age alarms, which may already be in ALARM (and notify no more) when this one fires.
 */
export const QUEUE_EXPIRY_ALARM_AGE = Duration.days(1);

/**
 * Dead-letter queues keep messages {@link DLQ_RETENTION} (14 days, counted from the original enqueue
 * for redriven messages): at 10 days an operator has 4 days to redrive or save them. The depth
 * alarms fire on the first message and then stay in ALARM; this one says time is running out.
 */
export const DLQ_EXPIRY_ALARM_AGE = Duration.days(10);

/** The index names of a table definition (their write throttles are alarmed with the table's). */
function tableIndexNames(definition: TableDefinition): string[] {
  return (definition.indexes ?? []).map((index) => index.indexName);
}

/** A dashboard title from an alarm's construct id (`DeliveriesTableThrottles` → `DeliveriesTableThrottles`). */
function alarmTitle(alarm: cloudwatch.Alarm): string {
  return alarm.node.id;
}

/**
 * Outbound webhooks for visit events (docs/design.md §1, §2): events routing, the delivery
 * pipeline, the store, the management API and monitoring. The constructs are public so
 * that later constructs (the dashboard) can be wired to them.
 */
export class WebhooksStack extends Stack {
  public readonly config: StackConfig;
  public readonly events: EventsRouting;
  public readonly store: Store;
  public readonly pipeline: DeliveryPipeline;
  /**
   * Encrypts webhook signing secrets at rest (KMS envelope, lambdas/shared/adapters/secret-cipher.ts).
   * Losing it loses every secret: retained in production like the tables.
   */
  public readonly secretsKey: kms.Key;
  public readonly managementApi: ManagementApi;
  /** The scheduled reconciler: breaker probes, paced releases, overdue deliveries. */
  public readonly reconciler: Reconciler;
  public readonly monitoring: Monitoring;
  /** The dashboard on S3 + CloudFront; only with context `dashboard=true`. */
  public readonly dashboard?: DashboardHosting;
  /**
   * What a rule on the operational events needs (README, "Operational events"): the bus, their
   * `source` and their detail types. Also stack outputs (`EventBusArn`, `OperationalEventSource`,
   * `OperationalEventDetailTypes`).
   */
  public readonly operationalEvents: {
    readonly eventBus: events.IEventBus;
    readonly source: string;
    readonly detailTypes: readonly string[];
    /** `{source, detailType}` matching every operational event: spread into a rule's `eventPattern` and narrow `detailType` if needed. */
    readonly eventPattern: events.EventPattern;
  };

  constructor(scope: Construct, id: string, props: WebhooksStackProps) {
    const { config, ...stackProps } = props;
    super(scope, id, {
      description: `Outbound webhooks for visit events (stage ${config.stage})`,
      terminationProtection: config.isProduction,
      ...stackProps,
    });
    this.config = config;
    // Read by every WebhooksFunction below (set before any child exists, as setContext requires).
    this.node.setContext(SOURCE_MAPS_CONTEXT, config.sourceMaps);

    this.store = new Store(this, 'Store', {
      removalPolicy: config.removalPolicy,
      deletionProtection: config.deletionProtection,
      deliveriesPointInTimeRecovery: config.deliveriesPointInTimeRecovery,
      ...(config.deliveriesWarmWrites !== undefined ? { deliveriesWarmWrites: config.deliveriesWarmWrites } : {}),
    });

    this.secretsKey = new kms.Key(this, 'SecretsKey', {
      description: 'Encrypts the data keys that encrypt webhook signing secrets at rest',
      enableKeyRotation: true,
      removalPolicy: config.removalPolicy,
      pendingWindow: Duration.days(config.isProduction ? 30 : 7),
    });

    this.events = new EventsRouting(this, 'Events', {
      eventSource: config.eventSource,
      operationalEventSource: config.operationalEventSource,
      consumerTimeout: DELIVERY_FUNCTION_TIMEOUT,
      removalPolicy: config.removalPolicy,
      publishers: config.publishers,
    });

    this.pipeline = new DeliveryPipeline(this, 'Pipeline', {
      eventsQueue: this.events.eventsQueue,
      eventsQueueVisibilityTimeout: this.events.eventsQueueVisibilityTimeout,
      eventsDlq: this.events.eventsDlq,
      webhooksTable: this.store.webhooksTable,
      deliveriesTable: this.store.deliveriesTable,
      eventSource: config.eventSource,
      allowHttpTargets: config.allowHttpTargets,
      retryScheduleSeconds: config.retryScheduleSeconds,
      deliveryRetentionDays: config.deliveryRetentionDays,
      autoDisableAfterDays: config.autoDisableAfterDays,
      maxConcurrency: config.deliveryConcurrency,
      deliveryLane: { maxConcurrency: config.deliveryConcurrency, ...config.delivery },
      retryLane: { maxConcurrency: config.retryConcurrency, ...config.retry },
      logRetention: config.logRetention,
      logLevel: config.logLevel,
      removalPolicy: config.removalPolicy,
    });
    // The delivery path reads signing secrets to sign with: decrypt only (the API stores them).
    for (const fn of [this.pipeline.delivery, this.pipeline.retry]) {
      fn.function.addEnvironment(ENV.secretsKmsKeyId, this.secretsKey.keyArn);
      this.secretsKey.grant(fn.role, 'kms:Decrypt');
      // Delivery statistics: one UpdateItem (ADD) per webhook and hour per invocation (DeliveryStats.flush).
      fn.function.addEnvironment(ENV.statsTable, this.store.statsTable.tableName);
      allowOnTable(fn.role, this.store.statsTable, ['UpdateItem']);
    }

    this.reconciler = new Reconciler(this, 'Reconciler', {
      webhooksTable: this.store.webhooksTable,
      deliveriesTable: this.store.deliveriesTable,
      retryQueue: this.pipeline.retryQueue,
      reservedConcurrency: config.reconcilerReservedConcurrency,
      deliveryRetentionDays: config.deliveryRetentionDays,
      logRetention: config.logRetention,
      logLevel: config.logLevel,
      removalPolicy: config.removalPolicy,
    });

    // Operational events (docs/design.md §8): exactly the functions that emit them may put them,
    // with the operational source only. Delivery and retry: auto-disable, exhausted, breaker opened,
    // probe succeeded; the reconciler: the breakers it closes.
    for (const fn of [this.pipeline.delivery, this.pipeline.retry, this.reconciler.handler]) {
      fn.function.addEnvironment(ENV.eventBusName, this.events.eventBus.eventBusName);
      fn.function.addEnvironment(ENV.operationalEventSource, this.events.operationalEventSource);
      this.events.grantPutOperationalEvents(fn.role);
    }
    this.operationalEvents = {
      eventBus: this.events.eventBus,
      source: this.events.operationalEventSource,
      detailTypes: this.events.operationalEventDetailTypes,
      eventPattern: { source: [this.events.operationalEventSource], detailType: [...this.events.operationalEventDetailTypes] },
    };

    this.managementApi = new ManagementApi(this, 'ManagementApi', {
      webhooksTable: this.store.webhooksTable,
      deliveriesTable: this.store.deliveriesTable,
      statsTable: this.store.statsTable,
      apiKeysTable: this.store.apiKeysTable,
      retryQueue: this.pipeline.retryQueue,
      secretsKey: this.secretsKey,
      allowHttpTargets: config.allowHttpTargets,
      retryScheduleSeconds: config.retryScheduleSeconds,
      deliveryRetentionDays: config.deliveryRetentionDays,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      accountRateLimit: config.apiAccountRateLimit,
      ...(config.apiWafAclArn !== undefined ? { webAclArn: config.apiWafAclArn } : {}),
      ...(config.dashboardOrigin !== undefined ? { allowedOrigins: [config.dashboardOrigin] } : {}),
      logRetention: config.logRetention,
      logLevel: config.logLevel,
      removalPolicy: config.removalPolicy,
    });

    // The dashboard (optional, `-c dashboard=true`): it finds the API through the config.json it is
    // deployed with, and the API's CORS allows its CloudFront origin.
    const dashboard = readDashboardContext((key) => this.node.tryGetContext(key));
    if (dashboard.enabled) {
      this.dashboard = new DashboardHosting(this, 'Dashboard', {
        assetPath: dashboard.assetPath,
        apiUrl: this.managementApi.url,
        frameAncestors: dashboard.frameAncestors,
        removalPolicy: config.removalPolicy,
        logRetention: config.logRetention,
      });
      this.managementApi.allowOrigin(this.dashboard.origin);
      // Portal session URLs open this dashboard.
      this.managementApi.setPortalUrl(this.dashboard.url);
    }

    if (config.tracing) {
      for (const fn of [this.pipeline.delivery, this.pipeline.retry, this.reconciler.handler, this.managementApi.handler, this.managementApi.authorizerHandler]) {
        fn.enableActiveTracing();
      }
      (this.managementApi.api.deploymentStage.node.defaultChild as apigw.CfnStage).tracingEnabled = true;
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      ...(config.alarmEmail !== undefined ? { alarmEmail: config.alarmEmail } : {}),
      removalPolicy: config.removalPolicy,
    });
    const m = this.monitoring;
    m.alarmOnQueueDepth('EventsDlqDepth', this.events.eventsDlq, 'Visit events failed processing or were invalid (events DLQ is not empty)');
    m.alarmOnQueueDepth('RuleDlqDepth', this.events.ruleDlq, 'EventBridge could not deliver visit events to the events queue (rule DLQ is not empty)');
    m.alarmOnQueueDepth('RetryDlqDepth', this.pipeline.retryDlq, 'Retry messages failed processing repeatedly (retry DLQ is not empty)');
    m.alarmOnQueueDepth('FailedDeliveriesDepth', this.pipeline.failedDeliveriesQueue, 'Deliveries exhausted their retry schedule (failed-deliveries queue is not empty)');
    m.alarmOnQueueAge('EventsQueueAge', this.events.eventsQueue, EVENTS_QUEUE_MAX_AGE, `The oldest visit event has waited more than ${EVENTS_QUEUE_MAX_AGE.toHumanString()}`);
    m.alarmOnQueueAge('RetryQueueAge', this.pipeline.retryQueue, RETRY_QUEUE_MAX_AGE, `The oldest retry message has waited more than ${RETRY_QUEUE_MAX_AGE.toHumanString()}`);
    const eventsExpiry = m.alarmOnQueueAge(
      'EventsQueueExpiry',
      this.events.eventsQueue,
      QUEUE_EXPIRY_ALARM_AGE,
      `The oldest visit event has waited more than ${QUEUE_EXPIRY_ALARM_AGE.toHumanString()}: events expire after 14 days in the queue (and in its DLQ, counted from the same enqueue time)`,
    );
    const retryExpiry = m.alarmOnQueueAge(
      'RetryQueueExpiry',
      this.pipeline.retryQueue,
      QUEUE_EXPIRY_ALARM_AGE,
      `The oldest retry message has waited more than ${QUEUE_EXPIRY_ALARM_AGE.toHumanString()}: retry messages expire after 4 days`,
    );
    m.alarmOnFunction('DeliveryFunction', this.pipeline.deliveryFunction, 'delivery');
    m.alarmOnFunction('RetryFunction', this.pipeline.retryFunction, 'retry');
    m.alarmOnFunction('ApiFunction', this.managementApi.apiFunction, 'management API');
    // Errors only with a reservation of 1: a tick that outlasts the next one throttles it by design.
    const reconcilerErrors = m.alarmOnFunctionErrors('ReconcilerFunction', this.reconciler.handler.function, 'reconciler');
    if (config.reconcilerReservedConcurrency === undefined) m.alarmOnFunctionThrottles('ReconcilerFunction', this.reconciler.handler.function, 'reconciler');
    // Throttles only for the authorizer (its errors are refused keys, see below).
    m.alarmOnFunctionThrottles('AuthorizerFunction', this.managementApi.authorizerFunction, 'authorizer');

    // The platform's own limits (docs/runbook.md): the rules' targets, table throttling, concurrency, DLQ expiry.
    const ruleAlarms = m.alarmOnRule('VisitEventsRule', this.events.rule, 'visit events', { eventBus: this.events.eventBus, retries: true });
    const scheduleAlarms = m.alarmOnRule('ReconcilerSchedule', this.reconciler.rule, 'reconciler schedule');
    const tableAlarms = [
      m.alarmOnTableThrottles('WebhooksTableThrottles', this.store.webhooksTable, 'webhooks', tableIndexNames(TABLE_DEFINITIONS.webhooks)),
      m.alarmOnTableThrottles('DeliveriesTableThrottles', this.store.deliveriesTable, 'deliveries', tableIndexNames(TABLE_DEFINITIONS.deliveries)),
      m.alarmOnTableThrottles('ApiKeysTableThrottles', this.store.apiKeysTable, 'API keys', tableIndexNames(TABLE_DEFINITIONS.apiKeys)),
    ];
    // A lane at its ceiling: its mapping's maximum concurrency (a reservation is never below it, lib/config.ts).
    const concurrencyAlarms = [
      m.alarmOnFunctionConcurrency('DeliveryConcurrency', this.pipeline.deliveryFunction, 'delivery', config.deliveryConcurrency, 'mapping maximum concurrency (deliveryConcurrency)'),
      m.alarmOnFunctionConcurrency('RetryConcurrency', this.pipeline.retryFunction, 'retry', config.retryConcurrency, 'mapping maximum concurrency (retryConcurrency)'),
      m.alarmOnAccountConcurrency('AccountConcurrency', config.accountConcurrencyQuota),
    ];
    const dlqExpiry = [
      { id: 'EventsDlqExpiry', label: 'events DLQ', queue: this.events.eventsDlq },
      { id: 'RuleDlqExpiry', label: 'rule DLQ', queue: this.events.ruleDlq },
      { id: 'RetryDlqExpiry', label: 'retry DLQ', queue: this.pipeline.retryDlq },
      { id: 'FailedDeliveriesExpiry', label: 'failed-deliveries queue', queue: this.pipeline.failedDeliveriesQueue },
    ].map(({ id, label, queue }) =>
      m.alarmOnQueueAge(
        id,
        queue,
        DLQ_EXPIRY_ALARM_AGE,
        `The oldest message of the ${label} is older than ${DLQ_EXPIRY_ALARM_AGE.toHumanString()}: it expires at ${DLQ_RETENTION.toHumanString()}; redrive or save it now`,
      ),
    );
    const overdue = m.alarmOnOverdueDeliveries('OverdueDeliveries', { namespace: METRICS_NAMESPACE, service: this.reconciler.handler.serviceName });
    // No function alarm on the authorizer: it refuses a bad key by throwing "Unauthorized" (API
    // Gateway's contract for a 401), which Lambda counts as an error, so its Errors metric counts
    // typos and scanners. Its real failures (crash, timeout, throttle) reach callers as 500s,
    // which the API's 5XX alarm below catches.
    const api5xx = new cloudwatch.Alarm(m, 'Api5xx', {
      metric: this.managementApi.api.deploymentStage.metricServerError({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: 'The management API answered 5XX (API function or authorizer failed, timed out or was throttled)',
    });
    api5xx.addAlarmAction(new SnsAction(m.topic));
    m.alarms.push(api5xx);
    const deliveryServices = [this.pipeline.delivery.serviceName, this.pipeline.retry.serviceName];
    m.alarmOnDeliveryFailureRate('DeliveryFailureRate', { namespace: METRICS_NAMESPACE, services: deliveryServices });
    m.alarmOnOperationalEventsNotPublished('OperationalEventsNotPublished', {
      namespace: METRICS_NAMESPACE,
      services: [...deliveryServices, this.reconciler.handler.serviceName],
    });
    m.addDashboard({
      namespace: METRICS_NAMESPACE,
      deliveryServices,
      reconcilerService: this.reconciler.handler.serviceName,
      alarms: [
        { title: 'Overdue deliveries (re-queued by the reconciler)', alarm: overdue },
        { title: 'Reconciler errors', alarm: reconcilerErrors },
      ],
      queueAlarms: [
        { title: 'Events queue: oldest message > 1 day (expires at 14 days)', alarm: eventsExpiry },
        { title: 'Retry queue: oldest message > 1 day (expires at 4 days)', alarm: retryExpiry },
      ],
      queues: [
        { label: 'events', queue: this.events.eventsQueue },
        { label: 'events DLQ', queue: this.events.eventsDlq },
        { label: 'rule DLQ', queue: this.events.ruleDlq },
        { label: 'retry', queue: this.pipeline.retryQueue },
        { label: 'retry DLQ', queue: this.pipeline.retryDlq },
        { label: 'failed deliveries', queue: this.pipeline.failedDeliveriesQueue },
      ],
      functions: [
        { label: 'delivery', fn: this.pipeline.deliveryFunction },
        { label: 'retry', fn: this.pipeline.retryFunction },
        { label: 'reconciler', fn: this.reconciler.handler.function },
        { label: 'api', fn: this.managementApi.apiFunction },
        { label: 'authorizer', fn: this.managementApi.authorizerFunction },
      ],
      apiStage: this.managementApi.api.deploymentStage,
      rules: [
        { label: 'visit events', rule: this.events.rule, eventBus: this.events.eventBus },
        { label: 'schedule', rule: this.reconciler.rule },
      ],
      tables: [
        { label: 'webhooks', table: this.store.webhooksTable, indexNames: tableIndexNames(TABLE_DEFINITIONS.webhooks) },
        { label: 'deliveries', table: this.store.deliveriesTable, indexNames: tableIndexNames(TABLE_DEFINITIONS.deliveries) },
        { label: 'API keys', table: this.store.apiKeysTable, indexNames: tableIndexNames(TABLE_DEFINITIONS.apiKeys) },
      ],
      concurrency: {
        functions: [
          { label: 'delivery', fn: this.pipeline.deliveryFunction },
          { label: 'retry', fn: this.pipeline.retryFunction },
          { label: 'api', fn: this.managementApi.apiFunction },
          { label: 'authorizer', fn: this.managementApi.authorizerFunction },
        ],
        accountQuota: config.accountConcurrencyQuota,
      },
      platformAlarms: [
        ...[...ruleAlarms, ...scheduleAlarms].map((alarm) => ({ title: alarmTitle(alarm), alarm })),
        ...tableAlarms.map((alarm) => ({ title: alarmTitle(alarm), alarm })),
        ...concurrencyAlarms.map((alarm) => ({ title: alarmTitle(alarm), alarm })),
        ...dlqExpiry.map((alarm) => ({ title: alarmTitle(alarm), alarm })),
      ],
    });

    const output = (id: string, value: string, description: string): CfnOutput => new CfnOutput(this, id, { value, description });
    output('EventBusName', this.events.eventBus.eventBusName, 'Name of the bus the tracking pipeline puts visit events on');
    output('EventBusArn', this.events.eventBus.eventBusArn, 'ARN of the bus the tracking pipeline puts visit events on');
    output('PutEventsPolicyArn', this.events.putEventsPolicy.managedPolicyArn, 'Managed policy allowing events:PutEvents on this bus only; attach it to a tracking pipeline role of this account');
    output('EventSource', config.eventSource, 'Source of the visit events: the bus admits it only from the configured publishers (context publisherAccountIds, publisherRoleArns)');
    output(
      'PublisherIdentityPolicy',
      Stack.of(this).toJsonString({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: this.events.eventBus.eventBusArn }] }),
      'Identity policy for a publisher role in another account (attach it there, and name the role in context publisherRoleArns here)',
    );
    output('OperationalEventSource', this.operationalEvents.source, 'Source of the operational events the service puts on the bus (EventBusArn): match it in a rule');
    output('OperationalEventDetailTypes', this.operationalEvents.detailTypes.join(','), 'Detail types of the operational events (comma-separated); schema in docs/operational-event.schema.json');
    output('EventsQueueUrl', this.events.eventsQueue.queueUrl, 'Queue of visit events awaiting delivery');
    output('EventsDlqUrl', this.events.eventsDlq.queueUrl, 'Dead-letter queue of the events queue (also receives invalid events)');
    output('RuleDlqUrl', this.events.ruleDlq.queueUrl, 'Dead-letter queue of the EventBridge rule target');
    output('RetryQueueUrl', this.pipeline.retryQueue.queueUrl, 'Queue of failed attempts awaiting their next retry');
    output('RetryDlqUrl', this.pipeline.retryDlq.queueUrl, 'Dead-letter queue of the retry queue');
    output('FailedDeliveriesQueueUrl', this.pipeline.failedDeliveriesQueue.queueUrl, 'Deliveries that exhausted their retry schedule');
    output('WebhooksTableName', this.store.webhooksTable.tableName, 'DynamoDB table of webhooks');
    output('DeliveriesTableName', this.store.deliveriesTable.tableName, 'DynamoDB table of deliveries (attempt log)');
    output('StatsTableName', this.store.statsTable.tableName, 'DynamoDB table of delivery statistics (per webhook and hour)');
    output('ApiKeysTableName', this.store.apiKeysTable.tableName, 'DynamoDB table of API key hashes');
    output('ApiUrl', this.managementApi.url, `Base URL of the management API (stage "${API_STAGE_NAME}", no trailing slash): requests go to <ApiUrl>/v1/webhooks, the OpenAPI document is <ApiUrl>/v1/openapi.json`);
    output('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic that receives every alarm');
    if (this.dashboard) output('DashboardUrl', this.dashboard.url, 'URL of the webhooks dashboard (Settings → Webhooks), served by CloudFront');
  }
}
