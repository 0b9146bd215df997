import { BatchWriteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryRecord } from '../domain/model';
import type { AttemptWrite, DeliveryQuery, DeliveryStore, Page } from '../domain/ports';
import { decodeCursor, encodeCursor, isConditionalCheckFailed } from './dynamo-client';

const DAY_SECONDS = 86_400;
/** DynamoDB's limit of items per BatchWriteItem. */
const BATCH_WRITE_MAX = 25;
/** Rounds of BatchWriteItem for unprocessed items before falling back to one write each. */
const BATCH_WRITE_ROUNDS = 3;

/** The sparse GSI of parked deliveries (PK `parkedPk` = the record's `pk`, SK `deliveryId`). */
export const PARKED_INDEX = 'parked';
/** The sparse GSI of pending, unparked deliveries with a next attempt (PK `dueShard`, SK `nextAttemptAt`). */
export const DUE_INDEX = 'due';
/**
 * Partitions of the `due` index: one constant partition key would cap its writes at one
 * partition's 1,000 WCU/s; eight spread them, and `listOverdue` reads the eight.
 */
export const DUE_SHARDS = 8;

/** The `due` index partition of a delivery: `due#<n>`, n = FNV-1a of its id modulo {@link DUE_SHARDS}. */
export function dueShardOf(deliveryId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < deliveryId.length; i++) {
    hash ^= deliveryId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `due#${hash % DUE_SHARDS}`;
}

/**
 * Deliveries table: partition `pk` = `<accountId>#<webhookId>`, sort `deliveryId` (time-ordered,
 * so a reverse query is newest first), TTL attribute `expiresAt`. One item per (event, webhook),
 * holding its attempts; no transactions (dynalite has none), only conditional updates.
 *
 * Two sparse GSIs, kept by `write` at no extra request (the attributes ride on the same update):
 * - `parked`: a parked record (pending, breaker open) carries `parkedPk` = its `pk`, so a
 *   webhook's parked deliveries are one Query, oldest first, however long its log.
 * - `due`: a pending, unparked record with a `nextAttemptAt` carries `dueShard` (`due#0`..`due#7`),
 *   so the overdue sweep reads eight small partitions instead of scanning the table.
 * Every other write REMOVEs them (the item leaves the index), and `writeDelivered`, the hot path
 * of first-attempt successes, never sets them: delivered records cost no index write at all.
 * `toRecord` strips both; `parked` is read back from `parkedPk`.
 */
