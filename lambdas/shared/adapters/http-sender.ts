// Only the parts of undici the sender uses: the package index also loads fetch, WebSocket,
// the cache, mocks and proxies (~0.5 MB minified, most of the bundle and of its init time).
import Agent from 'undici/lib/dispatcher/agent';
import buildConnector from 'undici/lib/core/connect';
import undiciErrors from 'undici/lib/core/errors';
import requestApi from 'undici/lib/api/api-request';
import { DEFAULTS, LIMITS } from '../contract';
import { isPublicAddress, SsrfError } from '../domain/target-policy';
import type { Resolver } from '../domain/ports';
import type { HttpSender, SendRequest, SendResult } from '../domain/ports';
import { createSafeLookup, systemResolver } from './dns';

export interface UndiciSenderOptions {
  /** Total budget of one attempt, unless its request sets `timeoutMs`. @default DEFAULTS.deliveryTimeoutMs */
  readonly timeoutMs?: number;
  /** @default DEFAULTS.connectTimeoutMs */
  readonly connectTimeoutMs?: number;
  /** Allow loopback/private targets (local runtime, tests). @default false */
  readonly allowPrivateTargets?: boolean;
  /** Allow plain `http://` targets. @default false */
  readonly allowHttp?: boolean;
  /** @default the system resolver */
  readonly resolver?: Resolver;
  /** Keep-alive connections per origin, and requests in flight per origin (the others wait their turn). @default 10 */
  readonly connectionsPerOrigin?: number;
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\s*\d+\s*$/.test(raw)) return Number(raw);
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

function classify(err: unknown): { errorKind: NonNullable<SendResult['errorKind']>; error: string } {
  const e = err as { code?: string; name?: string; message?: string; cause?: unknown };
  if (err instanceof SsrfError || e.code === 'ERR_SSRF_BLOCKED') return { errorKind: 'ssrf', error: e.message ?? 'blocked' };
  if (e.cause && (e.cause as { code?: string }).code === 'ERR_SSRF_BLOCKED') return classify(e.cause);
  if (
    err instanceof undiciErrors.ConnectTimeoutError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    e.name === 'TimeoutError' ||
    e.name === 'AbortError'
  ) {
    return { errorKind: 'timeout', error: `timed out (${e.code ?? e.name})` };
  }
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') {
    return { errorKind: 'connect', error: `connection failed (${e.code})` };
  }
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE' || err instanceof undiciErrors.SocketError) {
    return { errorKind: 'reset', error: `connection reset (${e.code ?? 'socket closed'})` };
  }
  return { errorKind: 'other', error: (e.message ?? String(err)).slice(0, 200) };
}

type Admission = 'granted' | 'queued' | 'aborted';

/**
 * Per-origin admission, so that one customer's slow endpoints cost other customers nothing:
 * at most `limit` requests per origin in flight (undici's pool has as many connections, so an
 * admitted request gets a connection at once, or starts connecting); the others wait in one
 * queue per fairness key, and each freed slot goes to the key at the head of the origin's
 * rotation, which then moves to its back (round-robin: a key with 1,000 waiting requests
 * gets one turn, then every other waiting key gets one).
 */
export class OriginScheduler {
  /** Per origin: requests in flight, and the waiting ones by key in rotation order (Map order). */
  private readonly origins = new Map<string, { active: number; queues: Map<string, Array<() => void>> }>();

  constructor(private readonly limit: number) {}

  /** Waits for a slot on `origin`: 'granted' (call `release` when done), or why it gave up waiting. */
  acquire(origin: string, key: string, maxWaitMs: number, signal?: AbortSignal): Promise<Admission> {
    let state = this.origins.get(origin);
    if (!state) this.origins.set(origin, (state = { active: 0, queues: new Map() }));
    // Nobody waits while a slot is free (release hands a freed slot on at once).
    if (state.active < this.limit) {
      state.active++;
      return Promise.resolve('granted');
    }
    const { queues } = state;
    return new Promise<Admission>((resolve) => {
      const settle = (admission: Admission) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(admission);
      };
      const grant = () => settle('granted');
      const leave = (admission: Admission) => {
        const queue = queues.get(key) ?? [];
        const at = queue.indexOf(grant);
        if (at >= 0) queue.splice(at, 1);
        if (queue.length === 0) queues.delete(key);
        settle(admission);
      };
      const onAbort = () => leave('aborted');
      const timer = setTimeout(() => leave('queued'), maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      const queue = queues.get(key);
      if (queue) queue.push(grant);
      else queues.set(key, [grant]);
    });
  }

  /** Frees a slot of `origin` and hands it to the next key in the rotation, if any waits. */
  release(origin: string): void {
    const state = this.origins.get(origin);
    if (!state) return;
    const next = state.queues.entries().next();
    if (next.done) {
      if (--state.active === 0) this.origins.delete(origin);
      return;
    }
    const [key, queue] = next.value;
    const grant = queue.shift() as () => void;
    state.queues.delete(key);
    if (queue.length > 0) state.queues.set(key, queue); // to the back of the rotation
    grant(); // the slot passes on: `active` is unchanged
  }
}

function abortMessage(signal: AbortSignal | undefined): string {
  const reason = signal?.reason as { message?: unknown } | undefined;
  return `aborted (${typeof reason?.message === 'string' ? reason.message : String(reason)})`.slice(0, 200);
}

/**
 * The production sender: undici keep-alive pools, a per-origin scheduler in front of them
 * (fair turns across webhooks, bounded waits), per-request budgets that start with the
 * request's turn on a connection, no redirects, bounded response reading, and SSRF checks on
 * the address each socket really connects to.
 */
