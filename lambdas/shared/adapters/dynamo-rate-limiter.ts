import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RateLimiter } from '../domain/ports';
import { isConditionalCheckFailed } from './dynamo-client';

/** Counters outlive their second by this much before the table's TTL may delete them. */
const COUNTER_TTL_SECONDS = 120;

/**
 * A webhook's rate limit, shared by every consumer: a fixed one-second window counter per key,
 * kept in the deliveries table (item `pk` = `rate#<key>`, `sk` = `s#<epochSecond>`,
 * count `n`, `expiresAt` = second + 120 for the table's TTL). Its keys never collide with a
 * delivery's (those partition keys start with an account id), and it carries no index attribute, so it is in
 * neither GSI.
 *
 * Cost: one conditional `UpdateItem` (`ADD n :one`, condition `attribute_not_exists(n) OR
 * n < :limit`) per `tryTake`, i.e. one write (1 WRU, the item is far below 1 KB) per delivery of
 * a rate-limited webhook, and also per refused take (a failed condition is billed as a write).
 * Webhooks without a limit never call it. TTL deletes are free.
 *
 * Limits, by design: a fixed window lets up to 2 × the limit through across a second boundary;
 * one key's counters share a partition key, so a key sustains about 1,000 takes a second
 * (DynamoDB's per-partition write rate), the highest limit allowed (1,000 a second). Callers
 * should wait for the next second after a refusal rather than retry at once.
 */
export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** True when one more take fits in the second of `nowMs`; false (no request) for a limit below 1. */
  async tryTake(key: string, perSecond: number, nowMs: number): Promise<boolean> {
    const limit = Math.floor(perSecond);
    if (!(limit >= 1)) return false;
    const second = Math.floor(nowMs / 1000);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `rate#${key}`, sk: `s#${second}` },
          UpdateExpression: 'ADD n :one SET expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(n) OR n < :limit',
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expiresAt': second + COUNTER_TTL_SECONDS },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }
}
