import { SAMPLE_PAYLOADS } from '../lambdas/shared/sample-payloads';

/**
 * The bench's visit payload: the sample visit (SAMPLE_PAYLOADS.NEW_VISIT), padded with
 * extra `params` (unknown fields pass through untouched) to `bytes` of serialized JSON, so that
 * the bench and the cost model talk about the same body size.
 */
export function benchPayload(bytes: number): Record<string, unknown> & { id: string } {
  const data = structuredClone(SAMPLE_PAYLOADS.NEW_VISIT) as unknown as Record<string, unknown> & { id: string; params: Record<string, string> };
  const size = () => Buffer.byteLength(JSON.stringify(data));
  for (let n = 0; size() < bytes; n++) {
    const key = `utm_extra_${n}`;
    data.params[key] = '';
    const room = bytes - size();
    // Fill the last parameter exactly up to the target (or drop it if even empty it overshoots).
    if (room < 0) delete data.params[key];
    else data.params[key] = 'x'.repeat(Math.min(room, 64));
    if (room < 0) break;
  }
  return data;
}
