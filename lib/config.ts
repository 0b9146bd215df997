import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { API, DEFAULT_EVENT_SOURCE, DEFAULT_OPERATIONAL_EVENT_SOURCE, DEFAULTS, PIPELINE } from '../lambdas/shared/contract';

/** A stage name: lower-case, starts with a letter, 2–21 characters (it ends up in the stack name). */
export const STAGE_PATTERN = /^[a-z][a-z0-9-]{1,20}$/;

/** The stage whose data is retained and protected; every other stage is disposable. */
export const PRODUCTION_STAGE = 'prod';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Everything the stack needs from CDK context, validated and with defaults applied. */
export interface StackConfig {
  readonly stage: string;
  readonly isProduction: boolean;
  /** `Source` of the visit events the rule routes. */
  readonly eventSource: string;
  /** `Source` of the operational events the service puts on the bus (never the visits' source). */
  readonly operationalEventSource: string;
  /** Delays after the first attempt, in whole seconds. */
  readonly retryScheduleSeconds: readonly number[];
  /** Whether plain `http://` webhook targets are allowed (never in production by default). */
  readonly allowHttpTargets: boolean;
  /** TTL of delivery records (attempt log). */
  readonly deliveryRetentionDays: number;
  /** A webhook whose deliveries have all failed this long is disabled. */
  readonly autoDisableAfterDays: number;
  /** Retention of every Lambda log group. */
  readonly logRetention: RetentionDays;
  /** Powertools log level of the functions. */
  readonly logLevel: LogLevel;
  /** Address subscribed to the alarm topic, if any. */
  readonly alarmEmail?: string;
  /** Maximum concurrency of the delivery function's (fast lane) SQS event source mapping (2–1000). */
  readonly deliveryConcurrency: number;
  /** Maximum concurrency of the retry function's (slow lane) SQS event source mapping (2–1000); defaults to `deliveryConcurrency`. */
  readonly retryConcurrency: number;
  /** Capacity settings of the delivery function (fast lane) and its mapping. */
  readonly delivery: LaneConfig;
  /** Capacity settings of the retry function (slow lane) and its mapping. */
  readonly retry: LaneConfig;
  /** Origin of the dashboard, allowed by CORS on the management API. */
  readonly dashboardOrigin?: string;
  /** Steady-state requests per second of the management API stage (default method throttling). */
  readonly apiRateLimit: number;
  /** Burst (token bucket size) of the management API stage. */
  readonly apiBurstLimit: number;
  /** Requests per second of one account on the management API (all its keys together); at most `apiRateLimit`. */
  readonly apiAccountRateLimit: number;
  /** A regional WAFv2 web ACL associated with the API stage, if any. */
  readonly apiWafAclArn?: string;
  /** `RETAIN` in production, `DESTROY` elsewhere. */
  readonly removalPolicy: RemovalPolicy;
  /** Deletion protection on the tables (production only). */
  readonly deletionProtection: boolean;
  /**
   * Point-in-time recovery on the deliveries table (the attempt log); default true, as the
   * template had it before this setting (the webhooks and API keys tables always keep it).
   */
  readonly deliveriesPointInTimeRecovery: boolean;
  /** Warm throughput of the deliveries table, write units a second (context `deliveriesWarmWrites`, 4,000–10,000,000); absent: DynamoDB's. */
  readonly deliveriesWarmWrites?: number;
  /**
   * Reserved concurrency of the reconciler: 1 (the default) keeps its ticks from overlapping;
   * absent (context `0`) reserves none, for accounts whose quota leaves no room for a reservation.
   */
  readonly reconcilerReservedConcurrency?: number;
  /** Who may put events with {@link eventSource} on the bus (the bus resource policy). */
  readonly publishers: PublisherConfig;
  /** X-Ray active tracing on every function and the API stage (default off). */
  readonly tracing: boolean;
  /** The account's Lambda concurrency quota in the region, for the concurrency alarm (AWS default 1,000). */
  readonly accountConcurrencyQuota: number;
  /**
   * `NODE_OPTIONS=--enable-source-maps` on every function: readable stack traces, for +6 to +26 ms
   * of CPU per cold start and 15-100 ms on a container's first error stack (docs/deployment.md).
   * Default: on outside prod, off in prod (the maps ship in the bundles either way).
   */
  readonly sourceMaps: boolean;
}

