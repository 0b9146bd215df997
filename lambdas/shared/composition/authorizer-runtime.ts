import { createDocumentClient } from '../adapters/dynamo-client';
import { DynamoApiKeyStore } from '../adapters/dynamo-api-key-store';
import { logger } from '../adapters/powertools';
import { ENV } from '../contract';
import type { ApiKeyStore, LogSink } from '../domain/ports';
import { requiredEnv } from './env';

/** The authorizer's adapters: the API keys table (read only) and the logger. */
export function authorizerPartsFromEnv(env: NodeJS.ProcessEnv = process.env): { keys: ApiKeyStore; log: LogSink } {
  return { keys: new DynamoApiKeyStore(createDocumentClient(), requiredEnv(ENV.apiKeysTable, env)), log: logger };
}
