import { LIMITS } from '../contract';

/**
 * Payload filters (docs/design.md §6, docs/api.md "Payload filters"): a webhook's `filter` is an
 * EventBridge event pattern over the delivered body (the visit), with EventBridge's content
 * filtering semantics: exact values, `prefix`, `suffix` (and their `equals-ignore-case` forms),
 * `equals-ignore-case`, `wildcard`, `anything-but` (values, lists, and its `prefix`, `suffix`,
 * `equals-ignore-case` and `wildcard` forms), `numeric`, `exists`, `cidr`, `$or`, and arrays in
 * the payload matching when any element matches.
 *
 * Pure and dependency-free (the dashboard bundles it to check a filter against the sample
 * payloads before saving): `checkFilter` validates a pattern and reports each offending part by
 * its path, `compileFilter` turns a valid one into a predicate. Matching walks the pattern, not
 * the payload: its cost is bounded by the pattern's size (capped by `FILTER_LIMITS`) times the
 * array elements it meets on the way, and no operator backtracks (wildcards match greedily,
 * which is exact for a pattern whose only metacharacter is `*`, each literal run found by one
 * forward search).
 */

/** A pattern as JSON: an object of field names to nested patterns or arrays of values. */
export type FilterPattern = { readonly [field: string]: unknown };

/** One problem with a pattern: where (path segments below the pattern's root) and what. */
export interface FilterIssue {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/** Limits on a pattern, in the spirit of EventBridge's own (its event patterns are at most 4,096 characters). */
export const FILTER_LIMITS = {
  /** UTF-8 bytes of the pattern as compact JSON. */
  maxBytes: LIMITS.filterMaxBytes,
  /** Nesting of objects: each field object and each `$or` alternative is one level. */
  maxDepth: LIMITS.filterMaxDepth,
  /** Values in the whole pattern: each exact value, each operand of an operator (each string of an `anything-but` list), each `exists`. */
  maxValues: LIMITS.filterMaxValues,
  /** `wildcard` strings, also inside `anything-but`: each scans the string it is matched against once. */
  maxWildcards: LIMITS.filterMaxWildcards,
} as const;

/** A compiled pattern: whether a payload (the parsed body) matches. */
export type FilterPredicate = (payload: unknown) => boolean;

type Scalar = string | number | boolean | null;
type ValueTest = (value: Scalar) => boolean;

interface Leaf {
  readonly kind: 'leaf';
  readonly tests: readonly ValueTest[];
  /** `{"exists": false}` is among the values: an absent field (no leaf value) matches. */
  readonly matchesAbsent: boolean;
}

interface Node {
  readonly kind: 'node';
  readonly fields: ReadonlyArray<readonly [string, Leaf | Node]>;
  /** Each `$or` of this object: one of its alternatives must match the same object. */
  readonly ors: ReadonlyArray<readonly Node[]>;
}

const OR = '$or';
const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists', 'cidr'] as const;
const ANYTHING_BUT_FORMS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'] as const;

class PatternError extends Error {
  constructor(
    readonly path: ReadonlyArray<string | number>,
    message: string,
  ) {
    super(message);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

let lastFoldIn: string | undefined;
let lastFoldOut = '';
/**
 * Case folding for `equals-ignore-case` (Unicode lower case). The last value folded is kept, so
 * a field tested against many ignore-case operands is folded once, not once per operand.
 */
const fold = (s: string): string => {
  if (s !== lastFoldIn) {
    lastFoldIn = s;
    lastFoldOut = s.toLowerCase();
  }
  return lastFoldOut;
};

// --- wildcard -----------------------------------------------------------------------------

/**
 * A `wildcard` value's literal parts between unescaped `*`: `*` matches any run of characters
 * (also none), `\*` is a literal star and `\\` a backslash; any other escape, a trailing
 * backslash and consecutive stars are refused (as EventBridge refuses them).
 */
function parseWildcard(pattern: string, path: ReadonlyArray<string | number>): string[] {
  // Characters are gathered in arrays and joined: a string built by += per character is a deep
  // rope, and reading it character by character while matching would cost its depth every time.
  const parts: string[][] = [[]];
  const current = () => parts[parts.length - 1] ?? [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\') {
      const next = pattern.charAt(i + 1);
      if (next !== '*' && next !== '\\') {
        throw new PatternError(path, 'wildcard: a backslash may only escape * or \\ (write \\* for a literal star, \\\\ for a backslash)');
      }
      current().push(next);
      i++;
    } else if (c === '*') {
      if (pattern.charAt(i + 1) === '*') throw new PatternError(path, 'wildcard: consecutive * are not allowed');
      parts.push([]);
    } else {
      current().push(c);
    }
  }
  return parts.map((chars) => chars.join(''));
}

/** A wildcard compiled for matching: its literal runs (the first starts the value, the last ends it). */
interface Glob {
  readonly exact?: string;
  readonly first: string;
  readonly last: string;
  readonly middles: readonly string[];
}

function compileGlob(parts: readonly string[]): Glob {
  const first = parts[0] ?? '';
  if (parts.length === 1) return { exact: first, first, last: '', middles: [] };
  return { first, last: parts[parts.length - 1] ?? '', middles: parts.slice(1, -1) };
}

/**
 * Whether `value` matches a wildcard: the first run starts it, the last ends it, and each run
 * between stars is found leftmost after the previous one (greedy, which is exact for patterns
 * whose only metacharacter is `*`). No backtracking: each run is one forward `indexOf` (V8's
 * Boyer-Moore search, linear for a first occurrence), so a wildcard scans the value once.
 */
function wildcardMatches(glob: Glob, value: string): boolean {
  if (glob.exact !== undefined) return value === glob.exact;
  const { first, last } = glob;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (const text of glob.middles) {
    const found = value.indexOf(text, at);
    // The leftmost occurrence overlapping the last run means every later one does too.
    if (found < 0 || found + text.length > end) return false;
    at = found + text.length;
  }
  return true;
}

// --- IP addresses (cidr) ------------------------------------------------------------------

interface Ip {
  readonly bits: 32 | 128;
  readonly value: bigint;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out = (out << 8n) | BigInt(n);
  }
  return out;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const items = half.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i] ?? '';
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let out = 0n;
  for (const g of [...head, ...new Array<number>(missing).fill(0), ...tail]) out = (out << 16n) | BigInt(g);
  return out;
}

