import type { TableDefinition } from '../../lib/table-definitions';

/** The functions of the stack that do work per delivery: where a call or an endpoint wait is billed. */
export type Fn = 'delivery' | 'retry' | 'reconciler';
export const FUNCTIONS: readonly Fn[] = ['delivery', 'retry', 'reconciler'];

/** What one function did: AWS calls (DynamoDB, SQS sends), HTTP attempts and the time they waited on endpoints. */
export interface FnOps {
  awsCalls: number;
  attempts: number;
  /** Endpoint time of its attempts (the scripted answers' durations: what the function waits for). */
  waitMs: number;
}

/** What a delivery costs in operations: DynamoDB calls, index writes, SQS messages, HTTP bytes, log bytes. */
export interface Ops {
  /** DynamoDB calls by table kind and command, with capacity units (table only: dynalite does not bill indexes). */
  dynamo: Map<string, { calls: number; units: number }>;
  /**
   * Writes to global secondary indexes, by `<table> <index>`, with their write units, counted from the
   * item before and after each write (DynamoDB's rules: a put when the item enters the index, a delete
   * when it leaves, both when an index key changes, one update when a projected attribute changes;
   * ALL projection: each billed per started KB of the item).
   */
  index: Map<string, { writes: number; units: number }>;
  /** Messages sent to the retry queue and the failed-deliveries queue. */
  sqsMessages: number;
  sqsBytes: number;
  /** Retry-queue messages consumed (hops, due attempts, parks, probes): each is a retry-function record. */
  retryRecords: number;
  hops: number;
  httpAttempts: number;
  httpBytesOut: number;
  logBytes: number;
  logLines: number;
  /** Size of the delivery's item at the end (DynamoDB item-size rules, before the 100-byte overhead). */
  finalItemBytes: number;
  /** Per function: calls, attempts, endpoint waits. */
  fn: Record<Fn, FnOps>;
}

const emptyFn = (): FnOps => ({ awsCalls: 0, attempts: 0, waitMs: 0 });

export const emptyOps = (): Ops => ({
  dynamo: new Map(),
  index: new Map(),
  sqsMessages: 0,
  sqsBytes: 0,
  retryRecords: 0,
  hops: 0,
  httpAttempts: 0,
  httpBytesOut: 0,
  logBytes: 0,
  logLines: 0,
  finalItemBytes: 0,
  fn: { delivery: emptyFn(), retry: emptyFn(), reconciler: emptyFn() },
});

const SCALARS = ['sqsMessages', 'sqsBytes', 'retryRecords', 'hops', 'httpAttempts', 'httpBytesOut', 'logBytes', 'logLines'] as const;

/**
 * `a + k × b`, field by field (maps by key). `finalItemBytes` is a size, not a count: it is taken
 * from `a`, or from `b` when `a` has none.
 */
export function addOps(a: Ops, b: Ops, k = 1): Ops {
  const out = emptyOps();
  for (const field of SCALARS) out[field] = a[field] + k * b[field];
  for (const [source, factor] of [
    [a, 1],
    [b, k],
  ] as const) {
    for (const [key, v] of source.dynamo) {
      const e = out.dynamo.get(key) ?? { calls: 0, units: 0 };
      out.dynamo.set(key, { calls: e.calls + factor * v.calls, units: e.units + factor * v.units });
    }
    for (const [key, v] of source.index) {
      const e = out.index.get(key) ?? { writes: 0, units: 0 };
      out.index.set(key, { writes: e.writes + factor * v.writes, units: e.units + factor * v.units });
    }
    for (const f of FUNCTIONS) {
      out.fn[f].awsCalls += factor * source.fn[f].awsCalls;
      out.fn[f].attempts += factor * source.fn[f].attempts;
      out.fn[f].waitMs += factor * source.fn[f].waitMs;
    }
  }
  out.finalItemBytes = a.finalItemBytes || b.finalItemBytes;
  return out;
}

export const scaleOps = (a: Ops, k: number): Ops => ({ ...addOps(emptyOps(), a, k), finalItemBytes: a.finalItemBytes });
export const subOps = (a: Ops, b: Ops): Ops => ({ ...addOps(a, b, -1), finalItemBytes: a.finalItemBytes });

/** Rounding noise and the odd log line make differences slightly negative: no count is below 0. */
export function clampOps(a: Ops): Ops {
  const out = addOps(emptyOps(), a);
  for (const field of SCALARS) out[field] = Math.max(0, out[field]);
  for (const [key, v] of out.dynamo) out.dynamo.set(key, { calls: Math.max(0, v.calls), units: Math.max(0, v.units) });
  for (const [key, v] of out.index) out.index.set(key, { writes: Math.max(0, v.writes), units: Math.max(0, v.units) });
  for (const f of FUNCTIONS) for (const k of ['awsCalls', 'attempts', 'waitMs'] as const) out.fn[f][k] = Math.max(0, out.fn[f][k]);
  out.finalItemBytes = a.finalItemBytes;
  return out;
}

