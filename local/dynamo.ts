import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { TABLE_DEFINITIONS, type TableId, toCreateTableInput } from '../lib/table-definitions';

/** A dynalite server on loopback: the local (and test) DynamoDB. */
export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

/** Any credentials and region will do for dynalite; fixed ones keep the SDK from looking further. */
export const LOCAL_AWS_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/** Starts dynalite on 127.0.0.1 (port 0 = a free one); `path` persists to disk. */
export async function startDynalite(options: { path?: string; port?: number } = {}): Promise<LocalDynamo> {
  const server = dynalite({ ...(options.path ? { path: options.path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint });
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // dynalite keeps idle keep-alive sockets; close them so the process can exit.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}

export type TableNames = Record<TableId, string>;

/** Creates the tables (from the same definitions as the CDK stack) unless they exist. */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  for (const id of Object.keys(TABLE_DEFINITIONS) as TableId[]) {
    const tableName = names[id];
    try {
      await client.send(new DescribeTableCommand({ TableName: tableName }));
      continue;
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException) && (err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
    }
    await client.send(new CreateTableCommand(toCreateTableInput(tableName, TABLE_DEFINITIONS[id])));
    await untilActive(client, tableName);
  }
}

/**
 * Waits until a table and its indexes are ACTIVE. dynalite (created with `createTableMs: 0`) gets
 * there within a tick, but a busy machine can let a first Query reach a table still CREATING,
 * which dynalite answers with ResourceNotFoundException.
 */
async function untilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (table?.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE')) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}
