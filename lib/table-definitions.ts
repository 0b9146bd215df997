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
   * The attempt log: `pk` = `<accountId>#<webhookId>`, `deliveryId` time-sortable, so
   * `ScanIndexForward: false` lists newest first. Items expire through `expiresAt`. It also
   * holds the rate limiter's per-second counters (`pk` = `rate#<key>`, in no index).
   *
   * Both indexes are sparse, so a delivered record (nearly all of them) costs no index write:
   * - `parked`: only parked records carry `parkedPk` (= their `pk`): a webhook's parked
   *   deliveries, oldest first.
   * - `due`: only pending, unparked records with a next attempt carry `dueShard` (`due#0`..`due#7`,
   *   eight partitions against a hot key): the overdue sweep, oldest `nextAttemptAt` first.
   *
   * Projection ALL. KEYS_ONLY would be cheaper per index write (a parked or pending record holds
   * its signed payload, up to a few KB, and each write of it is copied into the index, billed per
   * KB) and in index storage, but releasing or re-sending a listed delivery needs that payload:
   * with KEYS_ONLY each listed record would cost a GetItem on the table (a read per delivery on
   * top of the index read), and the release drains thousands of parked records. ALL trades the
   * index copy for those reads; it is also the only projection these definitions support.
   */
  deliveries: {
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'deliveryId', type: 'S' },
    ttlAttribute: 'expiresAt',
    indexes: [
      {
        indexName: 'parked',
        partitionKey: { name: 'parkedPk', type: 'S' },
        sortKey: { name: 'deliveryId', type: 'S' },
      },
      {
        indexName: 'due',
        partitionKey: { name: 'dueShard', type: 'S' },
        sortKey: { name: 'nextAttemptAt', type: 'S' },
      },
    ],
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
