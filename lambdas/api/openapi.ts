import { z } from 'zod';
import { portalSessionRequestSchema } from '../shared/domain/portal-sessions';
import { recoverRequestSchema, testRequestSchema, webhookCreateSchema, webhookPatchSchema } from '../shared/domain/webhook-schemas';
import { DELIVERY_ID_PATTERN, WEBHOOK_ID_PATTERN } from '../shared/domain/webhook-service';
import { OPERATIONS } from './operations';
import { eventTypeListSchema } from './event-types';
import { deliveryWebhooks } from './openapi-webhooks';
import { visitJsonSchema } from '../shared/domain/event-catalog';
import {
  attemptSchema,
  deliveryPageSchema,
  deliverySchema,
  errorSchema,
  healthSchema,
  portalSessionSchema,
  recoveryJobSchema,
  retryAcceptedSchema,
  secretSchema,
  statsSchema,
  testResultSchema,
  webhookCreatedSchema,
  webhookPageSchema,
  webhookSchema,
} from './schemas';

/**
 * `GET /v1/openapi.json`: the OpenAPI 3.1 document of the management API, generated from the
 * operation list (operations.ts) and the zod schemas the code validates and answers with, so
 * it cannot drift from the implementation. The test suite validates every response against it.
 */

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers?: ReadonlyArray<{ readonly url: string }>;
  readonly security: ReadonlyArray<Record<string, readonly string[]>>;
  readonly paths: Record<string, Record<string, JsonSchema>>;
  /** The requests the service sends to webhook URLs, one per event type (openapi-webhooks.ts). */
  readonly webhooks: Record<string, Record<string, JsonSchema>>;
  readonly components: {
    readonly schemas: Record<string, JsonSchema>;
    readonly responses: Record<string, JsonSchema>;
    readonly securitySchemes: Record<string, JsonSchema>;
  };
}

/** Request schemas: documented as the client sends them (defaults optional). */
const REQUEST_SCHEMAS: ReadonlyArray<readonly [string, z.ZodType]> = [
  ['WebhookCreate', webhookCreateSchema],
  ['WebhookPatch', webhookPatchSchema],
  ['TestRequest', testRequestSchema],
  ['RecoverRequest', recoverRequestSchema],
  ['PortalSessionRequest', portalSessionRequestSchema],
];

/** Response schemas: documented as the API answers them (no unknown fields). */
const RESPONSE_SCHEMAS: ReadonlyArray<readonly [string, z.ZodType]> = [
  ['Webhook', webhookSchema],
  ['WebhookHealth', healthSchema],
  ['WebhookCreated', webhookCreatedSchema],
  ['WebhookPage', webhookPageSchema],
  ['Secret', secretSchema],
  ['Attempt', attemptSchema],
  ['Delivery', deliverySchema],
  ['DeliveryPage', deliveryPageSchema],
  ['TestResult', testResultSchema],
  ['RetryAccepted', retryAcceptedSchema],
  ['RecoveryJob', recoveryJobSchema],
  ['PortalSession', portalSessionSchema],
  ['WebhookStats', statsSchema],
  ['Error', errorSchema],
  ['EventTypeList', eventTypeListSchema],
];

const ERROR_RESPONSES: Readonly<Record<number, { readonly name: string; readonly description: string }>> = {
  400: { name: 'BadRequest', description: 'Invalid request: `details` names each invalid field (`validation_error`), or the body is not JSON (`malformed_json`).' },
  401: { name: 'Unauthorized', description: 'Missing, invalid or revoked API key, or an expired portal session.' },
  403: { name: 'Forbidden', description: 'A read-only portal session asked for a change or the signing secret (`forbidden`), or a platform route was called without IAM authorization.' },
  404: { name: 'NotFound', description: 'No such webhook or delivery in this account.' },
  409: { name: 'Conflict', description: 'Conflicts with the current state (`webhook_limit_reached`, `not_retryable`, `webhook_disabled`, `concurrent_update`).' },
  413: { name: 'PayloadTooLarge', description: 'Request body over 64 KiB.' },
  415: { name: 'UnsupportedMediaType', description: 'The body is not sent as `application/json`.' },
  429: { name: 'TooManyRequests', description: "Over the account's request rate, the API's, or a backing service's throughput (`rate_limited`): retry after `Retry-After` seconds." },
  500: { name: 'InternalError', description: 'Unexpected error (logged); the message carries a request id.' },
};

