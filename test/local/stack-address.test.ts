import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LOCAL_URL, findLocalStack, LocalStackNotFoundError, stackAddressPath, stackAnswers, writeStackAddress } from '../../local/stack-address';

/** How the CLIs find the running local stack (local/stack-address.ts). */
describe('finding the running local stack', () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'stack-address-'));
    dirs.push(d);
    return d;
  };
  /** A server that answers the health route like the local stack. */
  const healthServer = async (status = 200): Promise<string> => {
    const server = createServer((req, res) => res.writeHead(req.url === '/_local/health' ? status : 404, { 'content-type': 'application/json' }).end('{"ok":true}'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  /** Nothing answers but the URLs given. */
  const only = (...urls: string[]) => async (url: string) => urls.includes(url);

  it('reads the address npm start wrote to its data dir, whatever the port', async () => {
    const cwd = tempDir();
    const url = await healthServer();
    const forget = writeStackAddress('.webhooks-data', url, cwd);
    expect(JSON.parse(readFileSync(join(cwd, '.webhooks-data', 'local-stack.json'), 'utf8'))).toMatchObject({ url, pid: process.pid });
    expect(await findLocalStack({ cwd, env: {} })).toEqual({ url, source: join(cwd, '.webhooks-data', 'local-stack.json') });
    forget();
    expect(existsSync(join(cwd, '.webhooks-data', 'local-stack.json'))).toBe(false);
    await expect(findLocalStack({ cwd, env: {}, answers: only() })).rejects.toThrow(LocalStackNotFoundError);
  });

  it('honours WEBHOOKS_DATA_DIR, and finds an in-memory run by its project directory', async () => {
    const cwd = tempDir();
    const data = tempDir();
    writeStackAddress(data, 'http://127.0.0.1:4101', cwd);
    expect(await findLocalStack({ cwd, env: { WEBHOOKS_DATA_DIR: data }, answers: only('http://127.0.0.1:4101') })).toMatchObject({ url: 'http://127.0.0.1:4101' });
    const forget = writeStackAddress(':memory:', 'http://127.0.0.1:4102', cwd);
    try {
      expect(await findLocalStack({ cwd, env: {}, answers: only('http://127.0.0.1:4102') })).toEqual({ url: 'http://127.0.0.1:4102', source: stackAddressPath(':memory:', cwd) });
    } finally {
      forget();
    }
  });

  it('an explicit --url, WEBHOOKS_LOCAL_URL or PORT wins, in that order, and is not second-guessed', async () => {
    const cwd = tempDir();
    writeStackAddress('.webhooks-data', 'http://127.0.0.1:4201', cwd);
    const answers = only('http://127.0.0.1:4201', 'http://127.0.0.1:4202', 'http://127.0.0.1:4203', 'http://127.0.0.1:4204');
    const env = { WEBHOOKS_LOCAL_URL: 'http://127.0.0.1:4203/', PORT: '4204' };
    expect(await findLocalStack({ cwd, env, answers, url: 'http://127.0.0.1:4202' })).toEqual({ url: 'http://127.0.0.1:4202', source: '--url' });
    expect(await findLocalStack({ cwd, env, answers })).toEqual({ url: 'http://127.0.0.1:4203', source: 'WEBHOOKS_LOCAL_URL' });
    expect(await findLocalStack({ cwd, env: { PORT: '4204' }, answers })).toEqual({ url: 'http://127.0.0.1:4204', source: 'PORT' });
    // An explicit choice that does not answer is an error naming it, not a silent fallback.
    await expect(findLocalStack({ cwd, env: { PORT: '4299' }, answers })).rejects.toThrow(/http:\/\/127\.0\.0\.1:4299 \(from PORT\): nothing answers there/);
  });

  it('skips an address file left by a killed stack, then tries the default port', async () => {
    const cwd = tempDir();
    writeStackAddress('.webhooks-data', 'http://127.0.0.1:4301', cwd);
    expect(await findLocalStack({ cwd, env: {}, answers: only(DEFAULT_LOCAL_URL) })).toEqual({ url: DEFAULT_LOCAL_URL, source: 'the default port' });
  });

  it('says every place it looked when nothing answers', async () => {
    const cwd = tempDir();
    writeStackAddress('.webhooks-data', 'http://127.0.0.1:4401', cwd);
    const err = await findLocalStack({ cwd, env: {}, answers: only() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalStackNotFoundError);
    const message = (err as Error).message;
    expect(message).toContain('--url, WEBHOOKS_LOCAL_URL, PORT: none given');
    expect(message).toContain(`${join(cwd, '.webhooks-data', 'local-stack.json')}: names http://127.0.0.1:4401 (pid ${process.pid}), which does not answer`);
    expect(message).toContain(`${stackAddressPath(':memory:', cwd)}: no such file`);
    expect(message).toContain(`${DEFAULT_LOCAL_URL} (the default): nothing answers there`);
    expect(message).toContain('Start it with `npm start`');
  });

  it('a garbled address file counts as none; only a stack that answers its health route counts', async () => {
    const cwd = tempDir();
    const path = stackAddressPath('.webhooks-data', cwd);
    writeStackAddress('.webhooks-data', 'http://127.0.0.1:1', cwd);
    writeFileSync(path, '{not json');
    await expect(findLocalStack({ cwd, env: {}, answers: only() })).rejects.toThrow(/local-stack\.json: no such file/);
    expect(await stackAnswers(await healthServer(200))).toBe(true);
    expect(await stackAnswers(await healthServer(503))).toBe(false);
  });

  it('removes the address only if it is still its own (a second stack may have replaced it)', () => {
    const cwd = tempDir();
    const forgetFirst = writeStackAddress('.webhooks-data', 'http://127.0.0.1:4501', cwd);
    const path = stackAddressPath('.webhooks-data', cwd);
    writeFileSync(path, JSON.stringify({ url: 'http://127.0.0.1:4502', pid: process.pid + 1, startedAt: '' }));
    forgetFirst();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ url: 'http://127.0.0.1:4502' });
  });
});
