import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDeliveryStore, dueShardOf, LOG_SHARDS, shardOf } from '../../lambdas/shared/adapters/dynamo-delivery-store';
import { DynamoRecoveryJobStore } from '../../lambdas/shared/adapters/dynamo-recovery-job-store';
import { deliveryIdFor } from '../../lambdas/shared/domain/model';
import type { AttemptWrite, RecoveryJob } from '../../lambdas/shared/domain/ports';
import { ensureTables, type LocalDynamo, startDynalite, type TableNames } from '../../local/dynamo';

/**
 * The attempt log on dynalite (docs/design.md §7): sixteen shards per webhook, first-attempt
 * successes as compact entries, the payload stored once per event, the sparse `status` and `due`
 * indexes, the merged newest-first listing and its cursor, and recovery jobs.
 */
let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let tables: TableNames;
let store: DynamoDeliveryStore;

beforeAll(async () => {
  dynamo = await startDynalite();
  const suffix = randomUUID().slice(0, 8);
  tables = { webhooks: `webhooks-${suffix}`, deliveries: `deliveries-${suffix}`, apiKeys: `apikeys-${suffix}`, stats: `stats-${suffix}` };
  await ensureTables(dynamo.client, tables);
  doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  store = new DynamoDeliveryStore(doc, tables.deliveries, 30);
});
afterAll(async () => {
  await dynamo.close();
});

const T0 = Date.parse('2026-01-01T00:00:00Z');
let seq = 0;
const ids = (records: readonly { deliveryId: string }[]) => records.map((r) => r.deliveryId);
const desc = (values: string[]) => [...values].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));

function write(accountId: string, webhookId: string, ms: number, extra: Partial<AttemptWrite> = {}): AttemptWrite {
  seq++;
  const eventId = extra.eventId ?? `evt_${seq}`;
  return {
    accountId,
    webhookId,
    deliveryId: deliveryIdFor(T0 + ms, eventId, webhookId),
    eventId,
    eventType: 'NEW_VISIT',
    createdAt: new Date(T0 + ms).toISOString(),
    status: 'pending',
    attempt: { at: new Date(T0 + ms).toISOString(), trigger: 'event', ok: false, durationMs: 5, statusCode: 503, errorKind: 'http', error: 'HTTP 503' },
    nextAttemptAt: new Date(T0 + ms + 60_000).toISOString(),
    sweepAt: new Date(T0 + ms + 960_000).toISOString(),
    payload: `{"n":${seq}}`,
    retryIndex: 1,
    ...extra,
  };
}

function success(accountId: string, webhookId: string, ms: number): AttemptWrite {
  const w = write(accountId, webhookId, ms);
  return { ...w, status: 'delivered', nextAttemptAt: undefined, sweepAt: undefined, payload: undefined, retryIndex: undefined, attempt: { at: w.createdAt, trigger: 'event', ok: true, durationMs: 12, statusCode: 200 } };
}

