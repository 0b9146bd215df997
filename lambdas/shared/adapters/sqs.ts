import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_QUEUE_DELAY_SECONDS, type RetryMessage, type RetryQueue } from '../domain/messages';
import type { DeadLetterSink } from '../domain/ports';

/** The retry queue on SQS: one message per due retry, delayed up to 15 minutes a hop. */
export class SqsRetryQueue implements RetryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(message: RetryMessage, delaySeconds: number): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
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
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(body: string, reason: string, attributes: Readonly<Record<string, string>> = {}): Promise<void> {
    const messageAttributes: Record<string, { DataType: 'String'; StringValue: string }> = {
      reason: { DataType: 'String', StringValue: reason.slice(0, 1000) },
    };
    for (const [name, value] of Object.entries(attributes)) messageAttributes[name] = { DataType: 'String', StringValue: value };
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body, MessageAttributes: messageAttributes }));
  }
}
