import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDeliveryHandler } from '../lambdas/delivery/app';
import { createRetryHandler } from '../lambdas/retry/app';
import { DEFAULT_EVENT_SOURCE, DEFAULT_OPERATIONAL_EVENT_SOURCE, ENV, operationalEventPattern, PIPELINE, visitEventPattern } from '../lambdas/shared/contract';
import type { BreakerSettings } from '../lambdas/shared/domain/breaker';
import type { RetryMessage } from '../lambdas/shared/domain/messages';
import type { DeadLetterSink, LogSink, RedriveQueue, RetryQueue } from '../lambdas/shared/domain/ports';
import { RecoveryService } from '../lambdas/shared/domain/recovery-service';
import { type ReconcileReport, Reconciler } from '../lambdas/shared/domain/reconciler';
import { LocalKeyCipher } from '../lambdas/shared/adapters/secret-cipher';
import { redrive } from '../lambdas/shared/domain/redrive';
import { createDeliveryRuntime, type DeliveryRuntime } from '../lambdas/shared/composition/delivery-runtime';
import { numberEnv } from '../lambdas/shared/composition/env';
import { LocalBus, LocalBusOperationalEvents } from './bus';
import { LocalPollSource, QueueConsumer } from './consumer';
import { ensureTables, LOCAL_AWS_CONFIG, type LocalDynamo, startDynalite, type TableNames } from './dynamo';
import { LocalQueue } from './queue';
import { ReconcilerTimer } from './reconciler-timer';

/** Table names of the local stack (there is one stack per data dir). */
export const LOCAL_TABLES: TableNames = { webhooks: 'webhooks', deliveries: 'deliveries', stats: 'stats', apiKeys: 'api-keys' };

/**
 * The local runtime's own settings (environment; none of them exists in AWS, where Lambda and
 * the schedule play these parts).
 */
export const LOCAL_ENV = {
  /** Concurrent invocations of the delivery handler on the events queue (the fast lane). @default 8 */
  fastLaneConcurrency: 'WEBHOOKS_LOCAL_FAST_LANE_CONCURRENCY',
  /** Concurrent invocations of the retry handler on the retry queue (the slow lane). @default 4 */
  slowLaneConcurrency: 'WEBHOOKS_LOCAL_SLOW_LANE_CONCURRENCY',
  /** How long `close()` (SIGTERM, SIGINT) lets in-flight invocations finish before aborting their attempts. @default 30000 */
  shutdownDrainMs: 'WEBHOOKS_SHUTDOWN_DRAIN_MS',
} as const;

export const LOCAL_DEFAULTS = {
  fastLaneConcurrency: 8,
  slowLaneConcurrency: 4,
  shutdownDrainMs: 30_000,
  /** The reconciler timer's period (`WEBHOOKS_RECONCILE_EVERY_SECONDS`; 0 = no timer); AWS's schedule is DEFAULTS.reconcileEverySeconds. */
  reconcileEverySeconds: 5,
  /** After the drain and the abort, how long `close()` still waits for handlers to return before closing anyway. */
  abortGraceMs: 10_000,
} as const;

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
  /**
   * Lane and breaker settings on top of the environment's, for the delivery runtime and the
   * reconciler alike (e.g. a short `probeIntervalMs` in tests: the domain has no variable for it).
   */
  readonly settings?: Partial<BreakerSettings>;
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
  /**
   * Runs a reconciler tick now (probes, paced release of parked deliveries, overdue sweep), after
   * the one under way if any; the timer runs them every `WEBHOOKS_RECONCILE_EVERY_SECONDS` too.
   */
  reconcile(): Promise<ReconcileReport>;
  /**
   * Stops within a bounded drain: stops polling (and the reconciler) at once, lets in-flight
   * invocations finish for up to `WEBHOOKS_SHUTDOWN_DRAIN_MS`, then aborts their attempts (each
   * delivery is handed on, same id, on the journaled retry queue), waits for the handlers to
   * return and closes. Anything not done stays in the journals for the next start.
   */
  close(): Promise<void>;
}

/**
 * The retry queue as the slow lane's port: a fair queue, one message group per webhook (as the
 * SQS fair queue in AWS, `MessageGroupId` = webhook id), so one webhook's backlog never delays
 * another's retries.
 */
class LocalRetryQueue implements RetryQueue {
  constructor(private readonly queue: LocalQueue) {}
  async enqueue(message: RetryMessage, delaySeconds: number): Promise<void> {
    this.queue.sendMessage(JSON.stringify(message), { delaySeconds, groupId: message.webhookId });
  }
}

