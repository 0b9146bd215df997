import { randomUUID } from 'node:crypto';
import { toOperationalEntry } from '../lambdas/shared/adapters/eventbridge-publisher';
import { LIMITS, matchesEventPattern } from '../lambdas/shared/contract';
import type { OperationalEvent } from '../lambdas/shared/domain/operational-events';
import type { OperationalEventSink } from '../lambdas/shared/domain/ports';

/**
 * The local event bus: answers the EventBridge `PutEvents` JSON protocol (what the real
 * `EventBridgeClient` speaks), builds each event as EventBridge would, and routes it through
 * rules with the very same patterns as the CDK stack.
 */

export interface LocalRule {
  readonly name: string;
  readonly pattern: Readonly<Record<string, readonly unknown[]>>;
  readonly target: (eventJson: string) => void;
}

export interface PutEventsEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Time?: unknown;
  Resources?: unknown;
}

export interface AwsJsonResponse {
  readonly status: number;
  readonly body: string;
}

const AWS_JSON = 'application/x-amz-json-1.1';
export const PUT_EVENTS_TARGET = 'AWSEvents.PutEvents';

function error(type: string, message: string, status = 400): AwsJsonResponse {
  return { status, body: JSON.stringify({ __type: type, message }) };
}

/**
 * An entry's size as EventBridge counts it against the 256 KB PutEvents limit: the UTF-8 bytes
 * of Source, DetailType, Detail and each resource, plus 14 when Time is set.
 */
function entrySize(entry: PutEventsEntry): number {
  const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  const resources = Array.isArray(entry.Resources) ? (entry.Resources as unknown[]).reduce<number>((n, r) => n + bytes(r), 0) : 0;
  return (entry.Time !== undefined ? 14 : 0) + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail) + resources;
}

export class LocalBus {
  private readonly rules: LocalRule[];

  constructor(
    readonly name: string,
    rules: readonly LocalRule[],
    private readonly account = '000000000000',
    private readonly region = 'local',
  ) {
    this.rules = [...rules];
  }

  /** Adds a rule (as `PutRule` + `PutTargets` would): every later event it matches goes to its target too. */
  addRule(rule: LocalRule): void {
    this.rules.push(rule);
  }

  /** Puts entries from inside the process, as `PutEvents` does; the results in entry order. */
  putEntries(entries: readonly PutEventsEntry[]): Array<{ EventId: string } | { ErrorCode: string; ErrorMessage: string }> {
    return entries.map((entry) => this.put(entry));
  }

  get contentType(): string {
    return AWS_JSON;
  }

  /** Handles one AWS JSON request (`X-Amz-Target` says which operation). */
  handle(target: string | undefined, rawBody: string): AwsJsonResponse {
    if (target !== PUT_EVENTS_TARGET) return error('UnknownOperationException', `operation ${target ?? '(none)'} is not supported by the local bus`);
    let request: { Entries?: unknown };
    try {
      request = JSON.parse(rawBody) as { Entries?: unknown };
    } catch {
      return error('SerializationException', 'request body is not JSON');
    }
    const entries = request.Entries;
    if (!Array.isArray(entries) || entries.length === 0) return error('ValidationException', 'Entries must contain 1 to 10 entries');
    if (entries.length > 10) return error('ValidationException', "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10");
    // EventBridge counts the entries, not the request: an entry over the limit is refused
    // however little JSON surrounds it.
    const size = (entries as PutEventsEntry[]).reduce((total, e) => total + entrySize(e), 0);
    if (size > LIMITS.eventMaxBytes) return error('ValidationException', 'Total size of the entries in the request is over the limit.');
    const results = (entries as PutEventsEntry[]).map((entry) => this.put(entry));
    const failed = results.filter((r) => 'ErrorCode' in r).length;
    return { status: 200, body: JSON.stringify({ FailedEntryCount: failed, Entries: results }) };
  }

  /** One entry: as EventBridge, an entry that matches no rule is still accepted (and dropped). */
  private put(entry: PutEventsEntry): { EventId: string } | { ErrorCode: string; ErrorMessage: string } {
    if (typeof entry.Source !== 'string' || entry.Source === '' || typeof entry.DetailType !== 'string' || entry.DetailType === '' || typeof entry.Detail !== 'string') {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source, DetailType and Detail are required.' };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const time = typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : typeof entry.Time === 'string' ? new Date(entry.Time) : new Date();
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: this.account,
      time: (Number.isNaN(time.getTime()) ? new Date() : time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.region,
      resources: Array.isArray(entry.Resources) ? entry.Resources : [],
      detail,
    };
    const json = JSON.stringify(event);
    for (const rule of this.rules) if (matchesEventPattern(rule.pattern, event)) rule.target(json);
    return { EventId: event.id };
  }
}

/**
 * The operational events port on the local bus: the same entries as EventBridgeOperationalEvents
 * puts (toOperationalEntry), routed by the bus's rules, so a subscribed webhook gets them through
 * the events queue as in AWS.
 */
export class LocalBusOperationalEvents implements OperationalEventSink {
  constructor(
    private readonly bus: LocalBus,
    private readonly source: string,
  ) {}

  async publish(events: readonly OperationalEvent[]): Promise<void> {
    const entries = events.map((event) => {
      const entry = toOperationalEntry(event, this.bus.name, this.source);
      return { ...entry, Time: entry.Time?.toISOString() };
    });
    const failed = this.bus.putEntries(entries).filter((r) => 'ErrorCode' in r);
    if (failed.length > 0) throw new Error(`the local bus refused ${failed.length} operational events`);
  }
}
