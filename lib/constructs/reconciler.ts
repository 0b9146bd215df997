import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, ENV } from '../../lambdas/shared/contract';
import type { LogLevel } from '../config';
import { FUNCTION_RUNTIME, WebhooksFunction } from '../function-defaults';
import { TABLE_DEFINITIONS } from '../table-definitions';
import { allowOnTable, allowQueryOnIndexes, definedIndex } from '../table-grants';

/**
 * The indexes the reconciler queries (the adapters' BREAKERS_INDEX, STATUS_INDEX and DUE_INDEX;
 * test/infra checks that the names agree).
 */
export const RECONCILER_INDEXES = {
  breakers: definedIndex(TABLE_DEFINITIONS.webhooks, 'breakers'),
  status: definedIndex(TABLE_DEFINITIONS.deliveries, 'status'),
  due: definedIndex(TABLE_DEFINITIONS.deliveries, 'due'),
} as const;

/** Handler file, relative to the repository root; it exports `handler`. */
export const RECONCILER_HANDLER_ENTRY = 'lambdas/reconciler/handler.ts';

/**
 * Timeout of the reconciler. A tick's work is bounded (1,000 breakers, 1,000 overdue deliveries and
 * `releasePerSecond × reconcileEverySeconds` releases per recovered webhook, each a SendMessage and
 * an UpdateItem), which takes seconds normally and a few minutes at worst; whatever a cut-off tick
 * did not do, the next one does. Longer than the schedule on purpose: the reserved concurrency of 1
 * keeps a long tick from overlapping the next (which is throttled, then dropped; see below).
 */
export const RECONCILER_TIMEOUT = Duration.minutes(5);

export interface ReconcilerProps {
  readonly webhooksTable: dynamodb.ITable;
  readonly deliveriesTable: dynamodb.ITable;
  /** Probes, releases and overdue deliveries are sent here (the slow lane). */
  readonly retryQueue: sqs.IQueue;
  /**
   * Reserved concurrency of the function: 1 keeps ticks from overlapping; `undefined` reserves
   * none, for accounts whose concurrency quota leaves no room for a reservation (Lambda keeps at
   * least 100 unreserved: a new account's quota of 10 refuses any). Overlapping ticks are safe
   * (breaker changes are conditional writes, re-queued deliveries are re-checked by the retry
   * function before an attempt), only wasteful.
   * @default 1
   */
  readonly reservedConcurrency?: number;
  /**
   * Seconds between ticks (whole minutes: the schedule's unit). The release pace is spread over it.
   * @default DEFAULTS.reconcileEverySeconds (60)
   */
  readonly everySeconds?: number;
  /**
   * TTL of the delivery records it re-writes, in days (as the other functions write them).
   * @default DEFAULTS.deliveryRetentionDays
   */
  readonly deliveryRetentionDays?: number;
  /** @default RetentionDays.ONE_WEEK */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** Removal policy of the log group. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The scheduled reconciler (lambdas/reconciler/handler.ts): breaker probes, the paced release of
 * parked deliveries and the re-queueing of overdue pending ones, once a minute.
 *
 * Schedule: an EventBridge rule with `rate(1 minute)` on the default bus rather than EventBridge
 * Scheduler. The rule invokes the function through a resource-based permission scoped to the rule's
 * ARN, so there is no role to keep (Scheduler needs an execution role, and the CDK's Scheduler
 * Lambda target grants it `lambda:InvokeFunction` on `<function ARN>:*` too, a wildcard this stack
 * does not allow). What Scheduler adds (time zones, one-time schedules, flexible windows, millions
 * of schedules) is nothing a fixed one-minute rate needs; both invoke asynchronously, at least once.
 *
 * No overlap (with the default reservation, `reservedConcurrency` 1): a tick that runs past the next one makes that invocation
 * throttle; Lambda keeps retrying a throttled asynchronous event only up to the event age set below
 * (one minute), then drops it: the next tick comes a minute later anyway. A failed tick is not
 * retried either (retries 0): the next tick redoes whatever is still to do, and the errors alarm
 * sees the failure.
 */
export class Reconciler extends Construct {
  public readonly handler: WebhooksFunction;
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const everySeconds = props.everySeconds ?? DEFAULTS.reconcileEverySeconds;
    const reservedConcurrency = 'reservedConcurrency' in props ? props.reservedConcurrency : 1;
    if (reservedConcurrency !== undefined && (!Number.isInteger(reservedConcurrency) || reservedConcurrency < 1)) {
      throw new Error(`${this.node.path}: reservedConcurrency must be a positive integer or undefined (none), got ${reservedConcurrency}`);
    }
    if (!Number.isInteger(everySeconds / 60) || everySeconds < 60) {
      throw new Error(`${this.node.path}: everySeconds must be a whole number of minutes (at least 60), got ${everySeconds}`);
    }

