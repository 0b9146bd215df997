import type { ApiDependencies } from '../../api/app';
import { systemResolver } from '../adapters/dns';
import { createDocumentClient } from '../adapters/dynamo-client';
import { DynamoPortalSessionStore } from '../adapters/dynamo-portal-session-store';
import { logger } from '../adapters/powertools';
import { API, ENV } from '../contract';
import {
  type Clock,
  type DeliveryStore,
  type HttpSender,
  type LogSink,
  type PortalSessionStore,
  type Resolver,
  type RetryQueue,
  systemClock,
  type WebhookAdminStore,
} from '../domain/ports';
import { RecoveryService } from '../domain/recovery-service';
import type { RetryPolicy } from '../domain/retry-policy';
import { WebhookService } from '../domain/webhook-service';
import { type AdapterOverrides, retryPolicyFromEnv, retryQueueFromEnv, senderFromEnv, storesFromEnv, targetRulesFromEnv } from './adapters-from-env';
import { optionalEnv } from './env';

/**
 * The adapters the management API runs on. In Lambda they come from `apiPartsFromEnv`; the local
 * runtime passes the ones its delivery runtime already has (one process, one set of adapters).
 */
export interface ApiParts {
  readonly webhooks: WebhookAdminStore;
  readonly deliveries: DeliveryStore;
  readonly retryQueue: RetryQueue;
  readonly sender: HttpSender;
  readonly retryPolicy: RetryPolicy;
  readonly clock: Clock;
  readonly log: LogSink;
  /** Portal sessions (the API keys table); without it `POST /v1/portal-sessions` answers 500. */
  readonly portalSessions?: PortalSessionStore;
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
 * The API function's adapters from its environment: the two tables, the retry queue (recovery
 * and manual retries go through it) and the sender (test sends). Nothing else: the API has no
 * dead-letter queue and no events queue.
 */
export function apiPartsFromEnv(env: NodeJS.ProcessEnv = process.env, o: AdapterOverrides & { readonly clock?: Clock; readonly log?: LogSink } = {}): ApiParts {
  const clock = o.clock ?? systemClock;
  const apiKeysTable = optionalEnv(ENV.apiKeysTable, env);
  return {
    ...storesFromEnv(env, clock, o),
    // Sessions are written to the API keys table (PutItem only): the platform's POST /v1/portal-sessions.
    ...(apiKeysTable ? { portalSessions: new DynamoPortalSessionStore(o.doc ?? createDocumentClient(o.dynamoConfig), apiKeysTable, () => clock.now()) } : {}),
    retryQueue: retryQueueFromEnv(env, o),
    sender: senderFromEnv(env, o),
    retryPolicy: retryPolicyFromEnv(env, o),
    clock,
    log: o.log ?? logger,
  };
}

/**
 * The API's services on `parts`. Reads `WEBHOOKS_ALLOW_HTTP` and `WEBHOOKS_ALLOW_PRIVATE_TARGETS`
 * (both default false) and the dashboard's CORS origins.
 */
export function createApiRuntime(parts: ApiParts, options: ApiRuntimeOptions = {}): ApiDependencies {
  const env = options.env ?? process.env;
  const recovery = new RecoveryService(parts.deliveries, parts.retryQueue, parts.clock, parts.retryPolicy.maxRetries);
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
  const portalSessions = options.portalSessions ?? parts.portalSessions;
  const portalUrl = optionalEnv(ENV.portalUrl, env) ?? options.portalUrl;
  return {
    webhooks,
    log: parts.log,
    corsOrigins,
    ...(portalSessions ? { portalSessions } : {}),
    ...(portalUrl ? { portalUrl } : {}),
    now: () => parts.clock.now(),
  };
}
