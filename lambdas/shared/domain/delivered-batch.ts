import type { AttemptWrite, DeliveryStore, LogSink } from './ports';

/**
 * The `delivered` records of one invocation's first attempts, written together when the
 * invocation's records are done (one `BatchWriteItem` per 25 instead of one `UpdateItem` each:
 * the attempt-log round trip was most of the delivery path's CPU).
 *
 * Nothing is lost by waiting: the queue message of each write is its owner, and the handler
 * reports every owner whose write could not be stored as a batch item failure. SQS then
 * redelivers it, the redelivery finds no record and sends again (same webhook-id): at least
 * once, as when a process dies between sending and recording.
 */
export class DeliveredBatch {
  private readonly writes = new Map<string, { write: AttemptWrite; owners: Set<string> }>();

  constructor(
    private readonly store: DeliveryStore,
    private readonly log: LogSink,
  ) {}

  get size(): number {
    return this.writes.size;
  }

  /** Keeps a first attempt's `delivered` write for `flush()`, on behalf of a queue message. */
  add(owner: string, write: AttemptWrite): void {
    // The same event twice in one batch (EventBridge delivers at least once) is one record:
    // a batch write may not name a key twice.
    const key = `${write.accountId}#${write.webhookId}#${write.deliveryId}`;
    const existing = this.writes.get(key);
    if (existing) existing.owners.add(owner);
    else this.writes.set(key, { write, owners: new Set([owner]) });
  }

  /** Writes everything kept; returns the owners (message ids) of writes that could not be stored. Never throws. */
  async flush(): Promise<Set<string>> {
    const entries = [...this.writes.values()];
    this.writes.clear();
    const unstored = new Set<string>();
    if (entries.length === 0) return unstored;
    let failed: readonly AttemptWrite[];
    try {
      failed = this.store.writeDelivered ? await this.store.writeDelivered(entries.map((e) => e.write)) : await this.oneByOne(entries.map((e) => e.write));
    } catch (err) {
      this.log.error('attempt log batch could not be written', { count: entries.length, error: err instanceof Error ? err.message : String(err) });
      failed = entries.map((e) => e.write);
    }
    const failedSet = new Set(failed);
    for (const entry of entries) {
      if (!failedSet.has(entry.write)) continue;
      for (const owner of entry.owners) unstored.add(owner);
      this.log.error('delivered but not recorded; the event will be redelivered and sent again', {
        webhookId: entry.write.webhookId,
        deliveryId: entry.write.deliveryId,
      });
    }
    return unstored;
  }

  private async oneByOne(writes: readonly AttemptWrite[]): Promise<AttemptWrite[]> {
    const failed: AttemptWrite[] = [];
    for (const write of writes) {
      try {
        await this.store.write(write);
      } catch {
        failed.push(write);
      }
    }
    return failed;
  }
}
