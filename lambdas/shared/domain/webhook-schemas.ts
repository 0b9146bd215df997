import { z } from 'zod';
import { EVENT_TYPES, FIELD_PATTERNS, HOP_BY_HOP_HEADERS, LIMITS, RESERVED_HEADERS, SERVICE_HEADERS } from '../contract';
import type { FieldIssue } from './errors';
import { checkFilter, FILTER_LIMITS } from './event-filter';

/**
 * The request schemas of the management API (docs/design.md §6). The domain validates with them
 * and the OpenAPI document is generated from them (`z.toJSONSchema`), so the documented
 * contract and the enforced one cannot drift. Rules that need I/O or configuration (the URL's
 * scheme and SSRF target checks) run in the webhook service after these.
 *
 * Every pattern here is also a valid JSON Schema (ECMA-262) pattern without flags, because it
 * ends up in the OpenAPI document verbatim.
 */

const TOKEN_PATTERN = FIELD_PATTERNS.headerName;

/** `word` matched in any letter case without a regex flag (JSON Schema patterns have none). */
function anyCase(word: string): string {
  return word.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).replace(/\./g, '\\.');
}

/** Refuses the reserved header names (contract.ts `RESERVED_HEADERS`) in any letter case. */
export const NOT_RESERVED_HEADER_PATTERN = new RegExp(`^(?!(?:${RESERVED_HEADERS.map(anyCase).join('|')})$)`);

const HEADER_VALUE_PATTERN = FIELD_PATTERNS.headerValue;
const URL_CHARS_PATTERN = FIELD_PATTERNS.urlChars;

/** Something other than whitespace. */
const NOT_BLANK_PATTERN = /\S/;

/**
 * Unicode bidirectional controls: embeddings and overrides (U+202A-U+202E), isolates
 * (U+2066-U+2069) and the marks U+200E, U+200F and U+061C. They reorder the text displayed
 * around them, so a name could show as something else than it is (in the dashboard, in logs).
 */
const BIDI_CONTROLS = '\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069';

/** A name: no control characters (C0, DEL, C1) and no bidirectional controls. */
export const NAME_CHARS_PATTERN = new RegExp(`^[^\\u0000-\\u001F\\u007F-\\u009F${BIDI_CONTROLS}]*$`);

/**
 * A description: free text over several lines, so tab, line feed and carriage return (CRLF
 * line ends) are allowed; other control characters and the bidirectional controls are not.
 */
export const DESCRIPTION_CHARS_PATTERN = new RegExp(`^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F${BIDI_CONTROLS}]*$`);

/**
 * A lone UTF-16 surrogate (`"\ud800"` in JSON): not a character, and not encodable as the UTF-8
 * that DynamoDB strings are. Checked with a refinement: the `u` flag it needs has no JSON Schema form.
 */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const wellFormed = (value: string) => !LONE_SURROGATE.test(value);

export const headerNameSchema = z
  .string()
  .min(1, 'header name must not be empty')
  .max(256, 'header name must be at most 256 characters')
  .regex(TOKEN_PATTERN, 'header name must be an RFC 7230 token (letters, digits and !#$%&\'*+-.^_`|~)')
  .regex(
    NOT_RESERVED_HEADER_PATTERN,
    `header name is reserved: the service sets ${SERVICE_HEADERS.join(', ')}, and never sends hop-by-hop headers (${HOP_BY_HOP_HEADERS.join(', ')})`,
  );

export const headerValueSchema = z
  .string('header value must be a string')
  .max(LIMITS.headerValueMaxLength, `header value must be at most ${LIMITS.headerValueMaxLength} characters`)
  .regex(HEADER_VALUE_PATTERN, 'header value must be printable ASCII without CR or LF');

export const headersSchema = z
  .record(headerNameSchema, headerValueSchema, 'headers must be an object of header names to string values')
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > LIMITS.headersMaxCount) ctx.addIssue({ code: 'custom', message: `at most ${LIMITS.headersMaxCount} headers are allowed` });
    const seen = new Set<string>();
    for (const name of names) {
      const lower = name.toLowerCase();
      if (seen.has(lower)) ctx.addIssue({ code: 'custom', path: [name], message: 'duplicate header name (names are case-insensitive)' });
      seen.add(lower);
    }
  })
  .meta({ maxProperties: LIMITS.headersMaxCount, description: 'Custom headers sent with every delivery. `X-Webhook-Signature` may be set to a static shared-secret token (it then replaces the HMAC copy in that header).' });

