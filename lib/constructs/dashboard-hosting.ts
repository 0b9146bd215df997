import * as fs from 'node:fs';
import * as path from 'node:path';
import { type CfnElement, DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, type IConstruct } from 'constructs';
import { frameAncestorsDirective, parseFrameAncestors } from '../../lambdas/shared/contract';
import type { ContextReader } from '../config';
import { PROJECT_ROOT } from '../function-defaults';

/** Where `npm run build:dashboard` writes the dashboard. */
export const DEFAULT_DASHBOARD_ASSET_PATH = path.join(PROJECT_ROOT, 'dashboard', 'dist');

/** The dashboard's CDK context: `-c dashboard=true` turns the hosting on. */
export interface DashboardContext {
  readonly enabled: boolean;
  /** Directory with the built dashboard (`dashboardAssetPath`, relative to the repository root). */
  readonly assetPath: string;
  /** Origins that may frame the dashboard (`dashboardFrameAncestors`), e.g. the platform's app for portal sessions. */
  readonly frameAncestors: readonly string[];
}

/**
 * Reads `dashboard` (true/false, default false), `dashboardAssetPath` (default dashboard/dist)
 * and `dashboardFrameAncestors` (origins, default none) from CDK context.
 */
export function readDashboardContext(read: ContextReader): DashboardContext {
  const raw = read('dashboard');
  let enabled: boolean;
  if (raw === undefined || raw === null || raw === '' || raw === false || raw === 'false') enabled = false;
  else if (raw === true || raw === 'true') enabled = true;
  else throw new Error(`Invalid CDK context "dashboard": expected true or false (got ${JSON.stringify(raw)})`);
  const assetPath = read('dashboardAssetPath');
  if (assetPath !== undefined && (typeof assetPath !== 'string' || assetPath.trim() === '')) {
    throw new Error(`Invalid CDK context "dashboardAssetPath": expected a directory (got ${JSON.stringify(assetPath)})`);
  }
  const ancestors = parseFrameAncestors(read('dashboardFrameAncestors'));
  if ('invalid' in ancestors) {
    throw new Error(`Invalid CDK context "dashboardFrameAncestors": expected origins such as https://app.example.com, comma separated (got ${JSON.stringify(ancestors.invalid)})`);
  }
  return { enabled, assetPath: typeof assetPath === 'string' ? path.resolve(PROJECT_ROOT, assetPath) : DEFAULT_DASHBOARD_ASSET_PATH, frameAncestors: ancestors.origins };
}

