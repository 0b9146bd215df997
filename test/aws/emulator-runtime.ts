/**
 * The emulator runtime of the AWS emulator suite: the same delivery and retry handlers, with the
 * production SQS and DynamoDB adapters, against an AWS emulator endpoint (the suite's moto
 * server). Where `local/stack.ts` replaces SQS with in-process queues, this runtime leaves every
 * queue operation (delay, visibility, receive count, redrive to the DLQ) to the emulator, and
 * plays only what Lambda would: the event source mappings (`QueueConsumer` over `SqsPollSource`)
 * and the function invocations.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { KMSClient } from '@aws-sdk/client-kms';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { createDeliveryHandler } from '../../lambdas/delivery/app';
import { createRetryHandler } from '../../lambdas/retry/app';
import { ENV, PIPELINE } from '../../lambdas/shared/contract';
import { KmsEnvelopeCipher } from '../../lambdas/shared/adapters/secret-cipher';
import { createDeliveryRuntime, type DeliveryRuntime, secretCipherFromEnv } from '../../lambdas/shared/composition/delivery-runtime';
import { createReconcilerRuntime } from '../../lambdas/shared/composition/reconciler-runtime';
import type { Reconciler } from '../../lambdas/shared/domain/reconciler';
import { type PollSource, QueueConsumer, type SqsHandler } from '../../local/consumer';
import { type EmulatorAwsConfig, emulatorAwsConfig } from './aws-config';
import { terminalLog } from '../../local/stack';
import type { LogSink, MetricSink, SecretCipher } from '../../lambdas/shared/domain/ports';

/**
 * URL of the queue the delivery function consumes. Lambda learns it from its event source
 * mapping, not from its environment, so the contract's `ENV` does not list it.
 */
export const EVENTS_QUEUE_URL_ENV = 'EVENTS_QUEUE_URL';

export interface SqsPollSourceOptions {
  /**
   * Visibility timeout of received messages. Lambda's mapping uses the queue's own, which is
   * what happens when this is absent; tests set a short one to see redeliveries quickly.
   * @default - the queue's visibility timeout
   */
  readonly visibilityTimeoutSeconds?: number;
  /** Told about a delete that failed (the message then comes back, as it would on AWS). */
  readonly onError?: (err: unknown) => void;
}

/**
 * An SQS queue as a poll source for {@link QueueConsumer}: what Lambda's SQS event source mapping
 * does, through the public SQS API. Records have the shape Lambda gives them (`attributes` with
 * `ApproximateReceiveCount`, `messageAttributes`, `eventSourceARN`).
 */
export class SqsPollSource implements PollSource {
  private queueArn: Promise<string> | undefined;

  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
    private readonly options: SqsPollSourceOptions = {},
  ) {}

  async receive(max: number, waitMs: number): Promise<SQSRecord[]> {
    const arn = await this.arn();
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
        // SQS long-polls in whole seconds (at most 20); below half a second this is a short poll.
        WaitTimeSeconds: Math.max(0, Math.min(20, Math.round(waitMs / 1000))),
        // All system attributes (ApproximateReceiveCount above all); the current name of the
        // deprecated `AttributeNames`.
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        ...(this.options.visibilityTimeoutSeconds !== undefined ? { VisibilityTimeout: this.options.visibilityTimeoutSeconds } : {}),
      }),
    );
    return (out.Messages ?? []).map((m) => toRecord(m, arn));
  }

  /**
   * Deletes with `DeleteMessageBatch`. Never throws: a message whose delete failed becomes visible
   * again after its visibility timeout and is processed again, which is what Lambda does too
   * (at-least-once; the handlers are idempotent). Failures go to `onError`.
   */
  async delete(records: readonly SQSRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      try {
        const out = await this.sqs.send(
          new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: chunk.map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })) }),
        );
        if (out.Failed && out.Failed.length > 0) {
          this.options.onError?.(new Error(`DeleteMessageBatch failed for ${out.Failed.length} of ${chunk.length}: ${out.Failed[0]?.Code ?? ''} ${out.Failed[0]?.Message ?? ''}`));
        }
      } catch (err) {
        this.options.onError?.(err);
      }
    }
  }

  private arn(): Promise<string> {
    this.queueArn ??= this.sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['QueueArn'] }))
      .then((out) => out.Attributes?.QueueArn ?? '')
      .catch((err: unknown) => {
        this.queueArn = undefined; // ask again next time
        throw err;
      });
    return this.queueArn;
  }
}

