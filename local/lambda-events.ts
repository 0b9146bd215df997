import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventType } from '../lambdas/shared/contract';
import { SAMPLE_PAYLOADS } from '../lambdas/shared/sample-payloads';

/**
 * What Lambda hands a function: contexts, SQS records and events, and the EventBridge events
 * the rule puts on the events queue. The local runtime's consumers build their contexts here;
 * the tests, the cost model and the in-process harness (local/harness/) build their inputs here.
 */

export interface LambdaContextFields {
  readonly functionName: string;
  /** Region and account in the function's ARN. */
  readonly region: string;
  readonly account: string;
  readonly awsRequestId: string;
  readonly logStreamName: string;
  /** What `getRemainingTimeInMillis()` answers. */
  readonly remainingMs: () => number;
}

/** A Lambda invocation context (512 MB, `$LATEST`). */
export function createLambdaContext(fields: LambdaContextFields): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fields.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${fields.region}:${fields.account}:function:${fields.functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: fields.awsRequestId,
    logGroupName: `/aws/lambda/${fields.functionName}`,
    logStreamName: fields.logStreamName,
    getRemainingTimeInMillis: fields.remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A fixed context for handlers invoked in-process (tests, the cost model): 30 s always left. */
export const lambdaContext: Context = createLambdaContext({
  functionName: 'delivery',
  region: 'us-east-1',
  account: '111122223333',
  awsRequestId: 'req-1',
  logStreamName: 'stream',
  remainingMs: () => 30_000,
});

/** The sample visit (`SAMPLE_PAYLOADS.NEW_VISIT`, the customer guide's example) as a private copy. */
export const visitFixture = structuredClone(SAMPLE_PAYLOADS.NEW_VISIT) as unknown as Record<string, unknown> & { id: string };

/** An EventBridge event as the rule hands it to SQS. */
export function eventBridgeEvent(eventType: EventType, accountId: string, data: Record<string, unknown> = visitFixture, id: string = randomUUID(), time = '2026-01-01T00:00:00Z') {
  return { version: '0', id, 'detail-type': eventType, source: 'tracking', account: '111122223333', time, region: 'us-east-1', resources: [], detail: { accountId, data } };
}

let messageCounter = 0;
/** An SQS record carrying `body` (objects are serialized), numbered m-1, m-2, … in this process. */
export function sqsRecord(body: string | object, receiveCount = 1): SQSRecord {
  messageCounter++;
  return {
    messageId: `m-${messageCounter}`,
    receiptHandle: `rh-${messageCounter}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      // Left empty: the delivery handler then takes its own clock's now as the first receive,
      // which is what in-process callers driving a manual clock need (SQS always fills it).
      ApproximateFirstReceiveTimestamp: '',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:events',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
