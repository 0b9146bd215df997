/**
 * The local runtime (`npm start`'s engine, in-memory data) in its own process for the isolation
 * bench: the bench adds the webhooks it needs (`webhooks`), puts events on the bus with the real
 * EventBridge client and times them to its receivers. `queues` reports the queue depths, so the
 * bench can say where events were waiting.
 */
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack } from '../local/stack';
import { webhookFixture } from '../local/harness/webhook-fixture';
import { serveCommands } from './ipc';

export interface IsolationStackReady {
  readonly url: string;
}

export interface IsolationWebhookSpec {
  readonly accountId: string;
  readonly webhookId: string;
  readonly url: string;
  /** Deliveries per second (the webhook's `rateLimit`). */
  readonly rateLimit?: number;
}

export interface IsolationQueueDepths {
  /** Messages on the events queue not deleted yet (visible or in flight). */
  readonly events: number;
  /** Of those, visible (waiting for a consumer). */
  readonly eventsVisible: number;
  readonly retry: number;
  readonly eventsDlq: number;
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ port: 0, dataDir: ':memory:', print: () => undefined, env: { ...process.env } });
  const doc = DynamoDBDocumentClient.from(stack.dynamo.client);
  serveCommands(
    { url: stack.url } satisfies IsolationStackReady,
    {
      webhooks: async (payload) => {
        const specs = payload as IsolationWebhookSpec[];
        for (const s of specs) {
          const item = webhookFixture({ accountId: s.accountId, webhookId: s.webhookId, name: s.webhookId, url: s.url, ...(s.rateLimit ? { rateLimit: s.rateLimit } : {}) });
          await doc.send(new PutCommand({ TableName: stack.tables.webhooks, Item: item }));
        }
        return specs.length;
      },
      queues: (): IsolationQueueDepths => ({
        events: stack.queues.events.size(),
        eventsVisible: stack.queues.events.visibleCount(),
        retry: stack.queues.retry.size(),
        eventsDlq: stack.queues.eventsDlq.size(),
      }),
    },
    () => stack.close(),
  );
}

void main();