function parseIp(text: string): Ip | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { bits: 32, value: v4 };
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  return v6 !== undefined ? { bits: 128, value: v6 } : undefined;
}

/** A `cidr` operand as a test: `address/bits`, bits below 32 (IPv4) or 128 (IPv6) as EventBridge requires; host bits are ignored. */
function cidrTest(text: string, path: ReadonlyArray<string | number>): ValueTest {
  const slash = text.split('/');
  const ip = slash.length === 2 ? parseIp(slash[0] ?? '') : undefined;
  const bitsText = slash[1] ?? '';
  if (!ip || !/^\d{1,3}$/.test(bitsText)) throw new PatternError(path, 'cidr must be an IPv4 or IPv6 range such as 10.0.0.0/24 or 2001:db8::/32');
  const maskBits = Number(bitsText);
  if (maskBits >= ip.bits) throw new PatternError(path, `cidr: the prefix length must be below ${ip.bits} for an ${ip.bits === 32 ? 'IPv4' : 'IPv6'} range`);
  const shift = BigInt(ip.bits - maskBits);
  const network = ip.value >> shift;
  return (v) => {
    if (typeof v !== 'string') return false;
    const candidate = parseIp(v);
    return candidate !== undefined && candidate.bits === ip.bits && candidate.value >> shift === network;
  };
}

// --- numeric ------------------------------------------------------------------------------

const LOWER = ['>', '>='] as const;
const UPPER = ['<', '<='] as const;
const NUMERIC_OPERATORS = ['=', ...LOWER, ...UPPER] as const;

function numericTest(operands: unknown, path: ReadonlyArray<string | number>): ValueTest {
  if (!Array.isArray(operands)) throw new PatternError(path, 'numeric must be an array such as [">", 0, "<=", 5]');
  const form = 'numeric must be ["=", n], [op, n] or [">" or ">=", low, "<" or "<=", high] with JSON numbers';
  const at = (i: number) => [...path, i];
  const op = (i: number): string => {
    const o = operands[i];
    if (typeof o !== 'string' || !(NUMERIC_OPERATORS as readonly string[]).includes(o)) throw new PatternError(at(i), `${form}; ${JSON.stringify(o) ?? 'nothing'} is not an operator`);
    return o;
  };
  const num = (i: number): number => {
    const n = operands[i];
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new PatternError(at(i), `${form}; the operand must be a finite JSON number (a numeric string such as "6" is not one)`);
    return n;
  };
  if (operands.length === 2) {
    const o = op(0);
    const n = num(1);
    switch (o) {
      case '=':
        return (v) => typeof v === 'number' && v === n;
      case '>':
        return (v) => typeof v === 'number' && v > n;
      case '>=':
        return (v) => typeof v === 'number' && v >= n;
      case '<':
        return (v) => typeof v === 'number' && v < n;
      default:
        return (v) => typeof v === 'number' && v <= n;
    }
  }
  if (operands.length === 4) {
    const lowOp = op(0);
    const low = num(1);
    const highOp = op(2);
    const high = num(3);
    if (!(LOWER as readonly string[]).includes(lowOp)) throw new PatternError(at(0), `${form}: a range starts with > or >=`);
    if (!(UPPER as readonly string[]).includes(highOp)) throw new PatternError(at(2), `${form}: a range ends with < or <=`);
    if (!(low < high)) throw new PatternError(at(3), 'numeric: the upper bound must be above the lower bound');
    return (v) => typeof v === 'number' && (lowOp === '>' ? v > low : v >= low) && (highOp === '<' ? v < high : v <= high);
  }
  throw new PatternError(path, form);
}

