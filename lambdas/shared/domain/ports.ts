import type { EventType } from '../contract';
import type { RetryMessage } from './messages';
import type { CreatedPortalSession, PortalSession } from './portal-sessions';
import type { AttemptRecord, Breaker, DeliveryRecord, DeliveryStatus, Webhook, WebhookStatus } from './model';
import type { OperationalEvent } from './operational-events';

/**
 * Ports: every boundary of the domain, in one place. The domain talks to storage, queues, the
 * network, key material and telemetry only through these; `adapters/` implements them (DynamoDB,
 * SQS, undici, DNS, KMS, Powertools) in AWS and in the local runtime, and the unit tier implements
 * them in memory (test/helpers/memory-ports.ts).
 */

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

export interface WebhookStore {
  /** Every webhook of an account (one Query, paged through; at most a hundred). */
  listByAccount(accountId: string): Promise<Webhook[]>;
  get(accountId: string, webhookId: string): Promise<Webhook | undefined>;
  /** Marks the start of a failure run, if none is recorded. */
  markFailing(accountId: string, webhookId: string, since: string): Promise<void>;
  /** Clears the failure run after a success (no-op when none). */
  clearFailing(accountId: string, webhookId: string): Promise<void>;
  /** Disables an enabled webhook with a reason (`auto-disabled`); no-op if already disabled. Returns whether it disabled it (a conditional write: of racing callers, one). */
  autoDisable(accountId: string, webhookId: string, reason: string, at: string): Promise<boolean>;
  /** Sends the webhook's deliveries through the slow lane until `until` (no-op for a deleted webhook). */
  markSlow(accountId: string, webhookId: string, until: string): Promise<void>;
  /**
   * Sets the breaker (`undefined` closes it). With `expected`, only if the stored breaker's
   * `probeAt` is still that value (`null`: only if there is no breaker): a lease, so that of two
   * consumers racing for the same transition one wins. Returns whether it was written.
   */
  setBreaker(accountId: string, webhookId: string, next: Breaker | undefined, expected?: { readonly probeAt: string | null }): Promise<boolean>;
  /** Webhooks whose breaker is not closed, any account (the reconciler's work list). */
  listBreakers(query: { readonly limit: number; readonly cursor?: string }): Promise<Page<Webhook>>;
}

/** Optional attributes a management update can remove. */
export type ClearableWebhookField = 'disabledReason' | 'failingSince' | 'previousSecret' | 'previousSecretExpiresAt' | 'rateLimit' | 'filter';

/** A management update: the fields to set (absent = unchanged) and the ones to remove. */
export interface WebhookChanges {
  readonly name?: string;
  readonly url?: string;
  readonly eventTypes?: readonly EventType[];
  readonly description?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly enabled?: boolean;
  readonly status?: WebhookStatus;
  readonly secret?: string;
  readonly previousSecret?: string;
  readonly previousSecretExpiresAt?: string;
  readonly rateLimit?: number;
  /** A payload filter as JSON text (model.ts `Webhook.filter`). */
  readonly filter?: string;
  readonly clear?: readonly ClearableWebhookField[];
  readonly updatedAt: string;
}

/**
 * The management side of the webhook store (the API). Separate from `WebhookStore` so the
 * delivery path and its fakes only need what they use.
 */
export interface WebhookAdminStore extends WebhookStore {
  /**
   * Inserts a new webhook unless the account already has `maxPerAccount` of them
   * (throws `WebhookLimitError`). No transactions: a per-account counter with conditional writes.
   */
  create(webhook: Webhook, maxPerAccount: number): Promise<void>;
  /** One page of an account's webhooks in id order. Throws `InvalidCursorError` for a bad cursor. */
  listPage(accountId: string, query: { readonly limit: number; readonly cursor?: string }): Promise<Page<Webhook>>;
  /**
   * Applies changes and returns the webhook as stored afterwards, or undefined when it does not
   * exist. With `expectUpdatedAt`, throws `ConflictError` if the webhook changed in between.
   */
  update(accountId: string, webhookId: string, changes: WebhookChanges, expectUpdatedAt?: string): Promise<Webhook | undefined>;
  /** Deletes a webhook; false when there was none. */
  delete(accountId: string, webhookId: string): Promise<boolean>;
}

