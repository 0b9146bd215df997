/**
 * `npm run bench`: delivery throughput against the raw-undici limit, latency through the local
 * runtime, cold start (bundle size and module init) and memory. Prints a table and writes
 * bench/results.json. Every figure is a median over several runs, with its spread.
 *
 *   npm run bench                      full run (several minutes)
 *   npm run bench -- --quick           smoke run (< 60 s; also BENCH_QUICK=1), numbers printed, not asserted
 *   npm run bench -- --only throughput,coldstart
 *   npm run bench -- --only isolation  do broken customer endpoints slow the others down? (not in the default sections:
 *                                      ~2 min, < 40 s quick; --isolation-rate 20 --isolation-neighbour-rate 5
 *                                      --isolation-seconds 30 (quick 8) --isolation-grace 10 (quick 4) --isolation-accounts 8)
 *   npm run bench -- --profile         CPU profiles of the handler (bench/*.cpuprofile) with a summary
 *   npm run bench -- --profile --profile-mode handler-stub-dynamo   the same, DynamoDB answered in memory
 *   npm run bench -- --runs 7 --rate 50 --payload-bytes 1536
 *   npm run bench -- --only throughput --visits-per-record 40   batch entries: 40 visits per queue record
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PIPELINE } from '../lambdas/shared/contract';
import { generateSecret } from '../lambdas/shared/domain/signing';
import { BUILD_DIR, buildChildren, ROOT } from './build';
import { type BundleFigures, runColdStart } from './coldstart';
import type { DynamoReady } from './dynamo-server';
import { forkChild } from './ipc';
import { figure as isoFigure, type Figure, type IsolationFigures, type LatencyGroup, NEIGHBOUR_KINDS, NEIGHBOUR_LABELS, runIsolation, type ScenarioResult, times } from './isolation';
import { type LatencyFigures, runLatency } from './latency';
import { benchPayload } from './payload';
import { printProfile, type ProfileSummary, summarizeProfile } from './profile';
import type { ReceiverReady } from './receiver';
import { fmt } from './stats';
import type { RunResult, SubjectMode, SubjectSpec } from './subject';
import { runThroughput, type ThroughputCase } from './throughput';

// As in local/main.ts: the README states the Node versions we support; the SDK's notice is noise in the tables.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TARGETS = { ratio: 0.85, p99Ms: 50, deliveryBundleKiB: 250, initMs: 100 } as const;
const SECTIONS = ['throughput', 'latency', 'coldstart', 'isolation'] as const;
type Section = (typeof SECTIONS)[number];
/** What runs without --only: the isolation section takes minutes of wall time and is asked for by name. */
const DEFAULT_SECTIONS: readonly Section[] = ['throughput', 'latency', 'coldstart'];

const USAGE = `npm run bench -- [options]

  (none)                          throughput, latency and cold start (several minutes); writes bench/results.json
  --quick                         smoke run (< 60 s; also BENCH_QUICK=1): numbers printed, not asserted
  --only S[,S]                    sections: ${SECTIONS.join(', ')} (isolation only when named)
  --runs N                        runs per figure, ≥ 2 (default 5, quick 2)
  --rate N                        events per second of the latency run
  --payload-bytes N               visit payload size (default 1536)
  --visits-per-record N           batch entries: visits per queue record, 1-100 (default 1)
  --profile [--profile-mode M]    CPU profiles of the handler (handler, handler-stub-dynamo)
  --out FILE                      results file (default bench/results.json)
  --isolation-rate N --isolation-neighbour-rate N --isolation-seconds N --isolation-grace N
  --isolation-accounts N --isolation-rate-limit N --isolation-rate-limit-offered N
  -h, --help                      this text`;

function parseArguments() {
  try {
    return parseArgs({ options: ARG_OPTIONS });
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exit(2);
  }
}

