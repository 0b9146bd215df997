import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { LIMITS } from '../../lambdas/shared/contract';
import { LOCAL_AWS_CONFIG } from '../../local/dynamo';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { visitFixture } from '../../local/lambda-events';
import { type Receiver, receiverPool } from '../helpers/receiver';
import { eventually, putWebhook } from '../reliability/support';

jest.setTimeout(30_000);

const ACCOUNT = 'acc_events_hostile';

/**
 * Hostile events through the local bus with the real EventBridgeClient: what EventBridge would
 * route to the events queue (source `tracking`, a known detail-type) but fails the event
 * contract goes to the events DLQ with its reason, and the good events of the same batch are
 * delivered. What EventBridge itself refuses or routes nowhere never reaches the queue.
 */
describe('hostile events: malformed envelopes, wrong types, oversized data, unknown detail-types', () => {
  let stack: LocalStack;
  let client: EventBridgeClient;
  const receivers = receiverPool();
  /** Each test's own account, with one webhook to its own receiver. */
  let account = '';
  let receiver: Receiver;
  let tests = 0;
  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, dataDir: ':memory:', print: () => undefined });
    client = new EventBridgeClient({ ...LOCAL_AWS_CONFIG, endpoint: stack.url });
  });
  beforeEach(async () => {
    account = `${ACCOUNT}_${++tests}`;
    receiver = await receivers.start();
    await putWebhook(stack, { accountId: account, webhookId: 'wh_events', url: receiver.url });
  });
  afterAll(async () => {
    client?.destroy();
    await stack?.close();
    await receivers.closeAll();
  });

  const entry = (detail: unknown, detailType = 'NEW_VISIT', source = 'tracking'): PutEventsRequestEntry => ({
    Source: source,
    DetailType: detailType,
    Detail: typeof detail === 'string' ? detail : JSON.stringify(detail),
    EventBusName: 'default',
  });
  const good = (id: string) => entry({ accountId: account, data: { ...visitFixture, id } });
  const visit = (patch: Record<string, unknown>) => entry({ accountId: account, data: { ...visitFixture, id: 'bad', ...patch } });

  it('routes contract violations to the events DLQ with a reason, and delivers the rest of each batch', async () => {
    // [entry, what the DLQ reason must name]
    const bad: Array<[PutEventsRequestEntry, RegExp]> = [
      [entry({ data: { ...visitFixture } }), /accountId/],
      [entry({ accountId: 42, data: visitFixture }), /accountId/],
      [entry({ accountId: '', data: visitFixture }), /accountId/],
      [entry({ accountId: 'a'.repeat(129), data: visitFixture }), /accountId/],
      [entry({ accountId: account }), /data/],
      [entry({ accountId: account, data: 'a visit' }), /data/],
      [entry({ accountId: account, data: [visitFixture] }), /data/],
      [entry({ accountId: account, data: null }), /data/],
      [entry({ accountId: account, data: { url: 'no id' } }), /data\.id/],
      [visit({ id: 7 }), /data\.id/],
      [visit({ id: '' }), /data\.id/],
      [visit({ url: 5 }), /data\.url/],
      [visit({ visitor: 'someone' }), /data\.visitor/],
      [visit({ visitor: { company: { name: ['x'] } } }), /data\.visitor\.company\.name/],
      [visit({ params: { utm_source: { nested: true } } }), /data\.params/],
      [visit({ screen: { width: [] } }), /data\.screen\.width/],
      [visit({ device: 'iPhone' }), /data\.device/],
      [visit({ date: false }), /data\.date/],
    ];
    // Unknown fields pass through untouched, however deep: this one is valid and delivered.
    const deep = entry({ accountId: account, data: { ...visitFixture, id: 'deep', extra: JSON.parse('['.repeat(2000) + ']'.repeat(2000)) as unknown } });
    const goods = Array.from({ length: 12 }, (_, i) => good(`good_${i}`));
    // Mix them: each PutEvents call carries good and bad entries (at most 10 entries a call).
    const all = [...bad.map(([e]) => e), deep, ...goods];
    const mixed: PutEventsRequestEntry[] = [];
    for (let i = 0; i < all.length; i++) mixed.push(all[(i * 7) % all.length]!);
    expect(new Set(mixed).size).toBe(all.length);
    const dlqBefore = stack.queues.eventsDlq.size();
    for (let i = 0; i < mixed.length; i += 10) {
      const out = await client.send(new PutEventsCommand({ Entries: mixed.slice(i, i + 10) }));
      expect(out.FailedEntryCount).toBe(0); // EventBridge accepts them all: the Detail is a JSON object
    }

    const dead = await eventually(() => stack.queues.eventsDlq.peek(1000).slice(dlqBefore), (d) => d.length >= bad.length, 15_000, 'every bad event in the DLQ');
    await eventually(() => receiver.requests.length, (n) => n >= goods.length + 1, 15_000, 'the good events delivered');
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.queues.events.size()).toBe(0);
    expect(dead).toHaveLength(bad.length);
    for (const [sent, reason] of bad) {
      const match = dead.find((d) => (JSON.parse(d.body) as { detail: unknown }).detail !== undefined && JSON.stringify((JSON.parse(d.body) as { detail: unknown }).detail) === sent.Detail);
      expect({ detail: sent.Detail?.slice(0, 80), reason: match?.attributes.reason }).toEqual({ detail: sent.Detail?.slice(0, 80), reason: expect.stringMatching(reason) });
    }
    const delivered = receiver.requests.map((q) => (JSON.parse(q.body) as { id: string }).id).sort();
    expect(delivered).toEqual([...goods.map((_, i) => `good_${i}`), 'deep'].sort());
    expect(new Set(receiver.requests.map((q) => q.headers['webhook-id'])).size).toBe(goods.length + 1);
  });

  it('an entry whose Time is more than 5 minutes ahead goes to the events DLQ; one within the clock skew is delivered', async () => {
    const before = receiver.requests.length;
    const dlqBefore = stack.queues.eventsDlq.size();
    const future = { ...good('from_the_future'), Time: new Date('2999-01-01T00:00:00Z') };
    const skewed = { ...good('clock_skew'), Time: new Date(Date.now() + 120_000) };
    const out = await client.send(new PutEventsCommand({ Entries: [future, skewed] }));
    expect(out.FailedEntryCount).toBe(0); // EventBridge takes any Time
    const [dead] = await eventually(() => stack.queues.eventsDlq.peek(1000).slice(dlqBefore), (d) => d.length === 1, 10_000, 'the future event in the DLQ');
    expect((JSON.parse(dead!.body) as { detail: { data: { id: string } } }).detail.data.id).toBe('from_the_future');
    expect(dead!.attributes.reason).toMatch(/^time: more than 300 s in the future/);
    await eventually(() => receiver.requests.length, (n) => n === before + 1, 10_000, 'the skewed event delivered');
    expect((JSON.parse(receiver.requests[before]!.body) as { id: string }).id).toBe('clock_skew');
  });

  it('what EventBridge refuses or routes nowhere never reaches the queue', async () => {
    const before = receiver.requests.length;
    const dlqBefore = stack.queues.eventsDlq.size();
    // Unknown detail-types, other sources, other letter case: accepted by PutEvents, matched by no rule.
    const unrouted = [
      entry({ accountId: account, data: { ...visitFixture, id: 'x1' } }, 'NEW_SESSION'),
      entry({ accountId: account, data: { ...visitFixture, id: 'x2' } }, 'new_visit'),
      entry({ accountId: account, data: { ...visitFixture, id: 'x3' } }, 'NEW_VISIT ', 'tracking'),
      entry({ accountId: account, data: { ...visitFixture, id: 'x4' } }, 'NEW_VISIT', 'tracking-evil'),
      entry({ accountId: account, data: { ...visitFixture, id: 'x5' } }, 'NEW_VISITOR', 'Tracking'),
    ];
    const routed = await client.send(new PutEventsCommand({ Entries: unrouted }));
    expect(routed.FailedEntryCount).toBe(0);
    // A Detail that is not a JSON object: refused per entry, as EventBridge does.
    const malformed = await client.send(new PutEventsCommand({ Entries: [entry('{not json'), entry('[1,2]'), entry('"a visit"'), good('malformed_batch_ok')] }));
    expect(malformed.FailedEntryCount).toBe(3);
    expect(malformed.Entries?.slice(0, 3).map((e) => e.ErrorCode)).toEqual(['MalformedDetail', 'MalformedDetail', 'MalformedDetail']);
    // Oversized: over EventBridge's 256 KB request limit, refused whole.
    const huge = good('huge');
    huge.Detail = JSON.stringify({ accountId: account, data: { ...visitFixture, id: 'huge', blob: 'x'.repeat(LIMITS.eventMaxBytes) } });
    await expect(client.send(new PutEventsCommand({ Entries: [huge] }))).rejects.toThrow(/over the limit|ValidationException/);

    await eventually(() => receiver.requests.length, (n) => n === before + 1, 10_000, 'the one good entry delivered');
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.slice(before).map((q) => (JSON.parse(q.body) as { id: string }).id)).toEqual(['malformed_batch_ok']);
    expect(stack.queues.eventsDlq.size()).toBe(dlqBefore);
  });

  it('what reaches the queue another way (a misrouted producer, a redrive) is checked all the same', async () => {
    const dlqBefore = stack.queues.eventsDlq.size();
    const envelope = (over: Record<string, unknown>) =>
      JSON.stringify({ version: '0', id: `direct-${Math.random()}`, 'detail-type': 'NEW_VISIT', source: 'tracking', account: '1', time: '2026-01-01T00:00:00Z', region: 'local', resources: [], detail: { accountId: account, data: { ...visitFixture, id: 'direct' } }, ...over });
    const direct: Array<[string, RegExp]> = [
      ['not json at all', /not JSON/],
      ['{}', /detail-type|id/],
      ['[]', /root|expected object/i],
      [envelope({ 'detail-type': 'NEW_SESSION' }), /detail-type/],
      [envelope({ time: 'yesterday' }), /time/],
      [envelope({ id: '' }), /id/],
      [envelope({ detail: { accountId: account, data: { ...visitFixture, id: 'big', blob: 'x'.repeat(LIMITS.eventMaxBytes + 8192) } } }), /larger than/],
    ];
    for (const [body] of direct) stack.queues.events.sendMessage(body);
    const dead = await eventually(() => stack.queues.eventsDlq.peek(1000).slice(dlqBefore), (d) => d.length === direct.length, 10_000, 'every direct message in the DLQ');
    for (const [body, reason] of direct) {
      expect({ body: body.slice(0, 60), reason: dead.find((d) => d.body === body)?.attributes.reason }).toEqual({ body: body.slice(0, 60), reason: expect.stringMatching(reason) });
    }
  });
});
