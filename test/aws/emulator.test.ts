/**
 * AWS conformance on moto: the production adapters (SqsRetryQueue, SqsDeadLetterSink,
 * SqsRedriveQueue, the DynamoDB stores with KMS envelope encryption of secrets, publishVisitEvent
 * on the real EventBridgeClient) and the real handlers, against a bus, rule, queues and tables
 * created from the synthesized template (test/aws/provision.ts) and polled the way Lambda's event
 * source mappings poll (test/aws/emulator-runtime.ts). `npm run test:aws` with MOTO_BIN set
 * (docs/testing-aws-emulator.md); `.ci/moto.sh` installs moto and does both.
 *
 * Where moto differs from AWS, the AWS behaviour the code relies on, and why it is right on both:
 *
 * 1. Resource policies are not evaluated (queue policies, KMS key policies). On AWS, EventBridge
 *    may send to the events queue only because the queue policy admits events.amazonaws.com for
 *    this rule's ARN, and every queue policy denies non-TLS access; moto delivers regardless. The
 *    suite asserts those statements on the template ("admits EventBridge ...") instead.
 * 2. A rule target's DeadLetterConfig and RetryPolicy are stored but never used: moto's PutEvents
 *    puts on the target queue synchronously and cannot fail to. On AWS, delivery to the queue is
 *    asynchronous, retried for up to 24 h, then dead-lettered to the rule DLQ. The suite checks
 *    that the target carries both (ListTargetsByRule); no code depends on the timing.
 * 3. PutEvents routes synchronously: when it returns, the message is on the queue. On AWS it gets
 *    there shortly after. Every assertion waits with a deadline; the routing test waits for a
 *    matching sentinel published after the non-matching events before it checks that nothing else
 *    arrived.
 * 4. moto routes through a DISABLED rule too; AWS does not. The stack's rule is ENABLED (checked
 *    here) and nothing in the code disables it.
 * 5. The event moto puts on the queue has no `account` field (AWS's has `account`, and moto adds
 *    nothing AWS lacks). The event schema does not require `account`, so both parse; a schema
 *    that did would fail here first.
 * 6. Long polling: moto re-checks about once a second (and wakes on a send); AWS answers as soon as
 *    a message is available. The mappings long-poll 1 s on both; tests never sleep for an outcome.
 * 7. A delete with an older receipt handle (the message was received again since) deletes the
 *    message on moto; on AWS it succeeds but may leave the message in the queue. The consumers
 *    delete within one visibility timeout (6x the function timeout) of their receive, so the
 *    handle is the current one, and a leftover redelivery is dropped by the handlers' idempotency.
 * 8. On the move to a DLQ after maxReceiveCount, moto moves the very message (same id, attributes,
 *    receive count); AWS keeps the id and the original enqueue time. The code never reads the
 *    receive count of a DLQ message: the redrive tool sends each body as a new message. (That is
 *    also why a redriven event is not treated as a redelivery: its receive count starts at 1.)
 * 9. DynamoDB: moto neither expires TTL items nor backs up; TTL and point-in-time recovery are
 *    enabled from the template (UpdateTimeToLive, UpdateContinuousBackups) and nothing relies on
 *    expiry. SSE on tables and SSE-SQS on queues are accepted and have no effect.
 * 10. Visibility: a received message stays hidden for the queue's timeout (180 s, from the
 *    template), as on AWS. To see a failed record come back within a test, the batch-failure test
 *    receives with a 2 s VisibilityTimeout (a ReceiveMessage parameter both honour).
 * 11. `MessageGroupId` on a standard queue (what makes the retry queue an SQS fair queue): moto
 *    (5.2.5) accepts it, stores it and returns it as a message system attribute, but does nothing
 *    else with it (its group logic is FIFO-only); AWS uses it to serve quiet webhooks before a
 *    noisy one's backlog. The suite checks the id is sent and comes back on the records; the
 *    fairness itself is AWS's and is not observable here.
 * 12. Schedules: moto stores the reconciler's `rate(1 minute)` rule but never fires it, and its
 *    target (a function) is not created (test/aws/provision.ts). The tests call the reconciler's
 *    tick where EventBridge would invoke the function, with the function's environment from the
 *    template. Global secondary indexes on moto are read-your-writes; on AWS they are eventually
 *    consistent, which the reconciler tolerates (a record listed late is handled next tick).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { KMSClient } from '@aws-sdk/client-kms';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { TABLE_DEFINITIONS, toCreateTableInput } from '../../lib/table-definitions';
import { createDocumentClient } from '../../lambdas/shared/adapters/dynamo-client';
import { DynamoWebhookStore } from '../../lambdas/shared/adapters/dynamo-webhook-store';
import { KmsEnvelopeCipher } from '../../lambdas/shared/adapters/secret-cipher';
import { SqsRedriveQueue } from '../../lambdas/shared/adapters/sqs-redrive-queue';
import { ENV, METRICS, PIPELINE, visitEventPattern } from '../../lambdas/shared/contract';
import { retryMessageSchema } from '../../lambdas/shared/domain/messages';
import { type Breaker, deliveryIdFor, type Webhook } from '../../lambdas/shared/domain/model';
import type { MetricSink } from '../../lambdas/shared/domain/ports';
import { terminalLog } from '../../local/stack';
import { publishVisitEvent } from '../../lambdas/shared/adapters/eventbridge-publisher';
import { redrive } from '../../lambdas/shared/domain/redrive';
import { generateSecret } from '../../lambdas/shared/domain/signing';
import { EVENTS_QUEUE_URL_ENV, type EmulatorQueue, type EmulatorStack, type EmulatorStackOptions, startEmulatorReconciler, startEmulatorStack } from './emulator-runtime';
import { type CfnTemplate, loadStackTemplate, provisionTemplate, type ProvisionedStack, webhooksPipeline, type WebhooksPipeline } from './provision';
import { ROUTES } from '../../scripts/redrive';
import { visitFixture } from '../../local/lambda-events';
import { respond, receiverPool } from '../helpers/receiver';
import { type MotoServer, startMoto } from './moto';
import { webhookFixture } from '../../local/harness/webhook-fixture';

const PROJECT_ROOT = join(__dirname, '..', '..');

/** The runtime's log lines (shown when a wait times out). */
const logs: string[] = [];

