import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * How the CLIs (`npm run send-event`, `npm run apikey`) find the running local stack whatever
 * `PORT` it was started on: `npm start` writes its address to `local-stack.json` in its data
 * directory (with `--memory`, to a file in the OS temp directory named after the project
 * directory) and removes it when it stops; the CLIs read it. An explicit `--url`,
 * `WEBHOOKS_LOCAL_URL` or `PORT` wins; when nothing answers, the error lists every place looked.
 */

export const STACK_ADDRESS_FILE = 'local-stack.json';
export const DEFAULT_LOCAL_URL = 'http://127.0.0.1:3000';

export interface StackAddress {
  readonly url: string;
  readonly pid: number;
  readonly startedAt: string;
}

/** Where a stack on `dataDir` (`:memory:` for none) run from `cwd` writes its address. */
export function stackAddressPath(dataDir: string, cwd: string = process.cwd()): string {
  if (dataDir === ':memory:') {
    const project = createHash('sha256').update(resolve(cwd)).digest('hex').slice(0, 12);
    return join(tmpdir(), `visit-webhooks-${project}-${STACK_ADDRESS_FILE}`);
  }
  return join(resolve(cwd, dataDir), STACK_ADDRESS_FILE);
}

/** Writes the address of this process's stack; returns a function that removes it (if still ours). */
export function writeStackAddress(dataDir: string, url: string, cwd: string = process.cwd()): () => void {
  const path = stackAddressPath(dataDir, cwd);
  if (dataDir !== ':memory:') mkdirSync(resolve(cwd, dataDir), { recursive: true });
  const address: StackAddress = { url, pid: process.pid, startedAt: new Date().toISOString() };
  writeFileSync(path, `${JSON.stringify(address)}\n`, { mode: 0o644 });
  return () => {
    if (readStackAddress(path)?.pid === process.pid) rmSync(path, { force: true });
  };
}

export function readStackAddress(path: string): StackAddress | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<StackAddress>;
    return typeof parsed.url === 'string' && typeof parsed.pid === 'number' ? { url: parsed.url, pid: parsed.pid, startedAt: String(parsed.startedAt ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

/** The status of `GET <url>/_local/health`, or undefined when nothing answers HTTP there. */
async function healthStatus(url: string, timeoutMs: number): Promise<number | undefined> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/_local/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

/** Whether a local stack answers at `url` (its loopback-only health route says ok). */
export async function stackAnswers(url: string, timeoutMs = 1_500): Promise<boolean> {
  const status = await healthStatus(url, timeoutMs);
  return status !== undefined && status >= 200 && status < 300;
}

/** Whether anything answers HTTP at `url`: enough for an address the user gave. */
export async function httpAnswers(url: string, timeoutMs = 1_500): Promise<boolean> {
  return (await healthStatus(url, timeoutMs)) !== undefined;
}

export class LocalStackNotFoundError extends Error {
  constructor(readonly looked: readonly string[]) {
    super(
      `no running local stack found. Looked at:\n${looked.map((l) => `  - ${l}`).join('\n')}\n` +
        'Start it with `npm start` (in this directory), or say where it runs: --url http://127.0.0.1:<port> (or PORT=<port>).',
    );
    this.name = 'LocalStackNotFoundError';
  }
}

export interface FindOptions {
  /** `--url` (or `--endpoint`) from the command line. */
  readonly url?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Whether a stack answers at a discovered address (tests may pass their own). */
  readonly answers?: (url: string) => Promise<boolean>;
  /** Whether anything answers at an address the user gave; defaults to `answers` when that is given. */
  readonly reachable?: (url: string) => Promise<boolean>;
}

/**
 * The base URL of the local stack to talk to, and where it came from. An explicit choice (`--url`,
 * WEBHOOKS_LOCAL_URL, PORT) is used as given if it answers; otherwise the address files of a
 * running `npm start` (the data dir's, then the in-memory run's), then the default port.
 */
export async function findLocalStack(options: FindOptions = {}): Promise<{ url: string; source: string }> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const answers = options.answers ?? stackAnswers;
  const reachable = options.reachable ?? options.answers ?? httpAnswers;
  const looked: string[] = [];
  const explicit: Array<[string, string | undefined]> = [
    ['--url', options.url],
    ['WEBHOOKS_LOCAL_URL', env.WEBHOOKS_LOCAL_URL || undefined],
    ['PORT', env.PORT ? `http://127.0.0.1:${env.PORT}` : undefined],
  ];
  const chosen = explicit.find(([, url]) => url !== undefined);
  if (chosen) {
    const [source, url = ''] = chosen;
    const base = url.replace(/\/+$/, '');
    // The user named it: anything answering HTTP is taken at its word (the call then says what it got).
    if (await reachable(base)) return { url: base, source };
    throw new LocalStackNotFoundError([`${base} (from ${source}): nothing answers there`]);
  }
  looked.push('--url, WEBHOOKS_LOCAL_URL, PORT: none given');
  const dataDir = env.WEBHOOKS_DATA_DIR && env.WEBHOOKS_DATA_DIR !== ':memory:' ? env.WEBHOOKS_DATA_DIR : '.webhooks-data';
  for (const path of [stackAddressPath(dataDir, cwd), stackAddressPath(':memory:', cwd)]) {
    const address = readStackAddress(path);
    if (!address) {
      looked.push(`${path}: no such file (npm start writes it while it runs)`);
      continue;
    }
    if (await answers(address.url)) return { url: address.url, source: path };
    looked.push(`${path}: names ${address.url} (pid ${address.pid}), which does not answer (a stack that was killed?)`);
  }
  if (await answers(DEFAULT_LOCAL_URL)) return { url: DEFAULT_LOCAL_URL, source: 'the default port' };
  looked.push(`${DEFAULT_LOCAL_URL} (the default): nothing answers there`);
  throw new LocalStackNotFoundError(looked);
}
