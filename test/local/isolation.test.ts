import type { ServerResponse } from 'node:http';
import { createLocalApiRoutes } from '../../local/api-routes';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { type Receiver, respond, receiverPool } from '../helpers/receiver';
import { allRecords, eventually, printTally, publishVisits, sumTallies, tally } from '../reliability/support';

jest.setTimeout(120_000);

const A = 'acc_iso_a';
const B = 'acc_iso_b';
const A_EVENTS = 12;
const B_EVENTS = 20;

interface DeliveryJson {
  id: string;
  eventId: string;
  status: string;
  parked?: boolean;
  reason?: string;
  attemptCount: number;
}

/**
 * Per-webhook isolation on the local stack, end to end (bus, fast and slow lanes, breaker,
 * reconciler, API): account A's endpoints hang or answer 500, account B's is healthy. B gets every
 * delivery while A's endpoint still hangs; A's breakers open and its deliveries are parked, with
 * the reason, visible in the API; once A's endpoints recover, the reconciler's probe and paced
 * release deliver each parked delivery exactly once more (same webhook-id) and the breakers close.
 */
describe('one account’s hanging and failing endpoints cost another account nothing', () => {
  const receivers = receiverPool();
  let stack: LocalStack;
  afterAll(async () => {
    await stack?.close();
    await receivers.closeAll();
  });

  /** A receiver that holds every request unanswered until `heal()`; from then on it answers 200. */
  const hangingReceiver = async () => {
    const held: ServerResponse[] = [];
    let healed = false;
    const receiver = await receivers.start((_req, res) => {
      if (healed) respond(200)(_req, res, res.socket!);
      else held.push(res);
    });
    return {
      receiver,
      get healed() {
        return healed;
      },
      heal() {
        healed = true;
        for (const res of held.splice(0)) if (!res.writableEnded && !res.destroyed) res.end();
      },
    };
  };

  const api = async (key: string, path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${stack.url}/v1${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const mintKey = async (accountId: string) => {
    const res = await fetch(`${stack.url}/_local/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { apiKey: string }).apiKey;
  };
  const createWebhook = async (key: string, name: string, url: string) => {
    const created = await api(key, '/webhooks', { method: 'POST', body: { name, url, eventTypes: ['NEW_VISIT'] } });
    expect(created.status).toBe(201);
    return created.json.id as string;
  };
  const deliveries = async (key: string, webhookId: string) => {
    const page = await api(key, `/webhooks/${webhookId}/deliveries?limit=100`);
    expect(page.status).toBe(200);
    return page.json.items as DeliveryJson[];
  };

  it('B is delivered while A hangs; A is parked, then released exactly once when it recovers', async () => {
    stack = await startLocalStack({
      port: 0,
      dataDir: ':memory:',
      print: () => undefined,
      routes: createLocalApiRoutes,
      env: {
        // The test runs the reconciler's ticks itself (stack.reconcile()).
        WEBHOOKS_RECONCILE_EVERY_SECONDS: '0',
        // It polls the delivery log as fast as it can; the per-account API rate is not its subject.
        WEBHOOKS_API_ACCOUNT_RATE_LIMIT: '100000',
        WEBHOOKS_INLINE_TIMEOUT_MS: '300',
        // The slow lane's budget: ample for a healthy answer on a loaded machine (a timed-out 200
        // would be sent again), and what each attempt at the hanging endpoint costs.
        WEBHOOKS_DELIVERY_TIMEOUT_MS: '5000',
        WEBHOOKS_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1',
      },
      // No environment variable sets the probe interval (10 s by default): the stack's settings do.
      settings: { probeIntervalMs: 200, probeMaxIntervalMs: 400 },
    });
    const [keyA, keyB] = [await mintKey(A), await mintKey(B)];
    const hang = await hangingReceiver();
    const failing: Receiver = await receivers.start(respond(500, 'down'));
    const healthy: Receiver = await receivers.start(respond(200, 'ok'));
    const hangId = await createWebhook(keyA, 'hangs', hang.receiver.url);
    const failingId = await createWebhook(keyA, 'answers 500', failing.url);
    const healthyId = await createWebhook(keyB, 'healthy', healthy.url);

    // A first, until its endpoint holds requests; then B, then more of A.
    const aEvents = await publishVisits(stack.url, A, A_EVENTS / 2, 'a1');
    await eventually(() => hang.receiver.requests.length, (n) => n >= 1, 20_000, "A's endpoint holds a request");
    const bEvents = await publishVisits(stack.url, B, B_EVENTS, 'b');
    aEvents.push(...(await publishVisits(stack.url, A, A_EVENTS / 2, 'a2')));

    // Every B delivery arrives while A's endpoint still hangs. (Counted by webhook-id: on a loaded
    // machine a 200 slower than the fast lane's 300 ms is sent again through the slow lane.)
    const bIds = await eventually(
      () => new Set(healthy.requests.map((q) => String(q.headers['webhook-id']))),
      (ids) => ids.size === B_EVENTS,
      30_000,
      "all of B's deliveries",
    );
    expect(hang.healed).toBe(false);
    expect(bIds.size).toBe(B_EVENTS);
    const bRecords = await eventually(() => deliveries(keyB, healthyId), (items) => items.length === B_EVENTS && items.every((d) => d.status === 'delivered'));
    expect(new Set(bRecords.map((d) => d.id))).toEqual(bIds);

    // A's breakers open and every A delivery is parked: pending, with the reason, in the API.
    for (const webhookId of [hangId, failingId]) {
      await eventually(() => stack.runtime.webhooks.get(A, webhookId), (w) => w?.breaker?.state === 'open', 30_000, `${webhookId}'s breaker open`);
    }
    for (const webhookId of [hangId, failingId]) {
      const shown = await api(keyA, `/webhooks/${webhookId}`);
      expect(shown.json.health).toMatchObject({ breaker: 'open', reason: expect.any(String), nextProbeAt: expect.any(String) });
    }
    const parked = async () => [...(await deliveries(keyA, hangId)), ...(await deliveries(keyA, failingId))];
    const isParked = (d: DeliveryJson) => d.status === 'pending' && d.parked === true && /^parked: the webhook's breaker is open/.test(d.reason ?? '');
    const parkedA = await eventually(parked, (items) => items.length === 2 * A_EVENTS && items.every(isParked), 30_000, "A's deliveries parked");
    await eventually(() => stack.queues.retry.size() + stack.queues.events.size(), (n) => n === 0, 30_000, 'nothing queued: parked deliveries wait on no queue message');
    for (const webhookId of [hangId, failingId]) {
      // Parked, each with its payload kept (the event's payload item, loaded with the record).
      for (const r of await allRecords(stack, A, webhookId)) {
        const record = await stack.runtime.deliveries.get(A, webhookId, r.deliveryId);
        expect({ parked: record?.parked, payload: record?.payload !== undefined }).toEqual({ parked: true, payload: true });
      }
    }

    // A probe while A's endpoints are still down fails: the breakers stay open (backing off) and nothing is released.
    const probed = await stack.reconcile();
    expect(probed.probes).toBe(2);
    for (const webhookId of [hangId, failingId]) {
      await eventually(() => stack.runtime.webhooks.get(A, webhookId), (w) => w?.breaker?.state === 'open' && w.breaker.probes === 1, 30_000, `${webhookId}'s failed probe`);
    }
    expect((await parked()).every(isParked)).toBe(true);

    // A recovers. Ticks (each after the one before) probe, release at the paced rate, then close.
    const before = { hang: hang.receiver.requests.length, failing: failing.requests.length };
    hang.heal();
    failing.behave(respond(200, 'back'));
    await eventually(
      async () => {
        await stack.reconcile();
        const [h, f] = [await stack.runtime.webhooks.get(A, hangId), await stack.runtime.webhooks.get(A, failingId)];
        const items = await parked();
        return { breakers: [h?.breaker?.state ?? 'closed', f?.breaker?.state ?? 'closed'], statuses: items.map((d) => d.status), parked: items.filter((d) => d.parked).length };
      },
      (s) => s.breakers.every((b) => b === 'closed') && s.statuses.every((st) => st === 'delivered') && s.parked === 0,
      60_000,
      "A's parked deliveries delivered and its breakers closed",
    );

    // Each parked delivery was sent exactly once more, under its own webhook-id.
    const after = [...hang.receiver.requests.slice(before.hang), ...failing.requests.slice(before.failing)].map((q) => String(q.headers['webhook-id']));
    expect([...after].sort()).toEqual(parkedA.map((d) => d.id).sort());
    expect(new Set(after).size).toBe(after.length);
    for (const webhookId of [hangId, failingId]) expect((await api(keyA, `/webhooks/${webhookId}`)).json.health).toMatchObject({ breaker: 'closed' });

    // Accounting: every pair delivered, none lost, no stray request.
    const records = new Map([
      [hangId, await allRecords(stack, A, hangId)],
      [failingId, await allRecords(stack, A, failingId)],
      [healthyId, await allRecords(stack, B, healthyId)],
    ]);
    const seen = (r: Receiver, okFrom: number) => r.requests.map((q, i) => ({ webhookId: String(q.headers['webhook-id']), ok: i >= okFrom, at: q.at }));
    const tA = tally(aEvents, [{ webhookId: hangId, seen: seen(hang.receiver, before.hang) }, { webhookId: failingId, seen: seen(failing, before.failing) }], records, []);
    const t = sumTallies([tA, tally(bEvents, [{ webhookId: healthyId, seen: seen(healthy, 0) }], records, [])]);
    printTally('isolation: A hangs and fails, B healthy', t, { 'A requests while down': before.hang + before.failing });
    expect(t.lostPairs).toEqual([]);
    expect(t.lost).toBe(0);
    expect(t.stray).toBe(0);
    expect(t.delivered).toBe(2 * A_EVENTS + B_EVENTS);
    expect(tA.duplicates).toBe(0);
  });
});
