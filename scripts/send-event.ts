/**
 * Publishes a sample visit event (the customer guide's payload) on the bus.
 *
 *   npm run send-event -- NEW_VISIT --account acc_123            (the local stack of `npm start`)
 *   npm run send-event -- NEW_VISITOR --account acc_123 --bus Webhooks-prod-bus --aws
 *
 * Local: the running `npm start` stack, found by --url, WEBHOOKS_LOCAL_URL or PORT when given, else
 * by the address `npm start` writes to its data dir (local/stack-address.ts), else port 3000; when
 * none answers, it says where it looked.
 * --aws: the real EventBridge of your AWS credentials and region (give the bus name or ARN).
 */
import '../local/sdk-notice';
import { parseArgs } from 'node:util';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { isVisitEventType } from '../lambdas/shared/contract';
import { publishVisitEvent } from '../lambdas/shared/adapters/eventbridge-publisher';
import { SAMPLE_PAYLOADS } from '../lambdas/shared/sample-payloads';
import { findLocalStack } from '../local/stack-address';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      account: { type: 'string' },
      bus: { type: 'string', default: 'default' },
      source: { type: 'string' },
      aws: { type: 'boolean', default: false },
      url: { type: 'string' },
      /** The former name of --url. */
      endpoint: { type: 'string' },
      count: { type: 'string', default: '1' },
    },
  });
  const eventType = positionals[0];
  if (!isVisitEventType(eventType) || !values.account) {
    throw new Error('usage: npm run send-event -- NEW_VISIT|NEW_VISITOR --account <accountId> [--count N] [--url http://127.0.0.1:<port>] [--bus name] [--aws]');
  }
  const url = values.url ?? values.endpoint;
  const endpoint = values.aws ? undefined : (await findLocalStack(url !== undefined ? { url } : {})).url;
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