export const nameSchema = z
  .string('name must be a string')
  .min(1, 'name must not be empty')
  .max(LIMITS.nameMaxLength, `name must be at most ${LIMITS.nameMaxLength} characters`)
  .regex(NOT_BLANK_PATTERN, 'name must not be blank')
  .regex(NAME_CHARS_PATTERN, 'name must not contain control characters or Unicode bidirectional controls')
  .refine(wellFormed, 'name must be valid Unicode text (no lone surrogates)');

export const urlSchema = z
  .string('url must be a string')
  .min(1, 'url must not be empty')
  .max(LIMITS.urlMaxLength, `url must be at most ${LIMITS.urlMaxLength} characters`)
  .regex(URL_CHARS_PATTERN, 'url must not contain whitespace or control characters')
  .meta({
    format: 'uri',
    description:
      'Absolute `https://` URL (plain `http://` only where the deployment allows it), without credentials; its host must resolve only to public addresses. Stored WHATWG-normalized (e.g. `https://example.com` becomes `https://example.com/`).',
  });

export const eventTypeSchema = z.enum(EVENT_TYPES, `must be one of ${EVENT_TYPES.join(', ')}`);

/** A non-empty set of event types; duplicates are accepted and removed (stored in EVENT_TYPES order). */
export const eventTypesSchema = z
  .array(eventTypeSchema, 'eventTypes must be an array')
  .min(1, 'eventTypes must contain at least one event type')
  .max(10, 'eventTypes must have at most 10 entries')
  .transform((types) => EVENT_TYPES.filter((t) => types.includes(t)))
  .meta({ description: 'Event types to deliver; duplicates are removed.' });

export const descriptionSchema = z
  .string('description must be a string')
  .max(LIMITS.descriptionMaxLength, `description must be at most ${LIMITS.descriptionMaxLength} characters`)
  .regex(DESCRIPTION_CHARS_PATTERN, 'description must not contain control characters other than tab and line breaks, or Unicode bidirectional controls')
  .refine(wellFormed, 'description must be valid Unicode text (no lone surrogates)');

export const enabledSchema = z.boolean('enabled must be true or false');

const RATE_LIMIT_RANGE = `rateLimit must be between ${LIMITS.rateLimitMin} and ${LIMITS.rateLimitMax} deliveries per second`;

/**
 * A webhook's delivery rate limit, in deliveries per second. The delivery domain enforces it
 * across every consumer; deliveries beyond it wait for a later second, never dropped or failed.
 */
export const rateLimitSchema = z
  .number('rateLimit must be a number (deliveries per second)')
  // The range first: the first rule broken is the one reported (1e20 is out of range, not "not whole").
  .min(LIMITS.rateLimitMin, RATE_LIMIT_RANGE)
  .max(LIMITS.rateLimitMax, RATE_LIMIT_RANGE)
  .int('rateLimit must be a whole number of deliveries per second')
  .meta({
    description: `At most this many deliveries a second to this webhook (${LIMITS.rateLimitMin}-${LIMITS.rateLimitMax}); absent: no limit. Deliveries beyond the limit wait for a later second: they are never dropped or failed.`,
  });

const FILTER_DESCRIPTION =
  'A payload filter: an EventBridge event pattern over the delivered body (the visit). Only events whose payload matches are delivered; the others make no delivery and no record. ' +
  'Fields are matched as in EventBridge: `{"params": {"utm_source": ["newsletter"]}}`, `{"location": {"country": [{"anything-but": ["United States"]}]}}`. ' +
  'Operators: exact values (strings, numbers, booleans, null), `prefix`, `suffix` (both also as `{"equals-ignore-case": "..."}`), `equals-ignore-case`, `wildcard`, ' +
  '`anything-but` (a value, a list, or `prefix`, `suffix`, `equals-ignore-case`, `wildcard`), `numeric` (JSON numbers only: the string "6" is not the number 6), `exists`, `cidr`, `$or`; ' +
  `an array in the payload matches when any element does. At most ${FILTER_LIMITS.maxBytes} bytes of JSON, ${FILTER_LIMITS.maxDepth} levels of nested objects and ${FILTER_LIMITS.maxValues} values. See docs/api.md.`;