function toRecord(m: Message, queueArn: string): SQSRecord {
  const a = m.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ...a,
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? '',
    SenderId: a.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '',
  };
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes,
    messageAttributes: toMessageAttributes(m.MessageAttributes ?? {}),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? '',
  };
}

function toMessageAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const base64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return Object.fromEntries(
    Object.entries(attributes).map(([name, v]) => [
      name,
      {
        dataType: v.DataType ?? 'String',
        ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
        ...(v.BinaryValue !== undefined ? { binaryValue: base64(v.BinaryValue) } : {}),
        stringListValues: v.StringListValues ?? [],
        binaryListValues: (v.BinaryListValues ?? []).map(base64),
      },
    ]),
  );
}

/** Which mapping an invocation came from. */
export type EmulatorQueue = 'events' | 'retry';

export interface EmulatorStackOptions {
  /** The emulator's endpoint (the moto server's URL). */
  readonly endpoint: string;
  /**
   * The functions' environment: table names, queue URLs (`ENV` of the contract) and
   * {@link EVENTS_QUEUE_URL_ENV}; region and credentials as for any AWS client.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Human-readable log lines. @default console.log */
  readonly print?: (line: string) => void;
  /** Concurrent invocations per mapping. @default 2 */
  readonly concurrency?: number;
  /** See {@link SqsPollSourceOptions.visibilityTimeoutSeconds}. @default - each queue's own */
  readonly visibilityTimeoutSeconds?: number;
  /** Called after every invocation with its records and response (undefined if it threw); for tests and tracing. */
  readonly onInvocation?: (queue: EmulatorQueue, records: readonly SQSRecord[], response: SQSBatchResponse | undefined) => void;
}

export interface EmulatorStack {
  readonly runtime: DeliveryRuntime;
  /** How the stores encrypt signing secrets: KMS on the emulator, or the local key. */
  readonly cipher: SecretCipher;
  /** The environment the handlers run with. */
  readonly env: NodeJS.ProcessEnv;
  readonly aws: EmulatorAwsConfig;
  readonly eventsQueueUrl: string;
  readonly retryQueueUrl: string;
  /** Stops polling and lets in-flight invocations finish; their records stay or go as they end. */
  close(): Promise<void>;
}

function requireVar(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`the emulator runtime needs ${name} (the URL of a queue on the emulator) in its environment`);
  return value;
}

/**
 * Runs the delivery and retry handlers against an emulator: the runtime is built by
 * `createDeliveryRuntime` with the real SQS and DynamoDB adapters pointed at `endpoint`, and one
 * `QueueConsumer` per mapping polls the events queue and the retry queue with the mapping's
 * settings from the contract (`PIPELINE`: batch size, batching window, function timeout).
 * The resources must exist (see `provisionTemplate`).
 */