const PATH_PARAMETERS: Readonly<Record<string, { readonly pattern: RegExp; readonly description: string }>> = {
  id: { pattern: WEBHOOK_ID_PATTERN, description: 'Webhook id.' },
  deliveryId: { pattern: DELIVERY_ID_PATTERN, description: 'Delivery id (the `webhook-id` header of its requests).' },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Component schemas of one registry, `$ref`s pointing into `components.schemas`. */
function componentSchemas(entries: ReadonlyArray<readonly [string, z.ZodType]>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of entries) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', io, uri: (id) => `#/components/schemas/${id}` });
  const out: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as JsonSchema;
    out[id] = rest;
  }
  return out;
}

function queryParameters(query: z.ZodObject): JsonSchema[] {
  const json = z.toJSONSchema(query, { target: 'draft-2020-12', io: 'input' }) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return { name, in: 'query', required: (json.required ?? []).includes(name), ...(description ? { description } : {}), schema: rest };
  });
}

function pathParameters(path: string): JsonSchema[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name = '']) => {
    const known = PATH_PARAMETERS[name];
    return { name, in: 'path', required: true, ...(known ? { description: known.description } : {}), schema: { type: 'string', ...(known ? { pattern: known.pattern.source } : {}) } };
  });
}

function build(): OpenApiDocument {
  const requestSchemas = componentSchemas(REQUEST_SCHEMAS, 'input');
  const responseSchemas = componentSchemas(RESPONSE_SCHEMAS, 'output');
  const nameOf = new Map<z.ZodType, string>([...REQUEST_SCHEMAS, ...RESPONSE_SCHEMAS].map(([name, schema]) => [schema, name]));
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of OPERATIONS) {
    const spec = op as (typeof OPERATIONS)[number] & { requestBody?: z.ZodType; query?: z.ZodObject; description?: string; platform?: boolean; success: { schema?: z.ZodType } };
    const successSchema = spec.success.schema ? ref(nameOf.get(spec.success.schema) ?? 'missing') : { type: 'object', description: 'An OpenAPI 3.1 document.' };
    const responses: Record<string, JsonSchema> = {
      [String(op.success.status)]: {
        description: op.success.description,
        ...(op.success.status === 204 ? {} : { content: { 'application/json': { schema: successSchema } } }),
      },
    };
    for (const status of op.errors) {
      const known = ERROR_RESPONSES[status];
      if (known) responses[String(status)] = { $ref: `#/components/responses/${known.name}` };
    }
    const parameters = [...pathParameters(op.path), ...(spec.query ? queryParameters(spec.query) : [])];
    paths[op.path] ??= {};
    paths[op.path]![op.method.toLowerCase()] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(spec.description ? { description: spec.description } : {}),
      ...(spec.platform ? { security: [{ platformIam: [] }] } : op.auth ? {} : { security: [] }),
      ...(parameters.length ? { parameters } : {}),
      ...(spec.requestBody
        ? { requestBody: { required: true, content: { 'application/json': { schema: ref(nameOf.get(spec.requestBody) ?? 'missing') } } } }
        : {}),
      responses,
    };
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, { name, description }] of Object.entries(ERROR_RESPONSES)) {
    responses[name] = {
      description,
      ...(status === '429' ? { headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer', minimum: 0 } } } } : {}),
      content: { 'application/json': { schema: ref('Error') } },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Visit webhooks management API',
      version: '1.0.0',
      description:
        'Webhooks that fire on NEW_VISIT and NEW_VISITOR events, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). ' +
        'Authenticate with `Authorization: Bearer <api key>`; every resource belongs to the key\'s account, and another account\'s resources answer 404.',
    },
    security: [{ bearerAuth: [] }],
    paths,
    webhooks: deliveryWebhooks(),
    components: {
      schemas: { ...requestSchemas, ...responseSchemas, Visit: visitJsonSchema() },
      responses,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'vwk_<43 base64url characters> or vps_<43 base64url characters>',
          description: 'An API key minted with `npm run apikey -- create --account <id>`, or a portal session token (`vps_…`) from `POST /v1/portal-sessions`.',
        },
        platformIam: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS Signature Version 4 of an IAM principal allowed `execute-api:Invoke` on the method (the platform\'s backend). Locally: `Authorization: Bearer <the local platform token>`.',
        },
      },
    },
  };
}

let cached: OpenApiDocument | undefined;

/** The document (built once per container). */
export function openApiDocument(): OpenApiDocument {
  cached ??= build();
  return cached;
}
