import ipaddr from 'ipaddr.js';
import type { ResolvedAddress, Resolver } from './ports';

/**
 * The target policy (SSRF rules, docs/design.md §10): a webhook may only reach public unicast
 * addresses. Checked at create time on the resolved names (here) and again at connect time on
 * the address the socket really uses (adapters/dns.ts), so DNS rebinding cannot slip a private
 * address in between. Pure: names are resolved through the `Resolver` port.
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

/** An IPv4 dotted quad or an IPv6 address, as `net.isIP` accepts them. */
function isIpLiteral(value: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(value) || ipaddr.IPv6.isValid(value);
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
  if (isIpLiteral(bare)) return isPublicAddress(bare) ? undefined : `${hostname} is not a public address`;
  if (isPrivateName(bare)) return `${hostname} is a private host name`;
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolver(bare);
  } catch {
    return `${hostname} does not resolve`;
  }
  if (addresses.length === 0) return `${hostname} does not resolve`;
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  return bad ? `${hostname} resolves to a non-public address` : undefined;
}
