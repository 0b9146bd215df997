import { createServer, type Server, type Socket } from 'node:net';
import {
  type DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { VisitEventType } from '../../lambdas/shared/contract';
import type { Webhook } from '../../lambdas/shared/domain/model';
import { publishVisitEvent } from '../../lambdas/shared/adapters/eventbridge-publisher';
import { LOCAL_AWS_CONFIG } from '../../local/dynamo';
import { LOCAL_TABLES, type LocalStack } from '../../local/stack';
import { visitFixture } from '../../local/lambda-events';
import { webhookFixture } from '../../local/harness/webhook-fixture';

/**
 * Support for the fault suite: hostile receivers that HTTP servers cannot play (raw TCP), a
 * DynamoDB fault injector (SDK middleware), and the accounting that proves nothing was lost.
 */

export { eventually } from '../helpers/eventually';

/** One request a receiver saw: its `webhook-id` and whether the receiver answered it with a 2xx. */
export interface Seen {
  readonly webhookId: string;
  readonly ok: boolean;
  readonly at: number;
}

/** A raw TCP receiver: sees each request's head, then misbehaves as told. */
export interface RawReceiver {
  readonly url: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/**
 * Starts a TCP server on 127.0.0.1:0 that reads each connection's request head (to record its
 * `webhook-id`) and then hands the socket to `misbehave`. Every connection carries one request:
 * none of these receivers ever completes a response, so the client never reuses the connection.
 */
export async function startRawReceiver(misbehave: (socket: Socket) => void): Promise<RawReceiver> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    let handled = false;
    socket.on('data', (chunk: Buffer) => {
      if (handled) return;
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      handled = true;
      const id = /\r\nwebhook-id: *([^\r\n]+)/i.exec(head.slice(0, end))?.[1] ?? '';
      seen.push({ webhookId: id, ok: false, at: Date.now() });
      misbehave(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Accepts the connection, reads the request, never answers. */
export const neverAnswer = (): void => undefined;

/** Answers a valid 200 one byte at a time, slowly: the head alone would take seconds. */
export const dribble =
  (intervalMs = 150) =>
  (socket: Socket): void => {
    const answer = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok');
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= answer.length) {
        clearInterval(timer);
        return;
      }
      socket.write(answer.subarray(i, i + 1));
      i++;
    }, intervalMs);
    socket.on('close', () => clearInterval(timer));
  };

/** Starts a 200 with a 1000-byte body, sends 7 bytes of it, then resets the connection (TCP RST). */
export const resetMidBody = (socket: Socket): void => {
  socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\npartial', () => {
    setTimeout(() => socket.resetAndDestroy(), 20);
  });
};

/** A webhook written straight to the table (the API's own rules are tested elsewhere). */
export async function putWebhook(stack: LocalStack, partial: Partial<Webhook> & Pick<Webhook, 'accountId' | 'webhookId' | 'url'>): Promise<Webhook> {
  const doc = DynamoDBDocumentClient.from(stack.dynamo.client);
  const now = new Date().toISOString();
  const webhook = webhookFixture({ name: partial.webhookId, ...partial }, now);
  await doc.send(new PutCommand({ TableName: LOCAL_TABLES.webhooks, Item: webhook }));
  return webhook;
}

/** Publishes `count` visits through the local bus with the real EventBridgeClient; returns the event ids. */
export async function publishVisits(url: string, accountId: string, count: number, prefix: string, eventType: VisitEventType = 'NEW_VISIT'): Promise<string[]> {
  const client = new EventBridgeClient({ ...LOCAL_AWS_CONFIG, endpoint: url });
  try {
    const events = Array.from({ length: count }, (_, i) => ({ eventType, accountId, data: { ...visitFixture, id: `${prefix}_${i}` } }));
    return await publishVisitEvent(client, events, { eventBusName: 'default' });
  } finally {
    client.destroy();
  }
}

const FAULTS = [
  () => new ProvisionedThroughputExceededException({ message: 'injected: provisioned throughput exceeded', $metadata: { httpStatusCode: 400 } }),
  () => new ThrottlingException({ message: 'injected: throttling', $metadata: { httpStatusCode: 400 } }),
  () => new InternalServerError({ message: 'injected: internal server error', $metadata: { httpStatusCode: 500 } }),
] as const;

/** An SDK retry strategy that never retries (the SDK's default makes 3 attempts with backoff). */
const ONE_ATTEMPT = {
  mode: 'standard',
  acquireInitialRetryToken: async () => ({ getRetryCount: () => 0, getRetryDelay: () => 0 }),
  refreshRetryTokenForRetry: async (): Promise<never> => {
    throw new Error('no retries');
  },
  recordSuccess: () => undefined,
};

