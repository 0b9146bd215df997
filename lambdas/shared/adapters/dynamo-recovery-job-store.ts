import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { RecoveryJob, RecoveryJobStore } from '../domain/ports';
import { DUE_INDEX, JOBS_SHARD } from './dynamo-delivery-store';
import { isConditionalCheckFailed } from './dynamo-client';

const DAY_SECONDS = 86_400;

/**
 * Recovery jobs in the deliveries table (`pk` = `job#<accountId>#<webhookId>`, `sk` = the job
 * id), kept as long as the log. A running job carries `dueShard` = `jobs` and `sweepAt` = its
 * creation time, so the reconciler finds every running job, oldest first, with one Query of the
 * `due` index; a finished one leaves the index. Progress is saved with a condition on
 * `updatedAt`, a lease: of two workers on one job, one moves it on.
 */
export class DynamoRecoveryJobStore implements RecoveryJobStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  private item(job: RecoveryJob): Record<string, unknown> {
    return {
      pk: `job#${job.accountId}#${job.webhookId}`,
      sk: job.jobId,
      ...job,
      ...(job.position ? { position: JSON.stringify(job.position) } : {}),
      ...(job.status === 'running' ? { dueShard: JOBS_SHARD, sweepAt: job.createdAt } : {}),
      expiresAt: Math.floor(Date.now() / 1000) + this.retentionDays * DAY_SECONDS,
    };
  }

  async create(job: RecoveryJob): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: this.item(job), ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async get(accountId: string, webhookId: string, jobId: string): Promise<RecoveryJob | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: `job#${accountId}#${webhookId}`, sk: jobId }, ConsistentRead: true }));
    return out.Item ? toJob(out.Item) : undefined;
  }

  async listOpen(limit: number): Promise<RecoveryJob[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'dueShard = :jobs',
        ExpressionAttributeValues: { ':jobs': JOBS_SHARD },
        ScanIndexForward: true,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toJob);
  }

  async save(job: RecoveryJob, expectUpdatedAt: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.item(job),
          ConditionExpression: 'updatedAt = :expected',
          ExpressionAttributeValues: { ':expected': expectUpdatedAt },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }
}

function toJob(item: Record<string, unknown>): RecoveryJob {
  const { pk: _pk, sk: _sk, dueShard: _d, sweepAt: _s, expiresAt: _e, position, ...rest } = item;
  return { ...rest, ...(typeof position === 'string' ? { position: JSON.parse(position) as RecoveryJob['position'] } : {}) } as unknown as RecoveryJob;
}
