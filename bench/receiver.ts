/**
 * The bench's webhook receiver, forked into its own process so that it never shares an event
 * loop or a CPU account with the measured code. Listens on `ports` loopback ports (one origin
 * per webhook of a fan-out, as different customers would be). Modes:
 * - `plain`: reads the body, answers 200 `ok`, verifies nothing;
 * - `verify`: also verifies the Standard Webhooks signature with the public `standardwebhooks`
 *   library (as a customer would), 400 if it does not verify;
 * - `latency`: records the receipt time of each body's `id` (the latency run asks for them).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { epochNow, serveCommands } from './ipc';

export type ReceiverMode = 'plain' | 'verify' | 'latency';

export interface ReceiverReady {
  readonly ports: number[];
}

export interface ReceiverStats {
  readonly requests: number;
  /** TCP connections accepted so far: with keep-alive, a handful per run, not one per request. */
  readonly connections: number;
  readonly bytes: number;
  readonly verified: number;
  readonly verifyFailures: number;
  readonly cpuMicros: number;
}

const mode = (process.env.BENCH_RECEIVER_MODE ?? 'plain') as ReceiverMode;
const portCount = Number(process.env.BENCH_RECEIVER_PORTS ?? '1');

let requests = 0;
let connections = 0;
let bytes = 0;
let verified = 0;
let verifyFailures = 0;
/** Path → verifier (the secret of the webhook that posts to that path). */
const verifiers = new Map<string, Webhook>();
const receipts: Array<[string, number]> = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = epochNow();
    requests++;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    bytes += body.length;
    if (mode === 'verify') {
      const verifier = verifiers.get(req.url ?? '');
      try {
        if (!verifier) throw new Error(`no secret for ${req.url}`);
        verifier.verify(body.toString('utf8'), req.headers as Record<string, string>);
        verified++;
      } catch {
        verifyFailures++;
        res.writeHead(400).end('bad signature');
        return;
      }
    } else if (mode === 'latency') {
      const id = (JSON.parse(body.toString('utf8')) as { id?: string }).id;
      if (id) receipts.push([id, at]);
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
}

async function main(): Promise<void> {
  const servers: Server[] = [];
  for (let i = 0; i < portCount; i++) {
    const server = createServer(handle);
    server.keepAliveTimeout = 65_000;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const ready: ReceiverReady = { ports: servers.map((s) => (s.address() as AddressInfo).port) };
  serveCommands(ready, {
    secrets: (payload) => {
      for (const [path, secret] of Object.entries(payload as Record<string, string>)) verifiers.set(path, new Webhook(secret));
      return verifiers.size;
    },
    stats: (): ReceiverStats => {
      const cpu = process.cpuUsage();
      return { requests, connections, bytes, verified, verifyFailures, cpuMicros: cpu.user + cpu.system };
    },
    receipts: () => receipts.splice(0, receipts.length),
  });
}

void main();
