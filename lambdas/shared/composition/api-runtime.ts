import type { ApiDependencies } from '../../api/app';
import { systemResolver } from '../adapters/dns';
import { createDocumentClient } from '../adapters/dynamo-client';
import { DynamoPortalSessionStore } from '../adapters/dynamo-portal-session-store';
import { logger } from '../adapters/powertools';
import { DynamoApiKeyStore } from '../adapters/dynamo-api-key-store';
import { API, ENV } from '../contract';
import { ApiAccess } from '../domain/api-access';
import {
  type ApiKeyStore,
  type Clock,
  type DeliveryStore,
  type HttpSender,
  type LogSink,
  type PortalSessionStore,
  type RecoveryJobStore,
  type RateLimiter,
  type Resolver,
  type RetryQueue,
  type StatsStore,
  systemClock,
  type WebhookAdminStore,
} from '../domain/ports';
import { RecoveryService } from '../domain/recovery-service';
import type { RetryPolicy } from '../domain/retry-policy';
import { WebhookService } from '../domain/webhook-service';
import { type AdapterOverrides, rateLimiterFromEnv, retryPolicyFromEnv, retryQueueFromEnv, senderFromEnv, statsStoreFromEnv, storesFromEnv, targetRulesFromEnv } from './adapters-from-env';
import { numberEnv, optionalEnv, requiredEnv } from './env';

/**
 * The adapters the management API runs on. In Lambda they come from `apiPartsFromEnv`; the local
 * runtime passes the ones its delivery runtime already has (one process, one set of adapters).
 */
export interface ApiParts {
  readonly webhooks: WebhookAdminStore;
  /** Re-checks the request's key on every authenticated request (GetItem by its hash). */
  readonly apiKeys: Pick<ApiKeyStore, 'resolve'>;
  /** Counts each account's requests per second (the webhooks' limiter, in the deliveries table). */
  readonly rateLimiter: RateLimiter;
  readonly deliveries: DeliveryStore;
  readonly recoveryJobs: RecoveryJobStore;
  readonly retryQueue: RetryQueue;
  readonly sender: HttpSender;
  readonly retryPolicy: RetryPolicy;
  readonly clock: Clock;
  readonly log: LogSink;
  /** Portal sessions (the API keys table); without it `POST /v1/portal-sessions` answers 500. */
  readonly portalSessions?: PortalSessionStore;
  /** The statistics table (`GET …/stats`). */
  readonly statsStore?: StatsStore;
}

export interface ApiRuntimeOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Resolves webhook hosts for the create-time SSRF check. @default the system resolver */
  readonly resolver?: Resolver;
  /** @default `parts.portalSessions` */
  readonly portalSessions?: PortalSessionStore;
  /** The dashboard's URL for portal session URLs. @default `WEBHOOKS_PORTAL_URL` */
  readonly portalUrl?: () => string | undefined;
}

/**
 * The API function's adapters from its environment: the two tables, the API keys table (read by
 * key hash: the per-request key check; written: portal sessions, PutItem only), the account rate counters (in the deliveries
 * table), the retry queue (recovery and manual retries go through it) and the sender (test
 * sends). Nothing else: the API has no dead-letter queue and no events queue.
 */
export function apiPartsFromEnv(env: NodeJS.ProcessEnv = process.env, o: AdapterOverrides & { readonly clock?: Clock; readonly log?: LogSink } = {}): ApiParts {
  const clock = o.clock ?? systemClock;
  const doc = o.doc ?? createDocumentClient(o.dynamoConfig);
  const apiKeysTable = requiredEnv(ENV.apiKeysTable, env);
  const statsStore = statsStoreFromEnv(env, { ...o, doc });
  return {
    ...storesFromEnv(env, clock, { ...o, doc }),
    ...(statsStore ? { statsStore } : {}),
    apiKeys: new DynamoApiKeyStore(doc, apiKeysTable),
    // Sessions are written to the API keys table (PutItem only): the platform's POST /v1/portal-sessions.
    portalSessions: new DynamoPortalSessionStore(doc, apiKeysTable, () => clock.now()),
    rateLimiter: rateLimiterFromEnv(env, { ...o, doc }),
    retryQueue: retryQueueFromEnv(env, o),
    sender: senderFromEnv(env, o),
    retryPolicy: retryPolicyFromEnv(env, o),
    clock,
    log: o.log ?? logger,
  };
}

/**
 * The API's services on `parts`. Reads `WEBHOOKS_ALLOW_HTTP` and `WEBHOOKS_ALLOW_PRIVATE_TARGETS`
 * (both default false), `WEBHOOKS_API_ACCOUNT_RATE_LIMIT` (default `API.accountRatePerSecond`)
 * and the dashboard's CORS origins.
 */
export function createApiRuntime(parts: ApiParts, options: ApiRuntimeOptions = {}): ApiDependencies {
  const env = options.env ?? process.env;
  const recovery = new RecoveryService(parts.deliveries, parts.retryQueue, parts.clock, parts.retryPolicy.maxRetries, parts.recoveryJobs, parts.log);
  const webhooks = new WebhookService({
    store: parts.webhooks,
    deliveries: parts.deliveries,
    recovery,
    sender: parts.sender,
    clock: parts.clock,
    resolver: options.resolver ?? systemResolver,
    ...targetRulesFromEnv(env),
  });
  const corsOrigins = (optionalEnv(API.corsOriginsEnv, env) ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  const accountRatePerSecond = numberEnv(ENV.apiAccountRateLimit, API.accountRatePerSecond, env);
  const access = new ApiAccess(parts.apiKeys, parts.rateLimiter, parts.clock, { accountRatePerSecond });
  const portalSessions = options.portalSessions ?? parts.portalSessions;
  const portalUrl = optionalEnv(ENV.portalUrl, env) ?? options.portalUrl;
  return {
    webhooks,
    access,
    log: parts.log,
    corsOrigins,
    clock: parts.clock,
    ...(parts.statsStore ? { stats: parts.statsStore } : {}),
    ...(portalSessions ? { portalSessions } : {}),
    ...(portalUrl ? { portalUrl } : {}),
    now: () => parts.clock.now(),
  };
}
