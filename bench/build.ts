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

export const CHILDREN = ['receiver', 'dynamo-server', 'subject', 'local-stack-child', 'isolation-stack-child'] as const;
export type ChildName = (typeof CHILDREN)[number];

/**
 * Bundles the child processes (plain JS, so forks start in ~0.1 s and nothing is compiled
 * on the fly during a measurement). Like the Lambda bundles: CommonJS, `@aws-sdk/*` external.
 * Not minified, with source maps: `--profile` maps samples back to the sources. `names` limits
 * the build to some children (bench/compare.ts builds another tree, which may not have them all).
 */
export async function buildChildren<N extends ChildName = ChildName>(
  root: string = ROOT,
  outdir: string = join(BUILD_DIR, 'children'),
  names: readonly N[] = CHILDREN as readonly ChildName[] as readonly N[],
): Promise<Record<N, string>> {
  await build({
    entryPoints: Object.fromEntries(names.map((name) => [name, join(root, 'bench', `${name}.ts`)])),
    outdir,
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'cjs',
    sourcemap: true,
    external: ['@aws-sdk/*', 'dynalite'],
    logLevel: 'warning',
  });
  return Object.fromEntries(names.map((name) => [name, join(outdir, `${name}.js`)])) as Record<N, string>;
}
