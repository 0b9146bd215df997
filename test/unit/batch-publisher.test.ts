import type { EventBridgeClient, PutEventsCommand, PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { LIMITS } from '../../lambdas/shared/contract';
import { PublishError, VisitBatchPublisher } from '../../lambdas/shared/adapters/eventbridge-publisher';
import { parseEventRecord } from '../../lambdas/shared/domain/events';
import { SAMPLE_PAYLOADS } from '../../lambdas/shared/sample-payloads';

/** A stand-in for the bus's PutEvents: records every request, answers each entry as `answer` says. */
function fakeBus(answer: (entry: PutEventsRequestEntry, call: number) => PutEventsResultEntry = () => ({})) {
  const requests: PutEventsRequestEntry[][] = [];
  let n = 0;
  const client = {
    send: async (command: PutEventsCommand) => {
      const entries = command.input.Entries ?? [];
      requests.push(entries);
      const call = requests.length;
      return { FailedEntryCount: 0, Entries: entries.map((e) => ({ EventId: `ev-${++n}`, ...answer(e, call) })) };
    },
  } as unknown as EventBridgeClient;
  const entries = () => requests.flat();
  return { client, requests, entries };
}

/** The EventBridge event the events queue would receive for an entry, parsed as the delivery function does. */
const asDelivered = (entry: PutEventsRequestEntry, id: string) =>
  parseEventRecord(JSON.stringify({ id, 'detail-type': entry.DetailType, source: entry.Source, time: '2026-11-29T00:00:00Z', detail: JSON.parse(entry.Detail ?? '{}') }), Date.parse('2026-11-29T00:00:00Z'));

const sample: Record<string, unknown> = { ...SAMPLE_PAYLOADS.NEW_VISIT };
const visit = (i: number, accountId = `acc_${i % 3}`) => ({ eventType: 'NEW_VISIT' as const, accountId, data: { ...sample, id: `visit-${i}` } });
const entrySize = (e: PutEventsRequestEntry) => Buffer.byteLength(e.Source ?? '') + Buffer.byteLength(e.DetailType ?? '') + Buffer.byteLength(e.Detail ?? '');

describe('VisitBatchPublisher: packing visits into batch entries', () => {
  it('packs visits into entries of at most one billed chunk, every visit delivered once, in order', async () => {
    const bus = fakeBus();
    const publisher = new VisitBatchPublisher(bus.client, { eventBusName: 'bus', flushAfterMs: 60_000 });
    const n = 200;
    const ids = await Promise.all([...Array.from({ length: n }, (_, i) => publisher.publish(visit(i))), publisher.close()]);
    const entries = bus.entries();
    for (const e of entries) expect(entrySize(e)).toBeLessThanOrEqual(LIMITS.eventBilledChunkBytes - 1024);
    // Every entry but the last holds as many visits as fit: the next visit would not have.
    const perEntry = entries.map((e) => asDelivered(e, 'x').events.length);
    let next = 0;
    entries.slice(0, -1).forEach((e, i) => {
      next += perEntry[i]!;
      const { eventType: _type, ...following } = visit(next);
      expect(entrySize(e) + Buffer.byteLength(JSON.stringify(following)) + 1).toBeGreaterThan(LIMITS.eventBilledChunkBytes - 1024);
    });
    expect(perEntry.reduce((a, b) => a + b, 0)).toBe(n);
    expect(Math.min(...perEntry.slice(0, -1))).toBeGreaterThan(30);
    const delivered = entries.flatMap((e, i) => asDelivered(e, `ev-${i}`).events.map((v) => v.data.id));
    expect(delivered).toEqual(Array.from({ length: n }, (_, i) => `visit-${i}`));
    expect(ids.slice(0, n).every((id) => typeof id === 'string' && id.startsWith('ev-'))).toBe(true);
    expect(publisher.stats).toEqual({ visits: n, entries: entries.length, requests: bus.requests.length, failedVisits: 0 });
    // Entries sealed together share requests: at most 10 entries and 256 KB each.
    for (const r of bus.requests) {
      expect(r.length).toBeLessThanOrEqual(10);
      expect(r.reduce((s, e) => s + entrySize(e), 0)).toBeLessThanOrEqual(LIMITS.eventMaxBytes);
    }
  });

  it('keeps one detail-type per entry and caps the visits of an entry', async () => {
    const bus = fakeBus();
    const publisher = new VisitBatchPublisher(bus.client, { eventBusName: 'bus', maxVisitsPerEntry: 4, flushAfterMs: 60_000 });
    const sends = [];
    for (let i = 0; i < 10; i++) sends.push(publisher.publish({ ...visit(i), eventType: i % 2 === 0 ? 'NEW_VISIT' : 'NEW_VISITOR' }));
    await publisher.close();
    await Promise.all(sends);
    const entries = bus.entries();
    expect(entries.map((e) => [e.DetailType, asDelivered(e, 'x').events.length])).toEqual([
      ['NEW_VISIT', 4],
      ['NEW_VISITOR', 4],
      ['NEW_VISIT', 1],
      ['NEW_VISITOR', 1],
    ]);
  });

  it('sends a lone visit as a single event, the shape publishVisitEvent sends', async () => {
    const bus = fakeBus();
    const publisher = new VisitBatchPublisher(bus.client, { eventBusName: 'bus', source: 'tracking-eu' });
    await Promise.all([publisher.publish(visit(7, 'acc_x')), publisher.close()]);
    const [entry] = bus.entries();
    expect(entry).toMatchObject({ EventBusName: 'bus', Source: 'tracking-eu', DetailType: 'NEW_VISIT' });
    expect(JSON.parse(entry!.Detail!)).toEqual({ accountId: 'acc_x', data: visit(7).data });
  });

  it('flushes a partly filled entry after flushAfterMs without close()', async () => {
    const bus = fakeBus();
    const publisher = new VisitBatchPublisher(bus.client, { eventBusName: 'bus', flushAfterMs: 5 });
    const ids = await Promise.all([publisher.publish(visit(1)), publisher.publish(visit(2))]);
    expect(ids[0]).toBe(ids[1]);
    expect(bus.entries()).toHaveLength(1);
    await publisher.close();
  });

  it('refuses an invalid visit at once and sends the others', async () => {
    const bus = fakeBus();
    const publisher = new VisitBatchPublisher(bus.client, { eventBusName: 'bus' });
    const good = publisher.publish(visit(1));
    await expect(publisher.publish({ eventType: 'NEW_VISIT', accountId: 'acc_1', data: { url: 'x' } as never })).rejects.toThrow(/data\.id/);
    await expect(publisher.publish({ eventType: 'NEW_VISIT', accountId: 'acc_1', data: { id: 'big', blob: 'x'.repeat(LIMITS.eventMaxBytes) } })).rejects.toThrow(/larger than/);
    await publisher.close();
    await expect(good).resolves.toEqual(expect.any(String));
    expect(bus.entries()).toHaveLength(1);
  });

  it('re-sends only a rejected entry, and rejects its visits when it stays rejected', async () => {
    const bus = fakeBus((entry) => (entry.DetailType === 'NEW_VISITOR' ? { EventId: undefined, ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : {}));
    const publisher = new VisitBatchPublisher(bus.client, { eventBusName: 'bus', flushAfterMs: 60_000 });
    const ok = [publisher.publish(visit(1)), publisher.publish(visit(2))];
    const refused = [publisher.publish({ ...visit(3), eventType: 'NEW_VISITOR' }), publisher.publish({ ...visit(4), eventType: 'NEW_VISITOR' })];
    const outcomes = Promise.allSettled([...ok, ...refused]);
    await publisher.close();
    const settled = await outcomes;
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(PublishError);
    expect((settled[2] as PromiseRejectedResult).reason.message).toMatch(/2 visits: ThrottlingException slow down/);
    // First request: both entries; then the rejected one alone, twice more.
    expect(bus.requests.map((r) => r.map((e) => e.DetailType))).toEqual([['NEW_VISIT', 'NEW_VISITOR'], ['NEW_VISITOR'], ['NEW_VISITOR']]);
    expect(publisher.stats.failedVisits).toBe(2);
  });

  it('refuses visits after close()', async () => {
    const bus = fakeBus();
    const publisher = new VisitBatchPublisher(bus.client, { eventBusName: 'bus' });
    await publisher.close();
    await expect(publisher.publish(visit(1))).rejects.toThrow(/closed/);
    expect(bus.requests).toHaveLength(0);
  });
});
