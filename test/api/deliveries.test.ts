import { createRetryHandler } from '../../lambdas/retry/app';
import type { EventType } from '../../lambdas/shared/contract';
import { type DeliveryStatus, deliveryIdFor } from '../../lambdas/shared/domain/model';
import { lambdaContext, sqsEvent, sqsRecord, visitFixture } from '../../local/lambda-events';
import { receiverPool } from '../helpers/receiver';
import { type ApiTestContext, startApi, webhookBody } from './support';

interface DeliveryJson {
  id: string;
  eventId: string;
  eventType: EventType;
  status: DeliveryStatus;
  attemptCount: number;
  attempts: Array<{ at: string; trigger: string; ok: boolean; statusCode?: number; durationMs: number; error?: string; errorKind?: string }>;
  createdAt: string;
  updatedAt: string;
  nextAttemptAt?: string;
  lastStatusCode?: number;
  lastError?: string;
  reason?: string;
  parked?: boolean;
}
interface PageJson {
  items: DeliveryJson[];
  nextCursor: string | null;
}
interface ErrorJson {
  error: { code: string; message: string; details: Array<{ path: string; message: string }> };
}

const T0 = Date.parse('2026-03-01T00:00:00Z');
const MINUTE = 60_000;
const PAYLOAD = JSON.stringify(visitFixture);

