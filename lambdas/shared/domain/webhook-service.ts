import { randomBytes, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { DEFAULTS, LIMITS } from '../contract';
import { SAMPLE_PAYLOADS } from '../sample-payloads';
import { generateSecret } from './signing';
import { checkTargetHost, checkTargetPort } from './target-policy';
import { type DeliveryJob, sendAttempt } from './attempt';
import { ConflictError, NotFoundError, ValidationError } from './errors';
import { type DeliveryRecord, type DeliveryStatus, deliveryIdFor, type Webhook } from './model';
import type { Clock, DeliveryStore, HttpSender, Page, RecoveryJob, Resolver, WebhookAdminStore, WebhookChanges } from './ports';
import { DeliveryNotFoundError, DeliveryNotRetryableError, type RecoveryService } from './recovery-service';
import { recoverRequestSchema, testRequestSchema, toFieldIssues, webhookCreateSchema, webhookPatchSchema } from './webhook-schemas';

/** Ids this service mints: `wh_` + a time part (list order = creation order) + 64 random bits. */
export const WEBHOOK_ID_PATTERN = /^wh_[0-9A-Za-z]{1,64}$/;
/** Delivery ids (model.ts `deliveryIdFor`): `msg_` + 26 Crockford base32 characters. */
export const DELIVERY_ID_PATTERN = /^msg_[0-9A-Z]{26}$/;

const HOUR_MS = 3_600_000;

/** A signing secret as the API shows it. */
export interface SecretInfo {
  readonly secret: string;
  /** While a rotation's overlap lasts: when the previous secret stops signing. */
  readonly previousSecretExpiresAt?: string;
}

/** What a test send produced. */
export interface TestResult {
  readonly deliveryId: string;
  readonly status: 'delivered' | 'failed';
  readonly durationMs: number;
  readonly statusCode?: number;
  readonly errorKind?: string;
  readonly error?: string;
  readonly responseSnippet?: string;
}

/**
 * A webhook's delivery health as the API shows it (read-only): the breaker (`half-open` shown as
 * `probing`) and the slow lane. `closed` and no `slowLaneUntil`: deliveries flow normally.
 */
export interface WebhookHealth {
  readonly breaker: 'closed' | 'open' | 'probing' | 'releasing';
  /** Since when the breaker is not closed. */
  readonly since?: string;
  /** Why the breaker opened (or, while releasing, that the endpoint recovered). */
  readonly reason?: string;
  /** While open: when the next probe (one test delivery) is due. */
  readonly nextProbeAt?: string;
  /** While the endpoint is in the slow lane: until when. */
  readonly slowLaneUntil?: string;
}

const BREAKER_STATES = { open: 'open', 'half-open': 'probing', releasing: 'releasing' } as const;

/** The health of a webhook at `nowMs` (a slow-lane hold in the past is over). */
export function webhookHealth(webhook: Webhook, nowMs: number): WebhookHealth {
  const b = webhook.breaker;
  const slow = webhook.slowUntil !== undefined && Date.parse(webhook.slowUntil) > nowMs ? { slowLaneUntil: webhook.slowUntil } : {};
  if (!b) return { breaker: 'closed', ...slow };
  return {
    breaker: BREAKER_STATES[b.state],
    since: b.since,
    reason: b.reason,
    // Open: probeAt is when the next probe is due. Probing: it is the end of the current probe's
    // lease, and releasing: the release pace; neither is a "next probe".
    ...(b.state === 'open' ? { nextProbeAt: b.probeAt } : {}),
    ...slow,
  };
}

export interface WebhookServiceDeps {
  readonly store: WebhookAdminStore;
  readonly deliveries: DeliveryStore;
  readonly recovery: RecoveryService;
  /** Sends test events (one attempt each, signed like any delivery). */
  readonly sender: HttpSender;
  readonly clock: Clock;
  /** Resolves a target host at create/update time (SSRF check). */
  readonly resolver: Resolver;
  readonly allowHttp: boolean;
  readonly allowPrivateTargets: boolean;
  /** @default LIMITS.webhooksPerAccount */
  readonly maxWebhooksPerAccount?: number;
  /** @default DEFAULTS.secretRotationOverlapHours */
  readonly rotationOverlapMs?: number;
  readonly newWebhookId?: (nowMs: number) => string;
  readonly newSecret?: () => string;
}

export interface ListQuery {
  readonly limit: number;
  readonly cursor?: string;
}

export interface DeliveryListQuery extends ListQuery {
  readonly status?: DeliveryStatus;
}

/** A webhook id that sorts by creation time: `wh_` + 9 base-36 time digits + 16 hex random. */
export function newWebhookId(nowMs: number): string {
  return `wh_${Math.max(0, Math.floor(nowMs)).toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(toFieldIssues(result.error, input).map((issue) => ({ path: issue.path || 'body', message: issue.message })));
}

/**
 * The management domain (docs/design.md §6): webhook CRUD with its validation rules, secrets and
 * their rotation, test sends, the attempt log and manual recovery. Every operation is scoped
 * to one account: another account's webhook does not exist here. Knows nothing of HTTP,
 * Lambda or DynamoDB.
 */
export class WebhookService {
  private readonly maxPerAccount: number;
  private readonly overlapMs: number;
  private readonly newId: (nowMs: number) => string;
  private readonly newSecret: () => string;

  constructor(private readonly deps: WebhookServiceDeps) {
    this.maxPerAccount = deps.maxWebhooksPerAccount ?? LIMITS.webhooksPerAccount;
    this.overlapMs = deps.rotationOverlapMs ?? DEFAULTS.secretRotationOverlapHours * HOUR_MS;
    this.newId = deps.newWebhookId ?? newWebhookId;
    this.newSecret = deps.newSecret ?? generateSecret;
  }

  async create(accountId: string, body: unknown): Promise<Webhook> {
    const input = parse(webhookCreateSchema, body);
    const url = await this.checkUrl(input.url);
    const nowMs = this.deps.clock.now();
    const now = new Date(nowMs).toISOString();
    const webhook: Webhook = {
      accountId,
      webhookId: this.newId(nowMs),
      name: input.name,
      url,
      eventTypes: input.eventTypes,
      description: input.description,
      headers: input.headers,
      enabled: input.enabled,
      status: input.enabled ? 'active' : 'disabled',
      ...(input.rateLimit !== undefined ? { rateLimit: input.rateLimit } : {}),
      ...(input.filter !== undefined ? { filter: JSON.stringify(input.filter) } : {}),
      createdAt: now,
      updatedAt: now,
      secret: this.newSecret(),
    };
    await this.deps.store.create(webhook, this.maxPerAccount);
    return webhook;
  }

  list(accountId: string, query: ListQuery): Promise<Page<Webhook>> {
    return this.deps.store.listPage(accountId, query);
  }

  async get(accountId: string, webhookId: string): Promise<Webhook> {
    if (!WEBHOOK_ID_PATTERN.test(webhookId)) throw new NotFoundError('webhook');
    const webhook = await this.deps.store.get(accountId, webhookId);
    if (!webhook) throw new NotFoundError('webhook');
    return webhook;
  }

  /** The webhook's delivery health now (breaker and slow lane), as the API shows it. */
  health(webhook: Webhook): WebhookHealth {
    return webhookHealth(webhook, this.deps.clock.now());
  }

  /**
   * PATCH semantics: absent fields keep their value. `enabled: true` makes the webhook active
   * and clears an auto-disable reason (and, if it was disabled, the failure run that led there);
   * `enabled: false` makes it `disabled`. `rateLimit: null` removes the rate limit, `filter: null` the payload filter.
   */
  async update(accountId: string, webhookId: string, body: unknown): Promise<Webhook> {
    const { rateLimit, filter, ...patch } = parse(webhookPatchSchema, body);
    const current = await this.get(accountId, webhookId);
    const url = patch.url !== undefined ? await this.checkUrl(patch.url) : undefined;
    const clear: NonNullable<WebhookChanges['clear']>[number][] = [];
    let status: Webhook['status'] | undefined;
    if (patch.enabled === true) {
      status = 'active';
      clear.push('disabledReason');
      if (!current.enabled) clear.push('failingSince');
    } else if (patch.enabled === false) {
      status = 'disabled';
      clear.push('disabledReason');
    }
    if (rateLimit === null) clear.push('rateLimit');
    if (filter === null) clear.push('filter');
    const changes: WebhookChanges = {
      ...stripUndefined(patch),
      ...(typeof rateLimit === 'number' ? { rateLimit } : {}),
      ...(filter !== undefined && filter !== null ? { filter: JSON.stringify(filter) } : {}),
      ...(url !== undefined ? { url } : {}),
      ...(status ? { status } : {}),
      clear,
      updatedAt: new Date(this.deps.clock.now()).toISOString(),
    };
    const updated = await this.deps.store.update(accountId, webhookId, changes);
    if (!updated) throw new NotFoundError('webhook');
    return updated;
  }

  async delete(accountId: string, webhookId: string): Promise<void> {
    if (!WEBHOOK_ID_PATTERN.test(webhookId) || !(await this.deps.store.delete(accountId, webhookId))) throw new NotFoundError('webhook');
  }

  async revealSecret(accountId: string, webhookId: string): Promise<SecretInfo> {
    return this.secretInfo(await this.get(accountId, webhookId));
  }

  /**
   * A new secret; the current one keeps signing (second signature) until the overlap ends.
   * Rotating again during an overlap drops the oldest secret (at most two sign at once).
   */
  async rotateSecret(accountId: string, webhookId: string): Promise<SecretInfo> {
    const current = await this.get(accountId, webhookId);
    const nowMs = this.deps.clock.now();
    const updated = await this.deps.store.update(
      accountId,
      webhookId,
      {
        secret: this.newSecret(),
        previousSecret: current.secret,
        previousSecretExpiresAt: new Date(nowMs + this.overlapMs).toISOString(),
        updatedAt: new Date(nowMs).toISOString(),
      },
      current.updatedAt,
    );
    if (!updated) throw new NotFoundError('webhook');
    return this.secretInfo(updated);
  }

  /**
   * Sends the sample payload of an event type now, signed like any delivery, and returns the
   * attempt. It is logged like a delivery (trigger `test`) but keeps no payload (the sample is
   * not the customer's data and is never re-sent by a retry or a recover), is never retried, and
   * leaves the webhook's health alone (no failure run, no auto-disable, nothing dead-lettered).
   */
  async sendTest(accountId: string, webhookId: string, body: unknown): Promise<TestResult> {
    const { eventType } = parse(testRequestSchema, body);
    const webhook = await this.get(accountId, webhookId);
    const nowMs = this.deps.clock.now();
    const eventId = `test-${randomUUID()}`;
    const job: DeliveryJob = {
      accountId,
      webhookId,
      deliveryId: deliveryIdFor(nowMs, eventId, webhookId),
      eventId,
      eventType,
      createdAt: new Date(nowMs).toISOString(),
      payload: JSON.stringify(SAMPLE_PAYLOADS[eventType]),
      retryIndex: 0,
      trigger: 'test',
    };
    const { record: attempt } = await sendAttempt(this.deps, webhook, job);
    const error = attempt.ok ? undefined : (attempt.error ?? 'no response');
    await this.deps.deliveries.write({
      accountId,
      webhookId,
      deliveryId: job.deliveryId,
      eventId,
      eventType,
      createdAt: job.createdAt,
      status: attempt.ok ? 'delivered' : 'failed',
      attempt,
      ...(error !== undefined ? { reason: `test send failed: ${error}` } : {}),
    });
    return {
      deliveryId: job.deliveryId,
      status: attempt.ok ? 'delivered' : 'failed',
      durationMs: attempt.durationMs,
      ...(attempt.statusCode !== undefined ? { statusCode: attempt.statusCode } : {}),
      ...(attempt.errorKind ? { errorKind: attempt.errorKind } : {}),
      ...(error !== undefined ? { error } : {}),
      ...(attempt.responseSnippet ? { responseSnippet: attempt.responseSnippet } : {}),
    };
  }

  /** The attempt log of a webhook, newest first. */
  async listDeliveries(accountId: string, webhookId: string, query: DeliveryListQuery): Promise<Page<DeliveryRecord>> {
    await this.get(accountId, webhookId);
    return this.deps.deliveries.list(accountId, webhookId, {
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
      ...(query.status ? { status: query.status } : {}),
    });
  }

  /** Queues one more attempt of a delivery now (through the retry queue, same `webhook-id`). */
  async retryDelivery(accountId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord> {
    const webhook = await this.get(accountId, webhookId);
    if (!DELIVERY_ID_PATTERN.test(deliveryId)) throw new NotFoundError('delivery');
    this.requireEnabled(webhook);
    try {
      return await this.deps.recovery.retryDelivery(accountId, webhookId, deliveryId);
    } catch (err) {
      if (err instanceof DeliveryNotFoundError) throw new NotFoundError('delivery');
      if (err instanceof DeliveryNotRetryableError) throw new ConflictError('not_retryable', err.message);
      throw err;
    }
  }

  /** Starts a recovery job re-queueing every failed or skipped delivery since `since` (it may finish at once). */
  async recover(accountId: string, webhookId: string, body: unknown): Promise<RecoveryJob> {
    const { since } = parse(recoverRequestSchema, body);
    const webhook = await this.get(accountId, webhookId);
    this.requireEnabled(webhook);
    return this.deps.recovery.startRecovery(accountId, webhookId, Date.parse(since));
  }

  /** A recovery job of the webhook. */
  async getRecovery(accountId: string, webhookId: string, jobId: string): Promise<RecoveryJob> {
    await this.get(accountId, webhookId);
    const job = /^rec_[0-9a-f]{24}$/.test(jobId) ? await this.deps.recovery.getRecovery(accountId, webhookId, jobId) : undefined;
    if (!job) throw new NotFoundError('recovery');
    return job;
  }

  /** Re-queued deliveries of a disabled webhook would only be skipped again: say so instead. */
  private requireEnabled(webhook: Webhook): void {
    if (!webhook.enabled) throw new ConflictError('webhook_disabled', `the webhook is ${webhook.status}; enable it before retrying its deliveries`);
  }

  private secretInfo(webhook: Webhook): SecretInfo {
    const overlap =
      webhook.previousSecret && webhook.previousSecretExpiresAt && Date.parse(webhook.previousSecretExpiresAt) > this.deps.clock.now()
        ? { previousSecretExpiresAt: webhook.previousSecretExpiresAt }
        : {};
    return { secret: webhook.secret, ...overlap };
  }

  /**
   * The URL rules that need configuration or DNS (the schema checked the shape). Returns the
   * URL in WHATWG-normalized form (punycode host, percent-encoded path): what is stored is
   * exactly what the sender will call.
   */
  private async checkUrl(url: string): Promise<string> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw ValidationError.of('url', 'must be an absolute URL');
    }
    const httpAllowed = this.deps.allowHttp && parsed.protocol === 'http:';
    if (parsed.protocol !== 'https:' && !httpAllowed) throw ValidationError.of('url', this.deps.allowHttp ? 'must be an https:// or http:// URL' : 'must be an https:// URL');
    // WHATWG parsing drops an empty userinfo (`https://@host`), so look at the authority as typed too.
    if (parsed.username || parsed.password || /^[a-z][a-z0-9+.-]*:[/\\]*[^/\\?#]*@/i.test(url)) {
      throw ValidationError.of('url', 'must not contain credentials (user:password@)');
    }
    if (!parsed.hostname) throw ValidationError.of('url', 'must name a host');
    const badPort = checkTargetPort(parsed.port, this.deps.allowPrivateTargets);
    if (badPort) throw ValidationError.of('url', `target is not allowed: ${badPort}`);
    const refused = await checkTargetHost(parsed.hostname, this.deps.resolver, this.deps.allowPrivateTargets);
    if (refused) throw ValidationError.of('url', `target is not allowed: ${refused}`);
    if (parsed.href.length > LIMITS.urlMaxLength) throw ValidationError.of('url', `url must be at most ${LIMITS.urlMaxLength} characters once normalized (${parsed.href.length})`);
    return parsed.href;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
