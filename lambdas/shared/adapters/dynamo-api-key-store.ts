import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ACCOUNT_ID_PATTERN, generateApiKey, hashApiKey, isWellFormedApiKey, KEY_ID_PATTERN, keyIdOf } from '../domain/api-keys';
import { ValidationError } from '../domain/errors';
import { isConditionalCheckFailed } from './dynamo-client';
import type { ApiKeyInfo, ApiKeyRef, ApiKeyStore, CreatedApiKey } from '../domain/ports';

/** The GSI of the api keys table (lib/table-definitions.ts): `accountId`, `createdAt`. */
const BY_ACCOUNT_INDEX = 'byAccount';
/** Partition key prefix of the alias items that map a public key id to its key's hash. */
const ALIAS_PREFIX = 'keyid#';

/**
 * API keys table: partition `keyHash` (hex SHA-256 of the key, never the key itself).
 * - key item: `{keyHash, keyId, accountId, createdAt, revoked, revokedAt?}`;
 * - alias item: `{keyHash: "keyid#<keyId>", aliasOf: <keyHash>}`, so a key can be revoked by
 *   its public id with two reads instead of a Scan. Alias items have no `accountId`, so the
 *   sparse `byAccount` index only ever holds key items.
 * Revoked keys stay (flagged) for the audit trail; they never resolve again.
 */
export class DynamoApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async create(accountId: string): Promise<CreatedApiKey> {
    if (!ACCOUNT_ID_PATTERN.test(accountId)) {
      throw ValidationError.of('accountId', 'must be 1-128 characters: letters, digits and _ . : @ - (starting with a letter or digit)');
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const apiKey = generateApiKey();
      const keyId = keyIdOf(apiKey);
      const keyHash = hashApiKey(apiKey);
      // The alias first: it claims the public id (unique), and an alias without its key is harmless.
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { keyHash: ALIAS_PREFIX + keyId, aliasOf: keyHash },
            ConditionExpression: 'attribute_not_exists(keyHash)',
          }),
        );
      } catch (err) {
        if (isConditionalCheckFailed(err)) continue; // 48-bit id collision: mint another key
        throw err;
      }
      const createdAt = new Date(this.now()).toISOString();
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { keyHash, keyId, accountId, createdAt, revoked: false },
          ConditionExpression: 'attribute_not_exists(keyHash)',
        }),
      );
      return { accountId, apiKey, keyId, createdAt };
    }
    throw new Error('could not mint a unique API key id');
  }

  async resolve(apiKey: string): Promise<string | undefined> {
    if (!isWellFormedApiKey(apiKey)) return undefined;
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { keyHash: hashApiKey(apiKey) }, ConsistentRead: true }));
    const item = out.Item;
    if (!item || item.revoked === true || typeof item.accountId !== 'string') return undefined;
    return item.accountId;
  }

  async list(accountId: string): Promise<ApiKeyInfo[]> {
    const keys: ApiKeyInfo[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BY_ACCOUNT_INDEX,
          KeyConditionExpression: 'accountId = :a',
          ExpressionAttributeValues: { ':a': accountId },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) keys.push(toInfo(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return keys;
  }

  async revoke(ref: ApiKeyRef): Promise<ApiKeyInfo | undefined> {
    const keyHash = await this.hashOf(ref);
    if (!keyHash) return undefined;
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { keyHash },
          UpdateExpression: 'SET revoked = :true, revokedAt = if_not_exists(revokedAt, :at)',
          ConditionExpression: 'attribute_exists(accountId)',
          ExpressionAttributeValues: { ':true': true, ':at': new Date(this.now()).toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes ? toInfo(out.Attributes) : undefined;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      throw err;
    }
  }

  private async hashOf(ref: ApiKeyRef): Promise<string | undefined> {
    if ('apiKey' in ref) return isWellFormedApiKey(ref.apiKey) ? hashApiKey(ref.apiKey) : undefined;
    if (!KEY_ID_PATTERN.test(ref.keyId)) return undefined;
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { keyHash: ALIAS_PREFIX + ref.keyId }, ConsistentRead: true }));
    const target = out.Item?.aliasOf;
    return typeof target === 'string' ? target : undefined;
  }
}

function toInfo(item: Record<string, unknown>): ApiKeyInfo {
  return {
    keyId: String(item.keyId),
    accountId: String(item.accountId),
    createdAt: String(item.createdAt),
    revoked: item.revoked === true,
    ...(typeof item.revokedAt === 'string' ? { revokedAt: item.revokedAt } : {}),
  };
}
