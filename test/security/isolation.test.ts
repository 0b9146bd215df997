import { createLocalApiRoutes } from '../../local/api-routes';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { type Receiver, respond, startReceiver } from '../helpers/receiver';
import { eventually, publishVisits } from '../reliability/support';
import { httpCall, mintKey, type RawResponse } from './support';

jest.setTimeout(60_000);

interface WebhookJson {
  id: string;
  name: string;
  url: string;
}

/**
 * Two accounts on one running local stack (real HTTP server, gateway, authorizer, bus, queues):
 * neither can read, list, edit, delete, test, retry or recover the other's webhooks, and events
 * of one account are never delivered to the other's endpoints.
 */
describe('two accounts, both directions, through the local runtime', () => {
  let stack: LocalStack;
  const receivers: Receiver[] = [];
  let tests = 0;

  const call = (key: string, method: string, path: string, body?: unknown): Promise<RawResponse> =>
    httpCall(stack.port, method, path, { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body !== undefined ? JSON.stringify(body) : undefined);

  /**
   * Two accounts of the calling test's own (alpha, beta), each with a key, a healthy webhook for
   * both event types and a failing one for NEW_VISIT only.
   */
  const twoAccounts = async () => {
    const n = ++tests;
    const [alpha, beta] = [`acc_iso_alpha_${n}`, `acc_iso_beta_${n}`] as const;
    const keys: Record<string, string> = {};
    const hooks: Record<string, { webhook: WebhookJson; receiver: Receiver; failing: Receiver; failingId: string; secret: string }> = {};
    for (const accountId of [alpha, beta]) {
      keys[accountId] = await mintKey(stack, accountId);
      const receiver = await startReceiver();
      const failing = await startReceiver(respond(500));
      receivers.push(receiver, failing);
      const created = await call(keys[accountId]!, 'POST', '/v1/webhooks', { name: `${accountId} hook`, url: receiver.url, eventTypes: ['NEW_VISIT', 'NEW_VISITOR'] });
      expect(created.status).toBe(201);
      const down = await call(keys[accountId]!, 'POST', '/v1/webhooks', { name: `${accountId} down`, url: failing.url, eventTypes: ['NEW_VISIT'] });
      expect(down.status).toBe(201);
      const webhook = JSON.parse(created.body) as WebhookJson & { secret: string };
      hooks[accountId] = { webhook, receiver, failing, failingId: (JSON.parse(down.body) as WebhookJson).id, secret: webhook.secret };
    }
    return { alpha, beta, keys, hooks };
  };

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, dataDir: ':memory:', print: () => undefined, routes: createLocalApiRoutes, env: { WEBHOOKS_RETRY_SCHEDULE: '1', WEBHOOKS_API_ACCOUNT_RATE_LIMIT: '100000' } }); // the API rate is not this suite's subject
  });
  afterAll(async () => {
    await stack?.close();
    for (const r of receivers) await r.close();
  });

  it("events of one account never reach the other's endpoints", async () => {
    const { alpha: alphaAccount, beta: betaAccount, hooks } = await twoAccounts();
    const alpha = await publishVisits(stack.url, alphaAccount, 6, 'alpha');
    const beta = await publishVisits(stack.url, betaAccount, 6, 'beta', 'NEW_VISITOR');
    // An event naming an account that has no webhooks goes nowhere.
    await publishVisits(stack.url, 'acc_iso_nobody', 3, 'nobody');
    for (const [accountId, ids] of [
      [alphaAccount, alpha],
      [betaAccount, beta],
    ] as const) {
      const { receiver } = hooks[accountId]!;
      await eventually(() => receiver.requests.length, (n) => n === ids.length, 15_000, `${accountId} got its events`);
    }
    await eventually(() => stack.queues.retry.size(), (n) => n === 0, 15_000, 'retries done');
    await new Promise((r) => setTimeout(r, 300));
    for (const [accountId, prefix] of [
      [alphaAccount, 'alpha'],
      [betaAccount, 'beta'],
    ] as const) {
      const { receiver, failing } = hooks[accountId]!;
      const bodies = receiver.requests.map((q) => (JSON.parse(q.body) as { id: string }).id);
      expect(bodies.every((id) => id.startsWith(`${prefix}_`))).toBe(true);
      expect(bodies).toHaveLength(6);
      expect(failing.requests.every((q) => (JSON.parse(q.body) as { id: string }).id.startsWith(`${prefix}_`))).toBe(true);
    }
    // beta published NEW_VISITOR only: beta's NEW_VISIT-only failing endpoint saw nothing at all
    expect(hooks[betaAccount]!.failing.requests).toHaveLength(0);
  });

  it("no read, list, edit, delete, secret, test, deliveries, retry or recover of the other's webhooks", async () => {
    const { alpha, beta, keys, hooks } = await twoAccounts();
    // Each victim gets a real failed delivery: one NEW_VISIT that its failing endpoint refuses
    // until the schedule ends. Then nothing is left to retry, so the retry queue holds still.
    for (const accountId of [alpha, beta]) await publishVisits(stack.url, accountId, 1, `${accountId}_failed`);
    for (const accountId of [alpha, beta]) {
      await eventually(
        async () => (JSON.parse((await call(keys[accountId]!, 'GET', `/v1/webhooks/${hooks[accountId]!.failingId}/deliveries?status=failed`)).body) as { items: unknown[] }).items.length,
        (n) => n === 1,
        15_000,
        `${accountId} has a failed delivery`,
      );
      await eventually(() => hooks[accountId]!.receiver.requests.length, (n) => n === 1, 15_000, `${accountId}'s healthy endpoint got the event`);
    }
    await eventually(() => stack.queues.retry.size(), (n) => n === 0, 15_000, 'retries done');
    for (const [intruder, victim] of [
      [alpha, beta],
      [beta, alpha],
    ] as const) {
      const key = keys[intruder]!;
      const { webhook, failingId, secret } = hooks[victim]!;
      // a real delivery of the victim (its failing endpoint has a failed one)
      const victimDeliveries = JSON.parse((await call(keys[victim]!, 'GET', `/v1/webhooks/${failingId}/deliveries?limit=100`)).body) as { items: Array<{ id: string }> };
      const deliveryId = victimDeliveries.items[0]?.id ?? 'msg_0000000000AAAAAAAAAAAAAAAA';
      const attempts: Array<[string, string, unknown]> = [
        ['GET', `/v1/webhooks/${webhook.id}`, undefined],
        ['PATCH', `/v1/webhooks/${webhook.id}`, { url: 'https://93.184.215.14/stolen', name: 'hijacked' }],
        ['PATCH', `/v1/webhooks/${webhook.id}`, { enabled: false }],
        ['GET', `/v1/webhooks/${webhook.id}/secret`, undefined],
        ['POST', `/v1/webhooks/${webhook.id}/secret/rotate`, undefined],
        ['POST', `/v1/webhooks/${webhook.id}/test`, { eventType: 'NEW_VISIT' }],
        ['GET', `/v1/webhooks/${webhook.id}/deliveries`, undefined],
        ['GET', `/v1/webhooks/${failingId}/deliveries?status=failed`, undefined],
        ['POST', `/v1/webhooks/${failingId}/deliveries/${deliveryId}/retry`, undefined],
        ['POST', `/v1/webhooks/${failingId}/recover`, { since: '2000-01-01T00:00:00Z' }],
        ['DELETE', `/v1/webhooks/${failingId}`, undefined],
        ['DELETE', `/v1/webhooks/${webhook.id}`, undefined],
      ];
      const retryBefore = stack.queues.retry.size();
      for (const [method, path, body] of attempts) {
        const res = await call(key, method, path, body);
        expect({ method, path, status: res.status, code: (JSON.parse(res.body) as { error?: { code?: string } }).error?.code }).toEqual({ method, path, status: 404, code: 'not_found' });
      }
      expect(stack.queues.retry.size()).toBe(retryBefore); // nothing was re-queued
      // The intruder's own list never shows them; a cursor cannot reach across either.
      const list = JSON.parse((await call(key, 'GET', '/v1/webhooks?limit=100')).body) as { items: WebhookJson[] };
      expect(list.items.map((w) => w.id)).not.toContain(webhook.id);
      expect(list.items.map((w) => w.id)).not.toContain(failingId);
      const forged = Buffer.from(JSON.stringify({ webhookId: 'wh_' })).toString('base64url');
      const crossCursor = JSON.parse((await call(key, 'GET', `/v1/webhooks?limit=100&cursor=${forged}`)).body) as { items: WebhookJson[] };
      expect(crossCursor.items.map((w) => w.id)).not.toContain(webhook.id);
      // The victim's webhook is intact: same name and URL, still enabled, same secret.
      const mine = JSON.parse((await call(keys[victim]!, 'GET', `/v1/webhooks/${webhook.id}`)).body) as WebhookJson & { enabled: boolean };
      expect(mine).toMatchObject({ id: webhook.id, name: webhook.name, url: webhook.url, enabled: true });
      expect((JSON.parse((await call(keys[victim]!, 'GET', `/v1/webhooks/${webhook.id}/secret`)).body) as { secret: string }).secret).toBe(secret);
    }
    // ... and deliveries still go to the owner's endpoint only.
    const before = hooks[alpha]!.receiver.requests.length;
    await publishVisits(stack.url, alpha, 1, 'alpha_after');
    await eventually(() => hooks[alpha]!.receiver.requests.length, (n) => n === before + 1, 10_000, 'alpha still receives');
  });
});
