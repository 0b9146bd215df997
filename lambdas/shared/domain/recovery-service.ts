import { randomBytes } from 'node:crypto';
import { DEFAULTS } from '../contract';
import { recordBase, toMessage } from './delivery-service';
import { type DeliveryRecord, deliveryIdLowerBound } from './model';
import type { Clock, DeliveryStore, LogSink, RecoveryJob, RecoveryJobStore, RetryQueue } from './ports';

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

const PAGE_SIZE = 100;
/** Running jobs looked at per `work` call. */
const JOBS_PER_CALL = 20;

/**
 * Manual recovery (docs/design.md §8). Both operations re-queue through the retry queue, so
 * they run on the same path, with the same `webhook-id`, as automatic retries:
 * - `retryDelivery`: one more attempt of one delivery, now (no new schedule if it fails).
 * - `startRecovery`: a job that gives every failed or skipped delivery of a webhook since T the
 *   full retry schedule again. It reads the sparse status index (never the whole log), pages
 *   through all of it with no cap, and keeps its progress in the job: the API starts it and
 *   answers 202 at once, the reconciler works on it until it is done.
 *
 * Each delivery is claimed before it is queued: a conditional write turns it pending only if it
 * is still failed (or skipped), so two jobs over the same deliveries, or a job and a manual
 * retry, queue it once. A crash between the claim and the queue leaves it pending in the `due`
 * index, and the reconciler's sweep queues it (never lost).
 */
export class RecoveryService {
  private readonly overdueAfterMs: number;

  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly retryQueue: RetryQueue,
    private readonly clock: Clock,
    /** Length of the retry schedule: a manual retry starts past its end (single attempt). */
    private readonly maxRetries: number,
    private readonly jobs?: RecoveryJobStore,
    private readonly log?: LogSink,
  ) {
    this.overdueAfterMs = DEFAULTS.overdueAfterMs;
  }

  async retryDelivery(accountId: string, webhookId: string, deliveryId: string): Promise<DeliveryRecord> {
    const record = await this.deliveries.get(accountId, webhookId, deliveryId);
    if (!record) throw new DeliveryNotFoundError();
    if (record.status === 'delivered' || record.payload === undefined) throw new DeliveryNotRetryableError(record.status);
    await this.requeue(record, 'manual', this.maxRetries, 'manual retry requested');
    return record;
  }

  /** Creates a recovery job and works on it for up to `budgetMs` (small recoveries finish at once). */
  async startRecovery(accountId: string, webhookId: string, sinceMs: number, budgetMs = 3_000): Promise<RecoveryJob> {
    const jobs = this.requireJobs();
    const now = new Date(this.clock.now()).toISOString();
    const job: RecoveryJob = {
      accountId,
      webhookId,
      jobId: `rec_${randomBytes(12).toString('hex')}`,
      since: new Date(sinceMs).toISOString(),
      status: 'running',
      scanned: 0,
      requeued: 0,
      unrecoverable: 0,
      position: { bucket: 'failed' },
      createdAt: now,
      updatedAt: now,
    };
    await jobs.create(job);
    return this.advance(job, this.clock.now() + budgetMs);
  }

  async getRecovery(accountId: string, webhookId: string, jobId: string): Promise<RecoveryJob | undefined> {
    return this.requireJobs().get(accountId, webhookId, jobId);
  }

  /** Works on running jobs until `deadline` (epoch ms); returns the deliveries re-queued. */
  async work(deadline: number): Promise<number> {
    if (!this.jobs) return 0;
    let requeued = 0;
    for (const job of await this.jobs.listOpen(JOBS_PER_CALL)) {
      if (this.clock.now() >= deadline) break;
      const before = job.requeued;
      const after = await this.advance(job, deadline);
      requeued += after.requeued - before;
    }
    return requeued;
  }

  /** Pages through the job's buckets until done or `deadline`, saving progress after each page. */
  private async advance(start: RecoveryJob, deadline: number): Promise<RecoveryJob> {
    const jobs = this.requireJobs();
    let job = start;
    while (job.status === 'running' && job.position && this.clock.now() < deadline) {
      const { bucket, cursor } = job.position;
      const page = await this.deliveries.listBucket(job.accountId, job.webhookId, bucket, {
        limit: PAGE_SIZE,
        ascending: true,
        sinceId: deliveryIdLowerBound(Date.parse(job.since)),
        ...(cursor ? { cursor } : {}),
      });
      let { scanned, requeued, unrecoverable } = job;
      for (const record of page.items) {
        scanned++;
        if (record.payload === undefined) {
          unrecoverable++;
          continue;
        }
        if (await this.requeue(record, 'recover', 0, `recovered by ${job.jobId}`, [bucket])) requeued++;
      }
      const now = new Date(this.clock.now()).toISOString();
      const position = page.nextCursor ? { bucket, cursor: page.nextCursor } : bucket === 'failed' ? { bucket: 'skipped' as const } : undefined;
      const next: RecoveryJob = {
        accountId: job.accountId,
        webhookId: job.webhookId,
        jobId: job.jobId,
        since: job.since,
        createdAt: job.createdAt,
        scanned,
        requeued,
        unrecoverable,
        updatedAt: now === job.updatedAt ? new Date(this.clock.now() + 1).toISOString() : now,
        ...(position ? { status: 'running' as const, position } : { status: 'done' as const, finishedAt: now }),
      };
      // Another worker moved the job on meanwhile: leave it to them (what this page queued was claimed, never twice).
      if (!(await jobs.save(next, job.updatedAt))) {
        this.log?.info('recovery job moved on elsewhere', { jobId: job.jobId });
        return (await jobs.get(job.accountId, job.webhookId, job.jobId)) ?? next;
      }
      job = next;
    }
    return job;
  }

  /** Claims a delivery (pending, in the due index as a safety net), then queues it; false if it was claimed elsewhere. */
  private async requeue(record: DeliveryRecord, trigger: 'manual' | 'recover', retryIndex: number, reason: string, expectStatus?: ReadonlyArray<'failed' | 'skipped'>): Promise<boolean> {
    const now = this.clock.now();
    const payload = record.payload as string;
    const claimed = await this.deliveries.write({
      ...recordBase(record),
      status: 'pending',
      nextAttemptAt: new Date(now).toISOString(),
      sweepAt: new Date(now + this.overdueAfterMs).toISOString(),
      retryIndex,
      reason,
      ...(expectStatus ? { expectStatus } : {}),
    });
    if (!claimed) return false;
    await this.retryQueue.enqueue(toMessage({ ...recordBase(record), payload, retryIndex, trigger }, now), 0);
    return true;
  }

  private requireJobs(): RecoveryJobStore {
    if (!this.jobs) throw new Error('recovery jobs need a job store');
    return this.jobs;
  }
}