/**
 * Fails DynamoDB commands from inside the SDK (middleware on the handlers' client, placed
 * under the retry middleware where a service error would surface), cycling through throttling
 * (`ProvisionedThroughputExceededException`, `ThrottlingException`) and 5xx
 * (`InternalServerError`). The client's retries are turned down to one attempt first, so every
 * injected fault reaches our code instead of being absorbed by the SDK's own retries.
 */
export class DynamoFaults {
  enabled = false;
  private readonly calls = new Map<string, number>();
  /** Faults injected, by command and by error name. */
  readonly injected = new Map<string, Map<string, number>>();
  /** SDK attempts behind each fault that reached our code (1 = the SDK did not retry it). */
  readonly attemptsSeen: number[] = [];
  private rotation = 0;
  private seed: number;

  /**
   * Fail a command's calls at random with probability `rate`, at most `max` times in all (so a
   * run ends). The generator is seeded: a failing run can be replayed.
   */
  constructor(
    private readonly plan: Readonly<Record<string, { readonly rate: number; readonly max: number }>>,
    seed = 20_261_128,
  ) {
    this.seed = seed;
  }

  install = (client: DynamoDBClient): void => {
    (client.config as unknown as { retryStrategy: () => Promise<unknown> }).retryStrategy = async () => ONE_ATTEMPT;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const fault = this.next(context.commandName ?? '');
        if (fault) throw fault;
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'injectDynamoFaults' },
    );
    // Outermost: what our code receives.
    client.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          if (String((err as Error).message).startsWith('injected:')) this.attemptsSeen.push((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 0);
          throw err;
        }
      },
      { step: 'initialize', priority: 'high', name: 'observeDynamoFaults' },
    );
  };

  total(command?: string): number {
    let n = 0;
    for (const [cmd, byName] of this.injected) if (!command || cmd === command) for (const count of byName.values()) n += count;
    return n;
  }

  summary(): string {
    return [...this.injected]
      .map(([cmd, byName]) => `${cmd}: ${[...byName].map(([name, n]) => `${n} ${name}`).join(', ')}`)
      .join('; ');
  }

  /** mulberry32: a small seeded PRNG. */
  private random(): number {
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** Calls seen per command (faulted or not). */
  callCount(command: string): number {
    return this.calls.get(command) ?? 0;
  }

  private next(command: string): Error | undefined {
    const rule = this.plan[command];
    if (!this.enabled || !rule) return undefined;
    this.calls.set(command, (this.calls.get(command) ?? 0) + 1);
    if (this.random() >= rule.rate || this.total(command) >= rule.max) return undefined;
    const error = FAULTS[this.rotation++ % FAULTS.length]!();
    const byName = this.injected.get(command) ?? new Map<string, number>();
    byName.set(error.name, (byName.get(error.name) ?? 0) + 1);
    this.injected.set(command, byName);
    return error;
  }
}

/** A delivery record as the accounting needs it (from the store or from the API). */
export interface RecordView {
  readonly deliveryId: string;
  readonly eventId: string;
  readonly status: string;
  readonly parked?: boolean;
  readonly payload?: string;
  readonly reason?: string;
}

export interface AccountedWebhook {
  readonly webhookId: string;
  /** What its receiver saw. */
  readonly seen: readonly Seen[];
  /** Its deliveries may end `skipped` (it was auto-disabled during the run). @default false */
  readonly mayBeSkipped?: boolean;
}

export interface Tally {
  readonly events: number;
  readonly webhooks: number;
  readonly pairs: number;
  readonly delivered: number;
  /** Recorded failed AND in the failed-deliveries DLQ. */
  readonly failedInDlq: number;
  /** Recorded skipped (webhook auto-disabled): kept with their payload, recoverable. */
  readonly skipped: number;
  /** Pending and parked behind an open breaker, with the reason and the payload: sent once a probe finds the endpoint back. */
  readonly parked: number;
  /** Extra 2xx answers to a delivery that had already been answered 2xx (same webhook-id). */
  readonly duplicates: number;
  readonly dlqMessages: number;
  readonly lost: number;
  /** Why each lost pair counts as lost. */
  readonly lostPairs: readonly string[];
  /** Requests whose webhook-id is no pair of that webhook (another account's event, say). */
  readonly stray: number;
}

/**
 * Accounts for every (event, webhook) pair: delivered (the receiver answered 2xx to its
 * `webhook-id`), or recorded failed and present in the failed-deliveries DLQ, or parked behind
 * an open breaker (pending, parked, with its payload and reason), or (only where allowed) recorded
 * skipped. Anything else (no record, pending but neither queued nor parked, failed but not in the
 * DLQ, "delivered" but never answered 2xx) is lost.
 */
