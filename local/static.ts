import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, relative, resolve, sep } from 'node:path';
import { frameAncestorsDirective, parseFrameAncestors } from '../lambdas/shared/contract';
import type { LocalRoutes } from './stack';

/** Content types of what a Vite build emits (anything else is served as bytes). */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
};

/**
 * The same policy the CloudFront distribution sends (lib/constructs/dashboard-hosting.ts), with
 * the API on this origin: no inline script, no third-party requests, and framed only by the
 * configured origins (none by default).
 */
export function localCsp(frameAncestors: readonly string[] = []): string {
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; ${frameAncestorsDirective(frameAncestors)}`;
}

/** The policy with no framing allowed. */
export const LOCAL_CSP = localCsp();

/** Environment: origins allowed to frame the dashboard (space or comma separated), e.g. the platform's app. */
export const FRAME_ANCESTORS_ENV = 'WEBHOOKS_DASHBOARD_FRAME_ANCESTORS';

/** `X-Frame-Options` cannot name origins: sent (DENY) only when no origin may frame the dashboard. */
function securityHeaders(frameAncestors: readonly string[]): Record<string, string> {
  return {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'strict-origin-when-cross-origin',
    ...(frameAncestors.length === 0 ? { 'x-frame-options': 'DENY' } : {}),
  };
}

/** The frame ancestors of `WEBHOOKS_DASHBOARD_FRAME_ANCESTORS`; a malformed entry fails the start. */
export function frameAncestorsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const parsed = parseFrameAncestors(env[FRAME_ANCESTORS_ENV]);
  if ('invalid' in parsed) throw new Error(`${FRAME_ANCESTORS_ENV}: ${JSON.stringify(parsed.invalid)} is not an origin such as https://app.example.com`);
  return parsed.origins;
}

/** Paths the static handler never answers: the API, the local admin routes. */
function isReserved(pathname: string): boolean {
  return pathname === '/v1' || pathname.startsWith('/v1/') || pathname === '/_local' || pathname.startsWith('/_local/');
}

interface StaticFile {
  readonly path: string;
  /** Path relative to the dist directory, with `/` separators. */
  readonly relativePath: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** A regular file whose real path (symlinks resolved) is inside `root`; undefined otherwise. */
async function regularFile(path: string, root: string): Promise<StaticFile | undefined> {
  try {
    const [real, realRoot] = await Promise.all([fs.realpath(path), fs.realpath(root)]);
    if (!real.startsWith(realRoot + sep)) return undefined;
    const stat = await fs.stat(real);
    return stat.isFile() ? { path: real, relativePath: relative(realRoot, real).split(sep).join('/'), size: stat.size, mtimeMs: stat.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serves the built dashboard (dashboard/dist) from the local runtime, as CloudFront does in AWS:
 * files by path with their content type, `index.html` for `/` and for any other path without a
 * file extension (the single-page app's routes, e.g. `/settings/webhooks/wh_1`). GET and HEAD
 * only; `/v1`, `/_local` and the bus's `POST /` fall through (returns false), as does everything
 * when the dashboard has not been built. Paths are resolved inside `distDir` only: `..`,
 * encoded separators and NUL bytes never reach the file system.
 */
export function createStaticRoutes(distDir: string, options: { readonly frameAncestors?: readonly string[] } = {}): LocalRoutes {
  const root = resolve(distDir);
  const frameAncestors = options.frameAncestors ?? [];
  const headers = { security: securityHeaders(frameAncestors), csp: localCsp(frameAncestors) };
  const index = resolve(root, 'index.html');

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://local').pathname;
    } catch {
      return false;
    }
    if (isReserved(pathname)) return false;

    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return notFound(req, res, headers.security);
    }
    // An encoded slash or backslash, or a NUL, is never part of a file we emit.
    if (decoded.includes('\0') || decoded.includes('\\') || /%2f|%5c/i.test(pathname)) return notFound(req, res, headers.security);

    const target = resolve(root, `.${decoded}`);
    if (target !== root && !target.startsWith(root + sep)) return notFound(req, res, headers.security);

    let file = target === root ? undefined : await regularFile(target, root);
    if (!file) {
      // A missing asset is a 404; a missing route of the app is the app.
      if (extname(decoded) !== '') return notFound(req, res, headers.security);
      file = await regularFile(index, root);
      if (!file) return false; // not built: leave `/` to the runtime's own answer
    }
    await serve(req, res, file, headers);
    return true;
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, file: StaticFile, policy: { readonly security: Record<string, string>; readonly csp: string }): Promise<void> {
  const etag = `W/"${createHash('sha1').update(`${file.relativePath}:${file.size}:${file.mtimeMs}`).digest('base64url').slice(0, 20)}"`;
  const isHtml = extname(file.path) === '.html';
  // Vite puts content hashes in the names under assets/: those never change.
  const immutable = file.relativePath.startsWith('assets/');
  const headers: Record<string, string> = {
    ...policy.security,
    'content-type': CONTENT_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag,
    ...(isHtml ? { 'content-security-policy': policy.csp } : {}),
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = req.method === 'HEAD' ? undefined : await fs.readFile(file.path);
  res.writeHead(200, { ...headers, 'content-length': String(file.size) });
  res.end(body);
}

function notFound(req: IncomingMessage, res: ServerResponse, security: Record<string, string>): true {
  res.writeHead(404, { ...security, 'content-type': 'text/plain; charset=utf-8' });
  res.end(req.method === 'HEAD' ? undefined : 'Not found\n');
  return true;
}
