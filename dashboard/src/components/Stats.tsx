import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiClient } from '../api';
import type { StatsCounts, StatsWindow, WebhookStats } from '../types';
import { busyButton } from './common';

/**
 * A webhook's delivery statistics (`GET …/stats`): two small charts over the window (success rate
 * per bucket; p50 and p95 latency of successful attempts), each with a one-sentence text
 * alternative, a summary sentence of the totals, and the same numbers as a table on demand.
 */

const WINDOWS: ReadonlyArray<{ readonly value: StatsWindow; readonly label: string }> = [
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
];
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** "98.5 %", or "—" without outcomes. */
export function percent(rate: number | null): string {
  return rate === null ? '—' : `${Math.round(rate * 1000) / 10} %`;
}

/** "42 ms", "1.3 s", or "—". */
export function latency(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The label of a bucket: "14:00" for an hour, "Mar 10" for a day. */
function bucketLabel(start: string, granularity: WebhookStats['granularity']): string {
  const d = new Date(start);
  return granularity === 'hour'
    ? d.toLocaleTimeString('en', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    : d.toLocaleDateString('en', { month: 'short', day: 'numeric' });
}

/** The totals in one sentence: what a screen reader (and a glance) gets first. */
export function summarize(stats: WebhookStats): string {
  const t = stats.totals;
  const span = stats.window === '24h' ? 'In the last 24 hours' : 'In the last 7 days';
  if (t.attempted === 0 && t.filteredOut === 0) return `${span}: no delivery attempts.`;
  const filtered = t.filteredOut > 0 ? `, ${t.filteredOut} filtered out` : '';
  const lat = t.latencyMs.p50 === null ? '' : `; latency p50 ${latency(t.latencyMs.p50)}, p95 ${latency(t.latencyMs.p95)}`;
  return `${span}: ${t.attempted} attempted, ${t.delivered} delivered, ${t.failed} failed (success rate ${percent(t.successRate)}), ${t.retried} retries${filtered}${lat}.`;
}

/** The worst bucket, in words, for the success chart's text alternative. */
function successAlt(stats: WebhookStats): string {
  const rated = stats.buckets.filter((b) => b.successRate !== null);
  if (rated.length === 0) return 'Success rate: no attempts in this window.';
  const worst = rated.reduce((a, b) => ((b.successRate ?? 1) < (a.successRate ?? 1) ? b : a));
  return `Success rate per ${stats.granularity}: ${percent(stats.totals.successRate)} overall, lowest ${percent(worst.successRate)} at ${bucketLabel(worst.start, stats.granularity)}.`;
}

function latencyAlt(stats: WebhookStats): string {
  const timed = stats.buckets.filter((b) => b.latencyMs.p95 !== null);
  if (timed.length === 0) return 'Latency: no successful attempts in this window.';
  const slowest = timed.reduce((a, b) => ((b.latencyMs.p95 ?? 0) > (a.latencyMs.p95 ?? 0) ? b : a));
  return `Latency per ${stats.granularity}: p50 ${latency(stats.totals.latencyMs.p50)} and p95 ${latency(stats.totals.latencyMs.p95)} overall; slowest p95 ${latency(slowest.latencyMs.p95)} at ${bucketLabel(slowest.start, stats.granularity)}.`;
}

const W = 480;
const H = 120;
const PAD = { left: 44, right: 8, top: 8, bottom: 22 };

/** Bars of the success rate per bucket (empty buckets drawn as a baseline tick). */
function SuccessChart({ stats, id }: { readonly stats: WebhookStats; readonly id: string }) {
  const n = stats.buckets.length;
  const slot = (W - PAD.left - PAD.right) / n;
  const plot = H - PAD.top - PAD.bottom;
  return (
    <figure class="chart">
      <figcaption id={`${id}-title`}>Success rate</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} preserveAspectRatio="none">
        <desc id={`${id}-desc`}>{successAlt(stats)}</desc>
        <Axes stats={stats} max="100 %" />
        {stats.buckets.map((b, i) => {
          const x = PAD.left + i * slot + slot * 0.15;
          const rate = b.successRate;
          const h = rate === null ? 1 : Math.max(1, rate * plot);
          const cls = rate === null ? 'bar empty' : rate >= 0.99 ? 'bar good' : rate >= 0.9 ? 'bar fair' : 'bar poor';
          return <rect key={b.start} class={cls} x={x} y={PAD.top + plot - h} width={slot * 0.7} height={h} />;
        })}
      </svg>
    </figure>
  );
}

/** p50 and p95 latency per bucket as two lines (gaps where no attempt succeeded). */
function LatencyChart({ stats, id }: { readonly stats: WebhookStats; readonly id: string }) {
  const n = stats.buckets.length;
  const slot = (W - PAD.left - PAD.right) / n;
  const plot = H - PAD.top - PAD.bottom;
  const max = Math.max(1, ...stats.buckets.map((b) => b.latencyMs.p95 ?? 0));
  const line = (pick: (b: StatsCounts) => number | null) =>
    stats.buckets
      .map((b, i) => {
        const v = pick(b);
        return v === null ? null : `${(PAD.left + i * slot + slot / 2).toFixed(1)},${(PAD.top + plot - (v / max) * plot).toFixed(1)}`;
      })
      .join(' ')
      .split(/\s*null\s*/)
      .filter((segment) => segment.trim() !== '');
  return (
    <figure class="chart">
      <figcaption id={`${id}-title`}>
        Latency <span class="legend p50">p50</span> <span class="legend p95">p95</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} preserveAspectRatio="none">
        <desc id={`${id}-desc`}>{latencyAlt(stats)}</desc>
        <Axes stats={stats} max={latency(max)} />
        {line((b) => b.latencyMs.p95).map((points) => (
          <polyline key={`p95-${points}`} class="line p95" points={points} />
        ))}
        {line((b) => b.latencyMs.p50).map((points) => (
          <polyline key={`p50-${points}`} class="line p50" points={points} />
        ))}
        {stats.buckets.flatMap((b, i) =>
          (['p50', 'p95'] as const).flatMap((q) => {
            const v = b.latencyMs[q];
            if (v === null) return [];
            // A dot per value, so a lone bucket (one point, no line) still shows.
            return [<circle key={`${q}-${b.start}`} class={`dot ${q}`} cx={PAD.left + i * slot + slot / 2} cy={PAD.top + plot - (v / max) * plot} r={2.5} />];
          }),
        )}
      </svg>
    </figure>
  );
}

