import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_EVENT_SOURCE, DEFAULTS, ENV, PIPELINE } from '../../lambdas/shared/contract';
import type { LogLevel } from '../config';
import { FUNCTION_RUNTIME, WebhooksFunction } from '../function-defaults';
import { allowOnTable } from '../table-grants';
import { DLQ_RETENTION, MAX_RECEIVE_COUNT, SECURE_QUEUE_PROPS, SOURCE_QUEUE_RETENTION, VISIBILITY_TIMEOUT_FACTOR } from './events-routing';

/** Timeout of the delivery and retry functions. */
export const DELIVERY_FUNCTION_TIMEOUT = Duration.seconds(PIPELINE.functionTimeoutSeconds);

/** Handler files, relative to the repository root; each exports `handler`. */
export const DELIVERY_HANDLER_ENTRY = 'lambdas/delivery/handler.ts';
export const RETRY_HANDLER_ENTRY = 'lambdas/retry/handler.ts';

/** A lane's settings with the defaults applied. */
type ResolvedLane = Required<Omit<LaneSettings, 'reservedConcurrency' | 'pollers'>> & Pick<LaneSettings, 'reservedConcurrency' | 'pollers'>;

/** Capacity settings of one lane: its function and its SQS event source mapping. */
export interface LaneSettings {
  /**
   * Maximum concurrency of the lane's SQS event source mapping (2–1000).
   * @default the pipeline's `maxConcurrency`
   */
  readonly maxConcurrency?: number;
  /**
   * Reserved concurrency of the function (at least `maxConcurrency`).
   * @default - none
   */
  readonly reservedConcurrency?: number;
  /**
   * Records per invocation (1–10000; above 10 needs a batching window above 0).
   * @default PIPELINE.batchSize (10)
   */
  readonly batchSize?: number;
  /**
   * Maximum batching window of the mapping, in seconds (0–300).
   * @default PIPELINE.maxBatchingWindowSeconds (1)
   */
  readonly maxBatchingWindowSeconds?: number;
  /**
   * Memory of the function, in MB (128–10240).
   * @default 512
   */
  readonly memoryMb?: number;
  /**
   * Provisioned mode for the lane's mapping: event pollers kept ready (minimum 2–200, maximum
   * 2–2000; each handles up to 10 concurrent invocations), for more than the 1,000 concurrent
   * `maxConcurrency` allows and a faster scale-up. Exclusive with `maxConcurrency`, which is then
   * not set on the mapping (reserved concurrency still bounds the function).
   * @default - standard mode
   */
  readonly pollers?: { readonly minimum: number; readonly maximum: number };
}

