import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { PUT_EVENTS_TARGET } from '../../local/bus';
import { createLocalApiRoutes, ensureDemoKey } from '../../local/api-routes';
import { type LocalRoutes, type LocalStack, startLocalStack } from '../../local/stack';
import { createStaticRoutes } from '../../local/static';
import { PROJECT_ROOT } from '../../lib/function-defaults';
import { visitFixture } from '../../local/lambda-events';
import { deliveryIdFor } from '../../lambdas/shared/domain/model';
import { receiverPool, respond } from '../helpers/receiver';
import { type Chromium, launchChromium } from './chromium';
import { eventually, expectEventually } from '../helpers/eventually';
import { publishVisits } from '../reliability/support';

/**
 * The dashboard in a real browser (Debian Chromium via playwright-core) against the local
 * runtime in this process: the built dashboard/dist served at /, the management API at /v1.
 * A walk through the Settings → Webhooks page. Each test has its own account (its own API key,
 * so its own list of webhooks), its own page and its own receiver, and creates through the API
 * what it needs: one failure is one failure, and any test runs alone (`-t`). Assertions wait for
 * the state they check (locator waits or `expectEventually`), never read the page once.
 */

const DIST = join(PROJECT_ROOT, 'dashboard', 'dist');
const SHOTS = join(PROJECT_ROOT, 'test-results');
const NAME = 'Notify My CRM';

/** The local stack with the API and the dashboard, as `npm start` mounts them. */
async function startStack(env: NodeJS.ProcessEnv = {}): Promise<{ stack: LocalStack; apiKey: string }> {
  const statics = createStaticRoutes(DIST);
  const stack = await startLocalStack({
    port: 0,
    dataDir: ':memory:',
    // The suite polls the API every 25 ms while it waits for deliveries: a generous per-account
    // rate, which test/api/access.test.ts and test/local/api-access.test.ts test.
    env: { ...process.env, WEBHOOKS_API_ACCOUNT_RATE_LIMIT: '1000', ...env },
    print: () => undefined,
    routes: (core): LocalRoutes => {
      const api = createLocalApiRoutes(core);
      return async (req, res, body) => (await api(req, res, body)) || (await statics(req, res, body));
    },
  });
  const demo = await ensureDemoKey(stack);
  if (!demo.apiKey) throw new Error('no demo key minted');
  return { stack, apiKey: demo.apiKey };
}

/**
 * Page-side expressions as strings: this file is type-checked without the DOM library (the
 * root tsconfig is for Node), and the browser evaluates them as they are.
 */
const IN_PAGE = {
  focused: "(() => { const el = document.activeElement; return { tag: el ? el.tagName.toLowerCase() : '', text: el ? (el.textContent || '').trim() : '', id: el ? el.id : '' }; })()",
  focusedIsErrorSummary: "document.activeElement !== null && document.activeElement.classList.contains('error-summary')",
  sessionStorageKeys: 'Object.keys(sessionStorage)',
  scrollWidth: 'document.documentElement.scrollWidth',
} as const;

type Focused = { tag: string; text: string; id: string };

/** Waits until the focused element matches `expected` (focus may move a frame after the action). */
async function expectFocus(page: Page, expected: Partial<Focused>): Promise<void> {
  await expectEventually(
    () => page.evaluate<Focused>(IN_PAGE.focused),
    (el) => expect(el).toMatchObject(expected),
  );
}

async function enterKey(page: Page, url: string, apiKey: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { level: 1, name: 'Settings → Webhooks' }).waitFor();
}

