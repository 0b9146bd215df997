import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { loadMap, mapStack } from '../../scripts/map-stack';

describe('npm run map-stack', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'map-stack-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('turns the minified positions of a stack printed without --enable-source-maps into source positions', () => {
    const source = path.join(dir, 'src', 'thrower.ts');
    fs.mkdirSync(path.dirname(source));
    fs.writeFileSync(source, ['export function outer(n: number): number {', '  return inner(n) + 1;', '}', 'function inner(n: number): number {', "  if (n > 0) throw new Error('boom');", '  return n;', '}', ''].join('\n'));
    const outfile = path.join(dir, 'out', 'index.js');
    // As lib/function-defaults.ts bundles: minified, a source map without the sources' text.
    buildSync({ entryPoints: [source], outfile, bundle: true, platform: 'node', format: 'cjs', minify: true, sourcemap: true, sourcesContent: false, logLevel: 'silent' });
    const stack = execFileSync(process.execPath, ['-e', `try { require(${JSON.stringify(outfile)}).outer(1) } catch (e) { process.stdout.write(e.stack) }`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(stack).toMatch(/index\.js:1:\d+/);
    expect(stack).not.toContain('thrower.ts');

    const mapped = mapStack(stack, loadMap(path.dirname(outfile)));
    expect(mapped).toMatch(/src\/thrower\.ts:5:\d+/); // the throw in inner
    expect(mapped).toMatch(/src\/thrower\.ts:2:\d+/); // the call in outer
    expect(mapped).not.toMatch(/index\.js:1:/);
    // Lines it cannot place are left as they are.
    expect(mapStack('at x (index.js:99:1)', loadMap(`${outfile}.map`))).toBe('at x (index.js:99:1)');
  });
});
