import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { API } from '../../lambdas/shared/contract';
import { DashboardHosting, DEFAULT_DASHBOARD_ASSET_PATH, readDashboardContext } from '../../lib/constructs/dashboard-hosting';
import { cdkJsonContext } from '../../lib/build-app';
import { buildTestApp } from './app-fixture';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; DependsOn?: string[] };
type Statement = { Effect: string; Principal?: unknown; Action: string | string[]; Condition?: Record<string, Record<string, unknown>> };

const tempDirs: string[] = [];
/** A stand-in for dashboard/dist, so the tests need no Vite build. */
function fakeDist(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhooks-dashboard-dist-'));
  tempDirs.push(dir);
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Webhooks</title><script type="module" src="/assets/index-abc.js"></script>');
  fs.writeFileSync(path.join(dir, 'assets', 'index-abc.js'), 'console.log("dashboard")');
  fs.writeFileSync(path.join(dir, 'config.json'), '{"apiBase":""}');
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const only = (template: Template, type: string): [string, Resource] => {
  const found = Object.entries(template.findResources(type) as Record<string, Resource>);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('dashboard context', () => {
  it('is off by default and reads dashboard=true / "true" / "false"', () => {
    const read = (ctx: Record<string, unknown>) => readDashboardContext((k) => ctx[k]);
    expect(read({})).toEqual({ enabled: false, assetPath: DEFAULT_DASHBOARD_ASSET_PATH, frameAncestors: [] });
    expect(read({ dashboard: 'true' }).enabled).toBe(true);
    expect(read({ dashboard: true }).enabled).toBe(true);
    expect(read({ dashboard: 'false' }).enabled).toBe(false);
    expect(read({ dashboardAssetPath: 'build/web' }).assetPath).toBe(path.resolve(DEFAULT_DASHBOARD_ASSET_PATH, '..', '..', 'build', 'web'));
    expect(() => read({ dashboard: 'yes' })).toThrow(/"dashboard": expected true or false/);
  });

  it('reads dashboardFrameAncestors as exact origins (comma separated or a list) and refuses anything wider', () => {
    const read = (ctx: Record<string, unknown>) => readDashboardContext((k) => ctx[k]);
    expect(read({ dashboardFrameAncestors: 'https://app.example.com, https://admin.example.com:8443' }).frameAncestors).toEqual(['https://app.example.com', 'https://admin.example.com:8443']);
    expect(read({ dashboardFrameAncestors: ['https://app.example.com'] }).frameAncestors).toEqual(['https://app.example.com']);
    for (const bad of ['*', 'https://*.example.com', 'https://app.example.com/path', "'self'", 'app.example.com', "https://a.example.com; script-src *"]) {
      expect(() => read({ dashboardFrameAncestors: bad })).toThrow(/"dashboardFrameAncestors": expected origins/);
    }
  });

  it('adds no dashboard resources without the flag', () => {
    const { stack } = buildTestApp();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    template.resourceCountIs('Custom::CDKBucketDeployment', 0);
    expect(Object.keys(template.findOutputs('DashboardUrl'))).toEqual([]);
    expect(stack.dashboard).toBeUndefined();
  });

  it('fails synth with a clear message when the dashboard is not built', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'webhooks-dashboard-empty-'));
    tempDirs.push(empty);
    expect(() => buildTestApp({ context: { dashboard: true, dashboardAssetPath: empty } })).toThrow(/has no index.html; run `npm run build:dashboard`/);
  });
});

