import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const SCHEMA = join(ROOT, 'client/schema.d.ts');

/** `npm run generate:client -- --check [--file f]`: openapi-typescript is ESM, so it runs in its own Node process. */
async function check(file: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(TSX, ['scripts/generate-client.ts', '--check', '--file', file], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

/**
 * client/schema.d.ts is what openapi-typescript generates from the OpenAPI document today: an
 * API change without `npm run generate:client` fails here, and with it, every caller of the
 * typed client that no longer fits (the dashboard included) fails `npm run build`.
 */
describe('the typed client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webhooks-client-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has its generated types up to date with the OpenAPI document', async () => {
    const result = await check(SCHEMA);
    expect(result).toEqual({ code: 0, output: expect.stringContaining('matches the OpenAPI document') });
    const schema = readFileSync(SCHEMA, 'utf8');
    for (const operationId of ['createWebhook', 'listDeliveries', 'createPortalSession', 'getOpenApi']) expect(schema).toContain(`    ${operationId}: {`);
  });

  it('fails the check when the types no longer match the document (a field gone)', async () => {
    const stale = join(dir, 'schema.d.ts');
    const current = readFileSync(SCHEMA, 'utf8');
    const edited = current.replace(/\n\s+disabledReason\?: string;/, '');
    expect(edited).not.toBe(current);
    writeFileSync(stale, edited);
    const result = await check(stale);
    expect(result.code).toBe(1);
    expect(result.output).toContain('is stale');
  });
});
