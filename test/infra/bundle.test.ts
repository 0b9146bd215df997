import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { DynamoDeliveryStore } from '../../lambdas/shared/adapters/dynamo-delivery-store';
import { LocalKeyCipher } from '../../lambdas/shared/adapters/secret-cipher';
import { ENV } from '../../lambdas/shared/contract';
import { PROJECT_ROOT } from '../../lib/function-defaults';
import { ensureTables, startDynalite } from '../../local/dynamo';
import { eventBridgeEvent, sqsEvent, sqsRecord } from '../../local/lambda-events';
import { startReceiver } from '../helpers/receiver';
import { webhookFixture } from '../../local/harness/webhook-fixture';
import { buildTestApp } from './app-fixture';

interface FunctionResource {
  Type: string;
  Properties: { Handler: string; Code: { S3Key: string }; Environment?: { Variables: Record<string, unknown> } };
}

interface AssetManifest {
  files: Record<string, { source: { path: string; packaging?: string } }>;
}

/** Stand-ins for the CloudFormation references in the environment (table names, queue URLs). */
function resolvedEnvironment(variables: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [
      name,
      typeof value === 'string' ? value : name.endsWith('_URL') ? `https://sqs.us-east-1.amazonaws.com/123456789012/${name.toLowerCase()}` : `test-${name.toLowerCase()}`,
    ]),
  );
}

/**
 * Loads a bundle in a fresh Node process, with only the environment Lambda would give it,
 * and reports the type of the named export.
 */
function exportTypeOf(bundleFile: string, exportName: string, env: Record<string, string>): string {
  const script = 'const mod = require(process.argv[1]); process.stdout.write(typeof mod[process.argv[2]]);';
  return execFileSync(process.execPath, ['-e', script, bundleFile, exportName], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_LAMBDA_FUNCTION_NAME: 'bundle-test',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      ...env,
    },
    encoding: 'utf8',
    // stderr is kept in the error if the bundle fails to load, and stays quiet otherwise.
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15_000,
  });
}

