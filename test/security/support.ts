import { request } from 'node:http';
import { connect } from 'node:net';
import { createLocalApiRoutes } from '../../local/api-routes';
import { type LocalStack, startLocalStack } from '../../local/stack';

/**
 * Support for the hostile-input suite: the real local runtime HTTP server (gateway, authorizer,
 * API handler) with production SSRF rules, and HTTP clients that send what `fetch` would refuse
 * to (invalid UTF-8 bodies, raw CR/LF, malformed request lines).
 */

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The local runtime with the management API, production target rules (https only, public addresses). */
export async function startProductionRulesStack(lines: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<LocalStack> {
  return startLocalStack({
    port: 0,
    dataDir: ':memory:',
    print: (line) => lines.push(line),
    routes: createLocalApiRoutes,
    // The suites send hundreds of requests a second per account: the per-account rate (its own
    // suites: test/api/access.test.ts, test/local/api-access.test.ts) is set out of their way.
    env: { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'false', WEBHOOKS_ALLOW_HTTP: 'false', WEBHOOKS_API_ACCOUNT_RATE_LIMIT: '100000', ...env },
  });
}

/** Mints a key through the loopback-only admin route (what `npm run apikey` does). */
export async function mintKey(stack: LocalStack, accountId: string): Promise<string> {
  const res = await fetch(`${stack.url}/_local/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId }) });
  if (res.status !== 201) throw new Error(`could not mint a key: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { apiKey: string }).apiKey;
}

/** One request with node:http: any bytes as the body, headers as given (node validates them). */
export function httpCall(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/**
 * Writes raw bytes on a fresh TCP connection and parses the one response that comes back
 * (status line, headers, body up to content-length or close).
 */
export function rawCall(port: number, raw: Buffer | string, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...headerLines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
      let bodyBytes: Buffer = Buffer.concat(chunks).subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
      if (length !== undefined && bodyBytes.length < length) return;
      if (headers['transfer-encoding'] === 'chunked') {
        const decoded = dechunk(bodyBytes);
        if (!decoded) return;
        bodyBytes = decoded;
      }
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body: bodyBytes.subarray(0, length ?? bodyBytes.length).toString('utf8') });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      if (!settled) reject(new Error(`no response in ${timeoutMs} ms to ${JSON.stringify(raw.toString().slice(0, 120))}`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      finish();
    });
    socket.on('end', () => {
      finish();
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(new Error(`connection closed without a response to ${JSON.stringify(raw.toString().slice(0, 120))}: ${Buffer.concat(chunks).toString('latin1')}`));
      }
    });
    socket.on('error', (err) => {
      if (!settled) {
        finish();
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(err);
        }
      }
    });
    socket.write(raw);
  });
}

/** A chunked body, decoded; undefined until its last chunk has arrived. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    if (data.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** Why a response is not a proper API error (4xx, JSON `{"error":{"code","message","details":[…]}}`, no stack trace), or undefined. */
export function errorShapeProblem(res: RawResponse): string | undefined {
  if (res.status < 400 || res.status > 499) return `status ${res.status}`;
  if (!String(res.headers['content-type'] ?? '').startsWith('application/json')) return `content-type ${res.headers['content-type'] ?? '(none)'}`;
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `body is not JSON: ${res.body.slice(0, 200)}`;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string' || !Array.isArray(error.details)) return `not the error shape: ${res.body.slice(0, 200)}`;
  for (const d of error.details as Array<{ path?: unknown; message?: unknown }>) {
    if (typeof d.path !== 'string' || typeof d.message !== 'string') return `bad details entry: ${JSON.stringify(d)}`;
  }
  if (/\bat .+\.(ts|js):\d+/.test(res.body) || /node_modules/.test(res.body)) return `stack trace in body: ${res.body.slice(0, 200)}`;
  return undefined;
}
