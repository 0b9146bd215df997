import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { createLocalApiRoutes } from '../../local/api-routes';
import { type LocalRoutes, type LocalStack, startLocalStack } from '../../local/stack';
import { createStaticRoutes } from '../../local/static';
import { PROJECT_ROOT } from '../../lib/function-defaults';
import { expectEventually } from '../helpers/eventually';
import { type Chromium, launchChromium } from './chromium';

/**
 * Portal sessions in Chromium: the platform's backend mints a session with its platform token
 * (IAM locally played by `WEBHOOKS_LOCAL_PLATFORM_TOKEN`), and the customer opens the URL with
 * no key to paste, directly or inside the platform's page (an iframe from an allowed origin; a
 * page from another origin cannot frame it).
 */

const DIST = join(PROJECT_ROOT, 'dashboard', 'dist');
const PLATFORM_TOKEN = `vpt_${'p'.repeat(43)}`;

interface Session {
  readonly url: string;
  readonly token: string;
}

/** A page of "the platform" that frames `src` (given in the query). */
async function startParent(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://local').searchParams.get('src') ?? '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Platform</title><h1>Platform settings</h1><iframe title="Webhooks" src="${src.replace(/"/g, '&quot;')}" width="1100" height="800"></iframe>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('portal sessions in Chromium', () => {
  let chromium: Chromium;
  let stack: LocalStack;
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  const pageErrors: string[] = [];
  let page: Page | undefined;

  beforeAll(async () => {
    if (!existsSync(join(DIST, 'index.html'))) throw new Error('dashboard/dist is missing: run npm run build:dashboard (npm run test:browser does)');
    allowed = await startParent();
    other = await startParent();
    const statics = createStaticRoutes(DIST, { frameAncestors: [allowed.origin] });
    stack = await startLocalStack({
      port: 0,
      dataDir: ':memory:',
      // The tests wait by polling every few ms: above the default per-account API rate, which is not
      // what they are about (test/browser/dashboard.test.ts does the same).
      env: { ...process.env, WEBHOOKS_LOCAL_PLATFORM_TOKEN: PLATFORM_TOKEN, WEBHOOKS_API_ACCOUNT_RATE_LIMIT: '1000' },
      print: () => undefined,
      routes: (core): LocalRoutes => {
        const api = createLocalApiRoutes(core);
        return async (req, res, body) => (await api(req, res, body)) || (await statics(req, res, body));
      },
    });
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await stack?.close();
    for (const parent of [allowed, other]) if (parent) await new Promise((resolve) => parent.server.close(resolve));
  });

  afterEach(async () => {
    await page?.close();
    page = undefined;
    expect(pageErrors.splice(0)).toEqual([]);
  });

  async function newPage(): Promise<Page> {
    page = await chromium.context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    return page;
  }

  /** What the platform's backend does: POST /v1/portal-sessions with its credential. */
  async function mintSession(body: Record<string, unknown>): Promise<Session> {
    const res = await fetch(`${stack.url}/v1/portal-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PLATFORM_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as Session;
  }

  /** A customer API key for setting up and checking an account (the test's view, not the customer's). */
  async function keyApi(accountId: string) {
    const minted = await fetch(`${stack.url}/_local/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId }) });
    const { apiKey } = (await minted.json()) as { apiKey: string };
    return async (path: string, init: { method?: string; body?: unknown } = {}) => {
      const res = await fetch(`${stack.url}/v1${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    };
  }

  it('opens the account\'s webhooks from the session URL with no key to paste, and manages them', async () => {
    const api = await keyApi('portal-acct');
    const neighbour = await keyApi('portal-neighbour');
    expect((await api('/webhooks', { method: 'POST', body: { name: 'CRM sync', url: 'https://crm.example.com/hook', eventTypes: ['NEW_VISIT'] } })).status).toBe(201);
    expect((await neighbour('/webhooks', { method: 'POST', body: { name: 'Neighbour hook', url: 'https://n.example.com/hook', eventTypes: ['NEW_VISIT'] } })).status).toBe(201);
    const session = await mintSession({ accountId: 'portal-acct' });
    expect(session.url).toBe(`${stack.url}/settings/webhooks#portal=${session.token}`);

    const p = await newPage();
    await p.goto(session.url);
    await p.getByRole('heading', { level: 1, name: 'Settings → Webhooks' }).waitFor();
    await p.getByRole('link', { name: 'CRM sync', exact: true }).waitFor();
    expect(await p.getByLabel('API key').count()).toBe(0);
    expect(await p.getByText('Neighbour hook').count()).toBe(0);
    // The token leaves the address bar at once, and the tab keeps the session, not a key.
    expect(p.url()).toBe(`${stack.url}/settings/webhooks`);
    expect(await p.evaluate<string[]>('Object.keys(sessionStorage)')).toEqual(['visit-webhooks.portalSession']);
    expect(await p.getByRole('button', { name: 'Forget API key' }).count()).toBe(0);

    // Create through the form, switch it off, delete the other: all as the session.
    await p.getByRole('link', { name: 'Create webhook' }).click();
    await p.getByLabel('Name', { exact: true }).fill('Slack alerts');
    await p.getByLabel('URL').fill('https://hooks.example.com/slack');
    await p.getByRole('button', { name: 'Create', exact: true }).click();
    await p.getByRole('heading', { level: 1, name: 'Slack alerts' }).waitFor();
    await p.getByRole('link', { name: 'Webhooks', exact: true }).click();
    const toggle = p.getByRole('switch', { name: 'Slack alerts enabled' });
    await toggle.click();
    await expectEventually(() => toggle.getAttribute('aria-checked'), (v) => expect(v).toBe('false'));
    await p.getByRole('button', { name: 'Delete CRM sync' }).click();
    await p.getByRole('dialog', { name: 'Delete this webhook?' }).getByRole('button', { name: 'Delete webhook' }).click();
    await p.getByRole('link', { name: 'CRM sync', exact: true }).waitFor({ state: 'detached' });

    const items = (await api('/webhooks')).json.items as Array<{ name: string; enabled: boolean }>;
    expect(items.map((w) => [w.name, w.enabled])).toEqual([['Slack alerts', false]]);
    expect(((await neighbour('/webhooks')).json.items as unknown[]).length).toBe(1);

    // A reload keeps the session (same tab).
    await p.reload();
    await p.getByRole('link', { name: 'Slack alerts', exact: true }).waitFor();
  });

  it('read-only: shows the webhooks with no control that would change them', async () => {
    const api = await keyApi('portal-ro');
    const created = await api('/webhooks', { method: 'POST', body: { name: 'Watched', url: 'https://w.example.com/hook', eventTypes: ['NEW_VISIT'], headers: { Authorization: 'Bearer endpoint-token' } } });
    const session = await mintSession({ accountId: 'portal-ro', readOnly: true });
    const p = await newPage();
    await p.goto(session.url);
    await p.getByRole('link', { name: 'Watched', exact: true }).waitFor();
    await p.getByText('read-only', { exact: true }).waitFor();
    for (const name of ['Create webhook', 'Edit Watched']) expect(await p.getByRole('link', { name }).count()).toBe(0);
    expect(await p.getByRole('switch').count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Delete Watched' }).count()).toBe(0);

    await p.getByRole('link', { name: 'Watched', exact: true }).click();
    await p.getByRole('heading', { level: 1, name: 'Watched' }).waitFor();
    await p.getByRole('heading', { name: 'Deliveries' }).waitFor();
    for (const name of ['Signing secret', 'Send test event']) expect(await p.getByRole('heading', { name }).count()).toBe(0);
    expect(await p.locator('body').textContent()).not.toContain('endpoint-token');
    await p.goto(`${stack.url}/settings/webhooks/${String(created.json.id)}/edit`);
    await p.getByText('This view is read-only').waitFor();
  });

  it('says the session ended when the API no longer accepts it (no key form)', async () => {
    const p = await newPage();
    await p.goto(`${stack.url}/settings/webhooks#portal=vps_${'x'.repeat(43)}`);
    await p.getByText('This session has ended.').waitFor();
    expect(await p.getByLabel('API key').count()).toBe(0);
  });

  /** The dashboard's frame inside the platform's page, once it has navigated. */
  async function dashboardFrame(p: Page): Promise<Frame> {
    return expectEventually(
      () => p.frames().find((f) => f !== p.mainFrame()),
      (f) => expect(f).toBeDefined(),
    ) as Promise<Frame>;
  }

  it('works in an iframe of an allowed origin, and no other origin can frame it', async () => {
    const api = await keyApi('portal-framed');
    await api('/webhooks', { method: 'POST', body: { name: 'Framed hook', url: 'https://f.example.com/hook', eventTypes: ['NEW_VISIT'] } });
    const session = await mintSession({ accountId: 'portal-framed' });

    const p = await newPage();
    await p.goto(`${allowed.origin}/?src=${encodeURIComponent(session.url)}`);
    const frame = await dashboardFrame(p);
    await frame.getByRole('heading', { level: 1, name: 'Settings → Webhooks' }).waitFor();
    const toggle = frame.getByRole('switch', { name: 'Framed hook enabled' });
    await toggle.click();
    await expectEventually(() => toggle.getAttribute('aria-checked'), (v) => expect(v).toBe('false'));
    expect((await api('/webhooks')).json.items).toMatchObject([{ name: 'Framed hook', enabled: false }]);

    // Another origin: Chromium refuses to render the dashboard in its frame (CSP frame-ancestors).
    const second = await mintSession({ accountId: 'portal-framed' });
    const blocked = await chromium.context.newPage();
    try {
      const refused: string[] = [];
      blocked.on('console', (m) => refused.push(m.text()));
      await blocked.goto(`${other.origin}/?src=${encodeURIComponent(second.url)}`);
      await expectEventually(() => refused.join('\n'), (text) => expect(text).toMatch(/frame-ancestors/));
      const framed = await dashboardFrame(blocked);
      expect(await framed.locator('h1', { hasText: 'Settings → Webhooks' }).count()).toBe(0);
    } finally {
      await blocked.close();
    }
  });
});
