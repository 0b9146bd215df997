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