/**
 * The publishers the bus admits for the configured source. Empty lists: this account only (any
 * principal of it whose identity policy allows `events:PutEvents` on the bus, as before the policy).
 */
export interface PublisherConfig {
  /** 12-digit account ids: any principal of these accounts that its own account allows. */
  readonly accountIds: readonly string[];
  /** IAM role ARNs: exactly these roles (of any account). */
  readonly roleArns: readonly string[];
}

/** Capacity settings of one lane's function and SQS event source mapping. */
export interface LaneConfig {
  /** Reserved concurrency of the function; absent: none (it draws on the account's unreserved pool). */
  readonly reservedConcurrency?: number;
  /** Records per invocation (1–10000; above 10 needs a batching window). */
  readonly batchSize: number;
  /** Maximum batching window of the mapping, in seconds (0–300). */
  readonly maxBatchingWindowSeconds: number;
  /** Memory of the function, in MB (128–10240). */
  readonly memoryMb: number;
  /**
   * Provisioned mode for the lane's mapping (context `<lane>Pollers`, the maximum 2–2000, and
   * `<lane>MinPollers`, 2–200, default 2): for more than the 1,000 concurrent of standard mode.
   */
  readonly pollers?: { readonly minimum: number; readonly maximum: number };
}

/** Reads one context value (`app.node.tryGetContext`). */
export type ContextReader = (key: string) => unknown;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const DAY_SECONDS = 86_400;
/** What an SQS event source mapping accepts as `maxConcurrency`. */
const MAX_CONCURRENCY_RANGE = { min: 2, max: 1000 } as const;
/** API Gateway's default account-level quotas per region: a stage cannot usefully exceed them. */
/** Records per batch an SQS event source mapping accepts (standard queue); above 10 SQS needs a batching window. */
const BATCH_SIZE_RANGE = { min: 1, max: 10_000 } as const;
const SQS_BATCH_SIZE_WITHOUT_WINDOW = 10;
/** Maximum batching window of an event source mapping, in seconds. */
const BATCHING_WINDOW_RANGE = { min: 0, max: 300 } as const;
/** Lambda's memory range, in MB. */
const MEMORY_RANGE = { min: 128, max: 10_240 } as const;
/** Reserved concurrency: at least 1 (0 would stop the lane); the upper bound is the account's quota, checked by Lambda. */
const RESERVED_CONCURRENCY_RANGE = { min: 1, max: 100_000 } as const;
/**
 * Today's lane settings, from the contract (`PIPELINE`) and the functions' memory, sized from
 * measured peak RSS and duration (docs/performance.md, "Memory and duration"): the delivery
 * function peaks at 130–160 MiB on batches of single events and of batch entries up to 800
 * deliveries an invocation, 261 MiB at 4,000; the retry function handles one delivery per record.
 * Both spend most of their time waiting on endpoints, so memory beyond the peak bought CPU share
 * they barely use.
 */
export const LANE_DEFAULTS = {
  batchSize: PIPELINE.batchSize,
  maxBatchingWindowSeconds: PIPELINE.maxBatchingWindowSeconds,
  memoryMb: { delivery: 384, retry: 256 },
  concurrency: 20,
} as const;
const API_RATE_RANGE = { min: 1, max: 10_000 } as const;
const API_BURST_RANGE = { min: 1, max: 5_000 } as const;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/**
 * A regional WAFv2 web ACL's ARN, `arn:<partition>:wafv2:<region>:<account>:regional/webacl/<name>/<id>`
 * (group 1: the region). API Gateway stages take regional ACLs only; the construct also checks the region.
 */
export const WEB_ACL_ARN_PATTERN = /^arn:aws[a-z-]*:wafv2:([a-z0-9-]+):\d{12}:regional\/webacl\/[A-Za-z0-9_-]{1,128}\/[0-9a-f-]{36}$/;
const VALID_LOG_RETENTION_DAYS = new Set(
  Object.values(RetentionDays).filter((value): value is number => typeof value === 'number'),
);

function fail(key: string, message: string, value: unknown): never {
  throw new ConfigError(`Invalid CDK context "${key}": ${message} (got ${JSON.stringify(value)})`);
}

/** Context values come from cdk.json as JSON, or from `-c key=value` as strings. */
function readString(read: ContextReader, key: string): string | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') fail(key, 'expected a string', value);
  return value.trim();
}

