import { DEFAULTS, DELIVERY_HEADERS, EVENT_TYPE_DESCRIPTIONS, EVENT_TYPES, isOperationalEventType, LIMITS, USER_AGENT } from '../shared/contract';
import { eventCatalog } from '../shared/domain/event-catalog';
import { SAMPLE_PAYLOADS } from '../shared/sample-payloads';
import { DELIVERY_ID_PATTERN } from '../shared/domain/webhook-service';

/**
 * The OpenAPI 3.1 `webhooks` section: the requests the service sends to a webhook's URL, one
 * entry per event type, with the headers `buildHeaders` (domain/attempt.ts) sets and the body
 * schema of the event catalog (`#/components/schemas/Visit`). docs/webhooks-guide.md is the
 * prose of the same contract.
 */

type JsonSchema = Record<string, unknown>;

/** One `v1,<base64>` signature; during a rotation two, space-separated. */
export const SIGNATURE_HEADER_PATTERN = '^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$';

function header(name: string, description: string, schema: JsonSchema): JsonSchema {
  return { name, in: 'header', required: true, description, schema: { type: 'string', ...schema } };
}

function deliveryHeaders(eventType: string): JsonSchema[] {
  return [
    header(DELIVERY_HEADERS.id, 'The delivery id: the same for every attempt of one (event, webhook), so your deduplication key.', { pattern: DELIVERY_ID_PATTERN.source }),
    header(DELIVERY_HEADERS.timestamp, 'Unix seconds when this attempt was signed (every attempt is signed again). Refuse values more than 5 minutes from your clock.', { pattern: '^[0-9]+$' }),
    header(
      DELIVERY_HEADERS.signature,
      '`v1,` + base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64-decoded part of the `whsec_` secret. During a secret rotation, two signatures separated by a space (the new secret\'s first); accept the request if any one matches.',
      { pattern: SIGNATURE_HEADER_PATTERN },
    ),
    header(
      DELIVERY_HEADERS.legacySignature,
      'The same value as `webhook-signature`; or, when the webhook\'s custom headers set `X-Webhook-Signature`, that static value instead (a shared secret you compare).',
      {},
    ),
    header(DELIVERY_HEADERS.event, 'The event type.', { enum: [eventType] }),
    header('User-Agent', 'Names the sender.', { const: USER_AGENT }),
  ];
}

export function deliveryWebhooks(): Record<string, Record<string, JsonSchema>> {
  const hours = Math.floor(DEFAULTS.retryScheduleSeconds.reduce((a, b) => a + b, 0) / 1800) / 2;
  const out: Record<string, Record<string, JsonSchema>> = {};
  const catalog = new Map(eventCatalog().map((info) => [info.eventType, info.schema]));
  // Visits share the Visit component; an operational event's body has its own schema, inline.
  const bodySchema = (eventType: (typeof EVENT_TYPES)[number]): JsonSchema => {
    if (!isOperationalEventType(eventType)) return { $ref: '#/components/schemas/Visit' };
    const { $schema: _dialect, ...schema } = catalog.get(eventType) ?? {};
    return schema;
  };
  for (const eventType of EVENT_TYPES) {
    out[eventType] = {
      post: {
        operationId: `deliver${eventType
          .toLowerCase()
          .split('_')
          .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
          .join('')}`,
        summary: `${eventType} delivery`,
        description:
          `${EVENT_TYPE_DESCRIPTIONS[eventType]} Sent as a POST to the webhook's URL for each webhook of the account subscribed to ${eventType}, ` +
          `signed per Standard Webhooks, with the webhook's custom headers (up to ${LIMITS.headersMaxCount}) besides those listed. ` +
          `Answer 2xx within ${DEFAULTS.deliveryTimeoutMs / 1000} s; anything else is retried ${DEFAULTS.retryScheduleSeconds.length} times over about ${hours} h. ` +
          'At least once: deduplicate on `webhook-id`. See the customer guide, docs/webhooks-guide.md.',
        security: [],
        parameters: deliveryHeaders(eventType),
        requestBody: {
          required: true,
          content: { 'application/json': { schema: bodySchema(eventType), example: SAMPLE_PAYLOADS[eventType] } },
        },
        responses: {
          '2XX': { description: `Received. Any 2xx within ${DEFAULTS.deliveryTimeoutMs / 1000} s ends the delivery; the response body is ignored (its first ${LIMITS.responseSnippetBytes} bytes are kept in the delivery log).` },
          '410': { description: 'Gone: the webhook is disabled at once (`status: auto-disabled`) and this delivery is not retried.' },
          '429': {
            description: 'Too many requests: retried, at the earliest after `Retry-After` (capped at the schedule\'s longest delay). `503` with `Retry-After` is treated the same.',
            headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer', minimum: 0 } } },
          },
          default: { description: 'Any other status, a redirect (not followed), a timeout or a refused connection fails the attempt: it is retried on the schedule.' },
        },
      },
    };
  }
  return out;
}
