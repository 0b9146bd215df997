/**
 * `npx tsx bench/memory.ts`: peak RSS and duration of the delivery handler per invocation, for
 * single events and batch entries (docs/design.md §4), to size the functions' memory
 * (docs/performance.md, "Memory and duration"). One process per case (a fresh heap), each running
 * the real handler (createDeliveryHandler on createDeliveryRuntime, Powertools included) on
 * batches of `--records` queue records (the mapping's batch size, 10) against real HTTP receivers, one origin per account, answering
 * after `--endpoint-ms`. DynamoDB is answered in memory (its client's sockets would otherwise be
 * the bottleneck on this shared machine); the attempt log's batch write is a no-op.
 *
 *   npx tsx bench/memory.ts [--batches 20] [--endpoint-ms 50] [--accounts 40] [--records 10] [--cases 1x1,1x10,10x1,10x10,40x1,40x10]
 *
 * A case `VxF` is V visits per record at fan-out F. Prints one line per case; peak RSS is sampled
 * every 10 ms (process.memoryUsage.rss) and read from getrusage at the end.
 */
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSRecord } from 'aws-lambda';
import { createDeliveryHandler } from '../lambdas/delivery/app';
import { ENV, PIPELINE } from '../lambdas/shared/contract';
import type { Webhook } from '../lambdas/shared/domain/model';
import { createDeliveryRuntime } from '../lambdas/shared/composition/delivery-runtime';
import { generateSecret } from '../lambdas/shared/domain/signing';
import { CollectingDeadLetters, CollectingRetryQueue } from '../local/harness/fakes';
import { webhookFixture } from '../local/harness/webhook-fixture';
import { benchPayload } from './payload';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '20' },
    'endpoint-ms': { type: 'string', default: '50' },
    accounts: { type: 'string', default: '40' },
    records: { type: 'string', default: String(PIPELINE.batchSize) },
    cases: { type: 'string', default: '1x1,1x10,10x1,10x10,40x1,40x10' },
    child: { type: 'string' },
  },
});

interface CaseResult {
  readonly visits: number;
  readonly fanOut: number;
  readonly deliveries: number;
  readonly handedOff: number;
  readonly peakRssMiB: number;
  readonly maxRssMiB: number;
  readonly msPerInvocation: number;
  readonly cpuMsPerInvocation: number;
}

async function startReceivers(n: number, delayMs: number): Promise<{ urls: string[]; close(): Promise<void> }> {
  const servers: Server[] = [];
  for (let i = 0; i < n; i++) {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.end('ok'), delayMs));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  return {
    urls: servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`),
    close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
}

const context = (): Context => {
  const end = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'delivery',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:delivery',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/delivery',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => end - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

/** One case in this process: V visits per record, fan-out F, `batches` invocations of 10 records. */
async function runCase(visits: number, fanOut: number): Promise<CaseResult> {
  const accounts = Number(args.accounts);
  const receivers = await startReceivers(accounts, Number(args['endpoint-ms']));
  const now = new Date().toISOString();
  // Each account's webhooks point at its own origin (a customer's endpoint); fan-out F webhooks each.
  const byAccount = new Map<string, Webhook[]>();
  for (let a = 0; a < accounts; a++) {
    const accountId = `acct_${a}`;
    byAccount.set(
      accountId,
      Array.from({ length: fanOut }, (_, w) => webhookFixture({ accountId, webhookId: `wh_${a}_${w}`, url: `${receivers.urls[a] as string}?w=${w}`, secret: generateSecret() }, now)),
    );
  }
  const doc = {
    send: async (command: unknown) => {
      if (command instanceof QueryCommand) return { Items: (byAccount.get(String(command.input.ExpressionAttributeValues?.[':a'])) ?? []).map((w) => ({ ...w })) };
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  const retryQueue = new CollectingRetryQueue();
  const runtime = createDeliveryRuntime(
    { [ENV.webhooksTable]: 'webhooks', [ENV.deliveriesTable]: 'deliveries', [ENV.allowHttp]: 'true', [ENV.allowPrivateTargets]: 'true', [ENV.secretsKey]: randomBytes(32).toString('base64') },
    { doc, retryQueue, eventsDlq: new CollectingDeadLetters(), failedSink: new CollectingDeadLetters() },
  );
  const handler = createDeliveryHandler(runtime);
  const payload = benchPayload(1536);
  let n = 0;
  const record = (): SQSRecord => {
    const accountOf = () => `acct_${n++ % accounts}`;
    const detail = visits === 1 ? { accountId: accountOf(), data: payload } : { visits: Array.from({ length: visits }, (_, i) => ({ accountId: accountOf(), data: { ...payload, id: `v-${i}` } })) };
    const body = JSON.stringify({ version: '0', id: randomUUID(), 'detail-type': 'NEW_VISIT', source: 'tracking', account: '111122223333', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail });
    const t = String(Date.now());
    return {
      messageId: randomUUID(),
      receiptHandle: 'rh',
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: t, SenderId: 'bench', ApproximateFirstReceiveTimestamp: t },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:events',
      awsRegion: 'us-east-1',
    };
  };
  const records = Number(args.records);
  const invoke = () => handler({ Records: Array.from({ length: records }, record) }, context());
  // Warm up: JIT, keep-alive connections, the webhook cache.
  for (let i = 0; i < 3; i++) await invoke();
  const handed0 = retryQueue.sent.length;
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  const batches = Number(args.batches);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) await invoke();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  await receivers.close();
  return {
    visits,
    fanOut,
    deliveries: batches * records * visits * fanOut,
    handedOff: retryQueue.sent.length - handed0,
    peakRssMiB: peak / 2 ** 20,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    msPerInvocation: wall / batches,
    cpuMsPerInvocation: (cpu.user + cpu.system) / 1000 / batches,
  };
}

async function main(): Promise<void> {
  if (args.child) {
    const [v, f] = args.child.split('x').map(Number) as [number, number];
    const result = await runCase(v, f);
    process.send?.(result);
    return;
  }
  console.log(`delivery handler, batches of ${args.records} records, ${args.batches} invocations per case, endpoints answer in ${args['endpoint-ms']} ms, ${args.accounts} accounts (one origin each)`);
  console.log('visits/record  fan-out  deliveries/invocation  peak RSS MiB  ms/invocation  CPU ms/invocation  handed to the slow lane');
  for (const c of (args.cases ?? '').split(',')) {
    const child = fork(__filename, ['--child', c, '--batches', String(args.batches), '--endpoint-ms', String(args['endpoint-ms']), '--accounts', String(args.accounts), '--records', String(args.records)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const result = await new Promise<CaseResult>((resolve, reject) => {
      child.once('message', (m) => resolve(m as CaseResult));
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`case ${c} exited with ${code}`))));
    });
    await new Promise((r) => child.once('exit', r));
    const perInvocation = Number(args.records) * result.visits * result.fanOut;
    console.log(
      `${String(result.visits).padStart(13)}  ${String(result.fanOut).padStart(7)}  ${String(perInvocation).padStart(21)}  ${Math.max(result.peakRssMiB, result.maxRssMiB).toFixed(0).padStart(12)}  ` +
        `${result.msPerInvocation.toFixed(0).padStart(13)}  ${result.cpuMsPerInvocation.toFixed(0).padStart(17)}  ${result.handedOff} of ${result.deliveries}`,
    );
  }
}

void main();