export function isWebhookAdminStore(store: WebhookStore): store is WebhookAdminStore {
  const s = store as Partial<WebhookAdminStore>;
  return typeof s.create === 'function' && typeof s.listPage === 'function' && typeof s.update === 'function' && typeof s.delete === 'function';
}

/** What an attempt writes to the delivery's record. */
export interface AttemptWrite {
  readonly accountId: string;
  readonly webhookId: string;
  readonly deliveryId: string;
  readonly eventId: string;
  readonly eventType: EventType;
  readonly createdAt: string;
  readonly status: DeliveryStatus;
  /** Absent for records written without an attempt (skipped). */
  readonly attempt?: AttemptRecord;
  readonly nextAttemptAt?: string;
  /**
   * The event's signed body, while the delivery may need to be sent again. Stored once per event
   * (not on the record, not rewritten by later attempts); a delivered record never needs it.
   */
  readonly payload?: string;
  readonly reason?: string;
  /** Parked while the breaker is open (kept out of the due sweep, listed for release). */
  readonly parked?: boolean;
  /** Of a pending record: the retry index its next attempt uses (so a sweep can re-queue it as it was). */
  readonly retryIndex?: number;
  /**
   * Of a pending, unparked record: when the reconciler's due sweep must look at it (ISO). For a
   * retry already on the queue, its due time plus the overdue margin (a safety net); for a retry
   * further away than a queue delay allows, its due time (the sweep queues it then).
   */
  readonly sweepAt?: string;
  /** Write only if the stored record has one of these statuses (a claim); `write` then says whether it did. */
  readonly expectStatus?: readonly DeliveryStatus[];
}

/** The buckets of the sparse status index: every record that is not delivered is in exactly one. */
export type RecordBucket = 'pending' | 'parked' | 'failed' | 'skipped';

export interface DeliveryQuery {
  readonly status?: DeliveryStatus;
  readonly limit: number;
  readonly cursor?: string;
}

export interface BucketQuery {
  readonly limit: number;
  readonly cursor?: string;
  /** Oldest first (recovery, release) instead of newest first. */
  readonly ascending?: boolean;
  /** Only deliveries whose id is at or after this bound (time-ordered ids). */
  readonly sinceId?: string;
}

