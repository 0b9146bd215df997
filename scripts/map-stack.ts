/**
 * Decodes a stack trace from a function that ran without `--enable-source-maps` (prod's default,
 * context `sourceMaps`): every `index.js:<line>:<column>` becomes `<source file>:<line>:<column>`.
 *
 *   npm run map-stack -- <index.js.map or the directory holding it> < stack.txt
 *
 * The map is in the function's deployment package next to `index.js` (`aws lambda get-function
 * --function-name <fn> --query Code.Location` is a URL to the zip), or in `cdk.out/asset.<hash>/` after
 * `npm run synth` at the deployed commit (the bundles are reproducible).
 */
import { readFileSync, statSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join } from 'node:path';

/** `index.js:L:C` positions in `text` (1-based, as V8 prints them) replaced by their original positions. */
export function mapStack(text: string, map: SourceMap): string {
  // findEntry answers the nearest mapping even past the end of the bundle: such a line is not ours.
  const lines = map.payload.mappings.split(';').length;
  return text.replace(/((?:[\w./-]*\/)?index\.js):(\d+):(\d+)/g, (whole, _file: string, line: string, column: string) => {
    if (Number(line) > lines) return whole;
    // findEntry takes 0-based positions and answers 0-based ones.
    const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number; name?: string };
    if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return whole;
    return `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

export function loadMap(path: string): SourceMap {
  const file = statSync(path).isDirectory() ? join(path, 'index.js.map') : path;
  return new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
}

if (require.main === module) {
  const path = process.argv[2];
  if (path === undefined) {
    console.error('usage: npm run map-stack -- <index.js.map | directory> < stack.txt');
    process.exitCode = 2;
  } else {
    process.stdout.write(mapStack(readFileSync(0, 'utf8'), loadMap(path)));
  }
}
