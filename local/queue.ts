import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import type { Clock, QueuedMessage, RedriveQueue } from '../lambdas/shared/domain/ports';

/**
 * An in-process queue with the SQS semantics the handlers rely on: delay, visibility timeout,
 * receive count, redrive to a DLQ after `maxReceiveCount` receives, delete by receipt handle.
 *
 * Durability: every send and delete is appended to a journal file (one JSON line, written
 * synchronously) and replayed on start, so a restart, even after SIGKILL, continues with every
 * message that was not deleted; messages in flight at the crash become visible again, as on SQS.
 */

export interface LocalQueueOptions {
  readonly visibilityTimeoutSeconds: number;
  /** Receives after which a message moves to the DLQ instead (SQS redrive policy). */
  readonly maxReceiveCount?: number;
  readonly deadLetterQueue?: LocalQueue;
  /** Journal file; in memory when absent. */
  readonly journalPath?: string;
  readonly clock?: Clock;
}

interface StoredMessage {
  readonly id: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  receipt?: string;
}

type JournalEntry =
  | { op: 'send'; id: string; body: string; attributes: Record<string, string>; sentAt: number; visibleAt: number }
  | { op: 'delete'; id: string }
  /** A receive: the count survives a restart, as SQS's ApproximateReceiveCount does. */
  | { op: 'receive'; id: string };

export interface ReceivedMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly receiveCount: number;
  readonly sentAt: number;
  readonly firstReceivedAt: number;
}

export class LocalQueue implements RedriveQueue {
  private readonly messages = new Map<string, StoredMessage>();
  private readonly waiters = new Set<() => void>();
  private readonly clock: Clock;

  constructor(
    readonly name: string,
    private readonly options: LocalQueueOptions,
  ) {
    this.clock = options.clock ?? { now: () => Date.now() };
    if (options.journalPath) this.replay(options.journalPath);
  }

  get arn(): string {
    return `arn:aws:sqs:local:000000000000:${this.name}`;
  }

  /** Sends a message, visible after `delaySeconds` (SQS caps it at 900). */
  sendMessage(body: string, options: { delaySeconds?: number; attributes?: Record<string, string> } = {}): string {
    const now = this.clock.now();
    const id = randomUUID();
    const delay = Math.min(900, Math.max(0, options.delaySeconds ?? 0));
    const message: StoredMessage = { id, body, attributes: options.attributes ?? {}, sentAt: now, visibleAt: now + delay * 1000, receiveCount: 0 };
    this.journal({ op: 'send', id, body, attributes: { ...message.attributes }, sentAt: now, visibleAt: message.visibleAt });
    this.messages.set(id, message);
    this.wake();
    return id;
  }

  /** Receives up to `max` visible messages and hides them for the visibility timeout. */
  receiveMessages(max: number, visibilityTimeoutSeconds = this.options.visibilityTimeoutSeconds): ReceivedMessage[] {
    const now = this.clock.now();
    const out: ReceivedMessage[] = [];
    for (const message of this.messages.values()) {
      if (out.length >= max) break;
      if (message.visibleAt > now) continue;
      const { maxReceiveCount, deadLetterQueue } = this.options;
      if (maxReceiveCount !== undefined && deadLetterQueue && message.receiveCount >= maxReceiveCount) {
        // As SQS does: a message received maxReceiveCount times moves to the DLQ on the next receive.
        deadLetterQueue.sendMessage(message.body, { attributes: { ...message.attributes, sourceQueue: this.name } });
        this.deleteById(message.id);
        continue;
      }
      message.receiveCount++;
      this.journal({ op: 'receive', id: message.id });
      message.firstReceivedAt ??= now;
      message.receipt = `${message.id}:${randomUUID()}`;
      message.visibleAt = now + visibilityTimeoutSeconds * 1000;
      out.push({
        messageId: message.id,
        receiptHandle: message.receipt,
        body: message.body,
        attributes: message.attributes,
        receiveCount: message.receiveCount,
        sentAt: message.sentAt,
        firstReceivedAt: message.firstReceivedAt,
      });
    }
    return out;
  }

  /** Deletes by receipt handle; a stale handle (message received again since) is ignored, as on SQS. */
  deleteMessage(receiptHandle: string): void {
    const id = receiptHandle.split(':')[0] ?? '';
    const message = this.messages.get(id);
    if (message && message.receipt === receiptHandle) this.deleteById(id);
  }

