import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { CachedWebhookStore } from '../../lambdas/shared/adapters/cached-webhook-store';
import { DynamoDeliveryStore } from '../../lambdas/shared/adapters/dynamo-delivery-store';
import { DynamoRateLimiter } from '../../lambdas/shared/adapters/dynamo-rate-limiter';
import { DynamoWebhookStore, WEBHOOK_COUNTER_ID } from '../../lambdas/shared/adapters/dynamo-webhook-store';
import { LocalKeyCipher } from '../../lambdas/shared/adapters/secret-cipher';
import { type Breaker, type Webhook } from '../../lambdas/shared/domain/model';
import { ensureTables, type LocalDynamo, startDynalite, type TableNames } from '../../local/dynamo';
import { ManualClock } from '../../local/harness/fakes';
import { webhookFixture } from '../../local/harness/webhook-fixture';

/**
 * The per-webhook isolation storage on dynalite, with the stack's tables and indexes: the
 * breaker lease and its sparse index, the slow lane mark, the rate limit field, the parked and
 * due indexes of the attempt log, and the shared rate limiter.
 */

interface Tables {
  readonly dynamo: LocalDynamo;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: TableNames;
}

/** A fresh dynalite with the tables (each describe has its own: the indexes span every account). */
async function startTables(): Promise<Tables> {
  const dynamo = await startDynalite();
  const suffix = randomUUID().slice(0, 8);
  const tables: TableNames = { webhooks: `webhooks-${suffix}`, deliveries: `deliveries-${suffix}`, stats: `stats-${suffix}`, apiKeys: `apikeys-${suffix}` };
  await ensureTables(dynamo.client, tables);
  const doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  return { dynamo, doc, tables };
}

const breaker = (probeAt: string, state: Breaker['state'] = 'open', probes = 0): Breaker => ({
  state,
  since: '2026-01-01T00:00:00.000Z',
  reason: 'HTTP 503 for 5 minutes',
  probeAt,
  probes,
});