describe('management API: attempt log, retry and recover (dynalite, harness retry queue)', () => {
  let t: ApiTestContext;
  let key: string;
  const receivers = receiverPool();

  /** Writes a delivery record as the delivery path would (one attempt unless skipped). */
  const record = async (webhookId: string, minute: number, status: DeliveryStatus, n = minute) => {
    const eventId = `evt-${webhookId}-${n}`;
    const deliveryId = deliveryIdFor(T0 + minute * MINUTE, eventId, webhookId);
    const at = new Date(T0 + minute * MINUTE + 1000).toISOString();
    await t.runtime.deliveries.write({
      accountId: 'acc_log',
      webhookId,
      deliveryId,
      eventId,
      eventType: 'NEW_VISIT',
      createdAt: new Date(T0 + minute * MINUTE).toISOString(),
      status,
      ...(status === 'skipped' ? {} : { attempt: { at, trigger: 'event', ok: status === 'delivered', durationMs: 12, ...(status === 'delivered' ? { statusCode: 200 } : { statusCode: 503, errorKind: 'http', error: 'HTTP 503', responseSnippet: 'down' }) } }),
      ...(status === 'delivered' ? {} : { payload: PAYLOAD }),
      ...(status === 'pending' ? { nextAttemptAt: new Date(T0 + (minute + 5) * MINUTE).toISOString() } : {}),
      ...(status === 'failed' ? { reason: 'gave up after 8 attempts: HTTP 503' } : {}),
      ...(status === 'skipped' ? { reason: 'webhook disabled' } : {}),
    });
    return deliveryId;
  };
  const hook = async (url = 'http://127.0.0.1:9/hook', extra: Record<string, unknown> = {}) =>
    (await t.api.call<{ id: string }>('POST', '/v1/webhooks', { key, body: webhookBody(url, extra) })).body.id;

  beforeAll(async () => {
    t = await startApi();
    key = await t.keyFor('acc_log');
  });
  afterAll(async () => {
    await receivers.closeAll();
    await t.close();
  });

  it('lists deliveries newest first with their attempts, paged by cursor, filtered by status, without payloads', async () => {
    const id = await hook();
    const statuses: DeliveryStatus[] = ['delivered', 'failed', 'pending', 'skipped', 'delivered', 'failed', 'delivered'];
    const ids: string[] = [];
    for (const [i, status] of statuses.entries()) ids.push(await record(id, i, status));

    const seen: DeliveryJson[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: PageJson; raw: string } = await t.api.call<PageJson>('GET', `/v1/webhooks/${id}/deliveries`, { key, query: { limit: '3', ...(cursor ? { cursor } : {}) } });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      expect(res.raw).not.toContain('unique_visit_id'); // no payloads in the log
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.map((d) => d.id)).toEqual([...ids].reverse());

    const failed = seen.find((d) => d.status === 'failed')!;
    expect(failed).toMatchObject({
      eventType: 'NEW_VISIT',
      attemptCount: 1,
      lastStatusCode: 503,
      lastError: 'HTTP 503',
      reason: 'gave up after 8 attempts: HTTP 503',
      attempts: [{ trigger: 'event', ok: false, statusCode: 503, durationMs: 12, error: 'HTTP 503', errorKind: 'http', responseSnippet: 'down' }],
    });
    expect(seen.find((d) => d.status === 'pending')?.nextAttemptAt).toBeDefined();
    expect(seen.find((d) => d.status === 'skipped')).toMatchObject({ attemptCount: 0, attempts: [], reason: 'webhook disabled' });

    const onlyFailed = await t.api.call<PageJson>('GET', `/v1/webhooks/${id}/deliveries`, { key, query: { status: 'failed' } });
    expect(onlyFailed.body.items.map((d) => d.id)).toEqual([ids[5], ids[1]]);
    const failedPaged = await t.api.call<PageJson>('GET', `/v1/webhooks/${id}/deliveries`, { key, query: { status: 'delivered', limit: '2' } });
    expect(failedPaged.body.items.map((d) => d.id)).toEqual([ids[6], ids[4]]);
    const rest = await t.api.call<PageJson>('GET', `/v1/webhooks/${id}/deliveries`, { key, query: { status: 'delivered', limit: '2', cursor: failedPaged.body.nextCursor! } });
    expect(rest.body.items.map((d) => d.id)).toEqual([ids[0]]);

    for (const query of [{ status: 'lost' }, { limit: '0' }, { limit: '1000' }, { cursor: '!!!' }] as Array<Record<string, string>>) {
      const bad = await t.api.call<ErrorJson>('GET', `/v1/webhooks/${id}/deliveries`, { key, query });
      expect({ query, status: bad.status }).toEqual({ query, status: 400 });
      expect(bad.body.error.details[0]?.path).toBe(Object.keys(query)[0]);
    }
    const empty = await t.api.call<PageJson>('GET', `/v1/webhooks/${await hook()}/deliveries`, { key });
    expect(empty.body).toEqual({ items: [], nextCursor: null });
  });

  it('shows why a pending delivery waits: parked (breaker open) with its reason and no next attempt; rate-limited with its next attempt', async () => {
    const id = await hook();
    const base = (n: number) => {
      const eventId = `evt-wait-${n}`;
      return { accountId: 'acc_log', webhookId: id, deliveryId: deliveryIdFor(T0 + n * MINUTE, eventId, id), eventId, eventType: 'NEW_VISIT' as const, createdAt: new Date(T0 + n * MINUTE).toISOString(), payload: PAYLOAD };
    };
    const parkedReason = "parked: the webhook's breaker is open since 2026-03-01T00:00:00.000Z (3 failed attempts in a row, the last: HTTP 503); sent once a probe finds the endpoint back";
    const parked = base(1);
    await t.runtime.deliveries.write({
      ...parked,
      status: 'pending',
      attempt: { at: new Date(T0 + MINUTE).toISOString(), trigger: 'probe', ok: false, durationMs: 0, errorKind: 'queued', error: 'no connection to http://127.0.0.1:9 within 1500 ms' },
      reason: parkedReason,
      parked: true,
      retryIndex: 1,
    });
    const limited = base(2);
    const due = new Date(T0 + 2 * MINUTE + 1000).toISOString();
    await t.runtime.deliveries.write({ ...limited, status: 'pending', nextAttemptAt: due, reason: 'rate limit: 5 deliveries a second', retryIndex: 0 });
    const interrupted = base(3);
    await t.runtime.deliveries.write({
      ...interrupted,
      status: 'pending',
      attempt: { at: new Date(T0 + 3 * MINUTE).toISOString(), trigger: 'event', ok: false, durationMs: 700, errorKind: 'aborted', error: 'aborted: shutting down' },
      nextAttemptAt: due,
      reason: 'interrupted by a shutdown: sent again once the service is back',
      retryIndex: 0,
    });

    const res = await t.api.call<PageJson>('GET', `/v1/webhooks/${id}/deliveries`, { key, query: { status: 'pending' } });
    expect(res.status).toBe(200);
    const byId = new Map(res.body.items.map((d) => [d.id, d]));
    expect(byId.get(parked.deliveryId)).toMatchObject({ status: 'pending', parked: true, reason: parkedReason, attempts: [{ trigger: 'probe', errorKind: 'queued' }] });
    expect(byId.get(parked.deliveryId)).not.toHaveProperty('nextAttemptAt');
    expect(byId.get(limited.deliveryId)).toMatchObject({ status: 'pending', nextAttemptAt: due, reason: 'rate limit: 5 deliveries a second' });
    expect(byId.get(limited.deliveryId)).not.toHaveProperty('parked');
    expect(byId.get(interrupted.deliveryId)).toMatchObject({ nextAttemptAt: due, attempts: [{ errorKind: 'aborted' }] });
    expect(res.raw).not.toContain('retryIndex');
  });

  it('retry re-queues one delivery (202) on the retry queue, and the retry handler sends it with the same webhook-id', async () => {
    const r = await receivers.start();
    const id = await hook(r.url);
    const deliveryId = await record(id, 100, 'failed');
    t.h.retryQueue.take();

    const res = await t.api.call<{ id: string; status: string }>('POST', `/v1/webhooks/${id}/deliveries/${deliveryId}/retry`, { key });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: deliveryId, status: 'pending' });
    const queued = t.h.retryQueue.take();
    expect(queued).toHaveLength(1);
    expect(queued[0]!.message).toMatchObject({ kind: 'delivery-retry', accountId: 'acc_log', webhookId: id, deliveryId, trigger: 'manual', retryIndex: t.runtime.retryPolicy.maxRetries, payload: PAYLOAD });
    expect(queued[0]!.delaySeconds).toBe(0);
    expect((await t.runtime.deliveries.get('acc_log', id, deliveryId))?.status).toBe('pending');

    await createRetryHandler(t.h.runtime())(sqsEvent(sqsRecord(queued[0]!.message)), lambdaContext);
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.headers['webhook-id']).toBe(deliveryId);
    expect(JSON.parse(r.requests[0]!.body)).toEqual(visitFixture);
    const after = await t.api.call<PageJson>('GET', `/v1/webhooks/${id}/deliveries`, { key });
    expect(after.body.items[0]).toMatchObject({ id: deliveryId, status: 'delivered', attemptCount: 2 });
    expect(after.body.items[0]!.attempts.map((a) => a.trigger)).toEqual(['event', 'manual']);

    // Delivered now: not retryable.
    const again = await t.api.call<ErrorJson>('POST', `/v1/webhooks/${id}/deliveries/${deliveryId}/retry`, { key });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('not_retryable');
  });

  it('retry: unknown delivery 404, delivered 409, disabled webhook 409', async () => {
    const id = await hook();
    const unknown = deliveryIdFor(T0, 'never-happened', id);
    expect((await t.api.call<ErrorJson>('POST', `/v1/webhooks/${id}/deliveries/${unknown}/retry`, { key })).status).toBe(404);
    const delivered = await record(id, 200, 'delivered');
    expect((await t.api.call<ErrorJson>('POST', `/v1/webhooks/${id}/deliveries/${delivered}/retry`, { key })).body.error.code).toBe('not_retryable');
    const failed = await record(id, 201, 'failed');
    await t.api.call('PATCH', `/v1/webhooks/${id}`, { key, body: { enabled: false } });
    const disabled = await t.api.call<ErrorJson>('POST', `/v1/webhooks/${id}/deliveries/${failed}/retry`, { key });
    expect(disabled.status).toBe(409);
    expect(disabled.body.error.code).toBe('webhook_disabled');
    const recover = await t.api.call<ErrorJson>('POST', `/v1/webhooks/${id}/recover`, { key, body: { since: '2020-01-01T00:00:00Z' } });
    expect(recover.status).toBe(409);
    expect(t.h.retryQueue.sent.filter((s) => s.message.webhookId === id)).toHaveLength(0);
  });

  it('recover starts a job (202 + Location) that re-queues every failed and skipped delivery since T, paging through more than 100; running it again queues nothing twice', async () => {
    const id = await hook();
    // Before T: 3 failed (not recovered). From T: 130 failed, 5 skipped, 10 delivered, 2 pending.
    for (let i = 0; i < 3; i++) await record(id, i, 'failed');
    const expected = new Set<string>();
    const writes: Array<Promise<string>> = [];
    for (let i = 0; i < 130; i++) writes.push(record(id, 10 + i, 'failed'));
    for (let i = 0; i < 5; i++) writes.push(record(id, 200 + i, 'skipped'));
    for (const w of await Promise.all(writes)) expected.add(w);
    await Promise.all([...Array.from({ length: 10 }, (_, i) => record(id, 300 + i, 'delivered')), record(id, 400, 'pending'), record(id, 401, 'pending')]);
    t.h.retryQueue.take();

    type Job = { id: string; status: string; scanned: number; requeued: number; unrecoverable: number; since: string };
    const since = new Date(T0 + 10 * MINUTE).toISOString();
    const res = await t.api.call<Job>('POST', `/v1/webhooks/${id}/recover`, { key, body: { since } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^rec_/), status: 'done', scanned: 135, requeued: 135, unrecoverable: 0, since });
    expect(res.headers.location?.endsWith(`/v1/webhooks/${id}/recoveries/${res.body.id}`)).toBe(true); // behind the stage prefix
    const read = await t.api.call<Job>('GET', `/v1/webhooks/${id}/recoveries/${res.body.id}`, { key });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
    const queued = t.h.retryQueue.take();
    expect(queued).toHaveLength(135);
    expect(new Set(queued.map((q) => q.message.deliveryId))).toEqual(expected);
    expect(queued.every((q) => q.message.trigger === 'recover' && q.message.retryIndex === 0 && q.message.webhookId === id && q.message.payload === PAYLOAD)).toBe(true);

    // Run twice: what the first job queued is pending now, so nothing is queued again.
    const again = await t.api.call<Job>('POST', `/v1/webhooks/${id}/recover`, { key, body: { since } });
    expect(again.body).toMatchObject({ status: 'done', scanned: 0, requeued: 0 });
    expect(t.h.retryQueue.take()).toHaveLength(0);
    // A since with an offset works; nothing recoverable later than the last failure.
    const none = await t.api.call<Job>('POST', `/v1/webhooks/${id}/recover`, { key, body: { since: '2026-03-02T09:00:00+09:00' } });
    expect(none.body).toMatchObject({ status: 'done', scanned: 0, requeued: 0 });
    // Another account's key cannot read the job; an unknown job is a 404.
    expect((await t.api.call('GET', `/v1/webhooks/${id}/recoveries/rec_000000000000000000000000`, { key })).status).toBe(404);
    expect((await t.api.call('GET', `/v1/webhooks/${id}/recoveries/${res.body.id}`, { key: await t.keyFor('acc_other_recovery') })).status).toBe(404);
  });

  it('recover needs an ISO date-time since', async () => {
    const id = await hook();
    for (const body of [{}, { since: 'yesterday' }, { since: '2026-03-01' }, { since: 1767225600000 }, { since: '2026-03-01T00:00:00Z', limit: 5 }]) {
      const res = await t.api.call<ErrorJson>('POST', `/v1/webhooks/${id}/recover`, { key, body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.error.details[0]?.path).toMatch(/since|limit/);
    }
  });
});
