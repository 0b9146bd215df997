import { ConflictError, InvalidCursorError, WebhookLimitError } from '../../lambdas/shared/domain/errors';
import type { Breaker, DeliveryRecord, Webhook } from '../../lambdas/shared/domain/model';
import type {
  AttemptWrite,
  Clock,
  BucketQuery,
  DeliveryQuery,
  DeliveryStore,
  HttpSender,
  Page,
  SendRequest,
  SendResult,
  RateLimiter,
  RecordBucket,
  RecoveryJob,
  RecoveryJobStore,
  StatsCounts,
  StatsStore,
  WebhookAdminStore,
  WebhookChanges,
} from '../../lambdas/shared/domain/ports';
import { emptyCounts } from '../../lambdas/shared/domain/delivery-stats';

/**
 * In-memory implementations of the domain's storage and network ports, for the unit tier
 * (`npm run test:unit`). They keep the semantics the DynamoDB adapters promise in ports.ts (a
 * delivered record is final, conditional no-ops, optimistic concurrency, cursors), so a domain
 * test here says the same as one on dynalite, in milliseconds. The dynalite tier checks that the
 * real adapters keep those promises.
 */

const key = (accountId: string, id: string) => `${accountId}\n${id}`;
const cursorOf = (id: string) => Buffer.from(JSON.stringify({ id })).toString('base64url');
function idOfCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { id?: unknown };
    if (typeof parsed.id === 'string') return parsed.id;
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}

const SETTABLE = ['name', 'url', 'eventTypes', 'description', 'headers', 'enabled', 'status', 'secret', 'previousSecret', 'previousSecretExpiresAt', 'rateLimit', 'filter'] as const;

export class MemoryWebhookStore implements WebhookAdminStore {
  private readonly items = new Map<string, Webhook>();

  /** Puts a webhook as it is (no limit check): a fixture. */
  put(webhook: Webhook): void {
    this.items.set(key(webhook.accountId, webhook.webhookId), webhook);
  }

  async listByAccount(accountId: string): Promise<Webhook[]> {
    return [...this.items.values()].filter((w) => w.accountId === accountId).sort((a, b) => a.webhookId.localeCompare(b.webhookId));
  }

  async get(accountId: string, webhookId: string): Promise<Webhook | undefined> {
    return this.items.get(key(accountId, webhookId));
  }

  async markFailing(accountId: string, webhookId: string, since: string): Promise<void> {
    const w = await this.get(accountId, webhookId);
    if (w && !w.failingSince) this.put({ ...w, failingSince: since });
  }

  async clearFailing(accountId: string, webhookId: string): Promise<void> {
    const w = await this.get(accountId, webhookId);
    if (w?.failingSince) {
      const { failingSince: _cleared, ...rest } = w;
      this.put(rest);
    }
  }

  async autoDisable(accountId: string, webhookId: string, reason: string, at: string): Promise<boolean> {
    const w = await this.get(accountId, webhookId);
    if (!w?.enabled) return false;
    const { failingSince: _cleared, ...rest } = w;
    this.put({ ...rest, enabled: false, status: 'auto-disabled', disabledReason: reason, updatedAt: at });
    return true;
  }

  async markSlow(accountId: string, webhookId: string, until: string): Promise<void> {
    const w = await this.get(accountId, webhookId);
    if (w) this.put({ ...w, slowUntil: until });
  }

  async setBreaker(accountId: string, webhookId: string, next: Breaker | undefined, expected?: { readonly probeAt: string | null }): Promise<boolean> {
    const w = await this.get(accountId, webhookId);
    if (!w) return false;
    if (expected && (w.breaker?.probeAt ?? null) !== expected.probeAt) return false;
    const { breaker: _old, ...rest } = w;
    this.put(next ? { ...rest, breaker: next } : rest);
    return true;
  }

