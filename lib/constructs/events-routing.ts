import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
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
  /**
   * Who may put events with the source {@link eventSource} on the bus (see {@link publisherPolicy}).
   * @default - this account only: any of its principals whose identity policy allows PutEvents on the bus
   */
  readonly publishers?: BusPublishers;
}

/** Publishers of the visit events: accounts (any principal they allow) and/or exact roles. */
export interface BusPublishers {
  /** 12-digit account ids. @default [] */
  readonly accountIds?: readonly string[];
  /** IAM role ARNs, of this or another account. @default [] */
  readonly roleArns?: readonly string[];
}

/** The 12-digit account of a role ARN (its fifth field). */
function accountOfRole(roleArn: string): string {
  const account = roleArn.split(':')[4];
  if (account === undefined || !/^\d{12}$/.test(account)) throw new Error(`not a role ARN: ${roleArn}`);
  return account;
}

/**
 * The bus resource policy (docs/design.md §2): only the configured publishers may put events whose
 * `source` is the visit events' source; other sources are left alone (nothing routes them).
 *
 * - `AllowPublishers` (when any is configured): each publisher account (of an account id or of a
 *   role ARN) may call PutEvents on this bus for that source. Principals are account roots, so a role
 *   need not exist when the stack deploys, and the account still decides which of its principals may
 *   publish (their identity policy must allow PutEvents on the bus ARN, output `EventBusArn`).
 * - `DenyOtherPublishers`: PutEvents for that source is denied to every principal that is neither one
 *   of the roles nor of the accounts. An explicit deny beats identity policies, so a principal of this
 *   account with a broad `events:PutEvents` can no longer inject visit events once publishers are
 *   configured. With none configured, the publishers are this account (the policy denies only other
 *   accounts, which had no access anyway), so the stack keeps working as it did.
 *
 * The own account is not added to configured publishers: naming a role is meant to exclude every
 * other principal, this account's included. Add this account's id to the account ids to keep admitting
 * all of its principals that their identity policies allow.
 */
export function publisherPolicy(busArn: string, eventSource: string, ownAccount: string, publishers: BusPublishers = {}): iam.PolicyDocument {
  const roleArns = [...(publishers.roleArns ?? [])];
  const configured = [...(publishers.accountIds ?? [])];
  const accountIds = roleArns.length === 0 && configured.length === 0 ? [ownAccount] : configured;
  // `events:source` is the set of the request's entries' sources (one PutEvents carries up to 10
  // entries): the allow holds when all of them are the visit source (AWS's own example for a
  // cross-account publisher uses ForAllValues), the deny when any of them is.
  const sourceCondition = { 'events:source': eventSource };
  const statements: iam.PolicyStatement[] = [];
  const allowed = [...new Set([...configured, ...roleArns.map(accountOfRole)])];
  if (allowed.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'AllowPublishers',
        effect: iam.Effect.ALLOW,
        principals: allowed.map((account) => new iam.AccountPrincipal(account)),
        actions: ['events:PutEvents'],
        resources: [busArn],
        conditions: { 'ForAllValues:StringEquals': sourceCondition },
      }),
    );
  }
  const one = (values: string[]): string | string[] => (values.length === 1 && values[0] !== undefined ? values[0] : values);
  const notPublisher: Record<string, Record<string, string | string[]>> = {};
  if (roleArns.length > 0) notPublisher.ArnNotEquals = { 'aws:PrincipalArn': one(roleArns) };
  if (accountIds.length > 0) notPublisher.StringNotEquals = { 'aws:PrincipalAccount': one(accountIds) };
  statements.push(
    new iam.PolicyStatement({
      sid: 'DenyOtherPublishers',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['events:PutEvents'],
      resources: [busArn],
      conditions: { 'ForAnyValue:StringEquals': sourceCondition, ...notPublisher },
    }),
  );
  return new iam.PolicyDocument({ statements });
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
  /** The bus resource policy: who may put visit events (see {@link publisherPolicy}). */
  public readonly publisherPolicy: iam.PolicyDocument;

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
    // The bus's own Policy property rather than EventBusPolicy resources: one document, replaced
    // atomically, and no StatementId (CloudFormation's physical id of an EventBusPolicy, unique per
    // account and region) to collide when two stages share an account.
    const cfnBus = this.eventBus.node.defaultChild as events.CfnEventBus;
    // The ARN is formatted from the (generated, synth-time) name: the bus's own Arn attribute would
    // make the resource refer to itself.
    const busArn = Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: cfnBus.name });
    this.publisherPolicy = publisherPolicy(busArn, props.eventSource ?? DEFAULT_EVENT_SOURCE, Stack.of(this).account, props.publishers);
    cfnBus.policy = this.publisherPolicy;

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

  /**
   * Allows `grantee`, a principal of this stack's account, to put events on the bus (and nothing
   * else), by its identity policy. A principal of another account cannot be granted from here (its
   * policy lives in its account: a policy this stack made for it would fail to deploy); name it in
   * the publishers (context `publisherRoleArns` / `publisherAccountIds`) and give it the identity
   * policy of the `PublisherIdentityPolicy` output there (docs/deployment.md). With publishers
   * configured, a same-account role must be one of them too, or the bus policy denies it.
   */
  public grantPutEvents(grantee: iam.IGrantable): iam.Grant {
    const own = Stack.of(this).account;
    const theirs = grantee.grantPrincipal.principalAccount;
    if (theirs !== undefined && !Token.isUnresolved(theirs) && !Token.isUnresolved(own) && theirs !== own) {
      throw new Error(
        `${this.node.path}: cannot grant PutEvents to a principal of account ${theirs} from a stack in ${own}: add it to the publishers (context publisherRoleArns or publisherAccountIds) and attach the PublisherIdentityPolicy output's policy to it in its account`,
      );
    }
    return this.eventBus.grantPutEventsTo(grantee);
  }
}
