import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DEFAULT_EVENT_SOURCE,
  DEFAULT_OPERATIONAL_EVENT_SOURCE,
  OPERATIONAL_EVENT_TYPES,
  operationalEventPattern,
  PIPELINE,
  visitEventPattern,
  type VisitEventPattern,
} from '../../lambdas/shared/contract';

/** Lambda's guidance: a source queue's visibility timeout is at least 6x the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = PIPELINE.visibilityTimeoutFactor;

/** How many times a message is received before SQS moves it to the queue's DLQ. */
export const MAX_RECEIVE_COUNT = PIPELINE.maxReceiveCount;

/** Retention of every dead-letter queue: the SQS maximum, to leave time for a redrive. */
export const DLQ_RETENTION = Duration.days(PIPELINE.dlqRetentionDays);

/**
 * Retention of the retry queue: the SQS default, stated so that it stays below {@link DLQ_RETENTION}.
 * SQS keeps a message's original enqueue time when it moves the message to a DLQ, so a DLQ must
 * keep messages longer than its source queue, or a message that waited in the source would expire
 * in the DLQ before anyone could redrive it. Retry messages are re-sent at least every 15 minutes
 * (each hop is a new message), so 4 days is never reached by a healthy chain.
 */
export const SOURCE_QUEUE_RETENTION = Duration.days(4);

/**
 * Retention of the events queue: the SQS maximum (14 days), so that a long outage of the delivery
 * path (a disabled mapping, a broken deploy, a throttled account) loses no visit event. It equals
 * {@link DLQ_RETENTION}, so an event that reaches the events DLQ keeps 14 days less the time it
 * waited in the events queue: the events queue's expiry alarm (`EventsQueueExpiry`, 1 day) fires
 * while any such event would still have 13 days in the DLQ.
 */
export const EVENTS_QUEUE_RETENTION = Duration.days(14);

/**
 * Settings shared by every queue: encrypted at rest and reachable over TLS only.
 * SSE-SQS rather than SSE-KMS: EventBridge can send to an SSE-SQS queue as is, while a
 * KMS-encrypted queue would need a customer-managed key whose policy admits EventBridge.
 */
export const SECURE_QUEUE_PROPS = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
} as const satisfies sqs.QueueProps;

/** The contract's pattern in the shape of the CDK `EventPattern` (`detail-type` → `detailType`). */
export function toCdkEventPattern(pattern: VisitEventPattern): events.EventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return { ...rest, detailType };
}

export interface EventsRoutingProps {
  /**
   * `Source` of the visit events to route.
   * @default DEFAULT_EVENT_SOURCE ('tracking')
   */
  readonly eventSource?: string;
  /**
   * `Source` of the operational events the service puts on the bus.
   * @default DEFAULT_OPERATIONAL_EVENT_SOURCE ('visit-webhooks')
   */
  readonly operationalEventSource?: string;
  /**
   * Timeout of the function that consumes the events queue; the queue's visibility
   * timeout is {@link VISIBILITY_TIMEOUT_FACTOR} times this.
   * @default Duration.seconds(30)
   */
  readonly consumerTimeout?: Duration;
  /**
   * Removal policy of the events queue and the dead-letter queues (they hold the only copy of
   * pending and failed events).
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The custom event bus, the rule that routes visit events (`NEW_VISIT`, `NEW_VISITOR`)
 * to the events queue, the queue's DLQ and the rule's own DLQ.
 */
export class EventsRouting extends Construct {
  public readonly eventBus: events.EventBus;
  public readonly rule: events.Rule;
  /** Routes the operational events to the events queue, for the webhooks subscribed to them. */
  public readonly operationalRule: events.Rule;
  /** `Source` of the operational events (what a rule on them matches). */
  public readonly operationalEventSource: string;
  /** Their detail types (`OPERATIONAL_EVENT_TYPES`). */
  public readonly operationalEventDetailTypes: readonly string[] = OPERATIONAL_EVENT_TYPES;
  public readonly eventsQueue: sqs.Queue;
  /** Events the delivery function could not process, and invalid events (sent with a reason). */
  public readonly eventsDlq: sqs.Queue;
  /** Events EventBridge could not put on the events queue after its retries. */
  public readonly ruleDlq: sqs.Queue;
  public readonly eventsQueueVisibilityTimeout: Duration;
  /** Allows `events:PutEvents` on this bus only; for the tracking pipeline's role to attach. */
  public readonly putEventsPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: EventsRoutingProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const eventSource = props.eventSource ?? DEFAULT_EVENT_SOURCE;
    this.operationalEventSource = props.operationalEventSource ?? DEFAULT_OPERATIONAL_EVENT_SOURCE;
    const consumerTimeout = props.consumerTimeout ?? Duration.seconds(30);
    this.eventsQueueVisibilityTimeout = Duration.seconds(consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR);

