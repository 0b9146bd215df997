import type { RetryMessage } from './messages';
import { type DeliveryRecord, deliveryIdLowerBound } from './model';
import type { Clock, DeliveryStore, RetryQueue } from './ports';

export class DeliveryNotFoundError extends Error {
  constructor() {
    super('delivery not found');
    this.name = 'DeliveryNotFoundError';
  }
}

/** A delivery that cannot be retried (already delivered, or its payload is gone). */
export class DeliveryNotRetryableError extends Error {
  constructor(readonly status: string) {
    super(`a ${status} delivery cannot be retried`);
    this.name = 'DeliveryNotRetryableError';
  }
}

const RECOVERABLE = new Set(['failed', 'skipped']);
const PAGE_SIZE = 100;

/**
 * Manual recovery (docs/design.md §8). Both operations re-queue through the retry queue, so
 * they run on the same path, with the same `webhook-id`, as automatic retries:
 * - `retryDelivery`: one more attempt of one delivery, now (no new schedule if it fails).
 * - `recoverSince`: every failed or skipped delivery of a webhook since T gets the full
 *   retry schedule again; pages through all of them, no cap.
 */
export class RecoveryService {
  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly retryQueue: RetryQueue,
    private readonly clock: Clock,
    /** Length of the retry schedule: a manual retry starts past its end (single attempt). */
    private readonly maxRetries: number,
  ) {}

  async retryDelivery(accountId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord> {
    const record = await this.deliveries.get(accountId, webhookId, deliveryId);
    if (!record) throw new DeliveryNotFoundError();
    if (record.status === 'delivered' || record.payload === undefined) throw new DeliveryNotRetryableError(record.status);
    await this.requeue(record, 'manual', this.maxRetries);
    return record;
  }

  async recoverSince(accountId: string, webhookId: string, sinceMs: number): Promise<number> {
    let cursor: string | undefined;
    let count = 0;
    do {
      const page = await this.deliveries.list(accountId, webhookId, {
        limit: PAGE_SIZE,
        sinceId: deliveryIdLowerBound(sinceMs),
        ascending: true,
        ...(cursor ? { cursor } : {}),
      });
      for (const record of page.items) {
        if (!RECOVERABLE.has(record.status) || record.payload === undefined) continue;
        await this.requeue(record, 'retry', 0);
        count++;
      }
      cursor = page.nextCursor;
    } while (cursor);
    return count;
  }

  private async requeue(record: DeliveryRecord, trigger: RetryMessage['trigger'], retryIndex: number): Promise<void> {
    const now = this.clock.now();
    const message: RetryMessage = {
      kind: 'delivery-retry',
      accountId: record.accountId,
      webhookId: record.webhookId,
      deliveryId: record.deliveryId,
      eventId: record.eventId,
      eventType: record.eventType,
      createdAt: record.createdAt,
      retryIndex,
      dueAt: now,
      trigger,
      payload: record.payload as string,
    };
    await this.retryQueue.enqueue(message, 0);
    await this.deliveries.write({
      accountId: record.accountId,
      webhookId: record.webhookId,
      deliveryId: record.deliveryId,
      eventId: record.eventId,
      eventType: record.eventType,
      createdAt: record.createdAt,
      status: 'pending',
      nextAttemptAt: new Date(now).toISOString(),
      payload: record.payload as string,
    });
  }
}
