import { createHash, randomBytes } from 'node:crypto';
import { BEARER_HEADER_PATTERN } from '../contract';

/**
 * API keys (docs/design.md §11): `vwk_` + 32 random bytes in base64url. A key is shown once, when it
 * is minted; only its SHA-256 hash is stored. Its first characters (`keyId`) are public: they
 * name the key in listings and revocations without revealing it.
 */

export const API_KEY_PREFIX = 'vwk_';
const KEY_BYTES = 32;
/** Characters of the key's random part that make up its public id (48 bits). */
const KEY_ID_CHARS = 8;

/** The exact shape of a key: lets the authorizer refuse garbage without a database read. */
export const API_KEY_PATTERN = /^vwk_[A-Za-z0-9_-]{43}$/;

/** What a well-formed `Authorization` value looks like (contract.ts): the authorizer's validation expression. */
export { BEARER_HEADER_PATTERN };
const BEARER_HEADER = new RegExp(BEARER_HEADER_PATTERN);

/** Accounts are named by the tracking pipeline; keep ids to characters safe in keys and logs. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
}

/** Hex SHA-256 of the whole key: the table's partition key. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** The public id of a key: its prefix and first random characters (`vwk_AbCd1234`). */
export function keyIdOf(apiKey: string): string {
  return apiKey.slice(0, API_KEY_PREFIX.length + KEY_ID_CHARS);
}

export const KEY_ID_PATTERN = /^vwk_[A-Za-z0-9_-]{8}$/;

export function isWellFormedApiKey(value: string): boolean {
  return API_KEY_PATTERN.test(value);
}

/**
 * The token of an `Authorization: Bearer <token>` header value of the shape
 * {@link BEARER_HEADER_PATTERN} allows: an API key or a portal session token, not told apart.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header || !BEARER_HEADER.test(header)) return undefined;
  return header.trim().split(/ +/)[1] || undefined;
}

/** The API key of an `Authorization: Bearer <key>` header value, if it has that shape (a portal session token is not one). */
export function parseBearer(header: string | undefined): string | undefined {
  const key = bearerToken(header);
  return key && isWellFormedApiKey(key) ? key : undefined;
}

/**
 * Every `Authorization` value of a request, whatever the letter case of the header name:
 * `multiValueHeaders` holds each value the client sent (`headers` only the last one per name).
 */
export function authorizationValues(request: {
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly multiValueHeaders?: Readonly<Record<string, readonly string[] | undefined>> | null;
}): string[] {
  const multi: string[] = [];
  for (const [name, values] of Object.entries(request.multiValueHeaders ?? {})) if (name.toLowerCase() === 'authorization' && values) multi.push(...values);
  const single: string[] = [];
  for (const [name, value] of Object.entries(request.headers ?? {})) if (name.toLowerCase() === 'authorization' && value !== undefined) single.push(value);
  // Whichever map saw more: two spellings in `headers` are two values even if `multiValueHeaders` is empty.
  return multi.length >= single.length ? multi : single;
}

/** A request's one `Authorization` value; undefined when absent or sent more than once. */
export function singleAuthorization(request: Parameters<typeof authorizationValues>[0]): string | undefined {
  const values = authorizationValues(request);
  return values.length === 1 ? values[0] : undefined;
}

/** The key of a request's one `Authorization` header; undefined when absent, malformed or sent more than once. */
export function singleBearerKey(request: Parameters<typeof authorizationValues>[0]): string | undefined {
  return parseBearer(singleAuthorization(request));
}