// --- the compiler -------------------------------------------------------------------------

/** Walks a pattern, checking it and building its matcher; throws PatternError at the first problem. */
class Compiler {
  private values = 0;
  private wildcards = 0;

  private countWildcard(path: ReadonlyArray<string | number>): void {
    this.wildcards += 1;
    if (this.wildcards > FILTER_LIMITS.maxWildcards) throw new PatternError(path, `a filter may have at most ${FILTER_LIMITS.maxWildcards} wildcards (each is matched by scanning the value)`);
  }

  private count(path: ReadonlyArray<string | number>, n = 1): void {
    this.values += n;
    if (this.values > FILTER_LIMITS.maxValues) throw new PatternError(path, `a filter may have at most ${FILTER_LIMITS.maxValues} values`);
  }

  node(pattern: unknown, path: ReadonlyArray<string | number>, depth: number): Node {
    if (!isObject(pattern)) throw new PatternError(path, `must be an object of field names (e.g. {"location": {"country": ["France"]}}), not ${describe(pattern)}`);
    if (depth > FILTER_LIMITS.maxDepth) throw new PatternError(path, `a filter may nest at most ${FILTER_LIMITS.maxDepth} levels of objects`);
    const keys = Object.keys(pattern);
    if (keys.length === 0) throw new PatternError(path, 'must not be an empty object');
    const fields: Array<readonly [string, Leaf | Node]> = [];
    const ors: Node[][] = [];
    for (const key of keys) {
      const value = pattern[key];
      const at = [...path, key];
      if (key === OR) {
        ors.push(this.or(value, at, depth));
      } else if (Array.isArray(value)) {
        fields.push([key, this.leaf(value, at)]);
      } else if (isObject(value)) {
        fields.push([key, this.node(value, at, depth + 1)]);
      } else {
        throw new PatternError(at, `must be an array of values to match (e.g. [${JSON.stringify(value) ?? '"value"'}]) or an object of nested fields, not ${describe(value)}`);
      }
    }
    return { kind: 'node', fields, ors };
  }

  private or(value: unknown, path: ReadonlyArray<string | number>, depth: number): Node[] {
    if (!Array.isArray(value) || value.length < 2) throw new PatternError(path, '$or must be an array of at least two patterns');
    return value.map((alternative, i) => this.node(alternative, [...path, i], depth + 1));
  }

