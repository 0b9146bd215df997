import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { PORTAL_SESSIONS } from '../contract';
import { ACCOUNT_ID_PATTERN, bearerToken } from './api-keys';

/**
 * Portal sessions (docs/design.md §11): the platform's backend asks for a short-lived,
 * account-scoped token and hands its customer a URL that carries it in the fragment. The token
 * is shown once, in that answer; only its SHA-256 hash is stored, with the account, the scope
 * (read-only or not) and the expiry. Like an API key, its first characters (`sessionId`) are
 * public and name it in logs.
 */

const TOKEN_BYTES = 32;
/** Characters of the token's random part that make up its public id. */
const SESSION_ID_CHARS = 8;

export const PORTAL_TOKEN_PATTERN = /^vps_[A-Za-z0-9_-]{43}$/;

export function generatePortalToken(): string {
  return PORTAL_SESSIONS.tokenPrefix + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Hex SHA-256 of the whole token: the stored item's key. */
export function hashPortalToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The public id of a token (`vps_AbCd1234`): safe in logs. */
export function portalSessionIdOf(token: string): string {
  return token.slice(0, PORTAL_SESSIONS.tokenPrefix.length + SESSION_ID_CHARS);
}

export function isWellFormedPortalToken(value: string): boolean {
  return PORTAL_TOKEN_PATTERN.test(value);
}

/** The session token of an `Authorization: Bearer vps_…` value, if it has the shape `BEARER_HEADER_PATTERN` allows. */
export function parsePortalBearer(header: string | undefined): string | undefined {
  const token = bearerToken(header);
  return token && isWellFormedPortalToken(token) ? token : undefined;
}

/** What `POST /v1/portal-sessions` accepts. */
export const portalSessionRequestSchema = z.strictObject({
  accountId: z
    .string('accountId must be a string')
    .regex(ACCOUNT_ID_PATTERN, 'accountId must be 1-128 characters: letters, digits and _ . : @ - (starting with a letter or digit)')
    .describe('The account whose webhooks the session shows.'),
  readOnly: z.boolean('readOnly must be true or false').default(false).describe('A read-only session may list and view, never change (403).'),
  ttlSeconds: z
    .number('ttlSeconds must be a number')
    .int('ttlSeconds must be a whole number of seconds')
    .min(PORTAL_SESSIONS.minTtlSeconds, `ttlSeconds must be at least ${PORTAL_SESSIONS.minTtlSeconds}`)
    .max(PORTAL_SESSIONS.maxTtlSeconds, `ttlSeconds must be at most ${PORTAL_SESSIONS.maxTtlSeconds} (24 hours)`)
    .default(PORTAL_SESSIONS.defaultTtlSeconds)
    .describe(`Lifetime in seconds (${PORTAL_SESSIONS.minTtlSeconds}-${PORTAL_SESSIONS.maxTtlSeconds}; default ${PORTAL_SESSIONS.defaultTtlSeconds}).`),
});

export type PortalSessionRequest = z.output<typeof portalSessionRequestSchema>;

/** A live session, as the authorizer resolves it. */
export interface PortalSession {
  readonly accountId: string;
  readonly sessionId: string;
  readonly readOnly: boolean;
  /** Epoch milliseconds; the session is refused from then on. */
  readonly expiresAt: number;
}

export interface CreatedPortalSession extends PortalSession {
  /** The plaintext token: returned once, never stored or logged. */
  readonly token: string;
}

/**
 * The dashboard URL that opens a session: the token in the fragment, which browsers never send
 * to a server; `access=read-only` lets the dashboard hide what the API would refuse.
 */
export function portalUrl(base: string | undefined, token: string, readOnly = false): string {
  const root = (base ?? '').replace(/\/+$/, '');
  return `${root}/settings/webhooks#${PORTAL_SESSIONS.fragmentParam}=${token}${readOnly ? '&access=read-only' : ''}`;
}
