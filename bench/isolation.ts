/**
 * Isolation: do one customer's broken endpoints slow down the other customers?
 *
 * The local runtime (`startLocalStack`, in-memory data) runs in its own process, so the code
 * under test has its own event loop. This process is the customers' side: it publishes events
 * with the real EventBridge client (`publishVisitEvent`, as `npm run send-event` does) on the
 * local bus, and hosts every receiver on a loopback port of its own (port 0). An event's
 * latency is from just before its `PutEvents` call to the end of its request body at the
 * receiver, both read from this process's clock.
 *
 * Scenarios, each on a fresh stack and fresh receivers, with the same healthy load:
 * - `alone`: `healthyAccounts` accounts, one webhook each to its own receiver (200 at once),
 *   `rate` events/s in total, round robin over the accounts, open loop on a fixed schedule;
 * - `neighbours`: the same, plus one account per broken endpoint kind (hang: accepts TCP and
 *   never answers; trickle: headers, then a byte a second, never ends; slow: 200 after 9 s;
 *   500 at once), `neighbourRate` events/s between them;
 * - `same-account`: the same healthy load, and the first healthy account also has
 *   `sameAccountHooks` webhooks to one hanging endpoint (its own healthy webhook still counts).
 *
 * Before the measured load, a warm-up account with one webhook per healthy receiver gets a few
 * events (every receiver connection opened, the handlers' code paths run once); none of the
 * measured accounts is touched by it. After the last publish the bench waits for the healthy
 * events up to `graceMs`; those not arrived by then are "lost for now" (they may still come:
 * nothing is dropped by the bench), and a percentile that falls on or above one of them is a
 * lower bound ("≥"), computed with each missing event's latency taken as the time it had been
 * waiting when the bench stopped looking.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishVisitEvent } from '../lambdas/shared/adapters/eventbridge-publisher';
import { DEFAULTS, ENV } from '../lambdas/shared/contract';
import { forkChild } from './ipc';
import type { IsolationQueueDepths, IsolationStackReady, IsolationWebhookSpec } from './isolation-stack-child';
import { percentile } from './stats';

export type NeighbourKind = 'hang' | 'trickle' | 'slow' | 'error500';
export const NEIGHBOUR_KINDS: readonly NeighbourKind[] = ['hang', 'trickle', 'slow', 'error500'];
export const NEIGHBOUR_LABELS: Record<NeighbourKind, string> = {
  hang: 'hang (accepts, never answers)',
  trickle: 'trickle (headers, then 1 byte/s)',
  slow: '200 after 9 s',
  error500: '500 at once',
};
const SLOW_ANSWER_MS = 9_000;

export type ScenarioName = 'alone' | 'neighbours' | 'same-account';

export interface IsolationOptions {
  /** The built isolation-stack-child script. */
  readonly script: string;
  readonly healthyAccounts: number;
  /** Healthy events per second, all accounts together. */
  readonly rate: number;
  /** Neighbour events per second, all neighbour accounts together. */
  readonly neighbourRate: number;
  readonly durationMs: number;
  /** How long to wait for healthy events after the last publish. */
  readonly graceMs: number;
  /** Extra webhooks of the first healthy account to a hanging endpoint (same-account scenario). */
  readonly sameAccountHooks: number;
  readonly payload: Record<string, unknown>;
  readonly log: (line: string) => void;
  /** The rate-limited webhook: its `rateLimit`, and events offered per second (above it). */
  readonly rateLimit: number;
  readonly rateLimitOffered: number;
}

/** A webhook with a rate limit, offered more events than it allows. */
export interface RateLimitResult {
  readonly limit: number;
  readonly offered: number;
  readonly published: number;
  readonly delivered: number;
  /** Deliveries a second over the publishing window (the limit holds when this is at most `limit`). */
  readonly achievedWhilePublishing: number;
  /** The most deliveries in any one wall-clock second. */
  readonly maxInOneSecond: number;
  /** Seconds from the first publish until the last delivery. */
  readonly drainedAfterSeconds: number;
}

/** A latency percentile in ms; `lowerBound` when healthy events still missing rank at or below it. */
export interface Figure {
  readonly ms: number;
  readonly lowerBound: boolean;
}

export interface LatencyGroup {
  /** Healthy events published (PutEvents accepted). */
  readonly published: number;
  /** Of those, received within the grace period. */
  readonly arrived: number;
  /** Published and not received `graceMs` after the last publish. */
  readonly lostForNow: number;
  readonly p50: Figure;
  readonly p95: Figure;
  readonly p99: Figure;
  readonly max: Figure;
}

