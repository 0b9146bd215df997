import { UndiciHttpSender, parseRetryAfter } from '../../lambdas/shared/adapters/http-sender';
import { HOP_BY_HOP_HEADERS, isReservedHeader } from '../../lambdas/shared/contract';
import { checkTargetHost } from '../../lambdas/shared/domain/target-policy';
import { respond, receiverPool } from '../helpers/receiver';
import type { Resolver } from '../../lambdas/shared/domain/ports';

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

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThanOrEqual(59);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