    this.eventBus = new events.EventBus(this, 'Bus', {
      description: 'Visit events from the tracking pipeline, routed to outbound webhooks',
    });

    this.eventsDlq = new sqs.Queue(this, 'EventsDlq', {
      ...SECURE_QUEUE_PROPS,
      retentionPeriod: DLQ_RETENTION,
      removalPolicy,
    });
    this.eventsQueue = new sqs.Queue(this, 'EventsQueue', {
      ...SECURE_QUEUE_PROPS,
      visibilityTimeout: this.eventsQueueVisibilityTimeout,
      retentionPeriod: EVENTS_QUEUE_RETENTION,
      deadLetterQueue: { queue: this.eventsDlq, maxReceiveCount: MAX_RECEIVE_COUNT },
      // Events not yet delivered live only here: retained in production like the DLQs.
      removalPolicy,
    });

    this.ruleDlq = new sqs.Queue(this, 'RuleDlq', {
      ...SECURE_QUEUE_PROPS,
      retentionPeriod: DLQ_RETENTION,
      removalPolicy,
    });
    Validations.of(this.ruleDlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the EventBridge rule target (DeadLetterConfig), which cdk-nag does not recognise as a DLQ; a DLQ of a DLQ would only move the problem. Its depth is alarmed.',
    });

    this.rule = new events.Rule(this, 'VisitEventsRule', {
      eventBus: this.eventBus,
      description: 'Routes NEW_VISIT and NEW_VISITOR events to the webhook events queue',
      eventPattern: toCdkEventPattern(visitEventPattern(eventSource)),
    });
    const toEventsQueue = () =>
      new targets.SqsQueue(this.eventsQueue, {
        deadLetterQueue: this.ruleDlq,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      });
    this.rule.addTarget(toEventsQueue());
    // The service's own operational events reach the webhooks subscribed to them like visits: the
    // delivery function fans each out to its account's subscribed webhooks (detail.accountId), never
    // to the webhook it is about.
    this.operationalRule = new events.Rule(this, 'OperationalEventsRule', {
      eventBus: this.eventBus,
      description: 'Routes the webhooks service operational events to the webhook events queue (for webhooks subscribed to them)',
      eventPattern: toCdkEventPattern(operationalEventPattern(this.operationalEventSource)),
    });
    this.operationalRule.addTarget(toEventsQueue());

    this.putEventsPolicy = new iam.ManagedPolicy(this, 'PutEventsPolicy', {
      description: 'Allows events:PutEvents on the visit webhooks event bus only, with the tracking source only',
      statements: [
        new iam.PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [this.eventBus.eventBusArn],
          // Only visit events: the operational source is the service's own, so nobody else can
          // put an operational event that subscribed webhooks would receive.
          conditions: { StringEquals: { 'events:source': eventSource } },
        }),
      ],
    });
  }

  /** Allows `grantee` to put operational events on the bus: `events:PutEvents` with the operational source only. */
  public grantPutOperationalEvents(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['events:PutEvents'],
      resourceArns: [this.eventBus.eventBusArn],
      conditions: { StringEquals: { 'events:source': this.operationalEventSource } },
    });
  }

  /** Allows `grantee` to put events on the bus (and nothing else). */
  public grantPutEvents(grantee: iam.IGrantable): iam.Grant {
    return this.eventBus.grantPutEventsTo(grantee);
  }
}
