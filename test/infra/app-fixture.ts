import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type BuildAppOptions, cdkJsonContext, type WebhooksApp } from '../../lib/build-app';

export interface TestAppOptions extends Omit<BuildAppOptions, 'context'> {
  /** Context on top of cdk.json's (e.g. `{ stage: 'prod' }`). */
  readonly context?: Record<string, unknown>;
  /**
   * Bundle the functions with esbuild for real.
   * @default false
   */
  readonly bundle?: boolean;
}

/** Builds the app exactly as `bin/app.ts` does, with bundling skipped unless asked for. */
export function buildTestApp(options: TestAppOptions = {}): WebhooksApp {
  const { context = {}, bundle = false, nag = false, ...rest } = options;
  return buildApp({
    nag,
    ...rest,
    context: {
      ...cdkJsonContext(),
      ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
}

/** The synthesized template of the webhooks stack for the given context. */
export function synthTemplate(context: Record<string, unknown> = {}): { template: Template; app: WebhooksApp } {
  const app = buildTestApp({ context });
  return { template: Template.fromStack(app.stack), app };
}

/** An IAM policy statement as the templates hold it. */
export type Statement = { Effect: string; Action: string | string[]; Resource: unknown; [key: string]: unknown };

/** The statements of the one inline policy attached to a role (exactly one is expected). */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }));
  expect(policies).toHaveLength(1);
  return (policies[0]?.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement;
}

/** The logical id of a construct's default child in the app's stack. */
export function logicalIdOf(app: WebhooksApp): (construct: { node: { defaultChild?: unknown } }) => string {
  return (construct) => app.stack.getLogicalId(construct.node.defaultChild as never);
}
