import { type ChildProcess, fork } from 'node:child_process';

/**
 * Request/response over the IPC channel of a forked child. The bench forks every process it
 * needs (receivers, dynalite, the measured handler, the local runtime), so none of them shares
 * an event loop (or a CPU-time account) with another.
 */

interface Envelope {
  readonly id: number;
  readonly command: string;
  readonly payload?: unknown;
}

interface Reply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: string;
}

export interface ChildHandle<Ready = unknown> {
  readonly proc: ChildProcess;
  readonly ready: Ready;
  /** Sends a command and waits for its reply. */
  request<T>(command: string, payload?: unknown): Promise<T>;
  /** Bytes the child wrote to stdout so far (its log output; discarded, only counted). */
  stdoutBytes(): number;
  /** Lines the child wrote to stdout so far. */
  stdoutLines(): number;
  close(): Promise<void>;
}

export interface ForkOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly execArgv?: string[];
  readonly args?: string[];
  /** Time to wait for the `ready` message. @default 30 s */
  readonly readyTimeoutMs?: number;
}

/** Forks `script` (plain JS), counts its stdout, forwards its stderr, waits for `{ready}`. */
export async function forkChild<Ready = unknown>(script: string, options: ForkOptions = {}): Promise<ChildHandle<Ready>> {
  const proc = fork(script, options.args ?? [], {
    env: options.env ?? process.env,
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let bytes = 0;
  let lines = 0;
  proc.stdout?.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script}: no ready message`)), options.readyTimeoutMs ?? 30_000);
    proc.once('exit', (code) => {
      exited = true;
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready`));
      for (const p of pending.values()) p.reject(new Error(`${script} exited with ${code}`));
    });
    proc.on('message', (raw) => {
      const msg = raw as { ready?: Ready } & Reply;
      if (msg.ready !== undefined) {
        clearTimeout(timer);
        resolve(msg.ready);
        return;
      }
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
    });
  });
  return {
    proc,
    ready,
    request<T>(command: string, payload?: unknown): Promise<T> {
      if (exited) return Promise.reject(new Error(`${script} has exited`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, command, payload } satisfies Envelope);
      });
    },
    stdoutBytes: () => bytes,
    stdoutLines: () => lines,
    async close() {
      if (exited || proc.exitCode !== null) return;
      proc.send({ id: 0, command: 'exit' } satisfies Envelope);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}

export type CommandHandlers = Record<string, (payload: unknown) => unknown>;

/** Child side: announces `ready` and answers commands until `exit`. */
export function serveCommands(ready: unknown, handlers: CommandHandlers, onExit: () => Promise<void> | void = () => undefined): void {
  process.on('message', (raw) => {
    const msg = raw as Envelope;
    if (msg.command === 'exit') {
      void Promise.resolve(onExit()).finally(() => process.exit(0));
      return;
    }
    const handler = handlers[msg.command];
    if (!handler) {
      process.send?.({ id: msg.id, error: `unknown command ${msg.command}` } satisfies Reply);
      return;
    }
    Promise.resolve()
      .then(() => handler(msg.payload))
      .then(
        (result) => process.send?.({ id: msg.id, result } satisfies Reply),
        (err: unknown) => process.send?.({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply),
      );
  });
  // The parent going away ends the child too.
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready });
}

/** Wall-clock epoch milliseconds with sub-millisecond resolution, comparable across processes. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
