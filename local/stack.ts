import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDeliveryHandler } from '../lambdas/delivery/app';
import { createRetryHandler } from '../lambdas/retry/app';
import { DEFAULT_EVENT_SOURCE, ENV, PIPELINE, visitEventPattern } from '../lambdas/shared/contract';
import type { RetryMessage } from '../lambdas/shared/domain/messages';
import type { DeadLetterSink, LogSink, RetryQueue } from '../lambdas/shared/domain/ports';
import { LocalKeyCipher } from '../lambdas/shared/adapters/secret-cipher';
import { redrive } from '../lambdas/shared/domain/redrive';
import { createDeliveryRuntime, type DeliveryRuntime } from '../lambdas/shared/composition/delivery-runtime';
import { LocalBus } from './bus';
import { LocalPollSource, QueueConsumer } from './consumer';
import { ensureTables, LOCAL_AWS_CONFIG, type LocalDynamo, startDynalite, type TableNames } from './dynamo';
import { LocalQueue } from './queue';

/** Table names of the local stack (there is one stack per data dir). */
export const LOCAL_TABLES: TableNames = { webhooks: 'webhooks', deliveries: 'deliveries', apiKeys: 'api-keys' };

export interface LocalStackOptions {
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** Data directory, or ':memory:' for an in-memory run. @default '.webhooks-data' */
  readonly dataDir?: string;
  /** Environment overrides (WEBHOOKS_* variables); defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Human-readable log lines (deliveries, retries, errors). @default console.log */
  readonly print?: (line: string) => void;
  /**
   * Hook on the handlers' DynamoDB client before first use, e.g. to add SDK middleware that
   * injects throttling or 5xx errors in the fault suite.
   */
  readonly configureDynamo?: (client: DynamoDBClient) => void;
  /** Handlers for `/v1` and `/_local/api-keys`, mounted by the API wiring. */
  readonly routes?: (stack: LocalStackCore) => Promise<LocalRoutes> | LocalRoutes;
}

/** Extra HTTP routes; return false to fall through. */
export type LocalRoutes = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;

export interface LocalQueues {
  readonly events: LocalQueue;
  readonly eventsDlq: LocalQueue;
  readonly retry: LocalQueue;
  readonly retryDlq: LocalQueue;
  readonly failedDeliveries: LocalQueue;
}

/** What the route wiring gets: the started parts, before the HTTP server listens. */
export interface LocalStackCore {
  readonly dynamo: LocalDynamo;
  readonly tables: TableNames;
  readonly queues: LocalQueues;
  readonly runtime: DeliveryRuntime;
  /** The environment the handlers run with (table names, queue "URLs", WEBHOOKS_*). */
  readonly env: NodeJS.ProcessEnv;
  readonly dataDir: string | undefined;
}

export interface LocalStack extends LocalStackCore {
  readonly url: string;
  readonly port: number;
  readonly bus: LocalBus;
  /** Stops accepting, lets in-flight deliveries finish, persists, closes. */
  close(): Promise<void>;
}

class LocalRetryQueue implements RetryQueue {
  constructor(private readonly queue: LocalQueue) {}
  async enqueue(message: RetryMessage, delaySeconds: number): Promise<void> {
    this.queue.sendMessage(JSON.stringify(message), { delaySeconds });
  }
}

class LocalDeadLetters implements DeadLetterSink {
  constructor(private readonly queue: LocalQueue) {}
  async send(body: string, reason: string, attributes: Readonly<Record<string, string>> = {}): Promise<void> {
    this.queue.sendMessage(body, { attributes: { ...attributes, reason } });
  }
}

/** Concise human log lines for the terminal (local and emulator modes); secrets are never passed to it. */
export function terminalLog(print: (line: string) => void): LogSink {
  const fmt = (level: string, message: string, extra: Record<string, unknown>[]) => {
    const fields = Object.assign({}, ...extra) as Record<string, unknown>;
    const kv = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    print(`${new Date().toISOString()} ${level.padEnd(5)} ${message}${kv ? ` ${kv}` : ''}`);
  };
  return {
    debug: (m, ...e) => fmt('debug', m, e),
    info: (m, ...e) => fmt('info', m, e),
    warn: (m, ...e) => fmt('warn', m, e),
    error: (m, ...e) => fmt('error', m, e),
  };
}

