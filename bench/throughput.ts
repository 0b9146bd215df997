import { randomUUID } from 'node:crypto';
import { generateSecret } from '../lambdas/shared/domain/signing';
import type { DynamoReady } from './dynamo-server';
import { type ChildHandle, forkChild } from './ipc';
import type { ReceiverMode, ReceiverReady, ReceiverStats } from './receiver';
import { type Summary, summarize } from './stats';
import type { RunResult, SubjectMode, SubjectSpec } from './subject';

export interface ThroughputOptions {
  readonly scripts: { readonly receiver: string; readonly subject: string; readonly dynamo: string };
  readonly runs: number;
  readonly fanOuts: readonly number[];
  readonly receivers: readonly Exclude<ReceiverMode, 'latency'>[];
  /** Measured batches per run, by fan-out. */
  readonly batches: (fanOut: number) => number;
  readonly warmupBatches: (fanOut: number) => number;
  readonly batchSize: number;
  readonly payload: Record<string, unknown>;
  /** Visits per queue record (batch entries); 1: single events. @default 1 */
  readonly visitsPerRecord?: number;
  /** Also run the handler with DynamoDB answered in memory (diagnostic), with the plain receiver. */
  readonly stubDynamo: boolean;
  readonly log: (line: string) => void;
}

export interface ModeFigures {
  readonly mode: SubjectMode;
  readonly deliveriesPerSecond: Summary;
  /** CPU-seconds of the measured process per 1,000 deliveries. */
  readonly cpuSecondsPer1000: Summary;
  /** Peak RSS of the measured process (getrusage), MiB. */
  readonly peakRssMiB: Summary;
  /** Log bytes the process wrote to stdout per delivery (Powertools logs and EMF metrics). */
  readonly logBytesPerDelivery: Summary;
  readonly logLinesPerDelivery: Summary;
  /** Receiver CPU-seconds per 1,000 deliveries (excluded from the figures above). */
  readonly receiverCpuSecondsPer1000: Summary;
  /** dynalite CPU-seconds per 1,000 deliveries (excluded; AWS does this work). */
  readonly dynamoCpuSecondsPer1000?: Summary;
  readonly failures: number;
  /** New TCP connections the receiver accepted per 1,000 deliveries (keep-alive check). */
  readonly connectionsPer1000: Summary;
  readonly raw: RunResult[];
}

export interface ThroughputCase {
  readonly fanOut: number;
  readonly receiver: Exclude<ReceiverMode, 'latency'>;
  readonly deliveriesPerRun: number;
  readonly modes: ModeFigures[];
  /** Handler deliveries/s over the limit's, paired run by run. */
  readonly ratio: Summary;
  /** Limit CPU per delivery over the handler's, paired run by run (1 = as cheap as the limit). */
  readonly cpuRatio: Summary;
}

const HANDLER_ENV = {
  POWERTOOLS_SERVICE_NAME: 'webhook-delivery',
  POWERTOOLS_METRICS_NAMESPACE: 'VisitWebhooks',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  AWS_REGION: 'us-east-1',
};

/** Production sets NODE_OPTIONS=--enable-source-maps (lib/function-defaults.ts); so does the bench. */
const EXEC_ARGV = ['--enable-source-maps'];

interface Sample {
  result: RunResult;
  logBytes: number;
  logLines: number;
  receiverCpuMicros: number;
  dynamoCpuMicros?: number;
  totalDeliveries: number;
  connections: number;
}

export async function runThroughput(options: ThroughputOptions, dynamo: ChildHandle<DynamoReady>): Promise<ThroughputCase[]> {
  const cases: ThroughputCase[] = [];
  for (const fanOut of options.fanOuts) {
    for (const receiverMode of options.receivers) {
      cases.push(await runCase(options, dynamo, fanOut, receiverMode));
    }
  }
  return cases;
}