export class UndiciHttpSender implements HttpSender {
  private readonly agent: Agent;
  private readonly scheduler: OriginScheduler;
  private readonly timeoutMs: number;
  private readonly allowHttp: boolean;

  constructor(options: UndiciSenderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.deliveryTimeoutMs;
    this.allowHttp = options.allowHttp ?? false;
    const allowPrivate = options.allowPrivateTargets ?? false;
    const connections = options.connectionsPerOrigin ?? 10;
    this.scheduler = new OriginScheduler(connections);
    const base = buildConnector({
      timeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      lookup: createSafeLookup(options.resolver ?? systemResolver, allowPrivate),
    });
    this.agent = new Agent({
      connections,
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 60_000,
      // Defence in depth: an IP-literal URL never goes through `lookup`, so check the
      // socket's real peer address once connected, before a byte of the request is written.
      connect: (opts, callback) => {
        base(opts, (err, socket) => {
          if (err || !socket) {
            callback(err ?? new Error('connect failed'), null);
            return;
          }
          const peer = socket.remoteAddress;
          if (!allowPrivate && (!peer || !isPublicAddress(peer))) {
            socket.destroy();
            callback(new SsrfError(`${opts.hostname} connected to non-public address ${peer ?? 'unknown'}`), null);
            return;
          }
          callback(null, socket);
        });
      },
    });
  }

  async send(req: SendRequest): Promise<SendResult> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return { ok: false, durationMs: 0, errorKind: 'policy', error: 'invalid URL' };
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowHttp)) {
      return { ok: false, durationMs: 0, errorKind: 'policy', error: `${url.protocol} targets are not allowed` };
    }
    const budgetMs = req.timeoutMs ?? this.timeoutMs;
    const maxWaitMs = req.queueTimeoutMs ?? budgetMs;
    const { signal } = req;
    if (signal?.aborted) return { ok: false, durationMs: 0, queuedMs: 0, errorKind: 'aborted', error: abortMessage(signal) };

    const enqueued = performance.now();
    const admission = await this.scheduler.acquire(url.origin, req.fairnessKey ?? '', maxWaitMs, signal);
    const queuedMs = Math.round(performance.now() - enqueued);
    if (admission === 'queued') return { ok: false, durationMs: 0, queuedMs, errorKind: 'queued', error: `no connection to ${url.origin} within ${maxWaitMs} ms` };
    if (admission === 'aborted') return { ok: false, durationMs: 0, queuedMs, errorKind: 'aborted', error: abortMessage(signal) };

    // The attempt's clock starts now. Its end (budget or caller's abort) settles the result at
    // once, even while undici still waits on a connect; the slot is freed when undici is done.
    const started = performance.now();
    const controller = new AbortController();
    let stoppedBy: 'timeout' | 'aborted' | undefined;
    let onStop = () => {};
    const stopped = new Promise<void>((resolve) => (onStop = resolve));
    const stop = (why: 'timeout' | 'aborted') => {
      stoppedBy ??= why;
      controller.abort(why === 'aborted' ? signal?.reason : new DOMException(`timed out after ${budgetMs} ms`, 'TimeoutError'));
      onStop();
    };
    const timer = setTimeout(() => stop('timeout'), budgetMs);
    const onAbort = () => stop('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const exchange = this.exchange(url, req, controller.signal, budgetMs).finally(() => this.scheduler.release(url.origin));
    try {
      const outcome = await Promise.race([exchange, stopped]);
      const durationMs = Math.round(performance.now() - started);
      if (stoppedBy === 'timeout') return { ok: false, durationMs, queuedMs, errorKind: 'timeout', error: `timed out after ${budgetMs} ms` };
      if (stoppedBy === 'aborted') return { ok: false, durationMs, queuedMs, errorKind: 'aborted', error: abortMessage(signal) };
      return { ...(outcome as Omit<SendResult, 'durationMs'>), durationMs, queuedMs };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** One POST on the agent, response read (bounded); never rejects. */
  private async exchange(url: URL, req: SendRequest, signal: AbortSignal, budgetMs: number): Promise<Omit<SendResult, 'durationMs'>> {
    try {
      const res = await requestApi.call(this.agent, {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal,
        // The budget is enforced above; undici's own timers must not cut a longer one short.
        headersTimeout: budgetMs,
        bodyTimeout: budgetMs,
      });
      const snippet = await readBounded(res.body);
      const statusCode = res.statusCode;
      const ok = statusCode >= 200 && statusCode < 300;
      const retryAfterSeconds = statusCode === 429 || statusCode === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
      return {
        ok,
        statusCode,
        ...(ok ? {} : { errorKind: 'http' as const, error: `HTTP ${statusCode}` }),
        ...(snippet ? { responseSnippet: snippet } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      };
    } catch (err) {
      return { ok: false, ...classify(err) };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * Reads at most `LIMITS.responseMaxReadBytes` of a response; beyond that the body is dropped
 * (and so is the connection). Returns the first `LIMITS.responseSnippetBytes` as text.
 */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let readBytes = 0;
  for await (const chunk of body) {
    readBytes += chunk.length;
    if (keptBytes < LIMITS.responseSnippetBytes) {
      kept.push(chunk);
      keptBytes += chunk.length;
    }
    if (readBytes > LIMITS.responseMaxReadBytes) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(kept).subarray(0, LIMITS.responseSnippetBytes).toString('utf8');
}