function readBoolean(read: ContextReader, key: string, fallback: boolean): boolean {
  const value = read(key);
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return fail(key, 'expected true or false', value);
}

function readInteger(read: ContextReader, key: string, fallback: number, min: number, max: number): number {
  const value = read(key);
  if (value === undefined || value === null || value === '') return fallback;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    return fail(key, `expected an integer from ${min} to ${max}`, value);
  }
  return parsed;
}

function readOptionalInteger(read: ContextReader, key: string, min: number, max: number): number | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  return readInteger(read, key, 0, min, max);
}

/**
 * One lane's settings: context keys `<prefix>ReservedConcurrency`, `<prefix>BatchSize`,
 * `<prefix>MaxBatchingWindowSeconds` and `<prefix>MemoryMb`, checked against each other and
 * against the lane's mapping concurrency (`concurrencyKey`).
 */
function readLane(read: ContextReader, prefix: 'delivery' | 'retry', concurrency: number, concurrencyKey: string): LaneConfig {
  const batchSize = readInteger(read, `${prefix}BatchSize`, LANE_DEFAULTS.batchSize, BATCH_SIZE_RANGE.min, BATCH_SIZE_RANGE.max);
  const windowKey = `${prefix}MaxBatchingWindowSeconds`;
  const maxBatchingWindowSeconds = readInteger(read, windowKey, LANE_DEFAULTS.maxBatchingWindowSeconds, BATCHING_WINDOW_RANGE.min, BATCHING_WINDOW_RANGE.max);
  if (batchSize > SQS_BATCH_SIZE_WITHOUT_WINDOW && maxBatchingWindowSeconds === 0) {
    fail(windowKey, `must be greater than 0 when ${prefix}BatchSize is above ${SQS_BATCH_SIZE_WITHOUT_WINDOW} (${prefix}BatchSize is ${batchSize}; SQS rule)`, maxBatchingWindowSeconds);
  }
  const memoryMb = readInteger(read, `${prefix}MemoryMb`, LANE_DEFAULTS.memoryMb[prefix], MEMORY_RANGE.min, MEMORY_RANGE.max);
  const reservedKey = `${prefix}ReservedConcurrency`;
  const reservedConcurrency = readOptionalInteger(read, reservedKey, RESERVED_CONCURRENCY_RANGE.min, RESERVED_CONCURRENCY_RANGE.max);
  if (reservedConcurrency !== undefined && reservedConcurrency < concurrency && read(`${prefix}Pollers`) === undefined) {
    // Below the mapping's maximum concurrency, the mapping's pollers would be throttled by the function
    // (messages go back to the queue and count towards the DLQ's receive count).
    fail(reservedKey, `must be at least ${concurrencyKey} (${concurrency}), or the mapping's invocations are throttled`, reservedConcurrency);
  }
  const pollersKey = `${prefix}Pollers`;
  const maximumPollers = readOptionalInteger(read, pollersKey, POLLERS_RANGE.min, POLLERS_RANGE.max);
  const minKey = `${prefix}MinPollers`;
  const minimumPollers = readOptionalInteger(read, minKey, MIN_POLLERS_RANGE.min, MIN_POLLERS_RANGE.max);
  if (minimumPollers !== undefined && maximumPollers === undefined) fail(minKey, `needs ${pollersKey} (provisioned mode) to be set`, minimumPollers);
  if (minimumPollers !== undefined && maximumPollers !== undefined && minimumPollers > maximumPollers) fail(minKey, `must not be above ${pollersKey} (${maximumPollers})`, minimumPollers);
  const pollers = maximumPollers !== undefined ? { minimum: minimumPollers ?? MIN_POLLERS_RANGE.min, maximum: maximumPollers } : undefined;
  return { ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}), batchSize, maxBatchingWindowSeconds, memoryMb, ...(pollers ? { pollers } : {}) };
}

function optionalSetting<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

/** Provisioned mode's event pollers on an SQS mapping: maximum 2–2000, minimum 2–200 (Lambda). */
const POLLERS_RANGE = { min: 2, max: 2000 } as const;
const MIN_POLLERS_RANGE = { min: 2, max: 200 } as const;
/** A list from cdk.json (a JSON array of strings) or from `-c key=a,b` (comma-separated). */
function readList(read: ContextReader, key: string): string[] {
  const value = read(key);
  if (value === undefined || value === null || value === '') return [];
  const parts: unknown[] = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : [value];
  if (parts.some((part) => typeof part !== 'string')) fail(key, 'expected a list of strings, as "a,b" or ["a", "b"]', value);
  return [...new Set((parts as string[]).map((part) => part.trim()).filter((part) => part !== ''))];
}

