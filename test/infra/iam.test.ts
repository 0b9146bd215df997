import type { Template } from 'aws-cdk-lib/assertions';
import type { WebhooksApp } from '../../lib/build-app';
import { synthTemplate } from './app-fixture';

/**
 * IAM to the action, as one table: every role's every permission, as `action resource` lines
 * (resources by name, indexes by `<table>/index/<name>`). A grant added anywhere, or a wider one,
 * fails here until this table says so; what each line is for is in the construct that grants it.
 */

type Doc = { Statement: { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[] };
type Resource = { Type: string; Properties: Record<string, unknown> };

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Names the template's logical ids after the stack's constructs. */
function namer(app: WebhooksApp): (resource: unknown) => string {
  const s = app.stack;
  const named: Record<string, { node: { defaultChild?: unknown } }> = {
    webhooksTable: s.store.webhooksTable,
    deliveriesTable: s.store.deliveriesTable,
    apiKeysTable: s.store.apiKeysTable,
    statsTable: s.store.statsTable,
    eventBus: s.events.eventBus,
    eventsQueue: s.events.eventsQueue,
    eventsDlq: s.events.eventsDlq,
    ruleDlq: s.events.ruleDlq,
    retryQueue: s.pipeline.retryQueue,
    retryDlq: s.pipeline.retryDlq,
    failedDeliveriesQueue: s.pipeline.failedDeliveriesQueue,
    secretsKey: s.secretsKey,
    deliveryLogs: s.pipeline.delivery.logGroup,
    retryLogs: s.pipeline.retry.logGroup,
    reconcilerLogs: s.reconciler.handler.logGroup,
    apiLogs: s.managementApi.handler.logGroup,
    authorizerLogs: s.managementApi.authorizerHandler.logGroup,
  };
  const byId = new Map(Object.entries(named).map(([name, c]) => [s.getLogicalId(c.node.defaultChild as never), name]));
  const ref = (v: unknown): string => {
    const r = v as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
    if (typeof v === 'string') return v;
    const id = r.Ref ?? r['Fn::GetAtt']?.[0];
    if (id !== undefined) return byId.get(id) ?? `?${id}`;
    if (r['Fn::Join']) return r['Fn::Join'][1].map(ref).join('');
    return JSON.stringify(v);
  };
  return ref;
}

/** `action resource` lines of every inline policy attached to the role (sorted). */
function permissionsOf(template: Template, app: WebhooksApp, role: { node: { defaultChild?: unknown } }): string[] {
  const roleId = app.stack.getLogicalId(role.node.defaultChild as never);
  const name = namer(app);
  const lines: string[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]) {
    const roles = policy.Properties.Roles as { Ref: string }[];
    if (!roles.some((r) => r.Ref === roleId)) continue;
    for (const st of (policy.Properties.PolicyDocument as Doc).Statement) {
      expect(st.Effect).toBe('Allow');
      // The one condition any function role has: operational events, with their own source only.
      const condition = st.Condition === undefined ? '' : ` if ${JSON.stringify(st.Condition)}`;
      for (const action of list(st.Action)) for (const resource of list(st.Resource)) lines.push(`${action} ${name(resource)}${condition}`);
    }
  }
  return lines.sort();
}

const OPERATIONAL_PUT = 'events:PutEvents eventBus if {"StringEquals":{"events:source":"visit-webhooks"}}';
const CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
const logs = (group: string) => [`logs:CreateLogStream ${group}`, `logs:PutLogEvents ${group}`];

/** What the shared delivery runtime calls (lambdas/shared/composition/delivery-runtime.ts), for both lanes. */
const deliveryPath = (queue: string, logGroup: string) =>
  [
    ...logs(logGroup),
    // Its own queue, through the event source mapping (CDK's consume grant).
    ...CONSUME.map((a) => `${a} ${queue}`),
    // listByAccount (Query on the table's key), get, markFailing/clearFailing/autoDisable/markSlow/setBreaker.
    'dynamodb:Query webhooksTable',
    'dynamodb:GetItem webhooksTable',
    'dynamodb:UpdateItem webhooksTable',
    // get, write and the rate limiter's counters (UpdateItem), writeDelivered (BatchWriteItem of puts).
    'dynamodb:GetItem deliveriesTable',
    // a first-attempt success by id (redeliveries), on the table's own key
    'dynamodb:Query deliveriesTable',
    // a record's payload (its event's payload item)
    'dynamodb:BatchGetItem deliveriesTable',
    'dynamodb:UpdateItem deliveriesTable',
    // an event's payload item, once; a success item a batch could not write
    'dynamodb:PutItem deliveriesTable',
    'dynamodb:BatchWriteItem deliveriesTable',
    // invalid events, hops and hand-offs, exhausted deliveries
    'sqs:SendMessage eventsDlq',
    'sqs:SendMessage retryQueue',
    'sqs:SendMessage failedDeliveriesQueue',
    // signing: decrypt only
    'kms:Decrypt secretsKey',
    // the statistics: one ADD per webhook and hour per invocation
    'dynamodb:UpdateItem statsTable',
    // operational events (auto-disable, exhausted, breaker opened), their own source only
    OPERATIONAL_PUT,
  ].sort();