async function eventually<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (ok(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached in ${ms} ms; last value: ${JSON.stringify(value)}\nlast runtime log lines:\n${logs.slice(-15).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a TypeScript script of the repository with tsx, as `npm run` would. */
function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), [script, ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Invocation {
  readonly queue: EmulatorQueue;
  readonly records: readonly SQSRecord[];
  readonly response: SQSBatchResponse | undefined;
}

describe('AWS conformance on moto: production adapters against the synthesized stack', () => {
  let moto: MotoServer;
  let template: CfnTemplate;
  let provisioned: ProvisionedStack;
  let pipeline: WebhooksPipeline;
  let sqs: SQSClient;
  let doc: DynamoDBDocumentClient;
  let events: EventBridgeClient;
  let kms: KMSClient;
  /** The store the management API writes with: secrets encrypted with KMS (on moto). */
  let store: DynamoWebhookStore;
  let kmsKeyId: string;
  /** The delivery function's environment from the template, resolved on moto. */
  let functionEnv: Record<string, string>;
  const receivers = receiverPool();
  const stacks: EmulatorStack[] = [];
  const dirs: string[] = [];

  const queueUrl = (output: string): string => {
    const url = provisioned.outputs[output];
    if (!url) throw new Error(`stack output ${output} is missing`);
    return url;
  };
  const receiver = receivers.start;
  /** The runtime as the delivery function would run, loopback receivers allowed. */
  const startStack = async (env: NodeJS.ProcessEnv = {}, options: Partial<EmulatorStackOptions> = {}) => {
    const stack = await startEmulatorStack({
      endpoint: moto.endpoint,
      env: {
        ...functionEnv,
        [EVENTS_QUEUE_URL_ENV]: pipeline.eventsQueue.queueUrl,
        AWS_REGION: moto.aws.region,
        [ENV.allowHttp]: 'true',
        [ENV.allowPrivateTargets]: 'true',
        [ENV.secretsKmsKeyId]: kmsKeyId,
        ...env,
      },
      print: (line) => logs.push(line),
      ...options,
    });
    stacks.push(stack);
    return stack;
  };
  const stopStacks = async () => {
    for (const s of stacks.splice(0)) await s.close();
  };
  const putWebhook = async (partial: Partial<Webhook> & Pick<Webhook, 'accountId' | 'url'>): Promise<Webhook> => {
    const now = new Date().toISOString();
    const webhook = webhookFixture({ name: 'conformance', ...partial }, now);
    await store.create(webhook, 100);
    return webhook;
  };
  const account = (name: string) => `acc_${name}_${randomBytes(3).toString('hex')}`;
  /** The scheduled function the template's rule targets (the reconciler), and its environment resolved on moto. */
  const scheduledFunction = () => {
    const targets = provisioned.functionTargets.filter((t) => t.scheduleExpression !== undefined);
    expect(targets).toHaveLength(1);
    const [target] = targets as [(typeof targets)[number]];
    const env: Record<string, string> = { ...provisioned.functionEnvironment(target.functionLogicalId), AWS_REGION: moto.aws.region };
    return { ...target, env };
  };
  /** The reconciler as its function builds it, on moto; one tick per call of `tick()`. Metrics are counted here. */
  const reconcilers: Array<{ close(): void }> = [];
  const startReconciler = (env: NodeJS.ProcessEnv = {}) => {
    const counted: Record<string, number> = {};
    const metrics: MetricSink = { count: (name, value = 1) => void (counted[name] = (counted[name] ?? 0) + value), milliseconds: () => undefined };
    const started = startEmulatorReconciler({ endpoint: moto.endpoint, env: { ...scheduledFunction().env, ...env }, log: terminalLog((line) => logs.push(line)), metrics });
    reconcilers.push(started);
    return { reconciler: started.reconciler, counted };
  };
  /** A delivery record as the delivery path writes it (payload kept), for the reconciler to find. */
  const pendingDelivery = (acc: string, webhookId: string, eventTimeMs: number, extra: { nextAttemptAt?: string; parked?: boolean; reason: string }) => {
    const eventId = randomUUID();
    return {
      accountId: acc,
      webhookId,
      deliveryId: deliveryIdFor(eventTimeMs, eventId, webhookId),
      eventId,
      eventType: 'NEW_VISIT' as const,
      createdAt: new Date(eventTimeMs).toISOString(),
      status: 'pending' as const,
      payload: JSON.stringify(visitFixture),
      retryIndex: 1,
      ...extra,
    };
  };
  /** Looks at a queue's messages without taking them (receive with visibility 0). */
  const peek = async (url: string) => new SqsRedriveQueue(sqs, url, 0).receive(10);
  const queueDepth = async (url: string) => {
    const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }));
    const a = out.Attributes ?? {};
    return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  };
  /** Empties a queue: PurgeQueue, or (purged less than a minute ago, which SQS and moto refuse) deleting what is visible. */
  const empty = async (url: string) => {
    if ((await queueDepth(url)) === 0) return;
    try {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    } catch (err) {
      if ((err as Error).name !== 'PurgeQueueInProgress') throw err;
      const queue = new SqsRedriveQueue(sqs, url, 30);
      for (let batch = await queue.receive(10); batch.length > 0; batch = await queue.receive(10)) for (const m of batch) await queue.remove(m.handle);
    }
  };

  beforeAll(async () => {
    moto = await startMoto();
    template = await loadStackTemplate({ projectRoot: PROJECT_ROOT });
    provisioned = await provisionTemplate(template, { ...moto.aws, prefix: `vw-${randomBytes(4).toString('hex')}` });
    pipeline = webhooksPipeline(template, provisioned);
    functionEnv = provisioned.functionEnvironment(pipeline.deliveryFunction);
    sqs = new SQSClient(moto.aws);
    doc = createDocumentClient(moto.aws);
    events = new EventBridgeClient(moto.aws);
    kms = new KMSClient(moto.aws);
    // The secrets key the template gives the functions (a key it declares, created on moto above);
    // the first test fails, naming it, when the template gives none.
    kmsKeyId = functionEnv[ENV.secretsKmsKeyId] ?? '';
    store = new DynamoWebhookStore(doc, functionEnv[ENV.webhooksTable] ?? '', new KmsEnvelopeCipher(kms, kmsKeyId));
  }, 120_000);

  afterEach(async () => {
    await stopStacks();
    for (const r of reconcilers.splice(0)) r.close();
  });

  afterAll(async () => {
    await stopStacks();
    await receivers.closeAll();
    sqs?.destroy();
    doc?.destroy();
    events?.destroy();
    kms?.destroy();
    await moto?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  describe('the stack, created on moto from its template', () => {
    it('gives both functions the same tables, queues and secrets key, and each mapping the contract settings', () => {
      const retryEnv = provisioned.functionEnvironment(pipeline.retryFunction);
      const keyArns = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::KMS::Key').map(([id]) => provisioned.arns[id]);
      // Without it the handlers cannot read the secrets they sign with (they refuse to start).
      expect({ [ENV.secretsKmsKeyId]: functionEnv[ENV.secretsKmsKeyId] }).toEqual({ [ENV.secretsKmsKeyId]: expect.stringMatching(/^arn:aws:kms:/) });
      expect(keyArns).toContain(functionEnv[ENV.secretsKmsKeyId]);
      for (const name of [ENV.webhooksTable, ENV.deliveriesTable, ENV.eventsDlqUrl, ENV.retryQueueUrl, ENV.failedQueueUrl, ENV.secretsKmsKeyId]) {
        expect(functionEnv[name]).toEqual(expect.any(String));
        expect(retryEnv[name]).toBe(functionEnv[name]);
      }
      expect(pipeline.retryQueue.queueUrl).toBe(functionEnv[ENV.retryQueueUrl]);
      // The emulator's consumers use PIPELINE; the template's mappings must say the same.
      for (const mapping of [pipeline.eventsQueue, pipeline.retryQueue]) {
        expect(mapping).toMatchObject({ batchSize: PIPELINE.batchSize, maxBatchingWindowSeconds: PIPELINE.maxBatchingWindowSeconds, reportBatchItemFailures: true });
      }
    });

    it('creates the queues with the template\'s visibility timeouts and redrive policies', async () => {
      const attributes = async (url: string) =>
        (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {};
      const visibility = String(PIPELINE.functionTimeoutSeconds * PIPELINE.visibilityTimeoutFactor);
      const events = await attributes(pipeline.eventsQueue.queueUrl);
      expect(events.VisibilityTimeout).toBe(visibility);
      expect(JSON.parse(events.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: (await attributes(queueUrl('EventsDlqUrl'))).QueueArn, maxReceiveCount: PIPELINE.maxReceiveCount });
      const retry = await attributes(pipeline.retryQueue.queueUrl);
      expect(retry.VisibilityTimeout).toBe(visibility);
      expect(JSON.parse(retry.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: (await attributes(queueUrl('RetryDlqUrl'))).QueueArn, maxReceiveCount: PIPELINE.maxReceiveCount });
      for (const dlq of ['EventsDlqUrl', 'RuleDlqUrl', 'RetryDlqUrl', 'FailedDeliveriesQueueUrl']) {
        expect((await attributes(queueUrl(dlq))).MessageRetentionPeriod).toBe(String(PIPELINE.dlqRetentionDays * 86_400));
      }
    });

    it('routes with the contract\'s pattern to the events queue, with a rule DLQ and retry policy', async () => {
      const busName = provisioned.refs[pipeline.busLogicalId];
      const ruleName = provisioned.refs[pipeline.ruleLogicalId];
      const rule = await events.send(new DescribeRuleCommand({ Name: ruleName, EventBusName: busName }));
      expect(JSON.parse(rule.EventPattern ?? '{}')).toEqual(visitEventPattern(functionEnv[ENV.eventSource]));
      expect(rule.State).toBe('ENABLED');
      const { Targets = [] } = await events.send(new ListTargetsByRuleCommand({ Rule: ruleName, EventBusName: busName }));
      expect(Targets).toHaveLength(1);
      expect(Targets[0]).toMatchObject({
        Arn: pipeline.eventsQueue.queueArn,
        DeadLetterConfig: { Arn: provisioned.arns[Object.keys(provisioned.refs).find((id) => provisioned.refs[id] === queueUrl('RuleDlqUrl')) ?? ''] },
        RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
      });
    });

    it('schedules the reconciler every minute (the rule on moto, its function played here) with the delivery path\'s tables and retry queue, and no secrets key', async () => {
      const schedule = scheduledFunction();
      expect(schedule.scheduleExpression).toBe('rate(1 minute)');
      const ruleName = provisioned.refs[schedule.ruleLogicalId];
      const rule = await events.send(new DescribeRuleCommand({ Name: ruleName }));
      expect(rule).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
      // Its only target, the function, is not created on moto (note 12).
      expect((await events.send(new ListTargetsByRuleCommand({ Rule: ruleName }))).Targets ?? []).toHaveLength(0);
      for (const name of [ENV.webhooksTable, ENV.deliveriesTable, ENV.retryQueueUrl, ENV.retentionDays]) {
        expect([name, schedule.env[name]]).toEqual([name, functionEnv[name]]);
      }
      // It never reads a signing secret (its store withholds them), so it gets no key.
      expect(schedule.env[ENV.secretsKmsKeyId]).toBeUndefined();
      expect(schedule.env[ENV.reconcileEverySeconds]).toBe('60');
    });

    it('admits EventBridge to the events queue for this rule only (moto does not evaluate queue policies)', () => {
      const policies = Object.values(template.Resources).filter(
        (r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties?.Queues) === JSON.stringify([{ Ref: pipeline.eventsQueue.queueLogicalId }]),
      );
      const statements = policies.flatMap((p) => (p.Properties?.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement);
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: expect.arrayContaining(['sqs:SendMessage']),
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [pipeline.ruleLogicalId, 'Arn'] } } },
        }),
      );
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    });

    it('creates the tables with the key schemas the stores use, TTL on the deliveries', async () => {
      const dynamodb = new DynamoDBClient(moto.aws);
      try {
        const tables = { webhooks: functionEnv[ENV.webhooksTable], deliveries: functionEnv[ENV.deliveriesTable], apiKeys: provisioned.outputs.ApiKeysTableName };
        for (const [id, name] of Object.entries(tables) as Array<[keyof typeof TABLE_DEFINITIONS, string]>) {
          const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
          const expected = toCreateTableInput(name, TABLE_DEFINITIONS[id]);
          expect(Table?.KeySchema).toEqual(expected.KeySchema);
          expect(Table?.GlobalSecondaryIndexes?.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema })) ?? []).toEqual(
            (expected.GlobalSecondaryIndexes ?? []).map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema })),
          );
        }
        const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: tables.deliveries }));
        expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: TABLE_DEFINITIONS.deliveries.ttlAttribute, TimeToLiveStatus: 'ENABLED' });
      } finally {
        dynamodb.destroy();
      }
    });

    it('has the outputs the redrive tool routes by', () => {
      for (const { from, to } of Object.values(ROUTES)) {
        expect([from, provisioned.outputs[from]]).toEqual([from, expect.stringContaining(provisioned.prefix)]);
        expect([to, provisioned.outputs[to]]).toEqual([to, expect.stringContaining(provisioned.prefix)]);
      }
      expect(provisioned.outputs.EventsQueueUrl).toBe(pipeline.eventsQueue.queueUrl);
      expect(provisioned.outputs.RetryQueueUrl).toBe(pipeline.retryQueue.queueUrl);
    });
  });

  describe('the emulator runtime: handlers polling moto like the event source mappings', () => {
    // The queues are shared by the tests. A test that passes leaves them empty; one that failed
    // half-way may not, so each test starts by emptying them (no runtime polls between tests):
    // what a test then counts, redrives or finds in a DLQ is its own.
    beforeEach(async () => {
      for (const output of ['EventsQueueUrl', 'RetryQueueUrl', 'EventsDlqUrl', 'RuleDlqUrl', 'RetryDlqUrl', 'FailedDeliveriesQueueUrl']) await empty(queueUrl(output));
    });

    it('delivers a visit published with publishVisitEvent, signed so standardwebhooks verifies it', async () => {
      const stack = await startStack();
      const r = await receiver();
      const acc = account('signed');
      const w = await putWebhook({ accountId: acc, url: r.url, eventTypes: ['NEW_VISIT'] });

      const [eventId] = await publishVisitEvent(events, { eventType: 'NEW_VISIT', accountId: acc, data: visitFixture }, { eventBusName: provisioned.outputs.EventBusName ?? '' });

      const [req] = await eventually('delivery', () => r.requests, (q) => q.length >= 1);
      expect(new StandardWebhook(w.secret).verify(req!.body, req!.headers as Record<string, string>)).toEqual(visitFixture);
      expect(req!.headers['x-webhook-event']).toBe('NEW_VISIT');
      const page = await eventually('delivered record', () => stack.runtime.deliveries.list(acc, w.webhookId, { limit: 10 }), (p) => p.items[0]?.status === 'delivered');
      expect(page.items[0]).toMatchObject({ eventId, attemptCount: 1 });
      expect(req!.headers['webhook-id']).toBe(page.items[0]?.deliveryId);
      // The secret it was signed with is stored encrypted with KMS (envelope), not in the clear.
      const item = await doc.send(new GetCommand({ TableName: functionEnv[ENV.webhooksTable], Key: { accountId: acc, webhookId: w.webhookId } }));
      expect(item.Item?.secret).toMatch(/^kms:v1:/);
      expect(item.Item?.secret).not.toContain(w.secret.slice('whsec_'.length));
    });

    it('leaves events of another source or detail-type on the bus (the rule\'s pattern, evaluated by moto)', async () => {
      await startStack();
      const r = await receiver();
      const acc = account('routing');
      const sentinelAcc = account('sentinel');
      await putWebhook({ accountId: acc, url: r.url });
      const sentinel = await putWebhook({ accountId: sentinelAcc, url: r.url });
      const busArn = provisioned.outputs.EventBusArn ?? '';

      // Another producer's source, through the publisher (by bus ARN this time) ...
      await publishVisitEvent(events, { eventType: 'NEW_VISIT', accountId: acc, data: visitFixture }, { eventBusName: busArn, source: 'billing' });
      // ... and an unknown detail-type, then a matching sentinel, in one raw PutEvents.
      const detail = (accountId: string) => JSON.stringify({ accountId, data: visitFixture });
      const out = await events.send(
        new PutEventsCommand({
          Entries: [
            { EventBusName: busArn, Source: functionEnv[ENV.eventSource], DetailType: 'NEW_SIGNUP', Detail: detail(acc) },
            { EventBusName: busArn, Source: functionEnv[ENV.eventSource], DetailType: 'NEW_VISITOR', Detail: detail(sentinelAcc) },
          ],
        }),
      );
      expect(out.FailedEntryCount ?? 0).toBe(0);

      await eventually('sentinel delivery', () => r.requests, (q) => q.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // a batching window and a poll
      expect(r.requests.map((q) => q.headers['x-webhook-event'])).toEqual(['NEW_VISITOR']);
      expect(new StandardWebhook(sentinel.secret).verify(r.requests[0]!.body, r.requests[0]!.headers as Record<string, string>)).toEqual(visitFixture);
    });

    it('sends a routed event that fails validation (no data.id) to the events DLQ with its reason', async () => {
      await startStack();
      const marker = `invalid-${randomUUID()}`;
      await events.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: provisioned.outputs.EventBusName, Source: functionEnv[ENV.eventSource], DetailType: 'NEW_VISIT', Detail: JSON.stringify({ accountId: marker, data: { url: 'https://example.com/' } }) }],
        }),
      );
      const dlq = queueUrl('EventsDlqUrl');
      const dead = await eventually('invalid event in the events DLQ', () => peek(dlq), (m) => m.some((x) => x.body.includes(marker)));
      const message = dead.find((x) => x.body.includes(marker))!;
      expect(message.attributes.reason).toMatch(/data\.id/);
      expect(message.attributes.sourceMessageId).toEqual(expect.any(String));
      expect(JSON.parse(message.body)).toMatchObject({ 'detail-type': 'NEW_VISIT', detail: { accountId: marker } });
      // Taken out: the test leaves the DLQ as it found it.
      const dlqQueue = new SqsRedriveQueue(sqs, dlq, 30);
      for (const m of await dlqQueue.receive(10)) await (m.body.includes(marker) ? dlqQueue.remove(m.handle) : dlqQueue.release(m.handle));
      await eventually('events queue drained', () => queueDepth(pipeline.eventsQueue.queueUrl), (n) => n === 0);
    });

    it('retries through the real retry queue until the receiver recovers (one webhook-id, re-signed; MessageGroupId = the webhook)', async () => {
      const invocations: Invocation[] = [];
      const stack = await startStack({ [ENV.retrySchedule]: '1,1' }, { onInvocation: (queue, records, response) => invocations.push({ queue, records, response }) });
      let calls = 0;
      const r = await receiver((req, res, socket) => respond(++calls <= 2 ? 500 : 204)(req, res, socket));
      const acc = account('retry');
      const w = await putWebhook({ accountId: acc, url: r.url });

      await publishVisitEvent(events, { eventType: 'NEW_VISITOR', accountId: acc, data: visitFixture }, { eventBusName: provisioned.outputs.EventBusName ?? '' });

      await eventually('three attempts', () => r.requests.length, (n) => n >= 3);
      const page = await eventually('delivered record', () => stack.runtime.deliveries.list(acc, w.webhookId, { limit: 10 }), (p) => p.items[0]?.status === 'delivered');
      expect(page.items[0]).toMatchObject({ attemptCount: 3 });
      expect(page.items[0]?.attempts.map((a) => a.trigger)).toEqual(['event', 'retry', 'retry']);
      expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([page.items[0]?.deliveryId]));
      for (const q of r.requests) expect(new StandardWebhook(w.secret).verify(q.body, q.headers as Record<string, string>)).toEqual(visitFixture);
      // The retries were SQS messages with a delay: at least a second apart, as the schedule says.
      expect(r.requests[1]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(900);
      await eventually('retry queue drained', () => queueDepth(pipeline.retryQueue.queueUrl), (n) => n === 0);
      // Every retry message was sent with the webhook as its message group (the fair queue's tenant).
      const retried = invocations.filter((i) => i.queue === 'retry').flatMap((i) => i.records).filter((rec) => rec.body.includes(w.webhookId));
      expect(retried.length).toBeGreaterThanOrEqual(2);
      expect(new Set(retried.map((rec) => rec.attributes.MessageGroupId))).toEqual(new Set([w.webhookId]));
    });

    it('the reconciler re-queues a pending delivery whose message was lost (the due index on moto), counts it, and the retry function delivers it', async () => {
      const invocations: Invocation[] = [];
      const stack = await startStack({}, { onInvocation: (queue, records, response) => invocations.push({ queue, records, response }) });
      const r = await receiver();
      const acc = account('overdue');
      const w = await putWebhook({ accountId: acc, url: r.url });
      // A delivery due 20 minutes ago with nothing queued for it: its retry message was lost.
      const lost = pendingDelivery(acc, w.webhookId, Date.now() - 3_600_000, { nextAttemptAt: new Date(Date.now() - 20 * 60_000).toISOString(), reason: 'retry' });
      await stack.runtime.deliveries.write(lost);
      const { reconciler, counted } = startReconciler();

      const report = await reconciler.tick();
      expect(report.overdue).toBeGreaterThanOrEqual(1);
      expect(counted[METRICS.overdue]).toBe(report.overdue);

      const [req] = await eventually('the re-queued delivery', () => r.requests, (q) => q.length >= 1);
      expect(req!.headers['webhook-id']).toBe(lost.deliveryId);
      expect(new StandardWebhook(w.secret).verify(req!.body, req!.headers as Record<string, string>)).toEqual(visitFixture);
      const record = await eventually('delivered record', () => stack.runtime.deliveries.get(acc, w.webhookId, lost.deliveryId), (d) => d?.status === 'delivered');
      expect(record?.attempts.map((a) => a.trigger)).toEqual(['retry']);
      const requeued = invocations.filter((i) => i.queue === 'retry').flatMap((i) => i.records).filter((rec) => rec.body.includes(lost.deliveryId));
      expect(requeued.map((rec) => rec.attributes.MessageGroupId)).toEqual([w.webhookId]);
      // Delivered: out of the due index, so the next tick leaves it alone.
      expect((await stack.runtime.deliveries.listDue(new Date(Date.now() + 86_400_000).toISOString(), 1000)).map((d) => d.deliveryId)).not.toContain(lost.deliveryId);
      expect(r.requests).toHaveLength(1);
    });

    it('the reconciler probes an open breaker, releases the parked deliveries once the probe got through, then closes it (breakers and parked indexes on moto)', async () => {
      const stack = await startStack();
      const r = await receiver();
      const acc = account('breaker');
      const now = Date.now();
      const breaker: Breaker = { state: 'open', since: new Date(now - 120_000).toISOString(), reason: '3 failed attempts in a row', probeAt: new Date(now - 1000).toISOString(), probes: 0 };
      const w = await putWebhook({ accountId: acc, url: r.url, breaker });
      const parked = [0, 1, 2].map((i) => pendingDelivery(acc, w.webhookId, now - 60_000 + i * 1000, { parked: true, reason: 'parked: the breaker is open' }));
      for (const record of parked) await stack.runtime.deliveries.write(record);
      const breakerOf = async () => (await store.get(acc, w.webhookId))?.breaker;
      // Ticks a second apart (the template's 60 s otherwise): the close waits a tick past the last release.
      const { reconciler } = startReconciler({ WEBHOOKS_RECONCILE_EVERY_SECONDS: '1' });

      // Tick 1: the oldest parked delivery goes out as the probe; it gets through, so the retry function marks the breaker releasing.
      expect((await reconciler.tick()).probes).toBeGreaterThanOrEqual(1);
      const [probe] = await eventually('the probe', () => r.requests, (q) => q.length >= 1);
      expect(probe!.headers['webhook-id']).toBe(parked[0]!.deliveryId);
      await eventually('breaker releasing', breakerOf, (b) => b?.state === 'releasing');
      // Tick 2: the two others are released (paced: ten a second, so both at once).
      expect((await reconciler.tick()).released).toBeGreaterThanOrEqual(2);
      await eventually('released deliveries', () => r.requests.length, (n) => n === 3);
      expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set(parked.map((p) => p.deliveryId)));
      for (const p of parked) await eventually(`delivered ${p.deliveryId}`, () => stack.runtime.deliveries.get(acc, w.webhookId, p.deliveryId), (d) => d?.status === 'delivered');
      // Then: nothing parked is left, and a tick after the last release the breaker closes (the webhook leaves the breakers index).
      await eventually('breaker closed', async () => (await reconciler.tick()).closed, (n) => n >= 1);
      expect(await breakerOf()).toBeUndefined();
      expect((await stack.runtime.webhooks.listBreakers({ limit: 100 })).items.map((x) => x.webhookId)).not.toContain(w.webhookId);
    });

    it('parks an exhausted delivery in the failed-deliveries queue; scripts/redrive.ts --outputs-file brings it back', async () => {
      const stack = await startStack({ [ENV.retrySchedule]: '1' });
      const r = await receiver(respond(500, 'down'));
      const acc = account('exhausted');
      const w = await putWebhook({ accountId: acc, url: r.url });
      await publishVisitEvent(events, { eventType: 'NEW_VISIT', accountId: acc, data: visitFixture }, { eventBusName: provisioned.outputs.EventBusName ?? '' });

      const failedUrl = queueUrl('FailedDeliveriesQueueUrl');
      const parked = await eventually('failed delivery parked', () => peek(failedUrl), (m) => m.some((x) => x.body.includes(acc)));
      const message = parked.find((x) => x.body.includes(acc))!;
      expect(message.attributes.reason).toMatch(/gave up after 2 attempts/);
      const retry = retryMessageSchema.parse(JSON.parse(message.body));
      expect(retry).toMatchObject({ accountId: acc, webhookId: w.webhookId });
      expect(r.requests).toHaveLength(2);
      // The DLQ copy is written before the record (a crash in between keeps the copy): wait for both.
      const record = await eventually('failed record', () => stack.runtime.deliveries.get(acc, w.webhookId, retry.deliveryId), (d) => d?.status === 'failed');
      expect(record?.reason).toBe(message.attributes.reason);

      // The endpoint is fixed; the operator redrives with the outputs of `cdk deploy --outputs-file`.
      r.behave(respond(200));
      const dir = mkdtempSync(join(tmpdir(), 'redrive-'));
      dirs.push(dir);
      const outputsFile = join(dir, 'outputs.json');
      writeFileSync(outputsFile, JSON.stringify({ [`Webhooks-${provisioned.prefix}`]: provisioned.outputs }));
      const result = await runScript('scripts/redrive.ts', ['--outputs-file', outputsFile, '--queue', 'failed'], {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_REGION: moto.aws.region,
        AWS_ACCESS_KEY_ID: moto.aws.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.aws.credentials.secretAccessKey,
      });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}')).toMatchObject({ queue: 'failed', moved: 1, reasons: { [message.attributes.reason!]: 1 } });

      await eventually('redriven delivery', () => r.requests.length, (n) => n === 3);
      const after = await eventually('delivered record', () => stack.runtime.deliveries.get(acc, w.webhookId, retry.deliveryId), (d) => d?.status === 'delivered');
      expect(after?.attempts.at(-1)?.trigger).toBe('retry');
      expect(r.requests[2]!.headers['webhook-id']).toBe(retry.deliveryId);
      expect(await queueDepth(failedUrl)).toBe(0);
    });

    it('honours batch item failures: the failing record comes back (receive count 2), the others are deleted; moto dead-letters it after maxReceiveCount and redrive() delivers it', async () => {
      const invocations: Invocation[] = [];
      // One poller so that the three events share a batch; a 2 s visibility so that the failed record returns quickly.
      await startStack({}, { concurrency: 1, visibilityTimeoutSeconds: 2, onInvocation: (queue, records, response) => invocations.push({ queue, records, response }) });
      const good = await receiver();
      const poisoned = await receiver();
      const [okA, okB, bad] = [account('batch_a'), account('batch_b'), account('batch_bad')];
      await putWebhook({ accountId: okA, url: good.url });
      await putWebhook({ accountId: okB, url: good.url });
      // A hand-edited item whose secret is not a secret: signing throws, so processing fails for this account only.
      const broken = await putWebhook({ accountId: bad, url: poisoned.url, secret: 'whsec_' });

      await publishVisitEvent(
        events,
        [okA, bad, okB].map((accountId) => ({ eventType: 'NEW_VISIT' as const, accountId, data: visitFixture })),
        { eventBusName: provisioned.outputs.EventBusName ?? '' },
      );

      const isBad = (rec: SQSRecord) => rec.body.includes(bad);
      await eventually('the failed record received again', () => invocations.flatMap((i) => i.records).filter(isBad).map((rec) => rec.attributes.ApproximateReceiveCount), (c) => c.includes('2'));
      const first = invocations.find((i) => i.queue === 'events' && i.records.some(isBad))!;
      expect(first.records).toHaveLength(3);
      // Records shaped as Lambda's mapping shapes them.
      expect(first.records[0]).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: pipeline.eventsQueue.queueArn, awsRegion: moto.aws.region });
      const badRecord = first.records.find(isBad)!;
      expect(first.response?.batchItemFailures).toEqual([{ itemIdentifier: badRecord.messageId }]);
      // The good records were deleted: delivered once, never received again.
      expect(good.requests).toHaveLength(2);
      const goodIds = first.records.filter((rec) => !isBad(rec)).map((rec) => rec.messageId);
      expect(invocations.flatMap((i) => i.records).filter((rec) => goodIds.includes(rec.messageId))).toHaveLength(2);
      expect(poisoned.requests).toHaveLength(0);

      // Still failing: after maxReceiveCount receives, moto's redrive policy moves it to the events DLQ.
      const dlq = queueUrl('EventsDlqUrl');
      const dead = await eventually('the failed record in the events DLQ', () => peek(dlq), (m) => m.some((x) => x.body.includes(bad)), 60_000);
      expect(JSON.parse(dead.find((x) => x.body.includes(bad))!.body)).toMatchObject({ detail: { accountId: bad } });
      const receives = invocations.flatMap((i) => i.records).filter((rec) => rec.messageId === badRecord.messageId).map((rec) => Number(rec.attributes.ApproximateReceiveCount));
      expect(Math.max(...receives)).toBe(PIPELINE.maxReceiveCount);
      expect(await queueDepth(pipeline.eventsQueue.queueUrl)).toBe(0);

      // Fixed, and redriven into a fresh runtime (a new container has no cached copy of the broken item).
      await stopStacks();
      await store.delete(bad, broken.webhookId);
      const fixed = await putWebhook({ ...broken, secret: generateSecret() });
      await startStack();
      const moved = await redrive(new SqsRedriveQueue(sqs, dlq), new SqsRedriveQueue(sqs, pipeline.eventsQueue.queueUrl));
      // moto's redrive (as SQS's) adds no attribute: the tool counts it as "no reason recorded".
      expect(moved).toEqual({ moved: 1, reasons: { 'no reason recorded': 1 } });
      const [req] = await eventually('redriven delivery', () => poisoned.requests, (q) => q.length === 1);
      expect(new StandardWebhook(fixed.secret).verify(req!.body, req!.headers as Record<string, string>)).toEqual(visitFixture);
      expect(good.requests).toHaveLength(2);
    });
  });
});