export interface DashboardHostingProps {
  /**
   * Directory with the built dashboard (index.html and assets/).
   * @default DEFAULT_DASHBOARD_ASSET_PATH (dashboard/dist; `npm run build:dashboard`)
   */
  readonly assetPath?: string;
  /**
   * URL of the management API. Written to `config.json` beside index.html at deploy time, so
   * the dashboard finds the API without a rebuild; its origin is the CSP's `connect-src`.
   * An `https://` URL, possibly a token (e.g. the REST API's `url`).
   * @default - none: the dashboard calls its build-time VITE_API_BASE, else its own origin;
   *   the CSP then allows `connect-src https:`
   */
  readonly apiUrl?: string;
  /**
   * Origins allowed to show the dashboard in an iframe (CSP `frame-ancestors`), e.g. the
   * platform's app embedding Settings → Webhooks through a portal session. With any, no
   * `X-Frame-Options` is sent (it cannot name origins; `frame-ancestors` governs).
   * @default - none: framing refused (`frame-ancestors 'none'`, `X-Frame-Options: DENY`)
   */
  readonly frameAncestors?: readonly string[];
  /**
   * Removal policy of the buckets; with `DESTROY` their objects are emptied on delete.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Custom domain names for the distribution; needs `certificate`.
   * @default - the distribution's own `dxxxx.cloudfront.net` name
   */
  readonly domainNames?: string[];
  /**
   * ACM certificate (in us-east-1) for `domainNames`; with it the viewer TLS policy is TLSv1.2_2021.
   * @default - the default *.cloudfront.net certificate
   */
  readonly certificate?: acm.ICertificate;
  /**
   * @default cloudfront.PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * How long the S3 and CloudFront access logs are kept.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
  /**
   * Retention of the deployment custom resource's log group.
   * @default logs.RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Hashed file names under assets/ never change; index.html and config.json always revalidate. */
const IMMUTABLE = s3deploy.CacheControl.fromString('public, max-age=31536000, immutable');
const ENTRY_FILES = ['index.html', 'config.json'];
const BOOTSTRAP_QUALIFIER_CONTEXT = '@aws-cdk/core:bootstrapQualifier';
const S3_ACCESS_LOGS_USE_BUCKET_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

/**
 * The dashboard on S3 + CloudFront: a private, encrypted, SSL-only bucket that only this
 * distribution can read (Origin Access Control), HTTPS with security headers, index.html for
 * the app's routes, access logs for bucket and distribution, and the build deployed by a
 * `BucketDeployment` (assets first, then index.html and config.json, then a cache invalidation).
 */
export class DashboardHosting extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly logBucket: s3.Bucket;
  public readonly distribution: cloudfront.Distribution;
  public readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  /** `dxxxx.cloudfront.net`. */
  public readonly distributionDomainName: string;
  /** `https://dxxxx.cloudfront.net`: the origin the management API's CORS must allow. */
  public readonly origin: string;
  /** The dashboard's URL (`DashboardUrl` output). */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: DashboardHostingProps = {}) {
    super(scope, id);
    const assetPath = props.assetPath ?? DEFAULT_DASHBOARD_ASSET_PATH;
    if (!fs.existsSync(path.join(assetPath, 'index.html'))) {
      throw new Error(`DashboardHosting: ${assetPath} has no index.html; run \`npm run build:dashboard\` first (or set context dashboardAssetPath)`);
    }
    if ((props.domainNames?.length ?? 0) > 0 && !props.certificate) {
      throw new Error(`${this.node.path}: domainNames need a certificate (ACM, us-east-1)`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const autoDeleteObjects = removalPolicy === RemovalPolicy.DESTROY;
    // S3 server access logs are delivered under a bucket policy (logging.s3.amazonaws.com, this
    // bucket only) rather than the legacy LogDeliveryWrite ACL; scoped to this construct.
    this.node.setContext(S3_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // CloudFront standard logging delivers with an ACL grant, so ACLs must stay usable here;
      // the objects still belong to this account.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: props.accessLogRetention ?? Duration.days(90) }],
      removalPolicy,
      autoDeleteObjects,
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket of the dashboard bucket and the distribution; logging its own access would write logs about writing logs, and another bucket would only move the question.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3/',
      removalPolicy,
      autoDeleteObjects,
    });

    // The API's origin (scheme and host): `https://<host>` from `https://<host>/<stage>`, token or not.
    const connectSrc = props.apiUrl !== undefined ? `'self' https://${Fn.select(2, Fn.split('/', props.apiUrl))}` : "'self' https:";
    const frameAncestors = parseFrameAncestors(props.frameAncestors ?? []);
    if ('invalid' in frameAncestors) throw new Error(`${this.node.path}: frameAncestors: ${JSON.stringify(frameAncestors.invalid)} is not an origin such as https://app.example.com`);
    const framed = frameAncestors.origins.length > 0;
    // CloudFront is global: a policy's or an origin access control's name is unique per account, not
    // per region. The generated names (from the construct path) would be the same for the same stage
    // deployed in two regions, and the second deploy would fail; the stack name and region make them
    // distinct (and say where each comes from).
    const stack = Stack.of(this);
    const uniqueName = (suffix: string) => `${stack.stackName}-${stack.region}-${suffix}`;
    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      responseHeadersPolicyName: uniqueName('dashboard-headers'),
      comment: framed ? 'Webhooks dashboard: HSTS, CSP, framing by the configured origins only, no sniffing' : 'Webhooks dashboard: HSTS, CSP, no framing, no sniffing',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connectSrc}; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; ${frameAncestorsDirective(frameAncestors.origins)}`,
          override: true,
        },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        ...(framed ? {} : { frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true } }),
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Webhooks dashboard',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket, {
          originAccessControl: new cloudfront.S3OriginAccessControl(this, 'OriginAccessControl', {
            originAccessControlName: uniqueName('dashboard-oac'),
            description: 'The dashboard distribution reads the dashboard bucket (SigV4)',
          }),
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      // The app's routes (/settings/webhooks/…) are not objects: S3 answers 403 (no ListBucket
      // for CloudFront) or 404, and the app itself is the answer.
      errorResponses: [403, 404].map((httpStatus) => ({ httpStatus, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: Duration.seconds(10) })),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      ...(props.certificate
        ? { certificate: props.certificate, domainNames: props.domainNames ?? [], minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 }
        : {}),
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'The dashboard serves customers wherever they are; every API call it makes is authenticated with an API key, so a geo restriction would add no protection.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason: 'The distribution serves only static files from a private bucket (GET/HEAD); a WAF web ACL for CloudFront must live in us-east-1 and costs a fixed monthly fee, and the API that holds the data is protected by its authorizer and throttling.',
    });
    if (!props.certificate) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason: 'Without a custom domain the distribution uses the default *.cloudfront.net certificate, whose viewer security policy CloudFront fixes; pass domainNames and an ACM certificate to get TLSv1.2_2021.',
      });
    }

    this.distributionDomainName = this.distribution.distributionDomainName;
    this.origin = `https://${props.domainNames?.[0] ?? this.distribution.distributionDomainName}`;
    this.url = `${this.origin}/`;

    const logGroup = new logs.LogGroup(this, 'DeploymentLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_WEEK,
      removalPolicy,
    });
    const deployAssets = new s3deploy.BucketDeployment(this, 'DeployAssets', {
      sources: [s3deploy.Source.asset(assetPath, { exclude: ENTRY_FILES })],
      destinationBucket: this.bucket,
      cacheControl: [IMMUTABLE],
      // Old hashed files stay for pages still open during a deploy; the entry deployment's
      // files must never be pruned by this one either.
      prune: false,
      logGroup,
    });
    const deployEntry = new s3deploy.BucketDeployment(this, 'DeployEntry', {
      sources: [s3deploy.Source.asset(assetPath, { exclude: ['*', ...ENTRY_FILES.map((f) => `!${f}`)] }), s3deploy.Source.jsonData('config.json', { apiBase: props.apiUrl ?? '' })],
      destinationBucket: this.bucket,
      cacheControl: [s3deploy.CacheControl.noCache()],
      prune: false,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      logGroup,
    });
    // index.html must not reference assets that are not uploaded yet.
    deployEntry.node.addDependency(deployAssets);

    acknowledgeDeploymentHandler(this);
  }
}

