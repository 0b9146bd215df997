import type { HttpSender, SendRequest, SendResult } from '../../lambdas/shared/domain/ports';

/** An HTTP sender that answers from a script and counts the bytes each request puts on the wire. */
export class ScriptedSender implements HttpSender {
  attempts = 0;
  bytesOut = 0;
  constructor(private readonly outcome: (attempt: number) => SendResult) {}
  async send(req: SendRequest): Promise<SendResult> {
    this.attempts++;
    // Request line, Host, Content-Length and the headers, then the body, as sent on the wire.
    const url = new URL(req.url);
    const head = `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-length: ${Buffer.byteLength(req.body)}\r\n` + Object.entries(req.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
    this.bytesOut += Buffer.byteLength(head) + Buffer.byteLength(req.body);
    return this.outcome(this.attempts);
  }
  async close(): Promise<void> {}
}

export const OK: SendResult = { ok: true, statusCode: 200, durationMs: 120, responseSnippet: '{"received":true}' };
/** A failing endpoint answers an error page; the attempt log keeps up to 512 bytes of it. */
export const FAILED: SendResult = { ok: false, statusCode: 503, durationMs: 150, errorKind: 'http', error: 'HTTP 503', responseSnippet: `<html><body>${'Service Unavailable '.repeat(30)}</body></html>`.slice(0, 512) };
