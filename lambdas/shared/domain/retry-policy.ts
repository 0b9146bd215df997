/**
 * The retry schedule (docs/design.md §8): delays after the first attempt, each with upward jitter
 * (never earlier than the schedule says), `Retry-After` honoured up to the schedule's ceiling.
 */
export interface RetryPolicy {
  /** Seconds to wait before retry number `index` (0-based), or undefined when exhausted. */
  delaySeconds(index: number, retryAfterSeconds?: number): number | undefined;
  readonly maxRetries: number;
}

export function createRetryPolicy(schedule: readonly number[], random: () => number = Math.random, jitter = 0.2): RetryPolicy {
  const ceiling = schedule.length ? Math.max(...schedule) : 0;
  return {
    maxRetries: schedule.length,
    delaySeconds(index, retryAfterSeconds) {
      const base = schedule[index];
      if (base === undefined) return undefined;
      const jittered = Math.round(base * (1 + jitter * random()));
      const floor = retryAfterSeconds !== undefined ? Math.min(retryAfterSeconds, ceiling) : 0;
      return Math.max(jittered, floor);
    },
  };
}
