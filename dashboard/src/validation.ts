/**
 * The create/edit form's model and its client-side validation. The rules mirror the API's
 * (lambdas/shared/domain/webhook-schemas.ts and the URL checks of the webhook service); the
 * limits, event types and reserved header names come from the contract module itself, so the
 * form and the API cannot drift. The API stays the judge: its field errors (`details[].path`)
 * are mapped onto the same fields by {@link mapApiIssues}.
 *
 * Pure TypeScript (no DOM): unit-tested under Node in test/dashboard/.
 */
import { EVENT_TYPES, type EventType, FIELD_PATTERNS, HOP_BY_HOP_HEADERS, LIMITS, RESERVED_HEADERS } from '../../lambdas/shared/contract';
import { compileFilter, type FilterIssue } from '../../lambdas/shared/domain/event-filter';
import { SAMPLE_PAYLOADS } from '../../lambdas/shared/sample-payloads';
import type { FieldIssue, Webhook, WebhookInput, WebhookPatch } from './types';

export interface HeaderRow {
  /** Stable key for rendering; not sent. */
  readonly key: number;
  readonly name: string;
  readonly value: string;
}

export interface WebhookFormValues {
  readonly name: string;
  readonly url: string;
  readonly eventTypes: readonly EventType[];
  readonly description: string;
  /** As typed: empty for no limit. */
  readonly rateLimit: string;
  /** The payload filter as typed (JSON): empty for none. */
  readonly filter: string;
  readonly headers: readonly HeaderRow[];
}

/**
 * Errors by field: `name`, `url`, `eventTypes`, `description`, `rateLimit`, `filter`, `headers` (the list as a
 * whole), `headers[i].name` / `headers[i].value` (row i), and `form` for anything else.
 */
export type FieldErrors = Readonly<Record<string, string>>;

/** The API's own patterns (contract.ts), so the form and the API cannot disagree. */
const { headerName: TOKEN_PATTERN, headerValue: HEADER_VALUE_PATTERN, urlChars: URL_CHARS_PATTERN } = FIELD_PATTERNS;
/** `scheme://user@host`: userinfo, even where the URL parser would normalise it away. */
const USERINFO_PATTERN = /^[a-z][a-z0-9+.-]*:[/\\]*[^/\\?#]*@/i;
const HEADER_NAME_MAX_LENGTH = 256;

export const EMPTY_FORM: WebhookFormValues = { name: '', url: '', eventTypes: [], description: '', rateLimit: '', filter: '', headers: [] };

let nextRowKey = 1;
/** A header row with a fresh key. */
export function headerRow(name = '', value = ''): HeaderRow {
  return { key: nextRowKey++, name, value };
}

/** The form's values for editing an existing webhook. */
export function formFromWebhook(webhook: Webhook): WebhookFormValues {
  return {
    name: webhook.name,
    url: webhook.url,
    eventTypes: EVENT_TYPES.filter((t) => webhook.eventTypes.includes(t)),
    description: webhook.description,
    rateLimit: webhook.rateLimit !== undefined ? String(webhook.rateLimit) : '',
    filter: webhook.filter !== undefined ? JSON.stringify(webhook.filter, null, 2) : '',
    headers: Object.entries(webhook.headers).map(([name, value]) => headerRow(name, value)),
  };
}

/** A header row the user left entirely empty is ignored rather than reported. */
function isBlankRow(row: HeaderRow): boolean {
  return row.name.trim() === '' && row.value === '';
}

export function isReservedHeaderName(name: string): boolean {
  return (RESERVED_HEADERS as readonly string[]).includes(name.toLowerCase());
}

/**
 * The API's character rules for names and descriptions (lambdas/shared/domain/webhook-schemas.ts
 * `NAME_CHARS_PATTERN`, `DESCRIPTION_CHARS_PATTERN`; a test checks they are the same): no
 * control characters (a description may have tabs and line breaks) and no Unicode
 * bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are refused
export const NAME_CHARS_PATTERN = /^[^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are refused
export const DESCRIPTION_CHARS_PATTERN = /^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$/;

export function validateName(name: string): string | undefined {
  if (name.length === 0) return 'Enter a name.';
  if (name.length > LIMITS.nameMaxLength) return `Use at most ${LIMITS.nameMaxLength} characters (now ${name.length}).`;
  if (!/\S/.test(name)) return 'The name must not be blank.';
  if (!NAME_CHARS_PATTERN.test(name)) return 'The name must not contain control characters or invisible text-direction characters.';
  return undefined;
}

export function validateUrl(url: string): string | undefined {
  if (url.length === 0) return 'Enter the URL of your endpoint.';
  if (url.length > LIMITS.urlMaxLength) return `Use at most ${LIMITS.urlMaxLength} characters (now ${url.length}).`;
  if (!URL_CHARS_PATTERN.test(url)) return 'The URL must not contain spaces or control characters.';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'Enter an absolute URL, such as https://example.com/webhooks.';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'The URL must start with https:// (http:// only where the deployment allows it).';
  if (parsed.username || parsed.password || USERINFO_PATTERN.test(url)) {
    return 'The URL must not contain credentials (user:password@); send them in a header instead.';
  }
  if (!parsed.hostname) return 'The URL must name a host.';
  return undefined;
}

export function validateEventTypes(eventTypes: readonly string[]): string | undefined {
  return eventTypes.some((t) => (EVENT_TYPES as readonly string[]).includes(t)) ? undefined : 'Choose at least one event type.';
}

export function validateDescription(description: string): string | undefined {
  if (description.length > LIMITS.descriptionMaxLength) return `Use at most ${LIMITS.descriptionMaxLength} characters (now ${description.length}).`;
  if (!DESCRIPTION_CHARS_PATTERN.test(description)) return 'The description must not contain control characters (other than tabs and line breaks) or invisible text-direction characters.';
  return undefined;
}

/** A plain decimal number as typed (no exponent, no hex, no thousands separators). */
const DECIMAL_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)$/;