  async listBreakers(query: { readonly limit: number; readonly cursor?: string }): Promise<Page<Webhook>> {
    const after = query.cursor ? idOfCursor(query.cursor) : '';
    const all = [...this.items.entries()].filter(([k, w]) => w.breaker && k > after).sort(([a], [b]) => a.localeCompare(b));
    const page = all.slice(0, query.limit);
    const last = page.at(-1);
    return { items: page.map(([, w]) => w), ...(all.length > query.limit && last ? { nextCursor: cursorOf(last[0]) } : {}) };
  }

  async create(webhook: Webhook, maxPerAccount: number): Promise<void> {
    if ((await this.listByAccount(webhook.accountId)).length >= maxPerAccount) throw new WebhookLimitError(maxPerAccount);
    this.put(webhook);
  }

  async listPage(accountId: string, query: { readonly limit: number; readonly cursor?: string }): Promise<Page<Webhook>> {
    const after = query.cursor ? idOfCursor(query.cursor) : '';
    const rest = (await this.listByAccount(accountId)).filter((w) => w.webhookId > after);
    const items = rest.slice(0, query.limit);
    const last = items.at(-1);
    return { items, ...(rest.length > query.limit && last ? { nextCursor: cursorOf(last.webhookId) } : {}) };
  }

  async update(accountId: string, webhookId: string, changes: WebhookChanges, expectUpdatedAt?: string): Promise<Webhook | undefined> {
    const w = await this.get(accountId, webhookId);
    if (!w) return undefined;
    if (expectUpdatedAt !== undefined && w.updatedAt !== expectUpdatedAt) {
      throw new ConflictError('concurrent_update', 'the webhook changed while this request ran; try again');
    }
    const next: Record<string, unknown> = { ...w, updatedAt: changes.updatedAt };
    for (const field of changes.clear ?? []) delete next[field]; // a field both cleared and set ends set (below)
    for (const field of SETTABLE) if (changes[field] !== undefined) next[field] = changes[field];
    const updated = next as unknown as Webhook;
    this.put(updated);
    return updated;
  }

  async delete(accountId: string, webhookId: string): Promise<boolean> {
    return this.items.delete(key(accountId, webhookId));
  }
}

export class MemoryDeliveryStore implements DeliveryStore {
  private readonly items = new Map<string, DeliveryRecord>();
  /** Calls to `writeDelivered`, and the number of writes each carried. */
  readonly batches: number[] = [];
  /** The next N writes throw (a storage outage). */
  failNextWrites = 0;

  constructor(private readonly clock: Clock) {}

  async get(accountId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
    return this.items.get(key(`${accountId}#${webhookId}`, deliveryId));
  }

  /** Every record, in id order: for assertions. */
  all(): DeliveryRecord[] {
    return [...this.items.values()].sort((a, b) => a.deliveryId.localeCompare(b.deliveryId));
  }

  async write(w: AttemptWrite): Promise<boolean> {
    if (this.failNextWrites > 0) {
      this.failNextWrites--;
      throw new Error('storage unavailable (injected)');
    }
    const k = key(`${w.accountId}#${w.webhookId}`, w.deliveryId);
    const existing = this.items.get(k);
    if (w.expectStatus && !(existing && w.expectStatus.includes(existing.status))) return false;
    // A delivered record is final: a late failure of a duplicate attempt never downgrades it.
    if (!w.expectStatus && existing?.status === 'delivered' && w.status !== 'delivered') return false;
    const attempts = [...(existing?.attempts ?? []), ...(w.attempt ? [w.attempt] : [])];
    const last = w.attempt;
    const keep = <T>(fromAttempt: T | undefined, before: T | undefined) => (last ? fromAttempt : before);
    const record: DeliveryRecord = {
      accountId: w.accountId,
      webhookId: w.webhookId,
      deliveryId: w.deliveryId,
      eventId: w.eventId,
      eventType: w.eventType,
      status: w.status,
      attemptCount: attempts.length,
      attempts,
      createdAt: existing?.createdAt ?? w.createdAt,
      updatedAt: w.attempt?.at ?? new Date(this.clock.now()).toISOString(),
      ...optional('nextAttemptAt', w.nextAttemptAt),
      ...optional('lastStatusCode', keep(last?.statusCode, existing?.lastStatusCode)),
      ...optional('lastError', keep(last?.error, existing?.lastError)),
      ...optional('payload', w.status === 'delivered' ? undefined : (w.payload ?? existing?.payload)),
      ...optional('reason', w.reason),
      ...optional('parked', w.parked ? true : undefined),
      ...optional('retryIndex', w.status === 'pending' ? w.retryIndex : undefined),
      ...optional('sweepAt', w.status === 'pending' && !w.parked ? w.sweepAt : undefined),
    };
    this.items.set(k, record);
    return true;
  }

