import * as z from 'zod/mini';
import { type EventType, EVENT_TYPES, isOperationalEventType, LIMITS, VISIT_EVENT_TYPES } from '../contract';
import { operationalEventSchema } from './operational-events';

/**
 * The event contract (docs/design.md §4): the bus carries `{accountId, data}` where `data` is the
 * visit of the customer guide's payload. `accountId` and `data.id` are required strings; other known fields are
 * type-checked when present; unknown fields pass through untouched (the original parsed
 * object is what gets delivered, never the schema's output).
 *
 * A batch entry carries several visits of its detail-type: `{visits: [{accountId, data}, …]}`,
 * each element exactly a single event's detail. Each visit is validated, delivered, retried,
 * recorded and dead-lettered on its own; one invalid visit never costs the others.
 */

const text = z.optional(z.nullable(z.string()));
/** Fields that the customer guide shows as strings but that producers commonly send as numbers/booleans. */
const scalar = z.optional(z.nullable(z.union([z.string(), z.number(), z.boolean()])));
const obj = <T extends z.core.$ZodLooseShape>(shape: T) => z.optional(z.nullable(z.looseObject(shape)));

export const visitSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  url: text,
  params: z.optional(z.nullable(z.record(z.string(), scalar))),
  referrer: text,
  date: text,
  ip: text,
  visitor: obj({
    id: text,
    firstSeen: text,
    company: obj({ name: text, domain: text }),
  }),
  location: obj({ country: text, city: text, state: text }),
  trafficSource: obj({ channel: text, source: text, campaign: text }),
  device: obj({ model: text, os: text, gpu: text, hardwareConcurrency: scalar }),
  browser: obj({ name: text, version: text, vendor: text }),
  timezone: text,
  screen: obj({ height: scalar, width: scalar, touch: scalar }),
});

export const envelopeSchema = z.looseObject({
  accountId: z.string().check(z.minLength(1), z.maxLength(128)),
  data: visitSchema,
});

/** The EventBridge event as an SQS target receives it. */
export const eventBridgeEventSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  'detail-type': z.enum(EVENT_TYPES),
  source: z.string(),
  time: z.string(),
  detail: envelopeSchema,
});

/** A batch entry's detail: visits of the entry's detail-type, each `{accountId, data}` (validated one by one). */
export const batchDetailSchema = z.looseObject({
  visits: z.array(z.unknown()).check(z.minLength(1), z.maxLength(LIMITS.visitsPerEventMax)),
});

/** The EventBridge event of a batch entry, before its visits are validated: visits only (operational events are never batched). */
const batchEventSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  'detail-type': z.enum(VISIT_EVENT_TYPES),
  source: z.string(),
  time: z.string(),
  detail: batchDetailSchema,
});

/** An operational event on the bus: the same envelope, `data` per operational-events.ts. */
const operationalEnvelopeSchema = z.looseObject({
  accountId: z.string().check(z.minLength(1), z.maxLength(128)),
  data: operationalEventSchema,
});

export type VisitData = Record<string, unknown> & { id: string };

/** A validated event ready for delivery. */
export interface VisitEvent {
  /** EventBridge event id: with the webhook id, it derives the stable delivery id. */
  readonly eventId: string;
  readonly eventType: EventType;
  readonly accountId: string;
  /** Event time in ms since the epoch (from the EventBridge envelope). */
  readonly time: number;
  /** The `data` object exactly as received. */
  readonly data: VisitData;
  /** `data` serialized once; every webhook receives (and signs) these bytes. */
  readonly body: string;
  /** Of an operational event: the webhook it is about, which never receives it. */
  readonly aboutWebhookId?: string;
}

export class InvalidEventError extends Error {
  constructor(readonly reason: string) {
    super(`invalid event: ${reason}`);
    this.name = 'InvalidEventError';
  }
}

