/**
 * Endpoint latency as a log-normal distribution fitted to a median and a 99th percentile, and the
 * expected waits the capacity model needs from it: the slowest of n parallel attempts, cut at a
 * budget (an invocation waits for its slowest attempt, never longer than the attempt's budget).
 */

/** z of the 99th percentile of the standard normal distribution. */
export const Z99 = 2.3263478740408408;

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf, error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** ln of the median, and the log-normal's sigma (from p99 / p50). */
  readonly mu: number;
  readonly sigma: number;
}

export function latency(p50Ms: number, p99Ms: number): Latency {
  if (!(p50Ms > 0) || !(p99Ms > p50Ms)) throw new RangeError(`latency needs 0 < p50 < p99, got p50 ${p50Ms} ms and p99 ${p99Ms} ms`);
  return { p50Ms, p99Ms, mu: Math.log(p50Ms), sigma: Math.log(p99Ms / p50Ms) / Z99 };
}

/** P(L ≤ t). */
export function cdf(l: Latency, tMs: number): number {
  return tMs <= 0 ? 0 : normalCdf((Math.log(tMs) - l.mu) / l.sigma);
}

/** P(L > t): the share of attempts slower than `tMs`. */
export const slowerThan = (l: Latency, tMs: number) => 1 - cdf(l, tMs);

/** E[L]. */
export const meanMs = (l: Latency) => Math.exp(l.mu + (l.sigma * l.sigma) / 2);

/** ∫ f over [a, b] by Simpson's rule (an even number of steps). */
function integrate(f: (t: number) => number, a: number, b: number, steps = 800): number {
  if (b <= a) return 0;
  const h = (b - a) / steps;
  let sum = f(a) + f(b);
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
  return (sum * h) / 3;
}

/**
 * E[min(max of n attempts, budget)]: how long a batch of `n` parallel attempts keeps its
 * invocation waiting when each attempt is cut at `budgetMs`. E[min(M, B)] = ∫₀ᴮ P(M > t) dt with
 * P(M ≤ t) = F(t)ⁿ. `n` may be fractional (an average batch); n ≤ 0 waits nothing.
 */
export function expectedMaxCappedMs(l: Latency, n: number, budgetMs: number): number {
  if (n <= 0) return 0;
  return integrate((t) => 1 - cdf(l, t) ** n, 0, budgetMs);
}

/**
 * The same for attempts that are all slower than `floorMs` (the slow lane receives the endpoints
 * the fast lane found slower than its budget): L conditioned on L > floor, cut at `budgetMs`.
 */
export function expectedMaxCappedAboveMs(l: Latency, n: number, floorMs: number, budgetMs: number): number {
  if (n <= 0) return 0;
  const tail = slowerThan(l, floorMs);
  if (tail <= 0) return Math.min(floorMs, budgetMs);
  const conditional = (t: number) => Math.max(0, (cdf(l, t) - (1 - tail)) / tail);
  return Math.min(floorMs, budgetMs) + integrate((t) => 1 - conditional(t) ** n, floorMs, budgetMs);
}