  async writeDelivered(writes: readonly AttemptWrite[]): Promise<readonly AttemptWrite[]> {
    this.batches.push(writes.length);
    const failed: AttemptWrite[] = [];
    for (const w of writes) {
      try {
        await this.write(w);
      } catch {
        failed.push(w);
      }
    }
    return failed;
  }

  async listParked(accountId: string, webhookId: string, query: { readonly limit: number; readonly cursor?: string }): Promise<Page<DeliveryRecord>> {
    return this.listBucket(accountId, webhookId, 'parked', { ...query, ascending: true });
  }

  async listBucket(accountId: string, webhookId: string, bucket: RecordBucket, query: BucketQuery): Promise<Page<DeliveryRecord>> {
    const inBucket = (r: DeliveryRecord) => (bucket === 'parked' ? r.status === 'pending' && r.parked === true : r.status === bucket && !(bucket === 'pending' && r.parked));
    return this.page(accountId, webhookId, inBucket, query);
  }

  async listDue(before: string, limit: number): Promise<DeliveryRecord[]> {
    return this.all()
      .filter((r) => r.status === 'pending' && !r.parked && r.sweepAt !== undefined && r.sweepAt < before)
      .sort((a, b) => (a.sweepAt ?? '').localeCompare(b.sweepAt ?? ''))
      .slice(0, limit);
  }

  async list(accountId: string, webhookId: string, query: DeliveryQuery): Promise<Page<DeliveryRecord>> {
    return this.page(accountId, webhookId, (r) => query.status === undefined || r.status === query.status, { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
  }

  private page(accountId: string, webhookId: string, keep: (r: DeliveryRecord) => boolean, query: BucketQuery): Page<DeliveryRecord> {
    const prefix = key(`${accountId}#${webhookId}`, '');
    const after = query.cursor ? idOfCursor(query.cursor) : undefined;
    const ascending = query.ascending ?? false;
    const matching = [...this.items.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, r]) => r)
      .filter((r) => keep(r) && (query.sinceId === undefined || r.deliveryId >= query.sinceId))
      .filter((r) => after === undefined || (ascending ? r.deliveryId > after : r.deliveryId < after))
      .sort((a, b) => (ascending ? a.deliveryId.localeCompare(b.deliveryId) : b.deliveryId.localeCompare(a.deliveryId)));
    const items = matching.slice(0, query.limit);
    const last = items.at(-1);
    return { items, ...(matching.length > query.limit && last ? { nextCursor: cursorOf(last.deliveryId) } : {}) };
  }
}

/** Recovery jobs in memory, with the same lease on `updatedAt` as the DynamoDB store. */
export class MemoryRecoveryJobStore implements RecoveryJobStore {
  private readonly jobs = new Map<string, RecoveryJob>();

  async create(job: RecoveryJob): Promise<void> {
    this.jobs.set(key(`${job.accountId}#${job.webhookId}`, job.jobId), job);
  }

  async get(accountId: string, webhookId: string, jobId: string): Promise<RecoveryJob | undefined> {
    return this.jobs.get(key(`${accountId}#${webhookId}`, jobId));
  }

  async listOpen(limit: number): Promise<RecoveryJob[]> {
    return [...this.jobs.values()].filter((j) => j.status === 'running').sort((a, b) => a.createdAt.localeCompare(b.createdAt)).slice(0, limit);
  }