describe('dashboard in Chromium', () => {
  let chromium: Chromium;
  let main: { stack: LocalStack; apiKey: string };
  const receivers = receiverPool();
  let accounts = 0;

  beforeAll(async () => {
    if (!existsSync(join(DIST, 'index.html'))) throw new Error('dashboard/dist is missing: run npm run build:dashboard (npm run test:browser does)');
    mkdirSync(SHOTS, { recursive: true });
    // A one-step retry schedule, so a failing delivery ends `failed` within seconds.
    main = await startStack({ WEBHOOKS_RETRY_SCHEDULE: '1' });
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await main?.stack.close();
    await receivers.closeAll();
  });

  /** What one test works with: its own account and key, a page, and an API client for that account. */
  interface Tenant {
    readonly accountId: string;
    readonly apiKey: string;
    readonly page: Page;
    api(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; json: Record<string, unknown> }>;
    /** Creates a webhook through the API (201 asserted) and returns it with its secret. */
    createWebhook(body: Record<string, unknown>): Promise<{ id: string; secret: string }>;
    /** Opens a dashboard path with the key already in this tab's session (as after the key gate). */
    open(path: string): Promise<void>;
    /** The list row of the webhook called `name`. */
    row(name: string): ReturnType<Page['locator']>;
    shot(name: string): Promise<unknown>;
  }

  let tenant: Tenant | undefined;
  const pageErrors: string[] = [];

  async function newTenant(): Promise<Tenant> {
    const accountId = `browser-${++accounts}`;
    const minted = await fetch(`${main.stack.url}/_local/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId }),
    });
    expect(minted.status).toBe(201);
    const { apiKey } = (await minted.json()) as { apiKey: string };
    const page = await chromium.context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const api: Tenant['api'] = async (path, init = {}) => {
      const res = await fetch(`${main.stack.url}/v1${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    };
    tenant = {
      accountId,
      apiKey,
      page,
      api,
      createWebhook: async (body) => {
        const created = await api('/webhooks', { method: 'POST', body });
        expect(created.status).toBe(201);
        return { id: String(created.json.id), secret: String(created.json.secret) };
      },
      open: async (path) => {
        await page.addInitScript(`sessionStorage.setItem('visit-webhooks.apiKey', ${JSON.stringify(apiKey)})`);
        await page.goto(`${main.stack.url}${path}`);
      },
      row: (name) => page.locator('tr', { has: page.getByRole('link', { name, exact: true }) }),
      shot: (name) => page.locator('body').screenshot({ path: join(SHOTS, `${name}.png`) }),
    };
    return tenant;
  }

  afterEach(async () => {
    await tenant?.page.close();
    tenant = undefined;
    // An uncaught error in the page fails the test that caused it.
    expect(pageErrors.splice(0)).toEqual([]);
  });

  it('serves the app at / and at deep links, and asks for the API key once per session', async () => {
    const { page, apiKey } = await newTenant();
    await page.goto(`${main.stack.url}/settings/webhooks/wh_missing/edit`);
    await page.getByLabel('API key').fill('vwk_not_a_key');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('The API refused this key').waitFor();
    await expectEventually(() => page.getByLabel('API key').getAttribute('aria-invalid'), (v) => expect(v).toBe('true'));

    await enterKey(page, main.stack.url, apiKey);
    await page.getByText('No webhooks yet').waitFor();
    expect(await page.evaluate<string[]>(IN_PAGE.sessionStorageKeys)).toEqual(['visit-webhooks.apiKey']);

    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Settings → Webhooks' }).waitFor();
    expect(await page.getByLabel('API key').count()).toBe(0);
  });

  it('creates a webhook through the form (client-side errors first) and shows its secret once', async () => {
    const { page, api, open, row, shot } = await newTenant();
    const receiver = await receivers.start();
    await open('/settings/webhooks');
    await page.getByRole('link', { name: 'Create webhook' }).click();
    await page.getByRole('heading', { level: 1, name: 'Create webhook' }).waitFor();
    await expectFocus(page, { tag: 'h1', text: 'Create webhook' });

    await page.getByLabel('Name', { exact: true }).fill(NAME);
    await page.getByLabel('URL').fill('ftp://user:pw@example.com/hook');
    await page.getByLabel('NEW_VISITOR').check();
    await page.getByLabel('Description').fill('Triggers Slack notifications');
    await page.getByRole('button', { name: 'Add header' }).click();
    await expectFocus(page, { tag: 'input', id: 'wh-headers-0-name' });
    await page.getByLabel('Name of header 1').fill('Host');
    await page.getByLabel('Value of header 1').fill('evil.example.com');
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Name of header 2').fill('X-Api-Version');
    await page.getByLabel('Value of header 2').fill('2');
    await page.getByRole('button', { name: 'Create', exact: true }).click();

    // Errors: a summary that takes focus, and each message next to its field.
    await page.getByRole('heading', { name: 'Fix these 2 problems to continue' }).waitFor();
    await expectEventually(() => page.evaluate<boolean>(IN_PAGE.focusedIsErrorSummary), (v) => expect(v).toBe(true));
    const url = page.getByLabel('URL');
    await expectEventually(() => url.getAttribute('aria-invalid'), (v) => expect(v).toBe('true'));
    expect(await page.locator('#wh-url-error').textContent()).toMatch(/https:\/\//);
    expect(await url.getAttribute('aria-describedby')).toContain('wh-url-error');
    expect(await page.locator('#wh-headers-0-name-error').textContent()).toMatch(/Host is set by the service/);
    await shot('dashboard-form-errors');

    await url.fill(receiver.url);
    await page.getByLabel('Name of header 1').fill('Authorization');
    await page.getByLabel('Value of header 1').fill('Bearer crm-token');
    await page.getByRole('heading', { level: 1 }).scrollIntoViewIfNeeded();
    await shot('dashboard-form');
    await page.getByRole('button', { name: 'Create', exact: true }).click();

    await page.getByRole('heading', { name: 'Webhook created: copy its signing secret' }).waitFor();
    await expectFocus(page, { tag: 'h1', text: NAME });
    const secret = await page.getByRole('textbox', { name: 'Signing secret', exact: true }).inputValue();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    await page.getByText("import { Webhook } from 'standardwebhooks'").waitFor();
    const webhookId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    expect(webhookId).toMatch(/^wh_/);

    const stored = await api(`/webhooks/${webhookId}`);
    expect(stored.json).toMatchObject({
      name: NAME,
      url: receiver.url,
      eventTypes: ['NEW_VISIT', 'NEW_VISITOR'],
      description: 'Triggers Slack notifications',
      headers: { Authorization: 'Bearer crm-token', 'X-Api-Version': '2' },
      status: 'active',
    });
    expect((await api(`/webhooks/${webhookId}/secret`)).json.secret).toBe(secret);

    // Shown once: after leaving the page, the created panel is gone.
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    await row(NAME).waitFor();
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: NAME }).waitFor();
    expect(await page.getByRole('heading', { name: /Webhook created/ }).count()).toBe(0);
  });

  it('creates a webhook with a rate limit through the form, shows it on the detail page, and removes it on edit', async () => {
    const { page, api, open } = await newTenant();
    await open('/settings/webhooks/new');
    await page.getByRole('heading', { level: 1, name: 'Create webhook' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Rate limited');
    await page.getByLabel('URL').fill('https://hooks.example.com/limited');
    const rateLimit = page.getByLabel('Rate limit (deliveries per second, optional)');
    await rateLimit.fill('1001');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'Fix this to continue' }).waitFor();
    await expectEventually(() => rateLimit.getAttribute('aria-invalid'), (v) => expect(v).toBe('true'));
    expect(await page.locator('#wh-rateLimit-error').textContent()).toMatch(/from 1 to 1000/);
    expect(await rateLimit.getAttribute('aria-describedby')).toBe('wh-rateLimit-hint wh-rateLimit-error');

    await rateLimit.fill('25');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Rate limited' }).waitFor();
    const shown = page.locator('dl.props dt', { hasText: 'Rate limit' }).locator('xpath=following-sibling::dd[1]');
    await expectEventually(() => shown.textContent(), (v) => expect(v).toBe('25 deliveries per second'));
    const webhookId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    expect((await api(`/webhooks/${webhookId}`)).json).toMatchObject({ name: 'Rate limited', rateLimit: 25, health: { breaker: 'closed' } });

    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Edit webhook' }).waitFor();
    await expectEventually(() => rateLimit.inputValue(), (v) => expect(v).toBe('25'));
    await rateLimit.fill('');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { level: 1, name: 'Rate limited' }).waitFor();
    await expectEventually(() => shown.textContent(), (v) => expect(v).toBe('none'));
    expect((await api(`/webhooks/${webhookId}`)).json).not.toHaveProperty('rateLimit');
  });

  it('checks a payload filter against the sample payloads before saving, saves it, shows it, and removes it on edit', async () => {
    const { page, api, open } = await newTenant();
    await open('/settings/webhooks/new');
    await page.getByRole('heading', { level: 1, name: 'Create webhook' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Filtered');
    await page.getByLabel('URL').fill('https://hooks.example.com/filtered');
    const filter = page.getByLabel('Filter (JSON, optional)');
    const check = page.getByRole('button', { name: 'Check against the sample payloads' });
    const result = page.getByRole('status').filter({ has: page.locator('li') });

    // A mistake is named by its path, next to the field, before anything is sent.
    await filter.fill('{"location": {"country": [{"prefx": "Uni"}]}}');
    await check.click();
    await expectEventually(() => filter.getAttribute('aria-invalid'), (v) => expect(v).toBe('true'));
    expect(await page.locator('#wh-filter-error').textContent()).toMatch(/^filter\.location\.country\[0\]\.prefx: unknown operator "prefx"/);
    expect(await filter.getAttribute('aria-describedby')).toBe('wh-filter-hint wh-filter-error');

    // The sample visit is from the United States: "anywhere else" would not match it ...
    await filter.fill('{"location": {"country": [{"anything-but": ["United States"]}]}}');
    await check.click();
    await expectEventually(() => result.textContent(), (v) => expect(v).toBe('The NEW_VISIT sample would not match'));
    expect(await filter.getAttribute('aria-invalid')).toBeNull();
    // ... and typing clears the previous answer, so it never describes another filter.
    await filter.fill('{"params": {"utm_source": ["newsletter"]}}');
    expect(await result.count()).toBe(0);
    await page.getByLabel('NEW_VISITOR').check();
    await check.click();
    await expectEventually(() => result.locator('li').allTextContents(), (v) => expect(v).toEqual(['The NEW_VISIT sample would match', 'The NEW_VISITOR sample would match']));

    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Filtered' }).waitFor();
    const shown = page.locator('dl.props dt', { hasText: 'Filter' }).locator('xpath=following-sibling::dd[1]');
    await expectEventually(() => shown.textContent(), (v) => expect(JSON.parse(v ?? '')).toEqual({ params: { utm_source: ['newsletter'] } }));
    const webhookId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    expect((await api(`/webhooks/${webhookId}`)).json).toMatchObject({ name: 'Filtered', filter: { params: { utm_source: ['newsletter'] } } });

    // Edit: the form shows the saved filter; emptying the field removes it (filter: null).
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Edit webhook' }).waitFor();
    await expectEventually(() => filter.inputValue(), (v) => expect(JSON.parse(v)).toEqual({ params: { utm_source: ['newsletter'] } }));
    await filter.fill('');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { level: 1, name: 'Filtered' }).waitFor();
    await expectEventually(() => shown.textContent(), (v) => expect(v).toMatch(/^none/));
    expect((await api(`/webhooks/${webhookId}`)).json).not.toHaveProperty('filter');
  });

  it("shows a paused webhook's health and its paused deliveries, readable at 375 px", async () => {
    const { page, accountId, open, createWebhook, shot } = await newTenant();
    const { id } = await createWebhook({ name: NAME, url: 'https://hooks.example.com/crm', eventTypes: ['NEW_VISIT'] });
    // The breaker as the delivery path stores it: open for a minute, the next probe in an hour.
    const now = Date.now();
    const since = new Date(now - 60_000).toISOString();
    const reason = '3 failed attempts in a row, the last: HTTP 503';
    expect(await main.stack.runtime.webhooks.setBreaker(accountId, id, { state: 'open', since, reason, probeAt: new Date(now + 3_600_000).toISOString(), probes: 1 })).toBe(true);
    const parkedReason = `parked: the webhook's breaker is open since ${since} (${reason}); sent once a probe finds the endpoint back`;
    await main.stack.runtime.deliveries.write({
      accountId,
      webhookId: id,
      deliveryId: deliveryIdFor(now - 30_000, 'visit_parked', id),
      eventId: 'visit_parked',
      eventType: 'NEW_VISIT',
      createdAt: new Date(now - 30_000).toISOString(),
      status: 'pending',
      payload: JSON.stringify(visitFixture),
      reason: parkedReason,
      parked: true,
      retryIndex: 0,
    });

    await open(`/settings/webhooks/${id}`);
    await page.getByRole('heading', { level: 1, name: NAME }).waitFor();
    const banner = page.getByRole('status').filter({ hasText: 'Deliveries paused' });
    await banner.waitFor();
    const text = (await banner.textContent()) ?? '';
    expect(text).toContain(`Deliveries paused: the endpoint failed (${reason}) since `);
    expect(text).toMatch(/— next test at [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2}:\d{2}\./);
    expect(await banner.locator('time').first().getAttribute('datetime')).toBe(since);

    const row = page.locator('table.deliveries tbody tr').first();
    await row.getByText('pending (paused)').waitFor();
    expect(await row.locator('td[data-label="Status"] .reason').textContent()).toBe(parkedReason);
    expect(await row.locator('td[data-label="Status"]').textContent()).not.toContain('next attempt');
    await shot('dashboard-health');

    await page.setViewportSize({ width: 375, height: 812 });
    await expectEventually(() => page.evaluate<number>(IN_PAGE.scrollWidth), (w) => expect(w).toBeLessThanOrEqual(375));
    await shot('dashboard-health-375');
  });

  it('lists the webhook with its URL, event types and status', async () => {
    const { page, open, row, createWebhook } = await newTenant();
    const receiver = await receivers.start();
    await createWebhook({ name: NAME, url: receiver.url, eventTypes: ['NEW_VISIT', 'NEW_VISITOR'] });
    await open('/settings/webhooks');
    await row(NAME).getByText('none yet').waitFor();
    const cells = await row(NAME).locator('th, td').allTextContents();
    expect(cells.slice(0, 5)).toEqual([NAME, receiver.url, 'NEW_VISIT, NEW_VISITOR', 'active', 'none yet']);
    expect(await page.getByText('No webhooks yet').count()).toBe(0);
  });

  it("shows the API's field error for a private-address URL next to the URL field", async () => {
    const strict = await startStack({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'false' });
    const { page } = await newTenant();
    try {
      await enterKey(page, strict.stack.url, strict.apiKey);
      await page.getByRole('link', { name: 'Create webhook' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Internal');
      await page.getByLabel('URL').fill('http://169.254.169.254/latest/meta-data');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      const error = page.locator('#wh-url-error');
      await error.waitFor();
      expect(await error.textContent()).toMatch(/not allowed/i);
      await expectEventually(() => page.getByLabel('URL').getAttribute('aria-invalid'), (v) => expect(v).toBe('true'));
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Create webhook');
    } finally {
      await strict.stack.close();
    }
  });

  it('switches the webhook off and on from the list', async () => {
    const { page, api, open, row, createWebhook } = await newTenant();
    const receiver = await receivers.start();
    const { id } = await createWebhook({ name: NAME, url: receiver.url, eventTypes: ['NEW_VISIT'] });
    await open('/settings/webhooks');
    const toggle = page.getByRole('switch', { name: `${NAME} enabled` });
    await expectEventually(() => toggle.getAttribute('aria-checked'), (v) => expect(v).toBe('true'));

    await toggle.click();
    await page.getByRole('status').getByText(`“${NAME}” disabled.`).waitFor();
    await expectEventually(() => toggle.getAttribute('aria-checked'), (v) => expect(v).toBe('false'));
    await row(NAME).locator('.badge-disabled').waitFor();
    expect(await row(NAME).locator('.badge-disabled').textContent()).toBe('disabled');
    expect((await api(`/webhooks/${id}`)).json).toMatchObject({ enabled: false, status: 'disabled' });

    await toggle.press('Space'); // keyboard works too
    await page.getByRole('status').getByText(`“${NAME}” enabled.`).waitFor();
    await expectEventually(() => toggle.getAttribute('aria-checked'), (v) => expect(v).toBe('true'));
    expect((await api(`/webhooks/${id}`)).json).toMatchObject({ enabled: true, status: 'active' });
  });

  it('sends a test event to the loopback receiver and shows the result and the delivery row', async () => {
    const { page, open, row, createWebhook, shot } = await newTenant();
    const receiver = await receivers.start();
    const { secret } = await createWebhook({
      name: NAME,
      url: receiver.url,
      eventTypes: ['NEW_VISIT', 'NEW_VISITOR'],
      headers: { Authorization: 'Bearer crm-token' },
    });
    await open('/settings/webhooks');
    await row(NAME).getByRole('link', { name: NAME, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: NAME }).waitFor();
    await page.getByLabel('Event type').selectOption('NEW_VISITOR');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByText(/Delivered: HTTP 200 in \d+ ms/).waitFor();

    expect(receiver.requests).toHaveLength(1);
    const received = receiver.requests[0]!;
    expect(received.headers['x-webhook-event']).toBe('NEW_VISITOR');
    expect(received.headers.authorization).toBe('Bearer crm-token');
    // The secret the API returned at creation verifies the delivery, as the snippet says.
    expect(new StandardWebhook(secret).verify(received.body, received.headers as Record<string, string>)).toMatchObject({ id: 'unique_visit_id' });

    const delivery = page.locator('table.deliveries tbody tr').first();
    await delivery.getByText('delivered').waitFor();
    const cells = await delivery.locator('td').allTextContents();
    expect(cells[1]).toMatch(/^NEW_VISITOR \(test\)webhook-id /);
    // The row names the delivery by the webhook-id header the receiver got: its log matches the row.
    expect(await delivery.locator('.webhook-id code').textContent()).toBe(received.headers['webhook-id']);
    expect(await page.locator('.test-result .webhook-id code').textContent()).toBe(received.headers['webhook-id']);
    expect(cells[2]).toBe('delivered');
    expect(cells[3]).toBe('200');
    expect(cells[4]).toMatch(/^\d+ ms$/);
    expect(await delivery.locator('td[data-label="Attempts"] summary').textContent()).toBe('1');
    await shot('dashboard-detail');
  });

  it('retries a failed delivery and recovers failed deliveries since a time', async () => {
    const { page, api, open, accountId, createWebhook } = await newTenant();
    const receiver = await receivers.start(respond(500, 'down for maintenance'));
    const { id } = await createWebhook({ name: NAME, url: receiver.url, eventTypes: ['NEW_VISIT', 'NEW_VISITOR'] });
    const out = main.stack.bus.handle(
      PUT_EVENTS_TARGET,
      JSON.stringify({ Entries: [{ Source: 'tracking', DetailType: 'NEW_VISIT', Detail: JSON.stringify({ accountId, data: { ...visitFixture, id: 'visit_browser' } }) }] }),
    );
    expect(JSON.parse(out.body)).toMatchObject({ FailedEntryCount: 0 });
    // First attempt and the one retry of the schedule both fail: the delivery ends failed.
    await eventually(
      () => api(`/webhooks/${id}/deliveries?status=failed`),
      (r) => (r.json.items as unknown[]).length === 1,
    );

    await open(`/settings/webhooks/${id}`);
    await page.getByRole('heading', { level: 1, name: NAME }).waitFor();
    const failed = page.locator('table.deliveries tbody tr', { hasText: 'failed' }).first();
    await failed.waitFor();
    expect(await failed.locator('td').nth(3).textContent()).toBe('500');
    expect(await failed.locator('td[data-label="Attempts"] summary').textContent()).toBe('2');

    receiver.behave(respond(200, 'ok'));
    await failed.getByRole('button', { name: /^Retry NEW_VISIT delivery/ }).click();
    await page.getByRole('status').getByText('Retry of the NEW_VISIT delivery queued.').waitFor();
    await eventually(
      () => api(`/webhooks/${id}/deliveries?status=delivered`),
      (r) => (r.json.items as { eventType: string }[]).some((d) => d.eventType === 'NEW_VISIT'),
    );
    await page.getByRole('region', { name: 'Deliveries' }).getByRole('button', { name: 'Refresh' }).click();
    const newVisit = page.locator('table.deliveries tbody tr').filter({ has: page.locator('code', { hasText: /^NEW_VISIT$/ }) });
    await newVisit.locator('.badge-delivered').waitFor();

    // Nothing failed is left, so recovering since 2020 re-queues nothing and says so.
    await page.getByLabel('Recover deliveries since').fill('2020-01-01T00:00');
    await page.getByRole('button', { name: 'Recover', exact: true }).click();
    await page.getByText('Nothing to recover: no failed or skipped deliveries since then.').waitFor();
  });

  it('reveals and rotates the signing secret; deliveries then carry both signatures', async () => {
    const { page, api, open, createWebhook } = await newTenant();
    const receiver = await receivers.start();
    const { id, secret } = await createWebhook({ name: NAME, url: receiver.url, eventTypes: ['NEW_VISIT', 'NEW_VISITOR'] });
    await open(`/settings/webhooks/${id}`);
    await page.getByRole('heading', { level: 1, name: NAME }).waitFor();

    await page.getByRole('button', { name: 'Reveal secret' }).click();
    await expectEventually(() => page.getByRole('textbox', { name: 'Signing secret', exact: true }).inputValue(), (v) => expect(v).toBe(secret));

    const rotate = page.getByRole('button', { name: 'Rotate secret…' });
    await rotate.click();
    const dialog = page.getByRole('dialog', { name: 'Rotate the signing secret?' });
    await dialog.waitFor();
    await expectFocus(page, { tag: 'button', text: 'Cancel' });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await expectFocus(page, { tag: 'button', text: 'Rotate secret…' });
    expect((await api(`/webhooks/${id}/secret`)).json.secret).toBe(secret);

    await rotate.click();
    await dialog.getByRole('button', { name: 'Rotate secret' }).click();
    const rotatedField = page.getByRole('textbox', { name: 'New signing secret', exact: true });
    await rotatedField.waitFor();
    const rotated = await rotatedField.inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await page.getByText(/The previous secret also signs until/).waitFor();
    expect((await api(`/webhooks/${id}/secret`)).json.secret).toBe(rotated);

    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByText(/Delivered: HTTP 200/).waitFor();
    expect(receiver.requests).toHaveLength(1);
    const received = receiver.requests[0]!;
    expect(String(received.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const key of [secret, rotated]) expect(() => new StandardWebhook(key).verify(received.body, received.headers as Record<string, string>)).not.toThrow();
  });

  it('charts the delivery statistics with a text alternative and a table, readable at 1280 px and 375 px', async () => {
    const { page, accountId, open, createWebhook, shot } = await newTenant();
    const receiver = await receivers.start();
    const { id } = await createWebhook({ name: NAME, url: receiver.url, eventTypes: ['NEW_VISIT'] });
    await publishVisits(main.stack.url, accountId, 4, `stats-${accountId}`);
    await eventually(() => receiver.requests, (r) => r.length === 4, 15_000, 'four deliveries');

    await page.setViewportSize({ width: 1280, height: 900 });
    await open(`/settings/webhooks/${id}`);
    const panel = page.getByRole('region', { name: 'Delivery statistics' });
    const summary = panel.locator('.stats-summary');
    // The counts are written when each delivery invocation ends: refresh until all four are in.
    await expectEventually(
      async () => {
        await panel.getByRole('button', { name: 'Refresh' }).click();
        return (await summary.textContent()) ?? '';
      },
      (text) => expect(text).toMatch(/^In the last 24 hours: 4 attempted, 4 delivered, 0 failed \(success rate 100 %\), 0 retries; latency p50 \d+ ms, p95 \d+ ms\.$/),
    );
    // Each chart is an image with a text alternative: its caption and a sentence on what it shows.
    const success = panel.getByRole('img', { name: /^Success rate Success rate per hour: 100 % overall, lowest 100 % at \d{2}:00\.$/ });
    const latencyChart = panel.getByRole('img', { name: /^Latency p50 p95 Latency per hour: p50 \d+ ms and p95 \d+ ms overall; slowest p95 \d+ ms at \d{2}:00\.$/ });
    await success.waitFor();
    await latencyChart.waitFor();
    expect(await success.locator('rect.bar.good').count()).toBe(1);
    expect(await success.locator('rect.bar.empty').count()).toBe(23);
    // The same numbers as a table, on demand.
    await panel.getByText('Show the numbers as a table').click();
    const rows = panel.locator('details.stats-table tbody tr');
    expect(await rows.count()).toBe(24);
    expect((await rows.last().locator('td').allTextContents()).slice(0, 6)).toEqual(['4', '4', '0', '0', '0', '100 %']);
    await shot('dashboard-stats-1280');

    await page.getByLabel('Window').selectOption('7d');
    await expectEventually(() => summary.textContent(), (text) => expect(text).toMatch(/^In the last 7 days: 4 attempted, 4 delivered/));
    expect(await rows.count()).toBe(7);

    await page.setViewportSize({ width: 375, height: 812 });
    await expectEventually(() => page.evaluate<number>(IN_PAGE.scrollWidth), (w) => expect(w).toBeLessThanOrEqual(375));
    const box = await panel.getByRole('img', { name: /^Success rate Success rate per day/ }).boundingBox();
    expect(box?.width).toBeGreaterThan(250);
    await shot('dashboard-stats-375');
  });

  it('shows the sample payload of each event type', async () => {
    const { page, open, createWebhook } = await newTenant();
    const { id } = await createWebhook({ name: NAME, url: 'https://hooks.example.com/crm', eventTypes: ['NEW_VISIT', 'NEW_VISITOR'] });
    await open(`/settings/webhooks/${id}`);
    await page.locator('details.sample summary', { hasText: 'NEW_VISITOR' }).click();
    const sample = page.getByRole('region', { name: 'Sample payloads' }).getByLabel('Sample NEW_VISITOR payload');
    await sample.waitFor();
    expect(JSON.parse((await sample.textContent()) ?? '')).toEqual(visitFixture);
  });

  it('edits the webhook with the same form, prefilled', async () => {
    const { page, api, open, createWebhook } = await newTenant();
    const { id } = await createWebhook({
      name: NAME,
      url: 'https://hooks.example.com/crm',
      eventTypes: ['NEW_VISIT', 'NEW_VISITOR'],
      headers: { Authorization: 'Bearer crm-token', 'X-Api-Version': '2' },
    });
    await open(`/settings/webhooks/${id}`);
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Edit webhook' }).waitFor();
    await expectEventually(() => page.getByLabel('Name', { exact: true }).inputValue(), (v) => expect(v).toBe(NAME));
    await expectEventually(() => page.getByLabel('Value of header 1').inputValue(), (v) => expect(v).toBe('Bearer crm-token'));
    await page.getByLabel('NEW_VISIT', { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Remove header 2' }).click();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { level: 1, name: NAME }).waitFor();
    expect((await api(`/webhooks/${id}`)).json).toMatchObject({ eventTypes: ['NEW_VISITOR'], headers: { Authorization: 'Bearer crm-token' } });
  });

  it('is readable at 375 px and usable from the keyboard', async () => {
    const { page, api, open, row, createWebhook, shot } = await newTenant();
    const receiver = await receivers.start();
    const { id } = await createWebhook({ name: NAME, url: receiver.url, eventTypes: ['NEW_VISIT', 'NEW_VISITOR'] });
    expect((await api(`/webhooks/${id}/test`, { method: 'POST', body: { eventType: 'NEW_VISIT' } })).status).toBe(200);
    await createWebhook({ name: 'Slack alerts', url: 'https://hooks.example.com/slack', eventTypes: ['NEW_VISITOR'], enabled: false });
    await open('/settings/webhooks');
    await row(NAME).getByText('delivered').waitFor(); // the last-delivery column has loaded
    await row('Slack alerts').waitFor();
    await shot('dashboard-list');
    await page.setViewportSize({ width: 375, height: 812 });
    await expectEventually(() => page.evaluate<number>(IN_PAGE.scrollWidth), (w) => expect(w).toBeLessThanOrEqual(375));
    await shot('dashboard-list-375');

    await page.getByRole('link', { name: 'Create webhook' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Create webhook' }).waitFor();
    await expectFocus(page, { tag: 'h1' });
    await page.keyboard.press('Tab');
    await expectFocus(page, { id: 'wh-name' });
    await expectEventually(() => page.evaluate<number>(IN_PAGE.scrollWidth), (w) => expect(w).toBeLessThanOrEqual(375));
  });

  it('clears a validation error as soon as its field is fixed; an error only the API can judge stays until its field changes', async () => {
    const strict = await startStack({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'false' });
    const { page } = await newTenant();
    try {
      await enterKey(page, strict.stack.url, strict.apiKey);
      await page.getByRole('link', { name: 'Create webhook' }).click();
      await page.getByLabel('URL').fill('ftp://example.com/hook');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await page.getByRole('heading', { name: 'Fix these 2 problems to continue' }).waitFor();

      await page.getByLabel('Name', { exact: true }).fill('Fixed');
      await page.getByRole('heading', { name: 'Fix this to continue' }).waitFor();
      await page.locator('#wh-name-error').waitFor({ state: 'detached' });
      expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBeNull();
      // Still wrong, differently: the message follows the value.
      await page.getByLabel('URL').fill('not-a-url');
      await expectEventually(() => page.locator('#wh-url-error').textContent(), (t) => expect(t).toMatch(/absolute URL/));
      await page.getByLabel('URL').fill('https://hooks.example.com/ok');
      await page.locator('.error-summary').waitFor({ state: 'detached' });
      expect(await page.getByLabel('URL').getAttribute('aria-invalid')).toBeNull();

      // The API refuses a private address: that error stays while the user edits other fields…
      await page.getByLabel('URL').fill('http://169.254.169.254/latest/meta-data');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await page.locator('#wh-url-error').waitFor();
      await page.getByLabel('Description').fill('edited');
      expect(await page.locator('#wh-url-error').textContent()).toMatch(/not allowed/i);
      // …and goes once the URL itself changes.
      await page.getByLabel('URL').fill('https://hooks.example.com/public');
      await page.locator('#wh-url-error').waitFor({ state: 'detached' });
      expect(await page.locator('.error-summary').count()).toBe(0);
    } finally {
      await strict.stack.close();
    }
  });

  it('hides custom header values on the webhook page and the edit form alike, until "Show values"', async () => {
    const { page, open, createWebhook } = await newTenant();
    const { id } = await createWebhook({ name: NAME, url: 'https://hooks.example.com/crm', eventTypes: ['NEW_VISIT'], headers: { Authorization: 'Bearer crm-token' } });
    await open(`/settings/webhooks/${id}`);
    await page.getByRole('heading', { level: 1, name: NAME }).waitFor();
    await page.getByText('Authorization', { exact: true }).waitFor();
    expect(await page.locator('main').textContent()).not.toContain('Bearer crm-token');
    await page.getByRole('button', { name: 'Show values' }).click();
    await page.getByText('Bearer crm-token', { exact: true }).waitFor();

    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    const value = page.getByLabel('Value of header 1');
    await expectEventually(() => value.inputValue(), (v) => expect(v).toBe('Bearer crm-token'));
    expect(await value.getAttribute('type')).toBe('password');
    await page.getByRole('button', { name: 'Show values' }).click();
    await expectEventually(() => page.getByLabel('Value of header 1').getAttribute('type'), (t) => expect(t).toBe('text'));
  });

  it('keeps each URL on one line at 1280 px and shows every time in one format', async () => {
    const { page, api, open, row, createWebhook } = await newTenant();
    const receiver = await receivers.start();
    const long = `${receiver.url}/integrations/visit-events/customer-relationship-management/v2/webhook-receiver`;
    const { id } = await createWebhook({ name: NAME, url: long, eventTypes: ['NEW_VISIT', 'NEW_VISITOR'] });
    await createWebhook({ name: 'Short', url: receiver.url, eventTypes: ['NEW_VISIT'] });
    expect((await api(`/webhooks/${id}/test`, { method: 'POST', body: { eventType: 'NEW_VISIT' } })).status).toBe(200);
    await page.setViewportSize({ width: 1280, height: 900 });
    await open('/settings/webhooks');
    await row(NAME).getByText('delivered').waitFor();
    const lines = "(name) => { const el = [...document.querySelectorAll('tr')].find((r) => r.textContent.includes(name)).querySelector('td.url code'); return Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)); }";
    for (const name of [NAME, 'Short']) expect(await page.evaluate(`(${lines})(${JSON.stringify(name)})`)).toBe(1);
    expect(await row(NAME).locator('td.url code').getAttribute('title')).toBe(long);

    const FORMAT = /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2}:\d{2}$/;
    const times = () => page.locator('time').allTextContents();
    expect((await times()).length).toBeGreaterThan(0);
    for (const text of await times()) expect(text).toMatch(FORMAT);
    await open(`/settings/webhooks/${id}`);
    await page.locator('table.deliveries tbody tr').first().waitFor();
    await page.locator('table.deliveries summary').first().click();
    const detail = await times();
    expect(detail.length).toBeGreaterThanOrEqual(3); // created, the delivery, its attempt
    for (const text of detail) expect(text).toMatch(FORMAT);
  });

  it('deletes the webhook only after confirmation', async () => {
    const { page, api, open, row, createWebhook } = await newTenant();
    const { id } = await createWebhook({ name: NAME, url: 'https://hooks.example.com/crm', eventTypes: ['NEW_VISIT'] });
    await createWebhook({ name: 'Slack alerts', url: 'https://hooks.example.com/slack', eventTypes: ['NEW_VISITOR'], enabled: false });
    await open('/settings/webhooks');
    await row(NAME).waitFor();
    await page.getByRole('button', { name: `Delete ${NAME}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this webhook?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await api(`/webhooks/${id}`)).status).toBe(200);

    await page.getByRole('button', { name: `Delete ${NAME}` }).click();
    await dialog.getByRole('button', { name: 'Delete webhook' }).click();
    await page.getByRole('status').getByText(`“${NAME}” deleted.`).waitFor();
    await row(NAME).waitFor({ state: 'detached' });
    await expectEventually(() => page.getByRole('link', { name: 'Slack alerts', exact: true }).count(), (n) => expect(n).toBe(1));
    expect((await api(`/webhooks/${id}`)).status).toBe(404);
  });
});
