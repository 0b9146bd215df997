import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './build';

/**
 * Summarizes a V8 `.cpuprofile` of the bench subject: samples are mapped back through the
 * bundle's source map to the original files, then grouped by package (node_modules) or by
 * project file. "Attributed" time charges native and `node:` internal frames to the nearest
 * bundled caller (so HMAC time lands on signing.ts, socket writes on undici or on the AWS SDK's
 * HTTP handler), which is what says which of our choices cost the CPU.
 */

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: number[];
}

interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ProfileRow {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Self time, grouped by package / project file / node internal. */
  readonly bySelf: ProfileRow[];
  /** Self time charged to the nearest JavaScript frame's package / project file. */
  readonly byAttributed: ProfileRow[];
  /** Hottest functions (attributed), with their original location. */
  readonly functions: ProfileRow[];
  /** Time with a frame of each project file on the (synchronous) stack. */
  readonly byProjectFileInclusive: ProfileRow[];
  /** Share of the CPU charged to the AWS SDK (@aws-sdk/*, @smithy/*), attributed view. */
  readonly awsSdkShare: number;
}

interface Resolved {
  /** Package name, project-relative file, or a V8 pseudo frame. */
  readonly group: string;
  readonly location: string;
  readonly bundled: boolean;
}

function groupOf(source: string): string {
  const normalized = source.replace(/\\/g, '/');
  const nm = normalized.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = normalized.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? normalized);
  }
  return normalized;
}

export function summarizeProfile(profilePath: string, bundlePath: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const map = new SourceMap(JSON.parse(readFileSync(`${bundlePath}.map`, 'utf8')));
  const bundleDir = bundlePath.slice(0, bundlePath.lastIndexOf('/'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));

  const resolved = new Map<number, Resolved>();
  const resolve = (node: ProfileNode): Resolved => {
    const cached = resolved.get(node.id);
    if (cached) return cached;
    const { url, functionName, lineNumber, columnNumber } = node.callFrame;
    let out: Resolved;
    if (url.startsWith('file://') && url.endsWith(bundlePath.slice(bundlePath.lastIndexOf('/')))) {
      const entry = map.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number };
      const source = entry.originalSource ? relative(ROOT, fileURLToPath(new URL(entry.originalSource, `file://${bundleDir}/`))) : 'bundle';
      out = { group: groupOf(source), location: `${functionName || '(anonymous)'} ${source.replace(/^.*node_modules\//, '')}:${(entry.originalLine ?? 0) + 1}`, bundled: true };
    } else if (url === '') {
      const pseudo = functionName.startsWith('(') ? functionName : '(native)';
      out = { group: pseudo, location: functionName || '(native)', bundled: false };
    } else {
      // A `node:` internal, or a package loaded from node_modules (the externals: @aws-sdk/* and its @smithy/* dependencies).
      const internal = url.startsWith('node:');
      const path = url.startsWith('file://') ? fileURLToPath(url) : url;
      const group = internal ? `node:${url.slice(5).split('/')[url.slice(5).startsWith('internal') ? 1 : 0] ?? ''}` : groupOf(path);
      out = { group, location: `${functionName || '(anonymous)'} ${path.replace(/^.*node_modules\//, '')}:${lineNumber + 1}`, bundled: !internal };
    }
    resolved.set(node.id, out);
    return out;
  };

  const nearestBundled = (id: number): Resolved | undefined => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const r = resolve(byId.get(cur) as ProfileNode);
      if (r.bundled) return r;
    }
    return undefined;
  };

  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const bySelf = new Map<string, number>();
  const byAttributed = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id) as ProfileNode;
    const r = resolve(node);
    if (r.group === '(idle)') continue;
    total += ms;
    add(bySelf, r.group, ms);
    const owner = r.group === '(garbage collector)' || r.group === '(program)' ? r : (nearestBundled(id) ?? r);
    add(byAttributed, owner.group, ms);
    add(functions, owner.location, ms);
  }

  // Inclusive: each sample counts once for every package / project file on its stack. Async
  // continuations start a new stack, so this is "synchronous work done in or under X".
  const inclusive = new Map<string, number>();
  for (const [id, ms] of self) {
    if (resolve(byId.get(id) as ProfileNode).group === '(idle)') continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const r = resolve(byId.get(cur) as ProfileNode);
      if (r.bundled && !seen.has(r.group)) {
        seen.add(r.group);
        add(inclusive, r.group, ms);
      }
    }
  }

  const rows = (m: Map<string, number>, limit: number): ProfileRow[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), share: ms / total }));
  const sdk = [...byAttributed.entries()].filter(([k]) => k.startsWith('@aws-sdk/') || k.startsWith('@smithy/')).reduce((n, [, v]) => n + v, 0);
  return {
    totalMs: Math.round(total),
    bySelf: rows(bySelf, 20),
    byAttributed: rows(byAttributed, 20),
    functions: rows(functions, 30),
    byProjectFileInclusive: rows(inclusive, 25),
    awsSdkShare: total > 0 ? sdk / total : 0,
  };
}

export function printProfile(title: string, s: ProfileSummary, print: (line: string) => void): void {
  const table = (heading: string, rows: ProfileRow[]) => {
    print(`  ${heading}`);
    for (const r of rows) print(`    ${(r.share * 100).toFixed(1).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`);
  };
  print(`${title}: ${s.totalMs} ms of CPU samples (idle excluded); the AWS SDK (@aws-sdk/*, @smithy/*) takes ${(s.awsSdkShare * 100).toFixed(0)} %`);
  table('by package or file, native time charged to the nearest bundled caller', s.byAttributed.slice(0, 14));
  table('by package or file, self time', s.bySelf.slice(0, 10));
  table('hottest functions (attributed)', s.functions.slice(0, 20));
  table('inclusive (synchronous work in or under each package / file)', s.byProjectFileInclusive.slice(0, 16));
}
