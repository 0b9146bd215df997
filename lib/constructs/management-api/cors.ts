import { Duration, Lazy, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';

/** Request headers a browser may send cross-origin; `Authorization` carries the API key. */
export const CORS_ALLOW_HEADERS = ['Authorization', 'Content-Type'] as const;
export const CORS_ALLOW_METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** Response headers a browser script may read: `Retry-After` on 429, `Allow` on 405. */
export const CORS_EXPOSE_HEADERS = ['Retry-After', 'Allow'] as const;
/** How long a browser may cache a preflight answer. */
export const CORS_MAX_AGE = Duration.minutes(10);

/**
 * Throws unless `origin` is an http(s) origin (scheme, host, optional port; nothing else).
 * Tokens (a CloudFront domain) pass: they resolve only at deployment.
 */
export function assertOrigin(constructPath: string, origin: string): void {
  if (Token.isUnresolved(origin)) return;
  let parsed: URL | undefined;
  try {
    parsed = new URL(origin);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.origin !== origin) {
    throw new Error(`${constructPath}: allowOrigin expects an origin such as https://dashboard.example.com, got ${JSON.stringify(origin)}`);
  }
}

/**
 * Preflight answered by a mock integration (no authorizer: browsers never send credentials on
 * a preflight). The first origin is the static answer; a template switches to the request's
 * `Origin` when it is another allowed one, as `addCorsPreflight` does for a fixed list.
 * `origins` is read at synth, so origins added after this call are answered too.
 */
export function addPreflight(resource: apigw.IResource, origins: readonly string[]): apigw.Method {
  const header = (name: string): string => `method.response.header.${name}`;
  const responseParameters: Record<string, string> = {
    [header('Access-Control-Allow-Origin')]: Lazy.string({ produce: () => `'${origins[0] ?? ''}'` }),
    [header('Access-Control-Allow-Headers')]: `'${CORS_ALLOW_HEADERS.join(',')}'`,
    [header('Access-Control-Allow-Methods')]: `'${CORS_ALLOW_METHODS.join(',')}'`,
    [header('Access-Control-Max-Age')]: `'${CORS_MAX_AGE.toSeconds()}'`,
    [header('Vary')]: "'Origin'",
  };
  const template = Lazy.string({
    produce: () =>
      [
        '#set($origin = $input.params().header.get("Origin"))',
        '#if($origin == "")',
        '  #set($origin = $input.params().header.get("origin"))',
        '#end',
        `#if(${origins.map((o) => `$origin == "${o}"`).join(' || ')})`,
        '  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)',
        '#end',
      ].join('\n'),
  });
  return resource.addMethod(
    'OPTIONS',
    new apigw.MockIntegration({
      requestTemplates: { 'application/json': '{ "statusCode": 204 }' },
      integrationResponses: [{ statusCode: '204', responseParameters, responseTemplates: { 'application/json': template } }],
    }),
    {
      authorizationType: apigw.AuthorizationType.NONE,
      methodResponses: [{ statusCode: '204', responseParameters: Object.fromEntries(Object.keys(responseParameters).map((k) => [k, true])) }],
    },
  );
}

/**
 * CORS headers of the gateway responses (401, 429, …), so that a browser can read them. A
 * gateway response cannot branch on the request, so with several origins it answers `*`:
 * these bodies are fixed error messages without account data, and the API authenticates with
 * a bearer key, never cookies (no `Access-Control-Allow-Credentials`), so nothing is exposed.
 */
export function gatewayCorsHeaders(origins: readonly string[]): Record<string, string> {
  if (origins.length === 0) return {};
  return {
    'Access-Control-Allow-Origin': origins.length === 1 ? `'${origins[0]}'` : "'*'",
    'Access-Control-Expose-Headers': `'${CORS_EXPOSE_HEADERS.join(',')}'`,
  };
}
