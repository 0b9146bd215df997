/**
 * The single source of truth for the webhook contracts (docs/design.md §4–§7).
 *
 * The CDK stack (event rule, env defaults), the Lambda handlers and the local
 * runtime all import from here, so a change to an event type, a limit or a
 * reserved header lands everywhere at once. Keep this module free of runtime
 * dependencies: it is bundled into every Lambda.
 */

/** The visit event types the tracking pipeline puts on the bus (the customer guide's list). */
export const VISIT_EVENT_TYPES = ['NEW_VISIT', 'NEW_VISITOR'] as const;
export type VisitEventType = (typeof VISIT_EVENT_TYPES)[number];

/**
 * Operational events (docs/design.md §8, "Operational events"): what the service itself puts on the
 * bus, with its own `source` (`DEFAULT_OPERATIONAL_EVENT_SOURCE`), when a webhook is auto-disabled,
 * a delivery exhausts its retries, or a webhook's breaker opens or closes. The platform routes them
 * with ordinary rules; a customer's webhook may subscribe to them like to visits.
 */
export const OPERATIONAL_EVENT_TYPES = ['WEBHOOK_AUTO_DISABLED', 'DELIVERY_EXHAUSTED', 'WEBHOOK_BREAKER_OPENED', 'WEBHOOK_BREAKER_CLOSED'] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

/** Event types a webhook can subscribe to: the visits and the operational events. */
export const EVENT_TYPES = [...VISIT_EVENT_TYPES, ...OPERATIONAL_EVENT_TYPES] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * What each event type means, as the event catalog (`GET /v1/event-types`), the OpenAPI
 * document's `webhooks` section and the customer guide (docs/webhooks-guide.md) say it.
 */
export const EVENT_TYPE_DESCRIPTIONS: Readonly<Record<EventType, string>> = {
  NEW_VISIT: 'A visit was recorded on one of the account\'s sites. The body is the visit.',
  NEW_VISITOR:
    'A visitor (a unique user) was seen for the first time. The body is the visit that brought them, in the same shape as NEW_VISIT.',
  WEBHOOK_AUTO_DISABLED: 'Operational: one of the account\'s webhooks was disabled by the service (a 410 Gone, or every delivery failing for days), with the reason. Never sent to the webhook it is about.',
  DELIVERY_EXHAUSTED: 'Operational: a delivery to one of the account\'s webhooks failed its last retry and was kept as failed (recoverable). Never sent to the webhook it is about.',
  WEBHOOK_BREAKER_OPENED: 'Operational: the circuit breaker of one of the account\'s webhooks opened: its deliveries wait (parked) until a probe finds the endpoint back.',
  WEBHOOK_BREAKER_CLOSED: 'Operational: the breaker of one of the account\'s webhooks closed again: the parked deliveries are being released.',
};

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

export function isVisitEventType(value: unknown): value is VisitEventType {
  return typeof value === 'string' && (VISIT_EVENT_TYPES as readonly string[]).includes(value);
}