export interface DeliveryPipelineProps {
  /** The queue the rule fills; consumed by the delivery function. */
  readonly eventsQueue: sqs.IQueue;
  /** Visibility timeout of {@link eventsQueue}; checked against the function timeout. */
  readonly eventsQueueVisibilityTimeout: Duration;
  /** Where invalid events are sent (with a reason) by the delivery function. */
  readonly eventsDlq: sqs.IQueue;
  readonly webhooksTable: dynamodb.ITable;
  readonly deliveriesTable: dynamodb.ITable;
  /**
   * `Source` of the visit events (the handlers validate it).
   * @default DEFAULT_EVENT_SOURCE ('tracking')
   */
  readonly eventSource?: string;
  /**
   * Whether plain `http://` targets may be delivered to.
   * @default false
   */
  readonly allowHttpTargets?: boolean;
  /**
   * Delays after the first attempt, in whole seconds.
   * @default DEFAULTS.retryScheduleSeconds
   */
  readonly retryScheduleSeconds?: readonly number[];
  /**
   * TTL of delivery records, in days.
   * @default DEFAULTS.deliveryRetentionDays
   */
  readonly deliveryRetentionDays?: number;
  /**
   * A webhook whose deliveries have all failed this many days is disabled.
   * @default DEFAULTS.autoDisableAfterDays
   */
  readonly autoDisableAfterDays?: number;
  /**
   * Maximum concurrency of each SQS event source mapping (2–1000) unless its lane sets its own:
   * caps the load on DynamoDB and on receivers, and leaves account concurrency for other functions.
   * @default 20
   */
  readonly maxConcurrency?: number;
  /** The delivery function (fast lane, events queue). */
  readonly deliveryLane?: LaneSettings;
  /** The retry function (slow lane, retry queue). */
  readonly retryLane?: LaneSettings;
  /**
   * Retention of the functions' log groups.
   * @default RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * `POWERTOOLS_LOG_LEVEL` of the functions.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * Removal policy of the log groups, the retry queue, the retry DLQ and the failed-deliveries queue.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The delivery function (events queue → signed POSTs), the retry function (retry queue
 * → signed POSTs), the retry queue and its DLQ, and the failed-deliveries queue where
 * the code parks deliveries whose retry schedule is exhausted.
 */
export class DeliveryPipeline extends Construct {
  public readonly deliveryFunction: NodejsFunction;
  public readonly retryFunction: NodejsFunction;
  /** The delivery and retry functions with their roles and log groups. */
  public readonly delivery: WebhooksFunction;
  public readonly retry: WebhooksFunction;
  /** Failed attempts wait here for their next attempt (re-delayed in hops of ≤ 15 min). */
  public readonly retryQueue: sqs.Queue;
  public readonly retryDlq: sqs.Queue;
  /** Deliveries whose retry schedule is exhausted, sent explicitly by the code with a reason. */
  public readonly failedDeliveriesQueue: sqs.Queue;
  public readonly eventsEventSource: SqsEventSource;
  public readonly retryEventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: DeliveryPipelineProps) {
    super(scope, id);
    const timeout = DELIVERY_FUNCTION_TIMEOUT;
    const minVisibility = timeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR;
    if (props.eventsQueueVisibilityTimeout.toSeconds() < minVisibility) {
      throw new Error(
        `${this.node.path}: the events queue's visibility timeout (${props.eventsQueueVisibilityTimeout.toSeconds()} s) must be at least ` +
          `${VISIBILITY_TIMEOUT_FACTOR}x the function timeout (${minVisibility} s)`,
      );
    }
    const lanes = {
      delivery: this.resolveLane('deliveryLane', props.deliveryLane, props.maxConcurrency),
      retry: this.resolveLane('retryLane', props.retryLane, props.maxConcurrency),
    };
    const retrySchedule = props.retryScheduleSeconds ?? DEFAULTS.retryScheduleSeconds;
    if (retrySchedule.length === 0 || retrySchedule.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new Error(`${this.node.path}: retryScheduleSeconds must be a non-empty list of whole seconds, got ${JSON.stringify(retrySchedule)}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    this.retryDlq = new sqs.Queue(this, 'RetryDlq', {
      ...SECURE_QUEUE_PROPS,
      retentionPeriod: DLQ_RETENTION,
      removalPolicy,
    });
    this.retryQueue = new sqs.Queue(this, 'RetryQueue', {
      ...SECURE_QUEUE_PROPS,
      visibilityTimeout: Duration.seconds(minVisibility),
      retentionPeriod: SOURCE_QUEUE_RETENTION,
      deadLetterQueue: { queue: this.retryDlq, maxReceiveCount: MAX_RECEIVE_COUNT },
      // Pending retries live only here (and in the attempt log): retained in production like its DLQ.
      removalPolicy,
    });
    this.failedDeliveriesQueue = new sqs.Queue(this, 'FailedDeliveriesQueue', {
      ...SECURE_QUEUE_PROPS,
      retentionPeriod: DLQ_RETENTION,
      removalPolicy,
    });
    Validations.of(this.failedDeliveriesQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the retry schedule: the delivery code moves exhausted deliveries here with a reason ' +
        '(a redrive policy cannot express "schedule exhausted"). Nothing consumes it automatically, so a DLQ behind it would never fill. Its depth is alarmed.',
    });

    const environment: Record<string, string> = {
      [ENV.webhooksTable]: props.webhooksTable.tableName,
      [ENV.deliveriesTable]: props.deliveriesTable.tableName,
      [ENV.eventsDlqUrl]: props.eventsDlq.queueUrl,
      [ENV.retryQueueUrl]: this.retryQueue.queueUrl,
      [ENV.failedQueueUrl]: this.failedDeliveriesQueue.queueUrl,
      [ENV.allowHttp]: String(props.allowHttpTargets ?? false),
      [ENV.allowPrivateTargets]: 'false',
      [ENV.retrySchedule]: retrySchedule.join(','),
      [ENV.retentionDays]: String(props.deliveryRetentionDays ?? DEFAULTS.deliveryRetentionDays),
      [ENV.autoDisableAfterDays]: String(props.autoDisableAfterDays ?? DEFAULTS.autoDisableAfterDays),
      [ENV.eventSource]: props.eventSource ?? DEFAULT_EVENT_SOURCE,
    };
    const common = {
      timeout,
      environment,
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      ...(props.logLevel !== undefined ? { logLevel: props.logLevel } : {}),
      removalPolicy,
    };

    this.delivery = new WebhooksFunction(this, 'Delivery', {
      ...common,
      memorySize: lanes.delivery.memoryMb,
      ...(lanes.delivery.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: lanes.delivery.reservedConcurrency } : {}),
      entry: DELIVERY_HANDLER_ENTRY,
      serviceName: 'webhook-delivery',
      description: 'Delivers visit events from the events queue to the account webhooks',
    });
    this.retry = new WebhooksFunction(this, 'Retry', {
      ...common,
      memorySize: lanes.retry.memoryMb,
      ...(lanes.retry.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: lanes.retry.reservedConcurrency } : {}),
      entry: RETRY_HANDLER_ENTRY,
      serviceName: 'webhook-retry',
      description: 'Re-attempts failed webhook deliveries from the retry queue',
      // The retry function sends to the queue it consumes on purpose: a hop of a delay longer than
      // SQS's 15 minutes, a hand-off when the invocation runs out of time, a rate-limit wait. Lambda's
      // loop detection would stop such a chain after about 16 invocations and leave the delivery
      // pending (docs/runbook.md, "Recursive loops"). The chain is bounded anyway: by the retry
      // schedule (each attempt moves it on; it ends delivered, failed or parked) and by the
      // reconciler, which re-queues what is overdue. The delivery function keeps the default.
      recursiveLoop: lambda.RecursiveLoop.ALLOW,
    });
    this.deliveryFunction = this.delivery.function;
    this.retryFunction = this.retry.function;

    const mapping = (lane: ResolvedLane) => ({
      batchSize: lane.batchSize,
      maxBatchingWindow: Duration.seconds(lane.maxBatchingWindowSeconds),
      reportBatchItemFailures: true,
      ...(lane.pollers
        ? { provisionedPollerConfig: { minimumPollers: lane.pollers.minimum, maximumPollers: lane.pollers.maximum } }
        : { maxConcurrency: lane.maxConcurrency }),
    });
    this.eventsEventSource = new SqsEventSource(props.eventsQueue, mapping(lanes.delivery));
    this.retryEventSource = new SqsEventSource(this.retryQueue, mapping(lanes.retry));
    this.deliveryFunction.addEventSource(this.eventsEventSource);
    this.retryFunction.addEventSource(this.retryEventSource);

    for (const fn of [this.delivery, this.retry]) {
      // What the shared delivery runtime calls (lambdas/shared/composition/delivery-runtime.ts), no index:
      // webhooks: Query (listByAccount, the table's own key), GetItem (get), UpdateItem (markFailing,
      // clearFailing, autoDisable, markSlow, setBreaker); deliveries: GetItem (get), Query (get of a
      // first-attempt success, on the table's own key, redeliveries only), BatchGetItem (a record's
      // payload), UpdateItem (write, and the rate limiter's per-second counters), PutItem (an event's
      // payload, once; a success item that a batch could not write), BatchWriteItem (success items).
      allowOnTable(fn.role, props.webhooksTable, ['Query', 'GetItem', 'UpdateItem']);
      allowOnTable(fn.role, props.deliveriesTable, ['GetItem', 'Query', 'BatchGetItem', 'UpdateItem', 'PutItem', 'BatchWriteItem']);
      // SendMessage only (grantSendMessages would add GetQueueAttributes and GetQueueUrl, which the
      // code never calls: the URLs come from the environment, and the queues are SSE-SQS, no KMS key).
      // The events DLQ takes invalid events, the retry queue hops and hand-offs, the failed queue
      // exhausted deliveries. (Consuming its own queue is the event source mapping's grant.)
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.eventsDlq.queueArn, this.retryQueue.queueArn, this.failedDeliveriesQueue.queueArn] }),
      );
      Validations.of(fn.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason: `${FUNCTION_RUNTIME.name} is a supported LTS runtime and the one the team tests against (the code also runs on Node 20 locally); moving to a newer runtime is a deliberate upgrade, not an automatic one.`,
      });
    }
  }

  /** A lane's settings with defaults applied, checked as lib/config.ts checks context (for direct users of the construct). */
  private resolveLane(name: string, lane: LaneSettings = {}, pipelineMaxConcurrency?: number): ResolvedLane {
    const resolved = {
      maxConcurrency: lane.maxConcurrency ?? pipelineMaxConcurrency ?? 20,
      batchSize: lane.batchSize ?? PIPELINE.batchSize,
      maxBatchingWindowSeconds: lane.maxBatchingWindowSeconds ?? PIPELINE.maxBatchingWindowSeconds,
      memoryMb: lane.memoryMb ?? 512,
    };
    const check = (key: string, value: number, min: number, max: number) => {
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(`${this.node.path}: ${name}.${key} must be an integer from ${min} to ${max}, got ${value}`);
      }
    };
    check('maxConcurrency', resolved.maxConcurrency, 2, 1000);
    check('batchSize', resolved.batchSize, 1, 10_000);
    check('maxBatchingWindowSeconds', resolved.maxBatchingWindowSeconds, 0, 300);
    check('memoryMb', resolved.memoryMb, 128, 10_240);
    if (resolved.batchSize > 10 && resolved.maxBatchingWindowSeconds === 0) {
      throw new Error(`${this.node.path}: ${name}.maxBatchingWindowSeconds must be above 0 when batchSize is above 10 (SQS rule), got batchSize ${resolved.batchSize}`);
    }
    if (lane.pollers) {
      check('pollers.minimum', lane.pollers.minimum, 2, 200);
      check('pollers.maximum', lane.pollers.maximum, Math.max(2, lane.pollers.minimum), 2000);
    }
    const withPollers = lane.pollers ? { ...resolved, pollers: lane.pollers } : resolved;
    if (lane.reservedConcurrency === undefined) return withPollers;
    check('reservedConcurrency', lane.reservedConcurrency, lane.pollers ? 1 : resolved.maxConcurrency, 100_000);
    return { ...withPollers, reservedConcurrency: lane.reservedConcurrency };
  }
}
