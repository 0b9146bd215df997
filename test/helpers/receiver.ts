import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
  /** Client port: equal ports mean a reused (keep-alive) connection. */
  readonly remotePort: number;
}

export type Behaviour = (req: ReceivedRequest, res: ServerResponse, socket: Socket) => void;

export const respond =
  (status: number, body = '', headers: Record<string, string> = {}): Behaviour =>
  (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };

export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Replaces what the receiver does with the next requests. */
  behave(behaviour: Behaviour): void;
  /** Forgets the requests recorded so far and goes back to the behaviour it was started with. */
  reset(): void;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1, port 0; records every request it gets. */
export async function startReceiver(behaviour: Behaviour = respond(200, 'ok')): Promise<Receiver> {
  let current = behaviour;
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now(), remotePort: req.socket.remotePort ?? 0 };
      requests.push(received);
      current(received, res, req.socket);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    behave: (b) => {
      current = b;
    },
    reset: () => {
      requests.splice(0);
      current = behaviour;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Receivers started by one test file, closed together in its `afterAll`. */
export function receiverPool(): { start: typeof startReceiver; closeAll(): Promise<void> } {
  const started: Receiver[] = [];
  return {
    start: async (...args) => {
      const r = await startReceiver(...args);
      started.push(r);
      return r;
    },
    closeAll: async () => {
      for (const r of started.splice(0)) await r.close();
    },
  };
}
