/**
 * The key schemas of the DynamoDB tables (docs/design.md §7), as plain data.
 *
 * The CDK store construct builds its tables from this object, and the local runtime
 * creates identical tables on dynalite from it, so the two can never drift apart.
 * Keep this module free of `aws-cdk-lib` and AWS SDK imports: it is loaded by the
 * local runtime and by tests that never touch CDK.
 */

/** DynamoDB scalar attribute types usable in a key. */
export type KeyAttributeType = 'S' | 'N' | 'B';

export interface KeyAttribute {
  readonly name: string;
  readonly type: KeyAttributeType;
}

/** A global secondary index; every index projects all attributes. */
export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDefinition {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attribute holding an expiry time in epoch seconds (set in CDK, never by API at runtime). */
  readonly ttlAttribute?: string;
  readonly indexes?: readonly IndexDefinition[];
}

export const TABLE_DEFINITIONS = {
  /**
   * One item per webhook; an account's webhooks are read with one `Query`.
   *
   * `breakers` is sparse: only a webhook whose circuit breaker is set carries `breakerShard`
   * (the constant `breakers`) and `breakerProbeAt`, so the reconciler lists them across accounts
   * with one Query. Projection ALL: the reconciler probes the endpoint, so it needs the whole
   * webhook (URL, headers, secret). KEYS_ONLY would make the index's writes smaller (and spare
   * the index write when an attribute other than its keys changes on a webhook with a breaker),
   * but each listed webhook would then cost a GetItem; with a handful of breakers either is
   * negligible, and ALL is what these definitions support.
   */
  webhooks: {
    partitionKey: { name: 'accountId', type: 'S' },
    sortKey: { name: 'webhookId', type: 'S' },
    indexes: [
      {
        indexName: 'breakers',
        partitionKey: { name: 'breakerShard', type: 'S' },
        sortKey: { name: 'breakerProbeAt', type: 'S' },
      },
    ],
  },
  /**
   * The attempt log (docs/design.md §7). Partition `pk` = `<accountId>#<webhookId>#<shard>`,
   * sixteen shards per webhook so one webhook's writes spread over sixteen partition keys (one
   * takes about 1,000 WRU/s); sort key `sk`, time-ordered, so each shard reads newest first and
   * the store merges the sixteen. Three kinds of item share it:
   * - a delivery that needed more than one attempt (or none): `sk` = its delivery id, shard = a
   *   hash of the id, mutable, holding its attempts;
   * - first attempts that succeeded, written together: `sk` = `<newest id>#<writer>`, compact
   *   entries of one webhook's deliveries within one minute, any shard, written once;
   * - other key spaces: an event's payload (`pk` = `payload#<accountId>#<eventId>`, stored once
   *   however many attempts or webhooks need it), recovery jobs (`pk` = `job#<accountId>#<webhookId>`),
   *   the rate limiter's per-second counters (`pk` = `rate#<key>`).
   * Items expire through `expiresAt`.
   *
   * Both indexes are sparse, so the successes (nearly every item) cost no index write:
   * - `status`: a delivery that is not delivered carries `statusKey` =
   *   `<accountId>#<webhookId>#<pending|parked|failed|skipped>#<shard>`: a webhook's failed,
   *   skipped, parked or pending deliveries listed without reading its log.
   * - `due`: a pending, unparked delivery carries `dueShard` (`due#0`..`due#7`) and `sweepAt`;
   *   a running recovery job carries `dueShard` = `jobs`: what the reconciler must look at.
   *
   * Projection ALL: the records are small now that the payload lives in its own item.
   */
  deliveries: {
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    ttlAttribute: 'expiresAt',
    indexes: [
      {
        indexName: 'status',
        partitionKey: { name: 'statusKey', type: 'S' },
        sortKey: { name: 'sk', type: 'S' },
      },
      {
        indexName: 'due',
        partitionKey: { name: 'dueShard', type: 'S' },
        sortKey: { name: 'sweepAt', type: 'S' },
      },
    ],
  },
  /**
   * Delivery statistics (docs/design.md §7): per webhook and UTC hour, counters (`a` attempted,
   * `d` delivered, `f` failed, `r` retried, `x` filtered out) and a latency histogram (`b0`..`b50`,
   * top-level numbers so that `ADD` can increment them). `pk` = `<accountId>#<webhookId>#<shard>`
   * with 8 shards, so one webhook's writes (one `ADD` per invocation) spread over eight partition
   * keys; `hour` = `YYYY-MM-DDTHH`, so a window is one `Query` per shard. Items expire through
   * `expiresAt` 8 days after their hour. No index.
   */
  stats: {
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'hour', type: 'S' },
    ttlAttribute: 'expiresAt',
  },
  /**
   * API keys are stored only as hashes; `byAccount` lists one account's keys by age. Portal
   * sessions (hashes too, `session#…`) live here with an `expiresAt` the table's TTL deletes.
   */
  apiKeys: {
    partitionKey: { name: 'keyHash', type: 'S' },
    ttlAttribute: 'expiresAt',
    indexes: [
      {
        indexName: 'byAccount',
        partitionKey: { name: 'accountId', type: 'S' },
        sortKey: { name: 'createdAt', type: 'S' },
      },
    ],
  },
} as const satisfies Record<string, TableDefinition>;

export type TableId = keyof typeof TABLE_DEFINITIONS;

/**
 * The structural shape of a DynamoDB `CreateTableInput` for one of the definitions
 * (assignable to the AWS SDK v3 type, without importing it). On-demand billing, as in
 * the stack. TTL is not part of CreateTable; dynalite never expires items anyway.
 */
export interface CreateTableInputShape {
  TableName: string;
  BillingMode: 'PAY_PER_REQUEST';
  AttributeDefinitions: { AttributeName: string; AttributeType: KeyAttributeType }[];
  KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  GlobalSecondaryIndexes?: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType: 'ALL' };
  }[];
}

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): CreateTableInputShape['KeySchema'] {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

/** Builds the `CreateTable` request for a table definition (used by the local runtime). */
export function toCreateTableInput(tableName: string, definition: TableDefinition): CreateTableInputShape {
  const attributes = new Map<string, KeyAttributeType>();
  const keys = [definition.partitionKey, definition.sortKey];
  for (const index of definition.indexes ?? []) keys.push(index.partitionKey, index.sortKey);
  for (const key of keys) {
    if (!key) continue;
    const known = attributes.get(key.name);
    if (known !== undefined && known !== key.type) {
      throw new Error(`attribute ${key.name} is declared as both ${known} and ${key.type}`);
    }
    attributes.set(key.name, key.type);
  }
  const indexes = definition.indexes ?? [];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    ...(indexes.length > 0
      ? {
          GlobalSecondaryIndexes: indexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }
      : {}),
  };
}