/**
 * The rate limit as typed: empty (no limit), or a whole number of deliveries per second from
 * 1 to 1000, as the API requires (`rateLimit`). The range is checked first, as the API does.
 */
export function validateRateLimit(value: string): string | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  if (!DECIMAL_PATTERN.test(text)) return 'Enter the rate limit as a number of deliveries per second, e.g. 10, or leave it empty for no limit.';
  const n = Number(text);
  if (n < LIMITS.rateLimitMin || n > LIMITS.rateLimitMax) return `Use a number from ${LIMITS.rateLimitMin} to ${LIMITS.rateLimitMax} deliveries per second, or leave it empty for no limit.`;
  if (!Number.isInteger(n)) return 'Use a whole number of deliveries per second.';
  return undefined;
}

/** A filter issue's path as the API reports it: `filter.location.country[0]`. */
export function filterPath(path: FilterIssue['path']): string {
  return path.reduce<string>((out, segment) => (typeof segment === 'number' ? `${out}[${segment}]` : `${out}.${segment}`), 'filter');
}

/** The filter as typed, parsed: `undefined` for none (empty), or why it is not JSON. */
function parseFilter(text: string): { readonly pattern?: unknown; readonly error?: string } {
  if (text.trim() === '') return {};
  try {
    return { pattern: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: `The filter is not valid JSON (${err instanceof Error ? err.message : String(err)}).` };
  }
}

/**
 * The payload filter as typed: empty (no filter), or an EventBridge event pattern, checked by the
 * same module the delivery path matches with, so the message names the offending part as the
 * API would (`filter.location.country[0]: …`).
 */
export function validateFilter(text: string): string | undefined {
  const { pattern, error } = parseFilter(text);
  if (error !== undefined) return error;
  if (pattern === undefined) return undefined;
  const compiled = compileFilter(pattern);
  return compiled.ok ? undefined : `${filterPath(compiled.issue.path)}: ${compiled.issue.message}`;
}

/** Whether the sample payload of each event type would pass the filter, or why the filter cannot be checked. */
export type FilterPreview =
  | { readonly ok: true; readonly results: ReadonlyArray<{ readonly eventType: EventType; readonly matches: boolean }> }
  | { readonly ok: false; readonly error: string };