export class DynamoDeliveryStore implements DeliveryStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  private static pk(accountId: string, webhookId: string): string {
    return `${accountId}#${webhookId}`;
  }

  async get(accountId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: DynamoDeliveryStore.pk(accountId, webhookId), deliveryId }, ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async write(w: AttemptWrite): Promise<void> {
    const set = [
      'accountId = :accountId',
      'webhookId = :webhookId',
      'eventId = :eventId',
      'eventType = :eventType',
      'createdAt = if_not_exists(createdAt, :createdAt)',
      'updatedAt = :updatedAt',
      '#status = :status',
      'expiresAt = :expiresAt',
    ];
    const remove: string[] = [];
    const values: Record<string, unknown> = {
      ':accountId': w.accountId,
      ':webhookId': w.webhookId,
      ':eventId': w.eventId,
      ':eventType': w.eventType,
      ':createdAt': w.createdAt,
      ':updatedAt': w.attempt?.at ?? new Date().toISOString(),
      ':status': w.status,
      ':expiresAt': Math.floor(Date.now() / 1000) + this.retentionDays * DAY_SECONDS,
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
    const optional: Array<[string, string | undefined]> = [
      ['nextAttemptAt', w.nextAttemptAt],
      ['reason', w.reason],
    ];
    for (const [field, value] of optional) {
      if (value !== undefined) {
        set.push(`${field} = :${field}`);
        values[`:${field}`] = value;
      } else remove.push(field);
    }
    // The payload stays while the delivery may be sent again; a delivered record drops it.
    if (w.status === 'delivered') remove.push('payload');
    else if (w.payload !== undefined) {
      set.push('payload = :payload');
      values[':payload'] = w.payload;
    }
    // The retry index of a pending record's next attempt (a sweep or release re-queues it as it was).
    if (w.status === 'pending' && w.retryIndex !== undefined) {
      set.push('retryIndex = :retryIndex');
      values[':retryIndex'] = w.retryIndex;
    } else remove.push('retryIndex');
    // Only a pending record can be parked (released later) or overdue (swept).
    const parked = w.parked === true && w.status === 'pending';
    if (parked) {
      set.push('parkedPk = :parkedPk');
      values[':parkedPk'] = DynamoDeliveryStore.pk(w.accountId, w.webhookId);
    } else remove.push('parkedPk');
    if (w.status === 'pending' && !parked && w.nextAttemptAt !== undefined) {
      set.push('dueShard = :dueShard');
      values[':dueShard'] = dueShardOf(w.deliveryId);
    } else remove.push('dueShard');
    const final = w.status === 'delivered';
    if (!final) values[':delivered'] = 'delivered';
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: DynamoDeliveryStore.pk(w.accountId, w.webhookId), deliveryId: w.deliveryId },
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          // A delivered record is final: a late failure of a duplicate never downgrades it.
          ...(final ? {} : { ConditionExpression: 'attribute_not_exists(#status) OR #status <> :delivered' }),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  /**
   * First attempts' `delivered` records, 25 per `BatchWriteItem` (puts: the item is new, and a
   * delivered record is final anyway). Unprocessed items are retried with backoff, then written
   * one by one with the conditional update; what still fails is returned.
   */
  async writeDelivered(writes: readonly AttemptWrite[]): Promise<readonly AttemptWrite[]> {
    const failed: AttemptWrite[] = [];
    for (let start = 0; start < writes.length; start += BATCH_WRITE_MAX) {
      const chunk = writes.slice(start, start + BATCH_WRITE_MAX);
      const byKey = new Map(chunk.map((w) => [`${DynamoDeliveryStore.pk(w.accountId, w.webhookId)}\n${w.deliveryId}`, w]));
      let requests = chunk.map((w) => ({ PutRequest: { Item: this.deliveredItem(w) } }));
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
        const item = request.PutRequest?.Item as { pk?: string; deliveryId?: string } | undefined;
        const write = item ? byKey.get(`${item.pk}\n${item.deliveryId}`) : undefined;
        if (!write) continue;
        try {
          await this.write(write);
        } catch {
          failed.push(write);
        }
      }
    }
    return failed;
  }

  private deliveredItem(w: AttemptWrite): Record<string, unknown> {
    const attempt = w.attempt;
    return {
      pk: DynamoDeliveryStore.pk(w.accountId, w.webhookId),
      deliveryId: w.deliveryId,
      accountId: w.accountId,
      webhookId: w.webhookId,
      eventId: w.eventId,
      eventType: w.eventType,
      createdAt: w.createdAt,
      updatedAt: attempt?.at ?? new Date().toISOString(),
      status: 'delivered',
      expiresAt: Math.floor(Date.now() / 1000) + this.retentionDays * DAY_SECONDS,
      attemptCount: attempt ? 1 : 0,
      attempts: attempt ? [attempt] : [],
      ...(attempt?.statusCode !== undefined ? { lastStatusCode: attempt.statusCode } : {}),
      ...(attempt?.error !== undefined ? { lastError: attempt.error } : {}),
    };
  }

  async list(accountId: string, webhookId: string, query: DeliveryQuery): Promise<Page<DeliveryRecord>> {
    const pk = DynamoDeliveryStore.pk(accountId, webhookId);
    let startKey: Record<string, unknown> | undefined = query.cursor ? { pk, ...decodeCursor(query.cursor, ['deliveryId']) } : undefined;
    const items: DeliveryRecord[] = [];
    const values: Record<string, unknown> = { ':pk': pk };
    let keyCondition = 'pk = :pk';
    if (query.sinceId) {
      keyCondition += ' AND deliveryId >= :since';
      values[':since'] = query.sinceId;
    }
    if (query.status) values[':status'] = query.status;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: keyCondition,
          ScanIndexForward: query.ascending ?? false,
          Limit: query.limit,
          ExclusiveStartKey: startKey,
          ...(query.status ? { FilterExpression: '#status = :status', ExpressionAttributeNames: { '#status': 'status' } } : {}),
          ExpressionAttributeValues: values,
        }),
      );
      for (const item of page.Items ?? []) items.push(toRecord(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length < query.limit);
    const trimmed = items.length > query.limit;
    if (trimmed) items.length = query.limit;
    const last = items[items.length - 1];
    const more = (trimmed || startKey !== undefined) && last !== undefined;
    return { items, ...(more ? { nextCursor: encodeCursor({ deliveryId: last.deliveryId }) } : {}) };
  }

  /**
   * One Query of the sparse `parked` index per page (usually one), oldest first, one item more
   * than asked so there is no empty last page. Eventually consistent, as every GSI read: a record
   * parked or released a moment ago may be missing or still listed (the release re-reads it).
   */
  async listParked(accountId: string, webhookId: string, query: { readonly limit: number; readonly cursor?: string }): Promise<Page<DeliveryRecord>> {
    const pk = DynamoDeliveryStore.pk(accountId, webhookId);
    let startKey: Record<string, unknown> | undefined = query.cursor ? { parkedPk: pk, pk, ...decodeCursor(query.cursor, ['deliveryId']) } : undefined;
    const items: DeliveryRecord[] = [];
    let exhausted = false;
    while (items.length <= query.limit && !exhausted) {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: PARKED_INDEX,
          KeyConditionExpression: 'parkedPk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ScanIndexForward: true,
          Limit: query.limit + 1 - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) items.push(toRecord(item));
      startKey = page.LastEvaluatedKey;
      exhausted = startKey === undefined;
    }
    const more = items.length > query.limit;
    if (more) items.length = query.limit;
    const last = items[items.length - 1];
    return { items, ...(more && last ? { nextCursor: encodeCursor({ deliveryId: last.deliveryId }) } : {}) };
  }

  /**
   * The `due` index's eight shards, queried in parallel (`nextAttemptAt < :before`, oldest first,
   * at most `limit` each, paged only past DynamoDB's 1 MB), merged oldest first and cut to `limit`.
   * An empty sweep costs eight empty Queries (8 × 0.5 RRU); a full one reads at most 8 × limit items.
   */
  async listOverdue(before: string, limit: number): Promise<DeliveryRecord[]> {
    if (limit <= 0) return [];
    const shards = Array.from({ length: DUE_SHARDS }, (_, n) => `due#${n}`);
    const perShard = await Promise.all(shards.map((shard) => this.queryDue(shard, before, limit)));
    return perShard
      .flat()
      .sort((a, b) => compare(a.nextAttemptAt ?? '', b.nextAttemptAt ?? '') || compare(a.deliveryId, b.deliveryId))
      .slice(0, limit);
  }

  private async queryDue(shard: string, before: string, limit: number): Promise<DeliveryRecord[]> {
    const items: DeliveryRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: DUE_INDEX,
          KeyConditionExpression: 'dueShard = :shard AND nextAttemptAt < :before',
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

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toRecord(item: Record<string, unknown>): DeliveryRecord {
  const { pk: _pk, expiresAt: _ttl, parkedPk, dueShard: _due, ...rest } = item;
  return { attempts: [], attemptCount: 0, ...rest, ...(parkedPk !== undefined ? { parked: true } : {}) } as unknown as DeliveryRecord;
}