/** The retry queue as a redrive target: moved messages keep to their webhook's message group. */
function fairRedriveTarget(queue: LocalQueue): RedriveQueue {
  return {
    receive: (max) => queue.receive(max),
    remove: (handle) => queue.remove(handle),
    release: (handle) => queue.release(handle),
    depth: () => queue.depth(),
    send: async (body, attributes = {}) => {
      const groupId = webhookIdOf(body);
      queue.sendMessage(body, { attributes: { ...attributes }, ...(groupId ? { groupId } : {}) });
    },
  };
}

function webhookIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { webhookId?: unknown };
    return typeof parsed?.webhookId === 'string' ? parsed.webhookId : undefined;
  } catch {
    return undefined;
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
  // Read first: a bad value fails the start before anything runs.
  const local = localSettings(baseEnv);
  const dataDir = prepareDataDir(options.dataDir);
  const dynamo = await startTables(dataDir);
  const queues = createQueues(dataDir, baseEnv);
  if (dataDir) restrictToOwner(dataDir);
  const env = handlerEnv(baseEnv);
  const log = terminalLog(print);
  // Aborted when the drain runs out: attempts in flight end at once and are handed on.
  const shutdown = new AbortController();
  // One listener per attempt in flight (hundreds at once): not a leak.
  setMaxListeners(0, shutdown.signal);
  const bus = createBus(queues.events, baseEnv);
  const operationalEvents = new LocalBusOperationalEvents(bus, env[ENV.operationalEventSource] ?? DEFAULT_OPERATIONAL_EVENT_SOURCE);
  const runtime = createRuntime({ env, dataDir, dynamo, queues, log, configureDynamo: options.configureDynamo, settings: options.settings, shutdown: shutdown.signal, operationalEvents });
  warnIfNoTimeToAttempt(runtime, log);
  const consumers = createConsumers(runtime, queues, baseEnv, local, log);
  const reconciler = createReconcilerTimer(runtime, local, log);

  const core: LocalStackCore = { dynamo, tables: LOCAL_TABLES, queues, runtime, env, dataDir };
  const routes = options.routes ? await options.routes(core) : undefined;
  const http = createHttpServer(requestHandler(bus, queues, routes), log);
  await listen(http.server, options.port ?? 3000);
  for (const c of consumers) c.start();
  reconciler.start();
  const { port } = http.server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    ...core,
    url: `http://127.0.0.1:${port}`,
    port,
    bus,
    reconcile: () => reconciler.runNow(),
    close: () => (closing ??= closeStack({ ...http, consumers, reconciler, runtime, dynamo, shutdown, drainMs: local.drainMs, log })),
  };
}

interface LocalSettings {
  readonly drainMs: number;
  readonly fastLaneConcurrency: number;
  readonly slowLaneConcurrency: number;
  readonly reconcileEverySeconds: number;
}

/** The local runtime's own settings from the environment (LOCAL_ENV; the reconciler's period from ENV). */
function localSettings(baseEnv: NodeJS.ProcessEnv): LocalSettings {
  return {
    drainMs: numberEnv(LOCAL_ENV.shutdownDrainMs, LOCAL_DEFAULTS.shutdownDrainMs, baseEnv),
    fastLaneConcurrency: Math.max(1, Math.floor(numberEnv(LOCAL_ENV.fastLaneConcurrency, LOCAL_DEFAULTS.fastLaneConcurrency, baseEnv))),
    slowLaneConcurrency: Math.max(1, Math.floor(numberEnv(LOCAL_ENV.slowLaneConcurrency, LOCAL_DEFAULTS.slowLaneConcurrency, baseEnv))),
    reconcileEverySeconds: numberEnv(ENV.reconcileEverySeconds, LOCAL_DEFAULTS.reconcileEverySeconds, baseEnv),
  };
}

/**
 * The absolute data directory, created with its `queues/` and `dynamodb/` folders; undefined for
 * ':memory:'. It holds visit payloads (visitor IPs), signing secrets and the secrets key, so it is
 * its owner's only: folders 700, files 600. The folder is closed before anything is written into
 * it; once the tables and queues are open, {@link restrictToOwner} sets every file in it (a data dir
 * made by an older version, or copied with other modes, is fixed too). Files dynalite creates
 * later get the process umask (`npm start` sets 077) inside the closed folder.
 */