async function runCase(options: ThroughputOptions, dynamo: ChildHandle<DynamoReady>, fanOut: number, receiverMode: Exclude<ReceiverMode, 'latency'>): Promise<ThroughputCase> {
  const { log } = options;
  const receiver = await forkChild<ReceiverReady>(options.scripts.receiver, {
    env: { ...process.env, BENCH_RECEIVER_MODE: receiverMode, BENCH_RECEIVER_PORTS: String(fanOut) },
  });
  const secrets = Array.from({ length: fanOut }, () => generateSecret());
  const urls = receiver.ready.ports.map((port, i) => `http://127.0.0.1:${port}/hook/${i}`);
  await receiver.request('secrets', Object.fromEntries(urls.map((u, i) => [new URL(u).pathname, secrets[i]])));
  const suffix = randomUUID().slice(0, 8);
  const tables = { webhooks: `bench-webhooks-${suffix}`, deliveries: `bench-deliveries-${suffix}`, apiKeys: `bench-apikeys-${suffix}`, stats: `bench-stats-${suffix}` };
  await dynamo.request('tables', tables);

  const modes: SubjectMode[] = ['handler', 'limit', ...(options.stubDynamo && receiverMode === 'plain' ? (['handler-stub-dynamo'] as const) : [])];
  const subjects = new Map<SubjectMode, ChildHandle>();
  for (const mode of modes) {
    const child = await forkChild(options.scripts.subject, { env: { ...process.env, ...HANDLER_ENV }, execArgv: EXEC_ARGV });
    const spec: SubjectSpec = {
      mode,
      urls,
      secrets,
      batchSize: options.batchSize,
      payload: options.payload,
      ...(options.visitsPerRecord !== undefined ? { visitsPerRecord: options.visitsPerRecord } : {}),
      dynamo: { endpoint: dynamo.ready.endpoint, webhooksTable: tables.webhooks, deliveriesTable: tables.deliveries },
    };
    await child.request('setup', spec);
    subjects.set(mode, child);
  }

  const batches = options.batches(fanOut);
  const warmupBatches = options.warmupBatches(fanOut);
  const perBatch = options.batchSize * (options.visitsPerRecord ?? 1) * fanOut;
  const samples = new Map<SubjectMode, Sample[]>(modes.map((m) => [m, []]));
  for (let run = 0; run < options.runs; run++) {
    // Rotate the order so no mode always runs first (or right after another).
    const order = modes.map((_, i) => modes[(i + run) % modes.length] as SubjectMode);
    for (const mode of order) {
      const child = subjects.get(mode) as ChildHandle;
      const recv0 = await receiver.request<ReceiverStats>('stats');
      const dyn0 = mode === 'handler' ? await dynamo.request<number>('cpu') : 0;
      const bytes0 = child.stdoutBytes();
      const lines0 = child.stdoutLines();
      // The first run warms up as long as a measured run (JIT tiers, keep-alive pool, webhook
      // cache: a shorter warm-up left run 1 two to three times slower than run 5); later runs stay warm.
      const result = await child.request<RunResult>('run', { batches, warmupBatches: run === 0 ? Math.max(warmupBatches, batches) : Math.ceil(warmupBatches / 5) });
      // Let the child's pipe drain before counting its log bytes.
      await new Promise((r) => setTimeout(r, 50));
      const recv1 = await receiver.request<ReceiverStats>('stats');
      const dyn1 = mode === 'handler' ? await dynamo.request<number>('cpu') : 0;
      const totalDeliveries = recv1.requests - recv0.requests;
      const sample: Sample = {
        result,
        logBytes: child.stdoutBytes() - bytes0,
        logLines: child.stdoutLines() - lines0,
        receiverCpuMicros: recv1.cpuMicros - recv0.cpuMicros,
        totalDeliveries,
        connections: recv1.connections - recv0.connections,
        ...(mode === 'handler' ? { dynamoCpuMicros: dyn1 - dyn0 } : {}),
      };
      if (recv1.verifyFailures !== recv0.verifyFailures) throw new Error(`${recv1.verifyFailures - recv0.verifyFailures} deliveries failed verification`);
      (samples.get(mode) as Sample[]).push(sample);
      log(
        `  fan-out ${fanOut} ${receiverMode.padEnd(6)} run ${run + 1}/${options.runs} ${mode.padEnd(19)} ` +
          `${Math.round((result.deliveries / result.wallMs) * 1000)
            .toString()
            .padStart(6)}/s  cpu ${((result.cpuMicros / result.deliveries) * 1000 / 1e6).toFixed(3)} s/1k  ` +
          `${sample.connections} new connections for ${totalDeliveries} requests`,
      );
    }
  }
  for (const child of subjects.values()) await child.close();
  await receiver.close();
  await dynamo.request('drop', tables);

  const figures = modes.map((mode): ModeFigures => {
    const list = samples.get(mode) as Sample[];
    const per1000 = (micros: number, n: number) => (micros / 1e6 / n) * 1000;
    return {
      mode,
      deliveriesPerSecond: summarize(list.map((s) => (s.result.deliveries / s.result.wallMs) * 1000)),
      cpuSecondsPer1000: summarize(list.map((s) => per1000(s.result.cpuMicros, s.result.deliveries))),
      peakRssMiB: summarize(list.map((s) => s.result.maxRssKiB / 1024)),
      logBytesPerDelivery: summarize(list.map((s) => s.logBytes / Math.max(1, s.totalDeliveries))),
      logLinesPerDelivery: summarize(list.map((s) => s.logLines / Math.max(1, s.totalDeliveries))),
      receiverCpuSecondsPer1000: summarize(list.map((s) => per1000(s.receiverCpuMicros, s.totalDeliveries))),
      ...(mode === 'handler' ? { dynamoCpuSecondsPer1000: summarize(list.map((s) => per1000(s.dynamoCpuMicros ?? 0, s.totalDeliveries))) } : {}),
      failures: list.reduce((n, s) => n + s.result.failures + s.result.retriesScheduled, 0),
      connectionsPer1000: summarize(list.map((s) => (s.connections / Math.max(1, s.totalDeliveries)) * 1000)),
      raw: list.map((s) => s.result),
    };
  });
  const handlerRuns = samples.get('handler') as Sample[];
  const limitRuns = samples.get('limit') as Sample[];
  const rate = (s: Sample) => s.result.deliveries / s.result.wallMs;
  const cpuPer = (s: Sample) => s.result.cpuMicros / s.result.deliveries;
  return {
    fanOut,
    receiver: receiverMode,
    deliveriesPerRun: batches * perBatch,
    modes: figures,
    ratio: summarize(handlerRuns.map((s, i) => rate(s) / rate(limitRuns[i] as Sample))),
    cpuRatio: summarize(handlerRuns.map((s, i) => cpuPer(limitRuns[i] as Sample) / cpuPer(s))),
  };
}