function describe(error: z.core.$ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${[prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

function readJson(body: string): unknown {
  if (Buffer.byteLength(body) > LIMITS.eventMaxBytes + 4096) {
    throw new InvalidEventError(`event larger than ${LIMITS.eventMaxBytes} bytes`);
  }
  try {
    return JSON.parse(body);
  } catch {
    throw new InvalidEventError('body is not JSON');
  }
}

/**
 * An event's time. `nowMs` (the consumer's clock) bounds it: more than
 * `LIMITS.eventTimeMaxAheadSeconds` ahead is refused, since the time derives the delivery id,
 * which orders the attempt log (an event from the far future would list first for ever) and
 * bounds "recover since".
 */
function timeOf(time: string, nowMs: number): number {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new InvalidEventError('time: not an ISO-8601 timestamp');
  if (ms > nowMs + LIMITS.eventTimeMaxAheadSeconds * 1000) {
    throw new InvalidEventError(`time: more than ${LIMITS.eventTimeMaxAheadSeconds} s in the future (${time})`);
  }
  return ms;
}

/** Parses an SQS record body holding a single-visit EventBridge event; throws InvalidEventError with a reason. */
export function parseEventBridgeRecord(body: string, nowMs: number): VisitEvent {
  return singleEvent(readJson(body), nowMs);
}

function singleEvent(raw: unknown, nowMs: number): VisitEvent {
  const parsed = eventBridgeEventSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidEventError(describe(parsed.error));
  const time = timeOf(parsed.data.time, nowMs);
  const eventType = parsed.data['detail-type'];
  let aboutWebhookId: string | undefined;
  if (isOperationalEventType(eventType)) {
    const operational = operationalEnvelopeSchema.safeParse(parsed.data.detail);
    if (!operational.success) throw new InvalidEventError(describe(operational.error).replace(/^/, 'detail: '));
    const data = operational.data.data;
    if (data.type !== eventType) throw new InvalidEventError(`detail.data.type: ${data.type} is not the detail-type ${eventType}`);
    if (data.accountId !== operational.data.accountId) throw new InvalidEventError('detail.data.accountId: not the account of the event');
    aboutWebhookId = data.webhookId;
  }
  // Deliver the original object (unknown fields untouched), not the schema's copy.
  const original = (raw as { detail: { data: VisitData } }).detail.data;
  return {
    eventId: parsed.data.id,
    eventType,
    accountId: parsed.data.detail.accountId,
    time,
    data: original,
    body: JSON.stringify(original),
    ...(aboutWebhookId !== undefined ? { aboutWebhookId } : {}),
  };
}

/** A visit of a batch entry that failed validation: kept (events DLQ) with its reason, as a single event. */
export interface InvalidVisit {
  /** Its place in `detail.visits`. */
  readonly index: number;
  readonly reason: string;
  /** The visit as a single-visit EventBridge event (the entry's envelope, its own id): what the DLQ keeps. */
  readonly body: string;
}

/** What one queue record holds: the valid visits as events, and the invalid visits of a batch entry. */
export interface ParsedRecord {
  readonly events: readonly VisitEvent[];
  readonly invalid: readonly InvalidVisit[];
  /** Whether the record was a batch entry (`detail.visits`). */
  readonly batch: boolean;
}

/**
 * The event id of the visit at `index` of a batch entry: the entry's EventBridge id and the index,
 * stable across redeliveries of the record (so is the delivery id derived from it).
 */
export const batchVisitEventId = (entryId: string, index: number) => `${entryId}#${index}`;

/**
 * Parses an SQS record body holding an EventBridge event, single (`detail.data`) or batch
 * (`detail.visits`). Throws InvalidEventError only when the record as a whole is unusable (not
 * JSON, too large, a bad envelope, or a single event that fails validation); in a batch, each
 * invalid visit is returned in `invalid` with its reason and the others in `events`.
 */
export function parseEventRecord(body: string, nowMs: number): ParsedRecord {
  const raw = readJson(body);
  const detail = (raw as { detail?: unknown } | null)?.detail;
  const isBatch = typeof detail === 'object' && detail !== null && 'visits' in detail;
  if (!isBatch) return { events: [singleEvent(raw, nowMs)], invalid: [], batch: false };
  if ('data' in detail || 'accountId' in detail) throw new InvalidEventError('detail: a batch entry has `visits` only, not `accountId` or `data`');
  const parsed = batchEventSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidEventError(describe(parsed.error));
  const time = timeOf(parsed.data.time, nowMs);
  const { detail: _detail, ...envelope } = raw as Record<string, unknown>;
  const events: VisitEvent[] = [];
  const invalid: InvalidVisit[] = [];
  parsed.data.detail.visits.forEach((visit, index) => {
    const eventId = batchVisitEventId(parsed.data.id, index);
    const check = envelopeSchema.safeParse(visit);
    if (!check.success) {
      invalid.push({ index, reason: describe(check.error, `detail.visits.${index}`), body: JSON.stringify({ ...envelope, id: eventId, detail: visit }) });
      return;
    }
    const original = (visit as { data: VisitData }).data;
    events.push({ eventId, eventType: parsed.data['detail-type'], accountId: check.data.accountId, time, data: original, body: JSON.stringify(original) });
  });
  return { events, invalid, batch: true };
}
