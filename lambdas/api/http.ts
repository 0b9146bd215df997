import { isUtf8 } from 'node:buffer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type ErrorCode, errorBody, LIMITS } from '../shared/contract';
import type { FieldIssue } from '../shared/domain/errors';

/**
 * HTTP plumbing of the API Lambda: request body reading (size, media type, JSON) and the
 * one JSON error shape, `{"error":{"code","message","details":[{"path","message"}]}}`.
 */

/** An error that already knows its HTTP answer. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly FieldIssue[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const BASE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function jsonResponse(statusCode: number, body: unknown, headers: Readonly<Record<string, string>> = {}): APIGatewayProxyResult {
  if (body === undefined) {
    const { 'content-type': _ct, ...rest } = BASE_HEADERS;
    return { statusCode, headers: { ...rest, ...headers }, body: '' };
  }
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(err: HttpError): APIGatewayProxyResult {
  return jsonResponse(err.statusCode, errorBody(err.code, err.message, err.details), err.headers);
}

/** A header's value whatever its letter case (API Gateway keeps the client's). */
export function headerValue(event: Pick<APIGatewayProxyEvent, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted && value !== undefined) return value;
  return undefined;
}

function isJsonMediaType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[\w.+-]+\+json$/.test(mediaType);
}

/** Reads a required JSON body: 413 when too large, 400 when absent, 415 when not JSON, 400 when malformed. */
export function readJsonBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'headers'>): unknown {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > LIMITS.apiBodyMaxBytes) {
    throw new HttpError(413, 'payload_too_large', `request body is ${bytes.length} bytes; the limit is ${LIMITS.apiBodyMaxBytes}`);
  }
  if (bytes.length === 0) throw new HttpError(400, 'validation_error', 'a JSON request body is required', [{ path: 'body', message: 'is required' }]);
  if (!isJsonMediaType(headerValue(event, 'content-type'))) {
    throw new HttpError(415, 'unsupported_media_type', 'the request body must be sent as Content-Type: application/json');
  }
  // JSON is UTF-8 (RFC 8259): decoding other bytes would silently turn them into U+FFFD and
  // store text the client never sent.
  if (!isUtf8(bytes)) throw new HttpError(400, 'malformed_json', 'the request body is not valid UTF-8');
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    // The parser's message quotes the input; the client has it already.
    throw new HttpError(400, 'malformed_json', 'the request body is not valid JSON');
  }
}