const ACCOUNT_ID_PATTERN = /^\d{12}$/;
/** An IAM role ARN (with an optional path); no wildcards: the policy names exact principals. */
const ROLE_ARN_PATTERN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

function readPublishers(read: ContextReader): PublisherConfig {
  const accountIds = readList(read, 'publisherAccountIds');
  for (const id of accountIds) if (!ACCOUNT_ID_PATTERN.test(id)) fail('publisherAccountIds', `"${id}" is not a 12-digit AWS account id`, read('publisherAccountIds'));
  const roleArns = readList(read, 'publisherRoleArns');
  for (const arn of roleArns) {
    if (!ROLE_ARN_PATTERN.test(arn)) fail('publisherRoleArns', `"${arn}" is not an IAM role ARN such as arn:aws:iam::111122223333:role/tracking-publisher (no wildcards)`, read('publisherRoleArns'));
  }
  return { accountIds, roleArns };
}

function readRetrySchedule(read: ContextReader, key: string): readonly number[] {
  const value = read(key);
  if (value === undefined || value === null || value === '') return [...DEFAULTS.retryScheduleSeconds];
  const parts: unknown[] = typeof value === 'string' ? value.split(',').map((part) => part.trim()) : Array.isArray(value) ? value : [];
  const seconds = parts.map((part) => (typeof part === 'number' ? part : typeof part === 'string' && part !== '' ? Number(part) : NaN));
  if (seconds.length === 0 || seconds.some((s) => !Number.isInteger(s) || s < 0)) {
    return fail(key, 'expected a non-empty list of whole seconds, as "5,300,1800" or [5, 300, 1800]', value);
  }
  return seconds;
}

function readOrigin(read: ContextReader, key: string): string | undefined {
  const value = readString(read, key);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(key, 'expected an origin such as https://dashboard.example.com', value);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== value) {
    return fail(key, 'expected an origin (scheme, host and optional port, no path) such as https://dashboard.example.com', value);
  }
  return value;
}

/**
 * Reads and validates the stack configuration from CDK context (`-c key=value` or the
 * `context` block of cdk.json). Throws a {@link ConfigError} naming the key on bad input.
 */
