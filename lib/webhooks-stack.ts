import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/shared/contract';
import type { StackConfig } from './config';
import { DashboardHosting, readDashboardContext } from './constructs/dashboard-hosting';
import { DELIVERY_FUNCTION_TIMEOUT, DeliveryPipeline } from './constructs/delivery-pipeline';
import { EventsRouting } from './constructs/events-routing';
import { API_STAGE_NAME, ManagementApi } from './constructs/management-api';
import { Monitoring } from './constructs/monitoring';
import { Reconciler } from './constructs/reconciler';
import { Store } from './constructs/store';
import { METRICS_NAMESPACE } from './function-defaults';

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

  constructor(scope: Construct, id: string, props: WebhooksStackProps) {
    const { config, ...stackProps } = props;
    super(scope, id, {
      description: `Outbound webhooks for visit events (stage ${config.stage})`,
      terminationProtection: config.isProduction,
      ...stackProps,
    });
    this.config = config;

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
      consumerTimeout: DELIVERY_FUNCTION_TIMEOUT,
      removalPolicy: config.removalPolicy,
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
    }

    this.reconciler = new Reconciler(this, 'Reconciler', {
      webhooksTable: this.store.webhooksTable,
      deliveriesTable: this.store.deliveriesTable,
      retryQueue: this.pipeline.retryQueue,
      secretsKey: this.secretsKey,
      deliveryRetentionDays: config.deliveryRetentionDays,
      logRetention: config.logRetention,
      logLevel: config.logLevel,
      removalPolicy: config.removalPolicy,
    });

    this.managementApi = new ManagementApi(this, 'ManagementApi', {
      webhooksTable: this.store.webhooksTable,
      deliveriesTable: this.store.deliveriesTable,
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
    // Errors only: a tick that outlasts the next one throttles it by design (reserved concurrency 1).
    const reconcilerErrors = m.alarmOnFunctionErrors('ReconcilerFunction', this.reconciler.handler.function, 'reconciler');
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
    });

    const output = (id: string, value: string, description: string): CfnOutput => new CfnOutput(this, id, { value, description });
    output('EventBusName', this.events.eventBus.eventBusName, 'Name of the bus the tracking pipeline puts visit events on');
    output('EventBusArn', this.events.eventBus.eventBusArn, 'ARN of the bus the tracking pipeline puts visit events on');
    output('PutEventsPolicyArn', this.events.putEventsPolicy.managedPolicyArn, 'Managed policy allowing events:PutEvents on this bus only; attach it to the tracking pipeline role');
    output('EventsQueueUrl', this.events.eventsQueue.queueUrl, 'Queue of visit events awaiting delivery');
    output('EventsDlqUrl', this.events.eventsDlq.queueUrl, 'Dead-letter queue of the events queue (also receives invalid events)');
    output('RuleDlqUrl', this.events.ruleDlq.queueUrl, 'Dead-letter queue of the EventBridge rule target');
    output('RetryQueueUrl', this.pipeline.retryQueue.queueUrl, 'Queue of failed attempts awaiting their next retry');
    output('RetryDlqUrl', this.pipeline.retryDlq.queueUrl, 'Dead-letter queue of the retry queue');
    output('FailedDeliveriesQueueUrl', this.pipeline.failedDeliveriesQueue.queueUrl, 'Deliveries that exhausted their retry schedule');
    output('WebhooksTableName', this.store.webhooksTable.tableName, 'DynamoDB table of webhooks');
    output('DeliveriesTableName', this.store.deliveriesTable.tableName, 'DynamoDB table of deliveries (attempt log)');
    output('ApiKeysTableName', this.store.apiKeysTable.tableName, 'DynamoDB table of API key hashes');
    output('ApiUrl', this.managementApi.url, `Base URL of the management API (stage "${API_STAGE_NAME}", no trailing slash): requests go to <ApiUrl>/v1/webhooks, the OpenAPI document is <ApiUrl>/v1/openapi.json`);
    output('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic that receives every alarm');
    if (this.dashboard) output('DashboardUrl', this.dashboard.url, 'URL of the webhooks dashboard (Settings → Webhooks), served by CloudFront');
  }
}