export function isOperationalEventType(value: unknown): value is OperationalEventType {
  return typeof value === 'string' && (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(value);
}

/** `Source` the tracking pipeline uses on the bus; overridable by CDK context `eventSource`. */
export const DEFAULT_EVENT_SOURCE = 'tracking';

/** `Source` of the operational events the service puts on the bus; overridable by CDK context `operationalEventSource`. */
export const DEFAULT_OPERATIONAL_EVENT_SOURCE = 'visit-webhooks';

/** An EventBridge event pattern limited to exact-value matching (all we need). */
export type VisitEventPattern = {
  readonly source: string[];
  readonly 'detail-type': string[];
};

/** The pattern of the rule that routes visit events to the events queue. */
export function visitEventPattern(source: string = DEFAULT_EVENT_SOURCE): VisitEventPattern {
  return { source: [source], 'detail-type': [...VISIT_EVENT_TYPES] };
}

/**
 * The pattern of the rule that routes operational events to the events queue, so that webhooks
 * subscribed to them get them (the delivery fan-out keeps each to its own account, as visits).
 */
export function operationalEventPattern(source: string = DEFAULT_OPERATIONAL_EVENT_SOURCE): VisitEventPattern {
  return { source: [source], 'detail-type': [...OPERATIONAL_EVENT_TYPES] };
}

/**
 * Whether an event matches a pattern of exact-value arrays, as EventBridge evaluates it.
 * Used by the local bus so it routes exactly like the CDK rule.
 */
export function matchesEventPattern(
  pattern: Readonly<Record<string, readonly unknown[]>>,
  event: Readonly<Record<string, unknown>>,
): boolean {
  return Object.entries(pattern).every(([field, allowed]) => allowed.includes(event[field]));
}

/** Limits shared by validation (API), delivery and infrastructure. */
export const LIMITS = {
  nameMaxLength: 100,
  urlMaxLength: 2048,
  descriptionMaxLength: 500,
  headersMaxCount: 20,
  headerValueMaxLength: 1000,
  webhooksPerAccount: 100,
  /** EventBridge's own entry limit; an envelope larger than this cannot be on the bus. */
  eventMaxBytes: 256 * 1024,
  /**
   * How far an event's `time` may be ahead of the delivery function's clock (producers' clock
   * skew); a later one is invalid (events DLQ): the time orders the attempt log (docs/design.md §4).
   */
  eventTimeMaxAheadSeconds: 300,
  /**
   * Visits in one batch entry (`detail.visits`, docs/design.md §4): bounds the work one queue
   * record brings to one invocation. The batching publisher packs by size first (one 64 KB
   * EventBridge chunk), so at 1.5 KB a visit an entry holds about 40.
   */
  visitsPerEventMax: 100,
  /** EventBridge bills an entry per started 64 KB chunk: the batching publisher's target size. */
  eventBilledChunkBytes: 64 * 1024,
  /** Bytes of a receiver's response kept in the attempt log. */
  responseSnippetBytes: 512,
  /** Bytes of a receiver's response read before the connection is dropped. */
  responseMaxReadBytes: 64 * 1024,
  /** Attempts kept inline on a delivery record (newest last). */
  attemptsKept: 12,
  /** API request body limit. */
  apiBodyMaxBytes: 64 * 1024,
  /** A webhook's optional delivery rate limit, deliveries per second. */
  rateLimitMin: 1,
  rateLimitMax: 1000,
  /**
   * A webhook's payload filter (an EventBridge event pattern, docs/api.md): at most this many
   * UTF-8 bytes of compact JSON (EventBridge's own patterns are at most 4,096 characters), this
   * many levels of nested objects, this many values and operator operands in all, and this many
   * wildcards (`wildcard` and `anything-but` `wildcard` strings): the only operator whose match
   * time grows with the length of the payload's string, so they bound a match's cost.
   */
  filterMaxBytes: 4096,
  filterMaxDepth: 10,
  filterMaxValues: 100,
  filterMaxWildcards: 10,
} as const;

/**
 * Header names the service sets on every delivery: a webhook's custom headers may not override
 * them, in any letter case. `X-Webhook-Signature` is absent on purpose: the customer guide lets
 * a customer set it to a static shared-secret token.
 */
export const SERVICE_HEADERS = ['host', 'content-type', 'content-length', 'user-agent', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-webhook-event'] as const;

/**
 * Hop-by-hop and framing headers (RFC 9110 §7.6.1, RFC 9113 §8.2.2), including every name the
 * HTTP client refuses to send (undici throws on `Keep-Alive`, `Upgrade`, `Expect`,
 * `Transfer-Encoding` and most `Connection` values): a custom header of these names could never
 * reach the endpoint, so it is refused at create and edit, not at every delivery.
 */
export const HOP_BY_HOP_HEADERS = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
] as const;

/** Every header name a webhook's custom headers may not use. */
export const RESERVED_HEADERS = [...SERVICE_HEADERS, ...HOP_BY_HOP_HEADERS] as const;

export function isReservedHeader(name: string): boolean {
  return (RESERVED_HEADERS as readonly string[]).includes(name.toLowerCase());
}

/**
 * What the API accepts in a webhook's fields, shared by the API's schemas and the dashboard's
 * form checks. Each is also a valid JSON Schema pattern (no flags): it goes into the OpenAPI
 * document verbatim.
 */
export const FIELD_PATTERNS = {
  /** RFC 7230 `token`: the characters a header field name may have. */
  headerName: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/,
  /** Printable ASCII, space and tab: no CR/LF (header injection), no other control characters. */
  headerValue: /^[\t\x20-\x7E]*$/,
  /** A URL as typed: no whitespace or control characters (the WHATWG parser would silently drop some). */
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are refused
  urlChars: /^[^\s\x00-\x1F\x7F]+$/,
} as const;

/** The prefix of a Standard Webhooks signing secret (`whsec_` + base64 of the key). */
export const SIGNING_SECRET_PREFIX = 'whsec_';

/** Headers of the delivery contract (docs/design.md §5). */
export const DELIVERY_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
  legacySignature: 'X-Webhook-Signature',
  event: 'X-Webhook-Event',
} as const;

