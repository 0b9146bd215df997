import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStaticRoutes, FRAME_ANCESTORS_ENV, frameAncestorsFromEnv } from '../../local/static';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** The handler behind a real server; what it declines answers 599 "fell through". */
async function serve(distDir: string, frameAncestors: readonly string[] = []): Promise<{ server: Server; get: (path: string, init?: { method?: string; headers?: Record<string, string> }) => Promise<Answer> }> {
  const routes = createStaticRoutes(distDir, { frameAncestors });
  const server = createServer((req, res) => {
    routes(req, res, Buffer.alloc(0)).then((handled) => {
      if (!handled) {
        res.writeHead(599);
        res.end('fell through');
      }
    }, (err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // http.request sends the path as given: no client-side normalisation of `..` or %2e.
  const get = (path: string, init: { method?: string; headers?: Record<string, string> } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end();
    });
  return { server, get };
}

describe('local static routes (dashboard/dist at /)', () => {
  const root = mkdtempSync(join(tmpdir(), 'webhooks-static-'));
  const dist = join(root, 'dist');
  const INDEX = '<!doctype html><title>Webhooks</title>';
  let http: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), INDEX);
    writeFileSync(join(dist, 'config.json'), '{"apiBase":""}');
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dist, 'assets', 'index-abc123.css'), 'body{}');
    writeFileSync(join(root, 'secret.txt'), 'TOP SECRET');
    symlinkSync(join(root, 'secret.txt'), join(dist, 'assets', 'link.txt'));
    http = await serve(dist);
  });
  afterAll(async () => {
    await new Promise((r) => http.server.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at / with no-cache and the security headers', async () => {
    const res = await http.get('/');
    expect(res).toMatchObject({ status: 200, body: INDEX });
    expect(res.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it.each([
    ['/assets/index-abc123.js', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
    ['/assets/index-abc123.css', 'text/css; charset=utf-8', 'public, max-age=31536000, immutable'],
    ['/config.json', 'application/json; charset=utf-8', 'no-cache'],
    ['/index.html', 'text/html; charset=utf-8', 'no-cache'],
  ])('serves %s as %s', async (path, type, cacheControl) => {
    const res = await http.get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['cache-control']).toBe(cacheControl);
  });

  it.each(['/settings/webhooks', '/settings/webhooks/wh_123/edit', '/settings/webhooks/new?x=1', '/assets'])('answers the app route %s with index.html', async (path) => {
    expect(await http.get(path)).toMatchObject({ status: 200, body: INDEX });
  });

  it('answers a missing file with 404, not with the app', async () => {
    expect(await http.get('/assets/index-missing.js')).toMatchObject({ status: 404 });
    expect(await http.get('/favicon.ico')).toMatchObject({ status: 404 });
  });

  it.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/assets/link.txt',
    '/index.html%00.js',
    '/%E0%A4%A',
  ])('never serves a file outside dist: %s', async (path) => {
    const res = await http.get(path);
    expect(res.body).not.toContain('TOP SECRET');
    expect([200, 404]).toContain(res.status);
    if (res.status === 200) expect(res.body).toBe(INDEX);
  });

  it.each([
    ['GET', '/v1/webhooks'],
    ['GET', '/v1'],
    ['GET', '/v1/openapi.json'],
    ['GET', '/_local/health'],
    ['POST', '/_local/redrive'],
    ['POST', '/'],
    ['PATCH', '/settings/webhooks'],
  ])('leaves %s %s to the other routes', async (method, path) => {
    expect(await http.get(path, { method })).toMatchObject({ status: 599, body: 'fell through' });
  });

  it('answers HEAD without a body and a matching If-None-Match with 304', async () => {
    const head = await http.get('/assets/index-abc123.js', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe(String('console.log(1)'.length));
    const etag = head.headers.etag as string;
    expect(etag).toMatch(/^W\/"/);
    expect(await http.get('/assets/index-abc123.js', { headers: { 'if-none-match': etag } })).toMatchObject({ status: 304, body: '' });
  });

  it('falls through at / when the dashboard has not been built', async () => {
    const missing = await serve(join(root, 'not-built'));
    try {
      expect(await missing.get('/')).toMatchObject({ status: 599 });
      expect(await missing.get('/settings/webhooks')).toMatchObject({ status: 599 });
    } finally {
      await new Promise((r) => missing.server.close(r));
    }
  });
});

describe('local static routes with frame ancestors (a portal session in an iframe)', () => {
  const root = mkdtempSync(join(tmpdir(), 'webhooks-static-framed-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lets exactly the configured origins frame the app (CSP frame-ancestors) and drops X-Frame-Options', async () => {
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Webhooks</title>');
    const origins = frameAncestorsFromEnv({ [FRAME_ANCESTORS_ENV]: 'https://app.example.com, http://127.0.0.1:5173' });
    expect(origins).toEqual(['https://app.example.com', 'http://127.0.0.1:5173']);
    const http = await serve(root, origins);
    try {
      const res = await http.get('/settings/webhooks');
      expect(res.status).toBe(200);
      expect(res.headers['content-security-policy']).toMatch(/; frame-ancestors https:\/\/app\.example\.com http:\/\/127\.0\.0\.1:5173$/);
      expect(res.headers['x-frame-options']).toBeUndefined();
    } finally {
      await new Promise((resolve) => http.server.close(resolve));
    }
  });

  it('refuses a malformed origin at start, so a typo never widens the policy', () => {
    for (const bad of ['*', 'https://*.example.com', 'https://app.example.com/path', "'self'"]) {
      expect(() => frameAncestorsFromEnv({ [FRAME_ANCESTORS_ENV]: bad })).toThrow(FRAME_ANCESTORS_ENV);
    }
    expect(frameAncestorsFromEnv({})).toEqual([]);
  });
});
