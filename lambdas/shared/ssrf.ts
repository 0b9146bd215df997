import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * SSRF rules (DESIGN.md §3): a webhook may only reach public unicast addresses. Checked at
 * create time on the resolved names and again at connect time on the address the socket
 * really uses, so DNS rebinding cannot slip a private address in between.
 */

export class SsrfError extends Error {
  readonly code = 'ERR_SSRF_BLOCKED';
  constructor(message: string) {
    super(message);
    this.name = 'SsrfError';
  }
}

/** Whether an IP address (v4 or v6, any textual form Node accepts) is public unicast. */
export function isPublicAddress(address: string): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/^\[|\]$/g, ''));
  } catch {
    return false;
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    const range = v6.range();
    // ::/96, the deprecated IPv4-compatible form (`[::127.0.0.1]`): ipaddr.js calls it unicast,
    // but it is no public address, and some stacks route it to the embedded IPv4 address.
    if (v6.parts.slice(0, 6).every((part) => part === 0)) return false;
    if (range === 'ipv4Mapped') return isPublicAddress(v6.toIPv4Address().toString());
    if (range === 'rfc6052' || range === 'rfc6145') {
      // NAT64 forms embed an IPv4 address in their last 32 bits.
      const bytes = v6.toByteArray().slice(-4);
      return isPublicAddress(bytes.join('.'));
    }
    return range === 'unicast';
  }
  return parsed.range() === 'unicast';
}

export type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type LookupFunction = (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback) => void;

/** Resolves a host name to all its addresses (injectable so tests can simulate rebinding). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/**
 * A `lookup` for `net.connect` that only ever hands the socket public addresses. With
 * `allowPrivate` every address passes (local runtime, tests).
 */
export function createSafeLookup(resolver: Resolver, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (addresses) => {
        const usable = allowPrivate ? addresses : addresses.filter((a) => isPublicAddress(a.address));
        const first = usable[0];
        if (!first) {
          callback(new SsrfError(`${hostname} resolves only to non-public addresses`), []);
          return;
        }
        if (options.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}

/** Names that are private by definition, whatever DNS says. */
function isPrivateName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || name.endsWith('.internal') || name.endsWith('.local') || name === '';
}

/**
 * Create-time check of a target host: an IP literal must be public; a name must resolve, and
 * every address it resolves to must be public. Returns a reason when refused.
 */
export async function checkTargetHost(hostname: string, resolver: Resolver, allowPrivate: boolean): Promise<string | undefined> {
  if (allowPrivate) return undefined;
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return isPublicAddress(bare) ? undefined : `${hostname} is not a public address`;
  if (isPrivateName(bare)) return `${hostname} is a private host name`;
  let addresses: LookupAddress[];
  try {
    addresses = await resolver(bare);
  } catch {
    return `${hostname} does not resolve`;
  }
  if (addresses.length === 0) return `${hostname} does not resolve`;
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  return bad ? `${hostname} resolves to a non-public address` : undefined;
}
