import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DEFAULT_EVENT_SOURCE } from '../../lambdas/shared/contract';
import { logicalIdOf, synthTemplate } from './app-fixture';

/** Who may publish (docs/design.md §2): the bus resource policy, its condition on the source, the outputs. */

type Statement = { Sid: string; Effect: string; Principal: unknown; Action: string; Resource: unknown; Condition: Record<string, Record<string, unknown>> };

function busPolicy(context: Record<string, unknown> = {}) {
  const { template, app } = synthTemplate(context);
  const id = logicalIdOf(app);
  const [bus] = Object.values(template.findResources('AWS::Events::EventBus')) as { Properties: { Name: string; Policy: { Statement: Statement[] } } }[];
  if (!bus) throw new Error('no bus');
  // The bus's ARN, formatted from its generated name (its own Arn attribute would be a circular reference).
  const busArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:event-bus/${bus.Properties.Name}`]] };
  return { template, app, id, statements: bus.Properties.Policy.Statement, busArn };
}

const root = (account: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${account}:root`]] });

describe('bus resource policy', () => {
  it('by default admits only this account for source=tracking: one deny for every other account, no allow (identity policies decide)', () => {
    const { statements, busArn } = busPolicy();
    expect(statements).toEqual([
      {
        Sid: 'DenyOtherPublishers',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Resource: busArn,
        Condition: { 'ForAnyValue:StringEquals': { 'events:source': DEFAULT_EVENT_SOURCE }, StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
  });

  it('with publisherRoleArns, allows their accounts and denies every principal but those roles (this account\'s others included)', () => {
    const role = 'arn:aws:iam::111122223333:role/tracking/publisher';
    const { statements, busArn } = busPolicy({ publisherRoleArns: role });
    expect(statements).toEqual([
      { Sid: 'AllowPublishers', Effect: 'Allow', Principal: { AWS: root('111122223333') }, Action: 'events:PutEvents', Resource: busArn, Condition: { 'ForAllValues:StringEquals': { 'events:source': 'tracking' } } },
      {
        Sid: 'DenyOtherPublishers',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Resource: busArn,
        Condition: { 'ForAnyValue:StringEquals': { 'events:source': 'tracking' }, ArnNotEquals: { 'aws:PrincipalArn': role } },
      },
    ]);
  });

  it('with accounts and roles, admits a principal that is either (the deny needs both conditions), for the configured source only', () => {
    const roles = ['arn:aws:iam::111122223333:role/a', 'arn:aws:iam::444455556666:role/b'];
    const { statements } = busPolicy({ publisherRoleArns: roles, publisherAccountIds: ['777788889999', '111122223333'], eventSource: 'tracking.v2' });
    const [allow, deny] = statements;
    expect((allow?.Principal as { AWS: unknown[] }).AWS).toEqual(['111122223333', '444455556666', '777788889999'].map(root)); // sorted by CDK
    // Allowed when every entry of the request has the source, denied when any has it.
    expect(allow?.Condition).toEqual({ 'ForAllValues:StringEquals': { 'events:source': 'tracking.v2' } });
    expect(deny?.Condition).toEqual({
      'ForAnyValue:StringEquals': { 'events:source': 'tracking.v2' },
      ArnNotEquals: { 'aws:PrincipalArn': roles },
      StringNotEquals: { 'aws:PrincipalAccount': ['777788889999', '111122223333'] },
    });
  });

  it('the policy document is valid IAM for a resource policy (principals on every statement, no wildcard resource)', () => {
    const { app } = busPolicy({ publisherAccountIds: '777788889999' });
    const doc = app.stack.events.publisherPolicy;
    expect(doc.validateForResourcePolicy()).toEqual([]);
    expect(doc).toBeInstanceOf(iam.PolicyDocument);
  });

  it('refuses malformed publishers with the key named', () => {
    expect(() => synthTemplate({ publisherAccountIds: '12345' })).toThrow(/publisherAccountIds.*12-digit/);
    expect(() => synthTemplate({ publisherRoleArns: 'arn:aws:iam::111122223333:role/*' })).toThrow(/publisherRoleArns.*no wildcards/);
    expect(() => synthTemplate({ publisherRoleArns: 'arn:aws:iam::111122223333:user/bob' })).toThrow(/publisherRoleArns/);
    expect(() => synthTemplate({ publisherRoleArns: [42] })).toThrow(/publisherRoleArns.*list of strings/);
  });

  it('outputs the bus ARN, the source and the identity policy a publisher in another account attaches there', () => {
    const { template, id, app } = busPolicy();
    const outputs = template.findOutputs('*');
    const busArnAttr = { 'Fn::GetAtt': [id(app.stack.events.eventBus), 'Arn'] };
    expect(outputs.EventBusArn?.Value).toEqual(busArnAttr);
    expect(outputs.EventSource?.Value).toBe('tracking');
    // {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:PutEvents","Resource":"<bus ARN>"}]}
    expect(outputs.PublisherIdentityPolicy?.Value).toEqual({
      'Fn::Join': ['', ['{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:PutEvents","Resource":"', busArnAttr, '"}]}']],
    });
    // The managed policy for a same-account publisher stays.
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', { PolicyDocument: { Statement: [Match.objectLike({ Action: 'events:PutEvents', Resource: busArnAttr })] } });
  });

  it('refuses to grant PutEvents from this stack to a role of another account (that policy would fail to deploy)', () => {
    const { App, Stack } = jest.requireActual<typeof import('aws-cdk-lib')>('aws-cdk-lib');
    const { EventsRouting } = jest.requireActual<typeof import('../../lib/constructs/events-routing')>('../../lib/constructs/events-routing');
    const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const routing = new EventsRouting(stack, 'E');
    const foreign = iam.Role.fromRoleArn(stack, 'Foreign', 'arn:aws:iam::111122223333:role/publisher');
    expect(() => routing.grantPutEvents(foreign)).toThrow(/publisherRoleArns/);
    const own = new iam.Role(stack, 'Own', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(routing.grantPutEvents(own).success).toBe(true);
  });
});