  async save(job: RecoveryJob, expectUpdatedAt: string): Promise<boolean> {
    const k = key(`${job.accountId}#${job.webhookId}`, job.jobId);
    if (this.jobs.get(k)?.updatedAt !== expectUpdatedAt) return false;
    this.jobs.set(k, job);
    return true;
  }
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

/** What a scripted endpoint answers: a status (with optional headers) or a transport failure. */
export type Scripted = { status: number; retryAfterSeconds?: number; body?: string } | { error: 'timeout' | 'connect' | 'reset' | 'ssrf' | 'aborted' | 'queued' };

/**
 * An HTTP sender whose endpoints answer from a script, per URL: records every request (URL,
 * headers, body) so tests can check what was signed and sent. Unscripted URLs answer 200.
 */
export class ScriptedSender implements HttpSender {
  readonly requests: SendRequest[] = [];
  private readonly scripts = new Map<string, (req: SendRequest) => Scripted>();

  /** Every request to `url` answers `answer` (a value, or a function of the request). */
  answer(url: string, answer: Scripted | ((req: SendRequest) => Scripted)): void {
    this.scripts.set(url, typeof answer === 'function' ? answer : () => answer);
  }

  to(url: string): SendRequest[] {
    return this.requests.filter((r) => r.url === url);
  }

  async send(req: SendRequest): Promise<SendResult> {
    this.requests.push(req);
    const scripted = this.scripts.get(req.url)?.(req) ?? { status: 200 };
    if ('error' in scripted) return { ok: false, durationMs: 5, errorKind: scripted.error, error: `${scripted.error} (scripted)` };
    const ok = scripted.status >= 200 && scripted.status < 300;
    return {
      ok,
      statusCode: scripted.status,
      durationMs: 5,
      ...(ok ? {} : { errorKind: 'http' as const, error: `HTTP ${scripted.status}` }),
      ...(scripted.body ? { responseSnippet: scripted.body } : {}),
      ...(scripted.retryAfterSeconds !== undefined ? { retryAfterSeconds: scripted.retryAfterSeconds } : {}),
    };
  }

  async close(): Promise<void> {}
}

/** A per-second window counter per key, as the DynamoDB limiter keeps it (in memory). */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, number>();
  /** Every call: key, and whether it was allowed. */
  readonly calls: Array<{ key: string; allowed: boolean }> = [];

  async tryTake(key: string, perSecond: number, nowMs: number): Promise<boolean> {
    const window = `${key}\n${Math.floor(nowMs / 1000)}`;
    const used = this.windows.get(window) ?? 0;
    const allowed = used < perSecond;
    if (allowed) this.windows.set(window, used + 1);
    this.calls.push({ key, allowed });
    return allowed;
  }
}

/** The statistics table in memory: one entry per (account, webhook, hour), as the shards summed. */
export class MemoryStatsStore implements StatsStore {
  readonly hours = new Map<string, StatsCounts>();
  /** Writes made (one per add), and how many of the next ones fail. */
  writes = 0;
  failNext = 0;

  async add(accountId: string, webhookId: string, hour: string, counts: StatsCounts): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('stats table unavailable (injected)');
    }
    this.writes++;
    const key = `${accountId}#${webhookId}#${hour}`;
    const into = this.hours.get(key) ?? emptyCounts();
    into.attempted += counts.attempted;
    into.delivered += counts.delivered;
    into.failed += counts.failed;
    into.retried += counts.retried;
    into.filteredOut += counts.filteredOut;
    for (const [bin, n] of Object.entries(counts.latency)) into.latency[Number(bin)] = (into.latency[Number(bin)] ?? 0) + n;
    this.hours.set(key, into);
  }

  async read(accountId: string, webhookId: string, fromHour: string, toHour: string): Promise<Array<{ hour: string; counts: StatsCounts }>> {
    const prefix = `${accountId}#${webhookId}#`;
    return [...this.hours.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, counts]) => ({ hour: key.slice(prefix.length), counts }))
      .filter(({ hour }) => hour >= fromHour && hour <= toHour)
      .sort((a, b) => a.hour.localeCompare(b.hour));
  }
}
