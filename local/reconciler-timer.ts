import type { LogSink } from '../lambdas/shared/domain/ports';
import type { ReconcileReport } from '../lambdas/shared/domain/reconciler';

/** What the timer runs: the domain's `Reconciler` (or anything with its `tick`). */
export interface Tickable {
  tick(): Promise<ReconcileReport>;
}

/**
 * The local stand-in for the reconciler's schedule (a Lambda on an EventBridge schedule in AWS):
 * runs a tick every `everyMs`, counted from the end of the previous one, so ticks never overlap.
 * A failed tick is logged and the next one still runs. `runNow()` runs a tick at once, after the
 * one under way if any (tests drive the reconciler with it). `stop()` cancels the next tick and
 * waits for the one under way.
 */
export class ReconcilerTimer {
  private timer: NodeJS.Timeout | undefined;
  /** The tail of the ticks run or queued: each starts after the previous one ended. */
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly reconciler: Tickable,
    /** 0: no timer (ticks only through `runNow`). */
    private readonly everyMs: number,
    private readonly log: LogSink,
  ) {}

  start(): void {
    if (this.everyMs > 0 && !this.stopped) this.schedule();
  }

  /** Runs a tick now (after the one under way, if any); rejects if it fails. */
  runNow(): Promise<ReconcileReport> {
    if (this.stopped) return Promise.reject(new Error('the reconciler is stopped'));
    const tick = this.chain.then(() => this.reconciler.tick());
    this.chain = tick.catch(() => undefined);
    return tick;
  }

  /** No more ticks; resolves when the one under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      this.runNow()
        .catch((err: unknown) => this.log.error('reconciler tick failed; the next one runs as scheduled', { error: err instanceof Error ? err.message : String(err) }))
        .finally(() => {
          if (!this.stopped) this.schedule();
        });
    }, this.everyMs);
    // The timer alone never keeps the process up.
    this.timer.unref();
  }
}
