import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Webhook } from '../domain/model';
import type { WebhookStore } from '../domain/ports';
import { isConditionalCheckFailed } from './dynamo-client';

/** Webhooks table: partition `accountId`, sort `webhookId`; one item per webhook. */
export class DynamoWebhookStore implements WebhookStore {
  constructor(
    protected readonly doc: DynamoDBDocumentClient,
    protected readonly tableName: string,
  ) {}

  async listByAccount(accountId: string): Promise<Webhook[]> {
    const items: Webhook[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'accountId = :a',
          ExpressionAttributeValues: { ':a': accountId },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) items.push(item as Webhook);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  async get(accountId: string, webhookId: string): Promise<Webhook | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { accountId, webhookId }, ConsistentRead: true }));
    return out.Item as Webhook | undefined;
  }

  async markFailing(accountId: string, webhookId: string, since: string): Promise<void> {
    await this.ignoreMissing(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId, webhookId },
        UpdateExpression: 'SET failingSince = if_not_exists(failingSince, :since)',
        ConditionExpression: 'attribute_exists(webhookId)',
        ExpressionAttributeValues: { ':since': since },
      }),
    );
  }

  async clearFailing(accountId: string, webhookId: string): Promise<void> {
    await this.ignoreMissing(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId, webhookId },
        UpdateExpression: 'REMOVE failingSince',
        ConditionExpression: 'attribute_exists(failingSince)',
      }),
    );
  }

  async autoDisable(accountId: string, webhookId: string, reason: string, at: string): Promise<void> {
    await this.ignoreMissing(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId, webhookId },
        UpdateExpression: 'SET enabled = :false, #status = :auto, disabledReason = :reason, updatedAt = :at REMOVE failingSince',
        ConditionExpression: 'enabled = :true',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':false': false, ':true': true, ':auto': 'auto-disabled', ':reason': reason, ':at': at },
      }),
    );
  }

  /** Conditional no-ops (webhook deleted, already in that state) are not errors. */
  protected async ignoreMissing(command: UpdateCommand): Promise<void> {
    try {
      await this.doc.send(command);
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }
}
