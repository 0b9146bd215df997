import { authorizerPartsFromEnv } from '../shared/composition/authorizer-runtime';
import { createAuthorizerHandler } from './app';

/** Lambda entry point: the API Gateway authorizer (API key or portal session → account). Needs `API_KEYS_TABLE_NAME`, read access. */
const { keys, sessions, log } = authorizerPartsFromEnv();
export const handler = createAuthorizerHandler(keys, log, sessions);
