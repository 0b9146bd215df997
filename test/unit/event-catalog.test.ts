import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { EVENT_TYPES } from '../../lambdas/shared/contract';
import { eventCatalog, VISIT_FIELD_DESCRIPTIONS, visitJsonSchema } from '../../lambdas/shared/domain/event-catalog';
import { parseEventBridgeRecord } from '../../lambdas/shared/domain/events';
import { SAMPLE_PAYLOADS, type SampleVisit } from '../../lambdas/shared/sample-payloads';

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(ajv);

/** Whether the delivery path accepts `data` (the event on the bus, as an SQS target receives it). */
function deliveryAccepts(data: unknown): boolean {
  const body = JSON.stringify({ id: 'evt-1', 'detail-type': 'NEW_VISIT', source: 'tracking', time: '2026-11-29T12:00:00Z', detail: { accountId: 'acc_1', data } });
  try {
    parseEventBridgeRecord(body, Date.parse('2026-11-29T12:00:00Z'));
    return true;
  } catch {
    return false;
  }
}

const sample = SAMPLE_PAYLOADS.NEW_VISIT as SampleVisit;
/** Bodies the delivery path accepts and others it refuses; the schema must agree on each. */
const CORPUS: ReadonlyArray<readonly [string, unknown]> = [
  ['the sample', sample],
  ['only an id', { id: 'v' }],
  ['nulls for optional fields', { ...sample, url: null, visitor: null, screen: null, params: null }],
  ['numbers and booleans where producers send them', { ...sample, screen: { height: 2532, width: 1170, touch: true }, device: { ...sample.device, hardwareConcurrency: 6 } }],
  ['numeric UTM values', { ...sample, params: { utm_source: 'x', page: 2, debug: false } }],
  ['unknown fields at every level', { ...sample, extra: { a: 1 }, visitor: { ...sample.visitor, tier: 'gold', company: { ...sample.visitor.company, size: 50 } } }],
  ['no id', { url: 'https://example.com' }],
  ['an empty id', { ...sample, id: '' }],
  ['a numeric id', { ...sample, id: 42 }],
  ['a string where an object belongs', { ...sample, visitor: 'unique_visitor_id' }],
  ['a number where a string belongs', { ...sample, url: 7 }],
  ['an object as a screen value', { ...sample, screen: { ...sample.screen, touch: {} } }],
  ['a nested object as a params value', { ...sample, params: { utm: { source: 'x' } } }],
  ['a company that is an array', { ...sample, visitor: { ...sample.visitor, company: ['Example Corp'] } }],
  ['an array, not an object', [sample]],
];

describe('event catalog: the JSON Schema of each event type', () => {
  it('lists every event type with a description, a draft 2020-12 schema and the sample body', () => {
    const catalog = eventCatalog();
    expect(catalog.map((c) => c.eventType)).toEqual([...EVENT_TYPES]);
    for (const info of catalog) {
      expect(info.description.length).toBeGreaterThan(20);
      expect(info.schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(info.example).toEqual(SAMPLE_PAYLOADS[info.eventType]);
    }
  });

  it.each(EVENT_TYPES)('validates the sample payload of %s (what a test send delivers) against its schema', (eventType) => {
    const info = eventCatalog().find((c) => c.eventType === eventType);
    const validate = ajv.compile(info?.schema ?? {});
    expect({ valid: validate(SAMPLE_PAYLOADS[eventType]), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
  });

  it.each(CORPUS)('agrees with the delivery path on %s', (_name, data) => {
    const validate = ajv.compile(visitJsonSchema());
    expect(validate(data)).toBe(deliveryAccepts(data));
  });

  it('refuses what the delivery path refuses, naming the field', () => {
    const validate = ajv.compile(visitJsonSchema());
    expect(validate({ ...sample, visitor: 'x' })).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain('/visitor');
  });

  it('describes every field of the visit, and describes nothing it does not have', () => {
    const described = new Set(Object.keys(VISIT_FIELD_DESCRIPTIONS));
    const paths: string[] = [];
    const walk = (schema: Record<string, unknown>, prefix: string) => {
      const object = schema.type === 'object' ? schema : ((schema.anyOf as Array<Record<string, unknown>> | undefined) ?? []).find((s) => s.type === 'object');
      for (const [name, child] of Object.entries((object?.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        const path = prefix ? `${prefix}.${name}` : name;
        paths.push(path);
        expect({ path, description: child.description }).toEqual({ path, description: VISIT_FIELD_DESCRIPTIONS[path] });
        walk(child, path);
      }
    };
    walk(visitJsonSchema(), '');
    expect(paths.sort()).toEqual([...described].sort());
  });

  it('hands out copies: a caller changing its schema changes nobody else\'s', () => {
    const first = visitJsonSchema();
    (first.properties as Record<string, unknown>).id = { type: 'number' };
    expect((visitJsonSchema().properties as Record<string, { type: string }>).id?.type).toBe('string');
  });
});
