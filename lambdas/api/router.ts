/**
 * A tiny method + path-template router. Why not `@middy/http-router`: it answers a known path
 * with the wrong method as 404 (we owe a 405 with `Allow`), hands path parameters over without
 * percent-decoding, and would add an ESM-only dependency for ~40 lines of code.
 */

export type RouteMatch<T> =
  | { readonly kind: 'found'; readonly value: T; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not-found' };

interface CompiledRoute<T> {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly value: T;
}

export class Router<T> {
  private readonly routes: CompiledRoute<T>[];

  /** `path` templates name parameters in braces (`/v1/webhooks/{id}`); each matches one segment. */
  constructor(routes: ReadonlyArray<{ readonly method: string; readonly path: string; readonly value: T }>) {
    this.routes = routes.map((route) => {
      const names: string[] = [];
      const source = route.path
        .split('/')
        .map((segment) => {
          const param = /^\{(\w+)\}$/.exec(segment);
          if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(param[1]);
          return '([^/]+)';
        })
        .join('/');
      return { method: route.method.toUpperCase(), pattern: new RegExp(`^${source}$`), names, value: route.value };
    });
  }

  /** Matches a request path (without query string); a single trailing slash is ignored. */
  match(method: string, rawPath: string): RouteMatch<T> {
    const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
    const allow: string[] = [];
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.method !== method.toUpperCase()) {
        allow.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      try {
        route.names.forEach((name, i) => {
          params[name] = decodeURIComponent(m[i + 1] ?? '');
        });
      } catch {
        return { kind: 'not-found' }; // malformed percent-encoding names no resource
      }
      return { kind: 'found', value: route.value, params };
    }
    return allow.length > 0 ? { kind: 'method-not-allowed', allow: [...new Set(allow)] } : { kind: 'not-found' };
  }
}
