import { type EventBridgeClient, PutEventsCommand, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { DEFAULT_EVENT_SOURCE, type EventType, LIMITS } from '../contract';
import { envelopeSchema, type VisitData } from '../domain/events';

export interface PublishVisitEventInput {
  readonly eventType: EventType;
  readonly accountId: string;
  /** The visit (the customer guide's "Expected Payload"); `id` is required. */
  readonly data: VisitData;
}

export interface PublishOptions {
  /** Bus name or ARN (stack output `EventBusName`). */
  readonly eventBusName: string;
  /** @default DEFAULT_EVENT_SOURCE ('tracking'); must match the stack's `eventSource` context. */
  readonly source?: string;
}

export class PublishError extends Error {
  constructor(
    message: string,
    readonly failed: PutEventsResultEntry[] = [],
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

/**
 * Puts visit events on the bus with the contract's source, detail-type and envelope, for the
 * tracking pipeline. Validates before sending (a bad event fails here, not in the consumer),
 * and throws if EventBridge rejects any entry, so the caller can retry.
 */
export async function publishVisitEvent(
  client: EventBridgeClient,
  events: PublishVisitEventInput | readonly PublishVisitEventInput[],
  options: PublishOptions,
): Promise<string[]> {
  const list = Array.isArray(events) ? (events as readonly PublishVisitEventInput[]) : [events as PublishVisitEventInput];
  const ids: string[] = [];
  for (let i = 0; i < list.length; i += 10) {
    const chunk = list.slice(i, i + 10);
    const entries = chunk.map((e) => {
      const detail = { accountId: e.accountId, data: e.data };
      const parsed = envelopeSchema.safeParse(detail);
      if (!parsed.success) throw new PublishError(`invalid visit event: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
      const serialized = JSON.stringify(detail);
      if (Buffer.byteLength(serialized) > LIMITS.eventMaxBytes) throw new PublishError(`visit event larger than ${LIMITS.eventMaxBytes} bytes`);
      return { EventBusName: options.eventBusName, Source: options.source ?? DEFAULT_EVENT_SOURCE, DetailType: e.eventType, Detail: serialized };
    });
    let pending = entries;
    for (let attempt = 1; ; attempt++) {
      const out = await client.send(new PutEventsCommand({ Entries: pending }));
      const results = out.Entries ?? [];
      const retry: typeof entries = [];
      results.forEach((entry, index) => {
        if (entry.EventId && !entry.ErrorCode) ids.push(entry.EventId);
        else if (pending[index]) retry.push(pending[index]);
      });
      if (retry.length === 0) break;
      // Only the rejected entries are sent again, so accepted events are never duplicated.
      if (attempt >= 3) {
        const failed = results.filter((entry) => entry.ErrorCode);
        throw new PublishError(`EventBridge rejected ${retry.length} of ${entries.length} events: ${failed[0]?.ErrorCode ?? ''} ${failed[0]?.ErrorMessage ?? ''}`.trim(), failed);
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      pending = retry;
    }
  }
  return ids;
}
