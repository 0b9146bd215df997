/**
 * The AWS limits the capacity model checks, with their default values and the documentation page
 * each comes from (docs/capacity.md quotes them). Region-dependent values are those of us-east-1,
 * us-west-2 and eu-west-1 (the largest); other Regions are lower where the page says so. Whether an
 * account still has a default, or had it raised or lowered, can only be read in that account
 * (Service Quotas console): the model assumes the defaults.
 */

export interface AwsLimit {
  readonly value: number;
  readonly unit: string;
  /** Can it be raised (Service Quotas / support case)? */
  readonly adjustable: boolean;
  /** The AWS documentation page (title) the value comes from. */
  readonly source: string;
}

const EB_QUOTAS = 'Amazon EventBridge quotas (EventBridge User Guide)';
const SQS_QUOTAS = 'Amazon SQS message quotas (SQS Developer Guide)';
const SQS_SCALING = 'Configuring scaling behavior for SQS event source mappings (Lambda Developer Guide)';
const PROVISIONED_BLOG = 'AWS Lambda enhances event processing with provisioned mode for SQS event-source mapping (AWS News Blog)';
const LAMBDA_SCALING = 'Lambda scaling behavior (Lambda Developer Guide)';
const LAMBDA_CONCURRENCY = 'Understanding Lambda function scaling / Lambda quotas (Lambda Developer Guide)';
const DDB_QUOTAS = 'Quotas in Amazon DynamoDB (DynamoDB Developer Guide)';
const DDB_WARM = 'Understanding DynamoDB warm throughput in different scenarios (DynamoDB Developer Guide)';
const KMS_QUOTAS = 'Request quotas (AWS KMS Developer Guide)';
const APIGW_QUOTAS = 'Amazon API Gateway quotas (API Gateway Developer Guide)';