  /** Makes an in-flight message visible again after `seconds` (0 = now). */
  changeVisibility(receiptHandle: string, seconds: number): void {
    const id = receiptHandle.split(':')[0] ?? '';
    const message = this.messages.get(id);
    if (message && message.receipt === receiptHandle) {
      message.visibleAt = this.clock.now() + seconds * 1000;
      if (seconds === 0) this.wake();
    }
  }

  /** Visible now. */
  visibleCount(): number {
    const now = this.clock.now();
    let n = 0;
    for (const m of this.messages.values()) if (m.visibleAt <= now) n++;
    return n;
  }

  /** Every message not deleted (visible, delayed or in flight). */
  size(): number {
    return this.messages.size;
  }

  /** Milliseconds until the next message becomes visible, if any is waiting. */
  nextVisibleInMs(): number | undefined {
    const now = this.clock.now();
    let next: number | undefined;
    for (const m of this.messages.values()) next = next === undefined ? m.visibleAt : Math.min(next, m.visibleAt);
    return next === undefined ? undefined : Math.max(0, next - now);
  }

  /** Resolves when a message is sent (or after `ms`). */
  waitForMessage(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Messages as SQS records, for handlers. */
  static toRecord(queue: LocalQueue, m: ReceivedMessage): SQSRecord {
    return {
      messageId: m.messageId,
      receiptHandle: m.receiptHandle,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.attributes).map(([k, v]) => [k, { stringValue: v, dataType: 'String', stringListValues: [], binaryListValues: [] }]),
      ),
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'local',
    };
  }

  // RedriveQueue
  async receive(max: number): Promise<QueuedMessage[]> {
    return this.receiveMessages(max, 60).map((m) => ({ body: m.body, attributes: m.attributes, handle: m.receiptHandle }));
  }
  async send(body: string, attributes: Readonly<Record<string, string>> = {}): Promise<void> {
    this.sendMessage(body, { attributes: { ...attributes } });
  }
  async remove(handle: string): Promise<void> {
    this.deleteMessage(handle);
  }
  async release(handle: string): Promise<void> {
    this.changeVisibility(handle, 0);
  }
  async depth(): Promise<number> {
    return this.size();
  }

  /** Peeks without receiving (for inspection). */
  peek(max: number): Array<{ body: string; attributes: Readonly<Record<string, string>> }> {
    return [...this.messages.values()].slice(0, max).map((m) => ({ body: m.body, attributes: m.attributes }));
  }

  private deleteById(id: string): void {
    if (!this.messages.delete(id)) return;
    this.journal({ op: 'delete', id });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private journal(entry: JournalEntry): void {
    if (this.options.journalPath) appendFileSync(this.options.journalPath, `${JSON.stringify(entry)}\n`);
  }

  /** Rebuilds the queue from its journal, then compacts the journal to the live messages. */
  private replay(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) {
      const lines = readFileSync(path, 'utf8').split('\n');
      for (const line of lines) {
        if (!line.trim()) continue;
        let entry: JournalEntry;
        try {
          entry = JSON.parse(line) as JournalEntry;
        } catch {
          continue; // a torn last line after a crash
        }
        if (entry.op === 'send') {
          this.messages.set(entry.id, { id: entry.id, body: entry.body, attributes: entry.attributes, sentAt: entry.sentAt, visibleAt: entry.visibleAt, receiveCount: 0 });
        } else if (entry.op === 'receive') {
          const message = this.messages.get(entry.id);
          if (message) message.receiveCount++;
        } else this.messages.delete(entry.id);
      }
    }
    const compacted = [...this.messages.values()]
      .flatMap((m) => [
        JSON.stringify({ op: 'send', id: m.id, body: m.body, attributes: m.attributes, sentAt: m.sentAt, visibleAt: m.visibleAt } satisfies JournalEntry),
        ...Array.from({ length: m.receiveCount }, () => JSON.stringify({ op: 'receive', id: m.id } satisfies JournalEntry)),
      ])
      .join('\n');
    writeFileSync(`${path}.tmp`, compacted ? `${compacted}\n` : '');
    renameSync(`${path}.tmp`, path);
  }
}
