import { randomUUID } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import type { Clock, QueuedMessage, RedriveQueue } from '../lambdas/shared/domain/ports';

/**
 * An in-process queue with the SQS semantics the handlers rely on: delay, visibility timeout,
 * receive count, redrive to a DLQ after `maxReceiveCount` receives, delete by receipt handle.
 *
 * Fairness (SQS fair queues): a message may carry a message group id (the retry queue's is the
 * webhook id). Receives take visible messages round-robin across the groups that have any, one
 * message per group per turn, first in first out within a group; a group served goes to the back
 * of the line. So a group with 1,000 visible messages and a group with 1 get alternate turns, and
 * one webhook's backlog never delays another's messages. Messages without a group id share the
 * default group: a queue nobody gives group ids to behaves as before (oldest first).
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

/** The group of messages sent without a message group id. */
export const DEFAULT_MESSAGE_GROUP = '';

/** Journals hold visit payloads (visitor IPs): their owner's only. */
const JOURNAL_FILE_MODE = 0o600;

interface StoredMessage {
  readonly id: string;
  readonly groupId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  receipt?: string;
}

type JournalEntry =
  /** `groupId` is absent for the default group (and in journals written before groups existed). */
  | { op: 'send'; id: string; groupId?: string; body: string; attributes: Record<string, string>; sentAt: number; visibleAt: number }
  | { op: 'delete'; id: string }
  /** A receive: the count survives a restart, as SQS's ApproximateReceiveCount does. */
  | { op: 'receive'; id: string };

export interface SendOptions {
  /** Seconds before the message becomes visible (SQS caps it at 900). */
  readonly delaySeconds?: number;
  readonly attributes?: Record<string, string>;
  /** The message group (SQS `MessageGroupId`): receives are fair across groups. @default the default group */
  readonly groupId?: string;
}

export interface ReceivedMessage {
  readonly messageId: string;
  /** The message group id; undefined for the default group. */
  readonly groupId?: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly receiveCount: number;
  readonly sentAt: number;
  readonly firstReceivedAt: number;
}

export class LocalQueue implements RedriveQueue {
  /** Every message not deleted, oldest first (peek, counts). */
  private readonly messages = new Map<string, StoredMessage>();
  /**
   * The same messages by group, each group oldest first. The map's order is the line of the
   * round-robin: a group that was just served is moved to its end. Empty groups are dropped.
   */
  private readonly groups = new Map<string, Map<string, StoredMessage>>();
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

  /** Sends a message, visible after `delaySeconds` (SQS caps it at 900), in its message group. */
  sendMessage(body: string, options: SendOptions = {}): string {
    const now = this.clock.now();
    const id = randomUUID();
    const delay = Math.min(900, Math.max(0, options.delaySeconds ?? 0));
    const groupId = options.groupId ?? DEFAULT_MESSAGE_GROUP;
    const message: StoredMessage = { id, groupId, body, attributes: options.attributes ?? {}, sentAt: now, visibleAt: now + delay * 1000, receiveCount: 0 };
    this.journal(sendEntry(message));
    this.add(message);
    this.wake();
    return id;
  }

  /**
   * Receives up to `max` visible messages and hides them for the visibility timeout: in turns
   * across the groups with visible messages (the group longest without a turn first), the
   * oldest visible message of each group per turn.
   */
  receiveMessages(max: number, visibilityTimeoutSeconds = this.options.visibilityTimeoutSeconds): ReceivedMessage[] {
    const now = this.clock.now();
    const out: ReceivedMessage[] = [];
    // One cursor per group for this call: what a cursor skipped (not visible) stays so until it returns.
    const cursors = new Map<string, Iterator<StoredMessage>>();
    for (;;) {
      let taken = 0;
      for (const groupId of [...this.groups.keys()]) {
        if (out.length >= max) return out;
        const message = this.nextVisible(groupId, cursors, now);
        if (!message) continue;
        out.push(this.take(message, now, visibilityTimeoutSeconds));
        taken++;
        // Served: to the back of the line (the group may be gone if that was its last message).
        const group = this.groups.get(groupId);
        if (group) {
          this.groups.delete(groupId);
          this.groups.set(groupId, group);
        }
      }
      if (taken === 0 || out.length >= max) return out;
    }
  }

