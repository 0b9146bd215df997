import type { LookupAddress } from 'node:dns';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import type { DeliveryRuntime } from '../../lambdas/shared/composition/delivery-runtime';
import { type ApiClient, type ApiTestContext, startApi, webhookBody } from '../api/support';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord } from '../../local/lambda-events';
import { respond, receiverPool } from '../helpers/receiver';
import type { Resolver } from '../../lambdas/shared/domain/ports';

interface Created {
  id: string;
}
interface TestResultJson {
  status: 'delivered' | 'failed';
  statusCode?: number;
  errorKind?: string;
  error?: string;
}

/** The production rules, except that plain http is allowed (the receivers are plain http on loopback). */
const PRODUCTION = { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'false', WEBHOOKS_ALLOW_HTTP: 'true' };

/**
 * DNS that answers a public address the first time a name is looked up (the create-time check)
 * and something else every time after (delivery): a rebinding attack, with TTL 0.
 */
function rebindingResolver(later: string[]): Resolver & { calls: string[] } {
  const seen = new Set<string>();
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const first = !seen.has(hostname);
    seen.add(hostname);
    const addresses = first ? ['93.184.216.34'] : later;
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

describe('SSRF through the API and the delivery path: rebinding is caught at connect, redirects are never followed', () => {
  let t: ApiTestContext;
  let accounts = 0;
  /** Each test its own account, so an event fans out to that test's webhooks only. */
  const account = async () => {
    const accountId = `acc_ssrf_${++accounts}`;
    return { accountId, key: await t.keyFor(accountId) };
  };
  const receivers = receiverPool();
  const receiver = receivers.start;
  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(async () => {
    await receivers.closeAll();
    await t.close();
  });

  /** An API and a delivery runtime that resolve names with `resolver`, under `env`. */
  const wire = (resolver: Resolver, env: Record<string, string>): { api: ApiClient; runtime: DeliveryRuntime } => {
    const runtime = t.h.runtime({ resolver }, env);
    return { api: t.client({ env: { ...t.h.env, ...env }, resolver }, runtime), runtime };
  };

  for (const [label, later] of [
    ['127.0.0.1', ['127.0.0.1']],
    ['::ffff:127.0.0.1 (IPv4-mapped)', ['::ffff:127.0.0.1']],
    ['::127.0.0.1 (IPv4-compatible)', ['::127.0.0.1']],
    ['169.254.169.254 (metadata)', ['169.254.169.254']],
    ['0.0.0.0', ['0.0.0.0']],
  ] as const) {
    it(`a name that looked public at create time and resolves to ${label} at delivery is blocked at connect`, async () => {
      const { accountId, key } = await account();
      const r = await receiver();
      const port = new URL(r.url).port;
      const resolver = rebindingResolver([...later]);
      const { api, runtime } = wire(resolver, PRODUCTION);
      const host = `rebind-${label.replace(/[^a-z0-9]+/gi, '-')}.example.test`.toLowerCase();

      const created = await api.call<Created>('POST', '/v1/webhooks', { key, body: webhookBody(`http://${host}:${port}/hook`) });
      expect(created.status).toBe(201); // the create-time check saw only a public address
      expect(resolver.calls).toEqual([host]);

      // A real event through the delivery handler.
      const result = await createDeliveryHandler(runtime)(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', accountId))), lambdaContext);
      expect(result.batchItemFailures).toEqual([]);
      const page = await runtime.deliveries.list(accountId, created.body.id, { limit: 10 });
      expect(page.items).toHaveLength(1);
      expect(page.items[0]?.attempts[0]).toMatchObject({ ok: false, errorKind: 'ssrf' });

      // And a test send.
      const test = await api.call<TestResultJson>('POST', `/v1/webhooks/${created.body.id}/test`, { key, body: { eventType: 'NEW_VISIT' } });
      expect(test.body).toMatchObject({ status: 'failed', errorKind: 'ssrf' });

      expect(r.requests).toHaveLength(0);
      expect(resolver.calls.length).toBeGreaterThanOrEqual(2); // looked up again at connect time
    });
  }

  it('the same target created while it resolves privately is refused at create time', async () => {
    const { key } = await account();
    const resolver: Resolver = async () => [{ address: '10.0.0.7', family: 4 }];
    const { api } = wire(resolver, PRODUCTION);
    const res = await api.call<{ error: { details: Array<{ path: string; message: string }> } }>('POST', '/v1/webhooks', { key, body: webhookBody('http://internal.example.test/hook') });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0]).toMatchObject({ path: 'url', message: expect.stringMatching(/not allowed/) });
  });

  it('a name that resolves privately and one that does not resolve are refused in the same words (internal DNS cannot be probed)', async () => {
    const { key } = await account();
    const resolver: Resolver = async (hostname) => {
      if (hostname === 'internal.example.test') return [{ address: '10.0.0.7', family: 4 }];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    };
    const { api } = wire(resolver, PRODUCTION);
    const messages: string[] = [];
    for (const host of ['internal.example.test', 'nothing.example.test']) {
      const res = await api.call<{ error: { details: Array<{ path: string; message: string }> } }>('POST', '/v1/webhooks', { key, body: webhookBody(`https://${host}/hook`) });
      expect(res.status).toBe(400);
      messages.push(res.body.error.details[0]!.message.replace(host, '<host>'));
    }
    expect(messages).toEqual(['target is not allowed: <host> is not a public address we can deliver to', 'target is not allowed: <host> is not a public address we can deliver to']);
  });

  for (const status of [301, 302, 303, 307, 308]) {
    it(`a ${status} redirect is never followed, not even to an allowed address, let alone a private one`, async () => {
      // Local rules (loopback allowed) so that following the redirect would succeed: it must not happen.
      const { accountId, key } = await account();
      const target = await receiver();
      const metadataLike = await receiver();
      const redirecting = await receiver((req, res, socket) =>
        respond(status, '', { location: req.path.includes('meta') ? `${metadataLike.url}/latest/meta-data/` : target.url })(req, res, socket),
      );
      const { api, runtime } = wire(async () => [{ address: '127.0.0.1', family: 4 }], { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOKS_ALLOW_HTTP: 'true' });
      const toTarget = await api.call<Created>('POST', '/v1/webhooks', { key, body: webhookBody(redirecting.url) });
      const toMeta = await api.call<Created>('POST', '/v1/webhooks', { key, body: webhookBody(`${redirecting.url}?meta`) });
      expect([toTarget.status, toMeta.status]).toEqual([201, 201]);

      await createDeliveryHandler(runtime)(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', accountId))), lambdaContext);
      for (const id of [toTarget.body.id, toMeta.body.id]) {
        const page = await runtime.deliveries.list(accountId, id, { limit: 10 });
        expect(page.items[0]?.attempts[0]).toMatchObject({ ok: false, statusCode: status, errorKind: 'http' });
        const test = await api.call<TestResultJson>('POST', `/v1/webhooks/${id}/test`, { key, body: { eventType: 'NEW_VISITOR' } });
        expect(test.body).toMatchObject({ status: 'failed', statusCode: status });
      }
      expect(redirecting.requests.length).toBeGreaterThanOrEqual(4);
      expect(target.requests).toHaveLength(0);
      expect(metadataLike.requests).toHaveLength(0);
    });
  }
});
