import { retryMessageSchema } from './messages';
import type { RedriveQueue } from './ports';

/** Message attribute set on every redriven message. */
export const REDRIVEN_ATTRIBUTE = 'redriven';

export interface RedriveResult {
  readonly moved: number;
  readonly reasons: Record<string, number>;
}

/**
 * Moves messages from a DLQ back to where they are processed: send, then delete. Safe to run
 * twice: a moved message is gone from the DLQ; a crash between send and delete moves it again,
 * and the consumer's idempotency (a delivered record is final) drops the duplicate.
 * Messages from the failed-deliveries DLQ are made due now, with the full retry schedule.
 */
export async function redrive(source: RedriveQueue, target: RedriveQueue, options: { max?: number; dryRun?: boolean } = {}): Promise<RedriveResult> {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const reasons: Record<string, number> = {};
  let moved = 0;
  while (moved < max) {
    const batch = await source.receive(Math.min(10, max - moved));
    if (batch.length === 0) break;
    for (const message of batch) {
      const reason = message.attributes.reason ?? 'no reason recorded';
      reasons[reason] = (reasons[reason] ?? 0) + 1;
      if (options.dryRun) {
        await source.release(message.handle);
        continue;
      }
      // Marked, so the consumer treats it as a redelivery: webhooks already served are skipped.
      await target.send(prepare(message.body), { [REDRIVEN_ATTRIBUTE]: 'true' });
      await source.remove(message.handle);
      moved++;
    }
    if (options.dryRun) break;
  }
  return { moved, reasons };
}

/** A failed delivery goes back as a due retry with a fresh schedule; anything else as it was. */
function prepare(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  const retry = retryMessageSchema.safeParse(parsed);
  if (!retry.success) return body;
  return JSON.stringify({ ...retry.data, dueAt: 0, retryIndex: 0, trigger: 'retry' });
}
