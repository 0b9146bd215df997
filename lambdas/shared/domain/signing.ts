import { createHmac, randomBytes } from 'node:crypto';
import { SIGNING_SECRET_PREFIX } from '../contract';

/**
 * Standard Webhooks signing (docs/design.md §5): `v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>`,
 * where the key is the base64-decoded part of a `whsec_` secret.
 */

const SECRET_PREFIX = SIGNING_SECRET_PREFIX;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** The HMAC key of a secret; accepts the secret with or without its `whsec_` prefix. */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('signing secret is empty or not base64');
  return key;
}

/** One `v1,<base64>` signature of a message. */
export function sign(key: Buffer, msgId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${msgId}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/**
 * The `webhook-signature` header value: one signature per active key, space-separated
 * (during a rotation the new key first, then the old one).
 */
export function signatureHeader(keys: readonly Buffer[], msgId: string, timestampSeconds: number, body: string): string {
  return keys.map((key) => sign(key, msgId, timestampSeconds, body)).join(' ');
}
