import { Webhook as StandardWebhook } from 'standardwebhooks';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { DEFAULTS } from '../../lambdas/shared/contract';
import { secretKey, sign } from '../../lambdas/shared/domain/signing';
import { eventBridgeEvent, lambdaContext, sqsEvent, sqsRecord, visitFixture } from '../../local/lambda-events';
import { respond, receiverPool } from '../helpers/receiver';
import { type ApiTestContext, startApi, webhookBody } from './support';

interface Created {
  id: string;
  secret: string;
}
interface SecretJson {
  secret: string;
  previousSecretExpiresAt?: string;
}
interface TestResultJson {
  deliveryId: string;
  status: 'delivered' | 'failed';
  statusCode?: number;
  durationMs: number;
  error?: string;
  errorKind?: string;
  responseSnippet?: string;
}

const HOUR = 3_600_000;

describe('management API: secrets, rotation and test sends (real delivery path, loopback receivers)', () => {
  let t: ApiTestContext;
  /** Each test's own account and key: an event fans out to that test's webhooks only. */
  let account: string;
  let key: string;
  let tests = 0;
  const receivers = receiverPool();
  const receiver = receivers.start;
  const createHook = async (url: string, extra: Record<string, unknown> = {}) =>
    (await t.api.call<Created>('POST', '/v1/webhooks', { key, body: webhookBody(url, extra) })).body;

  beforeAll(async () => {
    t = await startApi();
  });
  beforeEach(async () => {
    t.h.clock.current = Date.now();
    account = `acc_sec_${++tests}`;
    key = await t.keyFor(account);
  });
  afterAll(async () => {
    await receivers.closeAll();
    await t.close();
  });

  it('rotation: during the 24 h overlap a delivery carries two signatures, one per secret, each verifiable by standardwebhooks', async () => {
    const r = await receiver();
    const created = await createHook(r.url);
    const oldSecret = created.secret;

    // Rotate an hour ago (manual clock), deliver now: standardwebhooks checks timestamps against real time.
    t.h.clock.current = Date.now() - HOUR;
    const rotated = await t.api.call<SecretJson>('POST', `/v1/webhooks/${created.id}/secret/rotate`, { key });
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt!)).toBe(t.h.clock.now() + DEFAULTS.secretRotationOverlapHours * HOUR);
    expect((await t.api.call<SecretJson>('GET', `/v1/webhooks/${created.id}/secret`, { key })).body).toEqual(rotated.body);

    // Deliver an event through the real delivery handler, an hour into the overlap.
    t.h.clock.current = Date.now();
    const deliver = createDeliveryHandler(t.h.runtime());
    await deliver(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', account))), lambdaContext);
    expect(r.requests).toHaveLength(1);
    const req = r.requests[0]!;
    const signatures = String(req.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    const headers = req.headers as Record<string, string>;
    // Each receiver configuration verifies: one that still has the old secret, one with the new.
    expect(new StandardWebhook(oldSecret).verify(req.body, headers)).toEqual(visitFixture);
    expect(new StandardWebhook(newSecret).verify(req.body, headers)).toEqual(visitFixture);
    // ... and each signature is made with exactly one of them.
    const ts = Number(headers['webhook-timestamp']);
    const id = headers['webhook-id']!;
    expect(signatures).toEqual([sign(secretKey(newSecret), id, ts, req.body), sign(secretKey(oldSecret), id, ts, req.body)]);
    expect(() => new StandardWebhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(req.body, headers)).toThrow();

    // After the overlap only the new secret signs.
    t.h.clock.advance(DEFAULTS.secretRotationOverlapHours * HOUR);
    expect((await t.api.call<SecretJson>('GET', `/v1/webhooks/${created.id}/secret`, { key })).body).toEqual({ secret: newSecret });
    await createDeliveryHandler(t.h.runtime())(sqsEvent(sqsRecord(eventBridgeEvent('NEW_VISIT', account))), lambdaContext);
    const later = r.requests[1]!;
    const laterHeaders = later.headers as Record<string, string>;
    expect(laterHeaders['webhook-signature']).toBe(sign(secretKey(newSecret), laterHeaders['webhook-id']!, Number(laterHeaders['webhook-timestamp']), later.body));
    t.h.clock.current = Date.now();
  });

  it('rotating again during an overlap keeps only the two newest secrets', async () => {
    const created = await createHook('http://127.0.0.1:9/hook');
    const second = (await t.api.call<SecretJson>('POST', `/v1/webhooks/${created.id}/secret/rotate`, { key })).body.secret;
    const third = (await t.api.call<SecretJson>('POST', `/v1/webhooks/${created.id}/secret/rotate`, { key })).body.secret;
    const stored = await t.runtime.webhooks.get(account, created.id);
    expect(stored).toMatchObject({ secret: third, previousSecret: second });
    expect([stored?.secret, stored?.previousSecret]).not.toContain(created.secret);
  });

  it('/test sends the sample payload now, signed, and returns the attempt', async () => {
    const r = await receiver(respond(202, 'thanks'));
    const created = await createHook(r.url, { headers: { 'X-Api-Version': '2' } });
    const res = await t.api.call<TestResultJson>('POST', `/v1/webhooks/${created.id}/test`, { key, body: { eventType: 'NEW_VISITOR' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'delivered', statusCode: 202, responseSnippet: 'thanks' });
    expect(res.body.deliveryId).toMatch(/^msg_/);
    expect(res.body.durationMs).toBeGreaterThanOrEqual(0);
    expect(res.body).not.toHaveProperty('error');
    expect(r.requests).toHaveLength(1);
    const req = r.requests[0]!;
    expect(JSON.parse(req.body)).toEqual(visitFixture);
    expect(req.headers['x-webhook-event']).toBe('NEW_VISITOR');
    expect(req.headers['x-api-version']).toBe('2');
    expect(req.headers['webhook-id']).toBe(res.body.deliveryId);
    expect(new StandardWebhook(created.secret).verify(req.body, req.headers as Record<string, string>)).toEqual(visitFixture);

    // It shows in the attempt log as a test.
    const log = await t.api.call<{ items: Array<{ id: string; status: string; attempts: Array<{ trigger: string }> }> }>('GET', `/v1/webhooks/${created.id}/deliveries`, { key });
    expect(log.body.items[0]).toMatchObject({ id: res.body.deliveryId, status: 'delivered', attempts: [{ trigger: 'test' }] });

    // Every test gets a fresh delivery id (receivers must not dedupe them away).
    const again = await t.api.call<TestResultJson>('POST', `/v1/webhooks/${created.id}/test`, { key, body: { eventType: 'NEW_VISIT' } });
    expect(again.body.deliveryId).not.toBe(res.body.deliveryId);
    expect(r.requests[1]!.headers['x-webhook-event']).toBe('NEW_VISIT');
  });

  it('a failed test is reported, never retried, never dead-lettered, and leaves the webhook healthy', async () => {
    const r = await receiver(respond(500, 'boom'));
    const created = await createHook(r.url);
    const queued = t.h.retryQueue.sent.length;
    const dead = t.h.failedSink.sent.length;
    const res = await t.api.call<TestResultJson>('POST', `/v1/webhooks/${created.id}/test`, { key, body: { eventType: 'NEW_VISIT' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', statusCode: 500, error: 'HTTP 500', errorKind: 'http', responseSnippet: 'boom' });
    expect(r.requests).toHaveLength(1);
    expect(t.h.retryQueue.sent.length).toBe(queued);
    expect(t.h.failedSink.sent.length).toBe(dead);
    expect((await t.runtime.webhooks.get(account, created.id))?.failingSince).toBeUndefined();

    const record = await t.runtime.deliveries.get(account, created.id, res.body.deliveryId);
    expect(record).toMatchObject({ status: 'failed', reason: 'test send failed: HTTP 500' });
    expect(record?.payload).toBeUndefined(); // a sample is never re-sent by retry or recover
    const retry = await t.api.call<{ error: { code: string } }>('POST', `/v1/webhooks/${created.id}/deliveries/${res.body.deliveryId}/retry`, { key });
    expect(retry.status).toBe(409);
    expect(retry.body.error.code).toBe('not_retryable');

    // 410 Gone to a test does not disable the webhook either.
    r.behave(respond(410));
    const gone = await t.api.call<TestResultJson>('POST', `/v1/webhooks/${created.id}/test`, { key, body: { eventType: 'NEW_VISIT' } });
    expect(gone.body).toMatchObject({ status: 'failed', statusCode: 410 });
    expect((await t.runtime.webhooks.get(account, created.id))?.enabled).toBe(true);
  });

  it('a test reports connection failures, and works on a disabled webhook', async () => {
    const created = await createHook('http://127.0.0.1:9/unreachable', { enabled: false });
    const res = await t.api.call<TestResultJson>('POST', `/v1/webhooks/${created.id}/test`, { key, body: { eventType: 'NEW_VISIT' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', errorKind: 'connect' });
    expect(res.body).not.toHaveProperty('statusCode');
  });

  it('a test needs a valid eventType', async () => {
    const created = await createHook('http://127.0.0.1:9/hook');
    for (const body of [{}, { eventType: 'PAGE_VIEW' }, { eventType: 'NEW_VISIT', extra: 1 }]) {
      const res = await t.api.call<{ error: { code: string; details: Array<{ path: string }> } }>('POST', `/v1/webhooks/${created.id}/test`, { key, body });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0]?.path).toMatch(/eventType|extra/);
    }
  });
});
