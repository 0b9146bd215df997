/**
 * Runs the customer guide's receiver snippets (docs/snippets/, included verbatim in
 * docs/webhooks-guide.md) against real deliveries of the local runtime, so the guide cannot drift
 * from what the service sends. `.ci/snippets.sh` installs each language's Standard Webhooks
 * library from its registry and calls this:
 *
 *   tsx scripts/check-snippets.ts --snippet node="node docs/snippets/verify.mjs" \
 *     --snippet python=".venv/bin/python docs/snippets/verify.py" --snippet go=/tmp/verify-go \
 *     [--json test-results/jest-snippets.json]
 *
 * For each snippet: starts it as a receiver (WEBHOOK_SECRET, PORT=0), creates a webhook for it
 * through the API, publishes a NEW_VISIT and a NEW_VISITOR event on the local bus, sends a test
 * event, rotates the secret and publishes again (the snippet still holds the old secret: the
 * rotation's second signature must verify), then sends it a duplicate, a tampered and a stale
 * request directly. Prints every line the snippets print and one line per check; exits 1 if any
 * check failed. `--json` writes the counts in jest's JSON shape, so `.ci/run` counts them.
 */
import '../local/sdk-notice';
import '../local/local-metrics';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishVisitEvent } from '../lambdas/shared/adapters/eventbridge-publisher';
import { DEFAULTS, type EventType } from '../lambdas/shared/contract';
import { secretKey, signatureHeader } from '../lambdas/shared/domain/signing';
import { SAMPLE_PAYLOADS } from '../lambdas/shared/sample-payloads';
import { createLocalApiRoutes, ensureDemoKey } from '../local/api-routes';
import { LOCAL_AWS_CONFIG } from '../local/dynamo';
import { type LocalStack, startLocalStack } from '../local/stack';

const WAIT_MS = 20_000;

interface Snippet {
  readonly lang: string;
  readonly command: readonly string[];
  process?: ChildProcess;
  readonly lines: string[];
  url?: string;
  webhookId?: string;
  secret?: string;
}

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

const checks: Check[] = [];

