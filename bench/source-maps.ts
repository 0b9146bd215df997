/**
 * What `NODE_OPTIONS=--enable-source-maps` (lib/function-defaults.ts) costs a deployed function:
 *
 *   npx tsx bench/source-maps.ts [--pairs 25] [--only delivery,api] [--sources-content true]
 *
 * Each Lambda bundle is built with the options of lib/function-defaults.ts (minify, source map,
 * node22, cjs, the externals of lib/bundling.ts, the map without the sources' text; `--sources-content
 * true` puts it back, as the stack did before). Then, in fresh `node` processes, with and without
 * the flag, alternating (so the machine's load falls on both sides alike):
 * - init: `require()` of the bundle, timed inside the child;
 * - first stack: the first `error.stack` of an error thrown from the bundle's code (the handler
 *   called with an event it refuses), which is when Node reads and parses the source map;
 * - next stack: a second error's stack in the same process (the map already parsed).
 * Prints the median of each, and the median of the per-pair differences, ±half their range; wall
 * time and CPU time (user + system of the child), the latter being what a busy machine distorts least.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_DIR, ROOT } from './build';
import { build } from 'esbuild';
import { BUNDLE_EXTERNALS } from '../lib/bundling';
import { LAMBDA_ENTRIES } from './coldstart';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const pairs = Number(option('pairs') ?? 25);
const only = option('only')?.split(',');
/** The map without the sources' text (esbuild `sourcesContent: false`), as lib/function-defaults.ts builds it; `--sources-content true` for the map with it. */
const sourcesContent = option('sources-content') === 'true';
if (!Number.isInteger(pairs) || pairs < 3) throw new Error('--pairs must be an integer ≥ 3');

interface Sample {
  readonly initMs: number;
  /** CPU time (user + system) of the require: much less sensitive than wall time to a busy machine. */
  readonly initCpuMs: number;
  readonly firstStackMs: number;
  readonly firstStackCpuMs: number;
  readonly nextStackMs: number;
  readonly mapped: boolean;
}

/** Placeholder environment: the handlers build their runtime at require time and read it. */
const ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  WEBHOOKS_TABLE_NAME: 'webhooks',
  DELIVERIES_TABLE_NAME: 'deliveries',
  API_KEYS_TABLE_NAME: 'api-keys',
  EVENTS_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/events-dlq',
  RETRY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/retry',
  FAILED_DELIVERIES_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/failed',
  WEBHOOKS_SECRETS_KMS_KEY_ID: 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000',
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'VisitWebhooks',
  POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

/**
 * The child: requires the bundle, then calls its handler with `null` (every handler refuses it
 * before any I/O) twice, timing the first and the second `.stack` of what it throws. `mapped` says
 * whether the stack names a source file (`lambdas/…`), i.e. whether the map was applied.
 */
const CHILD = `
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const c0 = cpu(); const t0 = performance.now();
const mod = require(process.argv[1]);
const t1 = performance.now(); const c1 = cpu();
const ctx = { functionName: 'bench', awsRequestId: 'r', getRemainingTimeInMillis: () => 30000 };
async function fail() {
  try { await mod.handler(null, ctx); } catch (e) { return e; }
  return new Error('handler accepted null');
}
(async () => {
  const e1 = await fail();
  const k0 = cpu(); const s0 = performance.now(); const stack1 = String(e1 && e1.stack); const s1 = performance.now(); const k1 = cpu();
  const e2 = await fail();
  const s2 = performance.now(); String(e2 && e2.stack); const s3 = performance.now();
  process.stdout.write(JSON.stringify({ initMs: t1 - t0, initCpuMs: c1 - c0, firstStackMs: s1 - s0, firstStackCpuMs: k1 - k0, nextStackMs: s3 - s2, mapped: /lambdas\\//.test(stack1) }));
})();`;

function once(file: string, sourceMaps: boolean): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, file], {
      env: { ...ENV, ...(sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Sample);
      } catch {
        reject(new Error(`child exited ${code}: ${out.slice(-300)} ${err.slice(-500)}`));
      }
    });
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const spread = (xs: readonly number[]): number => (Math.max(...xs) - Math.min(...xs)) / 2;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  console.log(`source maps: ${pairs} alternating pairs of fresh processes per function; sourcesContent ${sourcesContent}; Node ${process.version}`);
  console.log('function                 init wall (maps / none / Δ of pairs)     init CPU (maps / none / Δ of pairs)      first error.stack wall, CPU (maps / none)   next error.stack (maps / none)');
  for (const { name, entry } of LAMBDA_ENTRIES) {
    if ((only && !only.includes(name)) || !existsSync(join(ROOT, entry))) continue;
    const outdir = join(BUILD_DIR, 'source-maps', name);
    const file = join(outdir, 'index.js');
    await build({
      entryPoints: [join(ROOT, entry)],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      sourcemap: true,
      sourcesContent,
      external: [...BUNDLE_EXTERNALS],
      logLevel: 'silent',
    });
    const mapKiB = Math.round(statSync(`${file}.map`).size / 1024);
    const withMaps: Sample[] = [];
    const without: Sample[] = [];
    await once(file, true); // warm the file cache
    for (let i = 0; i < pairs; i++) {
      // Alternate which side goes first, so a drift in load does not favour one.
      if (i % 2 === 0) {
        withMaps.push(await once(file, true));
        without.push(await once(file, false));
      } else {
        without.push(await once(file, false));
        withMaps.push(await once(file, true));
      }
    }
    if (!withMaps.every((s) => s.mapped) || without.some((s) => s.mapped)) throw new Error(`${name}: the stacks do not show the source map working as expected`);
    const pick = (xs: Sample[], k: keyof Omit<Sample, 'mapped'>) => xs.map((s) => s[k]);
    const delta = (k: keyof Omit<Sample, 'mapped'>) => withMaps.map((s, i) => s[k] - (without[i] as Sample)[k]);
    const triple = (k: keyof Omit<Sample, 'mapped'>) => `${ms(median(pick(withMaps, k)))} / ${ms(median(pick(without, k)))} / Δ ${ms(median(delta(k)))} ±${ms(spread(delta(k)))}`;
    console.log(
      `${`${name} (map ${mapKiB} KiB)`.padEnd(24)} ${triple('initMs').padEnd(40)} ${triple('initCpuMs').padEnd(40)} ` +
        `${ms(median(pick(withMaps, 'firstStackMs')))}, ${ms(median(pick(withMaps, 'firstStackCpuMs')))} / ${ms(median(pick(without, 'firstStackMs')))}, ${ms(median(pick(without, 'firstStackCpuMs')))}`.padEnd(44) +
        `${ms(median(pick(withMaps, 'nextStackMs')))} / ${ms(median(pick(without, 'nextStackMs')))}`,
    );
  }
  const load = (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' / ');
  console.log(`load average at the end ${load}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
