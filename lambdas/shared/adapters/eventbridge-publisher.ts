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
    const entries = chunk.map((e) => {
      const detail = { accountId: e.accountId, data: e.data };
      const parsed = envelopeSchema.safeParse(detail);
      if (!parsed.success) throw new PublishError(`invalid visit event: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
      const serialized = JSON.stringify(detail);
      if (Buffer.byteLength(serialized) > LIMITS.eventMaxBytes) throw new PublishError(`visit event larger than ${LIMITS.eventMaxBytes} bytes`);
      return { EventBusName: options.eventBusName, Source: options.source ?? DEFAULT_EVENT_SOURCE, DetailType: e.eventType, Detail: serialized };
    });
    ids.push(...(await putAll(client, entries)));
  }
  return ids;
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
