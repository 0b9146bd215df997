import type { EventBridgeClient, EventBridgeClientConfig, PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { DEFAULT_EVENT_SOURCE, DEFAULT_OPERATIONAL_EVENT_SOURCE, LIMITS, type VisitEventType } from '../contract';
import { envelopeSchema, type VisitData } from '../domain/events';
import type { OperationalEvent } from '../domain/operational-events';
import type { OperationalEventSink } from '../domain/ports';

type EventBridgeSdk = typeof import('@aws-sdk/client-eventbridge');
let sdk: EventBridgeSdk | undefined;
/**
 * `@aws-sdk/client-eventbridge`, required on first use: the delivery functions put operational
 * events only on a breaker move, an auto-disable or an exhausted delivery, so most containers never load it.
 */
function eventBridgeSdk(): EventBridgeSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (sdk ??= require('@aws-sdk/client-eventbridge') as EventBridgeSdk);
}

/** One EventBridge client per container, created (and its SDK module loaded) on first use. */
export function lazyEventBridgeClient(config: EventBridgeClientConfig = {}): () => EventBridgeClient {
  let client: EventBridgeClient | undefined;
  return () => (client ??= new (eventBridgeSdk().EventBridgeClient)(config));
}

export interface PublishVisitEventInput {
  readonly eventType: VisitEventType;
  readonly accountId: string;
  /** The visit (the customer guide's "Expected Payload"); `id` is required. */
  readonly data: VisitData;
}

export interface PublishOptions {
  /** Bus name or ARN (stack output `EventBusName`). */
  readonly eventBusName: string;
  /** @default DEFAULT_EVENT_SOURCE ('tracking'); must match the stack's `eventSource` context. */
  readonly source?: string;
}

