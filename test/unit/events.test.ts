import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIMITS } from '../../lambdas/shared/contract';
import { batchVisitEventId, InvalidEventError, parseEventBridgeRecord, parseEventRecord } from '../../lambdas/shared/domain/events';

const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/eventbridge-new-visit.json'), 'utf8')) as Record<string, unknown> & {
  detail: { accountId: string; data: Record<string, unknown> };
};

function withDetail(patch: (e: typeof fixture) => void): string {
  const copy = structuredClone(fixture);
  patch(copy);
  return JSON.stringify(copy);
}

/** The consumer's clock in these tests: well after the fixture's time (2024-12-22T14:30:01Z). */
const NOW = Date.parse('2026-03-01T12:00:00Z');

function reasonOf(body: string, now = NOW): string {
  try {
    parseEventBridgeRecord(body, now);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEventError);
    return (err as InvalidEventError).reason;
  }
  throw new Error('expected the event to be invalid');
}

describe('event validation', () => {
  it('accepts the customer guide sample event and delivers data exactly as received', () => {
    const event = parseEventBridgeRecord(JSON.stringify(fixture), NOW);
    expect(event).toMatchObject({ eventType: 'NEW_VISIT', accountId: 'acc_123', eventId: fixture.id });
    expect(JSON.parse(event.body)).toEqual(fixture.detail.data);
    expect(event.time).toBe(Date.parse('2024-12-22T14:30:01Z'));
  });

  it('passes unknown fields through untouched, in order', () => {
    const body = withDetail((e) => {
      e.detail.data = { zeta: 1, ...e.detail.data, custom: { nested: [1, 'two'] } };
    });
    const event = parseEventBridgeRecord(body, NOW);
    expect(Object.keys(JSON.parse(event.body))[0]).toBe('zeta');
    expect(JSON.parse(event.body).custom).toEqual({ nested: [1, 'two'] });
  });

  it('accepts numbers where the customer guide sample shows numeric strings', () => {
    const event = parseEventBridgeRecord(withDetail((e) => ((e.detail.data.screen as Record<string, unknown>).height = 2532)), NOW);
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
    ['a time more than 5 minutes ahead', withDetail((e) => (e.time = new Date(NOW + 300_001).toISOString())), /time: more than 300 s in the future/],
    ['a time in a far future', withDetail((e) => (e.time = '9999-12-31T23:59:59Z')), /time: more than 300 s in the future/],
  ])('rejects %s with a reason', (_name, body, reason) => {
    expect(reasonOf(body)).toMatch(reason);
  });

  it("accepts a time up to 5 minutes ahead of the consumer's clock (producers' clock skew), and any past time", () => {
    for (const time of [NOW + 300_000, NOW + 1, NOW, Date.parse('2001-01-01T00:00:00Z')]) {
      const event = parseEventBridgeRecord(withDetail((e) => (e.time = new Date(time).toISOString())), NOW);
      expect(event.time).toBe(time);
    }
  });
});

describe('batch entries: several visits of one type in one EventBridge event', () => {
  const visit = (id: string, accountId = 'acc_123') => ({ accountId, data: { ...fixture.detail.data, id } });
  const batchBody = (visits: unknown[], patch: (e: Record<string, unknown>) => void = () => undefined) => {
    const copy: Record<string, unknown> = { ...structuredClone(fixture), detail: { visits } };
    patch(copy);
    return JSON.stringify(copy);
  };

  it('refuses a batch entry of an operational detail-type: only visits are batched', () => {
    expect(() => parseEventRecord(batchBody([visit('v1')], (e) => (e['detail-type'] = 'WEBHOOK_AUTO_DISABLED')), NOW)).toThrow(InvalidEventError);
  });

  it('gives each visit its own event: its account, its data as received, an id of the entry and its index', () => {
    const parsed = parseEventRecord(batchBody([visit('v1'), visit('v2', 'acc_other'), { accountId: 'acc_123', data: { id: 'v3', custom: [1] } }]), NOW);
    expect(parsed.batch).toBe(true);
    expect(parsed.invalid).toEqual([]);
    expect(parsed.events.map((e) => [e.eventId, e.accountId, e.eventType])).toEqual([
      [batchVisitEventId(fixture.id as string, 0), 'acc_123', 'NEW_VISIT'],
      [batchVisitEventId(fixture.id as string, 1), 'acc_other', 'NEW_VISIT'],
      [batchVisitEventId(fixture.id as string, 2), 'acc_123', 'NEW_VISIT'],
    ]);
    expect(new Set(parsed.events.map((e) => e.eventId)).size).toBe(3);
    expect(JSON.parse(parsed.events[2]!.body)).toEqual({ id: 'v3', custom: [1] });
    expect(parsed.events.every((e) => e.time === Date.parse('2024-12-22T14:30:01Z'))).toBe(true);
  });

  it('keeps an invalid visit aside with its reason, as a single event with its own id, and the others valid', () => {
    const parsed = parseEventRecord(batchBody([visit('v1'), { accountId: 'acc_123', data: { url: 'no id' } }, { data: { id: 'v3' } }, visit('v4')]), NOW);
    expect(parsed.events.map((e) => JSON.parse(e.body).id)).toEqual(['v1', 'v4']);
    expect(parsed.invalid.map((i) => i.index)).toEqual([1, 2]);
    expect(parsed.invalid[0]!.reason).toMatch(/^detail\.visits\.1\.data\.id: /);
    expect(parsed.invalid[1]!.reason).toMatch(/^detail\.visits\.2\.accountId: /);
    const kept = JSON.parse(parsed.invalid[0]!.body);
    expect(kept).toMatchObject({ id: batchVisitEventId(fixture.id as string, 1), 'detail-type': 'NEW_VISIT', source: 'tracking', detail: { accountId: 'acc_123', data: { url: 'no id' } } });
    // The kept event is in the single-visit shape: fixed, it would parse like any other.
    expect(reasonOf(parsed.invalid[0]!.body)).toMatch(/data\.id/);
  });

  it('reads a single event as one event, as parseEventBridgeRecord does', () => {
    const parsed = parseEventRecord(JSON.stringify(fixture), NOW);
    expect(parsed).toMatchObject({ batch: false, invalid: [] });
    expect(parsed.events).toEqual([parseEventBridgeRecord(JSON.stringify(fixture), NOW)]);
  });

  it.each([
    ['an empty batch', batchBody([]), /detail\.visits/],
    ['visits that are not a list', batchBody([], (e) => (e.detail = { visits: { id: 'x' } })), /detail\.visits/],
    ['more visits than the contract allows', batchBody(Array.from({ length: LIMITS.visitsPerEventMax + 1 }, (_, i) => visit(`v${i}`))), /detail\.visits/],
    ['both visits and data', batchBody([visit('v1')], (e) => ((e.detail as Record<string, unknown>).data = { id: 'x' })), /visits` only/],
    ['an unknown detail-type', batchBody([visit('v1')], (e) => (e['detail-type'] = 'NEW_PURCHASE')), /detail-type/],
    ['a bad time', batchBody([visit('v1')], (e) => (e.time = 'yesterday')), /time/],
  ])('refuses a whole entry with %s, with a reason', (_name, body, reason) => {
    expect(() => parseEventRecord(body, NOW)).toThrow(InvalidEventError);
    try {
      parseEventRecord(body, NOW);
    } catch (err) {
      expect((err as InvalidEventError).reason).toMatch(reason);
    }
  });
});
