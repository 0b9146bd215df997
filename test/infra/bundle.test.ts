import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../lib/function-defaults';
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

describe('bundled functions', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhooks-bundle-'));
    // The AWS SDK is external (it ships in the Lambda runtime): let the bundles resolve it here.
    fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(outdir, 'node_modules'), 'dir');
  });
  afterAll(() => {
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  it('export, under the name each function Handler names, a function that loads with the stack environment', () => {
    const { app, stack } = buildTestApp({ bundle: true, outdir });
    const assembly = app.synth();
    const artifact = assembly.getStackByName(stack.stackName);
    const template = artifact.template as { Resources: Record<string, FunctionResource> };
    const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8')) as AssetManifest;

    const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    // Delivery, retry, API and authorizer; the loop checks every function the template has.
    expect(functions).toHaveLength(4);

    for (const [logicalId, fn] of functions) {
      const match = /^(.+)\.([A-Za-z_$][\w$]*)$/.exec(fn.Properties.Handler);
      expect({ logicalId, handler: fn.Properties.Handler, valid: match !== null }).toEqual({ logicalId, handler: fn.Properties.Handler, valid: true });
      const [, file, exportName] = match as RegExpExecArray;

      const assetHash = fn.Properties.Code.S3Key.replace(/\.zip$/, '');
      const asset = assets.files[assetHash];
      expect(asset?.source.packaging).toBe('zip');
      const bundleFile = path.join(assembly.directory, asset?.source.path ?? '', `${file}.js`);
      expect(fs.existsSync(bundleFile)).toBe(true);
      expect(fs.existsSync(`${bundleFile}.map`)).toBe(true);

      const env = resolvedEnvironment(fn.Properties.Environment?.Variables ?? {});
      expect({ logicalId, exportType: exportTypeOf(bundleFile, exportName as string, env) }).toEqual({ logicalId, exportType: 'function' });
    }
  });
});
