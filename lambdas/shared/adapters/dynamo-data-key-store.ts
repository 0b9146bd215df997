import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { WrappedDataKeyStore } from './secret-cipher';

/**
 * The deployment's wrapped data key for signing secrets, as one item of the webhooks table:
 * `accountId` = `#deployment` (no account id can start with `#`, so no account lists it) and
 * `webhookId` = `#secrets-data-key`; it carries no index key.
 */
export const DATA_KEY_ITEM = { accountId: '#deployment', webhookId: '#secrets-data-key' } as const;

export class DynamoDataKeyStore implements WrappedDataKeyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(): Promise<string | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: DATA_KEY_ITEM, ConsistentRead: true }));
    const wrapped = out.Item?.wrappedKey;
    return typeof wrapped === 'string' && wrapped !== '' ? wrapped : undefined;
  }

  async putIfAbsent(wrapped: string): Promise<string> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...DATA_KEY_ITEM, wrappedKey: wrapped, createdAt: this.now().toISOString() },
          ConditionExpression: 'attribute_not_exists(accountId)',
        }),
      );
      return wrapped;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      const stored = await this.get();
      if (!stored) throw new Error('the stored secrets data key vanished while being created');
      return stored;
    }
  }
}
