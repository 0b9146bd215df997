import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { BUNDLE_EXTERNALS } from '../lib/bundling';
import { BUILD_DIR, ROOT } from './build';
import { type Summary, summarize } from './stats';

/** The Lambda entry points (lib/constructs/*: `entry`), if present in this tree. */
export const LAMBDA_ENTRIES = [
  { name: 'delivery', entry: 'lambdas/delivery/handler.ts' },
  { name: 'retry', entry: 'lambdas/retry/handler.ts' },
  { name: 'api', entry: 'lambdas/api/handler.ts' },
  { name: 'authorizer', entry: 'lambdas/authorizer/handler.ts' },
] as const;

/** Placeholder configuration: what the stack sets (lib/constructs/delivery-pipeline.ts), with fake names. */
const HANDLER_ENV: NodeJS.ProcessEnv = {
  AWS_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  WEBHOOKS_TABLE_NAME: 'webhooks',
  DELIVERIES_TABLE_NAME: 'deliveries',
  API_KEYS_TABLE_NAME: 'api-keys',
  EVENTS_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/events-dlq',
  RETRY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/retry',
  FAILED_DELIVERIES_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/failed',
  WEBHOOKS_ALLOW_HTTP: 'false',
  WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'false',
  WEBHOOKS_RETRY_SCHEDULE: '5,300,1800,7200,18000,36000,36000',
  WEBHOOKS_DELIVERY_RETENTION_DAYS: '30',
  WEBHOOKS_AUTO_DISABLE_AFTER_DAYS: '5',
  WEBHOOKS_EVENT_SOURCE: 'tracking',
  WEBHOOKS_SECRETS_KMS_KEY_ID: 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000',
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'VisitWebhooks',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

export interface BundleFigures {
  readonly name: string;
  readonly entry: string;
  readonly error?: string;
  /** index.js as CDK's NodejsFunction builds it (minified, node22, cjs, the externals of lib/bundling.ts). */
  readonly bytes?: number;
  readonly sourceMapBytes?: number;
  /** Largest contributors to the bundle, by package or project directory. */
  readonly contents?: Array<{ readonly name: string; readonly bytes: number }>;
  /** `require()` of the bundle in a fresh node process, ms, as deployed (NODE_OPTIONS=--enable-source-maps). */
  readonly initMs?: Summary;
  /** The same without --enable-source-maps. */
  readonly initMsNoSourceMaps?: Summary;
  /** Wall time of the whole `node -e require(...)` process, ms (node's own startup included). */
  readonly processMs?: Summary;
  /**
   * Where the init goes, as deployed: the AWS SDK clients the bundle loads at init, required first
   * from where the Lambda runtime would provide them, then the bundle itself (reusing them).
   */
  readonly initSplit?: { readonly sdkModules: readonly string[]; readonly sdkMs: Summary; readonly restMs: Summary };
}

/**
 * The AWS SDK packages a bundle names: esbuild keeps external requires as `require("@aws-sdk/x")`,
 * at top level or (loaded on first use) inside functions; sdkLoadedAtInit keeps the former.
 */
function sdkModulesAtInit(code: string): string[] {
  return [...new Set([...code.matchAll(/require\("(@aws-sdk\/[a-z0-9-]+)"\)/g)].map((m) => m[1] as string))];
}

/**
 * Runs `script` in a fresh `node` process with the stack's environment and returns the JSON it
 * writes to stdout, with the process's wall time (node's own startup included).
 */
function freshNode<T>(script: string, nodeOptions: string, what: string): Promise<{ value: T; processMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['-e', `${script}\nprocess.exit(0);`], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: nodeOptions, ...HANDLER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      const processMs = performance.now() - started;
      if (code !== 0) return reject(new Error(`${what} failed (${code}): ${err.split('\n').find((l) => l.includes('Error')) ?? err.slice(0, 300)}`));
      try {
        resolve({ value: JSON.parse(out) as T, processMs });
      } catch {
        reject(new Error(`${what}: unexpected output: ${out.slice(0, 200)}`));
      }
    });
  });
}

/** One fresh process: require the given SDK packages first (timed), then the bundle (timed). */
async function initSplitOnce(file: string, sdk: readonly string[], nodeOptions: string): Promise<{ sdkMs: number; restMs: number }> {
  const script = [
    `const { createRequire } = require('node:module'); const r = createRequire(${JSON.stringify(file)});`,
    `const t0 = performance.now(); for (const m of ${JSON.stringify(sdk)}) r(m); const t1 = performance.now();`,
    `require(${JSON.stringify(file)}); const t2 = performance.now();`,
    `process.stdout.write(JSON.stringify({ sdkMs: t1 - t0, restMs: t2 - t1 }));`,
  ].join('\n');
  return (await freshNode<{ sdkMs: number; restMs: number }>(script, nodeOptions, 'init split')).value;
}

