/**
 * dynalite in its own process: in AWS, DynamoDB's work is not done by the Lambda, so the
 * measured process must not pay for it either. Creates and drops the bench's tables on request.
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { ensureTables, startDynalite, type TableNames } from '../local/dynamo';
import { serveCommands } from './ipc';

export interface DynamoReady {
  readonly endpoint: string;
}

async function main(): Promise<void> {
  const dynamo = await startDynalite();
  serveCommands(
    { endpoint: dynamo.endpoint } satisfies DynamoReady,
    {
      tables: async (payload) => {
        await ensureTables(dynamo.client, payload as TableNames);
        return true;
      },
      drop: async (payload) => {
        for (const name of Object.values(payload as TableNames)) await dynamo.client.send(new DeleteTableCommand({ TableName: name }));
        return true;
      },
      cpu: () => {
        const cpu = process.cpuUsage();
        return cpu.user + cpu.system;
      },
    },
    () => dynamo.close(),
  );
}

void main();