export interface ScenarioResult {
  readonly name: ScenarioName;
  /** Every healthy webhook's events. */
  readonly healthy: LatencyGroup;
  /** The healthy accounts other than the first (the one that has extra webhooks in `same-account`). */
  readonly otherAccounts: LatencyGroup;
  /** The first healthy account's own healthy webhook. */
  readonly firstAccount: LatencyGroup;
  readonly healthyRateAchieved: number;
  readonly neighbourEventsPublished: number;
  readonly publishErrors: number;
  /** PutEvents round trip as the publisher saw it, ms. */
  readonly putEventsP99Ms: number;
  /** Requests (or, for `hang`, connections) each broken endpoint got. */
  readonly neighbourRequests: Partial<Record<NeighbourKind | 'sameAccountHang', number>>;
  /** Queue depths in the stack right after the last publish. */
  readonly queuesAtLastPublish: IsolationQueueDepths;
  /** How long the bench waited for stragglers after the last publish. */
  readonly waitedMs: number;
  readonly seconds: number;
}

export interface IsolationFigures {
  readonly healthyAccounts: number;
  readonly rate: number;
  readonly neighbourRate: number;
  readonly durationSeconds: number;
  readonly graceSeconds: number;
  readonly sameAccountHooks: number;
  readonly deliveryTimeoutMs: number;
  readonly scenarios: ScenarioResult[];
  /** with-neighbours / alone, for p50 and p99 (lower bounds when the with-neighbours figure is). */
  readonly ratios: Record<'neighbours' | 'sameAccountOthers' | 'sameAccountOwn', { readonly p50: Figure; readonly p99: Figure }>;
  readonly rateLimited: RateLimitResult;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The loopback endpoints of one scenario; `close` ends every socket and timer they hold. */
class Endpoints {
  private readonly httpServers: Server[] = [];
  private readonly tcpServers: TcpServer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Answers 200 at once; `onBody` gets each body's visit id and this process's receipt time. */
  healthy(onBody: (id: string | undefined, at: number) => void): Promise<number> {
    return this.http((req, res) =>
      readBody(req, (body) => {
        const at = performance.now();
        let id: string | undefined;
        try {
          id = (JSON.parse(body.toString('utf8')) as { id?: string }).id;
        } catch {
          id = undefined;
        }
        onBody(id, at);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      }),
    );
  }

  /** Accepts connections and reads what comes, never writes a byte. */
  async hang(onConnection: () => void): Promise<number> {
    const server = createTcpServer((socket) => {
      onConnection();
      this.track(socket);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
    });
    this.tcpServers.push(server);
    return listen(server);
  }

  /** Status line and headers at once, then one body byte a second, never the end. */
  trickle(onRequest: () => void): Promise<number> {
    return this.http((req, res) =>
      readBody(req, () => {
        onRequest();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.flushHeaders();
        const timer = setInterval(() => res.write('.'), 1000);
        this.timers.add(timer);
        res.on('close', () => {
          clearInterval(timer);
          this.timers.delete(timer);
        });
      }),
    );
  }

  /** 200 after `SLOW_ANSWER_MS`. */
  slow(onRequest: () => void): Promise<number> {
    return this.http((req, res) =>
      readBody(req, () => {
        onRequest();
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!res.destroyed) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        }, SLOW_ANSWER_MS);
        this.timers.add(timer);
      }),
    );
  }

  error500(onRequest: () => void): Promise<number> {
    return this.http((req, res) =>
      readBody(req, () => {
        onRequest();
        res.writeHead(500, { 'content-type': 'text/plain' }).end('boom');
      }),
    );
  }

  /** Stops listening and destroys every connection (hanging ones included) and timer. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closed = [...this.httpServers, ...this.tcpServers].map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const s of this.httpServers) s.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all(closed);
    this.httpServers.length = 0;
    this.tcpServers.length = 0;
  }

  private async http(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
    const server = createHttpServer(handler);
    server.keepAliveTimeout = 65_000;
    server.on('connection', (s: Socket) => this.track(s));
    this.httpServers.push(server);
    return listen(server);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

function readBody(req: IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => done(Buffer.concat(chunks)));
  req.on('error', () => undefined);
}

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

interface HealthyEvent {
  readonly id: string;
  readonly account: number;
  sentAt: number;
  published: boolean;
}

/** Percentile by nearest rank over every published event; missing ones count as "waited so far" and make the figure a lower bound. */
function group(events: readonly HealthyEvent[], receipts: ReadonlyMap<string, number>, stoppedAt: number): LatencyGroup {
  const values = events
    .filter((e) => e.published)
    .map((e) => {
      const at = receipts.get(e.id);
      return at === undefined ? { ms: stoppedAt - e.sentAt, missing: true } : { ms: at - e.sentAt, missing: false };
    })
    .sort((a, b) => a.ms - b.ms);
  const figure = (p: number): Figure => {
    if (values.length === 0) return { ms: NaN, lowerBound: false };
    const rank = Math.min(values.length, Math.max(1, Math.ceil((p / 100) * values.length)));
    return { ms: (values[rank - 1] as { ms: number }).ms, lowerBound: values.slice(0, rank).some((v) => v.missing) };
  };
  const arrived = values.filter((v) => !v.missing).length;
  return { published: values.length, arrived, lostForNow: values.length - arrived, p50: figure(50), p95: figure(95), p99: figure(99), max: figure(100) };
}