/**
 * The `BucketDeployment` handler is a singleton that aws-cdk-lib places at stack level; its
 * runtime and IAM policy are the library's. Each finding is acknowledged by its exact id (cdk-nag
 * matches ids literally), so a new permission the library adds one day is reported, not hidden.
 */
function acknowledgeDeploymentHandler(hosting: DashboardHosting): void {
  const stack = Stack.of(hosting);
  const qualifier = (stack.node.tryGetContext(BOOTSTRAP_QUALIFIER_CONTEXT) as string | undefined) ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
  const bucketLogicalId = stack.resolve((hosting.bucket.node.defaultChild as CfnElement).logicalId) as string;
  const handlers: IConstruct[] = stack.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  for (const handler of handlers) {
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-L1',
      reason: "The BucketDeployment handler's runtime is chosen and updated by aws-cdk-lib (it runs the AWS CLI's s3 sync); it runs only during deployments.",
    });
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The BucketDeployment handler (aws-cdk-lib) uses AWSLambdaBasicExecutionRole for writing its own logs only.',
    });
    const wildcards = [
      'Action::s3:GetBucket*',
      'Action::s3:GetObject*',
      'Action::s3:List*',
      'Action::s3:Abort*',
      'Action::s3:DeleteObject*',
      `Resource::arn:<AWS::Partition>:s3:::cdk-${qualifier}-assets-<AWS::AccountId>-<AWS::Region>/*`,
      `Resource::<${bucketLogicalId}.Arn>/*`,
      'Resource::*',
    ];
    for (const finding of wildcards) {
      Validations.of(handler).acknowledge({
        id: `AwsSolutions-IAM5[${finding}]`,
        reason:
          "aws-cdk-lib's BucketDeployment handler reads the CDK asset bucket and syncs the dashboard bucket: copying a directory of generated file names needs object-level wildcards on those two buckets only; Resource::* is cloudfront:CreateInvalidation/GetInvalidation, which the library grants unscoped.",
      });
    }
  }
}