describe('webhook store: breaker, slow lane and rate limit (dynalite)', () => {
  let t: Tables;
  let store: DynamoWebhookStore;
  let n = 0;

  const raw = async (accountId: string, webhookId: string) =>
    (await t.doc.send(new GetCommand({ TableName: t.tables.webhooks, Key: { accountId, webhookId }, ConsistentRead: true }))).Item;
  const create = async (accountId: string, extra: Partial<Webhook> = {}): Promise<Webhook> => {
    n++;
    const webhook = webhookFixture({ accountId, url: `https://example.com/${n}`, webhookId: `wh_${String(n).padStart(4, '0')}`, ...extra });
    await store.create(webhook, 100);
    return webhook;
  };
  /** Closes every breaker, so a test sees only the ones it opens. */
  const closeAll = async () => {
    for (const w of (await store.listBreakers({ limit: 100 })).items) await store.setBreaker(w.accountId, w.webhookId, undefined);
  };

  beforeAll(async () => {
    t = await startTables();
    store = new DynamoWebhookStore(t.doc, t.tables.webhooks, new LocalKeyCipher(randomBytes(32)));
  });
  beforeEach(closeAll);
  afterAll(async () => {
    await t.dynamo.close();
  });

  it('opens a breaker only when none is stored (lease null), and keeps its index keys out of the webhook', async () => {
    const w = await create('acc_brk_open');
    const open = breaker('2026-01-01T00:01:00.000Z');

    expect(await store.setBreaker(w.accountId, w.webhookId, open, { probeAt: null })).toBe(true);
    expect(await store.setBreaker(w.accountId, w.webhookId, breaker('2026-01-01T00:09:00.000Z'), { probeAt: null })).toBe(false);

    const stored = await store.get(w.accountId, w.webhookId);
    expect(stored?.breaker).toEqual(open);
    expect(stored?.secret).toBe(w.secret); // still decrypted as before
    expect(stored).not.toHaveProperty('breakerShard');
    expect(stored).not.toHaveProperty('breakerProbeAt');
    expect(await raw(w.accountId, w.webhookId)).toMatchObject({ breakerShard: 'breakers', breakerProbeAt: open.probeAt });
    expect((await store.listByAccount(w.accountId)).map((x) => Object.keys(x).filter((k) => k.startsWith('breaker')))).toEqual([['breaker']]);
    expect((await store.listPage(w.accountId, { limit: 10 })).items[0]).not.toHaveProperty('breakerShard');
    // The account's counter item is no webhook and never gets a breaker.
    expect(await raw(w.accountId, WEBHOOK_COUNTER_ID)).toEqual({ accountId: w.accountId, webhookId: WEBHOOK_COUNTER_ID, webhookCount: 1, countUpdatedAt: expect.any(Number) });
    expect(await store.setBreaker(w.accountId, WEBHOOK_COUNTER_ID, open)).toBe(false);
    expect(await raw(w.accountId, WEBHOOK_COUNTER_ID)).not.toHaveProperty('breaker');
  });

  it('lets exactly one of two racing transitions with the same lease win', async () => {
    const w = await create('acc_brk_race');
    const open = breaker('2026-01-01T00:01:00.000Z');
    await store.setBreaker(w.accountId, w.webhookId, open, { probeAt: null });
    const a = breaker('2026-01-01T00:01:30.000Z', 'half-open');
    const b = breaker('2026-01-01T00:01:31.000Z', 'half-open');

    const results = await Promise.all([
      store.setBreaker(w.accountId, w.webhookId, a, { probeAt: open.probeAt }),
      store.setBreaker(w.accountId, w.webhookId, b, { probeAt: open.probeAt }),
    ]);

    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? a : b;
    expect((await store.get(w.accountId, w.webhookId))?.breaker).toEqual(winner);
    expect(await raw(w.accountId, w.webhookId)).toMatchObject({ breakerProbeAt: winner.probeAt });
    // A stale lease loses; the current one wins; no lease always writes.
    expect(await store.setBreaker(w.accountId, w.webhookId, undefined, { probeAt: open.probeAt })).toBe(false);
    expect(await store.setBreaker(w.accountId, w.webhookId, breaker('2026-01-01T00:05:00.000Z', 'releasing'), { probeAt: winner.probeAt })).toBe(true);
    expect(await store.setBreaker(w.accountId, w.webhookId, breaker('2026-01-01T00:06:00.000Z', 'releasing'))).toBe(true);
  });

  it('closes a breaker: the webhook leaves the index and a null lease opens it again', async () => {
    const w = await create('acc_brk_close');
    const open = breaker('2026-01-01T00:01:00.000Z');
    await store.setBreaker(w.accountId, w.webhookId, open, { probeAt: null });
    expect((await store.listBreakers({ limit: 10 })).items.map((x) => x.webhookId)).toEqual([w.webhookId]);

    expect(await store.setBreaker(w.accountId, w.webhookId, undefined, { probeAt: open.probeAt })).toBe(true);

    expect((await store.listBreakers({ limit: 10 })).items).toEqual([]);
    expect((await store.get(w.accountId, w.webhookId))?.breaker).toBeUndefined();
    const item = await raw(w.accountId, w.webhookId);
    expect(item).not.toHaveProperty('breaker');
    expect(item).not.toHaveProperty('breakerShard');
    expect(item).not.toHaveProperty('breakerProbeAt');
    expect(await store.setBreaker(w.accountId, w.webhookId, undefined, { probeAt: open.probeAt })).toBe(false); // nothing to close
    expect(await store.setBreaker(w.accountId, w.webhookId, open, { probeAt: null })).toBe(true);
  });

  it('never creates a webhook: setBreaker and markSlow on a missing one write nothing', async () => {
    expect(await store.setBreaker('acc_brk_missing', 'wh_missing', breaker('2026-01-01T00:01:00.000Z'))).toBe(false);
    expect(await store.setBreaker('acc_brk_missing', 'wh_missing', breaker('2026-01-01T00:01:00.000Z'), { probeAt: null })).toBe(false);
    await store.markSlow('acc_brk_missing', 'wh_missing', '2026-01-01T01:00:00.000Z');
    await store.markSlow('acc_brk_missing', WEBHOOK_COUNTER_ID, '2026-01-01T01:00:00.000Z');
    expect(await raw('acc_brk_missing', 'wh_missing')).toBeUndefined();
    expect(await raw('acc_brk_missing', WEBHOOK_COUNTER_ID)).toBeUndefined();
    expect((await store.listBreakers({ limit: 10 })).items).toEqual([]);
  });

  it('lists the breakers of every account, earliest probe first, in pages with a stable cursor', async () => {
    const hooks = [
      await create('acc_brk_list_a'),
      await create('acc_brk_list_b'),
      await create('acc_brk_list_a'),
      await create('acc_brk_list_c'),
      await create('acc_brk_list_b'),
    ];
    await create('acc_brk_list_a'); // no breaker: not listed
    const probeAts = ['2026-01-01T00:05:00.000Z', '2026-01-01T00:01:00.000Z', '2026-01-01T00:03:00.000Z', '2026-01-01T00:02:00.000Z', '2026-01-01T00:04:00.000Z'];
    for (const [i, w] of hooks.entries()) await store.setBreaker(w.accountId, w.webhookId, breaker(probeAts[i]!), { probeAt: null });
    // By probeAt (the index's sort key).
    const expected = [hooks[1]!, hooks[3]!, hooks[2]!, hooks[4]!, hooks[0]!].map((w) => `${w.accountId}/${w.webhookId}`);

    const first = await store.listBreakers({ limit: 2 });
    expect(first.items.map((w) => `${w.accountId}/${w.webhookId}`)).toEqual(expected.slice(0, 2));
    expect(first.items[0]?.breaker).toEqual(breaker(probeAts[1]!));
    expect(first.items[0]?.secret).toBe(hooks[1]!.secret);
    expect(first.items[0]).not.toHaveProperty('breakerShard');
    expect(first.nextCursor).toEqual(expect.any(String));

    // The last webhook of the page moves on (and its cursor key is gone): the next page still starts after it.
    const moved = first.items[1]!;
    await store.setBreaker(moved.accountId, moved.webhookId, breaker('2026-01-01T00:09:00.000Z', 'half-open'), { probeAt: moved.breaker!.probeAt });
    const second = await store.listBreakers({ limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((w) => `${w.accountId}/${w.webhookId}`)).toEqual(expected.slice(2, 4));
    const third = await store.listBreakers({ limit: 2, cursor: second.nextCursor! });
    expect(third.items.map((w) => `${w.accountId}/${w.webhookId}`)).toEqual([expected[4], `${moved.accountId}/${moved.webhookId}`]);
    expect(third.nextCursor).toBeUndefined(); // exactly full: no empty last page

    expect((await store.listBreakers({ limit: 10 })).items).toHaveLength(5);
    await expect(store.listBreakers({ limit: 2, cursor: 'not-a-cursor' })).rejects.toThrow();
  });

  it('deleting a webhook takes its breaker out of the index', async () => {
    const w = await create('acc_brk_delete');
    await store.setBreaker(w.accountId, w.webhookId, breaker('2026-01-01T00:01:00.000Z'), { probeAt: null });
    expect(await store.delete(w.accountId, w.webhookId)).toBe(true);
    expect((await store.listBreakers({ limit: 10 })).items).toEqual([]);
  });

  it('a webhook created with a breaker is listed from the start', async () => {
    const w = await create('acc_brk_created', { breaker: breaker('2026-01-01T00:04:00.000Z') });
    expect((await store.listBreakers({ limit: 10 })).items.map((x) => x.webhookId)).toEqual([w.webhookId]);
    expect(await store.get(w.accountId, w.webhookId)).toEqual(w);
  });

  it('marks a webhook slow until a time, without touching updatedAt', async () => {
    const w = await create('acc_slow');
    await store.markSlow(w.accountId, w.webhookId, '2026-01-01T01:00:00.000Z');
    expect(await store.get(w.accountId, w.webhookId)).toEqual({ ...w, slowUntil: '2026-01-01T01:00:00.000Z' });
    await store.markSlow(w.accountId, w.webhookId, '2026-01-01T02:00:00.000Z');
    expect((await store.get(w.accountId, w.webhookId))?.slowUntil).toBe('2026-01-01T02:00:00.000Z');
  });

  it('round-trips the rate limit through create, get, list and update, and clears it', async () => {
    const w = await create('acc_rate', { rateLimit: 5 });
    expect((await store.get(w.accountId, w.webhookId))?.rateLimit).toBe(5);
    expect((await store.listByAccount(w.accountId))[0]?.rateLimit).toBe(5);
    expect((await store.listPage(w.accountId, { limit: 10 })).items[0]?.rateLimit).toBe(5);

    const raised = await store.update(w.accountId, w.webhookId, { rateLimit: 50, updatedAt: '2026-01-02T00:00:00.000Z' });
    expect(raised?.rateLimit).toBe(50);
    expect((await store.get(w.accountId, w.webhookId))?.rateLimit).toBe(50);

    const cleared = await store.update(w.accountId, w.webhookId, { clear: ['rateLimit'], updatedAt: '2026-01-03T00:00:00.000Z' });
    expect(cleared).not.toHaveProperty('rateLimit');
    expect(await store.get(w.accountId, w.webhookId)).not.toHaveProperty('rateLimit');
    // Other edits leave it alone.
    await store.update(w.accountId, w.webhookId, { rateLimit: 7, updatedAt: '2026-01-04T00:00:00.000Z' });
    expect((await store.update(w.accountId, w.webhookId, { name: 'renamed', updatedAt: '2026-01-05T00:00:00.000Z' }))?.rateLimit).toBe(7);
  });

  it('the container cache sees its own breaker and slow-lane changes at once', async () => {
    const w = await create('acc_cached');
    const clock = new ManualClock();
    const cached = new CachedWebhookStore(store, 60_000, clock);
    expect((await cached.listByAccount(w.accountId))[0]?.breaker).toBeUndefined();

    const open = breaker('2026-01-01T00:01:00.000Z');
    expect(await cached.setBreaker(w.accountId, w.webhookId, open, { probeAt: null })).toBe(true);
    expect((await cached.listByAccount(w.accountId))[0]?.breaker).toEqual(open);

    // A lost lease means someone else moved it: the entry is dropped too.
    await store.setBreaker(w.accountId, w.webhookId, breaker('2026-01-01T00:02:00.000Z', 'half-open'));
    expect(await cached.setBreaker(w.accountId, w.webhookId, undefined, { probeAt: open.probeAt })).toBe(false);
    expect((await cached.listByAccount(w.accountId))[0]?.breaker?.state).toBe('half-open');

    await cached.markSlow(w.accountId, w.webhookId, '2026-01-01T01:00:00.000Z');
    expect((await cached.listByAccount(w.accountId))[0]?.slowUntil).toBe('2026-01-01T01:00:00.000Z');
    expect((await cached.listBreakers({ limit: 10 })).items.map((x) => x.webhookId)).toEqual([w.webhookId]);
  });
});

describe('rate limiter: a per-second counter per key in the deliveries table (dynalite)', () => {
  let t: Tables;
  let limiter: DynamoRateLimiter;
  const second = 1_767_225_600; // 2026-01-01T00:00:00Z
  const ms = (s: number, offset = 0) => s * 1000 + offset;

  beforeAll(async () => {
    t = await startTables();
    limiter = new DynamoRateLimiter(t.doc, t.tables.deliveries);
  });
  afterAll(async () => {
    await t.dynamo.close();
  });

  it('allows exactly N takes a second per key, then again the next second', async () => {
    const takes: boolean[] = [];
    for (let i = 0; i < 5; i++) takes.push(await limiter.tryTake('acc_1#wh_1', 3, ms(second, i * 100)));
    expect(takes).toEqual([true, true, true, false, false]);
    expect(await limiter.tryTake('acc_1#wh_2', 3, ms(second, 999))).toBe(true); // another key
    expect(await limiter.tryTake('acc_1#wh_1', 3, ms(second, 999))).toBe(false);
    expect(await limiter.tryTake('acc_1#wh_1', 3, ms(second + 1))).toBe(true); // a new window
    // A raised limit applies at once to the current window.
    expect(await limiter.tryTake('acc_1#wh_1', 4, ms(second, 500))).toBe(true);
    expect(await limiter.tryTake('acc_1#wh_1', 4, ms(second, 600))).toBe(false);

    const counter = await t.doc.send(new GetCommand({ TableName: t.tables.deliveries, Key: { pk: 'rate#acc_1#wh_1', sk: `s#${second}` }, ConsistentRead: true }));
    expect(counter.Item).toEqual({ pk: 'rate#acc_1#wh_1', sk: `s#${second}`, n: 4, expiresAt: second + 120 });
  });

  it('never lets concurrent takes past the limit', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => limiter.tryTake('acc_2#wh_1', 5, ms(second + 10, i))));
    expect(results.filter(Boolean)).toHaveLength(5);
  });

  it('refuses every take for a limit below one, without a request', async () => {
    expect(await limiter.tryTake('acc_3#wh_1', 0, ms(second))).toBe(false);
    expect(await limiter.tryTake('acc_3#wh_1', Number.NaN, ms(second))).toBe(false);
    const counter = await t.doc.send(new GetCommand({ TableName: t.tables.deliveries, Key: { pk: 'rate#acc_3#wh_1', sk: `s#${second}` } }));
    expect(counter.Item).toBeUndefined();
  });

  it('keeps its counters out of the attempt log and its indexes', async () => {
    await limiter.tryTake('acc_4#wh_1', 1, ms(second));
    const store = new DynamoDeliveryStore(t.doc, t.tables.deliveries, 30);
    expect((await store.listParked('rate', 'acc_4#wh_1', { limit: 10 })).items).toEqual([]);
    expect(await store.listDue('9999-01-01T00:00:00.000Z', 100)).toEqual([]);
    expect((await store.list('rate', 'acc_4', { limit: 10 })).items).toEqual([]);
  });
});
