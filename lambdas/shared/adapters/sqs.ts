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

/** What SQS accepts as a `MessageGroupId`: 1-128 printable ASCII characters, no space (webhook ids are `wh_…`). */
export function isMessageGroupId(value: string): boolean {
  return /^[\x21-\x7E]{1,128}$/.test(value);
}

/**
 * The retry queue on SQS: one message per due retry, delayed up to 15 minutes a hop.
 *
 * Each message carries `MessageGroupId` = its webhook: on a standard queue that makes it an SQS
 * fair queue, so a webhook with a large backlog (a slow or recovering endpoint) is served after
 * the quiet ones instead of delaying them (an id SQS would refuse is left out: no group, the
 * message is still sent). On a standard queue the group id does not order messages
 * or limit their concurrency (only FIFO queues do), and per-message delays still apply.
 */
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
        ...(isMessageGroupId(message.webhookId) ? { MessageGroupId: message.webhookId } : {}),
      }),
    );
  }
}

/**
 * A DLQ written explicitly, with the reason as a message attribute (and in the log). No
 * `MessageGroupId`: nothing consumes a DLQ automatically, so there is no fairness to keep.
 */
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
