import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel as EsbuildLogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../lambdas/shared/contract';
import { BUNDLE_EXTERNALS } from './bundling';
import type { LogLevel } from './config';

/** The repository root: entries, the lock file and esbuild's working directory hang off it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** CloudWatch namespace of the Powertools metrics (names in `METRICS` of the contract). */
export { METRICS_NAMESPACE };

/**
 * Construct context key the stack sets (from context `sourceMaps`, lib/config.ts) before adding its
 * functions: whether they run with `NODE_OPTIONS=--enable-source-maps`. Unset: yes.
 */
export const SOURCE_MAPS_CONTEXT = 'visit-webhooks:enableSourceMaps';

/** The Lambda runtime of every function; the code itself also runs on Node 20 for tests. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;


export interface WebhooksFunctionProps {
  /** Handler file, relative to the repository root (e.g. `lambdas/delivery/handler.ts`). */
  readonly entry: string;
  /**
   * Name of the exported handler function.
   * @default 'handler'
   */
  readonly handler?: string;
  /** `POWERTOOLS_SERVICE_NAME` of the function (logger `service`, metrics dimension). */
  readonly serviceName: string;
  /**
   * @default - no description
   */
  readonly description?: string;
  /**
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Extra environment variables, merged over the defaults (`NODE_OPTIONS`, `POWERTOOLS_*`).
   * @default - the defaults only
   */
  readonly environment?: Record<string, string>;
  /**
   * Retention of the function's log group.
   * @default RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Removal policy of the function's log group.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * `POWERTOOLS_LOG_LEVEL`.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * Lambda's recursive loop detection: `Terminate` stops a chain of invocations that goes back
   * to the function through SQS about 16 times; `Allow` only for a function whose loop is by design.
   * @default - Lambda's default (Terminate); the template leaves the property out
   */
  readonly recursiveLoop?: lambda.RecursiveLoop;
  /**
   * Reserved concurrency (also its maximum).
   * @default - none: the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Node.js Lambda function with the project's defaults: arm64, Node.js 22, bundled by
 * the local esbuild (never Docker), minified with a source map (used at run time unless the stack
 * says otherwise: {@link SOURCE_MAPS_CONTEXT}), an explicit log group
 * with retention, and its own role that may write only to that log group (no
 * `AWSLambdaBasicExecutionRole`, which would allow writing to any log group).
 */
export class WebhooksFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** `POWERTOOLS_SERVICE_NAME`: the `service` dimension of the function's metrics. */
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: WebhooksFunctionProps) {
    super(scope, id);
    this.serviceName = props.serviceName;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_WEEK,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: props.handler ?? 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 512,
      role: this.role,
      logGroup: this.logGroup,
      ...(props.description !== undefined ? { description: props.description } : {}),
      ...(props.recursiveLoop !== undefined ? { recursiveLoop: props.recursiveLoop } : {}),
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      environment: {
        ...(this.node.tryGetContext(SOURCE_MAPS_CONTEXT) === false ? {} : { NODE_OPTIONS: '--enable-source-maps' }),
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        // The map ships in every bundle (to decode a stack offline: scripts/map-stack.ts), without the
        // sources' text: 1.3 MB -> 0.33 MB for the delivery function; stack traces need only the mappings.
        sourceMap: true,
        sourcesContent: false,
        // AWS SDK v3 ships in the nodejs22.x runtime; leaving it out keeps bundles small.
        externalModules: [...BUNDLE_EXTERNALS],
        // esbuild's warnings and errors only: its per-file size table and timing are noise in every
        // synth and test run (test/infra/bundle.test.ts and npm run bench report the sizes).
        logLevel: EsbuildLogLevel.WARNING,
      },
    });
  }

  /**
   * X-Ray active tracing (context `tracing`): Lambda samples invocations and sends their segments,
   * for which the role may `xray:PutTraceSegments` and `xray:PutTelemetryRecords`. X-Ray has no
   * resource-level permissions for them, so the statement's resource is "*" (acknowledged for
   * cdk-nag). The code itself is not instrumented (no tracer package): a trace shows the invocation,
   * its init and its duration, and the API stage's segment in front of it.
   */
  public enableActiveTracing(): void {
    (this.function.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: lambda.Tracing.ACTIVE };
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }));
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions: "*" is the only resource (present only with context tracing=true).',
    });
  }
}
