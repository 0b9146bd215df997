/** Small statistics helpers: every reported figure is a median over runs, with its spread. */

export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Percentile by nearest rank on a sorted copy (p in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))] as number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** A figure over several runs: median, min, max and the spread as ± half the range relative to the median. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max - min) / 2 / median, as a fraction. */
  readonly spread: number;
  readonly runs: number;
  readonly values: number[];
}

export function summarize(values: readonly number[]): Summary {
  const s = sorted(values);
  const med = median(s);
  const min = s[0] ?? NaN;
  const max = s[s.length - 1] ?? NaN;
  return { median: med, min, max, spread: med === 0 ? 0 : (max - min) / 2 / Math.abs(med), runs: s.length, values: [...values] };
}

/** `1234 ±3%` style. */
export function fmt(summary: Summary, digits = 0, unit = ''): string {
  const n = summary.median.toFixed(digits);
  return `${n}${unit} ±${(summary.spread * 100).toFixed(summary.spread < 0.1 ? 1 : 0)}%`;
}