export function tally(
  eventIds: readonly string[],
  webhooks: readonly AccountedWebhook[],
  records: ReadonlyMap<string, readonly RecordView[]>,
  dlq: ReadonlyArray<{ readonly attributes: Readonly<Record<string, string>> }>,
): Tally {
  const inDlq = new Set(dlq.map((m) => m.attributes.deliveryId));
  let delivered = 0;
  let failedInDlq = 0;
  let skipped = 0;
  let parked = 0;
  let duplicates = 0;
  let stray = 0;
  const lostPairs: string[] = [];
  for (const webhook of webhooks) {
    const byEvent = new Map((records.get(webhook.webhookId) ?? []).map((r) => [r.eventId, r]));
    const okCount = new Map<string, number>();
    for (const s of webhook.seen) if (s.ok) okCount.set(s.webhookId, (okCount.get(s.webhookId) ?? 0) + 1);
    const known = new Set<string>();
    for (const eventId of eventIds) {
      const record = byEvent.get(eventId);
      const pair = `${eventId} x ${webhook.webhookId}`;
      if (!record) {
        lostPairs.push(`${pair}: no delivery record`);
        continue;
      }
      known.add(record.deliveryId);
      duplicates += Math.max(0, (okCount.get(record.deliveryId) ?? 0) - 1);
      if (record.status === 'delivered') {
        if ((okCount.get(record.deliveryId) ?? 0) > 0) delivered++;
        else lostPairs.push(`${pair}: recorded delivered, but the receiver never answered 2xx to ${record.deliveryId}`);
      } else if (record.status === 'failed') {
        if (inDlq.has(record.deliveryId)) failedInDlq++;
        else lostPairs.push(`${pair}: recorded failed, but not in the failed-deliveries DLQ`);
      } else if (record.status === 'skipped' && webhook.mayBeSkipped) {
        skipped++;
      } else if (record.status === 'pending' && record.parked === true && record.payload !== undefined && record.reason?.startsWith('parked:')) {
        parked++;
      } else {
        lostPairs.push(`${pair}: ended ${record.status}`);
      }
    }
    stray += webhook.seen.filter((s) => !known.has(s.webhookId)).length;
  }
  return {
    events: eventIds.length,
    webhooks: webhooks.length,
    pairs: eventIds.length * webhooks.length,
    delivered,
    failedInDlq,
    skipped,
    parked,
    duplicates,
    dlqMessages: dlq.length,
    lost: lostPairs.length,
    lostPairs,
    stray,
  };
}

/** Adds up the tallies of several accounts. */
export function sumTallies(parts: readonly Tally[]): Tally {
  const sum = (k: keyof Omit<Tally, 'lostPairs'>) => parts.reduce((n, t) => n + t[k], 0);
  return {
    events: sum('events'),
    webhooks: sum('webhooks'),
    pairs: sum('pairs'),
    delivered: sum('delivered'),
    failedInDlq: sum('failedInDlq'),
    skipped: sum('skipped'),
    parked: sum('parked'),
    duplicates: sum('duplicates'),
    dlqMessages: parts[0]?.dlqMessages ?? 0,
    lost: sum('lost'),
    lostPairs: parts.flatMap((t) => t.lostPairs),
    stray: sum('stray'),
  };
}

/** Prints the tally as a small table (the issue asks to see it). */
export function printTally(title: string, t: Tally, extra: Record<string, string | number> = {}): void {
  const rows: Array<[string, string | number]> = [
    ['events', t.events],
    ['webhooks', t.webhooks],
    ['pairs', t.pairs],
    ['delivered', t.delivered],
    ['failed+DLQ', t.failedInDlq],
    ['skipped (auto-disabled, recoverable)', t.skipped],
    ['parked (breaker open, kept, recoverable)', t.parked],
    ['duplicates (same webhook-id)', t.duplicates],
    ['DLQ messages', t.dlqMessages],
    ['stray requests', t.stray],
    ['lost', t.lost],
    ...Object.entries(extra),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log([`${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`), ...t.lostPairs.slice(0, 20).map((l) => `  LOST ${l}`)].join('\n'));
}

/** Every record of a webhook, paging through the store. */
export async function allRecords(stack: LocalStack, accountId: string, webhookId: string): Promise<RecordView[]> {
  const out: RecordView[] = [];
  let cursor: string | undefined;
  do {
    const page = await stack.runtime.deliveries.list(accountId, webhookId, { limit: 100, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
