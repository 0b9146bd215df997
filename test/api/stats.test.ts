import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { LOCAL_AWS_CONFIG } from '../../local/dynamo';
import { createRetryHandler } from '../../lambdas/retry/app';
import { LATENCY_RELATIVE_ERROR } from '../../lambdas/shared/domain/delivery-stats';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord } from '../../local/lambda-events';
import { respond, startReceiver, type Receiver } from '../helpers/receiver';
import { type ApiTestContext, startApi, webhookBody } from './support';

/**
 * `GET /v1/webhooks/{id}/stats` on dynalite: the delivery and retry handlers count attempts per
 * webhook and hour and write them once per invocation (sharded `ADD`s on the statistics table);
 * the API reads them back by window, scoped to the caller's account, and every answer matches
 * the OpenAPI document.
 */

type Stats = {
  webhookId: string;
  window: string;
  granularity: string;
  from: string;
  to: string;
  totals: { attempted: number; delivered: number; failed: number; retried: number; filteredOut: number; successRate: number | null; latencyMs: { p50: number | null; p95: number | null } };
  buckets: Array<{ start: string; attempted: number; delivered: number; failed: number; retried: number }>;
};

describe('GET /v1/webhooks/{id}/stats', () => {
  let t: ApiTestContext;
  let key: string;
  let ok: Receiver;
  let failing: Receiver;

  beforeAll(async () => {
    t = await startApi();
    key = await t.keyFor('acc_stats');
    ok = await startReceiver(respond(200, 'ok'));
    failing = await startReceiver(respond(500, 'down'));
  });
  afterAll(async () => {
    await ok.close();
    await failing.close();
    await t.close();
  });

  it('counts what the handlers attempted, delivered, failed and retried, by hour and by day, with latency percentiles', async () => {
    const good = (await t.api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: webhookBody(ok.url) })).body.id;
    const bad = (await t.api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: webhookBody(failing.url) })).body.id;
    // The breaker off, so that the failing webhook's retries are attempted rather than parked.
    const runtime = t.h.runtime({ settings: { failuresToOpen: 1_000, openAfterFailingMs: Number.MAX_SAFE_INTEGER } });
    const deliver = createDeliveryHandler(runtime);
    // Two invocations of 5 events each: each writes one stats item per webhook (4 writes in all).
    for (let batch = 0; batch < 2; batch++) {
      const records = Array.from({ length: 5 }, () => sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_stats')));
      await deliver(sqsEvent(...records), lambdaContext);
    }
    // The failing webhook's first retries, through the retry handler.
    const retries = t.h.retryQueue.take().filter((m) => m.message.trigger === 'retry' && m.message.webhookId === bad);
    t.h.clock.current = Math.max(...retries.map((r) => r.message.dueAt), t.h.clock.now());
    expect(retries).toHaveLength(10);
    await createRetryHandler(runtime)(sqsEvent(...retries.map((r) => sqsRecord(JSON.stringify(r.message)))), lambdaContext);

    const goodStats = await t.api.call<Stats>('GET', `/v1/webhooks/${good}/stats`, { key });
    expect(goodStats.status).toBe(200);
    expect(goodStats.body).toMatchObject({ webhookId: good, window: '24h', granularity: 'hour' });
    expect(goodStats.body.buckets).toHaveLength(24);
    expect(goodStats.body.totals).toMatchObject({ attempted: 10, delivered: 10, failed: 0, retried: 0, filteredOut: 0, successRate: 1 });
    expect(goodStats.body.buckets.at(-1)).toMatchObject({ attempted: 10, delivered: 10 });
    const { p50, p95 } = goodStats.body.totals.latencyMs;
    expect(p50).toEqual(expect.any(Number));
    expect(p95!).toBeGreaterThanOrEqual(p50!);
    expect(p95!).toBeLessThan(2_000 * (1 + LATENCY_RELATIVE_ERROR));

    const badStats = (await t.api.call<Stats>('GET', `/v1/webhooks/${bad}/stats`, { key, query: { window: '24h' } })).body;
    expect(badStats.totals).toMatchObject({ delivered: 0, successRate: 0, latencyMs: { p50: null, p95: null } });
    expect(badStats.totals.attempted).toBe(badStats.totals.failed);
    expect(badStats.totals.retried).toBe(retries.length);
    expect(badStats.totals.attempted).toBe(20);

    const week = (await t.api.call<Stats>('GET', `/v1/webhooks/${good}/stats`, { key, query: { window: '7d' } })).body;
    expect(week).toMatchObject({ window: '7d', granularity: 'day' });
    expect(week.buckets).toHaveLength(7);
    expect(week.buckets.at(-1)).toMatchObject({ attempted: 10, delivered: 10 });
    expect(week.buckets.slice(0, 6).every((b) => b.attempted === 0)).toBe(true);
    expect(Date.parse(week.to) - Date.parse(week.from)).toBe(7 * 86_400_000);
  });

  it('writes one ADD per webhook per invocation, however many deliveries it made', async () => {
    const a = (await t.api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: webhookBody(ok.url, { name: 'A' }) })).body.id;
    const b = (await t.api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: webhookBody(ok.url, { name: 'B' }) })).body.id;
    const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: t.h.dynamo.endpoint });
    const statsWrites: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if ((args.input as { TableName?: string }).TableName === t.h.tables.stats) statsWrites.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize', name: 'countStatsWrites' },
    );
    const runtime = t.h.runtime({ doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }) });
    // The account now has more webhooks (earlier tests'): 10 events go to each of them.
    const hooks = (await t.api.call<{ items: unknown[] }>('GET', '/v1/webhooks', { key })).body.items.length;
    await createDeliveryHandler(runtime)(sqsEvent(...Array.from({ length: 10 }, () => sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_stats')))), lambdaContext);
    expect(statsWrites).toEqual(Array.from({ length: hooks }, () => 'UpdateItemCommand'));
    for (const id of [a, b]) expect((await t.api.call<Stats>('GET', `/v1/webhooks/${id}/stats`, { key })).body.totals).toMatchObject({ attempted: 10, delivered: 10 });
    client.destroy();
  });

  it("keeps the items sharded: one webhook's counts are spread over several partition keys", async () => {
    const id = (await t.api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: webhookBody(ok.url) })).body.id;
    const store = t.runtime.statsStore!;
    const hour = new Date(t.h.clock.now()).toISOString().slice(0, 13);
    // Forty flushes of one attempt each, as forty invocations would make.
    for (let i = 0; i < 40; i++) await store.add('acc_stats', id, hour, { attempted: 1, delivered: 1, failed: 0, retried: 0, filteredOut: 0, latency: { 20: 1 } });
    const stats = (await t.api.call<Stats>('GET', `/v1/webhooks/${id}/stats`, { key })).body;
    expect(stats.totals).toMatchObject({ attempted: 40, delivered: 40 });
    const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
    const items = (await t.h.doc.send(new ScanCommand({ TableName: t.h.tables.stats }))).Items ?? [];
    const keys = new Set(items.filter((i) => String(i.pk).startsWith(`acc_stats#${id}#`)).map((i) => i.pk));
    expect(keys.size).toBeGreaterThan(1);
  });

  it('answers 400 naming the window for an unknown one, and 404 for another account\'s webhook', async () => {
    const id = (await t.api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: webhookBody(ok.url) })).body.id;
    const bad = await t.api.call<{ error: { code: string; details: Array<{ path: string }> } }>('GET', `/v1/webhooks/${id}/stats`, { key, query: { window: '30d' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d) => d.path)).toEqual(['window']);
    const other = await t.keyFor('acc_other');
    expect((await t.api.call('GET', `/v1/webhooks/${id}/stats`, { key: other })).status).toBe(404);
  });
});
