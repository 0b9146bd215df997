import { randomBytes, randomInt } from 'node:crypto';
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EventType } from '../contract';
import { InvalidCursorError } from '../domain/errors';
import { type AttemptRecord, type AttemptTrigger, type DeliveryRecord, type DeliveryStatus, deliveryIdLowerBound, deliveryIdTime } from '../domain/model';
import type { AttemptWrite, BucketQuery, DeliveryQuery, DeliveryStore, Page, RecordBucket } from '../domain/ports';
import { decodeCursor, encodeCursor, isConditionalCheckFailed } from './dynamo-client';

const DAY_SECONDS = 86_400;
/** DynamoDB's limits: items per BatchWriteItem, keys per BatchGetItem. */
const BATCH_WRITE_MAX = 25;
const BATCH_GET_MAX = 100;
/** Rounds of BatchWriteItem for unprocessed items before falling back to one write each. */
const BATCH_WRITE_ROUNDS = 3;

/**
 * Partition-key shards per webhook. One partition key takes about 1,000 WRU a second; a record
 * write is one WRU (the payload lives elsewhere), so sixteen shards carry a webhook's 10,000
 * record writes a second (every delivery of a dead endpoint parked) with room to spare.
 */
export const LOG_SHARDS = 16;
/** The sparse GSI of records that are not delivered (PK `statusKey`, SK `sk`). */
export const STATUS_INDEX = 'status';
/** The sparse GSI of what the reconciler looks at (PK `dueShard`, SK `sweepAt`). */
export const DUE_INDEX = 'due';
/**
 * Partitions of the `due` index for deliveries (`due#0`..`due#15`): one constant partition key
 * would cap its writes at one partition's 1,000 WCU/s; `listDue` reads all sixteen (100,000 deliveries a second with 1 % slow need eleven).
 */
export const DUE_SHARDS = 16;
/** The `due` index partition of running recovery jobs. */
export const JOBS_SHARD = 'jobs';
/**
 * First attempts that succeeded, per item: one webhook's deliveries of one minute (by event
 * time) from one flush. A compact entry is about 120 bytes, so a full item is about 60 KB.
 */
const ENTRIES_PER_ITEM = 500;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The shard of a delivery's own record (a hash of its id: `get` finds it with one GetItem). */
export function shardOf(deliveryId: string): number {
  return fnv1a(deliveryId) % LOG_SHARDS;
}

/** The `due` index partition of a delivery: `due#<n>`. */
export function dueShardOf(deliveryId: string): string {
  return `due#${fnv1a(deliveryId) % DUE_SHARDS}`;
}

function logKey(accountId: string, webhookId: string, shard: number): string {
  return `${accountId}#${webhookId}#${shard}`;
}

function bucketKey(accountId: string, webhookId: string, bucket: RecordBucket, shard: number): string {
  return `${accountId}#${webhookId}#${bucket}#${shard}`;
}

function payloadKey(accountId: string, eventId: string): { pk: string; sk: string } {
  return { pk: `payload#${accountId}#${eventId}`, sk: 'payload' };
}

function bucketOf(status: DeliveryStatus, parked: boolean): RecordBucket | undefined {
  if (status === 'delivered') return undefined;
  return status === 'pending' && parked ? 'parked' : status;
}

/** A compact entry of a success item: [id, eventId, eventType, at, durationMs, statusCode, trigger]. */
type Entry = [string, string, EventType, string, number, number | null, AttemptTrigger];

type Item = Record<string, unknown>;

/**
 * The attempt log on DynamoDB (the table is described in lib/table-definitions.ts and
 * docs/design.md §7). What it stores, and what each costs:
 * - a first attempt that succeeded (nearly every delivery): a compact entry in a success item
 *   written by `writeDelivered`, one item per webhook and minute per flush, so a write unit
 *   carries several deliveries when an invocation has several for a webhook; no index write;
 * - any other delivery: its own small item (attempts, status, reason), updated per attempt
 *   (about one WRU), in the sparse `status` index while not delivered and in the `due` index
 *   while a retry waits;
 * - the payload of an event that needs a retry, a park or a skip: one item per event, written
 *   once (a container remembers the payloads it stored), read when a delivery is sent again
 *   from the log rather than from a queue message (release, sweep, recovery, manual retry).
 * No transactions (dynalite has none), only conditional updates.
 */
