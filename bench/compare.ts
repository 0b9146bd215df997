/**
 * A/B comparison of the delivery handler between this checkout and another one (a scratch copy
 * with a change applied), run interleaved against the same receiver and dynalite so that machine
 * noise hits both alike. Used to measure the changes proposed in docs/performance.md.
 *
 *   npx tsx bench/compare.ts /tmp/scratch [--runs 5] [--fan-outs 1,10] [--batches 200] [--mode handler-stub-dynamo]
 *   npx tsx bench/compare.ts /tmp/scratch --init [--runs 9]     bundle size and module init of the delivery function
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PIPELINE } from '../lambdas/shared/contract';
import { generateSecret } from '../lambdas/shared/domain/signing';
import { BUILD_DIR, buildChildren } from './build';
import { bundle, initOnce } from './coldstart';
import type { DynamoReady } from './dynamo-server';
import { type ChildHandle, forkChild } from './ipc';
import { benchPayload } from './payload';
import type { ReceiverReady } from './receiver';
import { fmt, summarize } from './stats';
import type { RunResult, SubjectMode, SubjectSpec } from './subject';

/** The children a comparison runs (the other tree need not have the rest). */
const COMPARED_CHILDREN = ['receiver', 'subject', 'dynamo-server'] as const;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '5' },
    'fan-outs': { type: 'string', default: '1,10' },
    batches: { type: 'string', default: '200' },
    mode: { type: 'string', default: 'handler' },
    init: { type: 'boolean', default: false },
  },
});

/** Delivery bundle (as CDK builds it) of both trees: size, and require() time in fresh processes, interleaved. */
async function compareInit(trees: Record<'A' | 'B', string>, runs: number): Promise<void> {
  const files = {
    A: (await bundle('lambdas/delivery/handler.ts', join(BUILD_DIR, 'compare', 'init-A'), trees.A)).file,
    B: (await bundle('lambdas/delivery/handler.ts', join(BUILD_DIR, 'compare', 'init-B'), trees.B)).file,
  };
  const times: Record<'A' | 'B', number[]> = { A: [], B: [] };
  await initOnce(files.A, '');
  await initOnce(files.B, '');
  for (let i = 0; i < runs; i++) for (const side of ['A', 'B'] as const) times[side].push((await initOnce(files[side], '')).requireMs);
  for (const side of ['A', 'B'] as const) {
    console.log(`${side}: delivery bundle ${(statSync(files[side]).size / 1024).toFixed(0)} KiB, init ${fmt(summarize(times[side]), 0, ' ms')} (min ${Math.min(...times[side]).toFixed(0)} ms)`);
  }
}

async function main(): Promise<void> {
  const other = positionals[0];
  if (!other) throw new Error('usage: npx tsx bench/compare.ts <other checkout> [--runs 5] [--fan-outs 1,10] [--batches 200]');
  const trees = { A: resolve(__dirname, '..'), B: resolve(other) };
  const runs = Number(values.runs);
  if (values.init) return compareInit(trees, runs);
  const built = {
    A: await buildChildren(trees.A, join(BUILD_DIR, 'compare', 'A'), COMPARED_CHILDREN),
    B: await buildChildren(trees.B, join(BUILD_DIR, 'compare', 'B'), COMPARED_CHILDREN),
  };
  const mode = values.mode as SubjectMode;
  const payload = benchPayload(1536);
  const dynamo = await forkChild<DynamoReady>(built.A['dynamo-server']);
  console.log(`A = ${trees.A}\nB = ${trees.B}\nmode ${mode}, ${runs} interleaved runs, CPU-s per 1k deliveries of the measured process (median ± half range)`);
  try {
    for (const fanOut of values['fan-outs'].split(',').map(Number)) {
      const receiver = await forkChild<ReceiverReady>(built.A.receiver, { env: { ...process.env, BENCH_RECEIVER_MODE: 'plain', BENCH_RECEIVER_PORTS: String(fanOut) } });
      const urls = receiver.ready.ports.map((p, i) => `http://127.0.0.1:${p}/hook/${i}`);
      const secrets = urls.map(() => generateSecret());
      const subjects: Record<'A' | 'B', ChildHandle> = {} as Record<'A' | 'B', ChildHandle>;
      for (const side of ['A', 'B'] as const) {
        const suffix = randomUUID().slice(0, 8);
        const tables = { webhooks: `cmp-webhooks-${suffix}`, deliveries: `cmp-deliveries-${suffix}`, apiKeys: `cmp-apikeys-${suffix}`, stats: `cmp-stats-${suffix}` };
        await dynamo.request('tables', tables);
        subjects[side] = await forkChild(built[side].subject, {
          env: { ...process.env, POWERTOOLS_SERVICE_NAME: 'webhook-delivery', POWERTOOLS_METRICS_NAMESPACE: 'VisitWebhooks', POWERTOOLS_LOG_LEVEL: 'INFO', AWS_REGION: 'us-east-1' },
          execArgv: ['--enable-source-maps'],
        });
        const spec: SubjectSpec = { mode, urls, secrets, batchSize: PIPELINE.batchSize, payload, dynamo: { endpoint: dynamo.ready.endpoint, webhooksTable: tables.webhooks, deliveriesTable: tables.deliveries } };
        await subjects[side].request('setup', spec);
      }
      const batches = Math.max(1, Math.round(Number(values.batches) / fanOut));
      const results: Record<'A' | 'B', { cpu: number[]; rate: number[]; logBytes: number[] }> = { A: { cpu: [], rate: [], logBytes: [] }, B: { cpu: [], rate: [], logBytes: [] } };
      for (let run = 0; run < runs; run++) {
        for (const side of (run % 2 === 0 ? ['A', 'B'] : ['B', 'A']) as Array<'A' | 'B'>) {
          const child = subjects[side];
          const bytes0 = child.stdoutBytes();
          const r = await child.request<RunResult>('run', { batches, warmupBatches: run < 2 ? Math.ceil(30 / fanOut) : 1 });
          await new Promise((res) => setTimeout(res, 50));
          results[side].cpu.push(((r.cpuMicros / r.deliveries) * 1000) / 1e6);
          results[side].rate.push((r.deliveries / r.wallMs) * 1000);
          results[side].logBytes.push((child.stdoutBytes() - bytes0) / r.deliveries);
          if (r.failures + r.retriesScheduled > 0) throw new Error(`${side}: ${r.failures} failures, ${r.retriesScheduled} retries`);
        }
      }
      for (const side of ['A', 'B'] as const) await subjects[side].close();
      await receiver.close();
      const a = summarize(results.A.cpu);
      const b = summarize(results.B.cpu);
      console.log(
        `fan-out ${fanOut}: CPU-s/1k A ${fmt(a, 3)}  B ${fmt(b, 3)}  (B/A ${(b.median / a.median).toFixed(2)});  ` +
          `deliveries/s A ${fmt(summarize(results.A.rate))}  B ${fmt(summarize(results.B.rate))};  log B/delivery A ${summarize(results.A.logBytes).median.toFixed(0)}  B ${summarize(results.B.logBytes).median.toFixed(0)}`,
      );
    }
  } finally {
    await dynamo.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