/** with / alone: a lower bound when the with-load figure is one; unknown (NaN) when the alone figure is. */
function ratio(withLoad: Figure, alone: Figure): Figure {
  if (alone.lowerBound) return { ms: NaN, lowerBound: false };
  return { ms: withLoad.ms / alone.ms, lowerBound: withLoad.lowerBound };
}

async function runScenario(name: ScenarioName, o: IsolationOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const endpoints = new Endpoints();
  const receipts = new Map<string, number>();
  let warmReceipts = 0;
  const neighbourRequests: Partial<Record<NeighbourKind | 'sameAccountHang', number>> = {};
  const count = (key: NeighbourKind | 'sameAccountHang') => () => {
    neighbourRequests[key] = (neighbourRequests[key] ?? 0) + 1;
  };
  let client: EventBridgeClient | undefined;
  const stack = await forkChild<IsolationStackReady>(o.script, {
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  try {
    const webhooks: IsolationWebhookSpec[] = [];
    const healthyAccount = (i: number) => `acct_healthy_${i}`;
    for (let i = 0; i < o.healthyAccounts; i++) {
      const port = await endpoints.healthy((id, at) => {
        if (id === undefined) return;
        if (id.startsWith('warm-')) warmReceipts++;
        else if (!receipts.has(id)) receipts.set(id, at);
      });
      webhooks.push({ accountId: healthyAccount(i), webhookId: `wh_healthy_${i}`, url: `http://127.0.0.1:${port}/hook` });
      webhooks.push({ accountId: 'acct_warmup', webhookId: `wh_warmup_${i}`, url: `http://127.0.0.1:${port}/warmup` });
    }
    const neighbourAccount = (kind: NeighbourKind) => `acct_neighbour_${kind}`;
    if (name === 'neighbours') {
      for (const kind of NEIGHBOUR_KINDS) {
        const port = await endpoints[kind](count(kind));
        webhooks.push({ accountId: neighbourAccount(kind), webhookId: `wh_neighbour_${kind}`, url: `http://127.0.0.1:${port}/hook` });
      }
    }
    if (name === 'same-account') {
      const port = await endpoints.hang(count('sameAccountHang'));
      for (let k = 0; k < o.sameAccountHooks; k++) {
        webhooks.push({ accountId: healthyAccount(0), webhookId: `wh_same_account_hang_${k}`, url: `http://127.0.0.1:${port}/hook/${k}` });
      }
    }
    await stack.request('webhooks', webhooks);
    client = new EventBridgeClient({ region: 'us-east-1', endpoint: stack.ready.url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const publish = (accountId: string, id: string) => publishVisitEvent(client as EventBridgeClient, { eventType: 'NEW_VISIT', accountId, data: { ...o.payload, id } }, { eventBusName: 'default' });

    // Warm-up: the warm-up account fans out to every healthy receiver; no measured account is touched.
    const warmEvents = 10;
    for (let i = 0; i < warmEvents; i++) {
      await publish('acct_warmup', `warm-${i}`);
      await sleep(50);
    }
    for (let waited = 0; warmReceipts < warmEvents * o.healthyAccounts && waited < 15_000; waited += 20) await sleep(20);
    if (warmReceipts < warmEvents * o.healthyAccounts) throw new Error(`isolation ${name}: warm-up incomplete (${warmReceipts}/${warmEvents * o.healthyAccounts} receipts)`);

    // The measured load: one schedule of healthy and neighbour events, open loop (no send waits for an earlier one).
    const healthyCount = Math.round((o.rate * o.durationMs) / 1000);
    const neighbourCount = name === 'neighbours' ? Math.round((o.neighbourRate * o.durationMs) / 1000) : 0;
    const events: HealthyEvent[] = [];
    type Slot = { readonly due: number; readonly healthy?: HealthyEvent; readonly neighbour?: NeighbourKind; readonly index: number };
    const slots: Slot[] = [];
    for (let i = 0; i < healthyCount; i++) {
      const e: HealthyEvent = { id: `iso-${name}-${i}`, account: i % o.healthyAccounts, sentAt: NaN, published: false };
      events.push(e);
      slots.push({ due: (i * 1000) / o.rate, healthy: e, index: i });
    }
    for (let j = 0; j < neighbourCount; j++) {
      slots.push({ due: ((j + 0.5) * 1000) / o.neighbourRate, neighbour: NEIGHBOUR_KINDS[j % NEIGHBOUR_KINDS.length] as NeighbourKind, index: j });
    }
    slots.sort((a, b) => a.due - b.due);
    const inFlight = new Set<Promise<unknown>>();
    const putMs: number[] = [];
    let publishErrors = 0;
    let neighbourPublished = 0;
    const start = performance.now();
    for (const slot of slots) {
      const wait = start + slot.due - performance.now();
      if (wait > 1) await sleep(wait);
      const t0 = performance.now();
      let p: Promise<unknown>;
      if (slot.healthy) {
        const e = slot.healthy;
        e.sentAt = t0;
        p = publish(healthyAccount(e.account), e.id).then(() => {
          e.published = true;
        });
      } else {
        p = publish(neighbourAccount(slot.neighbour as NeighbourKind), `nb-${name}-${slot.index}`).then(() => {
          neighbourPublished++;
        });
      }
      const tracked: Promise<unknown> = p
        .then(
          () => putMs.push(performance.now() - t0),
          () => publishErrors++,
        )
        .finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    const lastPublish = performance.now();
    const healthyRateAchieved = healthyCount / ((lastPublish - start) / 1000 || 1);
    await Promise.all(inFlight);
    const queuesAtLastPublish = await stack.request<IsolationQueueDepths>('queues');

    // Stragglers: wait for every published healthy event, at most graceMs after the last publish.
    while (performance.now() - lastPublish < o.graceMs && events.some((e) => e.published && !receipts.has(e.id))) await sleep(20);
    const stoppedAt = performance.now();
    const first = events.filter((e) => e.account === 0);
    const others = events.filter((e) => e.account !== 0);
    return {
      name,
      healthy: group(events, receipts, stoppedAt),
      otherAccounts: group(others, receipts, stoppedAt),
      firstAccount: group(first, receipts, stoppedAt),
      healthyRateAchieved,
      neighbourEventsPublished: neighbourPublished,
      publishErrors,
      putEventsP99Ms: percentile(putMs, 99),
      neighbourRequests,
      queuesAtLastPublish,
      waitedMs: stoppedAt - lastPublish,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    // Broken endpoints first: their sockets are destroyed, so the stack's in-flight attempts end now
    // (not at the 10 s timeout) and its consumers can stop; then the stack, the client, the rest.
    await endpoints.close();
    await stack.close();
    client?.destroy();
  }
}

/** One webhook with `rateLimit`, offered `rateLimitOffered` events a second for the duration: what rate does it get? */
export async function runRateLimit(o: IsolationOptions): Promise<RateLimitResult> {
  const endpoints = new Endpoints();
  const receipts: number[] = [];
  let client: EventBridgeClient | undefined;
  const stack = await forkChild<IsolationStackReady>(o.script, {
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  try {
    const port = await endpoints.healthy((id, at) => {
      if (id !== undefined) receipts.push(at);
    });
    await stack.request('webhooks', [{ accountId: 'acct_rate_limited', webhookId: 'wh_rate_limited', url: `http://127.0.0.1:${port}/hook`, rateLimit: o.rateLimit }]);
    client = new EventBridgeClient({ region: 'us-east-1', endpoint: stack.ready.url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const count = Math.round((o.rateLimitOffered * o.durationMs) / 1000);
    const start = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const wait = start + (i * 1000) / o.rateLimitOffered - performance.now();
      if (wait > 1) await sleep(wait);
      sends.push(publishVisitEvent(client, { eventType: 'NEW_VISIT', accountId: 'acct_rate_limited', data: { ...o.payload, id: `rl-${i}` } }, { eventBusName: 'default' }));
    }
    const lastPublish = performance.now();
    await Promise.allSettled(sends);
    // Everything beyond the limit waits in the slow lane; give it the time the limit needs, and a margin.
    const needed = (count / o.rateLimit) * 1000 + o.graceMs;
    while (receipts.length < count && performance.now() - start < needed) await sleep(50);
    const perSecond = new Map<number, number>();
    for (const at of receipts) perSecond.set(Math.floor((at - start) / 1000), (perSecond.get(Math.floor((at - start) / 1000)) ?? 0) + 1);
    const whilePublishing = receipts.filter((at) => at <= lastPublish).length;
    return {
      limit: o.rateLimit,
      offered: o.rateLimitOffered,
      published: count,
      delivered: receipts.length,
      achievedWhilePublishing: whilePublishing / ((lastPublish - start) / 1000 || 1),
      maxInOneSecond: Math.max(0, ...perSecond.values()),
      drainedAfterSeconds: receipts.length > 0 ? (Math.max(...receipts) - start) / 1000 : NaN,
    };
  } finally {
    await endpoints.close();
    await stack.close();
    client?.destroy();
  }
}

export async function runIsolation(o: IsolationOptions): Promise<IsolationFigures> {
  if (!Number.isInteger(o.healthyAccounts) || o.healthyAccounts < 2) throw new Error('isolation: at least 2 healthy accounts');
  if (!(o.rate > 0) || !(o.neighbourRate > 0) || !(o.durationMs > 0) || !(o.graceMs >= 0)) throw new Error('isolation: rates and duration must be positive');
  const scenarios: ScenarioResult[] = [];
  for (const name of ['alone', 'neighbours', 'same-account'] as const) {
    const r = await runScenario(name, o);
    scenarios.push(r);
    const h = r.healthy;
    o.log(
      `  ${name.padEnd(13)} ${h.arrived}/${h.published} healthy events arrived (${r.healthyRateAchieved.toFixed(1)}/s)  p50 ${figure(h.p50)}  p99 ${figure(h.p99)}  ` +
        `max ${figure(h.max)}  lost for now ${h.lostForNow}  (${r.seconds.toFixed(1)} s)`,
    );
  }
  const [alone, neighbours, same] = scenarios as [ScenarioResult, ScenarioResult, ScenarioResult];
  const rateLimited = await runRateLimit(o);
  o.log(
    `  rate limit    limit ${rateLimited.limit}/s, offered ${rateLimited.offered}/s: ${rateLimited.achievedWhilePublishing.toFixed(1)}/s while publishing, ` +
      `at most ${rateLimited.maxInOneSecond} in one second, ${rateLimited.delivered}/${rateLimited.published} delivered after ${rateLimited.drainedAfterSeconds.toFixed(1)} s`,
  );
  return {
    healthyAccounts: o.healthyAccounts,
    rate: o.rate,
    neighbourRate: o.neighbourRate,
    durationSeconds: o.durationMs / 1000,
    graceSeconds: o.graceMs / 1000,
    sameAccountHooks: o.sameAccountHooks,
    deliveryTimeoutMs: Number(process.env[ENV.deliveryTimeoutMs] ?? DEFAULTS.deliveryTimeoutMs),
    scenarios,
    rateLimited,
    ratios: {
      neighbours: { p50: ratio(neighbours.healthy.p50, alone.healthy.p50), p99: ratio(neighbours.healthy.p99, alone.healthy.p99) },
      sameAccountOthers: { p50: ratio(same.otherAccounts.p50, alone.otherAccounts.p50), p99: ratio(same.otherAccounts.p99, alone.otherAccounts.p99) },
      sameAccountOwn: { p50: ratio(same.firstAccount.p50, alone.firstAccount.p50), p99: ratio(same.firstAccount.p99, alone.firstAccount.p99) },
    },
  };
}

/** `24.1 ms`, `27.5 s`, `≥ 12.0 s`. */
export function figure(f: Figure): string {
  if (Number.isNaN(f.ms)) return '-';
  const v = f.ms < 1000 ? `${f.ms.toFixed(1)} ms` : `${(f.ms / 1000).toFixed(1)} s`;
  return f.lowerBound ? `≥ ${v}` : v;
}

/** `×1.1`, `≥ ×1150`. */
export function times(f: Figure): string {
  if (!Number.isFinite(f.ms)) return '-';
  const v = f.ms < 10 ? f.ms.toFixed(2) : f.ms.toFixed(0);
  return f.lowerBound ? `≥ ×${v}` : `×${v}`;
}
