import { ChangeMessageVisibilityCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueuedMessage, RedriveQueue } from '../domain/ports';
import { isMessageGroupId } from './sqs';

/** An SQS queue for the redrive tool (AWS or an emulator endpoint). */
export class SqsRedriveQueue implements RedriveQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
    /** How long received messages stay hidden while they are moved. */
    private readonly visibilityTimeout = 60,
  ) {}

  async receive(max: number): Promise<QueuedMessage[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
        WaitTimeSeconds: 1,
        VisibilityTimeout: this.visibilityTimeout,
        MessageAttributeNames: ['All'],
      }),
    );
    return (out.Messages ?? []).map((m) => ({
      body: m.Body ?? '',
      handle: m.ReceiptHandle ?? '',
      attributes: Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? ''])),
    }));
  }

  async send(body: string, attributes: Readonly<Record<string, string>> = {}): Promise<void> {
    const messageAttributes = Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]));
    const group = webhookIdOf(body);
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body,
        ...(Object.keys(messageAttributes).length ? { MessageAttributes: messageAttributes } : {}),
        // A redriven delivery keeps its webhook's group on the retry queue (an SQS fair queue).
        ...(group !== undefined && isMessageGroupId(group) ? { MessageGroupId: group } : {}),
      }),
    );
  }

  async remove(handle: string): Promise<void> {
    await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: handle }));
  }

  async release(handle: string): Promise<void> {
    await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }));
  }

  async depth(): Promise<number> {
    const out = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  }
}

/** The webhook of a retry message body (what the fair queue groups by), if the body is one. */
function webhookIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const id = typeof parsed === 'object' && parsed !== null ? (parsed as { webhookId?: unknown }).webhookId : undefined;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
