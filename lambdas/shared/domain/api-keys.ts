import { createHash, randomBytes } from 'node:crypto';

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

/** What API Gateway's TOKEN authorizer can pre-check (`validationRegex`) before invoking Lambda. */
export const BEARER_HEADER_PATTERN = '^Bearer vwk_[A-Za-z0-9_-]{43}$';

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

/** The key of an `Authorization: Bearer <key>` header value, if it has that shape. */
export function parseBearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  const key = match?.[1];
  return key && isWellFormedApiKey(key) ? key : undefined;
}