/** Runs a bundle's handler once in a fresh Node process (async: the test's servers keep answering). */
function invokeBundle(bundleFile: string, event: unknown, env: Record<string, string>): Promise<string> {
  const script = `
    const { handler } = require(process.argv[1]);
    const context = { functionName: 'delivery', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:delivery',
      memoryLimitInMB: '512', awsRequestId: 'bundle-e2e', logGroupName: 'g', logStreamName: 's', getRemainingTimeInMillis: () => 30000 };
    handler(JSON.parse(process.argv[2]), context).then((r) => { process.stdout.write('RESULT ' + JSON.stringify(r)); process.exit(0); }, (e) => { console.error(e); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, bundleFile, JSON.stringify(event)], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** Runs `fn` with the process's stderr writes held back; they are printed only if `fn` throws. */
function quietStderr<T>(fn: () => T): T {
  const held: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    held.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stderr.write;
  try {
    return fn();
  } catch (err) {
    write(held.join(''));
    throw err;
  } finally {
    process.stderr.write = write;
  }
}

describe('bundled functions', () => {
  let outdir: string;
  /** The app synthesized once with real bundles (bundling takes seconds); the tests only read it. */
  let synthesized: { directory: string; functions: Array<[string, FunctionResource]>; assets: AssetManifest };
  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhooks-bundle-'));
    // The AWS SDK is external (it ships in the Lambda runtime): let the bundles resolve it here.
    fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(outdir, 'node_modules'), 'dir');
    // CDK writes "Bundling asset …" to stderr for each function: kept out of the test output
    // unless the synthesis fails.
    const { stack, assembly } = quietStderr(() => {
      const built = buildTestApp({ bundle: true, outdir });
      return { ...built, assembly: built.app.synth() };
    });
    const artifact = assembly.getStackByName(stack.stackName);
    const template = artifact.template as { Resources: Record<string, FunctionResource> };
    const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8')) as AssetManifest;
    synthesized = { directory: assembly.directory, functions: Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function'), assets };
  });
  afterAll(() => {
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  /** A function's handler file and export (from its Handler), its asset, bundle file and resolved environment. */
  const locate = (fn: FunctionResource) => {
    const match = /^(.+)\.([A-Za-z_$][\w$]*)$/.exec(fn.Properties.Handler);
    const [, file, exportName] = match ?? [];
    const asset = synthesized.assets.files[fn.Properties.Code.S3Key.replace(/\.zip$/, '')];
    const bundleFile = path.join(synthesized.directory, asset?.source.path ?? '', `${file}.js`);
    return { match, file, exportName, asset, bundleFile, env: resolvedEnvironment(fn.Properties.Environment?.Variables ?? {}) };
  };
  /** The delivery function's bundle (the events consumer, not the retry one). */
  const isDeliveryBundle = (logicalId: string, file: string | undefined) => file === 'index' && /Delivery/.test(logicalId) && !/Retry/.test(logicalId);

  it('export, under the name each function Handler names, a function that loads with the stack environment', () => {
    const { functions } = synthesized;
    // Delivery, retry, reconciler, API and authorizer; the loop checks every function the template has.
    expect(functions).toHaveLength(5);

    let deliveryBundle: { file: string; env: Record<string, string> } | undefined;
    for (const [logicalId, fn] of functions) {
      const { match, file, exportName, asset, bundleFile, env } = locate(fn);
      expect({ logicalId, handler: fn.Properties.Handler, valid: match !== null }).toEqual({ logicalId, handler: fn.Properties.Handler, valid: true });

      expect(asset?.source.packaging).toBe('zip');
      expect(fs.existsSync(bundleFile)).toBe(true);
      expect(fs.existsSync(`${bundleFile}.map`)).toBe(true);

      expect({ logicalId, exportType: exportTypeOf(bundleFile, exportName as string, env) }).toEqual({ logicalId, exportType: 'function' });
      if (isDeliveryBundle(logicalId, file)) deliveryBundle = { file: bundleFile, env };
    }
    expect(deliveryBundle).toBeDefined();
  });

  // The bundle imports undici through its internal modules and leaves two of undici's lazily
  // required files out (lib/bundling.ts); SQS and KMS load on first use. Run it for real, outside
  // jest (where undici would pick its other parser), against dynalite and a loopback receiver.
  it('delivers a signed event from the deployed delivery bundle, in a fresh process', async () => {
    const delivery = synthesized.functions.map(([logicalId, fn]) => ({ logicalId, ...locate(fn) })).find((f) => isDeliveryBundle(f.logicalId, f.file));
    const deliveryBundle = delivery && { file: delivery.bundleFile, env: delivery.env };
    expect(deliveryBundle).toBeDefined();
    const { file, env } = deliveryBundle as { file: string; env: Record<string, string> };
    const dynamo = await startDynalite();
    const receiver = await startReceiver();
    try {
      const suffix = randomUUID().slice(0, 8);
      const tables = { webhooks: `webhooks-${suffix}`, deliveries: `deliveries-${suffix}`, stats: `stats-${suffix}`, apiKeys: `apikeys-${suffix}` };
      await ensureTables(dynamo.client, tables);
      const key = randomBytes(32);
      const webhook = webhookFixture({ accountId: 'acc_bundle', webhookId: 'wh_bundle', url: receiver.url }, new Date().toISOString());
      const secret = await new LocalKeyCipher(key).encrypt(webhook.secret, 'acc_bundle/wh_bundle');
      await DynamoDBDocumentClient.from(dynamo.client).send(new PutCommand({ TableName: tables.webhooks, Item: { ...webhook, secret } }));
      const { [ENV.secretsKmsKeyId]: _kms, ...deployed } = env;
      const record = sqsRecord(eventBridgeEvent('NEW_VISIT', 'acc_bundle'));

      const out = await invokeBundle(file, sqsEvent(record), {
        ...deployed,
        [ENV.statsTable]: tables.stats,
        [ENV.webhooksTable]: tables.webhooks,
        [ENV.deliveriesTable]: tables.deliveries,
        [ENV.secretsKey]: key.toString('base64'),
        [ENV.allowHttp]: 'true',
        [ENV.allowPrivateTargets]: 'true',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_LAMBDA_FUNCTION_NAME: 'bundle-e2e',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      });

      expect(out).toContain('RESULT {"batchItemFailures":[]}');
      expect(receiver.requests).toHaveLength(1);
      const req = receiver.requests[0]!;
      expect(new StandardWebhook(webhook.secret).verify(req.body, req.headers as Record<string, string>)).toBeTruthy();
      const store = new DynamoDeliveryStore(DynamoDBDocumentClient.from(dynamo.client), tables.deliveries, 30);
      const stored = await store.get('acc_bundle', 'wh_bundle', String(req.headers['webhook-id']));
      expect(stored).toMatchObject({ status: 'delivered', attemptCount: 1, lastStatusCode: 200 });
    } finally {
      await receiver.close();
      await dynamo.close();
    }
  });
});
