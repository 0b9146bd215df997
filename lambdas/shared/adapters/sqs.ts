import type { SQSClient, SQSClientConfig } from '@aws-sdk/client-sqs';
import { MAX_QUEUE_DELAY_SECONDS, type RetryMessage } from '../domain/messages';
import type { DeadLetterSink, RetryQueue } from '../domain/ports';

type SqsSdk = typeof import('@aws-sdk/client-sqs');
let sdk: SqsSdk | undefined;
/**
 * `@aws-sdk/client-sqs`, required on first use: the delivery path writes to SQS only when
 * something fails (retry, DLQ), so a container that only delivers never loads it.
 */
function sqsSdk(): SqsSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (sdk ??= require('@aws-sdk/client-sqs') as SqsSdk);
}

/** An SQS client, or a function that makes one on first use. */
export type SqsClientSource = SQSClient | (() => SQSClient);

/** One SQS client per container, created (and its SDK module loaded) on first use. */
export function lazySqsClient(config: SQSClientConfig = {}): () => SQSClient {
  let client: SQSClient | undefined;
  return () => (client ??= new (sqsSdk().SQSClient)(config));
}

const resolve = (source: SqsClientSource): SQSClient => (typeof source === 'function' ? source() : source);

/** The retry queue on SQS: one message per due retry, delayed up to 15 minutes a hop. */
export class SqsRetryQueue implements RetryQueue {
  constructor(
    private readonly sqs: SqsClientSource,
    private readonly queueUrl: string,
  ) {}

  async enqueue(message: RetryMessage, delaySeconds: number): Promise<void> {
    await resolve(this.sqs).send(
      new (sqsSdk().SendMessageCommand)({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.round(delaySeconds))),
      }),
    );
  }
}

/** A DLQ written explicitly, with the reason as a message attribute (and in the log). */
export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly sqs: SqsClientSource,
    private readonly queueUrl: string,
  ) {}

  async send(body: string, reason: string, attributes: Readonly<Record<string, string>> = {}): Promise<void> {
    const messageAttributes: Record<string, { DataType: 'String'; StringValue: string }> = {
      reason: { DataType: 'String', StringValue: reason.slice(0, 1000) },
    };
    for (const [name, value] of Object.entries(attributes)) messageAttributes[name] = { DataType: 'String', StringValue: value };
    await resolve(this.sqs).send(new (sqsSdk().SendMessageCommand)({ QueueUrl: this.queueUrl, MessageBody: body, MessageAttributes: messageAttributes }));
  }
}
