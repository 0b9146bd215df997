import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readStackConfig, type StackConfig } from './config';
import { PROJECT_ROOT } from './function-defaults';
import { WebhooksStack } from './webhooks-stack';

export const PROJECT_TAG = 'visit-webhooks';

export interface BuildAppOptions extends AppProps {
  /**
   * Register the cdk-nag AwsSolutions checks (findings make `app.synth()` throw).
   * @default true
   */
  readonly nag?: boolean;
}

export interface WebhooksApp {
  readonly app: App;
  readonly config: StackConfig;
  readonly stack: WebhooksStack;
}

/**
 * Builds the CDK app: reads and validates the configuration from context, creates the
 * `Webhooks-<stage>` stack, tags every resource and registers cdk-nag. `bin/app.ts`
 * and the infrastructure tests share this, so the tests check what `cdk deploy` deploys.
 */
export function buildApp(options: BuildAppOptions = {}): WebhooksApp {
  const { nag = true, ...appProps } = options;
  const app = new App(appProps);
  const config = readStackConfig((key) => app.node.tryGetContext(key));

  const stack = new WebhooksStack(app, `Webhooks-${config.stage}`, { config });

  Tags.of(app).add('project', PROJECT_TAG);
  Tags.of(app).add('stage', config.stage);
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

  return { app, config, stack };
}

/**
 * The `context` block of cdk.json: what `cdk synth` hands the app (feature flags, defaults).
 * Code that builds the app itself (tests, `npm run cost`) passes it to `buildApp` so that it
 * synthesizes what `cdk synth` does.
 */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}