export class DynamoDeliveryStore implements DeliveryStore {
  /** Payload items this container wrote: not written again (a Put of the same body would bill again). */
  private readonly storedPayloads = new Set<string>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  private expiresAt(): number {
    return Math.floor(Date.now() / 1000) + this.retentionDays * DAY_SECONDS;
  }

  async get(accountId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: logKey(accountId, webhookId, shardOf(deliveryId)), sk: deliveryId }, ConsistentRead: true }),
    );
    if (out.Item) {
      const [record] = await this.withPayloads([toRecord(out.Item)]);
      return record;
    }
    return this.findSuccess(accountId, webhookId, deliveryId);
  }

  /**
   * A first-attempt success by id: the success items of its webhook whose newest id is at or
   * after it within its minute (an item never spans two), in every shard. Sixteen small Queries;
   * only ids with no record of their own come here.
   */
  private async findSuccess(accountId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
    const time = deliveryIdTime(deliveryId);
    if (!Number.isFinite(time)) return undefined;
    const end = deliveryIdLowerBound(Math.floor(time / 60_000) * 60_000 + 60_000);
    const found = await Promise.all(
      Array.from({ length: LOG_SHARDS }, async (_, shard) => {
        let startKey: Item | undefined;
        do {
          const page = await this.doc.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :id AND :end',
              ExpressionAttributeValues: { ':pk': logKey(accountId, webhookId, shard), ':id': deliveryId, ':end': end },
              ExclusiveStartKey: startKey,
            }),
          );
          for (const item of page.Items ?? []) {
            const entry = successEntries(item).find((e) => e[0] === deliveryId);
            if (entry) return entryRecord(accountId, webhookId, entry);
          }
          startKey = page.LastEvaluatedKey;
        } while (startKey);
        return undefined;
      }),
    );
    return found.find((r) => r !== undefined);
  }

  async write(w: AttemptWrite): Promise<boolean> {
    if (w.payload !== undefined && w.status !== 'delivered') await this.storePayload(w.accountId, w.eventId, w.payload);
    const shard = shardOf(w.deliveryId);
    const parked = w.parked === true && w.status === 'pending';
    const bucket = bucketOf(w.status, parked);
    const set = [
      'accountId = :accountId',
      'webhookId = :webhookId',
      'deliveryId = :deliveryId',
      'eventId = :eventId',
      'eventType = :eventType',
      'createdAt = if_not_exists(createdAt, :createdAt)',
      'updatedAt = :updatedAt',
      '#status = :status',
      'expiresAt = :expiresAt',
    ];
    // `payload`: records written before the payload moved to its own item.
    const remove: string[] = ['payload'];
    const values: Record<string, unknown> = {
      ':accountId': w.accountId,
      ':webhookId': w.webhookId,
      ':deliveryId': w.deliveryId,
      ':eventId': w.eventId,
      ':eventType': w.eventType,
      ':createdAt': w.createdAt,
      ':updatedAt': w.attempt?.at ?? new Date().toISOString(),
      ':status': w.status,
      ':expiresAt': this.expiresAt(),
      ':zero': 0,
    };
    if (w.attempt) {
      set.push('attemptCount = if_not_exists(attemptCount, :zero) + :one', 'attempts = list_append(if_not_exists(attempts, :empty), :attempt)');
      values[':one'] = 1;
      values[':empty'] = [];
      values[':attempt'] = [w.attempt];
      if (w.attempt.statusCode !== undefined) {
        set.push('lastStatusCode = :code');
        values[':code'] = w.attempt.statusCode;
      } else remove.push('lastStatusCode');
      if (w.attempt.error !== undefined) {
        set.push('lastError = :error');
        values[':error'] = w.attempt.error;
      } else remove.push('lastError');
    } else {
      set.push('attemptCount = if_not_exists(attemptCount, :zero)');
    }
    const optional: Array<[string, string | number | boolean | undefined]> = [
      ['nextAttemptAt', w.nextAttemptAt],
      ['reason', w.reason],
      ['retryIndex', w.status === 'pending' ? w.retryIndex : undefined],
      ['parked', parked ? true : undefined],
      ['statusKey', bucket ? bucketKey(w.accountId, w.webhookId, bucket, shard) : undefined],
    ];
    const due = w.status === 'pending' && !parked && w.sweepAt !== undefined;
    optional.push(['dueShard', due ? dueShardOf(w.deliveryId) : undefined], ['sweepAt', due ? w.sweepAt : undefined]);
    for (const [field, value] of optional) {
      if (value !== undefined) {
        set.push(`${field} = :${field}`);
        values[`:${field}`] = value;
      } else remove.push(field);
    }
    let condition: string | undefined;
    if (w.expectStatus) {
      const names = w.expectStatus.map((_, i) => `:expect${i}`);
      w.expectStatus.forEach((status, i) => (values[names[i] as string] = status));
      condition = `#status IN (${names.join(', ')})`;
    } else if (w.status !== 'delivered') {
      // A delivered record is final: a late failure of a duplicate never downgrades it.
      values[':delivered'] = 'delivered';
      condition = 'attribute_not_exists(#status) OR #status <> :delivered';
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: logKey(w.accountId, w.webhookId, shard), sk: w.deliveryId },
          UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
          ...(condition ? { ConditionExpression: condition } : {}),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  /** The event's payload item, once per container (the body is the same for every webhook and attempt). */
  private async storePayload(accountId: string, eventId: string, body: string): Promise<void> {
    const key = payloadKey(accountId, eventId);
    if (this.storedPayloads.has(key.pk)) return;
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...key, body, expiresAt: this.expiresAt() } }));
    if (this.storedPayloads.size >= 10_000) this.storedPayloads.clear();
    this.storedPayloads.add(key.pk);
  }

  /** Fills in the payload of records that are not delivered (BatchGetItem, a hundred keys a request). */
  private async withPayloads(records: DeliveryRecord[]): Promise<DeliveryRecord[]> {
    const wanted = [...new Set(records.filter((r) => r.status !== 'delivered' && r.payload === undefined).map((r) => `${r.accountId}\n${r.eventId}`))];
    if (wanted.length === 0) return records;
    const bodies = new Map<string, string>();
    for (let start = 0; start < wanted.length; start += BATCH_GET_MAX) {
      let keys: Item[] = wanted.slice(start, start + BATCH_GET_MAX).map((k) => {
        const [accountId = '', eventId = ''] = k.split('\n');
        return payloadKey(accountId, eventId);
      });
      for (let round = 0; keys.length > 0 && round < 5; round++) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** round));
        const out = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of out.Responses?.[this.tableName] ?? []) {
          if (typeof item.pk === 'string' && typeof item.body === 'string') bodies.set(item.pk, item.body);
        }
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
      if (keys.length > 0) throw new Error('payloads could not be read (throttled)');
    }
    return records.map((r) => {
      const body = r.payload ?? bodies.get(payloadKey(r.accountId, r.eventId).pk);
      return body === undefined ? r : { ...r, payload: body };
    });
  }

  /**
   * First attempts' successes as compact entries: grouped by webhook and minute (by event time),
   * at most {@link ENTRIES_PER_ITEM} per item, in a random shard (spreading a busy webhook's
   * writes), 25 items per `BatchWriteItem`. Unprocessed items are retried with backoff, then put
   * one by one; the writes of an item that still fails are returned.
   */
  async writeDelivered(writes: readonly AttemptWrite[]): Promise<readonly AttemptWrite[]> {
    const groups = new Map<string, AttemptWrite[]>();
    for (const w of writes) {
      const minute = Math.floor(deliveryIdTime(w.deliveryId) / 60_000);
      const key = `${w.accountId}\n${w.webhookId}\n${Number.isFinite(minute) ? minute : 'x'}`;
      const group = groups.get(key) ?? [];
      group.push(w);
      groups.set(key, group);
    }
    const items: Array<{ item: Item; writes: AttemptWrite[] }> = [];
    for (const group of groups.values()) {
      const unique = [...new Map(group.map((w) => [w.deliveryId, w])).values()].sort((a, b) => compare(b.deliveryId, a.deliveryId));
      for (let start = 0; start < unique.length; start += ENTRIES_PER_ITEM) {
        const chunk = unique.slice(start, start + ENTRIES_PER_ITEM);
        const ids = new Set(chunk.map((c) => c.deliveryId));
        // Every write of the chunk's ids (a duplicate of one in the same flush too) is owned by this item.
        items.push({ item: this.successItem(chunk), writes: group.filter((w) => ids.has(w.deliveryId)) });
      }
    }
    const failed: AttemptWrite[] = [];
    for (let start = 0; start < items.length; start += BATCH_WRITE_MAX) {
      const chunk = items.slice(start, start + BATCH_WRITE_MAX);
      const byKey = new Map(chunk.map((c) => [`${String(c.item.pk)}\n${String(c.item.sk)}`, c]));
      let requests = chunk.map((c) => ({ PutRequest: { Item: c.item } }));
      try {
        for (let round = 0; requests.length > 0 && round < BATCH_WRITE_ROUNDS; round++) {
          if (round > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** round));
          const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
          requests = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        }
      } catch {
        // The whole request failed (throttled, network): every item of the chunk falls back.
      }
      for (const request of requests) {
        const item = request.PutRequest?.Item;
        const entry = item ? byKey.get(`${String(item.pk)}\n${String(item.sk)}`) : undefined;
        if (!entry) continue;
        try {
          await this.doc.send(new PutCommand({ TableName: this.tableName, Item: entry.item }));
        } catch {
          failed.push(...entry.writes);
        }
      }
    }
    return failed;
  }

  private successItem(writes: readonly AttemptWrite[]): Item {
    const first = writes[0] as AttemptWrite;
    const entries: Entry[] = writes.map((w) => [
      w.deliveryId,
      w.eventId,
      w.eventType,
      w.attempt?.at ?? w.createdAt,
      w.attempt?.durationMs ?? 0,
      w.attempt?.statusCode ?? null,
      w.attempt?.trigger ?? 'event',
    ]);
    const newest = first.deliveryId;
    const oldest = (writes[writes.length - 1] as AttemptWrite).deliveryId;
    return {
      pk: logKey(first.accountId, first.webhookId, randomInt(LOG_SHARDS)),
      sk: `${newest}#${randomBytes(6).toString('base64url')}`,
      accountId: first.accountId,
      webhookId: first.webhookId,
      oldest,
      entries: JSON.stringify(entries),
      expiresAt: this.expiresAt(),
    };
  }

  /**
   * A webhook's log, newest first: its sixteen shards read in parallel, newest item first, and
   * merged. A success item holds ids up to its `sk`, so an entry is emitted once no unread item can
   * hold a newer one. The cursor is the last id returned plus, per shard, where to read on (at the
   * item that still holds older entries): stable, however many items are written meanwhile.
   */
  async list(accountId: string, webhookId: string, query: DeliveryQuery): Promise<Page<DeliveryRecord>> {
    if (query.status !== undefined && query.status !== 'delivered') {
      const buckets: RecordBucket[] = query.status === 'pending' ? ['pending', 'parked'] : [query.status];
      return this.queryBuckets(accountId, webhookId, buckets, { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) }, false);
    }
    const state = query.cursor ? decodeLogCursor(query.cursor) : { bound: undefined, shards: {} as Record<string, ShardResume> };
    const readers: ShardReader[] = [];
    for (let shard = 0; shard < LOG_SHARDS; shard++) {
      const resume = state.shards[String(shard)];
      if (resume === 'done') continue;
      readers.push({ shard, items: [], exhausted: false, resume, taken: [] });
    }
    const pageSize = Math.min(100, query.limit + 1);
    const fill = async (r: ShardReader) => {
      if (r.items.length > 0 || r.exhausted) return;
      const values: Record<string, unknown> = { ':pk': logKey(accountId, webhookId, r.shard) };
      let condition = 'pk = :pk';
      if (r.resume) {
        condition += r.resume.inclusive ? ' AND sk <= :upper' : ' AND sk < :upper';
        values[':upper'] = r.resume.sk;
      }
      const page = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: condition, ExpressionAttributeValues: values, ScanIndexForward: false, Limit: pageSize, ExclusiveStartKey: r.startKey }),
      );
      r.items.push(...(page.Items ?? []));
      r.startKey = page.LastEvaluatedKey;
      r.exhausted = r.startKey === undefined;
    };
    const bound = state.bound;
    const buffer = new Map<string, DeliveryRecord>();
    const emitted: DeliveryRecord[] = [];
    const emit = (newerThan: string | undefined) => {
      const ready = [...buffer.values()].filter((r) => newerThan === undefined || r.deliveryId > newerThan).sort((a, b) => compare(b.deliveryId, a.deliveryId));
      for (const record of ready) {
        buffer.delete(record.deliveryId);
        if (query.status === 'delivered' && record.status !== 'delivered') continue;
        if (emitted.length <= query.limit) emitted.push(record);
      }
    };
    while (emitted.length <= query.limit) {
      await Promise.all(readers.map(fill));
      let top: ShardReader | undefined;
      for (const r of readers) {
        const head = r.items[0];
        if (head && (!top || compare(String(head.sk), String(top.items[0]?.sk)) > 0)) top = r;
      }
      const head = top?.items.shift();
      emit(head ? newestIdOf(head) : undefined);
      if (!top || !head) break;
      const records = itemRecords(head).filter((r) => bound === undefined || r.deliveryId < bound);
      top.taken.push({ sk: String(head.sk), oldest: records.reduce((min, r) => (compare(r.deliveryId, min) < 0 ? r.deliveryId : min), '\u007f') });
      for (const record of records) {
        const known = buffer.get(record.deliveryId);
        // An id twice (a duplicate success entry, or a record of its own after a manual retry): the record wins.
        if (!known || (known.attemptCount <= 1 && isOwnRecord(head))) buffer.set(record.deliveryId, record);
      }
    }
    const more = emitted.length > query.limit;
    const items = emitted.slice(0, query.limit);
    const last = items[items.length - 1];
    if (!more || !last) return { items };
    const shards: Record<string, ShardResume> = {};
    for (let shard = 0; shard < LOG_SHARDS; shard++) {
      const r = readers.find((x) => x.shard === shard);
      if (!r) {
        shards[String(shard)] = 'done';
        continue;
      }
      const holding = r.taken.find((t) => compare(t.oldest, last.deliveryId) < 0);
      const lastTaken = r.taken[r.taken.length - 1];
      if (holding) shards[String(shard)] = { sk: holding.sk, inclusive: true };
      else if (lastTaken) shards[String(shard)] = r.exhausted && r.items.length === 0 ? 'done' : { sk: lastTaken.sk, inclusive: false };
      else if (r.exhausted && r.items.length === 0) shards[String(shard)] = 'done';
      else if (r.resume) shards[String(shard)] = r.resume;
    }
    return { items, nextCursor: encodeLogCursor(last.deliveryId, shards) };
  }

  async listBucket(accountId: string, webhookId: string, bucket: RecordBucket, query: BucketQuery): Promise<Page<DeliveryRecord>> {
    return this.queryBuckets(accountId, webhookId, [bucket], query, true);
  }

  async listParked(accountId: string, webhookId: string, query: { readonly limit: number; readonly cursor?: string }): Promise<Page<DeliveryRecord>> {
    return this.queryBuckets(accountId, webhookId, ['parked'], { ...query, ascending: true }, true);
  }

  /**
   * Buckets of the `status` index, each in its sixteen shards, queried in parallel (at most
   * `limit + 1` each) and merged by id. Individual records only, one id each, so the cursor is
   * the last id returned. Eventually consistent, as every GSI read.
   */
  private async queryBuckets(accountId: string, webhookId: string, buckets: readonly RecordBucket[], query: BucketQuery, withPayloads: boolean): Promise<Page<DeliveryRecord>> {
    const ascending = query.ascending ?? false;
    const after = query.cursor ? decodeCursor(query.cursor, ['id']).id : undefined;
    const keys = buckets.flatMap((bucket) => Array.from({ length: LOG_SHARDS }, (_, shard) => bucketKey(accountId, webhookId, bucket, shard)));
    const perKey = await Promise.all(
      keys.map(async (key) => {
        const values: Record<string, unknown> = { ':key': key };
        let condition = 'statusKey = :key';
        const low = ascending ? (after ?? query.sinceId) : query.sinceId;
        const high = ascending ? undefined : after;
        if (low !== undefined && high !== undefined) {
          condition += ' AND sk BETWEEN :low AND :high';
          values[':low'] = low;
          values[':high'] = high;
        } else if (low !== undefined) {
          condition += after !== undefined && ascending ? ' AND sk > :low' : ' AND sk >= :low';
          values[':low'] = low;
        } else if (high !== undefined) {
          condition += ' AND sk < :high';
          values[':high'] = high;
        }
        const items: Item[] = [];
        let startKey: Item | undefined;
        do {
          const page = await this.doc.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: STATUS_INDEX,
              KeyConditionExpression: condition,
              ExpressionAttributeValues: values,
              ScanIndexForward: ascending,
              Limit: query.limit + 1 - items.length,
              ExclusiveStartKey: startKey,
            }),
          );
          items.push(...(page.Items ?? []));
          startKey = page.LastEvaluatedKey;
        } while (startKey && items.length <= query.limit);
        return items;
      }),
    );
    const merged = perKey
      .flat()
      .map(toRecord)
      // BETWEEN is inclusive: the cursor's own id is not listed again.
      .filter((r) => after === undefined || r.deliveryId !== after)
      .sort((a, b) => (ascending ? compare(a.deliveryId, b.deliveryId) : compare(b.deliveryId, a.deliveryId)));
    const more = merged.length > query.limit;
    const page = merged.slice(0, query.limit);
    const items = withPayloads ? await this.withPayloads(page) : page;
    const last = items[items.length - 1];
    return { items, ...(more && last ? { nextCursor: encodeCursor({ id: last.deliveryId }) } : {}) };
  }

  /**
   * The `due` index's eight delivery shards, queried in parallel (`sweepAt < :before`, oldest
   * first, at most `limit` each), merged oldest first and cut to `limit`, payloads loaded. An
   * empty sweep costs eight empty Queries (8 × 0.5 RRU).
   */
  async listDue(before: string, limit: number): Promise<DeliveryRecord[]> {
    if (limit <= 0) return [];
    const shards = Array.from({ length: DUE_SHARDS }, (_, n) => `due#${n}`);
    const perShard = await Promise.all(shards.map((shard) => this.queryDue(shard, before, limit)));
    const due = perShard
      .flat()
      .sort((a, b) => compare(a.sweepAt ?? '', b.sweepAt ?? '') || compare(a.deliveryId, b.deliveryId))
      .slice(0, limit);
    return this.withPayloads(due);
  }

  private async queryDue(shard: string, before: string, limit: number): Promise<DeliveryRecord[]> {
    const items: DeliveryRecord[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: DUE_INDEX,
          KeyConditionExpression: 'dueShard = :shard AND sweepAt < :before',
          ExpressionAttributeValues: { ':shard': shard, ':before': before },
          ScanIndexForward: true,
          Limit: limit - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) items.push(toRecord(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return items;
  }
}

type ShardResume = { readonly sk: string; readonly inclusive: boolean } | 'done';

interface ShardReader {
  readonly shard: number;
  readonly items: Item[];
  startKey?: Item;
  exhausted: boolean;
  readonly resume: Exclude<ShardResume, 'done'> | undefined;
  /** Items taken from this shard, in order (newest first), with the oldest id each held. */
  readonly taken: Array<{ sk: string; oldest: string }>;
}

const ID_PREFIX = 'msg_';
const CURSOR_PART = /^[0-9A-Za-z_#-]{1,60}$/;

/**
 * The log cursor, compact enough for the API's 1,024-character limit with sixteen shards:
 * base64url of `<bound>.<s0>.<s1>…`, ids without their `msg_` prefix, each shard `` (from the
 * top), `d` (done), `i<sk>` (from `sk`, inclusive) or `x<sk>` (below `sk`).
 */
function encodeLogCursor(bound: string, shards: Record<string, ShardResume>): string {
  const strip = (id: string) => (id.startsWith(ID_PREFIX) ? id.slice(ID_PREFIX.length) : id);
  const parts = [strip(bound)];
  for (let shard = 0; shard < LOG_SHARDS; shard++) {
    const resume = shards[String(shard)];
    parts.push(resume === undefined ? '' : resume === 'done' ? 'd' : `${resume.inclusive ? 'i' : 'x'}${strip(resume.sk)}`);
  }
  return Buffer.from(parts.join('.')).toString('base64url');
}

function decodeLogCursor(cursor: string): { bound: string; shards: Record<string, ShardResume> } {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('.');
  const [bound, ...rest] = parts;
  if (bound === undefined || !CURSOR_PART.test(bound) || rest.length !== LOG_SHARDS) throw new InvalidCursorError();
  const shards: Record<string, ShardResume> = {};
  rest.forEach((part, shard) => {
    if (part === '') return;
    if (part === 'd') shards[String(shard)] = 'done';
    else if ((part.startsWith('i') || part.startsWith('x')) && CURSOR_PART.test(part.slice(1))) {
      shards[String(shard)] = { sk: ID_PREFIX + part.slice(1), inclusive: part.startsWith('i') };
    } else throw new InvalidCursorError();
  });
  return { bound: ID_PREFIX + bound, shards };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isOwnRecord(item: Item): boolean {
  return typeof item.entries !== 'string';
}

/** The newest delivery id an item can hold: its sort key, less a success item's writer suffix. */
function newestIdOf(item: Item): string {
  const sk = String(item.sk);
  const hash = sk.indexOf('#');
  return hash < 0 ? sk : sk.slice(0, hash);
}

function successEntries(item: Item): Entry[] {
  if (typeof item.entries !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(item.entries);
    return Array.isArray(parsed) ? (parsed as Entry[]) : [];
  } catch {
    return [];
  }
}

function entryRecord(accountId: string, webhookId: string, [deliveryId, eventId, eventType, at, durationMs, statusCode, trigger]: Entry): DeliveryRecord {
  const attempt: AttemptRecord = { at, trigger, ok: true, durationMs, ...(statusCode !== null ? { statusCode } : {}) };
  const time = deliveryIdTime(deliveryId);
  return {
    accountId,
    webhookId,
    deliveryId,
    eventId,
    eventType,
    status: 'delivered',
    attemptCount: 1,
    attempts: [attempt],
    createdAt: Number.isFinite(time) ? new Date(time).toISOString() : at,
    updatedAt: at,
    ...(statusCode !== null ? { lastStatusCode: statusCode } : {}),
  };
}

function itemRecords(item: Item): DeliveryRecord[] {
  if (isOwnRecord(item)) return [toRecord(item)];
  return successEntries(item).map((entry) => entryRecord(String(item.accountId), String(item.webhookId), entry));
}

function toRecord(item: Item): DeliveryRecord {
  const { pk: _pk, sk, expiresAt: _ttl, statusKey: _statusKey, dueShard: _due, payload: _legacy, ...rest } = item;
  return { attempts: [], attemptCount: 0, deliveryId: sk, ...rest } as unknown as DeliveryRecord;
}
