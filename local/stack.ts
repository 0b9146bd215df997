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
  const dataDir = prepareDataDir(options.dataDir);
  const dynamo = await startTables(dataDir);
  const queues = createQueues(dataDir, baseEnv);
  const env = handlerEnv(baseEnv);
  const log = terminalLog(print);
  const runtime = createRuntime({ env, dataDir, dynamo, queues, log, configureDynamo: options.configureDynamo });
  const consumers = createConsumers(runtime, queues, baseEnv, log);
  const bus = createBus(queues.events, baseEnv);

  const core: LocalStackCore = { dynamo, tables: LOCAL_TABLES, queues, runtime, env, dataDir };
  const routes = options.routes ? await options.routes(core) : undefined;
  const http = createHttpServer(requestHandler(bus, queues, routes), log);
  await listen(http.server, options.port ?? 3000);
  for (const c of consumers) c.start();
  const { port } = http.server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    ...core,
    url: `http://127.0.0.1:${port}`,
    port,
    bus,
    close: () => (closing ??= closeStack({ ...http, consumers, runtime, dynamo })),
  };
}

/** The absolute data directory, created with its `queues/` folder; undefined for ':memory:'. */
function prepareDataDir(option: string | undefined): string | undefined {
  const dataDir = option === ':memory:' ? undefined : resolve(option ?? '.webhooks-data');
  if (dataDir) mkdirSync(join(dataDir, 'queues'), { recursive: true });
  return dataDir;
}

/** dynalite (on disk in the data dir, or in memory) with the stack's tables. */
async function startTables(dataDir: string | undefined): Promise<LocalDynamo> {
  const dynamo = await startDynalite(dataDir ? { path: join(dataDir, 'dynamodb') } : {});
  await ensureTables(dynamo.client, LOCAL_TABLES);
  return dynamo;
}

/** The stack's queues with their redrive policies, journaled in the data dir. */
function createQueues(dataDir: string | undefined, baseEnv: NodeJS.ProcessEnv): LocalQueues {
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
  return { events, eventsDlq, retry, retryDlq, failedDeliveries };
}

/** The handlers' environment: the local table names and queue "URLs" on top of `baseEnv`. */
function handlerEnv(baseEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
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
}

interface RuntimeParts {
  readonly env: NodeJS.ProcessEnv;
  readonly dataDir: string | undefined;
  readonly dynamo: LocalDynamo;
  readonly queues: LocalQueues;
  readonly log: LogSink;
  readonly configureDynamo: ((client: DynamoDBClient) => void) | undefined;
}

/** The delivery runtime of the AWS functions, with the local queues and the local secrets key as its adapters. */
function createRuntime({ env, dataDir, dynamo, queues, log, configureDynamo }: RuntimeParts): DeliveryRuntime {
  return createDeliveryRuntime(env, {
    cipher: new LocalKeyCipher(dataDir ? localSecretsKey(join(dataDir, 'secrets.key')) : randomBytes(32)),
    doc: handlerDocumentClient(dynamo.endpoint, configureDynamo),
    retryQueue: new LocalRetryQueue(queues.retry),
    eventsDlq: new LocalDeadLetters(queues.eventsDlq),
    failedSink: new LocalDeadLetters(queues.failedDeliveries),
    log,
  });
}

/** The two event source mappings: the delivery handler on the events queue, the retry handler on the retry queue (not started). */
function createConsumers(runtime: DeliveryRuntime, queues: LocalQueues, baseEnv: NodeJS.ProcessEnv, log: LogSink): QueueConsumer[] {
  const consumerOptions = (functionName: string) => ({
    batchSize: PIPELINE.batchSize,
    batchingWindowMs: Number(baseEnv.WEBHOOKS_LOCAL_BATCHING_WINDOW_MS ?? 20),
    concurrency: 2,
    functionName,
    timeoutMs: PIPELINE.functionTimeoutSeconds * 1000,
    onError: (err: unknown) => log.error('consumer error', { functionName, error: err instanceof Error ? err.message : String(err) }),
  });
  return [
    new QueueConsumer(new LocalPollSource(queues.events), createDeliveryHandler(runtime), consumerOptions('delivery')),
    new QueueConsumer(new LocalPollSource(queues.retry), createRetryHandler(runtime), consumerOptions('retry')),
  ];
}