/**
 * The `User-Agent` of every delivery: the product and its version (package.json's major.minor,
 * checked by test/unit/delivery-contract.test.ts), and no URL. The service is deployed by each
 * platform under its own name, so there is no one page a URL here could truthfully point at;
 * receivers that filter on the agent match the `visit-webhooks/` prefix (docs/design.md §5).
 */
export const USER_AGENT = 'visit-webhooks/0.1';

/** Defaults; each is overridable where noted (CDK context or environment). */
export const DEFAULTS = {
  /** Total time budget of one attempt (connect + response). */
  deliveryTimeoutMs: 10_000,
  connectTimeoutMs: 3_000,
  /** How long the delivery Lambda trusts its cached copy of an account's webhooks. */
  webhookCacheTtlMs: 10_000,
  /** Concurrent attempts per event (fan-out to one account's webhooks). */
  fanOutConcurrency: 10,
  /** TTL of delivery records (attempt log). */
  deliveryRetentionDays: 30,
  /** Delays after the first attempt, in seconds: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
  retryScheduleSeconds: [5, 300, 1800, 7200, 18000, 36000, 36000] as readonly number[],
  /** A webhook whose deliveries have all failed this long is disabled. */
  autoDisableAfterDays: 5,
  /** The old secret keeps signing this long after a rotation. */
  secretRotationOverlapHours: 24,
  /**
   * Budget of an attempt in the fast lane (the events queue's consumer): an endpoint that has
   * not answered by then is sent again, with the full budget, through the slow lane.
   */
  inlineTimeoutMs: 1_500,
  /** Time an invocation keeps to record what it did: no attempt starts that could end later. */
  recordMarginMs: 3_000,
  /** How long an endpoint that answered too slowly for the fast lane stays in the slow lane. */
  slowHoldMs: 300_000,
  /** Consecutive failed attempts (in one container) that open a webhook's breaker. */
  breakerFailures: 3,
  /** First probe this long after the breaker opens; doubling per failed probe, up to the maximum. */
  probeIntervalMs: 10_000,
  probeMaxIntervalMs: 300_000,
  /** A probe not concluded within this lease is taken again. */
  probeLeaseMs: 60_000,
  /** Parked deliveries released per second and webhook once its endpoint recovers. */
  releasePerSecond: 10,
  /** A rate-limited delivery waits this long before it is tried again. */
  rateLimitWaitSeconds: 1,
  /** A pending delivery this far past its due time is re-queued (and counted) by the reconciler. */
  overdueAfterMs: 900_000,
  /** How often the reconciler runs (in AWS: a schedule; locally: a timer). */
  reconcileEverySeconds: 60,
} as const;

