import { createDocumentClient } from '../shared/adapters/dynamo-client';
import { DynamoApiKeyStore } from '../shared/adapters/dynamo-api-key-store';
import { requiredEnv } from '../shared/config';
import { ENV } from '../shared/contract';
import { logger } from '../shared/powertools';
import { createAuthorizerHandler } from './app';

/** Lambda entry point: the API Gateway authorizer (API key → account). Needs `API_KEYS_TABLE_NAME`, read access. */
export const handler = createAuthorizerHandler(new DynamoApiKeyStore(createDocumentClient(), requiredEnv(ENV.apiKeysTable)), logger);
