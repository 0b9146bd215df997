import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildTestApp } from './app-fixture';

/** Every acknowledgment in the tree: construct path → rule id → reason. */
function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^[A-Za-z]+::/, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  const outdirs: string[] = [];
  const tempOutdir = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhooks-nag-'));
    outdirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of outdirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['dev', {}],
    // With a dashboard origin: the CORS preflight methods (no authorizer) must pass too.
    ['prod', { dashboardOrigin: 'https://dashboard.example.com' }],
    // With a WAF web ACL on the stage: APIG3 is satisfied by the association, not acknowledged.
    ['prod', { apiWafAclArn: 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/api-acl/a1b2c3d4-5678-90ab-cdef-0123456789ab' }],
    // X-Ray (its two actions have no resource-level permissions) and a publisher policy.
    ['qa', { tracing: true, publisherRoleArns: 'arn:aws:iam::111122223333:role/publisher', reconcilerReservedConcurrency: 0 }],
  ])('report zero unacknowledged findings for stage %s (errors and warnings)', (stage, extra) => {
    const { app } = buildTestApp({ nag: true, outdir: tempOutdir(), context: { stage, alarmEmail: 'ops@example.com', ...extra } });

    // cdk-nag 3 is a validation plugin: an error-level finding makes synth throw with the report.
    const assembly = app.synth();

    // Warnings do not fail synth, so read the report as well: no plugin may report anything.
    const report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);

    // And ask the pack directly, which lists every unacknowledged finding of any level.
    const direct = new AwsSolutionsChecks().validateScope(app);
    expect(direct.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(direct.success).toBe(true);
  });

  it('fails synth on a non-compliant resource, so the check above is not vacuous', () => {
    const { app, stack } = buildTestApp({ nag: true, outdir: tempOutdir() });
    new sqs.Queue(stack, 'PlainQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS[234]/);
  });

  it('acknowledges only the reviewed rules, each next to its resource with a reason', () => {
    const { app } = buildTestApp({ nag: false });
    const found = acknowledgments(app);
    expect(found.map(({ path: p, id }) => `${id} ${p}`).sort()).toEqual(
      [
        'AwsSolutions-L1 Webhooks-dev/Pipeline/Delivery/Function',
        'AwsSolutions-L1 Webhooks-dev/Pipeline/Retry/Function',
        'AwsSolutions-L1 Webhooks-dev/Reconciler/Handler/Function',
        'AwsSolutions-L1 Webhooks-dev/ManagementApi/Handler/Function',
        'AwsSolutions-L1 Webhooks-dev/ManagementApi/Authorizer/Function',
        // Bodies are validated by the API function's zod schemas (the OpenAPI document's source).
        'AwsSolutions-APIG2 Webhooks-dev/ManagementApi/Api',
        // WAF is an optional add-on of the deployment.
        'AwsSolutions-APIG3 Webhooks-dev/ManagementApi/Api/DeploymentStage.api',
        // The public OpenAPI document, and API keys rather than Cognito users.
        'AwsSolutions-APIG4 Webhooks-dev/ManagementApi/Api/Default/v1/openapi.json/GET',
        'AwsSolutions-COG4 Webhooks-dev/ManagementApi/Api/Default/v1/openapi.json/GET',
        'AwsSolutions-COG4 Webhooks-dev/ManagementApi/Api/Default/v1/portal-sessions/POST',
        'AwsSolutions-COG4 Webhooks-dev/ManagementApi/Api/Default/v1/{proxy+}/ANY',
        // API Gateway's account-level logging role (execution logs, APIG6).
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs] Webhooks-dev/ManagementApi/Api/CloudWatchRole',
        'AwsSolutions-SQS3 Webhooks-dev/Events/RuleDlq',
        'AwsSolutions-SQS3 Webhooks-dev/Pipeline/FailedDeliveriesQueue',
      ].sort(),
    );
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(60);
  });
});
