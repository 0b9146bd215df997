import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaContext, sqsEvent, sqsRecord } from '../lambda-events';
import type { CollectingRetryQueue, ManualClock } from './fakes';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface DriveLog {
  /** Delay (s) of each message taken off the queue, in order. */
  readonly delays: number[];
  /** Messages that only hopped (not yet due when received). */
  hops: number;
  /** Messages that were due and handed to the delivery domain. */
  attempts: number;
}

/** The reconciler's due sweep, for retries that wait longer than a queue delay (no queue message until then). */
export interface DueSweep {
  /** When the sweep next has something to queue (epoch ms), if anything waits. */
  next(): Promise<number | undefined>;
  /** One reconciler tick. */
  run(): Promise<void>;
}

/**
 * Plays the SQS retry queue with a manual clock: takes each queued message, advances the
 * clock by its delay (what SQS DelaySeconds would make the consumer wait), and invokes the
 * retry handler with it. With `sweep`, an empty queue moves the clock to the next retry waiting
 * in the due index and runs the reconciler, which queues it. No real waiting.
 */
export async function driveRetries(queue: CollectingRetryQueue, clock: ManualClock, handler: Handler, options: { readonly maxSteps?: number; readonly sweep?: DueSweep } = {}): Promise<DriveLog> {
  const log: DriveLog = { delays: [], hops: 0, attempts: 0 };
  const maxSteps = options.maxSteps ?? 500;
  for (let step = 0; step < maxSteps; step++) {
    if (queue.sent.length === 0 && options.sweep) {
      const at = await options.sweep.next();
      if (at !== undefined) {
        clock.current = Math.max(clock.now(), at + 1);
        await options.sweep.run();
      }
    }
    const next = queue.sent.shift();
    if (!next) return log;
    log.delays.push(next.delaySeconds);
    clock.advance(next.delaySeconds * 1000);
    const before = queue.sent.length;
    const due = next.message.dueAt - clock.now() <= 1000;
    const result = await handler(sqsEvent(sqsRecord(next.message)), lambdaContext);
    if (result.batchItemFailures.length > 0) throw new Error('retry handler reported a failure');
    if (due) log.attempts++;
    else if (queue.sent.length > before) log.hops++;
  }
  throw new Error('retry chain did not end');
}
