import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishVisitEvent } from '../lambdas/shared/adapters/eventbridge-publisher';
import { epochNow, forkChild } from './ipc';
import type { LocalStackReady } from './local-stack-child';
import type { ReceiverReady } from './receiver';
import { percentile, type Summary, summarize } from './stats';

export interface LatencyOptions {
  readonly scripts: { readonly receiver: string; readonly localStack: string };
  readonly runs: number;
  /** Measured events per run (after the warm-up). */
  readonly events: number;
  readonly warmupEvents: number;
  /** Steady rate of `PutEvents` calls, events per second. */
  readonly rate: number;
  readonly payload: Record<string, unknown>;
  readonly log: (line: string) => void;
}

export interface LatencyRun {
  readonly events: number;
  readonly received: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  /** The rate the load generator actually achieved. */
  readonly achievedRate: number;
}

export interface LatencyFigures {
  readonly rate: number;
  readonly eventsPerRun: number;
  readonly batchingWindowMs: number;
  readonly p50: Summary;
  readonly p95: Summary;
  readonly p99: Summary;
  readonly max: Summary;
  readonly runs: LatencyRun[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `PutEvents` (the real EventBridge client, through `publishVisitEvent`) on the local runtime's
 * bus → rule → in-process events queue → consumer → delivery handler → receiver, timed from
 * just before the client call to the receiver's end of body. The local runtime and the
 * receiver each run in their own process; the load generator (this process) sends open-loop
 * at a steady rate, one event per call, and does not wait for answers before the next send.
 */
export async function runLatency(options: LatencyOptions): Promise<LatencyFigures> {
  const runs: LatencyRun[] = [];
  const batchingWindowMs = Number(process.env.WEBHOOKS_LOCAL_BATCHING_WINDOW_MS ?? 20);
  for (let run = 0; run < options.runs; run++) {
    const receiver = await forkChild<ReceiverReady>(options.scripts.receiver, { env: { ...process.env, BENCH_RECEIVER_MODE: 'latency', BENCH_RECEIVER_PORTS: '1' } });
    const stack = await forkChild<LocalStackReady>(options.scripts.localStack, {
      env: { ...process.env, BENCH_RECEIVER_URL: `http://127.0.0.1:${receiver.ready.ports[0]}/hook`, POWERTOOLS_LOG_LEVEL: 'WARN', AWS_REGION: 'us-east-1' },
    });
    const client = new EventBridgeClient({ region: 'us-east-1', endpoint: stack.ready.url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const total = options.warmupEvents + options.events;
    const sentAt = new Map<string, number>();
    const interval = 1000 / options.rate;
    const inFlight: Promise<unknown>[] = [];
    const start = performance.now();
    let errors = 0;
    for (let i = 0; i < total; i++) {
      // Open loop on a fixed schedule: event i leaves at start + i × interval, however long the previous calls take.
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const id = `lat-${run}-${i}`;
      sentAt.set(id, epochNow());
      inFlight.push(
        publishVisitEvent(client, { eventType: 'NEW_VISIT', accountId: stack.ready.accountId, data: { ...options.payload, id } }, { eventBusName: 'default' }).catch(() => errors++),
      );
      if (inFlight.length > 256) inFlight.splice(0, 128);
    }
    const sendSeconds = (performance.now() - start) / 1000;
    await Promise.all(inFlight);
    // Wait (at most 10 s) for the receiver to have every event.
    const received = new Map<string, number>();
    for (let waited = 0; waited < 10_000 && received.size < total; waited += 100) {
      for (const [id, at] of await receiver.request<Array<[string, number]>>('receipts')) received.set(id, at);
      if (received.size < total) await sleep(100);
    }
    const latencies: number[] = [];
    for (let i = options.warmupEvents; i < total; i++) {
      const id = `lat-${run}-${i}`;
      const at = received.get(id);
      if (at !== undefined) latencies.push(at - (sentAt.get(id) as number));
    }
    client.destroy();
    await stack.close();
    await receiver.close();
    const result: LatencyRun = {
      events: options.events,
      received: latencies.length,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: percentile(latencies, 100),
      achievedRate: total / sendSeconds,
    };
    if (errors > 0 || result.received < options.events) {
      throw new Error(`latency run ${run + 1}: ${errors} PutEvents errors, ${options.events - result.received} events not received`);
    }
    runs.push(result);
    options.log(
      `  run ${run + 1}/${options.runs}: ${result.received} events at ${result.achievedRate.toFixed(0)}/s  ` +
        `p50 ${result.p50.toFixed(1)} ms  p95 ${result.p95.toFixed(1)} ms  p99 ${result.p99.toFixed(1)} ms  max ${result.max.toFixed(1)} ms`,
    );
  }
  return {
    rate: options.rate,
    eventsPerRun: options.events,
    batchingWindowMs,
    p50: summarize(runs.map((r) => r.p50)),
    p95: summarize(runs.map((r) => r.p95)),
    p99: summarize(runs.map((r) => r.p99)),
    max: summarize(runs.map((r) => r.max)),
    runs,
  };
}