    this.handler = new WebhooksFunction(this, 'Handler', {
      entry: RECONCILER_HANDLER_ENTRY,
      serviceName: 'webhook-reconciler',
      description: 'Every minute: breaker probes, paced release of parked deliveries, re-queueing of overdue ones',
      timeout: RECONCILER_TIMEOUT,
      ...(reservedConcurrency !== undefined ? { reservedConcurrentExecutions: reservedConcurrency } : {}),
      // Exactly what createReconcilerRuntime reads (storesFromEnv, retryQueueFromEnv, the tick length).
      environment: {
        [ENV.webhooksTable]: props.webhooksTable.tableName,
        [ENV.deliveriesTable]: props.deliveriesTable.tableName,
        [ENV.retryQueueUrl]: props.retryQueue.queueUrl,
        [ENV.reconcileEverySeconds]: String(everySeconds),
        [ENV.retentionDays]: String(props.deliveryRetentionDays ?? DEFAULTS.deliveryRetentionDays),
      },
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      ...(props.logLevel !== undefined ? { logLevel: props.logLevel } : {}),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    const fn = this.handler.function;
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    // IAM to the action (lambdas/shared/domain/reconciler.ts through the DynamoDB adapters):
    // Query on the three sparse indexes only: listBreakers (webhooks `breakers`), listParked
    // (deliveries `status`, the parked bucket), listDue and recovery jobs (deliveries `due`), recovery
    // (deliveries `status`, the failed and skipped buckets).
    allowQueryOnIndexes(this.handler.role, [
      { table: props.webhooksTable, indexName: RECONCILER_INDEXES.breakers },
      { table: props.deliveriesTable, indexName: RECONCILER_INDEXES.status },
      { table: props.deliveriesTable, indexName: RECONCILER_INDEXES.due },
    ]);
    // UpdateItem: on webhooks the breaker lease (setBreaker, conditional), on deliveries the
    // re-queued, released or skipped record (write). No GetItem on webhooks: the tick reads only
    // the indexes. Deliveries also: BatchGetItem (the payloads of listed records), PutItem and
    // GetItem (recovery jobs: progress saved with a lease, read back when another worker moved it).
    allowOnTable(this.handler.role, props.webhooksTable, ['UpdateItem']);
    allowOnTable(this.handler.role, props.deliveriesTable, ['GetItem', 'UpdateItem', 'PutItem', 'BatchGetItem']);
    // Probes, releases and overdue deliveries go to the slow lane. SendMessage only: the URL comes
    // from the environment (no GetQueueUrl), and the queue is SSE-SQS (no KMS key to use).
    this.handler.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.retryQueue.queueArn] }));
    // No KMS grant: the reconciler's store withholds signing secrets (createReconcilerRuntime), so
    // the secrets key's Decrypt is left to the functions that sign (delivery, retry) or reveal (API).

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Runs the webhooks reconciler every ${everySeconds} s`,
      schedule: events.Schedule.rate(Duration.seconds(everySeconds)),
      targets: [new targets.LambdaFunction(fn)],
    });

    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: `${FUNCTION_RUNTIME.name} is a supported LTS runtime and the one the team tests against (the code also runs on Node 20 locally); moving to a newer runtime is a deliberate upgrade, not an automatic one.`,
    });
  }
}
