import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ACCOUNT_ID_PATTERN } from '../domain/api-keys';
import { ValidationError } from '../domain/errors';
import type { PortalSessionStore } from '../domain/ports';
import { type CreatedPortalSession, generatePortalToken, hashPortalToken, isWellFormedPortalToken, type PortalSession, portalSessionIdOf } from '../domain/portal-sessions';

/** Partition key prefix of session items in the API keys table. */
const SESSION_PREFIX = 'session#';

/**
 * Portal sessions in the API keys table: partition `keyHash` = `session#<hex SHA-256 of the
 * token>`, `{kind: 'portal-session', sessionId, sessionAccountId, readOnly, createdAt,
 * expiresAt (epoch seconds, the table's TTL attribute), expiresAtMs}`. The account is kept in
 * `sessionAccountId`, not `accountId`, so sessions never appear in the sparse `byAccount` index
 * that lists an account's API keys. DynamoDB's TTL deletes an expired item within days; until
 * then `resolve` refuses it by its expiry.
 */
export class DynamoPortalSessionStore implements PortalSessionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async create(request: { readonly accountId: string; readonly readOnly: boolean; readonly ttlSeconds: number }): Promise<CreatedPortalSession> {
    if (!ACCOUNT_ID_PATTERN.test(request.accountId)) throw ValidationError.of('accountId', 'is not a valid account id');
    const token = generatePortalToken();
    const sessionId = portalSessionIdOf(token);
    const createdAt = this.now();
    const expiresAt = createdAt + request.ttlSeconds * 1000;
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          keyHash: SESSION_PREFIX + hashPortalToken(token),
          kind: 'portal-session',
          sessionId,
          sessionAccountId: request.accountId,
          readOnly: request.readOnly,
          createdAt: new Date(createdAt).toISOString(),
          expiresAt: Math.ceil(expiresAt / 1000),
          expiresAtMs: expiresAt,
        },
        ConditionExpression: 'attribute_not_exists(keyHash)',
      }),
    );
    return { token, sessionId, accountId: request.accountId, readOnly: request.readOnly, expiresAt };
  }

  async resolve(token: string): Promise<PortalSession | undefined> {
    if (!isWellFormedPortalToken(token)) return undefined;
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { keyHash: SESSION_PREFIX + hashPortalToken(token) }, ConsistentRead: true }));
    const item = out.Item;
    if (!item || item.kind !== 'portal-session' || typeof item.sessionAccountId !== 'string' || typeof item.expiresAtMs !== 'number') return undefined;
    if (item.expiresAtMs <= this.now()) return undefined;
    return { accountId: item.sessionAccountId, sessionId: String(item.sessionId), readOnly: item.readOnly === true, expiresAt: item.expiresAtMs };
  }
}
