import { existsSync, readFileSync } from 'node:fs';

/** CPU per delivery: from the bench when it has run, else the figures it measured when this was written. */
export interface CpuFigures {
  readonly source: string;
  /** ms of CPU per event (parse, batch machinery), independent of fan-out. */
  readonly perEventMs: number;
  /** ms of CPU per delivery on the HTTP path (sign, send, log), without AWS calls. */
  readonly perDeliveryHttpMs: number;
  /**
   * ms of CPU per delivered attempt for its attempt-log record, written with the batch's other
   * successes (one BatchWriteItem per invocation): handler minus DynamoDB-stubbed handler at fan-out 1.
   */
  readonly perDeliveredRecordMs: number;
  /** ms of CPU per single-item AWS SDK call (UpdateItem, GetItem, SendMessage) on the failure path. */
  readonly perAwsCallMs: number;
}

/**
 * Measured by `npm run bench` on 2026-11-28 (Node 20, 2-vCPU Xeon VM; handler 0.81, stubbed 0.35 and
 * 0.22 CPU-s/1k at fan-out 1 and 10, successes recorded in batches); used when bench/results.json
 * is absent or from a quick run. A single-item SDK call (1.45 ms) was measured by A/B when every
 * attempt made one UpdateItem; results.json cannot give it any more, so it stays built in.
 */
const SINGLE_CALL_MS = 1.45;
const DEFAULT_CPU: CpuFigures = {
  source: 'built-in figures measured by npm run bench on 2026-11-28',
  perEventMs: 0.14,
  perDeliveryHttpMs: 0.2,
  perDeliveredRecordMs: 0.46,
  perAwsCallMs: SINGLE_CALL_MS,
};

/** The figures of a full bench run in `file` (bench/results.json), else the built-in ones. */
export function cpuFigures(file: string): CpuFigures {
  if (!existsSync(file)) return DEFAULT_CPU;
  type Mode = { mode: string; cpuSecondsPer1000: { median: number } };
  const results = JSON.parse(readFileSync(file, 'utf8')) as { quick?: boolean; date?: string; throughput?: Array<{ fanOut: number; receiver: string; modes: Mode[] }> };
  const plain = (results.throughput ?? []).filter((c) => c.receiver === 'plain');
  const cpu = (fanOut: number, mode: string) => plain.find((c) => c.fanOut === fanOut)?.modes.find((m) => m.mode === mode)?.cpuSecondsPer1000.median;
  const h1 = cpu(1, 'handler');
  const s1 = cpu(1, 'handler-stub-dynamo');
  const s10 = cpu(10, 'handler-stub-dynamo');
  if (results.quick || h1 === undefined || s1 === undefined || s10 === undefined) return DEFAULT_CPU;
  // CPU-s per 1k deliveries = ms per delivery. Per event e, per delivery d: fan-out 1 → e + d, fan-out 10 → e/10 + d.
  const d = (10 * s10 - s1) / 9;
  const e = Math.max(0, s1 - d);
  return {
    source: `bench/results.json of ${results.date ?? '?'}`,
    perEventMs: e,
    perDeliveryHttpMs: Math.max(0, d),
    perDeliveredRecordMs: Math.max(0, h1 - s1),
    perAwsCallMs: SINGLE_CALL_MS,
  };
}
