import { binValue, DeliveryStats, LATENCY_BINS, LATENCY_RELATIVE_ERROR, latencyBin, percentile, readStats } from '../../lambdas/shared/domain/delivery-stats';
import { MemoryLog } from '../../local/harness/fakes';
import { MemoryStatsStore } from '../helpers/memory-ports';

/**
 * The statistics' arithmetic: log-scale latency bins and their error bound, percentiles, one write
 * per (webhook, hour) per flush whatever the number of attempts, counts kept when a write fails,
 * and the 24-hour and 7-day windows.
 */

const HOUR = 3_600_000;
const at = Date.parse('2026-03-10T15:20:00Z');
const job = (webhookId: string, trigger: 'event' | 'retry' = 'event') => ({ accountId: 'acc', webhookId, trigger });

describe('latency histogram', () => {
  it('puts every duration in a bin whose reported value is within the stated relative error', () => {
    expect(LATENCY_RELATIVE_ERROR).toBeCloseTo(0.118, 3);
    for (let ms = 1; ms < 60_000; ms = Math.ceil(ms * 1.07)) {
      const value = binValue(latencyBin(ms));
      expect(Math.abs(value - ms) / ms).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR + 1e-9);
    }
    expect(latencyBin(0)).toBe(0);
    expect(latencyBin(10 * 60_000)).toBe(LATENCY_BINS - 1);
  });

  it('reads p50 and p95 by rank from the bins', () => {
    const bins: Record<number, number> = {};
    for (let i = 1; i <= 100; i++) bins[latencyBin(i * 10)] = (bins[latencyBin(i * 10)] ?? 0) + 1;
    expect(Math.abs(percentile(bins, 0.5)! - 500) / 500).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR + 0.01);
    expect(Math.abs(percentile(bins, 0.95)! - 950) / 950).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR + 0.01);
    expect(percentile({}, 0.5)).toBeNull();
  });
});

describe('DeliveryStats', () => {
  it('writes once per webhook and hour per flush, however many attempts it counted', async () => {
    const store = new MemoryStatsStore();
    const stats = new DeliveryStats(store, new MemoryLog());
    for (let i = 0; i < 500; i++) stats.attempted(job('wh_a'), { ok: true, durationMs: 40 }, at);
    for (let i = 0; i < 3; i++) stats.attempted(job('wh_b', 'retry'), { ok: false, durationMs: 10, errorKind: 'http', statusCode: 500 }, at);
    stats.attempted(job('wh_b'), { ok: false, durationMs: 1_500, errorKind: 'timeout' }, at, { inline: true }); // cut in the fast lane: not a failure
    stats.attempted(job('wh_b'), { ok: false, durationMs: 0, errorKind: 'queued' }, at); // never sent: not an attempt
    stats.recordFiltered({ accountId: 'acc', webhookId: 'wh_b' }, at);
    stats.attempted(job('wh_a'), { ok: true, durationMs: 40 }, at + HOUR); // the next hour: its own item
    await stats.flush();
    expect(store.writes).toBe(3);
    expect(store.hours.get('acc#wh_a#2026-03-10T15')).toMatchObject({ attempted: 500, delivered: 500, failed: 0 });
    expect(store.hours.get('acc#wh_b#2026-03-10T15')).toMatchObject({ attempted: 4, delivered: 0, failed: 3, retried: 3, filteredOut: 1 });
    expect(stats.size).toBe(0);
  });

  it('keeps what it could not write for the next flush, and never throws', async () => {
    const store = new MemoryStatsStore();
    const log = new MemoryLog();
    const stats = new DeliveryStats(store, log);
    stats.attempted(job('wh_a'), { ok: true, durationMs: 40 }, at);
    store.failNext = 1;
    await expect(stats.flush()).resolves.toBeUndefined();
    expect(stats.size).toBe(1);
    expect(log.lines.some((l) => l.includes('delivery statistics not written'))).toBe(true);
    stats.attempted(job('wh_a'), { ok: true, durationMs: 40 }, at);
    await stats.flush();
    expect(store.hours.get('acc#wh_a#2026-03-10T15')).toMatchObject({ attempted: 2, delivered: 2 });
  });
});

describe('readStats', () => {
  it('answers 24 hourly buckets ending with the current hour, and 7 daily ones ending today', async () => {
    const store = new MemoryStatsStore();
    const stats = new DeliveryStats(store, new MemoryLog());
    stats.attempted(job('wh_a'), { ok: true, durationMs: 100 }, at); // now
    stats.attempted(job('wh_a'), { ok: false, durationMs: 5, errorKind: 'http' }, at - 23 * HOUR); // the oldest hour of the window
    stats.attempted(job('wh_a'), { ok: true, durationMs: 100 }, at - 24 * HOUR); // just outside it, still today-1
    stats.attempted(job('wh_a'), { ok: true, durationMs: 100 }, at - 7 * 24 * HOUR); // outside the week
    await stats.flush();
    const day = await readStats(store, 'acc', 'wh_a', '24h', at);
    expect(day.buckets).toHaveLength(24);
    expect(day.from).toBe('2026-03-09T16:00:00.000Z');
    expect(day.to).toBe('2026-03-10T16:00:00.000Z');
    expect(day.buckets[0]).toMatchObject({ failed: 1, successRate: 0 });
    expect(day.buckets[23]).toMatchObject({ delivered: 1, successRate: 1 });
    expect(day.totals).toMatchObject({ attempted: 2, delivered: 1, failed: 1, successRate: 0.5 });
    const week = await readStats(store, 'acc', 'wh_a', '7d', at);
    expect(week.buckets.map((b) => b.start)).toEqual(['04', '05', '06', '07', '08', '09', '10'].map((d) => `2026-03-${d}T00:00:00.000Z`));
    expect(week.totals).toMatchObject({ attempted: 3, delivered: 2, failed: 1 });
  });
});
