import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { type KeyAttribute, type KeyAttributeType, TABLE_DEFINITIONS, type TableDefinition } from '../table-definitions';

export interface StoreProps {
  /**
   * Removal policy of every table.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Deletion protection on every table.
   * @default false
   */
  readonly deletionProtection?: boolean;
  /**
   * Point-in-time recovery on the deliveries table (the attempt log). The webhooks and API keys
   * tables always have it.
   * @default true
   */
  readonly deliveriesPointInTimeRecovery?: boolean;
  /**
   * Warm throughput of the deliveries table, in write units a second: what it takes at once,
   * before on-demand has adapted to the traffic (capacity model, docs/capacity.md).
   * @default - DynamoDB's (4,000 WRU/s for a new on-demand table)
   */
  readonly deliveriesWarmWrites?: number;
}

const ATTRIBUTE_TYPES: Record<KeyAttributeType, dynamodb.AttributeType> = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
  B: dynamodb.AttributeType.BINARY,
};

function toAttribute(key: KeyAttribute): dynamodb.Attribute {
  return { name: key.name, type: ATTRIBUTE_TYPES[key.type] };
}

/**
 * The DynamoDB tables (docs/design.md §7), built from {@link TABLE_DEFINITIONS}: on-demand,
 * point-in-time recovery (the deliveries table's per `deliveriesPointInTimeRecovery`), encrypted
 * with the AWS-managed key, generated names.
 */
export class Store extends Construct {
  public readonly webhooksTable: dynamodb.Table;
  public readonly deliveriesTable: dynamodb.Table;
  /** Delivery statistics: counters and latency histograms per webhook and hour (docs/design.md §7). */
  public readonly statsTable: dynamodb.Table;
  public readonly apiKeysTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StoreProps = {}) {
    super(scope, id);
    this.webhooksTable = this.createTable('WebhooksTable', TABLE_DEFINITIONS.webhooks, props, true);
    this.deliveriesTable = this.createTable('DeliveriesTable', TABLE_DEFINITIONS.deliveries, props, props.deliveriesPointInTimeRecovery ?? true, props.deliveriesWarmWrites);
    this.statsTable = this.createTable('StatsTable', TABLE_DEFINITIONS.stats, props, true);
    this.apiKeysTable = this.createTable('ApiKeysTable', TABLE_DEFINITIONS.apiKeys, props, true);
  }

  private createTable(id: string, definition: TableDefinition, props: StoreProps, pointInTimeRecovery: boolean, warmWrites?: number): dynamodb.Table {
    const table = new dynamodb.Table(this, id, {
      partitionKey: toAttribute(definition.partitionKey),
      ...(definition.sortKey ? { sortKey: toAttribute(definition.sortKey) } : {}),
      ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: pointInTimeRecovery },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
      deletionProtection: props.deletionProtection ?? false,
      ...(warmWrites !== undefined ? { warmThroughput: { writeUnitsPerSecond: warmWrites } } : {}),
    });
    for (const index of definition.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: toAttribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: toAttribute(index.sortKey) } : {}),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }
}
