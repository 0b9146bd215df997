import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { LocalPollSource, QueueConsumer } from '../../local/consumer';
import { LocalQueue } from '../../local/queue';
import { eventually } from '../helpers/eventually';

/** The local event source mapping: concurrency, the invocation context, and stopping. */
describe('QueueConsumer', () => {
  const consumers: QueueConsumer[] = [];
  afterEach(async () => {
    for (const c of consumers.splice(0)) await c.stop();
  });
  const consume = (queue: LocalQueue, handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>, concurrency: number, waitMs = 1000) => {
    const c = new QueueConsumer(new LocalPollSource(queue), handler, { batchSize: 1, batchingWindowMs: 0, concurrency, functionName: 'fn', timeoutMs: 30_000, waitMs });
    consumers.push(c);
    c.start();
    return c;
  };

  it('runs up to `concurrency` invocations at once, never more', async () => {
    const queue = new LocalQueue('q', { visibilityTimeoutSeconds: 60 });
    for (let i = 0; i < 20; i++) queue.sendMessage(`m${i}`);
    let running = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = consume(
      queue,
      async () => {
        running++;
        most = Math.max(most, running);
        await gate;
        running--;
        return { batchItemFailures: [] };
      },
      8,
    );
    await eventually(() => c.inFlight, (n) => n === 8);
    expect(queue.visibleCount()).toBe(12);
    release();
    await eventually(() => queue.size(), (n) => n === 0);
    expect(most).toBe(8);
    expect(c.invocationCount).toBe(20);
  });

  it('gives each invocation a context whose remaining time starts at the function timeout and counts down', async () => {
    const queue = new LocalQueue('q', { visibilityTimeoutSeconds: 60 });
    const seen: Array<{ requestId: string; first: number; later: number }> = [];
    consume(
      queue,
      async (_event, context) => {
        const first = context.getRemainingTimeInMillis();
        await new Promise((r) => setTimeout(r, 50));
        seen.push({ requestId: context.awsRequestId, first, later: context.getRemainingTimeInMillis() });
        return { batchItemFailures: [] };
      },
      2,
    );
    queue.sendMessage('a');
    await eventually(() => seen.length, (n) => n === 1);
    queue.sendMessage('b');
    await eventually(() => seen.length, (n) => n === 2);
    for (const s of seen) {
      expect(s.first).toBeLessThanOrEqual(30_000);
      expect(s.first).toBeGreaterThan(25_000); // each invocation has its own clock, from its start
      expect(s.later).toBeLessThan(s.first);
    }
    expect(new Set(seen.map((s) => s.requestId)).size).toBe(2);
  });

  it('stops polling at once: stop() does not wait for a long poll, and an invocation in flight finishes first', async () => {
    const queue = new LocalQueue('q', { visibilityTimeoutSeconds: 60 });
    // Long polls of 10 minutes: stop() returning at all shows they were cut short.
    const idle = consume(queue, async () => ({ batchItemFailures: [] }), 4, 600_000);
    await idle.stop();

    const busyQueue = new LocalQueue('busy', { visibilityTimeoutSeconds: 60 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let done = 0;
    const busy = consume(
      busyQueue,
      async () => {
        await gate;
        done++;
        return { batchItemFailures: [] };
      },
      2,
      600_000,
    );
    busyQueue.sendMessage('in flight');
    await eventually(() => busy.inFlight, (n) => n === 1);
    busy.stopPolling();
    busyQueue.sendMessage('not taken: polling has stopped');
    const drained = busy.drained();
    release();
    await drained;
    expect(done).toBe(1);
    expect(busyQueue.size()).toBe(1);
    expect(busyQueue.peek(1)[0]?.body).toBe('not taken: polling has stopped');
  });
});
