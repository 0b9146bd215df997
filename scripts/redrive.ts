/**
 * Inspect and redrive the dead-letter queues.
 *
 *   npm run redrive -- --stack Webhooks-prod [--queue all|events|rule|retry|failed] [--dry-run] [--max N]
 *   npm run redrive -- --outputs-file outputs.json ...   (from `cdk deploy --outputs-file`)
 *   npm run redrive -- --local [...]                       (a running `npm start`)
 *
 * `--dry-run` only counts messages by reason. Safe to run twice: each message is moved once
 * (send, then delete), and a duplicate move is dropped by the consumers' idempotency.
 */
import '../local/sdk-notice';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsRedriveQueue } from '../lambdas/shared/adapters/sqs-redrive-queue';
import { redrive } from '../lambdas/shared/domain/redrive';

/** Which DLQ drains into which queue, by stack output name. */
export const ROUTES = {
  events: { from: 'EventsDlqUrl', to: 'EventsQueueUrl' },
  rule: { from: 'RuleDlqUrl', to: 'EventsQueueUrl' },
  retry: { from: 'RetryDlqUrl', to: 'RetryQueueUrl' },
  failed: { from: 'FailedDeliveriesQueueUrl', to: 'RetryQueueUrl' },
} as const;
type Route = keyof typeof ROUTES;

async function stackOutputs(stack: string): Promise<Record<string, string>> {
  const out = await new CloudFormationClient({}).send(new DescribeStacksCommand({ StackName: stack }));
  const outputs = out.Stacks?.[0]?.Outputs ?? [];
  return Object.fromEntries(outputs.map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
}

function fileOutputs(path: string): Record<string, string> {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, string>>;
  const first = Object.values(parsed)[0];
  if (!first) throw new Error(`${path} holds no stack outputs`);
  return first;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stack: { type: 'string' },
      'outputs-file': { type: 'string' },
      local: { type: 'boolean', default: false },
      queue: { type: 'string', default: 'all' },
      'dry-run': { type: 'boolean', default: false },
      max: { type: 'string' },
    },
  });
  const routes: Route[] = values.queue === 'all' ? (Object.keys(ROUTES) as Route[]) : [values.queue as Route];
  for (const r of routes) if (!(r in ROUTES)) throw new Error(`--queue must be all, ${Object.keys(ROUTES).join(', ')}`);
  const max = values.max !== undefined ? Number(values.max) : undefined;
  const dryRun = values['dry-run'] ?? false;

  if (values.local) {
    const base = process.env.WEBHOOKS_LOCAL_URL ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}`;
    for (const queue of routes) {
      const res = await fetch(`${base}/_local/redrive`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ queue, dryRun, ...(max !== undefined ? { max } : {}) }),
      });
      if (!res.ok) throw new Error(`local redrive of ${queue} failed: HTTP ${res.status} ${await res.text()}`);
      console.log(JSON.stringify({ queue, ...((await res.json()) as object) }));
    }
    return;
  }

  const outputs = values.stack ? await stackOutputs(values.stack) : values['outputs-file'] ? fileOutputs(values['outputs-file']) : undefined;
  if (!outputs) throw new Error('give --stack <name>, --outputs-file <file> or --local');
  const sqs = new SQSClient({});
  for (const queue of routes) {
    const { from, to } = ROUTES[queue];
    const source = outputs[from];
    const target = outputs[to];
    if (!source || !target) throw new Error(`stack outputs lack ${from} or ${to}`);
    const dlq = new SqsRedriveQueue(sqs, source);
    const depth = await dlq.depth();
    const result = await redrive(dlq, new SqsRedriveQueue(sqs, target), { dryRun, ...(max !== undefined ? { max } : {}) });
    console.log(JSON.stringify({ queue, depth, moved: result.moved, reasons: result.reasons, dryRun }));
  }
}

// Run only as a script: tests import ROUTES to check them against the stack's outputs.
if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
