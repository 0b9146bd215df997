import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createLambdaContext } from './lambda-events';
import { LocalQueue } from './queue';

/** Where a consumer polls from: an in-process queue, or SQS on an emulator. */
export interface PollSource {
  /** Up to `max` records, waiting at most `waitMs` for the first one (none once `signal` aborts, if the source supports it). */
  receive(max: number, waitMs: number, signal?: AbortSignal): Promise<SQSRecord[]>;
  /** Deletes processed records by receipt handle. */
  delete(records: readonly SQSRecord[]): Promise<void>;
}

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface ConsumerOptions {
  readonly batchSize: number;
  /** Gather records this long after the first before invoking (SQS `maxBatchingWindow`). */
  readonly batchingWindowMs: number;
  /** Concurrent invocations (the mapping's `maxConcurrency`). */
  readonly concurrency: number;
  /** Long-poll wait per receive. @default 1000 */
  readonly waitMs?: number;
  readonly functionName: string;
  readonly timeoutMs: number;
  readonly onError?: (err: unknown) => void;
}

/**
 * Plays a Lambda SQS event source mapping: receive a batch, invoke the handler with a real
 * `SQSEvent`, delete what succeeded, leave each `batchItemFailures` record (and everything,
 * if the invocation throws) to reappear after its visibility timeout. `concurrency` loops each
 * run one invocation at a time; each invocation's context counts down from `timeoutMs`.
 */
export class QueueConsumer {
  private running = false;
  private loops: Promise<void>[] = [];
  private invocations = 0;
  private active = 0;
  /** Aborted by `stopPolling`: ends long polls and batching windows at once. */
  private polling = new AbortController();

  constructor(
    private readonly source: PollSource,
    private readonly handler: SqsHandler,
    private readonly options: ConsumerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.polling = new AbortController();
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  /**
   * Stops polling at once: no receive starts after this, waiting ones return empty. Invocations
   * in flight go on; `drained()` resolves when they have ended.
   */
  stopPolling(): void {
    this.running = false;
    this.polling.abort();
  }

  /** Resolves when every loop has ended (after `stopPolling`): its last invocation returned and its records were deleted or left. */
  async drained(): Promise<void> {
    await Promise.all(this.loops);
  }

  /** Stops polling and waits for in-flight invocations to finish (their records stay or go as they end). */
  async stop(): Promise<void> {
    this.stopPolling();
    await this.drained();
  }

  get invocationCount(): number {
    return this.invocations;
  }

  /** Invocations running now. */
  get inFlight(): number {
    return this.active;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let records: SQSRecord[];
      try {
        records = await this.gather();
      } catch (err) {
        this.options.onError?.(err);
        await pause(1000, this.polling.signal);
        continue;
      }
      // Records received as polling stopped are processed all the same: they are out of the queue.
      if (records.length === 0) continue;
      await this.invoke(records);
    }
  }

  private async gather(): Promise<SQSRecord[]> {
    const { batchSize, batchingWindowMs } = this.options;
    const waitMs = this.options.waitMs ?? 1000;
    const signal = this.polling.signal;
    const records = await this.source.receive(batchSize, waitMs, signal);
    if (records.length === 0 || records.length >= batchSize || batchingWindowMs <= 0) return records;
    const deadline = Date.now() + batchingWindowMs;
    while (records.length < batchSize && this.running) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      records.push(...(await this.source.receive(batchSize - records.length, left, signal)));
    }
    return records;
  }

  private async invoke(records: SQSRecord[]): Promise<void> {
    this.invocations++;
    this.active++;
    try {
      await this.invokeOnce(records);
    } finally {
      this.active--;
    }
  }

  private async invokeOnce(records: SQSRecord[]): Promise<void> {
    const context = invocationContext(this.options.functionName, this.options.timeoutMs, this.invocations);
    let failed: Set<string>;
    try {
      const response = await this.handler({ Records: records }, context);
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      // A thrown invocation fails the whole batch: nothing is deleted.
      this.options.onError?.(err);
      return;
    }
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length === 0) return;
    try {
      await this.source.delete(done);
    } catch (err) {
      // Undeleted records reappear after their visibility timeout; idempotency makes that safe.
      this.options.onError?.(err);
    }
  }
}

/** An in-process queue as a poll source. */
export class LocalPollSource implements PollSource {
  constructor(private readonly queue: LocalQueue) {}

  async receive(max: number, waitMs: number, signal?: AbortSignal): Promise<SQSRecord[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (signal?.aborted) return [];
      const messages = this.queue.receiveMessages(max);
      if (messages.length > 0) return messages.map((m) => LocalQueue.toRecord(this.queue, m));
      const left = deadline - Date.now();
      if (left <= 0) return [];
      const nextVisible = this.queue.nextVisibleInMs();
      await this.queue.waitForMessage(Math.max(1, Math.min(left, nextVisible ?? left)), signal);
    }
  }

  async delete(records: readonly SQSRecord[]): Promise<void> {
    for (const r of records) this.queue.deleteMessage(r.receiptHandle);
  }
}

/** Waits `ms`, or less if `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The invocation's context: `getRemainingTimeInMillis()` counts down from `timeoutMs`, from the invocation's start, as on Lambda. */
export function invocationContext(functionName: string, timeoutMs: number, n: number): Context {
  const deadline = Date.now() + timeoutMs;
  return createLambdaContext({
    functionName,
    region: 'local',
    account: '000000000000',
    awsRequestId: `local-${functionName}-${n}`,
    logStreamName: 'local',
    remainingMs: () => Math.max(0, deadline - Date.now()),
  });
}
