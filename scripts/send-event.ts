/**
 * Publishes a sample visit event (the customer guide's payload) on the bus.
 *
 *   npm run send-event -- NEW_VISIT --account acc_123            (the local stack of `npm start`)
 *   npm run send-event -- NEW_VISITOR --account acc_123 --bus Webhooks-prod-bus --aws
 *
 * Local: the EventBridge endpoint is WEBHOOKS_LOCAL_URL or http://127.0.0.1:${PORT:-3000}.
 * --aws: the real EventBridge of your AWS credentials and region (give the bus name or ARN).
 */
import { parseArgs } from 'node:util';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { isVisitEventType } from '../lambdas/shared/contract';
import { publishVisitEvent } from '../lambdas/shared/adapters/eventbridge-publisher';
import { SAMPLE_PAYLOADS } from '../lambdas/shared/sample-payloads';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      account: { type: 'string' },
      bus: { type: 'string', default: 'default' },
      source: { type: 'string' },
      aws: { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      count: { type: 'string', default: '1' },
    },
  });
  const eventType = positionals[0];
  if (!isVisitEventType(eventType) || !values.account) {
    throw new Error('usage: npm run send-event -- NEW_VISIT|NEW_VISITOR --account <accountId> [--count N] [--bus name] [--aws]');
  }
  const endpoint = values.aws ? undefined : (values.endpoint ?? process.env.WEBHOOKS_LOCAL_URL ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}`);
  const client = new EventBridgeClient(
    endpoint ? { endpoint, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {},
  );
  const count = Math.max(1, Number(values.count));
  const events = Array.from({ length: count }, () => ({
    eventType,
    accountId: values.account as string,
    data: { ...SAMPLE_PAYLOADS[eventType] },
  }));
  const ids = await publishVisitEvent(client, events, { eventBusName: values.bus ?? 'default', ...(values.source ? { source: values.source } : {}) });
  console.log(JSON.stringify({ published: ids.length, eventIds: ids, eventType, accountId: values.account, endpoint: endpoint ?? 'aws' }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