export async function startEmulatorStack(options: EmulatorStackOptions): Promise<EmulatorStack> {
  const baseEnv = options.env ?? process.env;
  const print = options.print ?? ((line: string) => console.log(line));
  const aws = emulatorAwsConfig(options.endpoint, baseEnv);
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    // As in the in-process runtime: loopback receivers and plain http work unless turned off.
    [ENV.allowPrivateTargets]: baseEnv[ENV.allowPrivateTargets] ?? 'true',
    [ENV.allowHttp]: baseEnv[ENV.allowHttp] ?? 'true',
  };
  const eventsQueueUrl = requireVar(env, EVENTS_QUEUE_URL_ENV);
  const retryQueueUrl = requireVar(env, ENV.retryQueueUrl);

  const log = terminalLog(print);
  const clientConfig = { endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials };
  // Signing secrets: with a KMS key id, KMS on the emulator (the production cipher); otherwise the
  // local key (WEBHOOKS_SECRETS_KEY), as the runtime would choose.
  const kmsKeyId = env[ENV.secretsKmsKeyId];
  const kms = kmsKeyId ? new KMSClient(clientConfig) : undefined;
  const cipher = kms && kmsKeyId ? new KmsEnvelopeCipher(kms, kmsKeyId) : secretCipherFromEnv(env);
  const runtime = createDeliveryRuntime(env, { dynamoConfig: clientConfig, sqsConfig: clientConfig, log, cipher });

  // The mappings' own client: receive and delete, as Lambda's poller does outside the function.
  const sqs = new SQSClient(clientConfig);
  const onError = (functionName: string) => (err: unknown) =>
    log.error('consumer error', { functionName, error: err instanceof Error ? err.message : String(err) });
  const pollOptions = (functionName: string) => ({
    onError: onError(functionName),
    ...(options.visibilityTimeoutSeconds !== undefined ? { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds } : {}),
  });
  const consumerOptions = (functionName: string) => ({
    batchSize: PIPELINE.batchSize,
    batchingWindowMs: PIPELINE.maxBatchingWindowSeconds * 1000,
    concurrency: options.concurrency ?? 2,
    waitMs: 1000,
    functionName,
    timeoutMs: PIPELINE.functionTimeoutSeconds * 1000,
    onError: onError(functionName),
  });
  const observed = (queue: EmulatorQueue, handler: SqsHandler): SqsHandler => {
    if (!options.onInvocation) return handler;
    const observe = options.onInvocation;
    return async (event: SQSEvent, context: Context) => {
      let response: SQSBatchResponse | undefined;
      try {
        response = await handler(event, context);
        return response;
      } finally {
        observe(queue, event.Records, response);
      }
    };
  };
  const consumers = [
    new QueueConsumer(new SqsPollSource(sqs, eventsQueueUrl, pollOptions('delivery')), observed('events', createDeliveryHandler(runtime)), consumerOptions('delivery')),
    new QueueConsumer(new SqsPollSource(sqs, retryQueueUrl, pollOptions('retry')), observed('retry', createRetryHandler(runtime)), consumerOptions('retry')),
  ];
  for (const c of consumers) c.start();

  let closing: Promise<void> | undefined;
  return {
    runtime,
    cipher,
    env,
    aws,
    eventsQueueUrl,
    retryQueueUrl,
    close: () =>
      (closing ??= (async () => {
        await Promise.all(consumers.map((c) => c.stop()));
        await runtime.sender.close();
        sqs.destroy();
        kms?.destroy();
      })()),
  };
}

export interface EmulatorReconciler {
  /** The reconciler as the scheduled function builds it (createReconcilerRuntime), on the emulator. */
  readonly reconciler: Reconciler;
  close(): void;
}

/**
 * The scheduled reconciler against an emulator: `createReconcilerRuntime` with the function's
 * environment (from the template) and the production DynamoDB and SQS adapters pointed at
 * `endpoint`. The schedule is not played: a test calls `reconciler.tick()` where EventBridge would
 * invoke the function.
 */
export function startEmulatorReconciler(options: {
  readonly endpoint: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: LogSink;
  readonly metrics: MetricSink;
}): EmulatorReconciler {
  const aws = emulatorAwsConfig(options.endpoint, options.env);
  const clientConfig = { endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials };
  // No cipher: the function's own (secrets withheld), as its environment has no key and its role no kms:Decrypt.
  const reconciler = createReconcilerRuntime(options.env, { dynamoConfig: clientConfig, sqsConfig: clientConfig, log: options.log, metrics: options.metrics });
  return { reconciler, close: () => undefined };
}
