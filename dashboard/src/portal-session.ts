/**
 * The portal session a platform opens for its signed-in customer (docs/dashboard.md): the token
 * travels in the URL fragment. Pure TypeScript (no DOM): unit-tested under Node in test/dashboard/.
 */
import { PORTAL_SESSIONS } from '../../lambdas/shared/contract';

export interface PortalSession {
  readonly token: string;
  readonly readOnly: boolean;
}

const TOKEN_PATTERN = /^vps_[A-Za-z0-9_-]{43}$/;

/**
 * The portal session in a URL fragment (`#portal=vps_…&access=read-only`), or undefined. The
 * fragment never reaches a server (nor a Referer), and the app removes it from the address bar
 * at once, so it is not kept in history or bookmarks either.
 */
export function portalSessionFromFragment(hash: string): PortalSession | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get(PORTAL_SESSIONS.fragmentParam);
  if (!token || !TOKEN_PATTERN.test(token)) return undefined;
  return { token, readOnly: params.get('access') === 'read-only' };
}
