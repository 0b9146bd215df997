import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { InvalidCursorError } from '../domain/errors';

/** A DocumentClient that drops `undefined` attributes (optional fields stay absent). */
export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function isConditionalCheckFailed(err: unknown): boolean {
  return (err as { name?: string }).name === 'ConditionalCheckFailedException';
}

/** Opaque pagination cursors: base64url JSON of the last key. */
export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string, fields: readonly string[]): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) throw new InvalidCursorError();
    const record = parsed as Record<string, unknown>;
    const out: Record<string, string> = {};
    for (const field of fields) {
      const value = record[field];
      // Ids are printable ASCII: anything else (multi-byte text past DynamoDB's 1024-byte key
      // limit, lone surrogates) was never issued by this API, and DynamoDB would refuse it as a key.
      if (typeof value !== 'string' || !/^[\x21-\x7e]{1,512}$/.test(value)) throw new InvalidCursorError();
      out[field] = value;
    }
    return out;
  } catch {
    throw new InvalidCursorError();
  }
}