/**
 * Starts the whole service in this process: dynalite (tables from the stack's definitions),
 * the bus (PutEvents on the HTTP port), in-process queues with SQS semantics, the delivery and
 * retry handlers behind event-source-mapping consumers, and the HTTP server.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const baseEnv = options.env ?? process.env;
  const print = options.print ?? ((line: string) => console.log(line));
  const dataDir = options.dataDir === ':memory:' ? undefined : resolve(options.dataDir ?? '.webhooks-data');
  if (dataDir) mkdirSync(join(dataDir, 'queues'), { recursive: true });

  const dynamo = await startDynalite(dataDir ? { path: join(dataDir, 'dynamodb') } : {});
  await ensureTables(dynamo.client, LOCAL_TABLES);

  // As on SQS, a record a handler could not process reappears after the queue's visibility
  // timeout (6x the function timeout); WEBHOOKS_LOCAL_VISIBILITY_TIMEOUT_SECONDS shortens it for fault tests.
  const visibility = Number(baseEnv.WEBHOOKS_LOCAL_VISIBILITY_TIMEOUT_SECONDS ?? PIPELINE.functionTimeoutSeconds * PIPELINE.visibilityTimeoutFactor);
  const journal = (name: string) => (dataDir ? { journalPath: join(dataDir, 'queues', `${name}.jsonl`) } : {});
  const eventsDlq = new LocalQueue('events-dlq', { visibilityTimeoutSeconds: 30, ...journal('events-dlq') });
  const retryDlq = new LocalQueue('retry-dlq', { visibilityTimeoutSeconds: 30, ...journal('retry-dlq') });
  const failedDeliveries = new LocalQueue('failed-deliveries', { visibilityTimeoutSeconds: 30, ...journal('failed-deliveries') });
  const redrivePolicy = (dlq: LocalQueue) => ({ maxReceiveCount: PIPELINE.maxReceiveCount, deadLetterQueue: dlq });
  const events = new LocalQueue('events', { visibilityTimeoutSeconds: visibility, ...redrivePolicy(eventsDlq), ...journal('events') });
  const retry = new LocalQueue('retry', { visibilityTimeoutSeconds: visibility, ...redrivePolicy(retryDlq), ...journal('retry') });
  const queues: LocalQueues = { events, eventsDlq, retry, retryDlq, failedDeliveries };

  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    [ENV.webhooksTable]: LOCAL_TABLES.webhooks,
    [ENV.deliveriesTable]: LOCAL_TABLES.deliveries,
    [ENV.apiKeysTable]: LOCAL_TABLES.apiKeys,
    [ENV.eventsDlqUrl]: 'local://events-dlq',
    [ENV.retryQueueUrl]: 'local://retry',
    [ENV.failedQueueUrl]: 'local://failed-deliveries',
    // Local defaults: loopback receivers and plain http work; WEBHOOKS_ALLOW_PRIVATE_TARGETS=false applies production rules.
    [ENV.allowPrivateTargets]: baseEnv[ENV.allowPrivateTargets] ?? 'true',
    [ENV.allowHttp]: baseEnv[ENV.allowHttp] ?? 'true',
  };
  const log = terminalLog(print);
  const runtime = createDeliveryRuntime(env, {
    cipher: new LocalKeyCipher(dataDir ? localSecretsKey(join(dataDir, 'secrets.key')) : randomBytes(32)),
    doc: handlerDocumentClient(dynamo.endpoint, options.configureDynamo),
    retryQueue: new LocalRetryQueue(retry),
    eventsDlq: new LocalDeadLetters(eventsDlq),
    failedSink: new LocalDeadLetters(failedDeliveries),
    log,
  });

  const consumerOptions = (functionName: string) => ({
    batchSize: PIPELINE.batchSize,
    batchingWindowMs: Number(baseEnv.WEBHOOKS_LOCAL_BATCHING_WINDOW_MS ?? 20),
    concurrency: 2,
    functionName,
    timeoutMs: PIPELINE.functionTimeoutSeconds * 1000,
    onError: (err: unknown) => log.error('consumer error', { functionName, error: err instanceof Error ? err.message : String(err) }),
  });
  const consumers = [
    new QueueConsumer(new LocalPollSource(events), createDeliveryHandler(runtime), consumerOptions('delivery')),
    new QueueConsumer(new LocalPollSource(retry), createRetryHandler(runtime), consumerOptions('retry')),
  ];

  const source = baseEnv[ENV.eventSource] ?? DEFAULT_EVENT_SOURCE;
  const bus = new LocalBus('visit-webhooks-local', [
    { name: 'visit-events', pattern: visitEventPattern(source), target: (json) => events.sendMessage(json) },
  ]);

  const core: LocalStackCore = { dynamo, tables: LOCAL_TABLES, queues, runtime, env, dataDir };
  const routes = options.routes ? await options.routes(core) : undefined;
  const redriveRoutes: Record<string, [LocalQueue, LocalQueue]> = {
    events: [eventsDlq, events],
    retry: [retryDlq, retry],
    failed: [failedDeliveries, retry],
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 2 * 1024 * 1024) chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      handle(req, res, body).catch((err: unknown) => {
        log.error('request failed', { path: req.url, error: err instanceof Error ? err.message : String(err) });
        if (!res.headersSent) send(res, 500, { error: { code: 'internal_error', message: 'internal error', details: [] } });
      });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const target = req.headers['x-amz-target'];
    if (req.method === 'POST' && url.pathname === '/' && typeof target === 'string') {
      const out = bus.handle(target, body.toString('utf8'));
      res.writeHead(out.status, { 'content-type': bus.contentType });
      res.end(out.body);
      return;
    }
    if (url.pathname === '/_local/health') return send(res, 200, { ok: true });
    if (url.pathname === '/_local/queues' && req.method === 'GET') {
      return send(res, 200, Object.fromEntries(Object.entries(queues).map(([k, q]) => [k, { messages: (q as LocalQueue).size(), sample: (q as LocalQueue).peek(5) }])));
    }
    if (url.pathname === '/_local/redrive' && req.method === 'POST') {
      let input: { queue?: string; dryRun?: boolean; max?: number };
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as typeof input;
      } catch {
        return send(res, 400, { error: { code: 'bad_request', message: 'body is not JSON', details: [] } });
      }
      const pair = redriveRoutes[input.queue ?? ''];
      if (!pair) return send(res, 400, { error: { code: 'bad_request', message: `queue must be one of ${Object.keys(redriveRoutes).join(', ')}`, details: [] } });
      const depth = await pair[0].depth();
      const result = await redrive(pair[0], pair[1], { dryRun: input.dryRun ?? false, ...(input.max !== undefined ? { max: input.max } : {}) });
      return send(res, 200, { depth, ...result });
    }
    if (routes && (await routes(req, res, body))) return;
    if (url.pathname === '/' && req.method === 'GET') {
      return send(res, 200, { service: 'visit-webhooks (local)', api: '/v1', openapi: '/v1/openapi.json', bus: 'POST / (EventBridge PutEvents)' });
    }
    send(res, 404, { error: { code: 'not_found', message: 'no such route', details: [] } });
  }

  // A request node's HTTP parser refuses (bare CR or LF in a header, a malformed request line,
  // conflicting lengths, an oversized head) gets the API's JSON error shape too, not node's
  // bodiless 400.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({
      error: { code: status === 431 ? 'payload_too_large' : 'validation_error', message: status === 431 ? 'request head too large' : 'malformed HTTP request', details: [] },
    });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });

  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, '127.0.0.1', () => resolveListen());
  });
  for (const c of consumers) c.start();
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    ...core,
    url: `http://127.0.0.1:${port}`,
    port,
    bus,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        // consumers finish their in-flight batch; records not deleted stay in the journal
        await Promise.all(consumers.map((c) => c.stop()));
        for (const s of sockets) s.destroy();
        await closed;
        await runtime.sender.close();
        await dynamo.close();
      })()),
  };
}

function handlerDocumentClient(endpoint: string, configure?: (client: DynamoDBClient) => void): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint });
  configure?.(client);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * The local key that encrypts signing secrets at rest: made on first start, kept in the data
 * dir with file mode 600 (the AWS stack uses KMS instead).
 */
export function localSecretsKey(path: string): Buffer {
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key`);
  return key;
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