export const AWS = {
  /** "PutEvents throttle limit in transactions per second": 10,000 in us-east-1, us-west-2, eu-west-1 (2,400 in us-east-2, lower elsewhere). Account-wide, all buses. */
  putEvents: { value: 10_000, unit: 'entries/s', adjustable: true, source: EB_QUOTAS },
  /** "Invocations throttle limit in transactions per second": 18,750 in us-east-1, us-west-2, eu-west-1 (4,500 us-east-2 and eu-central-1, 1,100 in most others). Throttled invocations are delayed, not dropped. */
  invocations: { value: 18_750, unit: 'invocations/s', adjustable: true, source: EB_QUOTAS },
  /** "approximately 120,000" in-flight messages per standard queue (received, not yet deleted). */
  sqsInFlight: { value: 120_000, unit: 'messages', adjustable: false, source: SQS_QUOTAS },
  /** Standard mode: the most concurrent invocations one SQS event source mapping makes (older versions of the page: 1,000 batches). */
  esmStandardMax: { value: 1_250, unit: 'concurrent', adjustable: false, source: SQS_SCALING },
  /** ScalingConfig.MaximumConcurrency accepts 2–1,000 (AWS::Lambda::EventSourceMapping ScalingConfig, CloudFormation). */
  esmMaximumConcurrencyMax: { value: 1_000, unit: 'concurrent', adjustable: false, source: 'AWS::Lambda::EventSourceMapping ScalingConfig (CloudFormation Template Reference)' },
  /** Standard mode: five concurrent batches to start, then "up to 300 more" per minute while messages wait. */
  esmStandardScalePerMinute: { value: 300, unit: 'concurrent/min', adjustable: false, source: SQS_SCALING },
  esmStandardStart: { value: 5, unit: 'concurrent', adjustable: false, source: SQS_SCALING },
  /** Provisioned mode (ProvisionedPollerConfig, mutually exclusive with MaximumConcurrency): up to 20,000 concurrency, scaling up to 1,000 per minute. */
  esmProvisionedMax: { value: 20_000, unit: 'concurrent', adjustable: false, source: `${PROVISIONED_BLOG}; ${SQS_SCALING}` },
  esmProvisionedScalePerMinute: { value: 1_000, unit: 'concurrent/min', adjustable: false, source: PROVISIONED_BLOG },
  /** Concurrent executions per account and Region (new accounts can start lower). */
  lambdaConcurrency: { value: 1_000, unit: 'concurrent', adjustable: true, source: LAMBDA_CONCURRENCY },
  /** Lambda keeps at least 100 of the account's concurrency unreserved. */
  lambdaUnreservedMin: { value: 100, unit: 'concurrent', adjustable: false, source: 'Configuring reserved concurrency for a function (Lambda Developer Guide)' },
  /** "1,000 execution environment instances every 10 seconds", per function. */
  lambdaScalingPer10s: { value: 1_000, unit: 'environments/10 s', adjustable: false, source: LAMBDA_SCALING },
  /** Lambda gives a function one vCPU at 1,769 MB, proportionally less below. */
  lambdaMbPerVcpu: { value: 1_769, unit: 'MB', adjustable: false, source: 'Configure Lambda function memory (Lambda Developer Guide)' },
  /** Per partition: 1,000 write units and 3,000 read units per second, table and GSI alike (adaptive capacity does not lift it). */
  ddbPartitionWrite: { value: 1_000, unit: 'WRU/s', adjustable: false, source: `${DDB_WARM}; DynamoDB burst and adaptive capacity (DynamoDB Developer Guide)` },
  ddbPartitionRead: { value: 3_000, unit: 'RRU/s', adjustable: false, source: `${DDB_WARM}; DynamoDB burst and adaptive capacity (DynamoDB Developer Guide)` },
  /** On-demand: 40,000 read request units and 40,000 write request units per table (table-level quota). */
  ddbTableWrite: { value: 40_000, unit: 'WRU/s', adjustable: true, source: DDB_QUOTAS },
  ddbTableRead: { value: 40_000, unit: 'RRU/s', adjustable: true, source: DDB_QUOTAS },
  /** A new on-demand table's warm throughput: 4,000 write and 12,000 read units per second; above it, it adapts (about double the previous peak within 30 minutes) unless pre-warmed. */
  ddbWarmWrite: { value: 4_000, unit: 'WRU/s', adjustable: true, source: `${DDB_WARM}; DynamoDB on-demand capacity mode (DynamoDB Developer Guide)` },
  ddbWarmRead: { value: 12_000, unit: 'RRU/s', adjustable: true, source: DDB_WARM },
  /** "Cryptographic operations (symmetric) request rate", shared by Decrypt, Encrypt, GenerateDataKey, …: 5,500/s in most Regions, higher in the largest ones. */
  kmsSymmetric: { value: 5_500, unit: 'requests/s', adjustable: true, source: KMS_QUOTAS },
  /** Account throttle quota per Region across REST, HTTP and WebSocket APIs: 10,000 rps, burst 5,000. */
  apiAccountRate: { value: 10_000, unit: 'requests/s', adjustable: true, source: APIGW_QUOTAS },
  apiAccountBurst: { value: 5_000, unit: 'requests', adjustable: true, source: APIGW_QUOTAS },
} as const satisfies Record<string, AwsLimit>;

/** The adjustable quotas the model checks: defaults here, raised in a plan. */
export interface Quotas {
  readonly putEvents: number;
  readonly invocations: number;
  readonly lambdaConcurrency: number;
  readonly ddbTableWrite: number;
  readonly ddbTableRead: number;
  readonly kmsSymmetric: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  putEvents: AWS.putEvents.value,
  invocations: AWS.invocations.value,
  lambdaConcurrency: AWS.lambdaConcurrency.value,
  ddbTableWrite: AWS.ddbTableWrite.value,
  ddbTableRead: AWS.ddbTableRead.value,
  kmsSymmetric: AWS.kmsSymmetric.value,
};

/** The Service Quotas names of the adjustable quotas, for the plan. */
export const QUOTA_NAMES: Record<keyof Quotas, string> = {
  putEvents: 'EventBridge "PutEvents throttle limit in transactions per second"',
  invocations: 'EventBridge "Invocations throttle limit in transactions per second"',
  lambdaConcurrency: 'Lambda "Concurrent executions"',
  ddbTableWrite: 'DynamoDB "Table-level write throughput limit" (on-demand)',
  ddbTableRead: 'DynamoDB "Table-level read throughput limit" (on-demand)',
  kmsSymmetric: 'KMS "Cryptographic operations (symmetric) request rate"',
};