const ARG_OPTIONS = {
    help: { type: 'boolean', short: 'h', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    runs: { type: 'string' },
    rate: { type: 'string' },
    'payload-bytes': { type: 'string', default: '1536' },
    'visits-per-record': { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    'profile-mode': { type: 'string', default: 'handler' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results.json') },
    'isolation-rate': { type: 'string', default: '20' },
    'isolation-neighbour-rate': { type: 'string', default: '5' },
    'isolation-seconds': { type: 'string' },
    'isolation-grace': { type: 'string' },
    'isolation-accounts': { type: 'string', default: '8' },
    'isolation-rate-limit': { type: 'string', default: '5' },
    'isolation-rate-limit-offered': { type: 'string', default: '10' },
} as const;

const { values: args } = parseArguments();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const quick = args.quick || /^(1|true|yes)$/i.test(process.env.BENCH_QUICK ?? '');
const runs = args.runs !== undefined ? Number(args.runs) : quick ? 2 : 5;
if (!Number.isInteger(runs) || runs < 2) throw new Error('--runs must be an integer ≥ 2: no figure comes from a single run');
const sections = new Set<Section>((args.only ?? DEFAULT_SECTIONS.join(',')).split(',').map((s) => s.trim()) as Section[]);
for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`);
const payloadBytes = Number(args['payload-bytes']);
const visitsPerRecord = Number(args['visits-per-record']);
if (!Number.isInteger(visitsPerRecord) || visitsPerRecord < 1 || visitsPerRecord > 100) throw new Error('--visits-per-record is an integer from 1 to 100');
const payload = benchPayload(payloadBytes);
const print = (line = '') => console.log(line);

function machine() {
  const cpu = cpus();
  return {
    node: process.version,
    platform: `${platform()} ${release()} ${process.arch}`,
    cpu: `${cpu[0]?.model ?? 'unknown'} × ${cpu.length}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    host: hostname(),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const pad = (s: string, n: number) => s.padEnd(n);
const padL = (s: string, n: number) => s.padStart(n);
const verdict = (ok: boolean) => (ok ? 'meets target' : 'MISSES target');

function printThroughput(cases: ThroughputCase[]): void {
  print(`Delivery throughput: real handler, batches of ${PIPELINE.batchSize}, attempt log on dynalite (own process), receiver in its own process`);
  if (visitsPerRecord > 1) print(`batch entries: ${visitsPerRecord} visits per queue record (${PIPELINE.batchSize} records a batch)`);
  print(`${pad('fan-out', 8)}${pad('receiver', 9)}${pad('mode', 28)}${padL('deliveries/s', 16)}${padL('CPU-s/1k', 15)}${padL('peak RSS MiB', 16)}${padL('log B/dlv', 11)}${padL('recv CPU-s/1k', 15)}`);
  const label = { handler: 'handler', limit: 'limit: raw undici + HMAC', 'handler-stub-dynamo': 'handler, DynamoDB stubbed*' } as const;
  for (const c of cases) {
    for (const m of c.modes) {
      print(
        `${pad(String(c.fanOut), 8)}${pad(c.receiver, 9)}${pad(label[m.mode], 28)}${padL(fmt(m.deliveriesPerSecond), 16)}${padL(fmt(m.cpuSecondsPer1000, 3), 15)}` +
          `${padL(fmt(m.peakRssMiB), 16)}${padL(m.logBytesPerDelivery.median.toFixed(0), 11)}${padL(fmt(m.receiverCpuSecondsPer1000, 3), 15)}`,
      );
    }
  }
  print('  * diagnostic: the same handler with DynamoDB answered in memory (what the attempt-log round trip costs)');
  print(`Ratio to the limit (deliveries/s, paired runs; target ≥ ${TARGETS.ratio}):`);
  for (const c of cases) {
    print(
      `  fan-out ${c.fanOut}, ${pad(c.receiver, 7)} throughput ${fmt(c.ratio, 2)}  (CPU per delivery: limit/handler ${fmt(c.cpuRatio, 2)})  ` +
        `${c.receiver === 'plain' ? verdict(c.ratio.median >= TARGETS.ratio) : '(verifying receiver, reported separately)'}`,
    );
  }
  const handler = cases.flatMap((c) => c.modes.filter((m) => m.mode === 'handler'));
  const dyn = handler.map((m) => m.dynamoCpuSecondsPer1000?.median ?? 0);
  print(`  dynalite spent ${Math.min(...dyn).toFixed(2)}–${Math.max(...dyn).toFixed(2)} CPU-s per 1k deliveries on the same cores (AWS does that work in production)`);
}

function printLatency(l: LatencyFigures): void {
  print(`Latency through the local runtime: PutEvents → receiver, ${l.eventsPerRun} events per run at ${l.rate}/s (consumer batching window ${l.batchingWindowMs} ms)`);
  print(`  p50 ${fmt(l.p50, 1, ' ms')}   p95 ${fmt(l.p95, 1, ' ms')}   p99 ${fmt(l.p99, 1, ' ms')}   max ${fmt(l.max, 1, ' ms')}   ${verdict(l.p99.median <= TARGETS.p99Ms)} (p99 ≤ ${TARGETS.p99Ms} ms)`);
}

function printColdStart(bundles: BundleFigures[]): void {
  print('Cold start: bundles as CDK builds them (minify, node22, cjs; externals: @aws-sdk/* and two lazily required undici files, lib/bundling.ts); init = require() in a fresh node process');
  print('  (@aws-sdk/* resolved from node_modules here, as the Lambda runtime provides it)');
  print(`${pad('  function', 14)}${padL('bundle KiB', 12)}${padL('map KiB', 10)}${padL('init ms (as deployed)', 24)}${padL('init ms (no src maps)', 24)}${padL('process ms', 14)}  largest contents`);
  for (const b of bundles) {
    if (b.bytes === undefined) {
      print(`  ${pad(b.name, 12)}${b.error ?? ''}`);
      continue;
    }
    const contents = (b.contents ?? [])
      .slice(0, 3)
      .map((c) => `${c.name} ${(c.bytes / 1024).toFixed(0)}K`)
      .join(', ');
    print(
      `  ${pad(b.name, 12)}${padL((b.bytes / 1024).toFixed(0), 12)}${padL(((b.sourceMapBytes ?? 0) / 1024).toFixed(0), 10)}` +
        `${padL(b.initMs ? fmt(b.initMs) : (b.error ?? '-'), 24)}${padL(b.initMsNoSourceMaps ? fmt(b.initMsNoSourceMaps) : '-', 24)}${padL(b.processMs ? fmt(b.processMs) : '-', 14)}  ${contents}`,
    );
  }
  const delivery = bundles.find((b) => b.name === 'delivery');
  if (delivery?.bytes !== undefined) {
    print(`  delivery bundle ${(delivery.bytes / 1024).toFixed(0)} KiB: ${verdict(delivery.bytes / 1024 <= TARGETS.deliveryBundleKiB)} (≤ ${TARGETS.deliveryBundleKiB} KB)`);
  }
  print('  where init goes (as deployed): the AWS SDK clients loaded at init, required first as the runtime provides them, then the rest of the bundle');
  for (const b of bundles) {
    if (!b.initSplit) continue;
    const sdk = b.initSplit.sdkModules.map((m) => m.replace('@aws-sdk/', '')).join(' + ') || 'none';
    print(`    ${pad(b.name, 11)} SDK (${sdk}) ${fmt(b.initSplit.sdkMs, 0, ' ms')}   the rest ${fmt(b.initSplit.restMs, 0, ' ms')}`);
  }
  if (delivery?.initMs) print(`  delivery init ${delivery.initMs.median.toFixed(0)} ms: ${verdict(delivery.initMs.median <= TARGETS.initMs)} (≤ ${TARGETS.initMs} ms)`);
}

function printIsolation(f: IsolationFigures): void {
  const [alone, neighbours, same] = f.scenarios as [ScenarioResult, ScenarioResult, ScenarioResult];
  print(
    `Isolation: healthy customers' PutEvents → receipt latency on the local runtime (own process; publisher and receivers in this one), one run per scenario`,
  );
  print(
    `  ${f.healthyAccounts} healthy accounts × 1 webhook (200 at once), ${f.rate} events/s for ${f.durationSeconds} s; neighbours ${f.neighbourRate} events/s over ` +
      `${NEIGHBOUR_KINDS.map((k) => NEIGHBOUR_LABELS[k]).join(', ')}; same-account: the first healthy account + ${f.sameAccountHooks} webhooks to a hanging endpoint`,
  );
  print(`  delivery timeout ${f.deliveryTimeoutMs / 1000} s; lost for now = not arrived ${f.graceSeconds} s after the last publish; ≥: a bound, missing events rank at or below it`);
  print(`${pad('  scenario / healthy events', 44)}${padL('events', 8)}${padL('lost', 6)}${padL('p50', 11)}${padL('p95', 11)}${padL('p99', 11)}${padL('max', 11)}${padL('p50/alone', 11)}${padL('p99/alone', 11)}`);
  const row = (label: string, g: LatencyGroup, r?: { p50: Figure; p99: Figure }) =>
    print(
      `${pad(`  ${label}`, 44)}${padL(String(g.published), 8)}${padL(String(g.lostForNow), 6)}${padL(isoFigure(g.p50), 11)}${padL(isoFigure(g.p95), 11)}` +
        `${padL(isoFigure(g.p99), 11)}${padL(isoFigure(g.max), 11)}${padL(r ? times(r.p50) : '', 11)}${padL(r ? times(r.p99) : '', 11)}`,
    );
  row('alone: all healthy', alone.healthy);
  row('with neighbours: all healthy', neighbours.healthy, f.ratios.neighbours);
  row('same-account: the other accounts', same.otherAccounts, f.ratios.sameAccountOthers);
  row('same-account: its own healthy webhook', same.firstAccount, f.ratios.sameAccountOwn);
  for (const r of f.scenarios) {
    const reqs = Object.entries(r.neighbourRequests)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    print(
      `  ${pad(r.name, 13)} events queue at the last publish ${r.queuesAtLastPublish.events} (${r.queuesAtLastPublish.eventsVisible} waiting), retry queue ${r.queuesAtLastPublish.retry}; ` +
        `PutEvents p99 ${r.putEventsP99Ms.toFixed(1)} ms; ${r.publishErrors} publish errors` +
        `${r.neighbourEventsPublished ? `; ${r.neighbourEventsPublished} neighbour events` : ''}${reqs ? `; broken endpoints got ${reqs} (hang: connections)` : ''}`,
    );
  }
  const rl = f.rateLimited;
  print(
    `  a webhook limited to ${rl.limit}/s, offered ${rl.offered}/s: ${rl.achievedWhilePublishing.toFixed(1)}/s while publishing, at most ${rl.maxInOneSecond} in one second; ` +
      `${rl.delivered}/${rl.published} delivered (${rl.published - rl.delivered} missing) after ${rl.drainedAfterSeconds.toFixed(1)} s`,
  );
}

function printMemory(cases: ThroughputCase[]): void {
  const handler = cases.flatMap((c) => c.modes.filter((m) => m.mode === 'handler').map((m) => ({ c, m })));
  print('Memory: peak RSS of the delivery handler process during the throughput runs');
  for (const { c, m } of handler) print(`  fan-out ${c.fanOut}, ${pad(c.receiver, 7)} ${fmt(m.peakRssMiB, 0, ' MiB')} (max ${m.peakRssMiB.max.toFixed(0)} MiB; the function has 512 MB)`);
}

async function profile(children: Awaited<ReturnType<typeof buildChildren>>): Promise<Record<string, ProfileSummary>> {
  const profileMode = args['profile-mode'] as SubjectMode;
  if (profileMode !== 'handler' && profileMode !== 'handler-stub-dynamo') throw new Error('--profile-mode is handler or handler-stub-dynamo');
  const dynamo = await forkChild<DynamoReady>(children['dynamo-server']);
  const out: Record<string, ProfileSummary> = {};
  try {
    for (const fanOut of [1, 10]) {
      const receiver = await forkChild<ReceiverReady>(children.receiver, { env: { ...process.env, BENCH_RECEIVER_MODE: 'plain', BENCH_RECEIVER_PORTS: String(fanOut) } });
      const tables = { webhooks: `prof-webhooks-${fanOut}`, deliveries: `prof-deliveries-${fanOut}`, apiKeys: `prof-apikeys-${fanOut}`, stats: `prof-stats-${fanOut}` };
      await dynamo.request('tables', tables);
      const dir = join(BUILD_DIR, 'profiles');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const subject = await forkChild(children.subject, {
        env: { ...process.env, POWERTOOLS_SERVICE_NAME: 'webhook-delivery', POWERTOOLS_METRICS_NAMESPACE: 'VisitWebhooks', POWERTOOLS_LOG_LEVEL: 'INFO', AWS_REGION: 'us-east-1' },
        execArgv: ['--enable-source-maps', '--cpu-prof', `--cpu-prof-dir=${dir}`],
      });
      const spec: SubjectSpec = {
        mode: profileMode,
        urls: receiver.ready.ports.map((p, i) => `http://127.0.0.1:${p}/hook/${i}`),
        secrets: receiver.ready.ports.map(() => generateSecret()),
        batchSize: PIPELINE.batchSize,
        payload,
        dynamo: { endpoint: dynamo.ready.endpoint, webhooksTable: tables.webhooks, deliveriesTable: tables.deliveries },
      };
      await subject.request('setup', spec);
      const result = await subject.request<RunResult>('run', { batches: (quick ? 100 : 400) / fanOut, warmupBatches: 20 / fanOut + 1 });
      await subject.close();
      await receiver.close();
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error('no profile written');
      const kept = join(ROOT, 'bench', `profile-fanout${fanOut}.cpuprofile`);
      copyFileSync(join(dir, file), kept);
      const summary = summarizeProfile(kept, children.subject);
      out[`fanOut${fanOut}`] = summary;
      print();
      print(`(${result.deliveries} deliveries, ${((result.cpuMicros / result.deliveries) * 1000 / 1e6).toFixed(3)} CPU-s/1k under the profiler; profile kept in ${kept.slice(ROOT.length + 1)})`);
      printProfile(`Handler CPU profile (${profileMode}), fan-out ${fanOut}`, summary, print);
    }
  } finally {
    await dynamo.close();
  }
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  const info = machine();
  print(`visit-webhooks bench ${new Date().toISOString()}${quick ? ' (quick: small counts, numbers for a smoke run only)' : ''}`);
  print(`Node ${info.node}, ${info.platform}, ${info.cpu}, ${info.memoryGiB} GiB, load average ${info.loadAverageAtStart.join(' / ')}`);
  print(`payload ${JSON.stringify(payload).length} B, ${runs} runs per figure, median ±half the range`);
  const children = await buildChildren();
  const results: Record<string, unknown> = { date: new Date().toISOString(), quick, runs, payloadBytes: JSON.stringify(payload).length, machine: info, targets: TARGETS };

  if (args.profile) {
    results.profile = await profile(children);
  } else {
    if (sections.has('throughput')) {
      print();
      print('Throughput runs:');
      const dynamo = await forkChild<DynamoReady>(children['dynamo-server']);
      try {
        const cases = await runThroughput(
          {
            scripts: { receiver: children.receiver, subject: children.subject, dynamo: children['dynamo-server'] },
            runs,
            fanOuts: [1, 10],
            // Quick: the verifying receiver is left out (it only moves work to the receiver process).
            receivers: quick ? ['plain'] : ['plain', 'verify'],
            batches: (fanOut) => (quick ? 10 : 150) / fanOut,
            warmupBatches: (fanOut) => Math.ceil((quick ? 5 : 50) / fanOut),
            batchSize: PIPELINE.batchSize,
            payload,
            visitsPerRecord,
            // Batches of visits scale the work per batch: fewer of them measure as long.
            ...(visitsPerRecord > 1 ? { batches: (fanOut: number) => Math.max(2, Math.ceil((quick ? 10 : 150) / fanOut / visitsPerRecord)), warmupBatches: (fanOut: number) => Math.max(1, Math.ceil((quick ? 5 : 50) / fanOut / visitsPerRecord)) } : {}),
            stubDynamo: true,
            log: print,
          },
          dynamo,
        );
        results.throughput = cases.map((c) => ({ ...c, modes: c.modes.map(({ raw: _raw, ...m }) => m) }));
        print();
        printThroughput(cases);
        print();
        printMemory(cases);
      } finally {
        await dynamo.close();
      }
    }
    if (sections.has('latency')) {
      print();
      print('Latency runs:');
      const rate = Number(args.rate ?? 50);
      const latency = await runLatency({
        scripts: { receiver: children.receiver, localStack: children['local-stack-child'] },
        runs: quick ? 2 : Math.min(runs, 3),
        events: quick ? 100 : 2000,
        warmupEvents: quick ? 20 : 200,
        rate,
        payload,
        log: print,
      });
      results.latency = latency;
      print();
      printLatency(latency);
    }
    if (sections.has('isolation')) {
      print();
      print('Isolation runs:');
      const isolation = await runIsolation({
        script: children['isolation-stack-child'],
        healthyAccounts: Number(args['isolation-accounts']),
        rate: Number(args['isolation-rate']),
        neighbourRate: Number(args['isolation-neighbour-rate']),
        durationMs: Number(args['isolation-seconds'] ?? (quick ? 8 : 30)) * 1000,
        graceMs: Number(args['isolation-grace'] ?? (quick ? 4 : 10)) * 1000,
        sameAccountHooks: 5,
        payload,
        log: print,
        rateLimit: Number(args['isolation-rate-limit']),
        rateLimitOffered: Number(args['isolation-rate-limit-offered']),
      });
      results.isolation = isolation;
      print();
      printIsolation(isolation);
    }
    if (sections.has('coldstart')) {
      print();
      print('Cold start runs:');
      const bundles = await runColdStart({ runs: quick ? 2 : 7, log: print });
      results.coldStart = bundles;
      print();
      printColdStart(bundles);
    }
  }
  const end = loadavg().map((l) => Math.round(l * 100) / 100);
  (results.machine as Record<string, unknown>).loadAverageAtEnd = end;
  results.seconds = Math.round((Date.now() - started) / 100) / 10;
  writeFileSync(args.out as string, `${JSON.stringify(results, null, 2)}\n`);
  print();
  print(`load average at the end ${end.join(' / ')}; ${results.seconds} s; results in ${(args.out as string).replace(`${ROOT}/`, '')}`);
}


main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
