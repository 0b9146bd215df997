import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishVisitEvent } from '../../lambdas/shared/adapters/eventbridge-publisher';
import { SAMPLE_VISIT } from '../../lambdas/shared/sample-payloads';
import { LOCAL_AWS_CONFIG } from '../../local/dynamo';
import { createLocalApiRoutes } from '../../local/api-routes';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { eventually } from '../helpers/eventually';
import { receiverPool } from '../helpers/receiver';

jest.setTimeout(60_000);

/**
 * Payload filters end to end on the local runtime: webhooks created through the HTTP API with
 * and without a filter, visits published with the real EventBridge client, signed deliveries to
 * real receivers. A filtered webhook receives only the visits its pattern matches and has no
 * record of the others; an unfiltered one receives every visit.
 */
describe('payload filters on the local runtime', () => {
  const receivers = receiverPool();
  let stack: LocalStack;
  let key: string;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, dataDir: ':memory:', env: {}, print: () => undefined, routes: createLocalApiRoutes });
    const res = await fetch(`${stack.url}/_local/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: 'acc_filters' }) });
    key = ((await res.json()) as { apiKey: string }).apiKey;
  });
  afterAll(async () => {
    await stack.close();
    await receivers.closeAll();
  });

  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  const createWebhook = async (name: string, url: string, filter?: unknown) => {
    const res = await api<{ id: string }>('POST', '/v1/webhooks', { name, url, eventTypes: ['NEW_VISIT', 'NEW_VISITOR'], ...(filter !== undefined ? { filter } : {}) });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const deliveries = async (id: string) => (await api<{ items: Array<{ eventId: string; status: string }> }>('GET', `/v1/webhooks/${id}/deliveries?limit=100`)).body.items;
  const visitIds = (requests: ReadonlyArray<{ body: string }>) => requests.map((r) => (JSON.parse(r.body) as { id: string }).id).sort();

  it('a filtered webhook receives only the matching visits; an unfiltered one receives all', async () => {
    const [all, newsletter, elsewhere, touchFrench] = [await receivers.start(), await receivers.start(), await receivers.start(), await receivers.start()];
    const allId = await createWebhook('all visits', all.url);
    const newsletterId = await createWebhook('newsletter', newsletter.url, { params: { utm_source: ['newsletter'] } });
    const elsewhereId = await createWebhook('outside the US', elsewhere.url, { location: { country: [{ 'anything-but': ['United States'] }] } });
    const touchFrenchId = await createWebhook('French touch screens', touchFrench.url, {
      $or: [{ location: { country: [{ 'equals-ignore-case': 'france' }] } }, { location: { city: [{ prefix: 'Paris' }] } }],
      screen: { touch: ['true'] },
      device: { hardwareConcurrency: [{ exists: true }] },
    });

    const visit = (id: string, changes: Record<string, unknown>) => ({ ...structuredClone(SAMPLE_VISIT), id, ...changes });
    const visits = [
      visit('v_us_newsletter', {}), // the sample: United States, utm_source newsletter, touch "true"
      visit('v_fr_ads', { params: { utm_source: 'ads' }, location: { country: 'FRANCE', city: 'Lyon', state: '' } }),
      visit('v_de_newsletter', { location: { country: 'Germany', city: 'Berlin', state: '' } }),
      visit('v_paris_no_params', { params: {}, location: { country: 'Frankreich', city: 'Paris 11e', state: '' }, screen: { height: '1', width: '1', touch: 'false' } }),
    ];
    const client = new EventBridgeClient({ ...LOCAL_AWS_CONFIG, endpoint: stack.url });
    await publishVisitEvent(
      client,
      visits.map((data, i) => ({ eventType: i % 2 === 0 ? ('NEW_VISIT' as const) : ('NEW_VISITOR' as const), accountId: 'acc_filters', data })),
      { eventBusName: 'default' },
    );

    // Every event has been fanned out once the unfiltered webhook has a delivered record of each
    // (records are written after the attempts of the same event, filtered or not).
    await eventually(() => deliveries(allId), (items) => items.length === visits.length && items.every((d) => d.status === 'delivered'), 20_000, 'all four deliveries recorded');
    await eventually(() => stack.queues.events.size(), (n) => n === 0);

    expect(visitIds(all.requests)).toEqual(visits.map((v) => v.id).sort());
    expect(visitIds(newsletter.requests)).toEqual(['v_de_newsletter', 'v_us_newsletter']);
    expect(visitIds(elsewhere.requests)).toEqual(['v_de_newsletter', 'v_fr_ads', 'v_paris_no_params']);
    expect(visitIds(touchFrench.requests)).toEqual(['v_fr_ads']);
    // Filtered-out visits left no record: the attempt log holds exactly what was sent.
    expect((await deliveries(newsletterId)).map((d) => d.status)).toEqual(['delivered', 'delivered']);
    expect(await deliveries(elsewhereId)).toHaveLength(3);
    expect(await deliveries(touchFrenchId)).toHaveLength(1);
  });

  it('the filter as edited with PATCH is the one that decides', async () => {
    // Another account: the delivery function caches an account's webhooks for a few seconds, and
    // this one has not been read by it yet, so the first event sees the edited filter.
    const res = await fetch(`${stack.url}/_local/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: 'acc_edited' }) });
    key = ((await res.json()) as { apiKey: string }).apiKey;
    const r = await receivers.start();
    const id = await createWebhook('edited', r.url, { params: { utm_source: ['nobody'] } });
    expect((await api<{ filter: unknown }>('PATCH', `/v1/webhooks/${id}`, { filter: { params: { utm_source: ['newsletter'] } } })).body.filter).toEqual({ params: { utm_source: ['newsletter'] } });
    const client = new EventBridgeClient({ ...LOCAL_AWS_CONFIG, endpoint: stack.url });
    await publishVisitEvent(
      client,
      [
        { eventType: 'NEW_VISIT', accountId: 'acc_edited', data: { ...structuredClone(SAMPLE_VISIT), id: 'v_ads', params: { utm_source: 'ads' } } },
        { eventType: 'NEW_VISIT', accountId: 'acc_edited', data: { ...structuredClone(SAMPLE_VISIT), id: 'v_newsletter' } },
      ],
      { eventBusName: 'default' },
    );
    await eventually(() => deliveries(id), (items) => items.length === 1 && items[0]?.status === 'delivered');
    await eventually(() => stack.queues.events.size(), (n) => n === 0);
    expect(visitIds(r.requests)).toEqual(['v_newsletter']);
  });
});