function prepareDataDir(option: string | undefined): string | undefined {
  const dataDir = option === ':memory:' ? undefined : resolve(option ?? '.webhooks-data');
  if (!dataDir) return undefined;
  for (const dir of [dataDir, join(dataDir, 'queues'), join(dataDir, 'dynamodb')]) mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dataDir, PRIVATE_DIR_MODE); // before anything is written into it
  return dataDir;
}

/** Mode of the data dir and its folders (owner only). */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file in the data dir (owner read and write). */
export const PRIVATE_FILE_MODE = 0o600;

/** Sets `dir` and everything under it (symbolic links are left alone) to owner-only modes. */
function restrictToOwner(dir: string): void {
  chmodSync(dir, PRIVATE_DIR_MODE);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) restrictToOwner(path);
    else if (entry.isFile()) chmodSync(path, PRIVATE_FILE_MODE);
  }
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
    [ENV.statsTable]: LOCAL_TABLES.stats,
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
  readonly settings: Partial<BreakerSettings> | undefined;
  readonly shutdown: AbortSignal;
  readonly operationalEvents: LocalBusOperationalEvents;
}

/** The delivery runtime of the AWS functions, with the local queues and the local secrets key as its adapters. */
function createRuntime({ env, dataDir, dynamo, queues, log, configureDynamo, settings, shutdown, operationalEvents }: RuntimeParts): DeliveryRuntime {
  return createDeliveryRuntime(env, {
    cipher: new LocalKeyCipher(dataDir ? localSecretsKey(join(dataDir, 'secrets.key')) : randomBytes(32)),
    doc: handlerDocumentClient(dynamo.endpoint, configureDynamo),
    retryQueue: new LocalRetryQueue(queues.retry),
    eventsDlq: new LocalDeadLetters(queues.eventsDlq),
    failedSink: new LocalDeadLetters(queues.failedDeliveries),
    operationalEvents,
    log,
    shutdown,
    ...(settings ? { settings } : {}),
  });
}

/**
 * An attempt budget longer than an invocation has for attempts (the function timeout less the
 * recording margin) leaves the slow lane handing every delivery on without ever attempting it.
 */
function warnIfNoTimeToAttempt(runtime: DeliveryRuntime, log: LogSink): void {
  const { attemptTimeoutMs, recordMarginMs } = runtime.service.settings;
  const usable = PIPELINE.functionTimeoutSeconds * 1000 - recordMarginMs;
  if (attemptTimeoutMs > usable) {
    log.warn(`${ENV.deliveryTimeoutMs} is longer than an invocation has for an attempt: the slow lane would never attempt a delivery`, { attemptTimeoutMs, usableMs: usable });
  }
}

/**
 * The two event source mappings (not started): the delivery handler on the events queue (the
 * fast lane: enough invocations that a few slow neighbours cannot hold them all) and the retry
 * handler on the retry queue (the slow lane), each with its own concurrency.
 */
function createConsumers(runtime: DeliveryRuntime, queues: LocalQueues, baseEnv: NodeJS.ProcessEnv, local: LocalSettings, log: LogSink): QueueConsumer[] {
  const consumerOptions = (functionName: string, concurrency: number) => ({
    batchSize: PIPELINE.batchSize,
    batchingWindowMs: Number(baseEnv.WEBHOOKS_LOCAL_BATCHING_WINDOW_MS ?? 20),
    concurrency,
    functionName,
    timeoutMs: PIPELINE.functionTimeoutSeconds * 1000,
    onError: (err: unknown) => log.error('consumer error', { functionName, error: err instanceof Error ? err.message : String(err) }),
  });
  return [
    new QueueConsumer(new LocalPollSource(queues.events), createDeliveryHandler(runtime), consumerOptions('delivery', local.fastLaneConcurrency)),
    new QueueConsumer(new LocalPollSource(queues.retry), createRetryHandler(runtime), consumerOptions('retry', local.slowLaneConcurrency)),
  ];
}

/**
 * The reconciler as composition/reconciler-runtime.ts wires it, on the local stack's adapters:
 * the delivery runtime's stores (the same dynalite tables; its cached webhook store, so a breaker
 * change is seen by the lanes at once) and the local retry queue, with the lanes' settings. Run by
 * a timer every `WEBHOOKS_RECONCILE_EVERY_SECONDS` (5 s locally; 0 = only `stack.reconcile()`).
 */