/** Environment variables the handlers read (set by the stack and the local runtime). */
export const ENV = {
  webhooksTable: 'WEBHOOKS_TABLE_NAME',
  deliveriesTable: 'DELIVERIES_TABLE_NAME',
  apiKeysTable: 'API_KEYS_TABLE_NAME',
  eventsDlqUrl: 'EVENTS_DLQ_URL',
  retryQueueUrl: 'RETRY_QUEUE_URL',
  failedQueueUrl: 'FAILED_DELIVERIES_QUEUE_URL',
  allowHttp: 'WEBHOOKS_ALLOW_HTTP',
  allowPrivateTargets: 'WEBHOOKS_ALLOW_PRIVATE_TARGETS',
  deliveryTimeoutMs: 'WEBHOOKS_DELIVERY_TIMEOUT_MS',
  retrySchedule: 'WEBHOOKS_RETRY_SCHEDULE',
  /** Seconds between reconciler ticks (the release pace is spread over a tick). */
  reconcileEverySeconds: 'WEBHOOKS_RECONCILE_EVERY_SECONDS',
  /** The fast lane's attempt budget (never above the delivery timeout). */
  inlineTimeoutMs: 'WEBHOOKS_INLINE_TIMEOUT_MS',
  /** Consecutive failures that open a webhook's breaker; `0` turns the breaker off (retries then follow the schedule alone). */
  breakerFailures: 'WEBHOOKS_BREAKER_FAILURES',
  /** The first probe's wait after a breaker opens (doubling per failed probe, up to 5 minutes). */
  probeIntervalMs: 'WEBHOOKS_PROBE_INTERVAL_MS',
  retentionDays: 'WEBHOOKS_DELIVERY_RETENTION_DAYS',
  autoDisableAfterDays: 'WEBHOOKS_AUTO_DISABLE_AFTER_DAYS',
  eventSource: 'WEBHOOKS_EVENT_SOURCE',
  /** The bus operational events are put on (name or ARN); unset: no operational events are published. */
  eventBusName: 'WEBHOOKS_EVENT_BUS_NAME',
  /** `Source` of the operational events (DEFAULT_OPERATIONAL_EVENT_SOURCE). */
  operationalEventSource: 'WEBHOOKS_OPERATIONAL_EVENT_SOURCE',
  /** The delivery statistics table (counters and latency histograms per webhook and hour). */
  statsTable: 'WEBHOOKS_STATS_TABLE_NAME',
  /** KMS key (id or ARN) whose data keys encrypt signing secrets (AWS). */
  secretsKmsKeyId: 'WEBHOOKS_SECRETS_KMS_KEY_ID',
  /** Base64 of a 32-byte key that encrypts signing secrets (local runtime, emulator). */
  secretsKey: 'WEBHOOKS_SECRETS_KEY',
  /** The dashboard's URL, the base of portal session URLs (`<url>/settings/webhooks#portal=<token>`). */
  portalUrl: 'WEBHOOKS_PORTAL_URL',
  /** The management API's requests per second per account (default `API.accountRatePerSecond`). */
  apiAccountRateLimit: 'WEBHOOKS_API_ACCOUNT_RATE_LIMIT',
} as const;

/**
 * Metric names (Powertools Metrics, namespace from POWERTOOLS_METRICS_NAMESPACE). Only what an
 * alarm or the dashboard reads is a metric (CloudWatch bills each name × `service` dimension
 * published in a month); everything else is a structured log line (hand-offs to the slow lane:
 * `delivery handed off`; cold starts: the `cold_start` key of every log line).
 */
/** The CloudWatch namespace of the functions' metrics (Powertools) and of the alarms that read them. */
export const METRICS_NAMESPACE = 'VisitWebhooks';