  private leaf(values: readonly unknown[], path: ReadonlyArray<string | number>): Leaf {
    if (values.length === 0) throw new PatternError(path, 'must not be an empty array: list the values to match');
    const tests: ValueTest[] = [];
    let matchesAbsent = false;
    values.forEach((value, i) => {
      const at = [...path, i];
      if (value === null || typeof value === 'string' || typeof value === 'boolean') {
        this.count(at);
        tests.push((v) => v === value);
      } else if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw new PatternError(at, 'numbers must be finite');
        this.count(at);
        tests.push((v) => v === value);
      } else if (isObject(value)) {
        const test = this.operator(value, at);
        if (test === 'absent') matchesAbsent = true;
        else tests.push(test);
      } else {
        throw new PatternError(at, 'a value to match must be a string, number, boolean, null or an operator object such as {"prefix": "abc"}');
      }
    });
    return { kind: 'leaf', tests, matchesAbsent };
  }

  private operator(expr: Record<string, unknown>, path: ReadonlyArray<string | number>): ValueTest | 'absent' {
    const keys = Object.keys(expr);
    const name = keys[0];
    if (keys.length !== 1 || name === undefined) throw new PatternError(path, `an operator object has exactly one key, one of ${OPERATORS.join(', ')}`);
    const operand = expr[name];
    const at = [...path, name];
    const str = (v: unknown, where: ReadonlyArray<string | number>, what: string): string => {
      if (typeof v !== 'string') throw new PatternError(where, `${what} must be a string`);
      return v;
    };
    switch (name) {
      case 'prefix':
      case 'suffix': {
        const starts = name === 'prefix';
        if (isObject(operand)) {
          const inner = Object.keys(operand);
          if (inner.length !== 1 || inner[0] !== 'equals-ignore-case') throw new PatternError(at, `${name} takes a string or {"equals-ignore-case": "..."}`);
          const s = fold(str(operand['equals-ignore-case'], [...at, 'equals-ignore-case'], `${name} equals-ignore-case`));
          this.count(at);
          return starts ? (v) => typeof v === 'string' && fold(v).startsWith(s) : (v) => typeof v === 'string' && fold(v).endsWith(s);
        }
        const s = str(operand, at, name);
        this.count(at);
        return starts ? (v) => typeof v === 'string' && v.startsWith(s) : (v) => typeof v === 'string' && v.endsWith(s);
      }
      case 'equals-ignore-case': {
        const s = fold(str(operand, at, 'equals-ignore-case'));
        this.count(at);
        return (v) => typeof v === 'string' && fold(v) === s;
      }
      case 'wildcard': {
        const glob = compileGlob(parseWildcard(str(operand, at, 'wildcard'), at));
        this.count(at);
        this.countWildcard(at);
        return (v) => typeof v === 'string' && wildcardMatches(glob, v);
      }
      case 'numeric': {
        const test = numericTest(operand, at);
        this.count(at);
        return test;
      }
      case 'exists': {
        if (typeof operand !== 'boolean') throw new PatternError(at, 'exists must be true or false');
        this.count(at);
        return operand ? () => true : 'absent';
      }
      case 'cidr': {
        const test = cidrTest(str(operand, at, 'cidr'), at);
        this.count(at);
        return test;
      }
      case 'anything-but':
        return this.anythingBut(operand, at);
      default:
        throw new PatternError(at, `unknown operator "${name}": use one of ${OPERATORS.join(', ')}`);
    }
  }

  /**
   * `anything-but`: a string, a number, a list of only strings or only numbers, or one of its
   * forms. Like EventBridge, it matches any value of the field that is not excluded, of any
   * type (a number is "anything but" a list of strings), but never an absent field.
   */
  private anythingBut(operand: unknown, path: ReadonlyArray<string | number>): ValueTest {
    if (typeof operand === 'string' || (typeof operand === 'number' && Number.isFinite(operand))) {
      this.count(path);
      return (v) => v !== operand;
    }
    if (Array.isArray(operand)) {
      if (operand.length === 0) throw new PatternError(path, 'anything-but must not be an empty list');
      const allStrings = operand.every((v) => typeof v === 'string');
      const allNumbers = operand.every((v) => typeof v === 'number' && Number.isFinite(v));
      if (!allStrings && !allNumbers) {
        const bad = operand.findIndex((v) => typeof v !== typeof operand[0] || (typeof v !== 'string' && typeof v !== 'number'));
        throw new PatternError([...path, Math.max(0, bad)], 'anything-but lists hold only strings or only numbers, not both (and no null, booleans or objects)');
      }
      this.count(path, operand.length);
      const excluded = new Set<unknown>(operand);
      return (v) => !excluded.has(v);
    }
    if (isObject(operand)) {
      const keys = Object.keys(operand);
      const form = keys[0];
      if (keys.length !== 1 || form === undefined || !(ANYTHING_BUT_FORMS as readonly string[]).includes(form)) {
        throw new PatternError(path, `anything-but takes a value, a list, or an object with one of ${ANYTHING_BUT_FORMS.join(', ')}`);
      }
      const at = [...path, form];
      const raw = operand[form];
      const list = Array.isArray(raw) ? raw : [raw];
      if (list.length === 0) throw new PatternError(at, `anything-but ${form} must not be an empty list`);
      const strings = list.map((s, i) => {
        const where = Array.isArray(raw) ? [...at, i] : at;
        if (typeof s !== 'string') throw new PatternError(where, `anything-but ${form} takes a string or a list of strings`);
        if ((form === 'prefix' || form === 'suffix') && s === '') throw new PatternError(where, `anything-but ${form} must not be empty`);
        return s;
      });
      this.count(at, strings.length);
      let excluded: (s: string) => boolean;
      if (form === 'prefix') excluded = (s) => strings.some((p) => s.startsWith(p));
      else if (form === 'suffix') excluded = (s) => strings.some((p) => s.endsWith(p));
      else if (form === 'equals-ignore-case') {
        const folded = new Set(strings.map(fold));
        excluded = (s) => folded.has(fold(s));
      } else {
        const globs = strings.map((s, i) => {
          const where = Array.isArray(raw) ? [...at, i] : at;
          this.countWildcard(where);
          return compileGlob(parseWildcard(s, where));
        });
        excluded = (s) => globs.some((g) => wildcardMatches(g, s));
      }
      return (v) => typeof v !== 'string' || !excluded(v);
    }
    throw new PatternError(path, 'anything-but takes a string, a number, a list of strings or of numbers, or an object such as {"prefix": "init"}');
  }
}