function createReconcilerTimer(runtime: DeliveryRuntime, local: LocalSettings, log: LogSink): ReconcilerTimer {
  const everySeconds = local.reconcileEverySeconds;
  const reconciler = new Reconciler({
    webhooks: runtime.webhooks,
    deliveries: runtime.deliveries,
    retryQueue: runtime.retryQueue,
    clock: runtime.clock,
    log: runtime.log,
    metrics: runtime.metrics,
    // The release pace is spread over a tick; without a timer, over a second per `reconcile()`.
    everySeconds: everySeconds > 0 ? everySeconds : 1,
    settings: runtime.service.settings,
    recovery: new RecoveryService(runtime.deliveries, runtime.retryQueue, runtime.clock, runtime.retryPolicy.maxRetries, runtime.recoveryJobs, runtime.log),
    ...(runtime.operationalEvents ? { operationalEvents: runtime.operationalEvents } : {}),
  });
  return new ReconcilerTimer(reconciler, everySeconds * 1000, log);
}

/**
 * The event bus with the stack's two rules to the events queue: visit events of the configured
 * source, and the service's operational events (for the webhooks subscribed to them).
 */
function createBus(events: LocalQueue, baseEnv: NodeJS.ProcessEnv): LocalBus {
  const source = baseEnv[ENV.eventSource] ?? DEFAULT_EVENT_SOURCE;
  const operationalSource = baseEnv[ENV.operationalEventSource] ?? DEFAULT_OPERATIONAL_EVENT_SOURCE;
  return new LocalBus('visit-webhooks-local', [
    { name: 'visit-events', pattern: visitEventPattern(source), target: (json) => events.sendMessage(json) },
    { name: 'operational-events', pattern: operationalEventPattern(operationalSource), target: (json) => events.sendMessage(json) },
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
  const redriveRoutes: Record<string, [LocalQueue, RedriveQueue]> = {
    events: [queues.eventsDlq, queues.events],
    retry: [queues.retryDlq, fairRedriveTarget(queues.retry)],
    failed: [queues.failedDeliveries, fairRedriveTarget(queues.retry)],
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
  readonly reconciler: ReconcilerTimer;
  readonly runtime: DeliveryRuntime;
  readonly dynamo: LocalDynamo;
  readonly shutdown: AbortController;
  readonly drainMs: number;
  readonly log: LogSink;
}

/**
 * The bounded drain:
 *
 * 1. stop accepting HTTP connections, stop polling both queues and stop the reconciler timer;
 * 2. let in-flight invocations (and a tick under way) finish, for up to `drainMs`;
 * 3. if some are still running, abort: attempts in flight end at once and their deliveries are
 *    handed on, same id, on the journaled retry queue (recorded pending, with the reason);
 * 4. wait for the handlers to return (quick now; bounded all the same), so each record is deleted
 *    or left in the journal, where it becomes visible again at the next start;
 * 5. close connections, the sender and dynalite. The journals are written synchronously, send by
 *    send: there is nothing left to flush.
 */
async function closeStack({ server, sockets, consumers, reconciler, runtime, dynamo, shutdown, drainMs, log }: RunningParts): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  server.closeIdleConnections();
  for (const c of consumers) c.stopPolling();
  const idle = Promise.all([...consumers.map((c) => c.drained()), reconciler.stop()]);
  if (!(await within(idle, drainMs))) {
    const inFlight = consumers.reduce((n, c) => n + c.inFlight, 0);
    log.warn('shutdown: drain time is up; interrupting the deliveries in flight (they are re-queued for the next start)', { drainMs, invocations: inFlight });
    shutdown.abort(new Error('the local runtime is shutting down'));
    if (!(await within(idle, LOCAL_DEFAULTS.abortGraceMs))) {
      log.error('shutdown: handlers still running after the abort; closing anyway (their messages come back at the next start)', { graceMs: LOCAL_DEFAULTS.abortGraceMs });
    }
  }
  // From here on no delivery attempt starts or goes on (a handler past the grace hands its deliveries on).
  if (!shutdown.signal.aborted) shutdown.abort(new Error('the local runtime is shutting down'));
  for (const s of sockets) s.destroy();
  await closed;
  await within(runtime.sender.close(), LOCAL_DEFAULTS.abortGraceMs);
  await dynamo.close();
}

/** Whether `promise` settled within `ms` (its result or failure is not waited for beyond that). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    const settled = promise.then(
      () => true,
      () => true,
    );
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
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
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('base64'), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  chmodSync(path, PRIVATE_FILE_MODE);
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key`);
  return key;
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