export const METRICS = {
  delivered: 'DeliverySucceeded',
  failedAttempt: 'DeliveryAttemptFailed',
  exhausted: 'DeliveryFailed',
  invalidEvent: 'InvalidEvent',
  latency: 'DeliveryLatency',
  skipped: 'DeliverySkipped',
  /** Deliveries kept aside while their webhook's breaker is open. */
  parked: 'DeliveryParked',
  breakerOpened: 'BreakerOpened',
  breakerClosed: 'BreakerClosed',
  /** Pending deliveries the reconciler found past their due time and re-queued: should be 0. */
  overdue: 'OverdueDeliveries',
  /** Operational events that could not be put on the bus (logged with the event): should be 0. */
  operationalEventNotPublished: 'OperationalEventNotPublished',
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

/** Metrics of the delivery domain (DeliveryService): the delivery and retry functions can emit any of them. */
const DELIVERY_DOMAIN_METRICS = [
  METRICS.delivered,
  METRICS.failedAttempt,
  METRICS.exhausted,
  METRICS.latency,
  METRICS.skipped,
  METRICS.parked,
  METRICS.breakerOpened,
  METRICS.breakerClosed,
  METRICS.operationalEventNotPublished,
] as const satisfies readonly MetricName[];

/**
 * The metrics each function emits (its `service` dimension): what CloudWatch bills, and what the
 * cost model counts. Kept next to the emitters by test/unit/metrics.test.ts.
 */
export const EMITTED_METRICS = {
  delivery: [...DELIVERY_DOMAIN_METRICS, METRICS.invalidEvent],
  retry: [...DELIVERY_DOMAIN_METRICS],
  reconciler: [METRICS.breakerClosed, METRICS.overdue, METRICS.operationalEventNotPublished],
} as const satisfies Record<string, readonly MetricName[]>;

/**
 * Queue and consumer settings: the CDK stack builds its queues and event source mappings from
 * these, and the local runtime's in-process queues and consumers use the same numbers.
 */
export const PIPELINE = {
  /** Records per handler invocation (SQS event source mapping `batchSize`). */
  batchSize: 10,
  /** How long a mapping gathers records before invoking (`maxBatchingWindow`). */
  maxBatchingWindowSeconds: 1,
  /** Receives before SQS moves a message to its DLQ (redrive policy). */
  maxReceiveCount: 5,
  /** Timeout of the delivery and retry functions. */
  functionTimeoutSeconds: 30,
  /** Lambda's guidance: a source queue's visibility timeout is at least 6× the function timeout. */
  visibilityTimeoutFactor: 6,
  /** Retention of the dead-letter queues (the SQS maximum). */
  dlqRetentionDays: 14,
} as const;

/**
 * The whole `Authorization` value of a well-formed bearer: an API key (`vwk_` + 43 base64url
 * characters) or a portal session token (`vps_` + 43, `PORTAL_SESSIONS`): `Bearer` in any
 * letter case, spaces, the token, optional trailing spaces. API Gateway's TOKEN authorizer checks
 * it (`validationRegex`) and answers 401 itself, without invoking the authorizer, when it does not
 * match; the local gateway checks the same, and the domain's `parseBearer` (keys) and
 * `parsePortalBearer` (sessions) together accept exactly these values. Plain character classes
 * and one non-capturing alternation only, so Java's regular expressions (API Gateway) and
 * JavaScript's agree (their `$` differ only before a final line break, which a header value
 * never holds).
 */
export const BEARER_HEADER_PATTERN = '^[Bb][Ee][Aa][Rr][Ee][Rr] +(?:vwk|vps)_[A-Za-z0-9_-]{43} *$';

/**
 * Management API settings shared by the CDK stack (REST API) and the local gateway, so both
 * behave the same.
 */
export const API = {
  /**
   * How long API Gateway caches the authorizer's answer per `Authorization` header value
   * (`resultsCacheTtl`): a revoked key keeps working at most this long.
   */
  authorizerCacheSeconds: 60,
  /**
   * Requests per second one account may make (every key of it together; a fixed one-second
   * window counted in DynamoDB, so shared by every API container): beyond it a 429 with
   * `Retry-After`, for that account only. CDK context `apiAccountRateLimit`, env
   * `ENV.apiAccountRateLimit`.
   */
  accountRatePerSecond: 10,
  /**
   * Environment variable of the API function: the comma-separated browser origins (the
   * dashboard) allowed by CORS. A Lambda proxy integration's responses carry only the headers
   * the function returns, so the function must echo an allowed `Origin` itself.
   */
  corsOriginsEnv: 'WEBHOOKS_API_CORS_ORIGINS',
} as const;

/**
 * Portal sessions (docs/design.md §11): short-lived, account-scoped bearer tokens the platform's
 * backend mints (`POST /v1/portal-sessions`, IAM-authorized) so its signed-in customer sees
 * Settings → Webhooks without an API key. `vps_` + 32 random bytes in base64url; only the hash
 * is stored.
 */
export const PORTAL_SESSIONS = {
  tokenPrefix: 'vps_',
  /** Lifetime when the request names none. */
  defaultTtlSeconds: 3600,
  minTtlSeconds: 60,
  /** 24 hours: a session is for one visit of the embedding page, not a standing credential. */
  maxTtlSeconds: 86_400,
  /** The URL fragment parameter the dashboard reads the token from (never sent to a server). */
  fragmentParam: 'portal',
} as const;

/**
 * The origins a page may frame the dashboard from (CSP `frame-ancestors`): CDK context
 * `dashboardFrameAncestors` in AWS, `WEBHOOKS_DASHBOARD_FRAME_ANCESTORS` locally. Each must be an
 * exact `https://` (or `http://`) origin: no path, wildcard or quote that could widen the policy.
 * Returns the origins, or the offending entry.
 */
export function parseFrameAncestors(value: unknown): { readonly origins: string[] } | { readonly invalid: string } {
  const parts: unknown[] = typeof value === 'string' ? value.split(/[\s,]+/) : Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const origins: string[] = [];
  for (const part of parts) {
    if (part === '') continue;
    if (typeof part !== 'string') return { invalid: String(part) };
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      return { invalid: part };
    }
    // The URL parser accepts `*` and `;` in host names: either would change the policy's meaning.
    const plainHost = /^[a-z0-9.-]+$/.test(url.hostname) || /^\[[0-9a-f:.]+\]$/.test(url.hostname);
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== part || !plainHost) return { invalid: part };
    if (!origins.includes(part)) origins.push(part);
  }
  return { origins };
}

