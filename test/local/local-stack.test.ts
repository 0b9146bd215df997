import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import type { Webhook } from '../../lambdas/shared/domain/model';
import { publishVisitEvent } from '../../lambdas/shared/adapters/eventbridge-publisher';
import { LOCAL_AWS_CONFIG } from '../../local/dynamo';
import { LOCAL_TABLES, type LocalStack, startLocalStack } from '../../local/stack';
import { visitFixture } from '../../local/lambda-events';
import { respond, receiverPool } from '../helpers/receiver';
import { eventually } from '../helpers/eventually';
import { webhookFixture } from '../../local/harness/webhook-fixture';

async function putWebhook(stack: LocalStack, partial: Partial<Webhook> & Pick<Webhook, 'accountId' | 'url' | 'webhookId'>): Promise<Webhook> {
  const doc = DynamoDBDocumentClient.from(stack.dynamo.client);
  const now = new Date().toISOString();
  const webhook = webhookFixture({ eventTypes: ['NEW_VISIT'], ...partial }, now);
  await doc.send(new PutCommand({ TableName: LOCAL_TABLES.webhooks, Item: webhook }));
  return webhook;
}

/** The distinct permission bits of the folders and files under `dir` (itself included). */
function modesUnder(dir: string): { dirs: number[]; files: number[] } {
  const dirs = new Set<number>();
  const files = new Set<number>();
  const walk = (path: string) => {
    dirs.add(statSync(path).mode & 0o777);
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(path, entry.name));
      else if (entry.isFile()) files.add(statSync(join(path, entry.name)).mode & 0o777);
    }
  };
  walk(dir);
  return { dirs: [...dirs], files: [...files] };
}

