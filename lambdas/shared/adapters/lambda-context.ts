import type { Context } from 'aws-lambda';
import type { Clock } from '../domain/ports';

/**
 * The time by which an invocation's attempts must have ended: its end (from
 * `getRemainingTimeInMillis`, which the local consumers provide too) less `marginMs` to record
 * what was done. Undefined without a context (a direct call in a test): no deadline.
 */
export function deadlineOf(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined, clock: Clock, marginMs: number): number | undefined {
  if (!context || typeof context.getRemainingTimeInMillis !== 'function') return undefined;
  return clock.now() + context.getRemainingTimeInMillis() - marginMs;
}
