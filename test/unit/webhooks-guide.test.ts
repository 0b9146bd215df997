import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument } from '../../lambdas/api/openapi';
import { DEFAULTS, EVENT_TYPE_DESCRIPTIONS, EVENT_TYPES, LIMITS, RESERVED_HEADERS, USER_AGENT } from '../../lambdas/shared/contract';
import { SAMPLE_VISIT } from '../../lambdas/shared/sample-payloads';

/**
 * docs/webhooks-guide.md, the page customers read, held against the code: the snippets it
 * includes are the files .ci/snippets.sh runs against real deliveries, and its tables say what
 * the contract says.
 */

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const guide = read('docs/webhooks-guide.md');

/** The rows of the first Markdown table after `heading`, as arrays of cell texts. */
function tableAfter(heading: string): string[][] {
  const start = guide.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no heading "${heading}" in the guide`);
  const lines = guide.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((c) => c.trim()));
  }
  return rows;
}

const unquote = (cell: string) => cell.replace(/^`|`$/g, '');

describe('docs/webhooks-guide.md', () => {
  it('includes each runnable snippet verbatim (the files .ci/snippets.sh runs)', () => {
    const includes = [...guide.matchAll(/<!-- include: (\S+) -->\n```\w+\n([\s\S]*?)```\n/g)];
    expect(includes.map(([, path]) => path)).toEqual(['docs/snippets/verify.mjs', 'docs/snippets/verify.py', 'docs/snippets/verify.go']);
    for (const [, path = '', block] of includes) expect({ path, block }).toEqual({ path, block: read(path) });
    // And .ci/snippets.sh runs exactly these.
    const script = read('.ci/snippets.sh');
    for (const [, path = ''] of includes) expect(script).toContain(path.endsWith('.go') ? '(cd docs/snippets' : path);
  });

  it('lists the headers every delivery carries, as the OpenAPI document and buildHeaders have them', () => {
    const rows = tableAfter('## What your endpoint receives');
    const names = rows.map(([name = '']) => unquote(name));
    const documented = (openApiDocument().webhooks.NEW_VISIT?.post as { parameters: Array<{ name: string }> }).parameters.map((p) => p.name);
    expect(names.filter((n) => n !== 'your headers').map((n) => n.toLowerCase()).sort()).toEqual(['content-type', ...documented.map((n) => n.toLowerCase())].sort());
    expect(rows.find(([n]) => n === '`User-Agent`')?.[1]).toBe(`\`${USER_AGENT}\``);
  });

  it('names every reserved header, and no other', () => {
    const paragraph = guide.slice(guide.indexOf('These names\nare ours'), guide.indexOf('The body is the [payload]'));
    const named = [...paragraph.matchAll(/`([A-Za-z0-9-]+)`/g)].map(([, n = '']) => n.toLowerCase());
    expect(named.sort()).toEqual([...RESERVED_HEADERS].sort());
  });

  it('describes the event types as the contract does', () => {
    const rows = tableAfter('## Event types');
    expect(rows.map(([type = '']) => unquote(type))).toEqual([...EVENT_TYPES]);
    for (const [type = '', when = ''] of rows) expect(EVENT_TYPE_DESCRIPTIONS[unquote(type) as keyof typeof EVENT_TYPE_DESCRIPTIONS]).toContain(when);
  });

  it('shows the sample payload that test sends deliver', () => {
    const block = /## The payload\n[\s\S]*?```json\n([\s\S]*?)```/.exec(guide)?.[1] ?? '';
    expect(JSON.parse(block)).toEqual(SAMPLE_VISIT);
  });

  it('states the retry schedule of the contract', () => {
    const unit = (s: number) => (s % 3600 === 0 ? [s / 3600, 'hour'] : s % 60 === 0 ? [s / 60, 'minute'] : [s, 'second']) as [number, string];
    const words = DEFAULTS.retryScheduleSeconds.map((s) => {
      const [n, u] = unit(s);
      return `${n} ${u}${n === 1 ? '' : 's'}`;
    });
    const rows = tableAfter('## Answering, retries and what ends them');
    expect(rows.map(([attempt = '']) => Number(attempt))).toEqual(Array.from({ length: DEFAULTS.retryScheduleSeconds.length + 1 }, (_, i) => i + 1));
    expect(rows.slice(1).map(([, after]) => after)).toEqual(words);
    const total = DEFAULTS.retryScheduleSeconds.reduce((a, b) => a + b, 0) / 3600;
    expect(rows.at(-1)?.[2]).toBe(`${Math.floor(total * 2) / 2} hours`);
  });

  it('states the limits of the contract', () => {
    const limits = Object.fromEntries(tableAfter('## Limits').map(([what = '', limit = '']) => [what, limit]));
    expect(limits['webhooks per account']).toBe(String(LIMITS.webhooksPerAccount));
    expect(limits['custom headers per webhook']).toMatch(new RegExp(`^${LIMITS.headersMaxCount}; values up to ${LIMITS.headerValueMaxLength} `));
    expect(limits['URL length']).toBe(`${LIMITS.urlMaxLength} characters`);
    expect(limits['request body']).toBe(`up to ${LIMITS.eventMaxBytes / 1024} KiB`);
    expect(limits['time to answer']).toBe(`${DEFAULTS.deliveryTimeoutMs / 1000} seconds (${DEFAULTS.connectTimeoutMs / 1000} to connect)`);
    expect(limits['response read']).toBe(`${LIMITS.responseMaxReadBytes / 1024} KiB (the first ${LIMITS.responseSnippetBytes} bytes kept in the log)`);
    expect(limits['rate limit (optional)']).toBe(`${LIMITS.rateLimitMin}–${LIMITS.rateLimitMax} deliveries a second per webhook`);
    expect(limits.retries).toMatch(new RegExp(`^${DEFAULTS.retryScheduleSeconds.length}, `));
    expect(limits['auto-disable']).toMatch(new RegExp(`^after ${DEFAULTS.autoDisableAfterDays} days`));
    expect(limits['previous secret after a rotation']).toBe(`${DEFAULTS.secretRotationOverlapHours} hours`);
    expect(limits['delivery log']).toBe(`${DEFAULTS.deliveryRetentionDays} days`);
  });

  it('names the library versions the snippets run with', () => {
    const versions = Object.fromEntries(tableAfter('The libraries and the versions we checked:').map(([lang = '', , version = '']) => [lang, version]));
    const npm = (JSON.parse(read('node_modules/standardwebhooks/package.json')) as { version: string }).version;
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string }> };
    expect(lock.packages['node_modules/standardwebhooks']?.version).toBe(npm);
    expect(versions['Node.js']).toBe(npm);
    expect(versions.Python).toBe(/PY_STANDARDWEBHOOKS=(\S+)/.exec(read('.ci/snippets.sh'))?.[1]);
    expect(versions.Go).toBe(/standard-webhooks\/libraries (v\S+)/.exec(read('docs/snippets/go.mod'))?.[1]);
  });
});