describe('local runtime (in process): bus, queues, consumers, handlers', () => {
  const receivers = receiverPool();
  const stacks: LocalStack[] = [];
  const dirs: string[] = [];
  const receiver = receivers.start;
  const start = async (dataDir = ':memory:', env: NodeJS.ProcessEnv = {}) => {
    const s = await startLocalStack({ port: 0, dataDir, env, print: () => undefined });
    stacks.push(s);
    return s;
  };
  const client = (s: LocalStack) => new EventBridgeClient({ ...LOCAL_AWS_CONFIG, endpoint: s.url });
  afterAll(async () => {
    for (const s of stacks) await s.close();
    await receivers.closeAll();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('routes a PutEvents from the real EventBridgeClient to a signed delivery', async () => {
    const s = await start();
    const [visit, visitorOnly] = [await receiver(), await receiver()];
    const w = await putWebhook(s, { accountId: 'acc_l', webhookId: 'wh_1', url: visit.url });
    await putWebhook(s, { accountId: 'acc_l', webhookId: 'wh_2', url: visitorOnly.url, eventTypes: ['NEW_VISITOR'] });

    const ids = await publishVisitEvent(client(s), { eventType: 'NEW_VISIT', accountId: 'acc_l', data: visitFixture }, { eventBusName: 'default' });
    expect(ids).toHaveLength(1);

    const [req] = await eventually(() => visit.requests, (r) => r.length === 1);
    expect(new StandardWebhook(w.secret).verify(req!.body, req!.headers as Record<string, string>)).toEqual(visitFixture);
    await new Promise((r) => setTimeout(r, 200));
    expect(visitorOnly.requests).toHaveLength(0);
  });

  it('answers PutEvents as EventBridge would: unmatched entries accepted, malformed ones rejected per entry', async () => {
    const s = await start();
    const out = await client(s).send(
      new PutEventsCommand({
        Entries: [
          { Source: 'other', DetailType: 'NEW_VISIT', Detail: '{"accountId":"a","data":{"id":"x"}}' },
          { Source: 'tracking', DetailType: 'SOMETHING_ELSE', Detail: '{}' },
          { Source: 'tracking', DetailType: 'NEW_VISIT', Detail: '{not json' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]?.EventId).toEqual(expect.any(String));
    expect(out.Entries?.[1]?.EventId).toEqual(expect.any(String));
    expect(out.Entries?.[2]?.ErrorCode).toBe('MalformedDetail');
    expect(s.queues.events.size()).toBe(0);
    await expect(client(s).send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => ({ Source: 'tracking', DetailType: 'NEW_VISIT', Detail: '{}' })) }))).rejects.toThrow(
      /length/,
    );
  });

  it('an invalid event that matches the rule ends in the events DLQ with its reason', async () => {
    const s = await start();
    await client(s).send(new PutEventsCommand({ Entries: [{ Source: 'tracking', DetailType: 'NEW_VISIT', Detail: '{"accountId":"a","data":{"url":"no id"}}' }] }));
    const dead = await eventually(() => s.queues.eventsDlq.peek(10), (d) => d.length === 1);
    expect(dead[0]!.attributes.reason).toMatch(/data\.id/);
  });

  it('retries on a short WEBHOOKS_RETRY_SCHEDULE until the receiver recovers', async () => {
    const s = await start(':memory:', { WEBHOOKS_RETRY_SCHEDULE: '1,1' });
    let calls = 0;
    const r = await receiver((req, res, socket) => (calls++ < 2 ? respond(500)(req, res, socket) : respond(204)(req, res, socket)));
    await putWebhook(s, { accountId: 'acc_retry', webhookId: 'wh_r', url: r.url });
    await publishVisitEvent(client(s), { eventType: 'NEW_VISIT', accountId: 'acc_retry', data: visitFixture }, { eventBusName: 'default' });
    await eventually(() => r.requests.length, (n) => n === 3, 15_000);
    const page = await eventually(
      () => s.runtime.deliveries.list('acc_retry', 'wh_r', { limit: 10 }),
      (p) => p.items[0]?.status === 'delivered',
    );
    expect(page.items[0]).toMatchObject({ attemptCount: 3 });
    expect(new Set(r.requests.map((q) => q.headers['webhook-id'])).size).toBe(1);
  });

  it('keeps webhooks and pending deliveries across a restart on the same data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhooks-data-'));
    dirs.push(dir);
    // A data dir left readable by others (an older version, a copy): the start tightens it.
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'notes.txt'), 'left by hand', { mode: 0o644 });
    const r = await receiver(respond(503));
    let s = await start(dir, { WEBHOOKS_RETRY_SCHEDULE: '2' });
    // the key that encrypts signing secrets at rest is readable by its owner only
    expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
    expect(modesUnder(dir)).toEqual({ dirs: [0o700], files: [0o600] });
    await putWebhook(s, { accountId: 'acc_persist', webhookId: 'wh_p', url: r.url });
    await publishVisitEvent(client(s), { eventType: 'NEW_VISIT', accountId: 'acc_persist', data: visitFixture }, { eventBusName: 'default' });
    await eventually(() => r.requests.length, (n) => n === 1);
    await eventually(() => s.queues.retry.size(), (n) => n === 1); // a retry is pending
    await s.close();

    // The journals written while it ran (visit payloads: visitor IPs) are the owner's only.
    expect(statSync(join(dir, 'queues', 'retry.jsonl')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'queues', 'events.jsonl')).mode & 0o777).toBe(0o600);

    r.behave(respond(200));
    s = await start(dir, { WEBHOOKS_RETRY_SCHEDULE: '2' });
    // Every start leaves the whole data dir at 700/600, dynalite's files included (this process's
    // umask is the test runner's; npm start also sets 077, test/e2e/local-process.test.ts).
    expect(modesUnder(dir)).toEqual({ dirs: [0o700], files: [0o600] });
    expect((await s.runtime.webhooks.listByAccount('acc_persist')).map((w) => w.webhookId)).toEqual(['wh_p']);
    await eventually(() => r.requests.length, (n) => n === 2, 15_000);
    const page = await eventually(
      () => s.runtime.deliveries.list('acc_persist', 'wh_p', { limit: 10 }),
      (p) => p.items[0]?.status === 'delivered',
    );
    expect(page.items).toHaveLength(1);
  });
});
