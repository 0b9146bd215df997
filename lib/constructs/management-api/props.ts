import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { LogLevel } from '../../config';

export interface ManagementApiProps {
  readonly webhooksTable: dynamodb.ITable;
  readonly deliveriesTable: dynamodb.ITable;
  /** Delivery statistics, read by `GET …/stats` (one Query per shard). */
  readonly statsTable: dynamodb.ITable;
  /** Holds key and portal session hashes; only the authorizer reads it (the API function re-reads a key by hash and writes sessions). */
  readonly apiKeysTable: dynamodb.ITable;
  /** `POST …/retry` and `POST …/recover` re-queue deliveries here. */
  readonly retryQueue: sqs.IQueue;
  /**
   * The KMS key whose data keys encrypt signing secrets at rest (envelope encryption): the API
   * function generates a data key to store a secret (create, rotate) and decrypts data keys to
   * read one (reveal, test sends).
   */
  readonly secretsKey: kms.IKey;
  /**
   * Whether plain `http://` webhook targets may be created and test-sent to.
   * @default false
   */
  readonly allowHttpTargets?: boolean;
  /**
   * Delays after the first attempt, in whole seconds (recover re-queues with this schedule).
   * @default DEFAULTS.retryScheduleSeconds
   */
  readonly retryScheduleSeconds?: readonly number[];
  /**
   * TTL of delivery records written by test sends, in days.
   * @default DEFAULTS.deliveryRetentionDays
   */
  readonly deliveryRetentionDays?: number;
  /**
   * Steady-state requests per second of the stage (every method).
   * @default 50
   */
  readonly rateLimit?: number;
  /**
   * Burst of the stage (token bucket size).
   * @default 100
   */
  readonly burstLimit?: number;
  /**
   * Requests per second of one account (all its keys together), counted by the API function;
   * above it the account's requests get 429 with `Retry-After`, other accounts' do not. At most
   * `rateLimit`.
   * @default API.accountRatePerSecond (10), or `rateLimit` when lower
   */
  readonly accountRateLimit?: number;
  /**
   * ARN of a regional WAFv2 web ACL (in the stack's region) to associate with the stage, e.g. one
   * with a rate-based rule per IP address against floods of made-up keys.
   * @default - none
   */
  readonly webAclArn?: string;
  /**
   * Browser origins allowed by CORS (the dashboard); more can be added with {@link ManagementApi.allowOrigin}.
   * @default - none: no preflight methods, no CORS headers
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Retention of the function log groups and of the access log group.
   * @default RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * `POWERTOOLS_LOG_LEVEL` of the functions.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * Removal policy of the log groups.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}