// --- matching -----------------------------------------------------------------------------

/** The leaf values at a field: a scalar, or an array's scalars (nested arrays flattened); none for an object or an absent field. */
function leafValues(value: unknown, out: Scalar[] = []): Scalar[] {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out.push(value);
  else if (Array.isArray(value)) for (const v of value) leafValues(v, out);
  return out;
}

/** The objects at a field: the object itself, or an array's objects (nested arrays flattened). */
function objectValues(value: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (isObject(value)) out.push(value);
  else if (Array.isArray(value)) for (const v of value) objectValues(v, out);
  return out;
}

function fieldOf(value: Record<string, unknown> | undefined, key: string): unknown {
  return value !== undefined && Object.hasOwn(value, key) ? value[key] : undefined;
}

function matchLeaf(leaf: Leaf, value: unknown): boolean {
  const values = leafValues(value);
  if (values.length === 0) return leaf.matchesAbsent;
  return values.some((v) => leaf.tests.some((test) => test(v)));
}

/**
 * A nested pattern against a field. An array of objects matches when one element matches the
 * whole nested pattern: two fields are never matched in different elements of the same array
 * (EventBridge's array-consistent matching). A field that holds no object is matched as absent,
 * so only `exists: false` can hold below it.
 */
function matchField(pattern: Leaf | Node, value: unknown): boolean {
  if (pattern.kind === 'leaf') return matchLeaf(pattern, value);
  const objects = objectValues(value);
  if (objects.length === 0) return matchNode(pattern, undefined);
  return objects.some((o) => matchNode(pattern, o));
}

function matchNode(node: Node, value: Record<string, unknown> | undefined): boolean {
  for (const [key, pattern] of node.fields) if (!matchField(pattern, fieldOf(value, key))) return false;
  for (const alternatives of node.ors) if (!alternatives.some((alt) => matchNode(alt, value))) return false;
  return true;
}

// --- the API ------------------------------------------------------------------------------

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

export type CompileResult = { readonly ok: true; readonly matches: FilterPredicate } | { readonly ok: false; readonly issue: FilterIssue };

/** Checks a pattern (structure, operators, limits) and compiles it; the first problem is reported with its path. */
export function compileFilter(pattern: unknown): CompileResult {
  try {
    if (!isObject(pattern)) throw new PatternError([], `must be an object of field names (e.g. {"location": {"country": ["France"]}}), not ${describe(pattern)}`);
    const bytes = byteLength(JSON.stringify(pattern));
    if (bytes > FILTER_LIMITS.maxBytes) throw new PatternError([], `a filter may be at most ${FILTER_LIMITS.maxBytes} bytes of JSON (this one is ${bytes})`);
    const root = new Compiler().node(pattern, [], 1);
    return { ok: true, matches: (payload) => matchNode(root, isObject(payload) ? payload : undefined) };
  } catch (err) {
    if (err instanceof PatternError) return { ok: false, issue: { path: err.path, message: err.message } };
    throw err;
  }
}

/** The problem with a pattern, or undefined when it is valid. */
export function checkFilter(pattern: unknown): FilterIssue | undefined {
  const result = compileFilter(pattern);
  return result.ok ? undefined : result.issue;
}

/**
 * Compiled filters, kept per webhook and recompiled only when the webhook changes (its
 * `updatedAt`). A stored filter was validated when it was saved; one that no longer compiles
 * (stored by an older version with other rules) matches nothing rather than everything, and is
 * reported through `onInvalid`.
 */
export class FilterCache {
  private readonly entries = new Map<string, { readonly updatedAt: string; readonly text: string; readonly matches: FilterPredicate }>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly onInvalid: (key: string, issue: FilterIssue) => void = () => undefined,
  ) {}

  /** The predicate of a webhook's filter, stored as JSON text. */
  get(key: string, updatedAt: string, text: string): FilterPredicate {
    const hit = this.entries.get(key);
    if (hit && hit.updatedAt === updatedAt && hit.text === text) return hit.matches;
    let matches: FilterPredicate;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const result = compileFilter(parsed);
    if (result.ok) matches = result.matches;
    else {
      this.onInvalid(key, result.issue);
      matches = () => false;
    }
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { updatedAt, text, matches });
    return matches;
  }
}