/** DynamoDB's item size: attribute names and values in UTF-8, numbers ~1 byte per 2 digits, +3 per list/map. */
export function itemSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').replace(/^0+/, '').length / 2) + 1;
  if (Buffer.isBuffer(value)) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + itemSize(v), 0);
  return 3 + Object.entries(value as Record<string, unknown>).reduce((n, [k, v]) => n + Buffer.byteLength(k) + 1 + itemSize(v), 0);
}

export function topLevelItemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + itemSize(v), 0);
}

const READ_COMMANDS = new Set(['Get', 'GetItem', 'Query', 'Scan', 'BatchGet', 'BatchGetItem']);

const KB = 1024;
/** Write units of an item: per started KB, at least one. */
export const writeUnitsOf = (item: Record<string, unknown>) => Math.max(1, Math.ceil(topLevelItemSize(item) / KB));
const sorted = (item: Record<string, unknown>) => JSON.stringify(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * DynamoDB's index write rules for one item's change (projection ALL, so every change of an
 * indexed item rewrites its entry): none if the item is in the index neither before nor after; a
 * put when it enters; a delete when it leaves; a delete and a put when an index key changes; one
 * update when only other attributes change. Each billed per started KB of the item.
 */
export function indexWrites(def: TableDefinition, before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined): Array<{ index: string; writes: number; units: number }> {
  const out: Array<{ index: string; writes: number; units: number }> = [];
  for (const index of def.indexes ?? []) {
    const pk = index.partitionKey.name;
    const sk = index.sortKey?.name;
    const inIndex = (item: Record<string, unknown> | undefined): item is Record<string, unknown> => item !== undefined && item[pk] !== undefined && (sk === undefined || item[sk] !== undefined);
    const was = inIndex(before);
    const is = inIndex(after);
    if (was && is) {
      const keyChanged = before[pk] !== after[pk] || (sk !== undefined && before[sk] !== after[sk]);
      if (keyChanged) out.push({ index: index.indexName, writes: 2, units: writeUnitsOf(before) + writeUnitsOf(after) });
      else if (sorted(before) !== sorted(after)) out.push({ index: index.indexName, writes: 1, units: Math.max(writeUnitsOf(before), writeUnitsOf(after)) });
    } else if (was) out.push({ index: index.indexName, writes: 1, units: writeUnitsOf(before) });
    else if (is) out.push({ index: index.indexName, writes: 1, units: writeUnitsOf(after) });
  }
  return out;
}

/** Calls and capacity units of one table's reads or writes (table only; index writes: {@link indexTotals}). */
export function dynamoTotals(ops: Ops, table: string, kind: 'read' | 'write'): { calls: number; units: number } {
  let calls = 0;
  let units = 0;
  for (const [key, v] of ops.dynamo) {
    const [t, command] = key.split(' ') as [string, string];
    if (t === table && (kind === 'read') === READ_COMMANDS.has(command)) {
      calls += v.calls;
      units += v.units;
    }
  }
  return { calls, units };
}

/** Index writes and their units, of every index or of the indexes whose key starts with `prefix` (`deliveries`, `webhooks due`). */
export function indexTotals(ops: Ops, prefix = ''): { writes: number; units: number } {
  let writes = 0;
  let units = 0;
  for (const [key, v] of ops.index) {
    if (!key.startsWith(prefix)) continue;
    writes += v.writes;
    units += v.units;
  }
  return { writes, units };
}

/** All write units: the tables' (as dynalite billed them) and their indexes'. */
export function writeUnits(ops: Ops): number {
  return dynamoTotals(ops, 'deliveries', 'write').units + dynamoTotals(ops, 'webhooks', 'write').units + indexTotals(ops).units;
}

export function readUnits(ops: Ops): number {
  return dynamoTotals(ops, 'deliveries', 'read').units + dynamoTotals(ops, 'webhooks', 'read').units;
}

export function describeOps(ops: Ops): string {
  const parts = [...ops.dynamo.entries()].filter(([, v]) => v.calls > 0.005).map(([k, v]) => `${fmtN(v.calls)}× ${k} (${fmtN(v.units)} CU)`);
  const idx = [...ops.index.entries()].filter(([, v]) => v.writes > 0.005).map(([k, v]) => `${fmtN(v.writes)}× ${k.split(' ')[1]} GSI (${fmtN(v.units)} WU)`);
  parts.push(...idx);
  if (ops.sqsMessages > 0.005) parts.push(`${fmtN(ops.sqsMessages)} SQS sends`);
  if (ops.retryRecords > 0.005) parts.push(`${fmtN(ops.retryRecords)} retry-queue records`);
  parts.push(`${fmtN(ops.httpAttempts)} POST`);
  parts.push(`${fmtN(ops.logBytes)} log B`);
  if (ops.finalItemBytes > 0) parts.push(`item ${ops.finalItemBytes} B`);
  return parts.join(', ');
}

function fmtN(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
