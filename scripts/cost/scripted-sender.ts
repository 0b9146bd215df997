import type { HttpSender, SendRequest, SendResult } from '../../lambdas/shared/domain/ports';

/** Where a sender reports each request: the bytes it put on the wire and the answer it got. */
export type SendSink = (bytesOut: number, result: SendResult) => void;

/** An HTTP sender that answers from a script and counts the bytes each request puts on the wire. */
export class ScriptedSender implements HttpSender {
  attempts = 0;
  bytesOut = 0;
  constructor(
    private readonly outcome: (attempt: number, req: SendRequest) => SendResult,
    private readonly sink?: SendSink,
  ) {}
  async send(req: SendRequest): Promise<SendResult> {
    this.attempts++;
    // Request line, Host, Content-Length and the headers, then the body, as sent on the wire.
    const url = new URL(req.url);
    const head = `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-length: ${Buffer.byteLength(req.body)}\r\n` + Object.entries(req.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
    const bytes = Buffer.byteLength(head) + Buffer.byteLength(req.body);
    this.bytesOut += bytes;
    const result = this.outcome(this.attempts, req);
    this.sink?.(bytes, result);
    return result;
  }
  async close(): Promise<void> {}
}

export const OK: SendResult = { ok: true, statusCode: 200, durationMs: 120, responseSnippet: '{"received":true}' };
/** A failing endpoint answers an error page; the attempt log keeps up to 512 bytes of it. */
export const FAILED: SendResult = { ok: false, statusCode: 503, durationMs: 150, errorKind: 'http', error: 'HTTP 503', responseSnippet: `<html><body>${'Service Unavailable '.repeat(30)}</body></html>`.slice(0, 512) };

/** What the sender reports when the attempt's budget ends first (as the undici sender does). */
function timedOut(req: SendRequest): SendResult {
  return { ok: false, durationMs: req.timeoutMs ?? 0, errorKind: 'timeout', error: `no answer within ${req.timeoutMs} ms` };
}

const withinBudget = (req: SendRequest, ms: number) => req.timeoutMs === undefined || ms <= req.timeoutMs;

/** An endpoint that answers 200 after `ms`, or times out when the attempt's budget is shorter. */
export function answersAfter(ms: number): (attempt: number, req: SendRequest) => SendResult {
  return (_attempt, req) => (withinBudget(req, ms) ? { ...OK, durationMs: ms } : timedOut(req));
}

/** A failing endpoint that takes `ms` to answer its error (a dead one: seconds), or times out first. */
export function failsAfter(ms: number): (attempt: number, req: SendRequest) => SendResult {
  return (_attempt, req) => (withinBudget(req, ms) ? { ...FAILED, durationMs: ms } : timedOut(req));
}