/** Which of the bundle's `@aws-sdk/*` requires run at init: those in require.cache right after loading it. */
async function sdkLoadedAtInit(file: string, candidates: readonly string[]): Promise<string[]> {
  const script = `require(${JSON.stringify(file)}); const { createRequire } = require('node:module'); const r = createRequire(${JSON.stringify(file)});
process.stdout.write(JSON.stringify(${JSON.stringify(candidates)}.filter((m) => { try { return require.cache[r.resolve(m)] !== undefined; } catch { return false; } })));`;
  return (await freshNode<string[]>(script, '', 'SDK probe')).value;
}

function contributor(input: string): string {
  const nm = input.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = input.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
  }
  return input.split('/').slice(0, 2).join('/');
}

/** Bundles one entry with the options of lib/function-defaults.ts (bundling: minify, sourceMap without sourcesContent, node22, cjs, BUNDLE_EXTERNALS). */
export async function bundle(entry: string, outdir: string, root: string = ROOT, external: readonly string[] = BUNDLE_EXTERNALS): Promise<{ file: string; metafile: Metafile }> {
  const result = await build({
    entryPoints: [join(root, entry)],
    outfile: join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: [...external],
    metafile: true,
    logLevel: 'silent',
  });
  return { file: join(outdir, 'index.js'), metafile: result.metafile };
}

export interface InitSample {
  readonly requireMs: number;
  readonly processMs: number;
}

/** One fresh `node` process that requires the bundle and prints how long the require took. */
export async function initOnce(file: string, nodeOptions: string): Promise<InitSample> {
  const script = `const t0=performance.now();require(${JSON.stringify(file)});const t1=performance.now();process.stdout.write(JSON.stringify({requireMs:t1-t0}));`;
  const { value, processMs } = await freshNode<{ requireMs: number }>(script, nodeOptions, 'require');
  return { requireMs: value.requireMs, processMs };
}

export async function runColdStart(options: { runs: number; log: (line: string) => void }): Promise<BundleFigures[]> {
  const out: BundleFigures[] = [];
  for (const { name, entry } of LAMBDA_ENTRIES) {
    if (!existsSync(join(ROOT, entry))) continue;
    // Under node_modules/.cache so that `@aws-sdk/*` (external, provided by the Lambda runtime)
    // resolves from the project's node_modules when the bundle is required locally.
    const outdir = join(BUILD_DIR, 'lambdas', name);
    let built: { file: string; metafile: Metafile };
    try {
      built = await bundle(entry, outdir);
    } catch (err) {
      out.push({ name, entry, error: `bundle failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
      continue;
    }
    const output = Object.values(built.metafile.outputs).find((o) => o.entryPoint !== undefined);
    const byContributor = new Map<string, number>();
    for (const [input, info] of Object.entries(output?.inputs ?? {})) {
      const key = contributor(input);
      byContributor.set(key, (byContributor.get(key) ?? 0) + info.bytesInOutput);
    }
    const contents = [...byContributor.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, bytes]) => ({ name: n, bytes }));
    const figures: BundleFigures = {
      name,
      entry,
      bytes: statSync(built.file).size,
      sourceMapBytes: statSync(`${built.file}.map`).size,
      contents,
    };
    try {
      // Interleave the two variants so drift affects both alike.
      const asDeployed: InitSample[] = [];
      const bare: InitSample[] = [];
      await initOnce(built.file, ''); // first run warms the page cache
      for (let i = 0; i < options.runs; i++) {
        asDeployed.push(await initOnce(built.file, '--enable-source-maps'));
        bare.push(await initOnce(built.file, ''));
      }
      const sdkModules = await sdkLoadedAtInit(built.file, sdkModulesAtInit(readFileSync(built.file, 'utf8')));
      const split: Array<{ sdkMs: number; restMs: number }> = [];
      for (let i = 0; i < options.runs; i++) split.push(await initSplitOnce(built.file, sdkModules, '--enable-source-maps'));
      out.push({
        ...figures,
        initMs: summarize(asDeployed.map((s) => s.requireMs)),
        initMsNoSourceMaps: summarize(bare.map((s) => s.requireMs)),
        processMs: summarize(asDeployed.map((s) => s.processMs)),
        initSplit: { sdkModules, sdkMs: summarize(split.map((x) => x.sdkMs)), restMs: summarize(split.map((x) => x.restMs)) },
      });
    } catch (err) {
      out.push({ ...figures, error: err instanceof Error ? err.message : String(err) });
    }
    const last = out[out.length - 1] as BundleFigures;
    options.log(
      `  ${name.padEnd(10)} ${last.bytes !== undefined ? `${(last.bytes / 1024).toFixed(0)} KiB` : ''} ` +
        `${last.initMs ? `init ${last.initMs.median.toFixed(0)} ms (no source maps ${last.initMsNoSourceMaps?.median.toFixed(0)} ms)` : (last.error ?? '')}`,
    );
  }
  return out;
}
