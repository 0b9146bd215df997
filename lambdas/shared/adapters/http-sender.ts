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
  /** Total budget of one attempt. @default DEFAULTS.deliveryTimeoutMs */
  readonly timeoutMs?: number;
  /** @default DEFAULTS.connectTimeoutMs */
  readonly connectTimeoutMs?: number;
  /** Allow loopback/private targets (local runtime, tests). @default false */
  readonly allowPrivateTargets?: boolean;
  /** Allow plain `http://` targets. @default false */
  readonly allowHttp?: boolean;
  /** @default the system resolver */
  readonly resolver?: Resolver;
  /** Keep-alive connections per origin. @default 10 */
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

/**
 * The production sender: undici keep-alive pools, connect and total timeouts, no redirects,
 * bounded response reading, and SSRF checks on the address each socket really connects to.
 */
export class UndiciHttpSender implements HttpSender {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly allowHttp: boolean;

  constructor(options: UndiciSenderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.deliveryTimeoutMs;
    this.allowHttp = options.allowHttp ?? false;
    const allowPrivate = options.allowPrivateTargets ?? false;
    const base = buildConnector({
      timeout: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      lookup: createSafeLookup(options.resolver ?? systemResolver, allowPrivate),
    });
    this.agent = new Agent({
      connections: options.connectionsPerOrigin ?? 10,
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 60_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
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
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return { ok: false, durationMs: 0, errorKind: 'policy', error: 'invalid URL' };
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowHttp)) {
      return { ok: false, durationMs: 0, errorKind: 'policy', error: `${url.protocol} targets are not allowed` };
    }
    try {
      const res = await requestApi.call(this.agent, {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const snippet = await readBounded(res.body);
      const statusCode = res.statusCode;
      const ok = statusCode >= 200 && statusCode < 300;
      const retryAfterSeconds = statusCode === 429 || statusCode === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
      return {
        ok,
        statusCode,
        durationMs: elapsed(),
        ...(ok ? {} : { errorKind: 'http' as const, error: `HTTP ${statusCode}` }),
        ...(snippet ? { responseSnippet: snippet } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      };
    } catch (err) {
      return { ok: false, durationMs: elapsed(), ...classify(err) };
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