/**
 * A payload filter (event-filter.ts): any JSON, checked by the filter compiler, which reports the
 * offending part by its path (`filter.location.country[0]`). Left as `unknown` rather than a zod
 * record so the pattern reaches the checker exactly as parsed (no copy, no key dropped).
 */
export const filterSchema = z
  .unknown()
  .superRefine((pattern, ctx) => {
    const issue = checkFilter(pattern);
    if (issue) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
  })
  .meta({
    type: 'object',
    minProperties: 1,
    // Any properties (the checker judges them): said outright so generated clients type the
    // field as an open object rather than one without properties (client/schema.d.ts).
    additionalProperties: {},
    description: FILTER_DESCRIPTION,
    examples: [{ params: { utm_source: ['newsletter'] } }, { location: { country: [{ 'anything-but': ['United States'] }] } }],
  });

const BODY_NOT_OBJECT = 'request body must be a JSON object';

/** `POST /v1/webhooks`. Unknown fields are refused (a typo is a 400, not silently ignored). */
export const webhookCreateSchema = z
  .strictObject({
    name: nameSchema,
    url: urlSchema,
    eventTypes: eventTypesSchema,
    description: descriptionSchema.default(''),
    headers: headersSchema.default({}),
    enabled: enabledSchema.default(true),
    rateLimit: rateLimitSchema.optional(),
    filter: filterSchema.optional(),
  }, BODY_NOT_OBJECT)
  .meta({ description: 'A new webhook.' });

/** `PATCH /v1/webhooks/{id}`: any create field; absent fields keep their value. */
export const webhookPatchSchema = z
  .strictObject({
    name: nameSchema.optional(),
    url: urlSchema.optional(),
    eventTypes: eventTypesSchema.optional(),
    description: descriptionSchema.optional(),
    headers: headersSchema.optional().meta({ description: 'Replaces all custom headers.' }),
    enabled: enabledSchema
      .optional()
      .meta({ description: '`true` re-enables a disabled or auto-disabled webhook (status `active`, reason cleared); `false` disables it (status `disabled`).' }),
    rateLimit: rateLimitSchema
      .nullable()
      .optional()
      .meta({
        description: `Deliveries per second (${LIMITS.rateLimitMin}-${LIMITS.rateLimitMax}); \`null\` removes the limit. Deliveries beyond the limit wait for a later second: they are never dropped or failed.`,
      }),
    filter: filterSchema
      .nullable()
      .optional()
      .meta({ description: `Replaces the payload filter; \`null\` removes it (every event of the subscribed types is delivered again). ${FILTER_DESCRIPTION}` }),
  }, BODY_NOT_OBJECT)
  .meta({ description: 'Changes to a webhook; absent fields are left as they are.' });

/** `POST /v1/webhooks/{id}/test`. */
export const testRequestSchema = z.strictObject({ eventType: eventTypeSchema }, BODY_NOT_OBJECT).meta({ description: 'Which sample event to send.' });

/** `POST /v1/webhooks/{id}/recover`. */
export const recoverRequestSchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true, error: 'since must be an ISO 8601 date-time, e.g. 2026-01-01T00:00:00Z' }),
  }, BODY_NOT_OBJECT)
  .meta({ description: 'Re-queue every failed or skipped delivery created at or after `since`.' });

export type WebhookCreateInput = z.output<typeof webhookCreateSchema>;
export type WebhookPatchInput = z.output<typeof webhookPatchSchema>;

/** A field path as the API reports it: `headers.Host`, `eventTypes[1]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

function isPresent(input: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  let value: unknown = input;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return false;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value !== undefined;
}

/**
 * Flattens zod issues into `{path, message}` pairs, one per field: a bad record key reports
 * its own rule, an unknown field and a missing one say so.
 */
export function toFieldIssues(error: z.ZodError, input: unknown, prefix: ReadonlyArray<PropertyKey> = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = formatPath([...prefix, ...issue.path]);
    if (issue.code === 'invalid_key') {
      for (const inner of issue.issues) out.push({ path, message: inner.message });
    } else if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...prefix, ...issue.path, key]), message: 'is not a known field' });
    } else if (issue.code === 'invalid_type' && !isPresent(input, issue.path)) {
      out.push({ path, message: 'is required' });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  // One message per field: the first rule it broke (an empty name is not also "blank").
  const seen = new Set<string>();
  return out.filter((issue) => !seen.has(issue.path) && seen.add(issue.path));
}
