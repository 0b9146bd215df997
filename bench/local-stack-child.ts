/**
 * The local runtime (`npm start`'s engine) in its own process, with one webhook that points
 * at the bench receiver. The latency run puts events on its bus with the real EventBridge
 * client and times them to the receiver.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { generateSecret } from '../lambdas/shared/signing';
import { startLocalStack } from '../local/stack';
import { serveCommands } from './ipc';

export interface LocalStackReady {
  readonly url: string;
  readonly accountId: string;
}

async function main(): Promise<void> {
  const receiverUrl = process.env.BENCH_RECEIVER_URL;
  if (!receiverUrl) throw new Error('BENCH_RECEIVER_URL is required');
  const stack = await startLocalStack({ port: 0, dataDir: ':memory:', print: () => undefined, env: { ...process.env } });
  const accountId = 'acct_latency';
  const now = new Date().toISOString();
  const doc = DynamoDBDocumentClient.from(stack.dynamo.client);
  await doc.send(
    new PutCommand({
      TableName: stack.tables.webhooks,
      Item: {
        accountId,
        webhookId: 'wh_latency',
        name: 'latency',
        url: receiverUrl,
        eventTypes: ['NEW_VISIT', 'NEW_VISITOR'],
        description: '',
        headers: {},
        enabled: true,
        status: 'active',
        createdAt: now,
        updatedAt: now,
        secret: generateSecret(),
      },
    }),
  );
  serveCommands(
    { url: stack.url, accountId } satisfies LocalStackReady,
    {
      queues: () => ({ events: stack.queues.events.size(), retry: stack.queues.retry.size(), eventsDlq: stack.queues.eventsDlq.size() }),
    },
    () => stack.close(),
  );
}

void main();
