import { Webhook as StandardWebhook } from 'standardwebhooks';
import { LIMITS } from '../../../lambdas/shared/contract';
import { ConflictError, NotFoundError, ValidationError } from '../../../lambdas/shared/domain/errors';
import { webhookHealth } from '../../../lambdas/shared/domain/webhook-service';
import { SAMPLE_PAYLOADS } from '../../../lambdas/shared/sample-payloads';
import { domain, visitEvent } from './support';

/**
 * The management domain on in-memory ports: validation (the API's 400s), the target policy,
 * the per-account limit, PATCH semantics, secret rotation, test sends and recovery. The API tier
 * (test/api) runs the same rules through API Gateway events, the handler and dynalite.
 */

const valid = { name: 'Notify My CRM', url: 'https://crm.example.com/hook', eventTypes: ['NEW_VISIT'] };

/** The field paths of a ValidationError thrown by `fn`. */
async function invalidFields(fn: () => Promise<unknown>): Promise<string[]> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.details.map((i) => i.path);
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('WebhookService: create and edit', () => {
  it('creates an active webhook with defaults and a fresh whsec_ secret, scoped to its account', async () => {
    const d = domain();
    const created = await d.management.create('acc', valid);
    expect(created).toMatchObject({ accountId: 'acc', name: valid.name, url: valid.url, description: '', headers: {}, enabled: true, status: 'active' });
    expect(created.webhookId).toMatch(/^wh_/);
    expect(created.secret).toMatch(/^whsec_/);
    await expect(d.management.get('other', created.webhookId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reports every invalid field at once, by path', async () => {
    const d = domain();
    const fields = await invalidFields(() =>
      d.management.create('acc', { name: ' ', url: 'not a url', eventTypes: [], description: 5, headers: { Host: 'x', 'Bad Name': 'v' }, extra: 1 }),
    );
    expect(fields).toEqual(expect.arrayContaining(['name', 'url', 'eventTypes', 'description', 'headers.Host', 'headers.Bad Name']));
  });

  it('refuses credentials in the URL, plain http, and targets that are private or resolve to a private address', async () => {
    const d = domain();
    expect(await invalidFields(() => d.management.create('acc', { ...valid, url: 'https://user:pw@crm.example.com/' }))).toEqual(['url']);
    expect(await invalidFields(() => d.management.create('acc', { ...valid, url: 'http://crm.example.com/' }))).toEqual(['url']);
    expect(await invalidFields(() => d.management.create('acc', { ...valid, url: 'https://169.254.169.254/latest' }))).toEqual(['url']);
    expect(await invalidFields(() => d.management.create('acc', { ...valid, url: 'https://db.internal/' }))).toEqual(['url']);
    const rebinding = domain({ webhookDeps: { resolver: async () => [{ address: '10.0.0.5', family: 4 }] } });
    expect(await invalidFields(() => rebinding.management.create('acc', valid))).toEqual(['url']);
  });

  it('a deployment that allows http and private targets accepts a loopback receiver', async () => {
    const d = domain({ webhookDeps: { allowHttp: true, allowPrivateTargets: true } });
    await expect(d.management.create('acc', { ...valid, url: 'http://127.0.0.1:4000/hook' })).resolves.toMatchObject({ url: 'http://127.0.0.1:4000/hook' });
  });

  it(`allows ${LIMITS.webhooksPerAccount} webhooks per account; one more is a conflict`, async () => {
    const d = domain({ webhookDeps: { maxWebhooksPerAccount: 3 } });
    for (let i = 0; i < 3; i++) await d.management.create('acc', valid);
    await expect(d.management.create('acc', valid)).rejects.toMatchObject({ code: 'webhook_limit_reached' });
    await expect(d.management.create('other', valid)).resolves.toBeDefined();
  });

  it('PATCH keeps absent fields; enabled:true re-activates an auto-disabled webhook and clears its reason and failure run', async () => {
    const d = domain();
    const w = d.hook('acc', valid.url, { enabled: false, status: 'auto-disabled', disabledReason: 'endpoint answered 410 Gone', failingSince: '2026-01-01T00:00:00.000Z' });
    const renamed = await d.management.update('acc', w.webhookId, { name: 'Renamed' });
    expect(renamed).toMatchObject({ name: 'Renamed', url: w.url, status: 'auto-disabled' });
    const enabled = await d.management.update('acc', w.webhookId, { enabled: true });
    expect(enabled).toMatchObject({ enabled: true, status: 'active' });
    expect(enabled.disabledReason).toBeUndefined();
    expect(enabled.failingSince).toBeUndefined();
    expect(await invalidFields(() => d.management.update('acc', w.webhookId, { url: 'http://x.example.com/' }))).toEqual(['url']);
  });
});

describe('WebhookService: rate limit and health', () => {
  it('rateLimit: optional on create, set and changed by PATCH, kept when absent, removed by null', async () => {
    const d = domain();
    expect((await d.management.create('acc', valid)).rateLimit).toBeUndefined();
    const w = await d.management.create('acc', { ...valid, rateLimit: 25 });
    expect(w.rateLimit).toBe(25);
    expect((await d.webhooks.get('acc', w.webhookId))?.rateLimit).toBe(25);
    expect((await d.management.update('acc', w.webhookId, { rateLimit: LIMITS.rateLimitMax })).rateLimit).toBe(LIMITS.rateLimitMax);
    expect((await d.management.update('acc', w.webhookId, { name: 'Renamed' })).rateLimit).toBe(LIMITS.rateLimitMax);
    const cleared = await d.management.update('acc', w.webhookId, { rateLimit: null });
    expect(cleared.rateLimit).toBeUndefined();
    expect(cleared).not.toHaveProperty('rateLimit');
    expect((await d.webhooks.get('acc', w.webhookId))?.rateLimit).toBeUndefined();
    expect((await d.management.update('acc', w.webhookId, { rateLimit: LIMITS.rateLimitMin })).rateLimit).toBe(LIMITS.rateLimitMin);
  });

  it.each([0, -1, 1.5, LIMITS.rateLimitMax + 1, '10', Number.POSITIVE_INFINITY, Number.NaN, true, [5]])('rateLimit %p is a ValidationError naming rateLimit', async (rateLimit) => {
    const d = domain();
    expect(await invalidFields(() => d.management.create('acc', { ...valid, rateLimit }))).toEqual(['rateLimit']);
    const w = d.hook('acc', valid.url, { rateLimit: 5 });
    expect(await invalidFields(() => d.management.update('acc', w.webhookId, { rateLimit }))).toEqual(['rateLimit']);
    expect((await d.webhooks.get('acc', w.webhookId))?.rateLimit).toBe(5);
  });

  it('rateLimit null is a removal on PATCH only', async () => {
    const d = domain();
    expect(await invalidFields(() => d.management.create('acc', { ...valid, rateLimit: null }))).toEqual(['rateLimit']);
  });

  it('health: the breaker (half-open shown as probing, next probe only while open) and a slow lane still ahead', () => {
    const now = Date.parse('2026-05-01T12:00:00Z');
    const d = domain();
    const w = d.hook('acc', valid.url);
    const since = '2026-05-01T11:58:00.000Z';
    const probeAt = '2026-05-01T12:00:30.000Z';
    expect(webhookHealth(w, now)).toEqual({ breaker: 'closed' });
    expect(webhookHealth({ ...w, breaker: { state: 'open', since, reason: 'HTTP 503', probeAt, probes: 1 } }, now)).toEqual({ breaker: 'open', since, reason: 'HTTP 503', nextProbeAt: probeAt });
    expect(webhookHealth({ ...w, breaker: { state: 'half-open', since, reason: 'HTTP 503', probeAt, probes: 1 } }, now)).toEqual({ breaker: 'probing', since, reason: 'HTTP 503' });
    expect(webhookHealth({ ...w, breaker: { state: 'releasing', since, reason: 'recovered', probeAt, probes: 1 } }, now)).toEqual({ breaker: 'releasing', since, reason: 'recovered' });
    expect(webhookHealth({ ...w, slowUntil: '2026-05-01T12:05:00.000Z' }, now)).toEqual({ breaker: 'closed', slowLaneUntil: '2026-05-01T12:05:00.000Z' });
    expect(webhookHealth({ ...w, slowUntil: '2026-05-01T11:59:59.000Z' }, now)).toEqual({ breaker: 'closed' });
    d.clock.current = now;
    expect(d.management.health({ ...w, slowUntil: '2026-05-01T12:00:01.000Z' })).toEqual({ breaker: 'closed', slowLaneUntil: '2026-05-01T12:00:01.000Z' });
  });
});

describe('WebhookService: secrets and test sends', () => {
  it('rotates the secret: the previous one keeps signing until the overlap ends', async () => {
    const d = domain();
    const w = d.hook('acc', valid.url);
    const rotated = await d.management.rotateSecret('acc', w.webhookId);
    expect(rotated.secret).not.toBe(w.secret);
    expect(rotated.previousSecretExpiresAt).toBeDefined();
    await d.management.sendTest('acc', w.webhookId, { eventType: 'NEW_VISIT' });
    const [req] = d.sender.to(valid.url);
    expect(String(req?.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [w.secret, rotated.secret]) expect(() => new StandardWebhook(secret).verify(req!.body, req!.headers as Record<string, string>)).not.toThrow();
  });

  it('a test send signs the sample payload, is logged without its payload, and leaves the webhook health and the queues alone', async () => {
    const d = domain();
    const w = d.hook('acc', valid.url);
    d.sender.answer(valid.url, { status: 500 });
    const result = await d.management.sendTest('acc', w.webhookId, { eventType: 'NEW_VISITOR' });
    expect(result).toMatchObject({ status: 'failed', statusCode: 500, error: 'HTTP 500' });
    expect(JSON.parse(d.sender.to(valid.url)[0]!.body)).toEqual(SAMPLE_PAYLOADS.NEW_VISITOR);
    const [record] = d.deliveries.all();
    expect(record).toMatchObject({ status: 'failed', attemptCount: 1, reason: 'test send failed: HTTP 500' });
    expect(record?.attempts[0]?.trigger).toBe('test');
    expect(record?.payload).toBeUndefined();
    expect((await d.webhooks.get('acc', w.webhookId))?.failingSince).toBeUndefined();
    expect(d.retryQueue.sent).toHaveLength(0);
    expect(d.failed.sent).toHaveLength(0);
  });
});

describe('WebhookService: retry and recovery', () => {
  it('recovers every failed or skipped delivery since a time onto the retry queue, and marks them pending', async () => {
    const d = domain({ schedule: [1], deliveryDeps: { settings: { failuresToOpen: 1_000 } } });
    const w = d.hook('acc', valid.url);
    d.sender.answer(valid.url, { status: 500 });
    const times = [Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-02T00:00:00Z'), Date.parse('2026-01-03T00:00:00Z')];
    for (const t of times) await d.delivery.deliverEvent(visitEvent('acc', 'NEW_VISIT', t), { redelivery: false });
    for (const { message } of d.retryQueue.take()) {
      d.clock.current = Math.max(d.clock.current, message.dueAt);
      await d.delivery.handleQueued(message);
    }
    expect(d.deliveries.all().map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);

    const job = await d.management.recover('acc', w.webhookId, { since: '2026-01-02T00:00:00Z' });
    expect(job).toMatchObject({ status: 'done', scanned: 2, requeued: 2, unrecoverable: 0 });
    expect(await d.management.getRecovery('acc', w.webhookId, job.jobId)).toEqual(job);
    const queued = d.retryQueue.take();
    expect(queued.map((q) => [q.message.retryIndex, q.message.trigger])).toEqual([
      [0, 'recover'],
      [0, 'recover'],
    ]);
    expect(d.deliveries.all().map((r) => r.status)).toEqual(['failed', 'pending', 'pending']);
    // Safe to run twice: what the first job re-queued is pending, not failed, and is not queued again.
    expect(await d.management.recover('acc', w.webhookId, { since: '2026-01-01T00:00:00Z' })).toMatchObject({ status: 'done', scanned: 1, requeued: 1 });
    expect(d.retryQueue.take()).toHaveLength(1);
    expect(await invalidFields(() => d.management.recover('acc', w.webhookId, { since: 'yesterday' }))).toEqual(['since']);
  });

  it('retries one delivery once; a delivered one is not retryable, nor is any delivery of a disabled webhook', async () => {
    const d = domain();
    const w = d.hook('acc', valid.url);
    d.sender.answer(valid.url, { status: 500 });
    await d.delivery.deliverEvent(visitEvent('acc'), { redelivery: false });
    const [pending] = d.deliveries.all();
    d.retryQueue.take();
    await d.management.retryDelivery('acc', w.webhookId, pending!.deliveryId);
    const [manual] = d.retryQueue.take();
    expect(manual?.message).toMatchObject({ trigger: 'manual', retryIndex: d.retryPolicy.maxRetries, deliveryId: pending!.deliveryId });

    // A failed manual attempt says so (not "gave up after N attempts", whatever N was).
    await d.delivery.handleQueued(manual!.message);
    expect(d.deliveries.all()[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^manual retry failed: /) });
    await d.management.retryDelivery('acc', w.webhookId, pending!.deliveryId);
    const [again] = d.retryQueue.take();
    d.sender.answer(valid.url, { status: 200 });
    await d.delivery.handleQueued(again!.message);
    await expect(d.management.retryDelivery('acc', w.webhookId, pending!.deliveryId)).rejects.toMatchObject({ code: 'not_retryable' });
    await d.management.update('acc', w.webhookId, { enabled: false });
    await expect(d.management.retryDelivery('acc', w.webhookId, pending!.deliveryId)).rejects.toBeInstanceOf(ConflictError);
    await expect(d.management.retryDelivery('acc', w.webhookId, 'msg_00000000000000000000000000')).rejects.toBeInstanceOf(ConflictError);
  });

  it('works on a large recovery in the background: the reconciler pages through it until done, with no cap', async () => {
    const d = domain({ schedule: [1], deliveryDeps: { settings: { failuresToOpen: 1_000 } } });
    const w = d.hook('acc', valid.url);
    d.sender.answer(valid.url, { status: 410 }); // each delivery fails for good at once
    for (let i = 0; i < 250; i++) {
      await d.management.update('acc', w.webhookId, { enabled: true });
      await d.delivery.deliverEvent(visitEvent('acc', 'NEW_VISIT', Date.parse('2026-01-01T00:00:00Z') + i * 1000), { redelivery: false });
    }
    expect(d.deliveries.all().filter((r) => r.status === 'failed')).toHaveLength(250);
    await d.management.update('acc', w.webhookId, { enabled: true });
    d.retryQueue.take();
    // No time to work at once: the job is left running, and the reconciler moves it on.
    const realNow = d.clock.now.bind(d.clock);
    let calls = 0;
    d.clock.now = () => realNow() + (calls++ > 1 ? 10_000 : 0);
    const job = await d.management.recover('acc', w.webhookId, { since: '2026-01-01T00:00:00Z' });
    d.clock.now = realNow;
    expect(job.status).toBe('running');
    let ticks = 0;
    while ((await d.management.getRecovery('acc', w.webhookId, job.jobId)).status === 'running' && ticks++ < 10) await d.reconciler.tick();
    expect(await d.management.getRecovery('acc', w.webhookId, job.jobId)).toMatchObject({ status: 'done', scanned: 250, requeued: 250 });
    expect(d.retryQueue.take()).toHaveLength(250);
    await expect(d.management.getRecovery('acc', w.webhookId, 'rec_nope')).rejects.toMatchObject({ resource: 'recovery' });
  });

  it('lists the attempt log newest first, filtered by status, in stable pages', async () => {
    const d = domain();
    const w = d.hook('acc', valid.url);
    for (let i = 0; i < 5; i++) await d.delivery.deliverEvent(visitEvent('acc', 'NEW_VISIT', Date.parse('2026-01-01T00:00:00Z') + i * 1000), { redelivery: false });
    const first = await d.management.listDeliveries('acc', w.webhookId, { limit: 2 });
    const second = await d.management.listDeliveries('acc', w.webhookId, { limit: 2, ...(first.nextCursor ? { cursor: first.nextCursor } : {}) });
    const all = d.deliveries.all().map((r) => r.deliveryId).reverse();
    expect([...first.items, ...second.items].map((r) => r.deliveryId)).toEqual(all.slice(0, 4));
    expect((await d.management.listDeliveries('acc', w.webhookId, { limit: 10, status: 'failed' })).items).toEqual([]);
  });
});
