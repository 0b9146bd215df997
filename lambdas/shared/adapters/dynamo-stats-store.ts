import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { emptyCounts, LATENCY_BINS, STATS_RETENTION_DAYS, STATS_SHARDS } from '../domain/delivery-stats';
import type { StatsCounts, StatsStore } from '../domain/ports';

/** The counters' attribute names (short: every name is stored, and billed, in every item). */
const COUNTERS = { attempted: 'a', delivered: 'd', failed: 'f', retried: 'r', filteredOut: 'x' } as const satisfies Record<Exclude<keyof StatsCounts, 'latency'>, string>;

/**
 * The statistics table (lib/table-definitions.ts `stats`): one item per (webhook, hour, shard),
 * counters and latency bins as top-level numbers incremented with `ADD` (DynamoDB adds to a
 * missing attribute as to 0, and `ADD` works only on top-level attributes).
 *
 * Cost: an `add` is one `UpdateItem`; an item holds at most 5 counters and 51 bins (short names),
 * under 1 KB, so 1 WRU, whatever it adds. A `read` of a window is one `Query` per shard (8),
 * at most 168 items each (7 days), eventually consistent.
 */
export class DynamoStatsStore implements StatsStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly random: () => number = Math.random,
  ) {}

  async add(accountId: string, webhookId: string, hour: string, counts: StatsCounts): Promise<void> {
    const values: Record<string, number> = {};
    const adds: string[] = [];
    for (const [field, name] of Object.entries(COUNTERS) as [keyof typeof COUNTERS, string][]) {
      if (counts[field] > 0) {
        adds.push(`${name} :${name}`);
        values[`:${name}`] = counts[field];
      }
    }
    for (const [bin, n] of Object.entries(counts.latency)) {
      const index = Number(bin);
      if (!(n > 0) || !Number.isInteger(index) || index < 0 || index >= LATENCY_BINS) continue;
      adds.push(`b${index} :b${index}`);
      values[`:b${index}`] = n;
    }
    if (adds.length === 0) return;
    const shard = Math.min(STATS_SHARDS - 1, Math.floor(this.random() * STATS_SHARDS));
    const expiresAt = Math.floor(Date.parse(`${hour}:00:00Z`) / 1000) + STATS_RETENTION_DAYS * 86_400;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `${accountId}#${webhookId}#${shard}`, hour },
        UpdateExpression: `ADD ${adds.join(', ')} SET expiresAt = :expiresAt`,
        ExpressionAttributeValues: { ...values, ':expiresAt': expiresAt },
      }),
    );
  }

  async read(accountId: string, webhookId: string, fromHour: string, toHour: string): Promise<Array<{ hour: string; counts: StatsCounts }>> {
    const byHour = new Map<string, StatsCounts>();
    await Promise.all(
      Array.from({ length: STATS_SHARDS }, async (_, shard) => {
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await this.doc.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'pk = :pk AND #hour BETWEEN :from AND :to',
              ExpressionAttributeNames: { '#hour': 'hour' },
              ExpressionAttributeValues: { ':pk': `${accountId}#${webhookId}#${shard}`, ':from': fromHour, ':to': toHour },
              ExclusiveStartKey: startKey,
            }),
          );
          for (const item of page.Items ?? []) {
            const hour = String(item.hour);
            let counts = byHour.get(hour);
            if (!counts) {
              counts = emptyCounts();
              byHour.set(hour, counts);
            }
            for (const [field, name] of Object.entries(COUNTERS) as [keyof typeof COUNTERS, string][]) counts[field] += Number(item[name] ?? 0);
            for (let bin = 0; bin < LATENCY_BINS; bin++) {
              const n = Number(item[`b${bin}`] ?? 0);
              if (n > 0) counts.latency[bin] = (counts.latency[bin] ?? 0) + n;
            }
          }
          startKey = page.LastEvaluatedKey;
        } while (startKey);
      }),
    );
    return [...byHour.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([hour, counts]) => ({ hour, counts }));
  }
}
