import type { DeliveryJob } from './attempt';
import { mapLimit } from './concurrency';
import type { LogSink, SendResult, StatsCounts, StatsStore } from './ports';

/**
 * Delivery statistics (docs/design.md §7, "Statistics"): per webhook and UTC hour, counters and a
 * latency histogram, kept in their own table and never computed from the attempt log.
 *
 * - Counted in memory per container and written once per invocation and (webhook, hour): the
 *   handler calls `flush()` when its records are done (as the attempt log's DeliveredBatch), one
 *   DynamoDB `UpdateItem` with `ADD` per entry, on one of `STATS_SHARDS` items picked at random,
 *   so one webhook's writes spread over that many partition keys.
 * - Latency: a histogram of fixed log-scale bins (ratio `LATENCY_BIN_RATIO`) over successful
 *   attempts; a percentile is the geometric middle of the bin holding that rank, so it is within
 *   ±12 % (√1.25 − 1) of an observed value of that bin, whatever the volume. The counts are exact.
 * - Best effort, never in the way of a delivery: a write that fails is kept for the next flush and
 *   logged; a container that dies before flushing loses at most one invocation's counts.
 */

/** Items per (webhook, hour): one webhook at 10,000 deliveries/s makes at most ~1,000 flushes/s (batches of 10), 125 WCU per item. */
export const STATS_SHARDS = 8;
/** Statistics items expire this long after their hour (the longest window, 7 days, plus one). */
export const STATS_RETENTION_DAYS = 8;
/** Successive latency bins' bounds grow by this ratio. */
export const LATENCY_BIN_RATIO = 1.25;
/** Bin 0 is [0, 1) ms; bin i ≥ 1 is [r^(i−1), r^i) ms; the last bin holds everything from r^(LATENCY_BINS−2) ms (about 60 s) up. */
export const LATENCY_BINS = 51;
/** The largest relative error of a reported percentile (√ratio − 1). */
export const LATENCY_RELATIVE_ERROR = Math.sqrt(LATENCY_BIN_RATIO) - 1;

export type StatsWindow = '24h' | '7d';
export const STATS_WINDOWS: readonly StatsWindow[] = ['24h', '7d'];

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The bin of a latency in ms. */
export function latencyBin(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(LATENCY_BINS - 1, 1 + Math.floor(Math.log(ms) / Math.log(LATENCY_BIN_RATIO) + 1e-9));
}

/** The value a bin reports: the geometric middle of its bounds (0 for bin 0; the lower bound for the last, open bin). */
export function binValue(bin: number): number {
  if (bin <= 0) return 0;
  const lower = LATENCY_BIN_RATIO ** (bin - 1);
  if (bin >= LATENCY_BINS - 1) return lower;
  return Math.sqrt(lower * lower * LATENCY_BIN_RATIO);
}

/** The hour an instant falls in, as stored: `YYYY-MM-DDTHH` (UTC). */
export function hourKey(ms: number): string {
  return new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13);
}

export function emptyCounts(): StatsCounts {
  return { attempted: 0, delivered: 0, failed: 0, retried: 0, filteredOut: 0, latency: {} };
}

function addInto(into: StatsCounts, from: StatsCounts): void {
  into.attempted += from.attempted;
  into.delivered += from.delivered;
  into.failed += from.failed;
  into.retried += from.retried;
  into.filteredOut += from.filteredOut;
  for (const [bin, n] of Object.entries(from.latency)) into.latency[Number(bin)] = (into.latency[Number(bin)] ?? 0) + n;
}

/**
 * The counts of one container since its last flush, per (account, webhook, hour). Attempts of
 * deliveries only (test sends are not counted: they are not deliveries).
 */
export class DeliveryStats {
  private pending = new Map<string, { accountId: string; webhookId: string; hour: string; counts: StatsCounts }>();

  constructor(
    private readonly store: StatsStore,
    private readonly log: LogSink,
  ) {}

  /** Entries waiting for the next flush. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * One attempt: `attempted` (unless it never got a connection: never sent), `delivered` or
   * `failed`, `retried` when it was not the delivery's first attempt, and its latency if it succeeded.
   * A fast-lane attempt cut at its short budget, or one a shutdown interrupted, is attempted but
   * neither delivered nor failed: it is sent again through the slow lane.
   */
  attempted(job: Pick<DeliveryJob, 'accountId' | 'webhookId' | 'trigger'>, result: SendResult, nowMs: number, options: { readonly inline: boolean } = { inline: false }): void {
    if (result.errorKind === 'queued') return;
    const c = this.counts(job.accountId, job.webhookId, nowMs);
    c.attempted++;
    if (job.trigger !== 'event') c.retried++;
    if (result.ok) {
      c.delivered++;
      const bin = latencyBin(result.durationMs);
      c.latency[bin] = (c.latency[bin] ?? 0) + 1;
    } else if (!(options.inline && result.errorKind === 'timeout') && result.errorKind !== 'aborted') {
      c.failed++;
    }
  }

