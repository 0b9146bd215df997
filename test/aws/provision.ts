/**
 * Creates the stack's messaging and storage resources on an AWS emulator (moto server,
 * LocalStack) from the synthesized CloudFormation template: the bus, the rule with its pattern
 * and SQS target (DLQ and retry policy included), the queues with their redrive policies and
 * visibility timeouts, the DynamoDB tables with their key schemas, and the KMS keys. What the
 * template says is what gets created, so a change to the stack that the adapters do not follow
 * shows up on the emulator. Lambda functions are not created: the emulator runtime
 * (`test/aws/emulator-runtime.ts`) plays them, and their event source mappings, in this process;
 * a rule that targets a function (the reconciler's schedule) is created without that target, and
 * the suite runs the function's tick itself.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ResourceInUseException,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, DescribeEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand, type Target } from '@aws-sdk/client-eventbridge';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient, type KeySpec, type KeyUsageType } from '@aws-sdk/client-kms';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../../lambdas/shared/contract';
import type { EmulatorAwsConfig } from './aws-config';

/** The parts of a CloudFormation template this module reads. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown; readonly Description?: string }>;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** An event source mapping of the template, resolved against what was provisioned. */
export interface ProvisionedEventSource {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  readonly queueLogicalId: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number | undefined;
  readonly maxBatchingWindowSeconds: number | undefined;
  readonly reportBatchItemFailures: boolean;
  readonly maxConcurrency: number | undefined;
}

/**
 * A rule target that is a function of the template. The rule is created on the emulator, the target
 * is not (functions are not created there): the suite plays the invocation, as it plays the mappings.
 */
export interface ProvisionedFunctionTarget {
  readonly ruleLogicalId: string;
  readonly functionLogicalId: string;
  /** The rule's `ScheduleExpression` (e.g. `rate(1 minute)`), if it is a schedule. */
  readonly scheduleExpression: string | undefined;
}

export interface ProvisionedStack {
  /** Prefix of every physical name (one per test run). */
  readonly prefix: string;
  /** What `Ref` returns, by logical id: queue URL, table name, bus name, rule name. */
  readonly refs: Readonly<Record<string, string>>;
  /** What `Fn::GetAtt [id, Arn]` returns, by logical id. */
  readonly arns: Readonly<Record<string, string>>;
  /** The stack outputs whose values could be resolved (resources not provisioned are left out). */
  readonly outputs: Readonly<Record<string, string>>;
  readonly eventSources: readonly ProvisionedEventSource[];
  /** Rule targets that are functions (the reconciler's schedule), left to the suite to play. */
  readonly functionTargets: readonly ProvisionedFunctionTarget[];
  /** Resources of the template not created on the emulator, as `LogicalId (Type)`. */
  readonly skipped: readonly string[];
  /** A function's `Environment.Variables`, with its `Ref`s resolved to the emulator's names and URLs. */
  functionEnvironment(functionLogicalId: string): Record<string, string>;
  /** Resolves a template value (`Ref`, `Fn::GetAtt … Arn`, `Fn::Join`, pseudo parameters). */
  resolve(value: unknown): string;
}

/** The resource types created on the emulator; every other type is left out (see `skipped`). */
const PROVISIONED_TYPES = ['AWS::KMS::Key', 'AWS::SQS::Queue', 'AWS::DynamoDB::Table', 'AWS::Events::EventBus', 'AWS::Events::Rule'];

/** Template properties that are applied, and those that are knowingly left out (with why). */
const QUEUE_ATTRIBUTES = ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds', 'MaximumMessageSize', 'ReceiveMessageWaitTimeSeconds', 'SqsManagedSseEnabled', 'FifoQueue', 'ContentBasedDeduplication'] as const;
const QUEUE_IGNORED = ['Tags', 'QueueName' /* names are generated per run */];
const TABLE_IGNORED = ['Tags', 'TableName' /* generated per run */, 'DeletionProtectionEnabled' /* would block the emulator's cleanup; production-only */];
const BUS_IGNORED = [
  'Tags',
  'Name' /* generated per run */,
  'Description',
  // The publisher policy: its Resource is the template's bus name, not the run's, and moto does not
  // evaluate EventBridge resource policies (test/infra/publishers.test.ts checks it).
  'Policy',
];
const RULE_IGNORED = ['Tags', 'Name' /* generated per run */];
const KEY_IGNORED = ['Tags', 'KeyPolicy' /* not evaluated by moto */, 'EnableKeyRotation', 'PendingWindowInDays' /* deletion only */];