export function readStackConfig(read: ContextReader): StackConfig {
  const stage = readString(read, 'stage') ?? 'dev';
  if (!STAGE_PATTERN.test(stage)) {
    fail('stage', `must match ${STAGE_PATTERN} (lower-case letters, digits and dashes, starting with a letter, 2-21 characters)`, stage);
  }
  const isProduction = stage === PRODUCTION_STAGE;

  const eventSource = readString(read, 'eventSource') ?? DEFAULT_EVENT_SOURCE;
  if (!/^[A-Za-z0-9._/-]{1,256}$/.test(eventSource)) {
    fail('eventSource', 'expected an EventBridge source such as "tracking"', eventSource);
  }

  const operationalEventSource = readString(read, 'operationalEventSource') ?? DEFAULT_OPERATIONAL_EVENT_SOURCE;
  if (!/^[A-Za-z0-9._/-]{1,256}$/.test(operationalEventSource) || operationalEventSource.startsWith('aws.')) {
    fail('operationalEventSource', 'expected an EventBridge source such as "visit-webhooks" (not aws.*)', operationalEventSource);
  }
  if (operationalEventSource === eventSource) {
    // The tracking pipeline may put only its own source (PutEventsPolicy): the service's events must be told apart.
    fail('operationalEventSource', `must differ from eventSource ("${eventSource}")`, operationalEventSource);
  }

  const retryScheduleSeconds = readRetrySchedule(read, 'retrySchedule');
  const deliveryRetentionDays = readInteger(read, 'deliveryRetentionDays', DEFAULTS.deliveryRetentionDays, 1, 3650);
  const totalRetrySeconds = retryScheduleSeconds.reduce((sum, s) => sum + s, 0);
  if (totalRetrySeconds >= deliveryRetentionDays * DAY_SECONDS) {
    // A delivery record must outlive its last retry, or the retry would find nothing to update.
    fail('retrySchedule', `its total (${totalRetrySeconds} s) must be shorter than deliveryRetentionDays (${deliveryRetentionDays} d)`, retryScheduleSeconds);
  }

  const logRetentionDays = readInteger(read, 'logRetentionDays', isProduction ? 30 : 7, 1, 3653);
  if (!VALID_LOG_RETENTION_DAYS.has(logRetentionDays)) {
    fail('logRetentionDays', `expected one of CloudWatch Logs' retention periods: ${[...VALID_LOG_RETENTION_DAYS].sort((a, b) => a - b).join(', ')}`, logRetentionDays);
  }

  const alarmEmail = readString(read, 'alarmEmail');
  if (alarmEmail !== undefined && !EMAIL_PATTERN.test(alarmEmail)) {
    fail('alarmEmail', 'expected an email address', alarmEmail);
  }

  const dashboardOrigin = readOrigin(read, 'dashboardOrigin');

  const deliveryConcurrency = readInteger(read, 'deliveryConcurrency', LANE_DEFAULTS.concurrency, MAX_CONCURRENCY_RANGE.min, MAX_CONCURRENCY_RANGE.max);
  // Before retryConcurrency existed, deliveryConcurrency capped both mappings: it still does unless set.
  const retryConcurrency = readInteger(read, 'retryConcurrency', deliveryConcurrency, MAX_CONCURRENCY_RANGE.min, MAX_CONCURRENCY_RANGE.max);
  const delivery = readLane(read, 'delivery', deliveryConcurrency, 'deliveryConcurrency');
  const retry = readLane(read, 'retry', retryConcurrency, 'retryConcurrency');
  // 0: no reservation (a new account's quota of 10 cannot give any: Lambda keeps 100 unreserved).
  const reconcilerReservedConcurrency = readInteger(read, 'reconcilerReservedConcurrency', 1, 0, RESERVED_CONCURRENCY_RANGE.max);

  const apiRateLimit = readInteger(read, 'apiRateLimit', 50, API_RATE_RANGE.min, API_RATE_RANGE.max);
  // Above the stage's rate it would never bind: one account could still take the whole stage.
  const apiAccountRateLimit = readInteger(read, 'apiAccountRateLimit', Math.min(API.accountRatePerSecond, apiRateLimit), 1, apiRateLimit);
  const apiWafAclArn = readString(read, 'apiWafAclArn');
  if (apiWafAclArn !== undefined && !WEB_ACL_ARN_PATTERN.test(apiWafAclArn)) {
    fail('apiWafAclArn', 'expected a regional WAFv2 web ACL ARN such as arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/api-acl/a1b2c3d4-5678-90ab-cdef-0123456789ab', apiWafAclArn);
  }

  return {
    stage,
    isProduction,
    eventSource,
    operationalEventSource,
    retryScheduleSeconds,
    allowHttpTargets: readBoolean(read, 'allowHttpTargets', false),
    deliveryRetentionDays,
    autoDisableAfterDays: readInteger(read, 'autoDisableAfterDays', DEFAULTS.autoDisableAfterDays, 1, 365),
    logRetention: logRetentionDays as RetentionDays,
    logLevel: isProduction ? 'INFO' : 'DEBUG',
    ...(alarmEmail !== undefined ? { alarmEmail } : {}),
    deliveryConcurrency,
    retryConcurrency,
    delivery,
    retry,
    ...(dashboardOrigin !== undefined ? { dashboardOrigin } : {}),
    apiRateLimit,
    apiBurstLimit: readInteger(read, 'apiBurstLimit', 100, API_BURST_RANGE.min, API_BURST_RANGE.max),
    apiAccountRateLimit,
    ...(apiWafAclArn !== undefined ? { apiWafAclArn } : {}),
    removalPolicy: isProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    deletionProtection: isProduction,
    deliveriesPointInTimeRecovery: readBoolean(read, 'deliveriesPointInTimeRecovery', true),
    ...optionalSetting('deliveriesWarmWrites', readOptionalInteger(read, 'deliveriesWarmWrites', 4_000, 10_000_000)),
    ...(reconcilerReservedConcurrency > 0 ? { reconcilerReservedConcurrency } : {}),
    publishers: readPublishers(read),
    tracing: readBoolean(read, 'tracing', false),
    accountConcurrencyQuota: readInteger(read, 'accountConcurrencyQuota', 1000, 10, 1_000_000),
    sourceMaps: readBoolean(read, 'sourceMaps', !isProduction),
  };
}