function record(name: string, ok: boolean, detail = ''): void {
  checks.push({ name, ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = WAIT_MS): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A port free right now on 127.0.0.1 (the snippet binds it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function startSnippet(snippet: Snippet, secret: string, port: number): void {
  const [cmd = '', ...args] = snippet.command;
  const child = spawn(cmd, args, {
    env: { ...process.env, WEBHOOK_SECRET: secret, PORT: String(port), PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  snippet.process = child;
  const onData = (stream: string) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      snippet.lines.push(line);
      console.log(`  [${snippet.lang}${stream}] ${line}`);
      const m = /^listening on (http:\/\/\S+)$/.exec(line.trim());
      if (m) snippet.url = m[1];
    }
  };
  child.stdout?.on('data', onData(''));
  child.stderr?.on('data', onData(' stderr'));
  child.on('exit', (code, signal) => {
    if (!stopping) console.log(`  [${snippet.lang}] exited (${code ?? signal})`);
  });
}

let stopping = false;

async function api<T>(base: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}

interface DeliveryJson {
  id: string;
  eventType: EventType;
  status: string;
  attempts: Array<{ statusCode?: number; ok: boolean; trigger: string }>;
}

/** Sends a request to a snippet directly, signed with `secret` over `signedBody`, carrying `body`. */
async function sendDirect(url: string, opts: { id: string; secret: string; body: string; signedBody?: string; timestamp?: number }): Promise<number> {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': opts.id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signatureHeader([secretKey(opts.secret)], opts.id, ts, opts.signedBody ?? opts.body),
      'x-webhook-event': 'NEW_VISIT',
    },
    body: opts.body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { snippet: { type: 'string', multiple: true, default: [] }, json: { type: 'string' } } });
  const snippets: Snippet[] = (values.snippet ?? []).map((spec) => {
    const eq = spec.indexOf('=');
    if (eq < 1) throw new Error(`--snippet wants lang=command, got ${spec}`);
    return { lang: spec.slice(0, eq), command: spec.slice(eq + 1).split(' ').filter(Boolean), lines: [] };
  });
  if (snippets.length === 0) throw new Error('no --snippet given');

  const stackLog: string[] = [];
  const stack: LocalStack = await startLocalStack({
    port: 0,
    dataDir: ':memory:',
    // One account makes a quick series of calls (create, test sends, rotation): above the default
    // per-account API rate, which is not what this check is about.
    env: { ...process.env, WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOKS_API_ACCOUNT_RATE_LIMIT: '1000' },
    print: (line) => stackLog.push(line),
    routes: (core) => createLocalApiRoutes(core),
  });
  const started = Date.now();
  try {
    const demo = await ensureDemoKey(stack);
    const key = demo.apiKey ?? '';
    const base = `${stack.url}/v1`;
    const bus = new EventBridgeClient({ ...LOCAL_AWS_CONFIG, endpoint: stack.url });
    console.log(`local runtime on ${stack.url} (in memory)`);

    // 1. Each snippet gets a webhook of its own and starts with the secret the create call shows.
    for (const s of snippets) {
      const port = await freePort();
      const created = await api<{ id: string; secret: string }>(base, key, 'POST', '/webhooks', {
        name: `guide snippet (${s.lang})`,
        url: `http://127.0.0.1:${port}/webhook`,
        eventTypes: ['NEW_VISIT', 'NEW_VISITOR'],
      });
      if (created.status !== 201) throw new Error(`create webhook: HTTP ${created.status} ${JSON.stringify(created.json)}`);
      s.webhookId = created.json.id;
      s.secret = created.json.secret;
      startSnippet(s, s.secret, port);
    }
    for (const s of snippets) {
      try {
        const url = await waitFor(`${s.lang} to listen`, () => s.url, 60_000);
        record(`${s.lang}: starts and listens at its webhook's URL`, true, url);
      } catch (err) {
        record(`${s.lang}: starts and listens at its webhook's URL`, false, err instanceof Error ? err.message : String(err));
      }
    }
    const live = snippets.filter((s) => s.url);

    // 2. Real deliveries: one event of each type through the bus.
    for (const eventType of ['NEW_VISIT', 'NEW_VISITOR'] as const) {
      await publishVisitEvent(bus, { eventType, accountId: demo.accountId, data: { ...SAMPLE_PAYLOADS[eventType] } }, { eventBusName: 'default' });
    }
    const deliveredOf = async (s: Snippet, count: number) =>
      waitFor(`${count} delivered deliveries to ${s.lang}`, async () => {
        const page = await api<{ items: DeliveryJson[] }>(base, key, 'GET', `/webhooks/${s.webhookId}/deliveries?limit=100`);
        const items = page.json.items.filter((d) => d.attempts.some((a) => a.trigger !== 'test'));
        return items.length >= count && items.every((d) => d.status === 'delivered' || d.status === 'failed') ? items : undefined;
      });
    for (const s of live) {
      try {
        const deliveries = await deliveredOf(s, 2);
        for (const d of deliveries) {
          const line = `verified ${d.eventType} ${d.id} visit ${SAMPLE_PAYLOADS[d.eventType].id}`;
          record(`${s.lang}: verifies a ${d.eventType} delivery and answers 204`, d.status === 'delivered' && s.lines.includes(line), `${d.id} ${d.status}, HTTP ${d.attempts.at(-1)?.statusCode ?? '-'}`);
        }
      } catch (err) {
        record(`${s.lang}: verifies deliveries of both event types`, false, err instanceof Error ? err.message : String(err));
      }
    }

    // 3. A test send (the dashboard's "Send test").
    for (const s of live) {
      const res = await api<{ deliveryId: string; status: string; statusCode?: number }>(base, key, 'POST', `/webhooks/${s.webhookId}/test`, { eventType: 'NEW_VISITOR' });
      const ok = res.status === 200 && res.json.status === 'delivered' && s.lines.includes(`verified NEW_VISITOR ${res.json.deliveryId} visit unique_visit_id`);
      record(`${s.lang}: verifies a test send`, ok, `${res.json.deliveryId} ${res.json.status}, HTTP ${res.json.statusCode ?? '-'}`);
    }

    // 4. Rotation: the snippet keeps the old secret; the previous secret signs for 24 h, so it still verifies.
    for (const s of live) {
      const rotated = await api<{ secret: string }>(base, key, 'POST', `/webhooks/${s.webhookId}/secret/rotate`);
      if (rotated.status !== 200) record(`${s.lang}: rotate the secret`, false, `HTTP ${rotated.status}`);
    }
    // The delivery path caches an account's webhooks for 10 s: wait until it signs with both secrets.
    await new Promise((r) => setTimeout(r, DEFAULTS.webhookCacheTtlMs + 500));
    await publishVisitEvent(bus, { eventType: 'NEW_VISIT', accountId: demo.accountId, data: { ...SAMPLE_PAYLOADS.NEW_VISIT, id: 'visit_after_rotation' } }, { eventBusName: 'default' });
    for (const s of live) {
      try {
        const deliveries = await deliveredOf(s, 3);
        const after = deliveries.find((d) => !s.lines.some((l) => l.includes(d.id) && l.includes('unique_visit_id')) && d.eventType === 'NEW_VISIT');
        const ok = after?.status === 'delivered' && s.lines.includes(`verified NEW_VISIT ${after.id} visit visit_after_rotation`);
        record(`${s.lang}: still verifies with the old secret during a rotation (two signatures)`, ok, after ? `${after.id} ${after.status}` : 'no delivery');
      } catch (err) {
        record(`${s.lang}: still verifies during a rotation`, false, err instanceof Error ? err.message : String(err));
      }
    }

    // 5. Directly: a duplicate webhook-id, a tampered body, a stale timestamp, a wrong secret.
    for (const s of live) {
      const url = s.url ?? '';
      const secret = s.secret ?? '';
      const body = JSON.stringify({ ...SAMPLE_PAYLOADS.NEW_VISIT, id: 'direct' });
      const id = 'msg_2KWPBGLLAFXDPX2AI54PPJ85F4';
      const first = await sendDirect(url, { id, secret, body });
      const again = await sendDirect(url, { id, secret, body });
      const duplicateLine = `duplicate ${id}: already handled`;
      // A line may reach us a moment after the answer (separate pipes).
      await waitFor(`${s.lang} to print`, () => (s.lines.includes(duplicateLine) ? true : undefined), 5_000).catch(() => undefined);
      const handled = s.lines.filter((l) => l === `verified NEW_VISIT ${id} visit direct`).length;
      record(`${s.lang}: answers a duplicate webhook-id 204 without handling it again`, first === 204 && again === 204 && handled === 1 && s.lines.includes(duplicateLine), `HTTP ${first}, then ${again}`);
      const tampered = await sendDirect(url, { id: 'msg_TAMPERED', secret, body: body.replace('direct', 'forged'), signedBody: body });
      record(`${s.lang}: refuses a tampered body (400)`, tampered === 400, `HTTP ${tampered}`);
      const stale = await sendDirect(url, { id: 'msg_STALE', secret, body, timestamp: Math.floor(Date.now() / 1000) - 600 });
      record(`${s.lang}: refuses a timestamp 10 minutes old (400)`, stale === 400, `HTTP ${stale}`);
      const wrong = await sendDirect(url, { id: 'msg_WRONGKEY', secret: 'whsec_' + Buffer.alloc(32, 7).toString('base64'), body });
      record(`${s.lang}: refuses a signature by another secret (400)`, wrong === 400, `HTTP ${wrong}`);
    }
  } catch (err) {
    record('snippet run', false, err instanceof Error ? err.message : String(err));
  } finally {
    stopping = true;
    for (const s of snippets) s.process?.kill('SIGTERM');
    await stack.close();
  }
  const failed = checks.filter((c) => !c.ok);
  if (failed.length > 0) {
    console.log('local runtime log (last 40 lines):');
    for (const line of stackLog.slice(-40)) console.log(`  ${line}`);
  }
  console.log(`snippets: ${checks.length - failed.length} passed, ${failed.length} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(
      values.json,
      JSON.stringify({
        numPassedTests: checks.length - failed.length,
        numFailedTests: failed.length,
        numTotalTests: checks.length,
        success: failed.length === 0,
        testResults: [{ name: 'docs/snippets', assertionResults: checks.map((c) => ({ title: c.name, status: c.ok ? 'passed' : 'failed', failureMessages: c.ok ? [] : [c.detail] })) }],
      }),
    );
  }
  process.exitCode = failed.length > 0 ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