function unknownProperties(logicalId: string, properties: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(properties).filter((p) => !known.includes(p));
  if (unknown.length > 0) {
    throw new Error(
      `${logicalId}: the emulator provisioner does not know the template properties ${unknown.join(', ')}; ` +
        'teach test/aws/provision.ts what they mean (apply them, or list them as ignored with a reason)',
    );
  }
}

/** A physical name `<prefix>-<logicalId>` within `max` characters (hashed when too long). */
function physicalName(prefix: string, logicalId: string, max: number): string {
  const name = `${prefix}-${logicalId}`;
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, max - 9)}-${hash}`;
}

/** Logical ids a value refers to through `Ref` or `Fn::GetAtt`. */
function references(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) references(v, out);
  else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.Ref === 'string') out.add(record.Ref);
    const getAtt = record['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') out.add(getAtt[0]);
    for (const v of Object.values(record)) references(v, out);
  }
  return out;
}

export interface ProvisionOptions extends EmulatorAwsConfig {
  /** Prefix of the physical names; letters, digits and dashes. */
  readonly prefix: string;
}

/**
 * Creates the template's queues, tables, buses and rules on the emulator. Idempotent for one
 * prefix: what exists is reused (SQS `CreateQueue` with the same attributes returns the queue;
 * tables and buses that exist are kept; `PutRule`/`PutTargets` overwrite).
 */
export async function provisionTemplate(template: CfnTemplate, options: ProvisionOptions): Promise<ProvisionedStack> {
  const { prefix, ...aws } = options;
  if (!/^[A-Za-z0-9-]{1,20}$/.test(prefix)) throw new Error(`prefix must be 1-20 letters, digits or dashes, got "${prefix}"`);
  const sqs = new SQSClient(aws);
  const dynamodb = new DynamoDBClient(aws);
  const events = new EventBridgeClient(aws);
  const kms = new KMSClient(aws);
  const refs: Record<string, string> = {};
  const arns: Record<string, string> = {};
  const pseudo: Record<string, string> = { 'AWS::Region': aws.region, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': prefix };

  const resolve = (value: unknown): string => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (typeof record.Ref === 'string') {
        const resolved = refs[record.Ref] ?? pseudo[record.Ref];
        if (resolved === undefined) throw new Error(`cannot resolve Ref ${record.Ref} (not provisioned on the emulator)`);
        return resolved;
      }
      const getAtt = record['Fn::GetAtt'];
      if (Array.isArray(getAtt)) {
        const [id, attribute] = getAtt as [string, string];
        if (attribute === 'Arn' && arns[id]) return arns[id];
        throw new Error(`cannot resolve Fn::GetAtt ${id}.${attribute} (not provisioned on the emulator)`);
      }
      const join = record['Fn::Join'];
      if (Array.isArray(join)) {
        const [separator, parts] = join as [string, unknown[]];
        return parts.map(resolve).join(separator);
      }
    }
    throw new Error(`cannot resolve template value ${JSON.stringify(value)}`);
  };
  /** Resolves intrinsics inside a structure (for targets, redrive policies). */
  const resolveDeep = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolveDeep);
    if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if ('Ref' in record || 'Fn::GetAtt' in record || 'Fn::Join' in record) return resolve(record);
      return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolveDeep(v)]));
    }
    return value;
  };

  const resources = Object.entries(template.Resources);
  const functionTargets: ProvisionedFunctionTarget[] = [];
  /** The logical id of the template's function an ARN value (`Fn::GetAtt [fn, Arn]`) names, if it names one. */
  const functionOf = (arn: unknown): string | undefined => {
    const getAtt = (arn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
    return getAtt && template.Resources[getAtt[0]]?.Type === 'AWS::Lambda::Function' ? getAtt[0] : undefined;
  };
  // Functions and their mappings are played in process; IAM, policies, logs, alarms and the API
  // have no part in the message flow the emulator checks. Queue policies are not evaluated by moto.
  const skipped = resources.filter(([, r]) => !PROVISIONED_TYPES.includes(r.Type)).map(([id, r]) => `${id} (${r.Type})`);

  try {
    // Keys first: queues, tables and functions may name them.
    for (const [id, resource] of resources.filter(([, r]) => r.Type === 'AWS::KMS::Key')) {
      const p = resource.Properties ?? {};
      unknownProperties(id, p, ['Description', 'KeySpec', 'KeyUsage', 'Enabled', ...KEY_IGNORED]);
      const alias = `alias/${physicalName(prefix, id, 250)}`;
      const existing = await kms.send(new DescribeKeyCommand({ KeyId: alias })).catch((err: unknown) => {
        if ((err as { name?: string }).name === 'NotFoundException') return undefined;
        throw err;
      });
      let metadata = existing?.KeyMetadata;
      if (!metadata) {
        metadata = (
          await kms.send(
            new CreateKeyCommand({
              Description: p.Description !== undefined ? resolve(p.Description) : `${prefix} ${id}`,
              ...(p.KeySpec !== undefined ? { KeySpec: resolve(p.KeySpec) as KeySpec } : {}),
              ...(p.KeyUsage !== undefined ? { KeyUsage: resolve(p.KeyUsage) as KeyUsageType } : {}),
            }),
          )
        ).KeyMetadata;
        await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: metadata?.KeyId }));
      }
      refs[id] = metadata?.KeyId ?? '';
      arns[id] = metadata?.Arn ?? '';
    }

    // Queues in dependency order: a dead-letter queue exists before the queue that names it.
    const queues = new Map(resources.filter(([, r]) => r.Type === 'AWS::SQS::Queue'));
    const pending = new Set(queues.keys());
    while (pending.size > 0) {
      const ready = [...pending].filter((id) => [...references(queues.get(id)?.Properties ?? {})].every((dep) => !pending.has(dep) || dep === id));
      if (ready.length === 0) throw new Error(`queues reference each other in a cycle: ${[...pending].join(', ')}`);
      for (const id of ready) {
        const properties = queues.get(id)?.Properties ?? {};
        unknownProperties(id, properties, [...QUEUE_ATTRIBUTES, ...QUEUE_IGNORED, 'RedrivePolicy']);
        const attributes: Record<string, string> = {};
        for (const name of QUEUE_ATTRIBUTES) if (properties[name] !== undefined) attributes[name] = resolve(properties[name]);
        if (properties.RedrivePolicy !== undefined) attributes.RedrivePolicy = JSON.stringify(resolveDeep(properties.RedrivePolicy));
        const fifo = attributes.FifoQueue === 'true';
        const name = physicalName(prefix, id, fifo ? 75 : 80) + (fifo ? '.fifo' : '');
        const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
        const url = created.QueueUrl ?? '';
        const described = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
        refs[id] = url;
        arns[id] = described.Attributes?.QueueArn ?? '';
        pending.delete(id);
      }
    }

    for (const [id, resource] of resources.filter(([, r]) => r.Type === 'AWS::DynamoDB::Table')) {
      const p = resource.Properties ?? {};
      const applied = ['KeySchema', 'AttributeDefinitions', 'GlobalSecondaryIndexes', 'LocalSecondaryIndexes', 'BillingMode', 'ProvisionedThroughput', 'SSESpecification', 'StreamSpecification'];
      unknownProperties(id, p, [...applied, 'TimeToLiveSpecification', 'PointInTimeRecoverySpecification', ...TABLE_IGNORED]);
      const name = physicalName(prefix, id, 255);
      const input = { TableName: name } as Record<string, unknown>;
      for (const key of applied) if (p[key] !== undefined) input[key] = resolveDeep(p[key]);
      try {
        await dynamodb.send(new CreateTableCommand(input as unknown as CreateTableCommandInput));
      } catch (err) {
        if (!(err instanceof ResourceInUseException)) throw err;
      }
      const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
      if (ttl?.Enabled && ttl.AttributeName) {
        await dynamodb
          .send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true } }))
          .catch((err: unknown) => {
            // A second run on the same prefix: TTL is already on.
            if (!/already enabled/i.test((err as Error).message)) throw err;
          });
      }
      const pitr = p.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean } | undefined;
      if (pitr?.PointInTimeRecoveryEnabled) {
        await dynamodb.send(new UpdateContinuousBackupsCommand({ TableName: name, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }));
      }
      refs[id] = name;
      arns[id] = `arn:aws:dynamodb:${aws.region}:${accountOf(arns)}:table/${name}`;
    }

    for (const [id, resource] of resources.filter(([, r]) => r.Type === 'AWS::Events::EventBus')) {
      unknownProperties(id, resource.Properties ?? {}, BUS_IGNORED);
      const name = physicalName(prefix, id, 256);
      let arn: string | undefined;
      try {
        arn = (await events.send(new CreateEventBusCommand({ Name: name }))).EventBusArn;
      } catch (err) {
        if ((err as { name?: string }).name !== 'ResourceAlreadyExistsException') throw err;
        arn = (await events.send(new DescribeEventBusCommand({ Name: name }))).Arn;
      }
      refs[id] = name;
      arns[id] = arn ?? '';
    }

    for (const [id, resource] of resources.filter(([, r]) => r.Type === 'AWS::Events::Rule')) {
      const p = resource.Properties ?? {};
      unknownProperties(id, p, ['EventBusName', 'EventPattern', 'ScheduleExpression', 'State', 'Description', 'Targets', ...RULE_IGNORED]);
      const name = physicalName(prefix, id, 64);
      const eventBusName = p.EventBusName !== undefined ? resolve(p.EventBusName) : 'default';
      const out = await events.send(
        new PutRuleCommand({
          Name: name,
          EventBusName: eventBusName,
          ...(p.EventPattern !== undefined ? { EventPattern: typeof p.EventPattern === 'string' ? p.EventPattern : JSON.stringify(p.EventPattern) } : {}),
          ...(p.ScheduleExpression !== undefined ? { ScheduleExpression: resolve(p.ScheduleExpression) } : {}),
          ...(p.State !== undefined ? { State: resolve(p.State) as 'ENABLED' | 'DISABLED' } : {}),
          ...(p.Description !== undefined ? { Description: resolve(p.Description) } : {}),
        }),
      );
      refs[id] = name;
      arns[id] = out.RuleArn ?? '';
      // A function target is not put on the emulator (its functions are not created there): it is
      // listed in functionTargets for the suite to play. Every other target is put as the template says.
      const targets = ((p.Targets as Array<{ Arn?: unknown }> | undefined) ?? []).filter((target) => {
        const fnId = functionOf(target.Arn);
        if (fnId === undefined) return true;
        functionTargets.push({ ruleLogicalId: id, functionLogicalId: fnId, scheduleExpression: p.ScheduleExpression !== undefined ? resolve(p.ScheduleExpression) : undefined });
        return false;
      });
      if (targets.length > 0) {
        await events.send(new PutTargetsCommand({ Rule: name, EventBusName: eventBusName, Targets: resolveDeep(targets) as Target[] }));
      }
    }

    const outputs: Record<string, string> = {};
    for (const [key, output] of Object.entries(template.Outputs ?? {})) {
      try {
        outputs[key] = resolve(output.Value);
      } catch {
        // An output of a resource the emulator does not get (alarm topic, IAM policy).
      }
    }

    const eventSources: ProvisionedEventSource[] = resources
      .filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping')
      .map(([logicalId, r]) => {
        const p = r.Properties ?? {};
        const source = p.EventSourceArn as { 'Fn::GetAtt'?: [string, string] } | undefined;
        const queueLogicalId = source?.['Fn::GetAtt']?.[0];
        const fn = p.FunctionName as { Ref?: string } | undefined;
        if (!queueLogicalId || !refs[queueLogicalId] || !fn?.Ref) throw new Error(`${logicalId}: expected an SQS queue of this stack and a function Ref`);
        return {
          logicalId,
          functionLogicalId: fn.Ref,
          queueLogicalId,
          queueUrl: refs[queueLogicalId],
          queueArn: arns[queueLogicalId] ?? '',
          batchSize: p.BatchSize as number | undefined,
          maxBatchingWindowSeconds: p.MaximumBatchingWindowInSeconds as number | undefined,
          reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures'),
          maxConcurrency: (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency,
        };
      });

    return {
      prefix,
      skipped,
      refs,
      arns,
      outputs,
      eventSources,
      functionTargets,
      resolve,
      functionEnvironment(functionLogicalId) {
        const fn = template.Resources[functionLogicalId];
        if (fn?.Type !== 'AWS::Lambda::Function') throw new Error(`${functionLogicalId} is not a function of the template`);
        const variables = ((fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
        return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolve(v)]));
      },
    };
  } finally {
    sqs.destroy();
    dynamodb.destroy();
    events.destroy();
    kms.destroy();
  }
}

/** The account of the ARNs the emulator handed out so far (keys and queues come before tables). */
function accountOf(arns: Readonly<Record<string, string>>): string {
  const arn = Object.values(arns).find((a) => a.startsWith('arn:'));
  return arn?.split(':')[4] ?? '000000000000';
}

/**
 * The stack's template, synthesized now with bundling skipped (the functions' code is not
 * needed here), so the suite checks the stack as the working tree defines it.
 */
export async function loadStackTemplate(options: { readonly projectRoot: string; readonly context?: Record<string, unknown> }): Promise<CfnTemplate> {
  // Loaded lazily: aws-cdk-lib is large.
  const { buildApp } = await import('../../lib/build-app');
  const cdkJson = JSON.parse(readFileSync(join(options.projectRoot, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  // No bundling and no built-in template validation (cfn-lint and `npm run synth` check the template): ~1 s instead of ~15.
  const { app, stack } = buildApp({
    nag: false,
    builtinCloudFormationValidation: false,
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...options.context },
  });
  return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
}

/** The webhooks pipeline as the template wires it, found by its wiring rather than by names. */
export interface WebhooksPipeline {
  readonly busLogicalId: string;
  readonly ruleLogicalId: string;
  /** The mapping that consumes the rule's target queue: the delivery function's. */
  readonly eventsQueue: ProvisionedEventSource;
  /** The mapping that consumes the queue the delivery function sends retries to. */
  readonly retryQueue: ProvisionedEventSource;
  readonly deliveryFunction: string;
  readonly retryFunction: string;
}

/**
 * Finds the pipeline in a provisioned template: the rule with an SQS target, the function whose
 * mapping consumes that queue (delivery), and the function whose mapping consumes the queue the
 * delivery function's `RETRY_QUEUE_URL` names (retry). Throws, naming what is missing.
 */
export function webhooksPipeline(template: CfnTemplate, provisioned: ProvisionedStack): WebhooksPipeline {
  const queueTargets = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Events::Rule')
    .flatMap(([ruleId, r]) =>
      ((r.Properties?.Targets as Array<{ Arn?: { 'Fn::GetAtt'?: [string, string] } }> | undefined) ?? [])
        .map((t) => t.Arn?.['Fn::GetAtt']?.[0])
        .filter((id): id is string => id !== undefined && template.Resources[id]?.Type === 'AWS::SQS::Queue')
        .map((queueId) => ({ ruleId, queueId, busRef: (r.Properties?.EventBusName as { Ref?: string } | undefined)?.Ref })),
    );
  if (queueTargets.length !== 1) throw new Error(`expected exactly one EventBridge rule with an SQS queue target, found ${queueTargets.length}`);
  const [target] = queueTargets as [(typeof queueTargets)[number]];
  if (!target.busRef) throw new Error(`${target.ruleId} is not on a bus of this stack`);
  const eventsQueue = provisioned.eventSources.find((s) => s.queueLogicalId === target.queueId);
  if (!eventsQueue) throw new Error(`no function consumes ${target.queueId}, the queue that ${target.ruleId} targets`);
  const retryUrl = provisioned.functionEnvironment(eventsQueue.functionLogicalId)[ENV.retryQueueUrl];
  if (!retryUrl) throw new Error(`the delivery function ${eventsQueue.functionLogicalId} has no ${ENV.retryQueueUrl}`);
  const retryQueue = provisioned.eventSources.find((s) => s.queueUrl === retryUrl);
  if (!retryQueue) throw new Error(`no function consumes the retry queue that ${ENV.retryQueueUrl} of ${eventsQueue.functionLogicalId} names`);
  return {
    busLogicalId: target.busRef,
    ruleLogicalId: target.ruleId,
    eventsQueue,
    retryQueue,
    deliveryFunction: eventsQueue.functionLogicalId,
    retryFunction: retryQueue.functionLogicalId,
  };
}