async function itemsOf(accountId: string, webhookId: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let shard = 0; shard < LOG_SHARDS; shard++) {
    const page = await doc.send(new QueryCommand({ TableName: tables.deliveries, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${accountId}#${webhookId}#${shard}` } }));
    out.push(...(page.Items ?? []));
  }
  return out;
}

async function allPages(accountId: string, webhookId: string, limit: number, status?: 'delivered' | 'failed' | 'pending'): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list(accountId, webhookId, { limit, ...(cursor ? { cursor } : {}), ...(status ? { status } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...ids(page.items));
    cursor = page.nextCursor;
    expect(pages++).toBeLessThan(200);
  } while (cursor);
  return seen;
}

describe('first attempts that succeeded: compact entries, a few items per webhook', () => {
  it('writes one item for a flush of one webhook within a minute, in no index, found by id and listed', async () => {
    const writes = Array.from({ length: 30 }, (_, i) => success('acc_s', 'wh_s', i * 1000));
    expect(await store.writeDelivered(writes)).toEqual([]);
    const items = await itemsOf('acc_s', 'wh_s');
    expect(items).toHaveLength(1);
    expect(items[0]).not.toHaveProperty('statusKey');
    expect(items[0]).not.toHaveProperty('dueShard');
    expect(Buffer.byteLength(String(items[0]?.entries))).toBeLessThan(30 * 160); // compact: no attribute names per delivery
    const probe = writes[17]!;
    expect(await store.get('acc_s', 'wh_s', probe.deliveryId)).toMatchObject({
      deliveryId: probe.deliveryId,
      eventId: probe.eventId,
      status: 'delivered',
      attemptCount: 1,
      attempts: [{ ok: true, statusCode: 200, durationMs: 12, trigger: 'event' }],
      createdAt: probe.createdAt,
    });
    expect(await store.get('acc_s', 'wh_s', deliveryIdFor(T0 + 5_000, 'evt_nope', 'wh_s'))).toBeUndefined();
    expect(await allPages('acc_s', 'wh_s', 7)).toEqual(desc(ids(writes)));
  });

  it('splits a flush by webhook and by minute (an item never spans two minutes)', async () => {
    const writes = [success('acc_m', 'wh_1', 10_000), success('acc_m', 'wh_1', 70_000), success('acc_m', 'wh_2', 10_000), success('acc_m', 'wh_1', 20_000)];
    expect(await store.writeDelivered(writes)).toEqual([]);
    expect(await itemsOf('acc_m', 'wh_1')).toHaveLength(2);
    expect(await itemsOf('acc_m', 'wh_2')).toHaveLength(1);
    expect(await store.get('acc_m', 'wh_1', writes[1]!.deliveryId)).toMatchObject({ status: 'delivered' });
  });
});

describe('records of their own: sharded, the payload stored once per event', () => {
  it('spreads one webhook over its sixteen shards and finds each record by id with one GetItem', async () => {
    const writes = Array.from({ length: 120 }, (_, i) => write('acc_sh', 'wh_sh', i * 10));
    for (const w of writes) await store.write(w);
    const pks = new Set((await itemsOf('acc_sh', 'wh_sh')).map((item) => item.pk));
    expect(pks.size).toBe(LOG_SHARDS);
    const w = writes[42]!;
    const raw = await doc.send(new GetCommand({ TableName: tables.deliveries, Key: { pk: `acc_sh#wh_sh#${shardOf(w.deliveryId)}`, sk: w.deliveryId } }));
    expect(raw.Item).toMatchObject({ status: 'pending', statusKey: `acc_sh#wh_sh#pending#${shardOf(w.deliveryId)}`, dueShard: dueShardOf(w.deliveryId), sweepAt: w.sweepAt });
    expect(raw.Item).not.toHaveProperty('payload');
  });

  it('keeps one payload item per event however many webhooks and attempts need it, and loads it with the record', async () => {
    const a = write('acc_p', 'wh_a', 1_000, { eventId: 'evt_shared' });
    const b = write('acc_p', 'wh_b', 1_000, { eventId: 'evt_shared', payload: a.payload });
    await store.write(a);
    await store.write(b);
    await store.write({ ...a, retryIndex: 2 });
    await store.write({ ...a, status: 'failed', reason: 'gave up', nextAttemptAt: undefined, sweepAt: undefined });
    const scan = await doc.send(new ScanCommand({ TableName: tables.deliveries, FilterExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': 'payload#acc_p#' } }));
    expect(scan.Items).toEqual([expect.objectContaining({ pk: 'payload#acc_p#evt_shared', body: a.payload })]);
    // A fresh container (no memory of what it stored) reads it back.
    const other = new DynamoDeliveryStore(doc, tables.deliveries, 30);
    expect(await other.get('acc_p', 'wh_a', a.deliveryId)).toMatchObject({ status: 'failed', attemptCount: 3, payload: a.payload, reason: 'gave up' });
    expect((await other.listBucket('acc_p', 'wh_b', 'pending', { limit: 10 })).items).toEqual([expect.objectContaining({ deliveryId: b.deliveryId, payload: a.payload })]);
  });

  it('keeps a delivered record final: a late parked write is refused and indexes nothing', async () => {
    const w = write('acc_final', 'wh_final', 0);
    expect(await store.write({ ...w, status: 'delivered', nextAttemptAt: undefined, attempt: { at: w.createdAt, trigger: 'retry', ok: true, durationMs: 5, statusCode: 200 } })).toBe(true);
    expect(await store.write({ ...w, parked: true })).toBe(false);
    expect((await store.get('acc_final', 'wh_final', w.deliveryId))?.status).toBe('delivered');
    expect((await store.listParked('acc_final', 'wh_final', { limit: 10 })).items).toEqual([]);
  });

  it('claims with expectStatus: only one of two claims of a failed record wins', async () => {
    const w = write('acc_claim', 'wh_claim', 0, { status: 'failed', reason: 'gave up', nextAttemptAt: undefined, sweepAt: undefined });
    await store.write(w);
    const claim = { ...w, status: 'pending' as const, attempt: undefined, reason: 'recovered', expectStatus: ['failed' as const] };
    expect(await Promise.all([store.write(claim), store.write(claim)])).toEqual(expect.arrayContaining([true, false]));
    expect(await store.get('acc_claim', 'wh_claim', w.deliveryId)).toMatchObject({ status: 'pending', reason: 'recovered' });
  });
});

describe('the status index: failed, skipped, pending and parked without reading the log', () => {
  it("lists a webhook's parked deliveries oldest first, in pages, and drops them once released or delivered", async () => {
    const writes = [3, 1, 4, 2].map((m) => write('acc_park', 'wh_park', m * 60_000, { parked: true, reason: 'breaker open', retryIndex: 2 }));
    for (const w of writes) await store.write(w);
    await store.write(write('acc_park', 'wh_park', 0)); // pending, not parked
    await store.write(write('acc_park', 'wh_other', 0, { parked: true })); // another webhook's
    const oldestFirst = ids([...writes].sort((x, y) => x.createdAt.localeCompare(y.createdAt)));
    const first = await store.listParked('acc_park', 'wh_park', { limit: 3 });
    expect(ids(first.items)).toEqual(oldestFirst.slice(0, 3));
    expect(first.items[0]).toMatchObject({ status: 'pending', parked: true, reason: 'breaker open', payload: expect.any(String), retryIndex: 2 });
    expect(first.items[0]).not.toHaveProperty('statusKey');
    const second = await store.listParked('acc_park', 'wh_park', { limit: 3, cursor: first.nextCursor! });
    expect(ids(second.items)).toEqual(oldestFirst.slice(3));
    expect(second.nextCursor).toBeUndefined();
    const byId = new Map(writes.map((w) => [w.deliveryId, w]));
    await store.write({ ...byId.get(oldestFirst[0]!)!, parked: false, attempt: undefined, reason: undefined });
    await store.write({ ...byId.get(oldestFirst[1]!)!, status: 'delivered', attempt: { at: new Date(T0).toISOString(), trigger: 'retry', ok: true, durationMs: 5, statusCode: 200 } });
    expect(ids((await store.listParked('acc_park', 'wh_park', { limit: 10 })).items)).toEqual(oldestFirst.slice(2));
    // ?status=pending lists pending and parked, newest first.
    const pendingIds = ids((await store.list('acc_park', 'wh_park', { limit: 10, status: 'pending' })).items);
    expect(pendingIds).toHaveLength(4);
    expect(pendingIds).toEqual(desc(pendingIds));
  });

  it('pages failed deliveries newest first and, for recovery, oldest first since a time, however many successes surround them', async () => {
    const failed = Array.from({ length: 23 }, (_, i) => write('acc_f', 'wh_f', i * 3_000, { status: 'failed', reason: 'gave up', nextAttemptAt: undefined, sweepAt: undefined }));
    for (const w of failed) await store.write(w);
    await store.writeDelivered(Array.from({ length: 200 }, (_, i) => success('acc_f', 'wh_f', i * 300)));
    expect(await allPages('acc_f', 'wh_f', 5, 'failed')).toEqual(desc(ids(failed)));
    const since = failed[10]!.deliveryId.slice(0, 14);
    const ascending: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listBucket('acc_f', 'wh_f', 'failed', { limit: 4, ascending: true, sinceId: since, ...(cursor ? { cursor } : {}) });
      ascending.push(...ids(page.items));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ascending).toEqual([...desc(ids(failed.slice(10)))].reverse());
  });
});

describe('the merged log: newest first over sixteen shards and both kinds of item, stable cursors', () => {
  it('pages every delivery exactly once, newest first, for any page size', async () => {
    const own = Array.from({ length: 15 }, (_, i) => write('acc_log', 'wh_log', i * 7_919, { status: i % 2 ? 'failed' : 'pending' }));
    for (const w of own) await store.write(w);
    const successes: AttemptWrite[] = [];
    for (let flush = 0; flush < 6; flush++) {
      const batch = Array.from({ length: 9 }, (_, i) => success('acc_log', 'wh_log', flush * 20_000 + i * 4_001));
      successes.push(...batch);
      expect(await store.writeDelivered(batch)).toEqual([]);
    }
    const expected = desc([...ids(own), ...ids(successes)]);
    for (const limit of [1, 4, 10, 100]) expect(await allPages('acc_log', 'wh_log', limit)).toEqual(expected);
    expect(await allPages('acc_log', 'wh_log', 6, 'delivered')).toEqual(desc(ids(successes)));
  });

  it('keeps its place while new deliveries are written: no repeats, no skips', async () => {
    const before = Array.from({ length: 30 }, (_, i) => success('acc_live', 'wh_live', i * 1_000));
    await store.writeDelivered(before.slice(0, 15));
    await store.writeDelivered(before.slice(15));
    const first = await store.list('acc_live', 'wh_live', { limit: 10 });
    await store.writeDelivered(Array.from({ length: 10 }, (_, i) => success('acc_live', 'wh_live', 3_600_000 + i))); // newer, written meanwhile
    for (let i = 0; i < 5; i++) await store.write(write('acc_live', 'wh_live', 3_600_000 + i * 10));
    const rest: string[] = [];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await store.list('acc_live', 'wh_live', { limit: 10, cursor });
      rest.push(...ids(page.items));
      cursor = page.nextCursor;
    }
    expect([...ids(first.items), ...rest]).toEqual(desc(ids(before)));
  });

  it('lists a delivery once when it has both a success entry and a record of its own (a duplicate, then a manual retry)', async () => {
    const first = success('acc_twin', 'wh_twin', 1_000);
    await store.writeDelivered([first]);
    await store.writeDelivered([first]); // the event redelivered, sent again
    await store.write({ ...first, attempt: { at: new Date(T0 + 9_000).toISOString(), trigger: 'manual', ok: true, durationMs: 3, statusCode: 202 } });
    const { items } = await store.list('acc_twin', 'wh_twin', { limit: 10 });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ deliveryId: first.deliveryId, lastStatusCode: 202 });
  });

  it('refuses a cursor it did not issue', async () => {
    await expect(store.list('acc_log', 'wh_log', { limit: 5, cursor: Buffer.from('msg_x.a.b').toString('base64url') })).rejects.toMatchObject({ name: 'InvalidCursorError' });
  });
});

describe('the due index: what the reconciler looks at', () => {
  it('finds pending, unparked deliveries of any webhook to sweep before a time, across shards, oldest first, with payloads', async () => {
    const base = Date.parse('2030-01-01T00:00:00Z');
    const at = (s: number) => new Date(base + s * 1000).toISOString();
    const due = Array.from({ length: 24 }, (_, i) => write(`acc_due_${i % 3}`, `wh_due_${i % 4}`, 0, { sweepAt: at(100 - i * 3) }));
    for (const w of due) await store.write(w);
    expect(new Set(due.map((w) => dueShardOf(w.deliveryId))).size).toBeGreaterThan(3);
    for (const w of [
      write('acc_due_0', 'wh_due_0', 0, { sweepAt: at(1), parked: true }),
      write('acc_due_0', 'wh_due_0', 0, { sweepAt: at(500) }),
      write('acc_due_1', 'wh_due_1', 0, { sweepAt: at(2), status: 'failed', reason: 'gave up' }),
      write('acc_due_1', 'wh_due_1', 0, { sweepAt: undefined }),
    ]) await store.write(w);
    const window = <R extends { readonly sweepAt?: string }>(records: readonly R[]) => records.filter((r) => (r.sweepAt ?? '') >= at(-1000));
    const byTime = [...due].sort((x, y) => x.sweepAt!.localeCompare(y.sweepAt!));
    const all = window(await store.listDue(at(200), 1000));
    expect(ids(all)).toEqual(ids(byTime));
    expect(all[0]).toMatchObject({ status: 'pending', payload: expect.any(String) });
    expect(ids(window(await store.listDue(byTime[10]!.sweepAt!, 1000)))).toEqual(ids(byTime.slice(0, 10)));
    expect(await store.listDue(at(200), 0)).toEqual([]);
  });
});

describe('recovery jobs', () => {
  it('creates, lists running ones across accounts, saves progress under a lease and leaves the list when done', async () => {
    const jobs = new DynamoRecoveryJobStore(doc, tables.deliveries, 30);
    const job: RecoveryJob = {
      accountId: 'acc_job',
      webhookId: 'wh_job',
      jobId: 'rec_000000000000000000000001',
      since: '2026-01-01T00:00:00.000Z',
      status: 'running',
      scanned: 0,
      requeued: 0,
      unrecoverable: 0,
      position: { bucket: 'failed' },
      createdAt: '2026-01-02T00:00:00.000Z',
      updatedAt: '2026-01-02T00:00:00.000Z',
    };
    await jobs.create(job);
    expect(await jobs.get('acc_job', 'wh_job', job.jobId)).toEqual(job);
    expect((await jobs.listOpen(10)).map((j) => j.jobId)).toContain(job.jobId);
    const moved = { ...job, scanned: 100, requeued: 99, position: { bucket: 'failed' as const, cursor: 'abc' }, updatedAt: '2026-01-02T00:00:01.000Z' };
    expect(await jobs.save(moved, job.updatedAt)).toBe(true);
    expect(await jobs.save({ ...moved, scanned: 1 }, job.updatedAt)).toBe(false); // a stale worker
    const done: RecoveryJob = { ...moved, status: 'done', updatedAt: '2026-01-02T00:00:02.000Z', finishedAt: '2026-01-02T00:00:02.000Z' };
    delete (done as { position?: unknown }).position;
    expect(await jobs.save(done, moved.updatedAt)).toBe(true);
    expect((await jobs.listOpen(10)).map((j) => j.jobId)).not.toContain(job.jobId);
    expect(await jobs.get('acc_job', 'wh_job', job.jobId)).toEqual(done);
  });
});