export interface DeliveryStore {
  /** One delivery, with its payload while it is not delivered. */
  get(accountId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord | undefined>;
  /**
   * Writes an attempt. A `delivered` record is final: a late failure of a duplicate attempt
   * never downgrades it (conditional write). Returns whether it was written (false: refused
   * by that rule or by `expectStatus`).
   */
  write(write: AttemptWrite): Promise<boolean>;
  /**
   * Records first attempts that succeeded, many per request (in AWS, compact entries in a few
   * items per webhook rather than an item each). Returns the writes that could not be stored.
   * Optional: without it, `write` each.
   */
  writeDelivered?(writes: readonly AttemptWrite[]): Promise<readonly AttemptWrite[]>;
  /** A webhook's log, newest first, every status (`status` filters). Payloads are not loaded. */
  list(accountId: string, webhookId: string, query: DeliveryQuery): Promise<Page<DeliveryRecord>>;
  /** One bucket of the status index (cheap however long the log), with payloads. */
  listBucket(accountId: string, webhookId: string, bucket: RecordBucket, query: BucketQuery): Promise<Page<DeliveryRecord>>;
  /** A webhook's parked deliveries, oldest first (the `parked` bucket). */
  listParked(accountId: string, webhookId: string, query: { readonly limit: number; readonly cursor?: string }): Promise<Page<DeliveryRecord>>;
  /** Pending, unparked deliveries of any webhook whose `sweepAt` is before `before` (ISO), oldest first, with payloads. */
  listDue(before: string, limit: number): Promise<DeliveryRecord[]>;
}

/** An asynchronous recovery: every failed or skipped delivery of a webhook since a time, re-queued. */
export interface RecoveryJob {
  readonly accountId: string;
  readonly webhookId: string;
  readonly jobId: string;
  /** Deliveries at or after this time (ISO). */
  readonly since: string;
  readonly status: 'running' | 'done';
  /** Records looked at, and re-queued (a record another job or a retry took first is not counted). */
  readonly scanned: number;
  readonly requeued: number;
  /** Of the looked-at records, those whose payload had expired (cannot be sent again). */
  readonly unrecoverable: number;
  /** Where the job goes on: the bucket it is in and the index cursor within it. */
  readonly position?: { readonly bucket: 'failed' | 'skipped'; readonly cursor?: string };
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
}

/** Where recovery jobs live; open ones are listed across accounts for the reconciler to work on. */
export interface RecoveryJobStore {
  create(job: RecoveryJob): Promise<void>;
  get(accountId: string, webhookId: string, jobId: string): Promise<RecoveryJob | undefined>;
  /** Running jobs, any account, oldest first. */
  listOpen(limit: number): Promise<RecoveryJob[]>;
  /** Saves progress only if the stored job still has `expectUpdatedAt` (one worker at a time). */
  save(job: RecoveryJob, expectUpdatedAt: string): Promise<boolean>;
}

/**
 * Port: a webhook's delivery rate limit, shared by every consumer (a counter per second in the
 * attempt log's table in AWS). `tryTake` is true when one more delivery fits in the current
 * second; false means wait, never drop.
 */
export interface RateLimiter {
  tryTake(key: string, perSecond: number, nowMs: number): Promise<boolean>;
}

/**
 * Port: puts operational events on the bus (EventBridge in AWS, the local bus locally), with the
 * service's operational `source` and each event's type as `detail-type`. Retries what the bus
 * rejects; throws if any event could still not be put.
 */
export interface OperationalEventSink {
  publish(events: readonly OperationalEvent[]): Promise<void>;
}

/** One webhook's statistics for one hour (delivery-stats.ts): counters and the latency histogram (bin → successful attempts). */
export interface StatsCounts {
  attempted: number;
  delivered: number;
  failed: number;
  retried: number;
  filteredOut: number;
  latency: Record<number, number>;
}

/** Port: the statistics table (counters per webhook and hour, sharded; DynamoDB `ADD`). */
export interface StatsStore {
  /** Adds `counts` to the webhook's `hour` (`YYYY-MM-DDTHH`, UTC): one write, on one shard. */
  add(accountId: string, webhookId: string, hour: string, counts: StatsCounts): Promise<void>;
  /** The webhook's hours from `fromHour` to `toHour` (inclusive), every shard summed; hours without counts are absent. */
  read(accountId: string, webhookId: string, fromHour: string, toHour: string): Promise<Array<{ hour: string; counts: StatsCounts }>>;
}

/** Where events that can never be delivered are kept, with the reason (a DLQ). */
export interface DeadLetterSink {
  send(body: string, reason: string, attributes?: Readonly<Record<string, string>>): Promise<void>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Structured log sink (Powertools Logger satisfies it). */
export interface LogSink {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Metric sink: counts and milliseconds. */
export interface MetricSink {
  count(name: string, value?: number): void;
  milliseconds(name: string, value: number): void;
}

// --- Queues ---

/** Port: schedules a retry message, delivered no earlier than `delaySeconds` (≤ 900) from now. */
export interface RetryQueue {
  enqueue(message: RetryMessage, delaySeconds: number): Promise<void>;
}

/** A message as a redrive sees it. */
export interface QueuedMessage {
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Opaque handle to delete it from its queue. */
  readonly handle: string;
}

/** The queue operations a redrive needs (SQS in AWS or on an emulator, in-process locally). */
export interface RedriveQueue {
  receive(max: number): Promise<QueuedMessage[]>;
  /** Sends a message; `attributes` become SQS message attributes. */
  send(body: string, attributes?: Readonly<Record<string, string>>): Promise<void>;
  remove(handle: string): Promise<void>;
  /** Makes a received message visible again at once (used by a dry run). */
  release(handle: string): Promise<void>;
  /** Approximate number of visible messages. */
  depth(): Promise<number>;
}

// --- Delivery over HTTP ---

/** What one HTTP attempt produced. Never thrown: every outcome is data. */
export interface SendResult {
  readonly ok: boolean;
  readonly statusCode?: number;
  /** The attempt's own time: from its turn on a connection (or connecting) to the end; 0 if it never got one. */
  readonly durationMs: number;
  /** Time spent waiting for a turn on one of the origin's connections, before `durationMs` started. */
  readonly queuedMs?: number;
  /**
   * Why the attempt failed, when it did (`http` = a non-2xx answer; `timeout` = the attempt ran
   * out of its budget; `queued` = no turn on a connection within `queueTimeoutMs`, never sent;
   * `aborted` = the caller's signal aborted it).
   */
  readonly errorKind?: 'http' | 'timeout' | 'connect' | 'reset' | 'ssrf' | 'policy' | 'queued' | 'aborted' | 'other';
  readonly error?: string;
  /** First bytes of the response body, for the attempt log. */
  readonly responseSnippet?: string;
  /** Parsed `Retry-After` of a 429/503, in seconds. */
  readonly retryAfterSeconds?: number;
}

export interface SendRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** This attempt's total budget (connect, send, response), counted from its turn on a connection. @default the sender's */
  readonly timeoutMs?: number;
  /** How long the request may wait for a turn on one of the origin's connections. @default its `timeoutMs` */
  readonly queueTimeoutMs?: number;
  /** Requests waiting for the same origin take turns round-robin across keys (the webhook id). @default one shared key */
  readonly fairnessKey?: string;
  /**
   * Aborts the request, queued or in flight: the result is `errorKind: 'aborted'`. The sender
   * listens on it while the request runs: a signal shared by more than 10 concurrent requests
   * needs `events.setMaxListeners` to keep Node's leak warning quiet.
   */
  readonly signal?: AbortSignal;
}

/** Port: sends one signed POST. */
export interface HttpSender {
  send(req: SendRequest): Promise<SendResult>;
  close(): Promise<void>;
}

// --- Name resolution ---

/** Resolves a host name to all its addresses (injectable so tests can simulate rebinding). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** One address a name resolves to (the shape of `node:dns` lookup results). */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

// --- API keys ---

/** A key as listed: never the key or its hash. */
export interface ApiKeyInfo {
  readonly keyId: string;
  readonly accountId: string;
  readonly createdAt: string;
  readonly revoked: boolean;
  readonly revokedAt?: string;
}

export interface CreatedApiKey {
  readonly accountId: string;
  /** The plaintext key: shown once, never stored. */
  readonly apiKey: string;
  readonly keyId: string;
  readonly createdAt: string;
}

/** Which key to revoke: the key itself, or its public id. */
export type ApiKeyRef = { readonly keyId: string } | { readonly apiKey: string };

/** Port: where key hashes live (DynamoDB in AWS and locally). */
export interface ApiKeyStore {
  create(accountId: string): Promise<CreatedApiKey>;
  /** The account of a valid, unrevoked key; undefined otherwise. */
  resolve(apiKey: string): Promise<string | undefined>;
  /** An account's keys, oldest first, revoked ones included. */
  list(accountId: string): Promise<ApiKeyInfo[]>;
  /** Revokes a key; the revoked key's info, or undefined when no such key exists. */
  revoke(ref: ApiKeyRef): Promise<ApiKeyInfo | undefined>;
}

/**
 * Port: portal sessions (docs/design.md §11), stored as token hashes beside the API keys. A
 * session resolves until it expires; expired items are deleted by the table's TTL.
 */
export interface PortalSessionStore {
  create(request: { readonly accountId: string; readonly readOnly: boolean; readonly ttlSeconds: number }): Promise<CreatedPortalSession>;
  /** The session of a valid, unexpired token; undefined otherwise. */
  resolve(token: string): Promise<PortalSession | undefined>;
}

// --- Secrets at rest ---

/**
 * Signing secrets are encrypted at rest beyond the table's own encryption: AES-256-GCM with
 * the row (`accountId/webhookId`) as additional data, so a ciphertext copied to another row
 * does not decrypt. In AWS the data key comes from KMS (envelope encryption, one data key per
 * container, cached); locally the key material lives in the data dir (file mode 600).
 */
export interface SecretCipher {
  encrypt(plaintext: string, context: string): Promise<string>;
  decrypt(stored: string, context: string): Promise<string>;
}
