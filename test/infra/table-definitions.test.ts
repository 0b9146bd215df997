import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { TABLE_DEFINITIONS, type TableId, toCreateTableInput } from '../../lib/table-definitions';

describe('TABLE_DEFINITIONS', () => {
  it('describes the key schemas of docs/design.md §7', () => {
    expect(TABLE_DEFINITIONS).toEqual({
      webhooks: {
        partitionKey: { name: 'accountId', type: 'S' },
        sortKey: { name: 'webhookId', type: 'S' },
        indexes: [{ indexName: 'breakers', partitionKey: { name: 'breakerShard', type: 'S' }, sortKey: { name: 'breakerProbeAt', type: 'S' } }],
      },
      deliveries: {
        partitionKey: { name: 'pk', type: 'S' },
        sortKey: { name: 'sk', type: 'S' },
        ttlAttribute: 'expiresAt',
        indexes: [
          { indexName: 'status', partitionKey: { name: 'statusKey', type: 'S' }, sortKey: { name: 'sk', type: 'S' } },
          { indexName: 'due', partitionKey: { name: 'dueShard', type: 'S' }, sortKey: { name: 'sweepAt', type: 'S' } },
        ],
      },
      stats: {
        partitionKey: { name: 'pk', type: 'S' },
        sortKey: { name: 'hour', type: 'S' },
        ttlAttribute: 'expiresAt',
      },
      apiKeys: {
        partitionKey: { name: 'keyHash', type: 'S' },
        // Portal sessions expire by TTL (API keys carry no expiresAt and never do).
        ttlAttribute: 'expiresAt',
        indexes: [{ indexName: 'byAccount', partitionKey: { name: 'accountId', type: 'S' }, sortKey: { name: 'createdAt', type: 'S' } }],
      },
    });
  });

  it('builds CreateTable requests that declare each key attribute once', () => {
    expect(toCreateTableInput('keys', TABLE_DEFINITIONS.apiKeys)).toEqual({
      TableName: 'keys',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'keyHash', AttributeType: 'S' },
        { AttributeName: 'accountId', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'keyHash', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byAccount',
          KeySchema: [
            { AttributeName: 'accountId', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
    // The table's sort key doubles as the status index's: declared once.
    expect(toCreateTableInput('deliveries', TABLE_DEFINITIONS.deliveries)).toMatchObject({
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'statusKey', AttributeType: 'S' },
        { AttributeName: 'dueShard', AttributeType: 'S' },
        { AttributeName: 'sweepAt', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        expect.objectContaining({ IndexName: 'status', Projection: { ProjectionType: 'ALL' } }),
        expect.objectContaining({ IndexName: 'due', Projection: { ProjectionType: 'ALL' } }),
      ],
    });
    expect(() =>
      toCreateTableInput('bad', { partitionKey: { name: 'a', type: 'S' }, indexes: [{ indexName: 'i', partitionKey: { name: 'a', type: 'N' } }] }),
    ).toThrow(/declared as both S and N/);
  });

  describe('on dynalite (the local store)', () => {
    const server = dynalite({ createTableMs: 0 });
    let client: DynamoDBClient;

    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const { port } = server.address() as AddressInfo;
      client = new DynamoDBClient({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
    });
    afterAll(async () => {
      client.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    });

    it.each(Object.keys(TABLE_DEFINITIONS) as TableId[])('creates the %s table with the same keys and indexes', async (id) => {
      const input = toCreateTableInput(`test-${id}`, TABLE_DEFINITIONS[id]);
      await client.send(new CreateTableCommand(input));
      const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
      expect(Table?.KeySchema).toEqual(input.KeySchema);
      expect(Table?.AttributeDefinitions).toEqual(expect.arrayContaining(input.AttributeDefinitions));
      expect((Table?.GlobalSecondaryIndexes ?? []).map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema }))).toEqual(
        (input.GlobalSecondaryIndexes ?? []).map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema })),
      );
    });
  });
});
