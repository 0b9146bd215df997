import * as z from 'zod/mini';
import { EVENT_TYPES } from '../contract';

/**
 * A message on the retry queue: one (event, webhook) delivery due at `dueAt`. SQS delays a
 * message at most 15 minutes, so a longer wait is a chain of re-delay hops: the consumer
 * re-sends a message that is not yet due with the remaining delay (capped at 900 s).
 */
export const retryMessageSchema = z.object({
  kind: z.literal('delivery-retry'),
  accountId: z.string().check(z.minLength(1)),
  webhookId: z.string().check(z.minLength(1)),
  deliveryId: z.string().check(z.minLength(1)),
  eventId: z.string().check(z.minLength(1)),
  eventType: z.enum(EVENT_TYPES),
  /** Event time (ISO): the delivery record's `createdAt`. */
  createdAt: z.string(),
  /** Index into the retry schedule of the delay to use if this attempt fails. */
  retryIndex: z.int().check(z.minimum(0)),
  /** Epoch ms at which the attempt is due. */
  dueAt: z.number(),
  /** `event`: the first full attempt of a delivery the fast lane handed on; `probe`: one breaker probe; `recover`: re-queued by a recovery job. */
  trigger: z.enum(['event', 'retry', 'manual', 'recover', 'probe']),
  /** The signed body (the record also keeps it; this copy covers a crash before the record write). */
  payload: z.string(),
});

export type RetryMessage = z.infer<typeof retryMessageSchema>;

/** The longest delay SQS supports on one message. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/** The delay of the next hop towards `dueAt`. */
export function hopDelaySeconds(dueAt: number, now: number): number {
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil((dueAt - now) / 1000)));
}
