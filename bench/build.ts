import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

/** Repository root. */
export const ROOT = resolve(__dirname, '..');

/**
 * Where the bench puts what it builds: under node_modules (ignored by git), so that the
 * externals (`@aws-sdk/*`, dynalite) resolve from the project's node_modules as they would
 * from a Lambda's runtime. One directory per checkout (a scratch copy may share node_modules).
 */
export const BUILD_DIR = join(ROOT, 'node_modules', '.cache', `visit-webhooks-bench-${createHash('sha1').update(ROOT).digest('hex').slice(0, 8)}`);

export const CHILDREN = ['receiver', 'dynamo-server', 'subject', 'local-stack-child'] as const;
export type ChildName = (typeof CHILDREN)[number];

/**
 * Bundles the child processes (plain JS, so forks start in ~0.1 s and nothing is compiled
 * on the fly during a measurement). Like the Lambda bundles: CommonJS, `@aws-sdk/*` external.
 * Not minified, with source maps: `--profile` maps samples back to the sources.
 */
export async function buildChildren(root: string = ROOT, outdir: string = join(BUILD_DIR, 'children')): Promise<Record<ChildName, string>> {
  await build({
    entryPoints: Object.fromEntries(CHILDREN.map((name) => [name, join(root, 'bench', `${name}.ts`)])),
    outdir,
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'cjs',
    sourcemap: true,
    external: ['@aws-sdk/*', 'dynalite'],
    logLevel: 'warning',
  });
  return Object.fromEntries(CHILDREN.map((name) => [name, join(outdir, `${name}.js`)])) as Record<ChildName, string>;
}
