import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidEventError, parseEventBridgeRecord } from '../../lambdas/shared/domain/events';

const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/eventbridge-new-visit.json'), 'utf8')) as Record<string, unknown> & {
  detail: { accountId: string; data: Record<string, unknown> };
};

function withDetail(patch: (e: typeof fixture) => void): string {
  const copy = structuredClone(fixture);
  patch(copy);
  return JSON.stringify(copy);
}

function reasonOf(body: string): string {
  try {
    parseEventBridgeRecord(body);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEventError);
    return (err as InvalidEventError).reason;
  }
  throw new Error('expected the event to be invalid');
}

describe('event validation', () => {
  it('accepts the customer guide sample event and delivers data exactly as received', () => {
    const event = parseEventBridgeRecord(JSON.stringify(fixture));
    expect(event).toMatchObject({ eventType: 'NEW_VISIT', accountId: 'acc_123', eventId: fixture.id });
    expect(JSON.parse(event.body)).toEqual(fixture.detail.data);
    expect(event.time).toBe(Date.parse('2024-12-22T14:30:01Z'));
  });

  it('passes unknown fields through untouched, in order', () => {
    const body = withDetail((e) => {
      e.detail.data = { zeta: 1, ...e.detail.data, custom: { nested: [1, 'two'] } };
    });
    const event = parseEventBridgeRecord(body);
    expect(Object.keys(JSON.parse(event.body))[0]).toBe('zeta');
    expect(JSON.parse(event.body).custom).toEqual({ nested: [1, 'two'] });
  });

  it('accepts numbers where the customer guide sample shows numeric strings', () => {
    const event = parseEventBridgeRecord(withDetail((e) => ((e.detail.data.screen as Record<string, unknown>).height = 2532)));
    expect(JSON.parse(event.body).screen.height).toBe(2532);
  });

  it.each([
    ['not JSON', '{nope', /not JSON/],
    ['missing accountId', withDetail((e) => delete (e.detail as Partial<typeof e.detail>).accountId), /accountId/],
    ['numeric accountId', withDetail((e) => ((e.detail as Record<string, unknown>).accountId = 42)), /accountId/],
    ['missing data', withDetail((e) => delete (e.detail as Partial<typeof e.detail>).data), /data/],
    ['missing data.id', withDetail((e) => delete e.detail.data.id), /data\.id/],
    ['wrong type of a known field', withDetail((e) => (e.detail.data.visitor = 'someone')), /data\.visitor/],
    ['wrong nested type', withDetail((e) => (e.detail.data.location = { country: 7 })), /data\.location\.country/],
    ['unknown detail-type', withDetail((e) => (e['detail-type'] = 'NEW_PURCHASE')), /detail-type/],
    ['bad time', withDetail((e) => (e.time = 'yesterday')), /time/],
    ['oversized', withDetail((e) => (e.detail.data.blob = 'x'.repeat(300 * 1024))), /larger than/],
  ])('rejects %s with a reason', (_name, body, reason) => {
    expect(reasonOf(body)).toMatch(reason);
  });
});
