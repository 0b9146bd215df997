import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { OPERATIONAL_EVENT_TYPES } from '../../lambdas/shared/contract';
import { InvalidEventError, parseEventBridgeRecord } from '../../lambdas/shared/domain/events';
import { operationalEventSchema } from '../../lambdas/shared/domain/operational-events';
import { SAMPLE_PAYLOADS } from '../../lambdas/shared/sample-payloads';
import { PROJECT_ROOT } from '../../lib/function-defaults';

/**
 * The operational event's body: its zod schema (lambdas/shared/domain/operational-events.ts) is
 * the one published as JSON Schema in docs/operational-event.schema.json (regenerate with
 * UPDATE_OPERATIONAL_SCHEMA=1), the samples the dashboard and test sends show are valid against
 * it, and the delivery function accepts an operational event from the bus only if it is.
 */

const SCHEMA_PATH = join(PROJECT_ROOT, 'docs/operational-event.schema.json');

function onTheBus(data: Record<string, unknown>, detailType: string = String(data.type), accountId: string = String(data.accountId)): string {
  return JSON.stringify({ version: '0', id: 'ev-1', 'detail-type': detailType, source: 'visit-webhooks', account: '1', time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], detail: { accountId, data } });
}

function reasonOf(body: string): string {
  try {
    parseEventBridgeRecord(body, Date.parse('2026-01-01T00:00:00Z'));
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEventError);
    return (err as InvalidEventError).reason;
  }
  throw new Error('expected the event to be invalid');
}

describe('operational event schema', () => {
  it('is published as docs/operational-event.schema.json', () => {
    const generated = `${JSON.stringify({ title: 'Operational event (the body a subscribed webhook receives)', ...z.toJSONSchema(operationalEventSchema) }, null, 2)}\n`;
    if (process.env.UPDATE_OPERATIONAL_SCHEMA === '1') writeFileSync(SCHEMA_PATH, generated);
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(generated);
  });

  it.each(OPERATIONAL_EVENT_TYPES)('the %s sample is valid and is parsed from the bus with the webhook it is about', (type) => {
    const sample = SAMPLE_PAYLOADS[type] as unknown as Record<string, unknown>;
    expect(operationalEventSchema.safeParse(sample).success).toBe(true);
    const event = parseEventBridgeRecord(onTheBus(sample), Date.parse('2026-01-01T00:00:00Z'));
    expect(event).toMatchObject({ eventType: type, accountId: sample.accountId, aboutWebhookId: sample.webhookId });
    expect(JSON.parse(event.body)).toEqual(sample);
  });

  it('refuses an operational event whose type, account or fields do not hold', () => {
    const sample = SAMPLE_PAYLOADS.DELIVERY_EXHAUSTED as unknown as Record<string, unknown>;
    expect(reasonOf(onTheBus(sample, 'WEBHOOK_AUTO_DISABLED'))).toMatch(/is not the detail-type/);
    expect(reasonOf(onTheBus(sample, 'DELIVERY_EXHAUSTED', 'acc_other'))).toMatch(/not the account of the event/);
    expect(reasonOf(onTheBus({ ...sample, attempts: 0 }))).toMatch(/attempts/);
    expect(reasonOf(onTheBus({ ...sample, webhookId: undefined }))).toMatch(/webhookId/);
  });
});