/**
 * Checks a filter against the sample payloads (sample-payloads.ts) with the delivery path's own
 * matcher: "would match / would not match" per event type. No filter: every sample matches.
 */
export function previewFilter(text: string, eventTypes: readonly EventType[] = EVENT_TYPES): FilterPreview {
  const invalid = validateFilter(text);
  if (invalid !== undefined) return { ok: false, error: invalid };
  const { pattern } = parseFilter(text);
  const compiled = pattern === undefined ? undefined : compileFilter(pattern);
  const matches = (payload: unknown) => (compiled === undefined ? true : compiled.ok && compiled.matches(payload));
  return { ok: true, results: eventTypes.map((eventType) => ({ eventType, matches: matches(SAMPLE_PAYLOADS[eventType]) })) };
}

export function validateHeaderName(name: string): string | undefined {
  if (name.length === 0) return 'Enter a header name.';
  if (name.length > HEADER_NAME_MAX_LENGTH) return `Use at most ${HEADER_NAME_MAX_LENGTH} characters.`;
  if (!TOKEN_PATTERN.test(name)) return "Header names may use only letters, digits and !#$%&'*+-.^_`|~ (no spaces or colons).";
  if ((HOP_BY_HOP_HEADERS as readonly string[]).includes(name.toLowerCase())) return `${name} is a hop-by-hop header: it is never sent to the endpoint.`;
  if (isReservedHeaderName(name)) return `${name} is set by the service and cannot be overridden.`;
  return undefined;
}

export function validateHeaderValue(value: string): string | undefined {
  if (value.length > LIMITS.headerValueMaxLength) return `Use at most ${LIMITS.headerValueMaxLength} characters (now ${value.length}).`;
  if (/[\r\n]/.test(value)) return 'Header values must not contain line breaks.';
  if (!HEADER_VALUE_PATTERN.test(value)) return 'Header values may contain only printable ASCII characters.';
  return undefined;
}

/** Validates the whole form; an empty object means it may be sent. */
export function validateWebhookForm(values: WebhookFormValues): FieldErrors {
  const errors: Record<string, string> = {};
  const put = (field: string, message: string | undefined) => {
    if (message !== undefined) errors[field] = message;
  };
  put('name', validateName(values.name));
  put('url', validateUrl(values.url));
  put('eventTypes', validateEventTypes(values.eventTypes));
  put('description', validateDescription(values.description));
  put('rateLimit', validateRateLimit(values.rateLimit));
  put('filter', validateFilter(values.filter));

  const seen = new Map<string, number>();
  let count = 0;
  values.headers.forEach((row, i) => {
    if (isBlankRow(row)) return;
    count++;
    const nameError = validateHeaderName(row.name);
    put(`headers[${i}].name`, nameError);
    if (nameError === undefined) {
      const lower = row.name.toLowerCase();
      const first = seen.get(lower);
      if (first !== undefined) put(`headers[${i}].name`, `Duplicate of header ${first + 1} (names are case-insensitive).`);
      else seen.set(lower, i);
    }
    put(`headers[${i}].value`, validateHeaderValue(row.value));
  });
  if (count > LIMITS.headersMaxCount) put('headers', `Use at most ${LIMITS.headersMaxCount} headers (now ${count}).`);
  return errors;
}

/**
 * The request body for create (and, with `editing`, for a full PATCH on edit). An empty rate
 * limit or filter is left out on create and sent as `null` on edit, which removes one that was set.
 * Call it on validated values (the filter is then JSON).
 */
export function toWebhookInput(values: WebhookFormValues): WebhookInput;
export function toWebhookInput(values: WebhookFormValues, editing: boolean): WebhookPatch;
export function toWebhookInput(values: WebhookFormValues, editing = false): WebhookInput | WebhookPatch {
  const headers: Record<string, string> = {};
  for (const row of values.headers) if (!isBlankRow(row)) headers[row.name] = row.value;
  const rateLimit = values.rateLimit.trim();
  const filter = values.filter.trim();
  return {
    name: values.name,
    url: values.url,
    eventTypes: EVENT_TYPES.filter((t) => values.eventTypes.includes(t)),
    description: values.description,
    headers,
    ...(rateLimit !== '' ? { rateLimit: Number(rateLimit) } : editing ? { rateLimit: null } : {}),
    ...(filter !== '' ? { filter: JSON.parse(filter) as Record<string, unknown> } : editing ? { filter: null } : {}),
  };
}