export class PublishError extends Error {
  constructor(
    message: string,
    readonly failed: PutEventsResultEntry[] = [],
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

/** The single-visit detail `{accountId, data}`, validated and serialized; a PublishError if invalid or too large. */
function serializedDetail(e: PublishVisitEventInput): string {
  const detail = { accountId: e.accountId, data: e.data };
  const parsed = envelopeSchema.safeParse(detail);
  if (!parsed.success) throw new PublishError(`invalid visit event: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
  const serialized = JSON.stringify(detail);
  if (Buffer.byteLength(serialized) > LIMITS.eventMaxBytes) throw new PublishError(`visit event larger than ${LIMITS.eventMaxBytes} bytes`);
  return serialized;
}

/**
 * Sends up to 10 entries in one PutEvents, re-sending only the entries EventBridge rejected (so
 * accepted events are never duplicated), three tries in all. Returns each entry's event id, in
 * the entries' order, or the rejection of those still refused.
 */
async function putEntries(client: EventBridgeClient, entries: readonly PutEventsRequestEntry[]): Promise<Array<{ id: string } | { failed: PutEventsResultEntry }>> {
  const results = new Array<{ id: string } | { failed: PutEventsResultEntry }>(entries.length);
  let pending = entries.map((entry, index) => ({ entry, index }));
  for (let attempt = 1; ; attempt++) {
    const out = await client.send(new (eventBridgeSdk().PutEventsCommand)({ Entries: pending.map((p) => p.entry) }));
    const retry: typeof pending = [];
    pending.forEach((p, i) => {
      const result = out.Entries?.[i] ?? {};
      if (result.EventId && !result.ErrorCode) results[p.index] = { id: result.EventId };
      else {
        results[p.index] = { failed: result };
        retry.push(p);
      }
    });
    if (retry.length === 0 || attempt >= 3) return results;
    await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    pending = retry;
  }
}

/**
 * Puts visit events on the bus with the contract's source, detail-type and envelope, for the
 * tracking pipeline. Validates before sending (a bad event fails here, not in the consumer),
 * and throws if EventBridge rejects any entry, so the caller can retry.
 */
export async function publishVisitEvent(
  client: EventBridgeClient,
  events: PublishVisitEventInput | readonly PublishVisitEventInput[],
  options: PublishOptions,
): Promise<string[]> {
  const list = Array.isArray(events) ? (events as readonly PublishVisitEventInput[]) : [events as PublishVisitEventInput];
  const ids: string[] = [];
  for (let i = 0; i < list.length; i += 10) {
    const chunk = list.slice(i, i + 10);
    const entries = chunk.map((e) => ({ EventBusName: options.eventBusName, Source: options.source ?? DEFAULT_EVENT_SOURCE, DetailType: e.eventType, Detail: serializedDetail(e) }));
    const results = await putEntries(client, entries);
    const failed = results.flatMap((r) => ('failed' in r ? [r.failed] : []));
    if (failed.length > 0) {
      throw new PublishError(`EventBridge rejected ${failed.length} of ${entries.length} events: ${failed[0]?.ErrorCode ?? ''} ${failed[0]?.ErrorMessage ?? ''}`.trim(), failed);
    }
    for (const r of results) if ('id' in r) ids.push(r.id);
  }
  return ids;
}

export interface BatchPublisherOptions extends PublishOptions {
  /**
   * Largest entry a batch grows to, as EventBridge sizes it (Source + DetailType + Detail bytes).
   * @default 63 KiB: one billed 64 KB chunk on the bus, and with the ~0.4 KB EventBridge envelope
   * still one 64 KB chunk on the events queue.
   */
  readonly maxEntryBytes?: number;
  /** @default LIMITS.visitsPerEventMax */
  readonly maxVisitsPerEntry?: number;
  /** A partly filled entry is sent this long after its first visit. @default 1000 */
  readonly flushAfterMs?: number;
}

/** What a batching publisher has sent so far. */
export interface BatchPublisherStats {
  readonly visits: number;
  readonly entries: number;
  readonly requests: number;
  /** Visits whose entry EventBridge finally rejected, or whose request failed. */
  readonly failedVisits: number;
}

interface Waiter {
  resolve(eventId: string): void;
  reject(err: unknown): void;
}

interface OpenEntry {
  readonly details: string[];
  readonly waiters: Waiter[];
  /** Bytes of the details, without the batch's brackets and commas. */
  bytes: number;
  timer?: NodeJS.Timeout;
}

interface SealedEntry {
  readonly entry: PutEventsRequestEntry;
  readonly size: number;
  readonly waiters: Waiter[];
}

/** `{"visits":[` + `]}` around the visits, and a comma between two. */
const BATCH_FRAME_BYTES = Buffer.byteLength('{"visits":[]}');

/**
 * Packs visits into batch entries (`detail.visits`, docs/design.md §4), one detail-type per entry,
 * up to one billed 64 KB chunk each: at 1.5 KB a visit, about 40 visits for the price of one
 * event. An entry is sent when the next visit would not fit, when it holds `maxVisitsPerEntry`
 * visits, or `flushAfterMs` after its first visit; an entry of one visit goes out as a single
 * event (`{accountId, data}`), as `publishVisitEvent` sends it. Sends up to 10 entries (256 KB) per
 * PutEvents and re-sends only rejected entries.
 *
 * `publish()` validates the visit at once (a PublishError for a bad one: nothing is sent) and
 * resolves with the EventBridge id of the entry that carried it, or rejects when that entry was
 * finally refused: await it, or handle its rejection. `close()` sends what is buffered, waits
 * for every request, and refuses further visits.
 */
export class VisitBatchPublisher {
  private readonly source: string;
  private readonly maxEntryBytes: number;
  private readonly maxVisits: number;
  private readonly flushAfterMs: number;
  private readonly open = new Map<VisitEventType, OpenEntry>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pending: SealedEntry[] = [];
  private draining = false;
  private closed = false;
  private counts = { visits: 0, entries: 0, requests: 0, failedVisits: 0 };

  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: BatchPublisherOptions,
  ) {
    this.source = options.source ?? DEFAULT_EVENT_SOURCE;
    this.maxEntryBytes = Math.min(options.maxEntryBytes ?? LIMITS.eventBilledChunkBytes - 1024, LIMITS.eventMaxBytes);
    this.maxVisits = Math.max(1, Math.min(options.maxVisitsPerEntry ?? LIMITS.visitsPerEventMax, LIMITS.visitsPerEventMax));
    this.flushAfterMs = options.flushAfterMs ?? 1000;
  }

  get stats(): BatchPublisherStats {
    return { ...this.counts };
  }

  /** Adds a visit to its type's entry; resolves with that entry's event id once EventBridge has accepted it. */
  publish(event: PublishVisitEventInput): Promise<string> {
    if (this.closed) return Promise.reject(new PublishError('the batching publisher is closed'));
    let detail: string;
    try {
      detail = serializedDetail(event);
    } catch (err) {
      return Promise.reject(err);
    }
    const bytes = Buffer.byteLength(detail);
    const fixed = Buffer.byteLength(this.source) + Buffer.byteLength(event.eventType);
    let entry = this.open.get(event.eventType);
    // Would the entry outgrow its size with this visit? Then it goes now, and the visit starts the next.
    if (entry && fixed + BATCH_FRAME_BYTES + entry.bytes + entry.details.length + bytes > this.maxEntryBytes) {
      this.seal(event.eventType);
      entry = undefined;
    }
    if (!entry) {
      entry = { details: [], waiters: [], bytes: 0 };
      entry.timer = setTimeout(() => this.seal(event.eventType), this.flushAfterMs);
      this.open.set(event.eventType, entry);
    }
    const current = entry;
    const done = new Promise<string>((resolve, reject) => current.waiters.push({ resolve, reject }));
    current.details.push(detail);
    current.bytes += bytes;
    this.counts.visits++;
    if (current.details.length >= this.maxVisits) this.seal(event.eventType);
    return done;
  }

  /** Sends every buffered visit now and waits for all requests in flight. */
  async flush(): Promise<void> {
    for (const type of [...this.open.keys()]) this.seal(type);
    if (this.draining) this.drain();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Sends what is buffered, waits for every request, and refuses further visits. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** Ends the open entry of `type` and sends it (with any other sealed entry that fits the request). */
  private seal(type: VisitEventType): void {
    const entry = this.open.get(type);
    if (!entry) return;
    this.open.delete(type);
    clearTimeout(entry.timer);
    const detail = entry.details.length === 1 ? (entry.details[0] as string) : `{"visits":[${entry.details.join(',')}]}`;
    const sealed: SealedEntry = {
      entry: { EventBusName: this.options.eventBusName, Source: this.source, DetailType: type, Detail: detail },
      size: Buffer.byteLength(this.source) + Buffer.byteLength(type) + Buffer.byteLength(detail),
      waiters: entry.waiters,
    };
    this.counts.entries++;
    this.pending.push(sealed);
    // Entries sealed in the same turn (a flush, or a burst) share PutEvents requests.
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(() => this.drain());
    }
  }

  /** Sends the sealed entries, up to 10 and 256 KB per request. */
  private drain(): void {
    this.draining = false;
    const entries = this.pending.splice(0);
    let batch: SealedEntry[] = [];
    let size = 0;
    for (const e of entries) {
      if (batch.length === 10 || (batch.length > 0 && size + e.size > LIMITS.eventMaxBytes)) {
        this.track(this.send(batch));
        batch = [];
        size = 0;
      }
      batch.push(e);
      size += e.size;
    }
    if (batch.length > 0) this.track(this.send(batch));
  }

  private track(sending: Promise<void>): void {
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  private async send(batch: readonly SealedEntry[]): Promise<void> {
    this.counts.requests++;
    let results;
    try {
      results = await putEntries(
        this.client,
        batch.map((b) => b.entry),
      );
    } catch (err) {
      for (const b of batch) this.fail(b, err);
      return;
    }
    results.forEach((result, i) => {
      const b = batch[i] as SealedEntry;
      if ('id' in result) for (const w of b.waiters) w.resolve(result.id);
      else this.fail(b, new PublishError(`EventBridge rejected an entry of ${b.waiters.length} visits: ${result.failed.ErrorCode ?? ''} ${result.failed.ErrorMessage ?? ''}`.trim(), [result.failed]));
    });
  }

  private fail(b: SealedEntry, err: unknown): void {
    this.counts.failedVisits += b.waiters.length;
    for (const w of b.waiters) w.reject(err);
  }
}

/**
 * Puts up to 10 entries, re-sending only the ones EventBridge rejected (so accepted events are
 * never duplicated), three tries in all with a short backoff; throws PublishError with what is
 * still rejected. The SDK retries throttling and transport errors on its own.
 */
async function putAll(client: EventBridgeClient, entries: readonly PutEventsRequestEntry[]): Promise<string[]> {
  const ids: string[] = [];
  let pending = [...entries];
  for (let attempt = 1; ; attempt++) {
    const out = await client.send(new (eventBridgeSdk().PutEventsCommand)({ Entries: pending }));
    const results = out.Entries ?? [];
    const retry: PutEventsRequestEntry[] = [];
    pending.forEach((entry, index) => {
      const result = results[index];
      if (result?.EventId && !result.ErrorCode) ids.push(result.EventId);
      else retry.push(entry);
    });
    if (retry.length === 0) return ids;
    if (attempt >= 3) {
      const failed = results.filter((entry) => entry.ErrorCode);
      throw new PublishError(`EventBridge rejected ${retry.length} of ${entries.length} events: ${failed[0]?.ErrorCode ?? ''} ${failed[0]?.ErrorMessage ?? ''}`.trim(), failed);
    }
    await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    pending = retry;
  }
}

/**
 * The operational events port on EventBridge: `Source` = the operational source, `DetailType` =
 * the event's type, `Detail` = `{accountId, data}` (the envelope visits have, so the events
 * queue's consumer can deliver it to subscribed webhooks).
 */
export class EventBridgeOperationalEvents implements OperationalEventSink {
  constructor(
    private readonly client: EventBridgeClient | (() => EventBridgeClient),
    private readonly eventBusName: string,
    private readonly source: string = DEFAULT_OPERATIONAL_EVENT_SOURCE,
  ) {}

  async publish(events: readonly OperationalEvent[]): Promise<void> {
    const client = typeof this.client === 'function' ? this.client() : this.client;
    for (let i = 0; i < events.length; i += 10) {
      const entries = events.slice(i, i + 10).map((event) => toOperationalEntry(event, this.eventBusName, this.source));
      await putAll(client, entries);
    }
  }
}

/** The PutEvents entry of an operational event. */
export function toOperationalEntry(event: OperationalEvent, eventBusName: string, source: string): PutEventsRequestEntry {
  return { EventBusName: eventBusName, Source: source, DetailType: event.type, Detail: JSON.stringify({ accountId: event.accountId, data: event }), Time: new Date(event.time) };
}