describe('IAM to the action (every function role, every action and resource)', () => {
  const { template, app } = synthTemplate();
  const s = app.stack;

  it('delivery function (fast lane)', () => {
    expect(permissionsOf(template, app, s.pipeline.delivery.role)).toEqual(deliveryPath('eventsQueue', 'deliveryLogs'));
  });

  it('retry function (slow lane): the same calls, consuming the retry queue', () => {
    expect(permissionsOf(template, app, s.pipeline.retry.role)).toEqual(deliveryPath('retryQueue', 'retryLogs'));
  });

  it('reconciler: its three sparse indexes, UpdateItem, recovery jobs and payloads on the deliveries table, SendMessage to the slow lane; no KMS (secrets withheld)', () => {
    expect(permissionsOf(template, app, s.reconciler.handler.role)).toEqual(
      [
        ...logs('reconcilerLogs'),
        'dynamodb:Query webhooksTable/index/breakers',
        'dynamodb:Query deliveriesTable/index/status',
        'dynamodb:Query deliveriesTable/index/due',
        'dynamodb:UpdateItem webhooksTable',
        'dynamodb:UpdateItem deliveriesTable',
        // recovery jobs (saved under a lease, read back) and the payloads of listed records
        'dynamodb:GetItem deliveriesTable',
        'dynamodb:PutItem deliveriesTable',
        'dynamodb:BatchGetItem deliveriesTable',
        'sqs:SendMessage retryQueue',
        // the breakers it closes are announced
        OPERATIONAL_PUT,
      ].sort(),
    );
  });

  it('management API: the webhook admin calls, the delivery log, re-queueing, envelope encryption', () => {
    expect(permissionsOf(template, app, s.managementApi.handler.role)).toEqual(
      [
        ...logs('apiLogs'),
        // listPage/listByAccount, get and the counter, create, update/counter, delete
        'dynamodb:Query webhooksTable',
        'dynamodb:GetItem webhooksTable',
        'dynamodb:PutItem webhooksTable',
        'dynamodb:UpdateItem webhooksTable',
        'dynamodb:DeleteItem webhooksTable',
        // the delivery log and recover (Query), retry (GetItem), test sends, retry, recover (UpdateItem)
        'dynamodb:Query deliveriesTable',
        'dynamodb:GetItem deliveriesTable',
        'dynamodb:UpdateItem deliveriesTable',
        // recovery jobs and an event's payload; a record's payload; ?status= and recovery
        'dynamodb:PutItem deliveriesTable',
        'dynamodb:BatchGetItem deliveriesTable',
        'dynamodb:Query deliveriesTable/index/status',
        // the per-request key re-check
        'dynamodb:GetItem apiKeysTable',
        // portal sessions, stored as a token hash
        'dynamodb:PutItem apiKeysTable',
        // GET …/stats: one Query per shard
        'dynamodb:Query statsTable',
        'sqs:SendMessage retryQueue',
        'kms:GenerateDataKey secretsKey',
        'kms:Decrypt secretsKey',
      ].sort(),
    );
  });

  it('authorizer: one GetItem on the API keys table', () => {
    expect(permissionsOf(template, app, s.managementApi.authorizerHandler.role)).toEqual([...logs('authorizerLogs'), 'dynamodb:GetItem apiKeysTable'].sort());
  });

  it('no other role has an inline policy, and no function role may Scan or touch an index it does not name', () => {
    const functionRoles = [s.pipeline.delivery, s.pipeline.retry, s.reconciler.handler, s.managementApi.handler, s.managementApi.authorizerHandler].map((f) =>
      s.getLogicalId(f.role.node.defaultChild as never),
    );
    const attached = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]).flatMap((p) => (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref));
    expect([...new Set(attached)].sort()).toEqual([...functionRoles].sort());
    const all = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(all).not.toContain('dynamodb:Scan');
    expect(all).not.toContain('/index/*');
  });

  it('with tracing on, each function role gains exactly the two X-Ray actions (which have no resource-level permissions)', () => {
    const traced = synthTemplate({ tracing: true });
    const t = traced.app.stack;
    const pairs = [
      [s.pipeline.delivery, t.pipeline.delivery],
      [s.pipeline.retry, t.pipeline.retry],
      [s.reconciler.handler, t.reconciler.handler],
      [s.managementApi.handler, t.managementApi.handler],
      [s.managementApi.authorizerHandler, t.managementApi.authorizerHandler],
    ] as const;
    for (const [plain, withTracing] of pairs) {
      expect(permissionsOf(traced.template, traced.app, withTracing.role)).toEqual(
        [...permissionsOf(template, app, plain.role), 'xray:PutTelemetryRecords *', 'xray:PutTraceSegments *'].sort(),
      );
    }
  });
});