/**
 * Maps the API's field errors onto the form: `url` → `url`, `eventTypes[1]` → `eventTypes`,
 * `headers.Host` → the name of the row holding `Host` (or `headers` if none), `headers` →
 * `headers`. Anything else lands on `form`, so no message is ever dropped.
 */
export function mapApiIssues(details: readonly FieldIssue[], values: WebhookFormValues): FieldErrors {
  const errors: Record<string, string> = {};
  const add = (field: string, message: string) => {
    errors[field] = errors[field] ? `${errors[field]} ${message}` : message;
  };
  for (const { path, message } of details) {
    const top = /^[A-Za-z]+/.exec(path)?.[0] ?? '';
    if (top === 'headers' && path.startsWith('headers.')) {
      const name = path.slice('headers.'.length);
      const index = values.headers.findIndex((row) => row.name === name);
      const byCase = index >= 0 ? index : values.headers.findIndex((row) => row.name.toLowerCase() === name.toLowerCase());
      if (byCase >= 0) add(`headers[${byCase}].name`, message);
      else add('headers', `${name}: ${message}`);
    } else if (top === 'filter') {
      // The path names the part of the pattern: keep it in the message next to the field.
      add('filter', path === 'filter' ? message : `${path}: ${message}`);
    } else if (['name', 'url', 'eventTypes', 'description', 'rateLimit', 'headers'].includes(top)) {
      add(top, message);
    } else {
      add('form', path ? `${path}: ${message}` : message);
    }
  }
  return errors;
}

/** The value behind an error key, for telling whether the user changed it since the error was shown. */
function valueOf(values: WebhookFormValues, field: string): string {
  const row = /^headers\[(\d+)\]\.(name|value)$/.exec(field);
  if (row) {
    const header = values.headers[Number(row[1])];
    return header ? `${header.key}:${row[2] === 'name' ? header.name : header.value}` : '';
  }
  if (field === 'headers') return JSON.stringify(values.headers.map((h) => [h.name, h.value]));
  if (field === 'eventTypes') return values.eventTypes.join(',');
  if (field === 'name' || field === 'url' || field === 'description' || field === 'rateLimit' || field === 'filter') return values[field];
  return '';
}

/**
 * The errors still true after an edit: a field the user changed since its error was shown is
 * checked again, and its error goes (valid now) or says what is wrong now; a field left alone
 * keeps its error, even one only the API can judge (an address it refused). `form` errors stay
 * until the next submit. So the summary and the field messages never outlive the fix.
 */
export function reconcileErrors(errors: FieldErrors, shownFor: WebhookFormValues, now: WebhookFormValues): FieldErrors {
  const current = validateWebhookForm(now);
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(errors)) {
    if (field === 'form' || valueOf(shownFor, field) === valueOf(now, field)) out[field] = message;
    else if (current[field] !== undefined) out[field] = current[field];
  }
  return out;
}

/** Where a field sits in the form, top to bottom (`form` last). */
function fieldRank(field: string): number {
  const base = ['name', 'url', 'eventTypes', 'description', 'rateLimit', 'filter'].indexOf(field);
  if (base >= 0) return base;
  const row = /^headers\[(\d+)\]\.(name|value)$/.exec(field);
  if (row) return 10 + Number(row[1]) * 2 + (row[2] === 'value' ? 1 : 0);
  return field === 'headers' ? 6 : Number.MAX_SAFE_INTEGER;
}

/** The fields with errors in the form's order, for the error summary (the first one is focused). */
export function orderedErrorFields(errors: FieldErrors): string[] {
  return Object.keys(errors).sort((a, b) => fieldRank(a) - fieldRank(b));
}
