import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { EventBridgeOperationalEvents } from '../../lambdas/shared/adapters/eventbridge-publisher';
import { operationalEventPattern, OPERATIONAL_EVENT_TYPES } from '../../lambdas/shared/contract';
import { type OperationalEvent, operationalEventSchema } from '../../lambdas/shared/domain/operational-events';
import { SAMPLE_PAYLOADS } from '../../lambdas/shared/sample-payloads';
import { LOCAL_AWS_CONFIG } from '../../local/dynamo';
import { createLocalApiRoutes, ensureDemoKey } from '../../local/api-routes';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { eventually } from '../helpers/eventually';
import { receiverPool, respond } from '../helpers/receiver';
import { publishVisits } from '../reliability/support';

jest.setTimeout(60_000);

/**
 * Operational events end to end on the local runtime: a webhook that fails until it is
 * auto-disabled (short settings: 1 s retries, probes every second, auto-disable after ~1.7 s of
 * failures) makes the service put its breaker opening, its auto-disable and the breaker's closing
 * on the bus; the account's webhook subscribed to those types gets each one, signed like a visit;
 * the failing webhook, subscribed to them too, never gets an event about itself.
 */
describe('operational events on the local runtime', () => {
  const receivers = receiverPool();
  let stack: LocalStack;
  let apiKey: string;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      dataDir: ':memory:',
      print: () => undefined,
      routes: async (core) => {
        apiKey = (await ensureDemoKey(core)).apiKey ?? '';
        return createLocalApiRoutes(core);
      },
      env: {
        WEBHOOKS_RETRY_SCHEDULE: '1,1,1,1,1,1',
        WEBHOOKS_AUTO_DISABLE_AFTER_DAYS: '0.00002', // ~1.7 s
        WEBHOOKS_PROBE_INTERVAL_MS: '1000',
        WEBHOOKS_RECONCILE_EVERY_SECONDS: '1',
        WEBHOOKS_DELIVERY_TIMEOUT_MS: '2000',
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await receivers.closeAll();
  });

  const createWebhook = async (body: Record<string, unknown>) => {
    const res = await fetch(`${stack.url}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; secret: string; eventTypes: string[] };
  };

  it('the EventBridge adapter puts an operational event with the real EventBridgeClient, routed like the stack routes it', async () => {
    const seen: Array<{ 'detail-type': string; source: string; detail: { accountId: string; data: Record<string, unknown> } }> = [];
    stack.bus.addRule({ name: 'adapter-observer', pattern: operationalEventPattern(), target: (json) => seen.push(JSON.parse(json) as (typeof seen)[number]) });
    const client = new EventBridgeClient({ ...LOCAL_AWS_CONFIG, endpoint: stack.url });
    try {
      const event = { ...SAMPLE_PAYLOADS.WEBHOOK_AUTO_DISABLED, id: 'opev_adapter_test', accountId: 'acc_adapter' } as unknown as OperationalEvent;
      await new EventBridgeOperationalEvents(client, 'default', 'visit-webhooks').publish([event]);
      expect(seen).toEqual([expect.objectContaining({ source: 'visit-webhooks', 'detail-type': 'WEBHOOK_AUTO_DISABLED', detail: { accountId: 'acc_adapter', data: event } })]);
      // A source the rule does not match is accepted by the bus but reaches no subscribed webhook.
      await new EventBridgeOperationalEvents(client, 'default', 'someone-else').publish([{ ...event, id: 'opev_other_source' }]);
      expect(seen).toHaveLength(1);
    } finally {
      client.destroy();
    }
  });

  it('a webhook failing until auto-disabled: its events are on the bus and reach the subscribed webhook, signed, never the one they are about', async () => {
    const onTheBus: Array<{ 'detail-type': string; source: string; detail: { accountId: string; data: Record<string, unknown> } }> = [];
    stack.bus.addRule({ name: 'test-observer', pattern: operationalEventPattern(), target: (json) => onTheBus.push(JSON.parse(json) as (typeof onTheBus)[number]) });

    const failing = await receivers.start(respond(500, 'down'));
    const ops = await receivers.start(respond(200, 'ok'));
    const bad = await createWebhook({ name: 'Failing CRM', url: failing.url, eventTypes: ['NEW_VISIT', ...OPERATIONAL_EVENT_TYPES] });
    const watcher = await createWebhook({ name: 'Ops channel', url: ops.url, eventTypes: [...OPERATIONAL_EVENT_TYPES] });
    expect(watcher.eventTypes).toEqual([...OPERATIONAL_EVENT_TYPES]);

    // Three visits fail at once: the breaker opens; its probes keep failing until the failure run
    // is long enough to disable the webhook; the reconciler then skips what was parked and closes it.
    await publishVisits(stack.url, 'demo', 3, 'opev');
    await eventually(
      () => onTheBus.map((e) => e['detail-type']),
      (types) => types.includes('WEBHOOK_AUTO_DISABLED') && types.includes('WEBHOOK_BREAKER_CLOSED'),
      30_000,
      'the auto-disable and the breaker closing on the bus',
    );
    expect(onTheBus.map((e) => e['detail-type'])).toEqual(['WEBHOOK_BREAKER_OPENED', 'WEBHOOK_AUTO_DISABLED', 'WEBHOOK_BREAKER_CLOSED']);
    for (const event of onTheBus) {
      expect(event.source).toBe('visit-webhooks');
      expect(event.detail.accountId).toBe('demo');
      expect(event.detail.data).toMatchObject({ accountId: 'demo', webhookId: bad.id, webhookName: 'Failing CRM', type: event['detail-type'] });
      expect(operationalEventSchema.safeParse(event.detail.data).success).toBe(true);
    }

    // The subscribed webhook gets all three through the events queue, signed with its own secret.
    const received = await eventually(() => ops.requests, (r) => r.length >= 3, 15_000, 'three operational events at the subscribed webhook');
    const verifier = new StandardWebhook(watcher.secret);
    const bodies = received.map((req) => verifier.verify(req.body, req.headers as Record<string, string>) as Record<string, unknown>);
    expect(bodies.map((b) => b.type).sort()).toEqual(['WEBHOOK_AUTO_DISABLED', 'WEBHOOK_BREAKER_CLOSED', 'WEBHOOK_BREAKER_OPENED']);
    expect(bodies).toEqual(expect.arrayContaining(onTheBus.map((e) => e.detail.data)));
    expect(received.map((r) => r.headers['x-webhook-event']).sort()).toEqual(['WEBHOOK_AUTO_DISABLED', 'WEBHOOK_BREAKER_CLOSED', 'WEBHOOK_BREAKER_OPENED']);

    // The failing webhook, although subscribed to operational events, got only the visits.
    expect(failing.requests.every((r) => r.headers['x-webhook-event'] === 'NEW_VISIT')).toBe(true);
    const res = await fetch(`${stack.url}/v1/webhooks/${bad.id}`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(await res.json()).toMatchObject({ status: 'auto-disabled', enabled: false });
    // Nothing more: the deliveries of the operational events succeeded, and nothing else changed state.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(onTheBus).toHaveLength(3);
    expect(ops.requests).toHaveLength(3);
  });
});
