import { apiPartsFromEnv, createApiRuntime } from '../shared/composition/api-runtime';
import { createApiHandler } from './app';

/**
 * Lambda entry point: the management API (REST API, Lambda proxy integration behind the
 * authorizer). Env: WEBHOOKS_TABLE_NAME, DELIVERIES_TABLE_NAME, RETRY_QUEUE_URL and optionally
 * WEBHOOKS_ALLOW_HTTP, WEBHOOKS_ALLOW_PRIVATE_TARGETS, WEBHOOKS_DELIVERY_TIMEOUT_MS,
 * WEBHOOKS_RETRY_SCHEDULE, WEBHOOKS_DELIVERY_RETENTION_DAYS.
 */
export const handler = createApiHandler(createApiRuntime(apiPartsFromEnv()));
