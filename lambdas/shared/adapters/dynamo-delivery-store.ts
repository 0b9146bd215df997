import { BatchWriteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryRecord } from '../domain/model';
import type { AttemptWrite, DeliveryQuery, DeliveryStore, Page } from '../domain/ports';
import { decodeCursor, encodeCursor, isConditionalCheckFailed } from './dynamo-client';

const DAY_SECONDS = 86_400;
/** DynamoDB's limit of items per BatchWriteItem. */
const BATCH_WRITE_MAX = 25;
/** Rounds of BatchWriteItem for unprocessed items before falling back to one write each. */
const BATCH_WRITE_ROUNDS = 3;

/**
 * Deliveries table: partition `pk` = `<accountId>#<webhookId>`, sort `deliveryId` (time-ordered,
 * so a reverse query is newest first), TTL attribute `expiresAt`. One item per (event, webhook),
 * holding its attempts; no transactions (dynalite has none), only conditional updates.
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
}

function toRecord(item: Record<string, unknown>): DeliveryRecord {
  const { pk: _pk, expiresAt: _ttl, ...rest } = item;
  return { attempts: [], attemptCount: 0, ...rest } as unknown as DeliveryRecord;
}
