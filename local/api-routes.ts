import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createApiHandler } from '../lambdas/api/app';
import { createLocalAdminListener } from './admin-routes';
import { PLATFORM_OPERATIONS, PUBLIC_OPERATIONS } from '../lambdas/api/operations';
import { createApiRuntime } from '../lambdas/shared/composition/api-runtime';
import { createAuthorizerHandler } from '../lambdas/authorizer/app';
import { DynamoApiKeyStore } from '../lambdas/shared/adapters/dynamo-api-key-store';
import { DynamoPortalSessionStore } from '../lambdas/shared/adapters/dynamo-portal-session-store';
import { API, LIMITS } from '../lambdas/shared/contract';
import { createApiGateway } from './api-gateway';
import type { LocalRoutes, LocalStackCore } from './stack';
import type { ApiKeyStore } from '../lambdas/shared/domain/ports';


/** The account of the key `npm start` mints on an empty data dir. */
export const DEMO_ACCOUNT = 'demo';

function apiKeyStore(core: Pick<LocalStackCore, 'dynamo' | 'tables'>): ApiKeyStore {
  return new DynamoApiKeyStore(DynamoDBDocumentClient.from(core.dynamo.client), core.tables.apiKeys);
}

/** Environment: the local platform token (what the platform's backend sends instead of SigV4 locally). */
export const LOCAL_PLATFORM_TOKEN_ENV = 'WEBHOOKS_LOCAL_PLATFORM_TOKEN';
/** The file in the data dir that keeps the local platform token (mode 600). */
export const PLATFORM_TOKEN_FILE = 'platform.token';

/**
 * The local platform token: `WEBHOOKS_LOCAL_PLATFORM_TOKEN`, else the one kept in the data dir
 * (made on first start, mode 600), else (in memory) a new one per start. It stands in for the
 * IAM credentials that authorize `POST /v1/portal-sessions` in AWS.
 */
export function localPlatformToken(env: NodeJS.ProcessEnv, dataDir: string | undefined): string {
  const fromEnv = env[LOCAL_PLATFORM_TOKEN_ENV];
  if (fromEnv) return fromEnv;
  const fresh = () => `vpt_${randomBytes(32).toString('base64url')}`;
  if (!dataDir) return fresh();
  const path = join(dataDir, PLATFORM_TOKEN_FILE);
  if (!existsSync(path)) writeFileSync(path, `${fresh()}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

/** The routes, with the platform token they accept on the platform's routes. */
export type LocalApiRoutes = LocalRoutes & { readonly platformToken: string };

/**
 * Mounts the management API (`/v1`) through an API Gateway event adapter with the real
 * authorizer and API handler, and the loopback-only key admin routes (`/_local/api-keys`).
 * Portal session URLs point at this server, which serves the dashboard too (unless
 * `WEBHOOKS_PORTAL_URL` says otherwise).
 */
export function createLocalApiRoutes(core: LocalStackCore): LocalApiRoutes {
  const keys = apiKeyStore(core);
  const sessions = new DynamoPortalSessionStore(DynamoDBDocumentClient.from(core.dynamo.client), core.tables.apiKeys, () => core.runtime.clock.now());
  const platformToken = localPlatformToken(core.env, core.dataDir);
  // The port is known once the server listens (port 0 picks one): taken from the first request.
  let ownUrl: string | undefined;
  // The same key store as the authorizer's: every request's key is checked again (revocation is
  // immediate), and each account's requests (a portal session's too) are counted per second in
  // dynalite (docs/design.md §6).
  const api = createApiHandler(createApiRuntime({ ...core.runtime, apiKeys: keys }, { env: core.env, portalSessions: sessions, portalUrl: () => ownUrl }));
  const gateway = createApiGateway({
    handler: api,
    authorizer: createAuthorizerHandler(keys, core.runtime.log, sessions),
    publicPaths: PUBLIC_OPERATIONS.map((op) => op.path),
    platformPaths: PLATFORM_OPERATIONS.map((op) => op.path),
    platformToken,
    authorizerCacheSeconds: API.authorizerCacheSeconds,
    // API Gateway's own limit is 10 MB; the handler answers 413 above LIMITS.apiBodyMaxBytes.
    maxBodyBytes: Math.max(LIMITS.apiBodyMaxBytes, 1024 * 1024),
  });
  const admin = createLocalAdminListener(keys);
  const routes: LocalRoutes = async (req, res, body) => {
    ownUrl ??= `http://127.0.0.1:${req.socket.localPort}`;
    return (await gateway(req, res, body)) || (await admin(req, res, body));
  };
  return Object.assign(routes, { platformToken });
}

/** On an empty data dir (no key for the demo account yet), mints and returns a demo key. */
export async function ensureDemoKey(core: Pick<LocalStackCore, 'dynamo' | 'tables'>): Promise<{ accountId: string; created: boolean; apiKey?: string }> {
  const keys = apiKeyStore(core);
  const existing = await keys.list(DEMO_ACCOUNT);
  if (existing.length > 0) return { accountId: DEMO_ACCOUNT, created: false };
  const created = await keys.create(DEMO_ACCOUNT);
  return { accountId: DEMO_ACCOUNT, created: true, apiKey: created.apiKey };
}
