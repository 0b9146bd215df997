#!/usr/bin/env node
/**
 * Builds dashboard/dist when it is missing or older than anything it is built from, so that
 * `npm ci && npm start` shows the dashboard and an unchanged tree costs a few stat calls
 * (runs as `prestart` and before `npm run test:browser`). `--force` always builds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dashboard = dirname(fileURLToPath(import.meta.url));
const root = dirname(dashboard);
const output = join(dashboard, 'dist', 'index.html');
const inputs = [
  join(dashboard, 'src'),
  join(dashboard, 'public'),
  join(dashboard, 'index.html'),
  join(dashboard, 'vite.config.mts'),
  join(root, 'lambdas', 'shared', 'contract.ts'),
  join(root, 'lambdas', 'shared', 'sample-payloads.ts'),
  join(root, 'package-lock.json'),
];

/** Newest modification time under a file or directory. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, entry) => Math.max(max, newest(join(path, entry))), stat.mtimeMs);
}

const force = process.argv.includes('--force');
const builtAt = existsSync(output) ? statSync(output).mtimeMs : 0;
if (!force && builtAt > 0 && inputs.every((input) => newest(input) <= builtAt)) process.exit(0);

let viteBin;
try {
  const require = createRequire(import.meta.url);
  viteBin = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
} catch {
  // Installed without dev dependencies: the API works without the dashboard.
  console.warn('dashboard: vite is not installed (npm ci without dev dependencies?); skipping the dashboard build');
  process.exit(0);
}
console.log(force ? 'dashboard: building dashboard/dist' : builtAt ? 'dashboard: sources changed, rebuilding dashboard/dist' : 'dashboard: building dashboard/dist (first run)');
const result = spawnSync(process.execPath, [viteBin, 'build', '--config', join(dashboard, 'vite.config.mts'), '--logLevel', 'warn'], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(result.status ?? 1);
