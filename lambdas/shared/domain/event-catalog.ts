import { z } from 'zod';
import { EVENT_TYPE_DESCRIPTIONS, EVENT_TYPES, type EventType, isOperationalEventType, type OperationalEventType } from '../contract';
import { SAMPLE_PAYLOADS, type SampleOperationalEvent, type SampleVisit } from '../sample-payloads';
import { visitSchema } from './events';
import { breakerClosedSchema, breakerOpenedSchema, deliveryExhaustedSchema, webhookAutoDisabledSchema } from './operational-events';

/**
 * The event catalog (`GET /v1/event-types`, the OpenAPI document's `webhooks`, the customer
 * guide): each event type with its description and the JSON Schema of the body a receiver gets.
 *
 * The schema is generated from the zod schema the delivery path validates events with
 * (events.ts `visitSchema`), as the producer may send it (`io: 'input'`): what is delivered is
 * the original object, so optional fields may be absent or null, the device and screen numbers
 * and `params` values may be numbers or booleans, and unknown fields pass through. The field
 * descriptions below are laid onto that schema; a test checks each names a field it has.
 */

export type JsonSchema = Record<string, unknown>;

/** Descriptions of the visit's fields, by dotted path (`visitor.company.name`). */
export const VISIT_FIELD_DESCRIPTIONS: Readonly<Record<string, string>> = {
  id: 'Visit id: unique per visit (the only required field besides the object itself).',
  url: 'The page the visit entered on.',
  params: 'Query parameters of the entry URL (UTM tags among them).',
  referrer: 'The referring page, if any.',
  date: 'When the visit started (ISO 8601, UTC).',
  ip: 'The visitor\'s IP address.',
  visitor: 'The visitor (a unique user across visits).',
  'visitor.id': 'Visitor id: the same across the visitor\'s visits.',
  'visitor.firstSeen': 'When the visitor was first seen (ISO 8601, UTC).',
  'visitor.company': 'The company the visitor was identified with, if any.',
  'visitor.company.name': 'Company name.',
  'visitor.company.domain': 'Company domain.',
  location: 'Where the visit came from (from the IP address).',
  'location.country': 'Country name.',
  'location.city': 'City name.',
  'location.state': 'State or region name.',
  trafficSource: 'How the visitor arrived.',
  'trafficSource.channel': 'Channel, e.g. "Organic Search".',
  'trafficSource.source': 'Source, e.g. "Google".',
  'trafficSource.campaign': 'Campaign name, if any.',
  device: 'The visitor\'s device.',
  'device.model': 'Device model.',
  'device.os': 'Operating system.',
  'device.gpu': 'GPU.',
  'device.hardwareConcurrency': 'Logical processor count (a string in the sample; a number from some producers).',
  browser: 'The visitor\'s browser.',
  'browser.name': 'Browser name.',
  'browser.version': 'Browser version.',
  'browser.vendor': 'Browser vendor.',
  timezone: 'The browser\'s IANA time zone.',
  screen: 'The visitor\'s screen.',
  'screen.height': 'Height in pixels (a string in the sample; a number from some producers).',
  'screen.width': 'Width in pixels (a string in the sample; a number from some producers).',
  'screen.touch': 'Whether the screen is a touch screen ("true"/"false" in the sample; a boolean from some producers).',
};

/** The object variant of a property schema (`{type: object}` or the object of an `anyOf` with null). */
function objectVariant(schema: JsonSchema): JsonSchema | undefined {
  if (schema.type === 'object') return schema;
  const anyOf = schema.anyOf;
  if (Array.isArray(anyOf)) return (anyOf as JsonSchema[]).find((s) => s.type === 'object');
  return undefined;
}

/** Lays `descriptions` onto the properties of `schema`; throws on a path the schema does not have. */
function describeFields(schema: JsonSchema, descriptions: Readonly<Record<string, string>>): void {
  for (const [path, description] of Object.entries(descriptions)) {
    let node: JsonSchema | undefined = schema;
    for (const name of path.split('.')) {
      const properties: Record<string, JsonSchema> | undefined = node ? (objectVariant(node)?.properties as Record<string, JsonSchema> | undefined) : undefined;
      node = properties?.[name];
    }
    if (!node) throw new Error(`VISIT_FIELD_DESCRIPTIONS names ${path}, which the visit schema does not have`);
    node.description = description;
  }
}

let visitJsonSchemaCache: JsonSchema | undefined;

/**
 * The JSON Schema (draft 2020-12) of a delivery's body, without `$schema` (the caller adds it
 * where the schema stands alone). A fresh copy on every call.
 */
export function visitJsonSchema(): JsonSchema {
  if (!visitJsonSchemaCache) {
    const { $schema: _dialect, ...schema } = z.toJSONSchema(visitSchema, { target: 'draft-2020-12', io: 'input' }) as JsonSchema;
    describeFields(schema, VISIT_FIELD_DESCRIPTIONS);
    visitJsonSchemaCache = {
      title: 'Visit',
      description:
        'The body of a delivery: the visit, serialized once and signed as sent. Fields other than `id` may be absent or null; unknown fields pass through unchanged, so a receiver should ignore fields it does not know.',
      ...schema,
    };
  }
  return structuredClone(visitJsonSchemaCache);
}

export interface EventTypeInfo {
  readonly eventType: EventType;
  readonly description: string;
  /** JSON Schema (draft 2020-12) of the body a receiver gets for this event type. */
  readonly schema: JsonSchema;
  /** The sample body: what a test send (`POST /v1/webhooks/{id}/test`) delivers. */
  readonly example: SampleVisit | SampleOperationalEvent;
}

const OPERATIONAL_SCHEMAS = {
  WEBHOOK_AUTO_DISABLED: webhookAutoDisabledSchema,
  DELIVERY_EXHAUSTED: deliveryExhaustedSchema,
  WEBHOOK_BREAKER_OPENED: breakerOpenedSchema,
  WEBHOOK_BREAKER_CLOSED: breakerClosedSchema,
} as const satisfies Record<OperationalEventType, unknown>;

/** The JSON Schema of an operational event's body, generated from the zod schema the delivery path validates it with. */
function operationalJsonSchema(eventType: OperationalEventType): JsonSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(OPERATIONAL_SCHEMAS[eventType], { target: 'draft-2020-12', io: 'input' }) as JsonSchema;
  return { title: eventType, ...schema };
}

/** Every event type, in the contract's order. */
export function eventCatalog(): EventTypeInfo[] {
  return EVENT_TYPES.map((eventType) => ({
    eventType,
    description: EVENT_TYPE_DESCRIPTIONS[eventType],
    schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', ...(isOperationalEventType(eventType) ? operationalJsonSchema(eventType) : visitJsonSchema()) },
    example: SAMPLE_PAYLOADS[eventType],
  }));
}
