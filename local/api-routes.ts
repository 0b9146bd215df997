import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createApiHandler } from '../lambdas/api/app';
import { createLocalAdminListener } from './admin-routes';
import { PUBLIC_OPERATIONS } from '../lambdas/api/operations';
import { createApiRuntime } from '../lambdas/shared/composition/api-runtime';
import { createAuthorizerHandler } from '../lambdas/authorizer/app';
import { DynamoApiKeyStore } from '../lambdas/shared/adapters/dynamo-api-key-store';
import { API, LIMITS } from '../lambdas/shared/contract';
import { createApiGateway } from './api-gateway';
import type { LocalRoutes, LocalStackCore } from './stack';
import type { ApiKeyStore } from '../lambdas/shared/domain/ports';


/** The account of the key `npm start` mints on an empty data dir. */
export const DEMO_ACCOUNT = 'demo';

function apiKeyStore(core: Pick<LocalStackCore, 'dynamo' | 'tables'>): ApiKeyStore {
  return new DynamoApiKeyStore(DynamoDBDocumentClient.from(core.dynamo.client), core.tables.apiKeys);
}

/**
 * Mounts the management API (`/v1`) through an API Gateway event adapter with the real
 * authorizer and API handler, and the loopback-only key admin routes (`/_local/api-keys`).
 */
export function createLocalApiRoutes(core: LocalStackCore): LocalRoutes {
  const keys = apiKeyStore(core);
  // The same key store as the authorizer's: every request's key is checked again (revocation is
  // immediate), and each account's requests are counted per second in dynalite (docs/design.md §6).
  const api = createApiHandler(createApiRuntime({ ...core.runtime, apiKeys: keys }, { env: core.env }));
  const gateway = createApiGateway({
    handler: api,
    authorizer: createAuthorizerHandler(keys, core.runtime.log),
    publicPaths: PUBLIC_OPERATIONS.map((op) => op.path),
    authorizerCacheSeconds: API.authorizerCacheSeconds,
    // API Gateway's own limit is 10 MB; the handler answers 413 above LIMITS.apiBodyMaxBytes.
    maxBodyBytes: Math.max(LIMITS.apiBodyMaxBytes, 1024 * 1024),
  });
  const admin = createLocalAdminListener(keys);
  return async (req, res, body) => (await gateway(req, res, body)) || (await admin(req, res, body));
}

/** On an empty data dir (no key for the demo account yet), mints and returns a demo key. */
export async function ensureDemoKey(core: Pick<LocalStackCore, 'dynamo' | 'tables'>): Promise<{ accountId: string; created: boolean; apiKey?: string }> {
  const keys = apiKeyStore(core);
  const existing = await keys.list(DEMO_ACCOUNT);
  if (existing.length > 0) return { accountId: DEMO_ACCOUNT, created: false };
  const created = await keys.create(DEMO_ACCOUNT);
  return { accountId: DEMO_ACCOUNT, created: true, apiKey: created.apiKey };
}