/** The `frame-ancestors` directive for these origins (none: framing refused). */
export function frameAncestorsDirective(origins: readonly string[]): string {
  return `frame-ancestors ${origins.length > 0 ? origins.join(' ') : "'none'"}`;
}

/** The error codes of the API's one JSON error shape (docs/api.md). */
export const ERROR_CODES = [
  'validation_error',
  'malformed_json',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'webhook_limit_reached',
  'concurrent_update',
  'not_retryable',
  'webhook_disabled',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'request_rejected',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The API's error body, `{"error":{"code","message","details":[{"path","message"}]}}`: what the
 * API function answers and what API Gateway's own gateway responses carry.
 */
export function errorBody(code: ErrorCode, message: string, details: ReadonlyArray<{ readonly path: string; readonly message: string }> = []) {
  return { error: { code, message, details: details.map((d) => ({ path: d.path, message: d.message })) } };
}

/**
 * Gateway responses for the errors API Gateway answers itself (the authorizer's 401, its own
 * throttling), in the same JSON shape: the CDK stack sets these as `GatewayResponse`s, and the
 * local runtime answers the same when its key check fails.
 */
export const GATEWAY_ERROR_RESPONSES = {
  UNAUTHORIZED: { statusCode: 401, body: errorBody('unauthorized', 'missing, invalid or revoked API key (Authorization: Bearer <key>)') },
  THROTTLED: { statusCode: 429, body: errorBody('rate_limited', 'too many requests; retry later') },
  REQUEST_TOO_LARGE: { statusCode: 413, body: errorBody('payload_too_large', `request body larger than ${LIMITS.apiBodyMaxBytes} bytes`) },
  MISSING_AUTHENTICATION_TOKEN: { statusCode: 404, body: errorBody('not_found', 'no such route') },
  DEFAULT_5XX: { statusCode: 500, body: errorBody('internal_error', 'internal error') },
} as const;