  /** The group's next visible message after its cursor; messages past their receives go to the DLQ on the way. */
  private nextVisible(groupId: string, cursors: Map<string, Iterator<StoredMessage>>, now: number): StoredMessage | undefined {
    const group = this.groups.get(groupId);
    if (!group) return undefined;
    let cursor = cursors.get(groupId);
    if (!cursor) {
      cursor = group.values();
      cursors.set(groupId, cursor);
    }
    const { maxReceiveCount, deadLetterQueue } = this.options;
    for (let next = cursor.next(); !next.done; next = cursor.next()) {
      const message = next.value;
      if (message.visibleAt > now) continue;
      if (maxReceiveCount !== undefined && deadLetterQueue && message.receiveCount >= maxReceiveCount) {
        // As SQS does: a message received maxReceiveCount times moves to the DLQ on the next receive.
        deadLetterQueue.sendMessage(message.body, {
          attributes: { ...message.attributes, sourceQueue: this.name },
          ...(message.groupId !== DEFAULT_MESSAGE_GROUP ? { groupId: message.groupId } : {}),
        });
        this.deleteById(message.id); // deleting the entry a Map iterator is on is safe
        continue;
      }
      return message;
    }
    return undefined;
  }

  /** Receives one message: counts it (journaled), hides it, gives it a new receipt handle. */
  private take(message: StoredMessage, now: number, visibilityTimeoutSeconds: number): ReceivedMessage {
    message.receiveCount++;
    this.journal({ op: 'receive', id: message.id });
    message.firstReceivedAt ??= now;
    message.receipt = `${message.id}:${randomUUID()}`;
    message.visibleAt = now + visibilityTimeoutSeconds * 1000;
    return {
      messageId: message.id,
      ...(message.groupId !== DEFAULT_MESSAGE_GROUP ? { groupId: message.groupId } : {}),
      receiptHandle: message.receipt,
      body: message.body,
      attributes: message.attributes,
      receiveCount: message.receiveCount,
      sentAt: message.sentAt,
      firstReceivedAt: message.firstReceivedAt,
    };
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

  /** Messages not deleted per message group (the default group as ''), for inspection. */
  groupSizes(): Record<string, number> {
    return Object.fromEntries([...this.groups].map(([groupId, group]) => [groupId, group.size]));
  }

  /** Resolves when a message is sent (or after `ms`, or when `signal` aborts). */
  waitForMessage(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
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

  private add(message: StoredMessage): void {
    this.messages.set(message.id, message);
    let group = this.groups.get(message.groupId);
    if (!group) {
      group = new Map();
      this.groups.set(message.groupId, group); // a new group joins the back of the line
    }
    group.set(message.id, message);
  }

  /** Forgets a message (no journal entry): its group too when that was the group's last. */
  private forget(id: string): boolean {
    const message = this.messages.get(id);
    if (!message) return false;
    this.messages.delete(id);
    const group = this.groups.get(message.groupId);
    group?.delete(id);
    if (group?.size === 0) this.groups.delete(message.groupId);
    return true;
  }

  private deleteById(id: string): void {
    if (!this.forget(id)) return;
    this.journal({ op: 'delete', id });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private journal(entry: JournalEntry): void {
    // Mode 600 when the append creates the file: journals hold visit payloads (visitor IPs).
    if (this.options.journalPath) appendFileSync(this.options.journalPath, `${JSON.stringify(entry)}\n`, { mode: JOURNAL_FILE_MODE });
  }

  /** Rebuilds the queue from its journal, then compacts the journal to the live messages. */
  private replay(path: string): void {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
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
          const groupId = entry.groupId ?? DEFAULT_MESSAGE_GROUP;
          this.add({ id: entry.id, groupId, body: entry.body, attributes: entry.attributes, sentAt: entry.sentAt, visibleAt: entry.visibleAt, receiveCount: 0 });
        } else if (entry.op === 'receive') {
          const message = this.messages.get(entry.id);
          if (message) message.receiveCount++;
        } else this.forget(entry.id);
      }
    }
    const compacted = [...this.messages.values()]
      .flatMap((m) => [
        JSON.stringify(sendEntry(m)),
        ...Array.from({ length: m.receiveCount }, () => JSON.stringify({ op: 'receive', id: m.id } satisfies JournalEntry)),
      ])
      .join('\n');
    writeFileSync(`${path}.tmp`, compacted ? `${compacted}\n` : '', { mode: JOURNAL_FILE_MODE });
    chmodSync(`${path}.tmp`, JOURNAL_FILE_MODE); // a leftover .tmp of a crash keeps its old mode otherwise
    renameSync(`${path}.tmp`, path);
  }
}

/** The journal line of a send; the group id only when not the default (older journals have none). */
function sendEntry(m: StoredMessage): JournalEntry {
  return {
    op: 'send',
    id: m.id,
    ...(m.groupId !== DEFAULT_MESSAGE_GROUP ? { groupId: m.groupId } : {}),
    body: m.body,
    attributes: { ...m.attributes },
    sentAt: m.sentAt,
    visibleAt: m.visibleAt,
  };
}
