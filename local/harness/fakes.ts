import type { RetryMessage } from '../../lambdas/shared/domain/messages';
import type { OperationalEvent } from '../../lambdas/shared/domain/operational-events';
import type { Clock, DeadLetterSink, LogSink, MetricSink, OperationalEventSink, RetryQueue } from '../../lambdas/shared/domain/ports';

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(public current = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** Collects retry messages with the delay they were sent with, in order. */
export class CollectingRetryQueue implements RetryQueue {
  readonly sent: Array<{ message: RetryMessage; delaySeconds: number }> = [];
  failNext = 0;
  async enqueue(message: RetryMessage, delaySeconds: number): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('SQS unavailable (injected)');
    }
    this.sent.push({ message, delaySeconds });
  }
  take(): Array<{ message: RetryMessage; delaySeconds: number }> {
    return this.sent.splice(0, this.sent.length);
  }
}

/** Collects dead letters with their reasons. */
export class CollectingDeadLetters implements DeadLetterSink {
  readonly sent: Array<{ body: string; reason: string; attributes: Readonly<Record<string, string>> }> = [];
  async send(body: string, reason: string, attributes: Readonly<Record<string, string>> = {}): Promise<void> {
    this.sent.push({ body, reason, attributes });
  }
}

export class CountingMetrics implements MetricSink {
  readonly counts = new Map<string, number>();
  count(name: string, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  milliseconds(): void {}
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

/** Keeps log lines so tests can assert on them (and that secrets never appear). */
export class MemoryLog implements LogSink {
  readonly lines: string[] = [];
  private push(level: string, message: string, extra: Record<string, unknown>[]): void {
    this.lines.push(JSON.stringify({ level, message, extra }));
  }
  debug(message: string, ...extra: Record<string, unknown>[]): void {
    this.push('debug', message, extra);
  }
  info(message: string, ...extra: Record<string, unknown>[]): void {
    this.push('info', message, extra);
  }
  warn(message: string, ...extra: Record<string, unknown>[]): void {
    this.push('warn', message, extra);
  }
  error(message: string, ...extra: Record<string, unknown>[]): void {
    this.push('error', message, extra);
  }
}

/** Collects operational events; `failNext` makes the next publishes throw (as a bus that refuses them). */
export class CollectingOperationalEvents implements OperationalEventSink {
  readonly events: OperationalEvent[] = [];
  failNext = 0;
  async publish(events: readonly OperationalEvent[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('EventBridge unavailable (injected)');
    }
    this.events.push(...events);
  }
  types(): string[] {
    return this.events.map((e) => e.type);
  }
}
