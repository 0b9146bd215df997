import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
/** `node --import tsx` runs in one process, so signals reach the runtime itself (the tsx CLI would wrap it). */
const NODE_TSX = [process.execPath, '--import', 'tsx'] as const;

export interface LocalProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: string[];
  /** The demo key, when this start created one. */
  readonly demoKey?: string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `npm start`'s entry point (tsx local/main.ts) on port 0 and waits for its banner. */
export async function startLocalProcess(env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<LocalProcess> {
  const child = spawn(NODE_TSX[0], [...NODE_TSX.slice(1), 'local/main.ts', '--port', '0'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local runtime did not start in ${timeoutMs} ms:\n${output.join('')}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const match = /API\s+(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(output.join(''));
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`local runtime exited with ${code}:\n${output.join('')}`));
    });
  });
  const demoKey = /Demo API key\s+(vwk_\S+)/.exec(output.join(''))?.[1];
  return {
    url,
    child,
    output,
    ...(demoKey ? { demoKey } : {}),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a project script (tsx scripts/<name>.ts) and returns its stdout. */
export async function runScript(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await promisify(execFile)(TSX, [join('scripts', script), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  return stdout;
}
