/**
 * `npx tsx bench/filter.ts`: what a payload filter costs on the delivery path. Prints, per
 * pattern, the time to compile it (once per webhook version and container) and to match one
 * visit (once per event and filtered webhook), as medians of 5 runs with their range. The last
 * rows are adversarial: patterns at the limits (10 wildcards, 100 values) built to make every
 * operand scan, against a visit whose strings fill EventBridge's 256 KB entry.
 *
 *   npx tsx bench/filter.ts            full run
 *   npx tsx bench/filter.ts --quick    fewer iterations (smoke)
 */
import { compileFilter, FILTER_LIMITS } from '../lambdas/shared/domain/event-filter';
import { SAMPLE_VISIT } from '../lambdas/shared/sample-payloads';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const RUNS = 5;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Nanoseconds per call of `fn`, median of RUNS runs of `n` calls, with the range. */
function measure(n: number, fn: () => unknown): { median: number; min: number; max: number } {
  let sink = 0;
  for (let i = 0; i < Math.min(n, 1000); i++) if (fn()) sink++; // warm-up
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (fn()) sink++;
    runs.push(Number(process.hrtime.bigint() - start) / n);
  }
  if (sink < 0) console.log(sink); // keeps the calls observable
  return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
}

const longString = (bytes: number, seed: string) => seed.repeat(Math.ceil(bytes / seed.length)).slice(0, bytes);
/**
 * A visit whose string fields fill ~250 KB: the largest payload the bus can carry. Parsed from
 * JSON like every event the delivery function receives (flat strings, not concatenations).
 */
const BIG_VISIT: unknown = JSON.parse(JSON.stringify({
  ...SAMPLE_VISIT,
  url: `https://example.com/${longString(60_000, 'ab')}`,
  /** Long runs of one letter: the worst case for finding a literal that almost matches everywhere. */
  referrer: `${'a'.repeat(60_000)}Z`,
  params: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, longString(600, 'xy')])),
  tags: Array.from({ length: 2_000 }, (_, i) => `tag-${i}`),
}));

/** `*aaa…ab*Z`: each wildcard scans the whole 60 KB referrer for a literal that never occurs. */
const nearMiss = (i: number) => `*${'a'.repeat(40 + i)}b*Z`;

const PATTERNS: ReadonlyArray<readonly [string, unknown, unknown]> = [
  ['issue: params.utm_source newsletter', { params: { utm_source: ['newsletter'] } }, SAMPLE_VISIT],
  ['issue: country anything-but United States', { location: { country: [{ 'anything-but': ['United States'] }] } }, SAMPLE_VISIT],
  [
    'mixed: $or, prefix, wildcard, cidr, equals-ignore-case',
    {
      $or: [{ params: { utm_source: ['newsletter', 'ads'] } }, { trafficSource: { channel: [{ prefix: 'Organic' }] } }],
      url: [{ wildcard: 'https://*/entry-*' }],
      ip: [{ cidr: '192.168.0.0/16' }],
      browser: { name: [{ 'equals-ignore-case': 'safari' }] },
    },
    SAMPLE_VISIT,
  ],
  ['limit: 100 exact values on one field (no match)', { location: { country: Array.from({ length: FILTER_LIMITS.maxValues }, (_, i) => `Country ${i}`) } }, SAMPLE_VISIT],
  [
    'realistic worst: 10 near-miss wildcards vs a 2 KB string',
    { referrer: Array.from({ length: FILTER_LIMITS.maxWildcards }, (_, i) => ({ wildcard: nearMiss(i) })) },
    JSON.parse(JSON.stringify({ ...SAMPLE_VISIT, referrer: `${'a'.repeat(2_047)}Z` })),
  ],
  [
    'adversarial: 10 near-miss wildcards vs a 60 KB string',
    { referrer: Array.from({ length: FILTER_LIMITS.maxWildcards }, (_, i) => ({ wildcard: nearMiss(i) })) },
    BIG_VISIT,
  ],
  ['adversarial: 100 equals-ignore-case values vs a 60 KB string', { referrer: Array.from({ length: FILTER_LIMITS.maxValues }, (_, i) => ({ 'equals-ignore-case': `A${i}` })) }, BIG_VISIT],
  ['adversarial: 10 anything-but wildcards vs 2,000 array elements', { tags: [{ 'anything-but': { wildcard: Array.from({ length: FILTER_LIMITS.maxWildcards }, (_, i) => `tag-*${i}*x`) } }] }, BIG_VISIT],
];

console.log(`payload filter cost (${quick ? 'quick' : 'full'} run, median of ${RUNS} runs [min-max])\n`);
console.log(['pattern', 'bytes', 'compile µs', 'match µs', 'matches'].join(' | '));
for (const [name, pattern, payload] of PATTERNS) {
  const bytes = Buffer.byteLength(JSON.stringify(pattern));
  const compiled = compileFilter(pattern);
  if (!compiled.ok) throw new Error(`${name}: ${compiled.issue.message}`);
  const compile = measure(quick ? 200 : 5_000, () => compileFilter(pattern).ok);
  const heavy = name.startsWith('adversarial') || name.startsWith('realistic');
  const match = measure(quick ? (heavy ? 5 : 2_000) : heavy ? 50 : 200_000, () => compiled.matches(payload));
  const us = (m: { median: number; min: number; max: number }) => `${(m.median / 1000).toFixed(2)} [${(m.min / 1000).toFixed(2)}-${(m.max / 1000).toFixed(2)}]`;
  console.log([name, String(bytes), us(compile), us(match), String(compiled.matches(payload))].join(' | '));
}