describe('dashboard hosting (context dashboard=true)', () => {
  const dist = fakeDist();
  const { stack } = buildTestApp({ context: { dashboard: 'true', dashboardAssetPath: dist } });
  const template = Template.fromStack(stack);
  const [distributionId, distribution] = only(template, 'AWS::CloudFront::Distribution');
  const config = distribution.Properties.DistributionConfig as Record<string, unknown>;
  const siteBucketId = Object.entries(template.findResources('AWS::S3::Bucket') as Record<string, Resource>).find(([, r]) => r.Properties.LoggingConfiguration)?.[0];

  it('keeps the site bucket private: public access blocked, encrypted, SSL only, logged', () => {
    expect(siteBucketId).toBeDefined();
    const buckets = template.findResources('AWS::S3::Bucket') as Record<string, Resource>;
    expect(Object.keys(buckets)).toHaveLength(2); // the site and its access logs
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(bucket.Properties.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    }
    const site = buckets[siteBucketId!]!;
    expect(site.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(site.Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: expect.stringMatching(/^DashboardAccessLogs/) }, LogFilePrefix: 's3/' });
    expect(site.Properties).not.toHaveProperty('WebsiteConfiguration');

    // Server access logs arrive under a bucket policy scoped to the site bucket, not the legacy
    // LogDeliveryWrite ACL (cfn-lint W3045).
    const [logsId, logs] = Object.entries(buckets).find(([id]) => id !== siteBucketId)!;
    expect(logs.Properties).not.toHaveProperty('AccessControl');
    const logsPolicy = Object.values(template.findResources('AWS::S3::BucketPolicy') as Record<string, Resource>).find((p) => (p.Properties.Bucket as { Ref: string }).Ref === logsId)!;
    expect((logsPolicy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Condition: expect.objectContaining({ ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [siteBucketId, 'Arn'] } } }),
      }),
    );
  });

  it('names its CloudFront policy and origin access control after the stack and region (global names: the same stage in two regions must not collide)', () => {
    const name = (suffix: string) => ({ 'Fn::Join': ['', ['Webhooks-dev-', { Ref: 'AWS::Region' }, `-${suffix}`]] });
    const [, oac] = only(template, 'AWS::CloudFront::OriginAccessControl');
    expect((oac.Properties.OriginAccessControlConfig as { Name: unknown }).Name).toEqual(name('dashboard-oac'));
    const [, headers] = only(template, 'AWS::CloudFront::ResponseHeadersPolicy');
    expect((headers.Properties.ResponseHeadersPolicyConfig as { Name: unknown }).Name).toEqual(name('dashboard-headers'));
    // The cache policy is the managed CachingOptimized (an id, no name of ours); no other named CloudFront policy.
    expect(Object.keys(template.findResources('AWS::CloudFront::CachePolicy'))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::CloudFront::OriginRequestPolicy'))).toEqual([]);
    // Pinned to two regions, the names differ.
    const inRegion = (region: string) => {
      const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
      const st = new Stack(app, 'Webhooks-prod', { env: { account: '123456789012', region } });
      new DashboardHosting(st, 'Dashboard', { assetPath: dist });
      const t = Template.fromStack(st);
      return [only(t, 'AWS::CloudFront::OriginAccessControl')[1], only(t, 'AWS::CloudFront::ResponseHeadersPolicy')[1]].map((r) => JSON.stringify(r.Properties).match(/"Name":"([^"]+)"/)?.[1]);
    };
    expect(inRegion('eu-west-1')).toEqual(['Webhooks-prod-eu-west-1-dashboard-oac', 'Webhooks-prod-eu-west-1-dashboard-headers']);
    expect(inRegion('us-east-1')).toEqual(['Webhooks-prod-us-east-1-dashboard-oac', 'Webhooks-prod-us-east-1-dashboard-headers']);
  });

  it('lets only this distribution read the bucket (Origin Access Control, no OAI)', () => {
    const [, oac] = only(template, 'AWS::CloudFront::OriginAccessControl');
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    const origins = config.Origins as Record<string, unknown>[];
    expect(origins).toHaveLength(1);
    expect(origins[0]).toMatchObject({
      DomainName: { 'Fn::GetAtt': [siteBucketId, 'RegionalDomainName'] },
      OriginAccessControlId: { 'Fn::GetAtt': [expect.any(String), 'Id'] },
      S3OriginConfig: { OriginAccessIdentity: '' },
    });

    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy') as Record<string, Resource>).filter((p) => (p.Properties.Bucket as { Ref: string }).Ref === siteBucketId);
    expect(policies).toHaveLength(1);
    const statements = (policies[0]!.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const allows = statements.filter((s) => s.Effect === 'Allow' && !JSON.stringify(s.Principal).includes('CustomResource'));
    // Apart from the stack's own auto-delete handler (dev stages), the one reader is CloudFront, for this distribution only.
    expect(allows).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [siteBucketId, 'Arn'] }, '/*']] },
        Condition: { StringEquals: { 'AWS:SourceArn': { 'Fn::Join': ['', expect.arrayContaining([{ Ref: distributionId }])] } } },
      },
    ]);
    const denies = statements.filter((s) => s.Effect === 'Deny');
    expect(denies.map((s) => s.Condition)).toEqual(
      expect.arrayContaining([{ Bool: { 'aws:SecureTransport': 'false' } }, { NumericLessThan: { 's3:TlsVersion': 1.2 } }]),
    );
  });

  it('serves the single-page app over HTTPS with security headers and access logs', () => {
    expect(config).toMatchObject({
      Enabled: true,
      DefaultRootObject: 'index.html',
      HttpVersion: 'http2and3',
      PriceClass: 'PriceClass_100',
      Logging: { Bucket: { 'Fn::GetAtt': [expect.stringMatching(/^DashboardAccessLogs/), 'RegionalDomainName'] }, Prefix: 'cloudfront/' },
    });
    expect(config.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'], Compress: true });
    expect(config.CustomErrorResponses).toEqual([
      { ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 10 },
      { ErrorCode: 404, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 10 },
    ]);

    const [headersPolicyId, headersPolicy] = only(template, 'AWS::CloudFront::ResponseHeadersPolicy');
    expect((config.DefaultCacheBehavior as Record<string, unknown>).ResponseHeadersPolicyId).toEqual({ Ref: headersPolicyId });
    const security = (headersPolicy.Properties.ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, Record<string, unknown>> }).SecurityHeadersConfig;
    expect(security.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 31536000, IncludeSubdomains: true, Override: true });
    expect(security.ContentTypeOptions).toEqual({ Override: true });
    expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    // The CSP allows scripts from the distribution only and API calls to the management API's origin.
    const csp = JSON.stringify(security.ContentSecurityPolicy);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/connect-src 'self' https:\/\/",\{"Fn::Select":\[2,\{"Fn::Split":\["\/"/);
  });

  it('deploys the build: hashed assets first and immutable, then index.html and config.json with the API URL, then an invalidation', () => {
    const deployments = template.findResources('Custom::CDKBucketDeployment') as Record<string, Resource>;
    const entries = Object.entries(deployments);
    expect(entries).toHaveLength(2);
    const [assetsId, assets] = entries.find(([id]) => id.startsWith('DashboardDeployAssets'))!;
    const [, entry] = entries.find(([id]) => id.startsWith('DashboardDeployEntry'))!;
    expect(assets.Properties).toMatchObject({ DestinationBucketName: { Ref: siteBucketId }, Prune: false, SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' } });
    expect(assets.Properties).not.toHaveProperty('DistributionId');
    expect(entry.Properties).toMatchObject({
      DestinationBucketName: { Ref: siteBucketId },
      Prune: false,
      SystemMetadata: { 'cache-control': 'no-cache' },
      DistributionId: { Ref: distributionId },
      DistributionPaths: ['/*'],
    });
    expect(entry.Properties.SourceObjectKeys).toHaveLength(2); // the build and the generated config.json
    expect(JSON.stringify(entry.Properties.SourceMarkers)).toContain('ManagementApi');
    expect(entry.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${assetsId}`))]));
  });

  it("outputs the dashboard URL and lets the API's CORS allow the distribution's origin", () => {
    const outputs = template.findOutputs('DashboardUrl');
    expect(outputs.DashboardUrl?.Value).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/']] });
    expect(stack.dashboard?.origin).toBe(`https://${stack.dashboard?.distribution.distributionDomainName}`);
    expect(stack.managementApi.allowedOrigins).toEqual([stack.dashboard?.origin]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [API.corsOriginsEnv]: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] } }) },
    });
  });

  it('retains the buckets in production and empties them on delete elsewhere', () => {
    const prod = Template.fromStack(buildTestApp({ context: { stage: 'prod', dashboard: true, dashboardAssetPath: dist } }).stack);
    for (const bucket of Object.values(prod.findResources('AWS::S3::Bucket') as Record<string, Resource>)) expect(bucket.DeletionPolicy).toBe('Retain');
    prod.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
  });
});