/** The event bus with the stack's one rule: visit events of the configured source go to the events queue. */
function createBus(events: LocalQueue, baseEnv: NodeJS.ProcessEnv): LocalBus {
  const source = baseEnv[ENV.eventSource] ?? DEFAULT_EVENT_SOURCE;
  return new LocalBus('visit-webhooks-local', [
    { name: 'visit-events', pattern: visitEventPattern(source), target: (json) => events.sendMessage(json) },
  ]);
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

/**
 * Every HTTP request: PutEvents on `/`, the local-only `/_local/*` helpers, then the mounted
 * routes (API, dashboard), then a small index on `GET /` and a JSON 404.
 */
function requestHandler(bus: LocalBus, queues: LocalQueues, routes: LocalRoutes | undefined): RequestHandler {
  return async (req, res, body) => {
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
    if (url.pathname === '/_local/redrive' && req.method === 'POST') return handleRedrive(res, body, queues);
    if (routes && (await routes(req, res, body))) return;
    if (url.pathname === '/' && req.method === 'GET') {
      return send(res, 200, { service: 'visit-webhooks (local)', api: '/v1', openapi: '/v1/openapi.json', bus: 'POST / (EventBridge PutEvents)' });
    }
    send(res, 404, { error: { code: 'not_found', message: 'no such route', details: [] } });
  };
}

/** `POST /_local/redrive` `{queue, dryRun?, max?}`: moves a dead-letter queue's messages back to where they came from. */
async function handleRedrive(res: ServerResponse, body: Buffer, queues: LocalQueues): Promise<void> {
  const redriveRoutes: Record<string, [LocalQueue, LocalQueue]> = {
    events: [queues.eventsDlq, queues.events],
    retry: [queues.retryDlq, queues.retry],
    failed: [queues.failedDeliveries, queues.retry],
  };
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

interface LocalHttpServer {
  readonly server: Server;
  /** Open connections, destroyed on close once the consumers have stopped. */
  readonly sockets: Set<Socket>;
}

/** The HTTP server (not listening yet): reads each body (kept up to 2 MiB) and hands it to `handle`; a failure is a JSON 500. */
function createHttpServer(handle: RequestHandler, log: LogSink): LocalHttpServer {
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
  server.on('clientError', answerClientError);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return { server, sockets };
}

/**
 * A request node's HTTP parser refuses (bare CR or LF in a header, a malformed request line,
 * conflicting lengths, an oversized head) gets the API's JSON error shape too, not node's
 * bodiless 400.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify({
    error: { code: status === 431 ? 'payload_too_large' : 'validation_error', message: status === 431 ? 'request head too large' : 'malformed HTTP request', details: [] },
  });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/** Listens on 127.0.0.1 (`port` 0 picks a free one). */
function listen(server: Server, port: number): Promise<void> {
  return new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
}

interface RunningParts extends LocalHttpServer {
  readonly consumers: readonly QueueConsumer[];
  readonly runtime: DeliveryRuntime;
  readonly dynamo: LocalDynamo;
}

/** Stops accepting, lets the consumers finish their in-flight batches, then closes connections, the sender and dynalite. */
async function closeStack({ server, sockets, consumers, runtime, dynamo }: RunningParts): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  server.closeIdleConnections();
  // consumers finish their in-flight batch; records not deleted stay in the journal
  await Promise.all(consumers.map((c) => c.stop()));
  for (const s of sockets) s.destroy();
  await closed;
  await runtime.sender.close();
  await dynamo.close();
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
