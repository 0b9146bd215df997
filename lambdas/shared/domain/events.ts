import * as z from 'zod/mini';
import { type EventType, EVENT_TYPES, LIMITS } from '../contract';

/**
 * The event contract (docs/design.md §4): the bus carries `{accountId, data}` where `data` is the
 * visit of the customer guide's payload. `accountId` and `data.id` are required strings; other known fields are
 * type-checked when present; unknown fields pass through untouched (the original parsed
 * object is what gets delivered, never the schema's output).
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
}

export class InvalidEventError extends Error {
  constructor(readonly reason: string) {
    super(`invalid event: ${reason}`);
    this.name = 'InvalidEventError';
  }
}

function describe(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Parses an SQS record body holding an EventBridge event; throws InvalidEventError with a reason.
 * `nowMs` (the consumer's clock) bounds the event time: more than
 * `LIMITS.eventTimeMaxAheadSeconds` ahead is refused, since the time derives the delivery id,
 * which orders the attempt log (an event from the far future would list first for ever) and
 * bounds "recover since".
 */
export function parseEventBridgeRecord(body: string, nowMs: number): VisitEvent {
  if (Buffer.byteLength(body) > LIMITS.eventMaxBytes + 4096) {
    throw new InvalidEventError(`event larger than ${LIMITS.eventMaxBytes} bytes`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new InvalidEventError('body is not JSON');
  }
  const parsed = eventBridgeEventSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidEventError(describe(parsed.error));
  const time = Date.parse(parsed.data.time);
  if (Number.isNaN(time)) throw new InvalidEventError('time: not an ISO-8601 timestamp');
  if (time > nowMs + LIMITS.eventTimeMaxAheadSeconds * 1000) {
    throw new InvalidEventError(`time: more than ${LIMITS.eventTimeMaxAheadSeconds} s in the future (${parsed.data.time})`);
  }
  // Deliver the original object (unknown fields untouched), not the schema's copy.
  const original = (raw as { detail: { data: VisitData } }).detail.data;
  return {
    eventId: parsed.data.id,
    eventType: parsed.data['detail-type'],
    accountId: parsed.data.detail.accountId,
    time,
    data: original,
    body: JSON.stringify(original),
  };
}
