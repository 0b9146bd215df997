import { createDocumentClient } from '../adapters/dynamo-client';
import { DynamoApiKeyStore } from '../adapters/dynamo-api-key-store';
import { DynamoPortalSessionStore } from '../adapters/dynamo-portal-session-store';
import { logger } from '../adapters/powertools';
import { ENV } from '../contract';
import type { ApiKeyStore, LogSink, PortalSessionStore } from '../domain/ports';
import { requiredEnv } from './env';

/** The authorizer's adapters: the API keys table (read only: keys and portal sessions) and the logger. */
export function authorizerPartsFromEnv(env: NodeJS.ProcessEnv = process.env): { keys: ApiKeyStore; sessions: PortalSessionStore; log: LogSink } {
  const doc = createDocumentClient();
  const table = requiredEnv(ENV.apiKeysTable, env);
  return { keys: new DynamoApiKeyStore(doc, table), sessions: new DynamoPortalSessionStore(doc, table), log: logger };
}
