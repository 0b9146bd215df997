import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type EmulatorAwsConfig, emulatorAwsConfig } from './aws-config';

/** A moto server on 127.0.0.1 for the length of a suite. */
export interface MotoServer {
  readonly endpoint: string;
  readonly aws: EmulatorAwsConfig;
  /** What the server printed (for a failing test's message). */
  output(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Starts `$MOTO_BIN -H 127.0.0.1 -p 0`: moto binds a free port itself and prints it, so there
 * is no window in which another process could take a port picked in advance. Resolves once the
 * server answers an SQS call. Throws, with a way out, when MOTO_BIN is not set.
 */
export async function startMoto(env: NodeJS.ProcessEnv = process.env): Promise<MotoServer> {
  const bin = env.MOTO_BIN;
  if (!bin || !existsSync(bin)) {
    throw new Error(
      `The AWS emulator suite needs a moto server, and MOTO_BIN ${bin ? `points at "${bin}", which does not exist` : 'is not set'}. ` +
        'Run `bash .ci/moto.sh` (it installs moto into .venv and runs this suite), or install it yourself and run ' +
        '`MOTO_BIN=.venv/bin/moto_server npm run test:aws` (see docs/testing-aws-emulator.md).',
    );
  }
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, PYTHONUNBUFFERED: '1' } });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`moto_server did not report its port within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited with ${code} before it was ready:\n${output}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const aws = emulatorAwsConfig(endpoint, {});
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };

  const sqs = new SQSClient(aws);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      try {
        await sqs.send(new ListQueuesCommand({}));
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`moto_server on ${endpoint} did not answer: ${(err as Error).message}\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    sqs.destroy();
  }
  return { endpoint, aws, output: () => output, stop };
}