function Axes({ stats, max }: { readonly stats: WebhookStats; readonly max: string }) {
  const first = stats.buckets[0];
  const last = stats.buckets.at(-1);
  return (
    <g class="axes" aria-hidden="true">
      <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} />
      <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} />
      <text x={PAD.left - 4} y={PAD.top + 8} text-anchor="end">
        {max}
      </text>
      <text x={PAD.left - 4} y={H - PAD.bottom} text-anchor="end">
        0
      </text>
      {first && (
        <text x={PAD.left} y={H - 6}>
          {bucketLabel(first.start, stats.granularity)}
        </text>
      )}
      {last && (
        <text x={W - PAD.right} y={H - 6} text-anchor="end">
          {bucketLabel(last.start, stats.granularity)}
        </text>
      )}
    </g>
  );
}

/** The statistics panel of a webhook. `version` reloads it (after a test send, say). */
export function Stats({ api, webhookId, version }: { readonly api: ApiClient; readonly webhookId: string; readonly version: number }) {
  const [window, setWindow] = useState<StatsWindow>('24h');
  const [stats, setStats] = useState<WebhookStats | undefined>();
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const request = useRef(0);

  const load = async () => {
    const n = ++request.current;
    setLoading(true);
    try {
      const s = await api.getStats(webhookId, window);
      if (n !== request.current) return;
      setStats(s);
      setError('');
    } catch (err) {
      if (n === request.current) setError(`Could not load statistics: ${message(err)}`);
    } finally {
      if (n === request.current) setLoading(false);
    }
  };

  useEffect(() => {
    void load();
  }, [api, webhookId, window, version]);

  return (
    <section class="panel" aria-labelledby="stats-title">
      <div class="section-head">
        <h2 id="stats-title">Delivery statistics</h2>
        <div class="inline-form">
          <label for="stats-window">Window</label>
          <select id="stats-window" value={window} onChange={(e) => setWindow(e.currentTarget.value as StatsWindow)}>
            {WINDOWS.map((w) => (
              <option key={w.value} value={w.value}>
                {w.label}
              </option>
            ))}
          </select>
          <button type="button" onClick={() => void load()} {...busyButton(loading)}>
            Refresh
          </button>
        </div>
      </div>
      {error && (
        <p class="error-box" role="alert">
          {error}
        </p>
      )}
      {stats && (
        <>
          <p class="stats-summary" aria-live="polite">
            {summarize(stats)}
          </p>
          <div class="charts">
            <SuccessChart stats={stats} id="stats-success" />
            <LatencyChart stats={stats} id="stats-latency" />
          </div>
          <details class="stats-table">
            <summary>Show the numbers as a table</summary>
            <div class="table-scroll">
              <table>
                <caption class="visually-hidden">Delivery statistics per {stats.granularity}</caption>
                <thead>
                  <tr>
                    <th scope="col">{stats.granularity === 'hour' ? 'Hour' : 'Day'}</th>
                    <th scope="col">Attempted</th>
                    <th scope="col">Delivered</th>
                    <th scope="col">Failed</th>
                    <th scope="col">Retried</th>
                    <th scope="col">Filtered out</th>
                    <th scope="col">Success rate</th>
                    <th scope="col">p50</th>
                    <th scope="col">p95</th>
                  </tr>
                </thead>
                <tbody>
                  {stats.buckets.map((b) => (
                    <tr key={b.start}>
                      <th scope="row">{bucketLabel(b.start, stats.granularity)}</th>
                      <td>{b.attempted}</td>
                      <td>{b.delivered}</td>
                      <td>{b.failed}</td>
                      <td>{b.retried}</td>
                      <td>{b.filteredOut}</td>
                      <td>{percent(b.successRate)}</td>
                      <td>{latency(b.latencyMs.p50)}</td>
                      <td>{latency(b.latencyMs.p95)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </section>
  );
}