  /** An event the webhook's filter rejected: no delivery, counted as filtered out. */
  recordFiltered(webhook: { readonly accountId: string; readonly webhookId: string }, nowMs: number): void {
    this.counts(webhook.accountId, webhook.webhookId, nowMs).filteredOut++;
  }

  /**
   * Writes what was counted: one `add` per (webhook, hour), 10 at a time. Never throws; what
   * could not be written is kept for the next flush.
   */
  async flush(): Promise<void> {
    const entries = [...this.pending.values()];
    if (entries.length === 0) return;
    this.pending = new Map();
    const failed: typeof entries = [];
    await mapLimit(entries, 10, async (entry) => {
      try {
        await this.store.add(entry.accountId, entry.webhookId, entry.hour, entry.counts);
      } catch (err) {
        failed.push(entry);
        this.log.warn('delivery statistics not written; kept for the next flush', { webhookId: entry.webhookId, hour: entry.hour, error: err instanceof Error ? err.message : String(err) });
      }
    });
    for (const entry of failed) addInto(this.counts(entry.accountId, entry.webhookId, Date.parse(`${entry.hour}:00:00Z`)), entry.counts);
  }

  private counts(accountId: string, webhookId: string, nowMs: number): StatsCounts {
    const hour = hourKey(nowMs);
    const key = `${accountId}#${webhookId}#${hour}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { accountId, webhookId, hour, counts: emptyCounts() };
      this.pending.set(key, entry);
    }
    return entry.counts;
  }
}

/** Percentile `q` (0–1) of a histogram, or null when it is empty. */
export function percentile(latency: Readonly<Record<number, number>>, q: number): number | null {
  const bins = Object.entries(latency)
    .map(([bin, n]) => [Number(bin), n] as const)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a - b);
  const total = bins.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [bin, n] of bins) {
    seen += n;
    if (seen >= rank) return Math.round(binValue(bin) * 10) / 10;
  }
  return null;
}

export interface StatsBucket {
  /** Start of the bucket (ISO, UTC): an hour, or a day for the 7-day window. */
  readonly start: string;
  readonly attempted: number;
  readonly delivered: number;
  readonly failed: number;
  readonly retried: number;
  readonly filteredOut: number;
  /** delivered / (delivered + failed); null when neither. */
  readonly successRate: number | null;
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null };
}

export interface WebhookStats {
  readonly window: StatsWindow;
  readonly granularity: 'hour' | 'day';
  readonly from: string;
  readonly to: string;
  readonly totals: Omit<StatsBucket, 'start'>;
  readonly buckets: readonly StatsBucket[];
}

function toBucket(counts: StatsCounts) {
  const outcomes = counts.delivered + counts.failed;
  return {
    attempted: counts.attempted,
    delivered: counts.delivered,
    failed: counts.failed,
    retried: counts.retried,
    filteredOut: counts.filteredOut,
    successRate: outcomes === 0 ? null : Math.round((counts.delivered / outcomes) * 10_000) / 10_000,
    latencyMs: { p50: percentile(counts.latency, 0.5), p95: percentile(counts.latency, 0.95) },
  };
}

/**
 * A webhook's statistics over a window ending now: the last 24 hours by hour (24 buckets, the
 * current hour last) or the last 7 days by day (7 UTC days, today last). One read of the
 * webhook's hours per shard, whatever the volume.
 */
export async function readStats(store: StatsStore, accountId: string, webhookId: string, window: StatsWindow, nowMs: number): Promise<WebhookStats> {
  const byDay = window === '7d';
  const step = byDay ? DAY_MS : HOUR_MS;
  const count = byDay ? 7 : 24;
  const last = Math.floor(nowMs / step) * step;
  const first = last - (count - 1) * step;
  const hours = await store.read(accountId, webhookId, hourKey(first), hourKey(nowMs));
  const buckets = Array.from({ length: count }, () => emptyCounts());
  const totals = emptyCounts();
  for (const { hour, counts } of hours) {
    const at = Date.parse(`${hour}:00:00Z`);
    const index = Math.floor((at - first) / step);
    const bucket = buckets[index];
    if (!bucket) continue;
    addInto(bucket, counts);
    addInto(totals, counts);
  }
  return {
    window,
    granularity: byDay ? 'day' : 'hour',
    from: new Date(first).toISOString(),
    to: new Date(last + step).toISOString(),
    totals: toBucket(totals),
    buckets: buckets.map((counts, i) => ({ start: new Date(first + i * step).toISOString(), ...toBucket(counts) })),
  };
}
