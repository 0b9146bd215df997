import { UndiciHttpSender, parseRetryAfter } from '../../lambdas/shared/adapters/http-sender';
import { HOP_BY_HOP_HEADERS, isReservedHeader } from '../../lambdas/shared/contract';
import { checkTargetHost } from '../../lambdas/shared/domain/target-policy';
import { eventually } from '../helpers/eventually';
import { respond, receiverPool, type Behaviour } from '../helpers/receiver';
import type { Resolver, SendResult } from '../../lambdas/shared/domain/ports';
import type { ServerResponse } from 'node:http';

describe('UndiciHttpSender (loopback receivers)', () => {
  const receivers = receiverPool();
  const senders: UndiciHttpSender[] = [];
  const receiver = receivers.start;
  const sender = (options: ConstructorParameters<typeof UndiciHttpSender>[0]) => {
    const s = new UndiciHttpSender(options);
    senders.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of senders) await s.close();
    await receivers.closeAll();
  });
  const post = { headers: { 'content-type': 'application/json' }, body: '{"id":"v"}' };

  it('can send every custom header name the API accepts: each name the HTTP client refuses is reserved', async () => {
    const r = await receiver();
    const s = sender({ allowHttp: true, allowPrivateTargets: true });
    const candidates = [...HOP_BY_HOP_HEADERS, 'x-api-version', 'authorization', 'accept', 'cookie', 'origin', 'via', 'forwarded', 'x-forwarded-for', 'date', 'range', 'if-match', 'cache-control', 'pragma', 'content-encoding', 'content-language'];
    const refused: string[] = [];
    for (const name of candidates) {
      const result = await s.send({ url: r.url, headers: { ...post.headers, [name]: 'value' }, body: post.body });
      if (!result.ok) refused.push(name);
    }
    // Names the client refuses are exactly ones the API refuses at create and edit.
    expect(refused.length).toBeGreaterThan(0);
    for (const name of refused) expect(isReservedHeader(name)).toBe(true);
    // And nothing outside the reserved list was refused.
    expect(refused.filter((n) => !(HOP_BY_HOP_HEADERS as readonly string[]).includes(n))).toEqual([]);
  });

  it('blocks a DNS-rebinding target at connect time: public at create, loopback at delivery', async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    let calls = 0;
    const rebinding: Resolver = async () => [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    await expect(checkTargetHost('rebind.test', rebinding, false)).resolves.toBeUndefined(); // create time: looks public
    const result = await sender({ allowHttp: true, resolver: rebinding }).send({ url: `http://rebind.test:${port}/hook`, ...post });
    expect(result).toMatchObject({ ok: false, errorKind: 'ssrf' });
    expect(r.requests).toHaveLength(0);
  });

  it('blocks an IP-literal private target on the socket peer address', async () => {
    const r = await receiver();
    const result = await sender({ allowHttp: true }).send({ url: r.url, ...post });
    expect(result).toMatchObject({ ok: false, errorKind: 'ssrf' });
    expect(r.requests).toHaveLength(0);
  });

  it('refuses plain http unless the deployment allows it', async () => {
    const r = await receiver();
    const result = await sender({ allowPrivateTargets: true }).send({ url: r.url, ...post });
    expect(result).toMatchObject({ ok: false, errorKind: 'policy' });
    expect(r.requests).toHaveLength(0);
  });

  it('never follows a redirect, even to an allowed target', async () => {
    const target = await receiver();
    const r = await receiver(respond(307, '', { location: target.url }));
    const result = await sender({ allowHttp: true, allowPrivateTargets: true }).send({ url: r.url, ...post });
    expect(result).toMatchObject({ ok: false, statusCode: 307, errorKind: 'http' });
    expect(target.requests).toHaveLength(0);
  });

  it('reads a bounded part of a 50 MB response and keeps a short snippet', async () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 'a');
    const r = await receiver((_req, res) => {
      res.writeHead(200, { 'content-length': String(big.length) });
      res.end(big);
    });
    const before = process.memoryUsage().rss;
    const result = await sender({ allowHttp: true, allowPrivateTargets: true }).send({ url: r.url, ...post });
    expect(result.ok).toBe(true);
    expect(result.responseSnippet).toHaveLength(512);
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
  });

  it('times out a receiver that never answers, within the budget', async () => {
    const r = await receiver(() => undefined);
    const result = await sender({ allowHttp: true, allowPrivateTargets: true, timeoutMs: 300 }).send({ url: r.url, ...post });
    expect(result).toMatchObject({ ok: false, errorKind: 'timeout' });
    expect(result.durationMs).toBeLessThan(3000);
  });

  it('reports a reset mid-body as a reset', async () => {
    const r = await receiver((_req, res, socket) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => socket.destroy(), 20);
    });
    const result = await sender({ allowHttp: true, allowPrivateTargets: true }).send({ url: r.url, ...post });
    expect(result).toMatchObject({ ok: false, errorKind: 'reset' });
  });

  it('reuses keep-alive connections', async () => {
    const r = await receiver();
    const s = sender({ allowHttp: true, allowPrivateTargets: true });
    for (let i = 0; i < 10; i++) await s.send({ url: r.url, ...post });
    const ports = new Set(r.requests.map((q) => q.remotePort));
    expect(r.requests).toHaveLength(10);
    // sequential requests share pooled connections (undici may alternate between two)
    expect(ports.size).toBeLessThanOrEqual(2);
  });

  /** A receiver behaviour that answers 200 after `ms`. */
  const after =
    (ms: number): Behaviour =>
    (_req, res) => {
      setTimeout(() => res.end('ok'), ms);
    };
  /** A receiver behaviour that holds every response until `release()`. */
  const holding = () => {
    const held: ServerResponse[] = [];
    return { behaviour: ((_req, res) => void held.push(res)) as Behaviour, release: () => held.splice(0).forEach((res) => res.end('ok')) };
  };
  const local = { allowHttp: true, allowPrivateTargets: true } as const;

  describe('isolation: per-origin turns, budgets and aborts', () => {
    it('takes turns across fairness keys: one request of webhook B is not stuck behind 20 of webhook A', async () => {
      const r = await receiver();
      const s = sender({ ...local, connectionsPerOrigin: 1 });
      const sends: Array<Promise<SendResult>> = [];
      for (let i = 0; i < 20; i++) sends.push(s.send({ url: r.url, headers: post.headers, body: `A${i}`, fairnessKey: 'wh_A' }));
      sends.push(s.send({ url: r.url, headers: post.headers, body: 'B0', fairnessKey: 'wh_B' }));
      const results = await Promise.all(sends);

      expect(results.filter((x) => x.ok)).toHaveLength(21);
      const order = r.requests.map((q) => q.body);
      expect(order).toHaveLength(21);
      // A0 was in flight when B0 arrived; B0 goes within the next two turns.
      expect(order[0]).toBe('A0');
      expect(order.indexOf('B0')).toBeLessThanOrEqual(2);
      // A's own requests keep their order.
      expect(order.filter((b) => b !== 'B0')).toEqual(Array.from({ length: 20 }, (_, i) => `A${i}`));
      // One connection, reused: the pool never exceeded connectionsPerOrigin.
      expect(new Set(r.requests.map((q) => q.remotePort)).size).toBe(1);
    });

    it('starts the budget and durationMs at the turn on a connection: 3 concurrent requests to a 300 ms endpoint, pool of 1, budget 500 ms, all succeed', async () => {
      const r = await receiver(after(300));
      const s = sender({ ...local, connectionsPerOrigin: 1 });
      // The last one waits ≈ 600 ms, more than the default wait (its own budget): let it wait.
      const results = await Promise.all([0, 1, 2].map(() => s.send({ url: r.url, ...post, timeoutMs: 500, queueTimeoutMs: 10_000 })));

      expect(results.map((x) => ({ ok: x.ok, errorKind: x.errorKind }))).toEqual(Array.from({ length: 3 }, () => ({ ok: true, errorKind: undefined })));
      expect(r.requests).toHaveLength(3);
      for (const x of results) expect(x.durationMs).toBeLessThan(300 + 500);
      // The last one waited behind the two others (≈ 600 ms), and that wait is reported apart.
      const waits = results.map((x) => x.queuedMs ?? -1).sort((a, b) => a - b);
      expect(waits[0]).toBeGreaterThanOrEqual(0);
      expect(waits[2]).toBeGreaterThanOrEqual(250);
    });

    it("gives up on a request that waits longer than its queueTimeoutMs: errorKind 'queued', never sent", async () => {
      const hold = holding();
      const r = await receiver(hold.behaviour);
      const s = sender({ ...local, connectionsPerOrigin: 1 });
      const first = s.send({ url: r.url, ...post, body: 'first' });
      const waiting = await s.send({ url: r.url, ...post, body: 'waiting', queueTimeoutMs: 100 });
      const origin = new URL(r.url).origin;

      expect(waiting).toMatchObject({ ok: false, errorKind: 'queued', error: `no connection to ${origin} within 100 ms`, durationMs: 0 });
      expect(waiting.queuedMs).toBeGreaterThanOrEqual(50);
      hold.release();
      await expect(first).resolves.toMatchObject({ ok: true });
      // The slot was handed back: the next request goes, and the given-up one never did.
      r.behave(respond(200, 'ok'));
      await expect(s.send({ url: r.url, ...post, body: 'next' })).resolves.toMatchObject({ ok: true });
      expect(r.requests.map((q) => q.body)).toEqual(['first', 'next']);
    });

    it("applies a request's own timeoutMs, shorter or longer than the sender's", async () => {
      const silent = await receiver(() => undefined);
      const slow = await receiver(after(400));
      const fastLane = sender({ ...local, timeoutMs: 10_000 });
      const short = sender({ ...local, timeoutMs: 100 });

      const cut = await fastLane.send({ url: silent.url, ...post, timeoutMs: 200 });
      expect(cut).toMatchObject({ ok: false, errorKind: 'timeout', error: 'timed out after 200 ms' });
      expect(cut.durationMs).toBeLessThan(5_000);
      // The sender's 100 ms would cut this one; its own 5 s budget lets it finish.
      await expect(short.send({ url: slow.url, ...post })).resolves.toMatchObject({ ok: false, errorKind: 'timeout' });
      await expect(short.send({ url: slow.url, ...post, timeoutMs: 5_000 })).resolves.toMatchObject({ ok: true, statusCode: 200 });
    });

    it('ends the budget even while the connection is still being set up (name resolution hangs)', async () => {
      let fail: (err: Error) => void = () => undefined;
      const hanging: Resolver = () => new Promise((_resolve, reject) => (fail = reject));
      const s = sender({ allowHttp: true, resolver: hanging, connectTimeoutMs: 60_000 });

      const result = await s.send({ url: 'http://hang.test/hook', ...post, timeoutMs: 200 });
      // Settled while the lookup was still pending: the result did not wait for the connect.
      expect(result).toMatchObject({ ok: false, errorKind: 'timeout' });
      fail(Object.assign(new Error('lookup failed'), { code: 'ENOTFOUND' }));
    });

    it("aborts through the caller's signal, in flight, queued or before it starts: errorKind 'aborted', never a throw", async () => {
      const hold = holding();
      const r = await receiver(hold.behaviour);
      const s = sender({ ...local, connectionsPerOrigin: 1 });

      const inFlight = new AbortController();
      const queued = new AbortController();
      const first = s.send({ url: r.url, ...post, body: 'in-flight', signal: inFlight.signal });
      const second = s.send({ url: r.url, ...post, body: 'queued', signal: queued.signal });
      await eventually(() => r.requests.length, (n) => n === 1, 10_000, 'the first request reaches the receiver');

      queued.abort(new Error('shutting down'));
      await expect(second).resolves.toMatchObject({ ok: false, errorKind: 'aborted', error: 'aborted (shutting down)', durationMs: 0 });
      inFlight.abort();
      await expect(first).resolves.toMatchObject({ ok: false, errorKind: 'aborted' });

      const before = new AbortController();
      before.abort();
      await expect(s.send({ url: r.url, ...post, body: 'pre-aborted', signal: before.signal })).resolves.toMatchObject({ ok: false, errorKind: 'aborted', durationMs: 0 });

      // The aborted requests gave their slot back, and only the in-flight one was ever sent.
      r.behave(respond(200, 'ok'));
      await expect(s.send({ url: r.url, ...post, body: 'after' })).resolves.toMatchObject({ ok: true });
      expect(r.requests.map((q) => q.body)).toEqual(['in-flight', 'after']);
      hold.release();
    });
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThanOrEqual(59);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
