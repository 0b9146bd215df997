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
 * every address it resolves to must be public. Returns a reason when refused. A name that does
 * not resolve and one that resolves to a private address get the same reason, so a tenant
 * cannot map internal DNS by the difference.
 */
export async function checkTargetHost(hostname: string, resolver: Resolver, allowPrivate: boolean): Promise<string | undefined> {
  if (allowPrivate) return undefined;
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (isIpLiteral(bare)) return isPublicAddress(bare) ? undefined : `${hostname} is not a public address`;
  if (isPrivateName(bare)) return `${hostname} is a private host name`;
  const refused = `${hostname} is not a public address we can deliver to`;
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolver(bare);
  } catch {
    return refused;
  }
  if (addresses.length === 0) return refused;
  return addresses.every((a) => isPublicAddress(a.address)) ? undefined : refused;
}

/**
 * Ports of services that are no HTTP webhook receiver but would parse (part of) a request sent
 * to them, some as commands (Redis reads each line of an HTTP request as one): databases, caches,
 * brokers and container/cluster control planes. Refused above 1023 too.
 */
export const REFUSED_SERVICE_PORTS: ReadonlySet<number> = new Set([
  1433, // SQL Server
  1521, // Oracle
  2375, 2376, // Docker Engine API
  2379, 2380, // etcd
  3306, // MySQL
  5432, // PostgreSQL
  5672, // AMQP
  6379, // Redis
  9092, // Kafka
  10250, // kubelet
  11211, // memcached
  27017, // MongoDB
]);

/**
 * The destination port policy (docs/api.md): port 0 is never a destination. Where private
 * targets are refused (production), a webhook may use 443, 80 or an unprivileged port
 * (1024-65535) other than the service ports above: ports below 1024 belong to other protocols
 * (SSH, SMTP, DNS, ...), and a webhook endpoint on one of them is far likelier an attempt to
 * talk to another service than a receiver. Where private targets are allowed (local
 * development) any port but 0 is. `port` is the URL's port, '' for the scheme's default.
 * Returns a reason when refused.
 */
export function checkTargetPort(port: string, allowPrivate: boolean): string | undefined {
  if (port === '') return undefined;
  const n = Number(port);
  if (n === 0) return 'port 0 is not a destination port';
  if (allowPrivate || n === 80 || n === 443) return undefined;
  if (n < 1024) return `port ${n} is not allowed: use 443, 80 or a port from 1024 to 65535`;
  if (REFUSED_SERVICE_PORTS.has(n)) return `port ${n} is not allowed: it belongs to a service that is not a webhook receiver`;
  return undefined;
}
