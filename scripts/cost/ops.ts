/** What a delivery costs in operations: DynamoDB calls, SQS messages, HTTP bytes, log bytes. */
export interface Ops {
  /** DynamoDB calls by table kind and command, with capacity units. */
  dynamo: Map<string, { calls: number; units: number }>;
  sqsMessages: number;
  sqsBytes: number;
  /** Retry-queue messages consumed (hops and due attempts): each is a retry-function record. */
  retryRecords: number;
  hops: number;
  httpAttempts: number;
  httpBytesOut: number;
  logBytes: number;
  logLines: number;
  /** Size of the delivery's item at the end (DynamoDB item-size rules, before the 100-byte overhead). */
  finalItemBytes: number;
}

export const emptyOps = (): Ops => ({
  dynamo: new Map(),
  sqsMessages: 0,
  sqsBytes: 0,
  retryRecords: 0,
  hops: 0,
  httpAttempts: 0,
  httpBytesOut: 0,
  logBytes: 0,
  logLines: 0,
  finalItemBytes: 0,
});

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

/** Calls and capacity units of one table's reads or writes. */
export function dynamoTotals(ops: Ops, table: string, kind: 'read' | 'write'): { calls: number; units: number } {
  let calls = 0;
  let units = 0;
  for (const [key, v] of ops.dynamo) {
    const [t, command] = key.split(' ') as [string, string];
    const isRead = command === 'Get' || command === 'Query' || command === 'GetItem' || command === 'Scan' || command === 'BatchGet';
    if (t === table && (kind === 'read') === isRead) {
      calls += v.calls;
      units += v.units;
    }
  }
  return { calls, units };
}

export function describeOps(ops: Ops): string {
  const parts = [...ops.dynamo.entries()].filter(([, v]) => v.calls > 0).map(([k, v]) => `${fmtN(v.calls)}× ${k} (${fmtN(v.units)} CU)`);
  if (ops.sqsMessages > 0) parts.push(`${fmtN(ops.sqsMessages)} SQS sends`);
  parts.push(`${fmtN(ops.httpAttempts)} POST`);
  parts.push(`${fmtN(ops.logBytes)} log B`);
  parts.push(`item ${ops.finalItemBytes} B`);
  return parts.join(', ');
}

function fmtN(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