describe('dashboard hosting with dashboardFrameAncestors (portal sessions in an iframe)', () => {
  const dist = fakeDist();
  const { stack } = buildTestApp({ context: { dashboard: true, dashboardAssetPath: dist, dashboardFrameAncestors: 'https://app.example.com,https://admin.example.com' } });
  const template = Template.fromStack(stack);

  it("sends frame-ancestors with exactly the configured origins, and no X-Frame-Options (it cannot name origins)", () => {
    const [, headersPolicy] = only(template, 'AWS::CloudFront::ResponseHeadersPolicy');
    const security = (headersPolicy.Properties.ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, Record<string, unknown>> }).SecurityHeadersConfig;
    const csp = JSON.stringify(security.ContentSecurityPolicy);
    expect(csp).toContain('frame-ancestors https://app.example.com https://admin.example.com"');
    expect(csp).not.toContain("frame-ancestors 'none'");
    expect(security.FrameOptions).toBeUndefined();
  });

  it('gives the API function the dashboard URL as the base of portal session URLs', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'webhook-api' }) } } })) as Resource[];
    const vars = (fns[0]?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.stringify(vars.WEBHOOKS_PORTAL_URL)).toContain('DomainName');
  });
});

describe('cdk-nag with the dashboard', () => {
  const outdirs: string[] = [];
  afterAll(() => {
    for (const dir of outdirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(['dev', 'prod'])('reports zero unacknowledged findings for stage %s', (stage) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhooks-nag-dashboard-'));
    outdirs.push(outdir);
    const { app } = buildTestApp({ nag: true, outdir, context: { stage, dashboard: true, dashboardAssetPath: fakeDist() } });
    const assembly = app.synth();
    const report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: { violations?: unknown[] }[] };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
    const direct = new AwsSolutionsChecks().validateScope(app);
    expect(direct.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('acknowledges only reviewed rules, next to their resources, each with a reason', () => {
    const { app } = buildTestApp({ context: { dashboard: true, dashboardAssetPath: fakeDist() } });
    const found = app.node.findAll().flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ id: id.replace(/^[A-Za-z]+::/, ''), path: c.node.path, reason }))),
    );
    const dashboard = found.filter((f) => f.id.startsWith('AwsSolutions-') && /\/Dashboard\/|Custom::CDKBucketDeployment/.test(f.path));
    expect(dashboard.map((f) => `${f.id.replace(/\[.*$/, '')} ${f.path.replace(/CDKBucketDeployment\w+/, 'CDKBucketDeployment…')}`).sort()).toEqual(
      [
        'AwsSolutions-S1 Webhooks-dev/Dashboard/AccessLogs',
        'AwsSolutions-CFR1 Webhooks-dev/Dashboard/Distribution',
        'AwsSolutions-CFR2 Webhooks-dev/Dashboard/Distribution',
        'AwsSolutions-CFR4 Webhooks-dev/Dashboard/Distribution',
        'AwsSolutions-L1 Webhooks-dev/Custom::CDKBucketDeployment…',
        'AwsSolutions-IAM4 Webhooks-dev/Custom::CDKBucketDeployment…',
        ...Array<string>(8).fill('AwsSolutions-IAM5 Webhooks-dev/Custom::CDKBucketDeployment…'),
      ].sort(),
    );
    for (const { reason } of dashboard) expect(reason.length).toBeGreaterThan(60);
  });

  it('works as a construct on its own (no API URL: CSP connect-src https:)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Solo');
    new DashboardHosting(stack, 'Dashboard', { assetPath: fakeDist() });
    const csp = JSON.stringify(Template.fromStack(stack).findResources('AWS::CloudFront::ResponseHeadersPolicy'));
    expect(csp).toContain("connect-src 'self' https:;");
    expect(new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName)).toEqual([]);
  });
});
