/**
 * The local runtime (`npm start`'s engine) in its own process, with one webhook that points
 * at the bench receiver. The latency run puts events on its bus with the real EventBridge
 * client and times them to the receiver.
 */
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack } from '../local/stack';
import { webhookFixture } from '../local/harness/webhook-fixture';
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
  const webhook = webhookFixture({ accountId, webhookId: 'wh_latency', name: 'latency', url: receiverUrl });
  await DynamoDBDocumentClient.from(stack.dynamo.client).send(new PutCommand({ TableName: stack.tables.webhooks, Item: webhook }));
  serveCommands(
    { url: stack.url, accountId } satisfies LocalStackReady,
    {
      queues: () => ({ events: stack.queues.events.size(), retry: stack.queues.retry.size(), eventsDlq: stack.queues.eventsDlq.size() }),
    },
    () => stack.close(),
  );
}

void main();
