import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { openApiDocument } from '../../lambdas/api/openapi';
import { EVENT_TYPES, isOperationalEventType, USER_AGENT } from '../../lambdas/shared/contract';
import { buildHeaders, type DeliveryJob } from '../../lambdas/shared/domain/attempt';
import type { Webhook } from '../../lambdas/shared/domain/model';
import { deliveryIdFor } from '../../lambdas/shared/domain/model';
import { generateSecret, secretKey, signatureHeader } from '../../lambdas/shared/domain/signing';
import { SAMPLE_PAYLOADS } from '../../lambdas/shared/sample-payloads';

/** The requests a receiver gets, held against what the OpenAPI document's `webhooks` says they are. */

const ajv = new Ajv2020({ strict: false });

function webhook(overrides: Partial<Webhook> = {}): Webhook {
  return {
    accountId: 'acc_1',
    webhookId: 'wh_1',
    name: 'CRM',
    url: 'https://crm.example.com/hook',
    eventTypes: [...EVENT_TYPES],
    description: '',
    headers: { 'X-Api-Version': '2' },
    enabled: true,
    status: 'active',
    createdAt: '2026-11-29T00:00:00.000Z',
    updatedAt: '2026-11-29T00:00:00.000Z',
    secret: generateSecret(),
    ...overrides,
  };
}

function job(eventType: (typeof EVENT_TYPES)[number]): DeliveryJob {
  return {
    accountId: 'acc_1',
    webhookId: 'wh_1',
    deliveryId: deliveryIdFor(Date.parse('2026-11-29T12:00:00Z'), 'evt-1', 'wh_1'),
    eventId: 'evt-1',
    eventType,
    createdAt: '2026-11-29T12:00:00.000Z',
    payload: JSON.stringify(SAMPLE_PAYLOADS[eventType]),
    retryIndex: 0,
    trigger: 'event',
  };
}

interface HeaderParameter {
  name: string;
  in: string;
  required: boolean;
  schema: Record<string, unknown>;
}

function documentedHeaders(eventType: string): HeaderParameter[] {
  const post = openApiDocument().webhooks[eventType]?.post as { parameters: HeaderParameter[] } | undefined;
  if (!post) throw new Error(`no webhooks.${eventType}.post in the OpenAPI document`);
  return post.parameters;
}

describe('delivery contract: the request a receiver gets, as documented', () => {
  it.each(EVENT_TYPES)('every header the OpenAPI document lists for %s is sent, with a value its schema accepts', (eventType) => {
    const hook = webhook();
    const ts = 1_764_417_600;
    const j = job(eventType);
    const sent = buildHeaders(hook, j, ts, signatureHeader([secretKey(hook.secret)], j.deliveryId, ts, j.payload));
    const lower = Object.fromEntries(Object.entries(sent).map(([k, v]) => [k.toLowerCase(), v]));
    for (const p of documentedHeaders(eventType)) {
      expect(p.in).toBe('header');
      const value = lower[p.name.toLowerCase()];
      expect({ header: p.name, sent: value !== undefined }).toEqual({ header: p.name, sent: true });
      expect({ header: p.name, value, valid: ajv.validate(p.schema, value) }).toEqual({ header: p.name, value, valid: true });
    }
    // And nothing the service sets goes undocumented (content-type is the request body's media type; custom headers are the webhook's).
    const documented = new Set(documentedHeaders(eventType).map((p) => p.name.toLowerCase()));
    const custom = new Set(Object.keys(hook.headers).map((name) => name.toLowerCase()));
    const undocumented = Object.keys(lower).filter((name) => !documented.has(name) && !custom.has(name) && name !== 'content-type');
    expect(undocumented).toEqual([]);
  });

  it('documents the two signatures of a rotation, and the schema refuses what is not a signature', () => {
    const schema = documentedHeaders('NEW_VISIT').find((p) => p.name === 'webhook-signature')?.schema ?? {};
    const two = signatureHeader([secretKey(generateSecret()), secretKey(generateSecret())], 'msg_1', 1, '{}');
    expect(ajv.validate(schema, two)).toBe(true);
    for (const bad of ['', 'v1,', 'sha256=abc', 'v1,abc==  v1,def=', 'v2,abc=']) expect({ bad, valid: ajv.validate(schema, bad) }).toEqual({ bad, valid: false });
  });

  it('documents the body of each visit type as the catalog\'s Visit schema, of each operational type as its own, with the sample as its example', () => {
    for (const eventType of EVENT_TYPES) {
      const content = (openApiDocument().webhooks[eventType]?.post as { requestBody: { content: Record<string, { schema: unknown; example: unknown }> } }).requestBody.content['application/json'];
      if (isOperationalEventType(eventType)) {
        expect(content?.schema).toMatchObject({ title: eventType, properties: { type: { const: eventType } } });
        expect(ajv.validate(content?.schema as object, SAMPLE_PAYLOADS[eventType])).toBe(true);
      } else expect(content?.schema).toEqual({ $ref: '#/components/schemas/Visit' });
      expect(content?.example).toEqual(SAMPLE_PAYLOADS[eventType]);
    }
    expect(openApiDocument().components.schemas.Visit).toMatchObject({ title: 'Visit', type: 'object', required: ['id'] });
  });

  it('names the product and the package\'s major.minor version in the User-Agent, and no placeholder URL', () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(USER_AGENT).toBe(`visit-webhooks/${version.split('.').slice(0, 2).join('.')}`);
    expect(USER_AGENT).not.toMatch(/https?:|\+/);
  });
});
