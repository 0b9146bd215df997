import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { Resolver } from '../domain/ports';
import { isPublicAddress, SsrfError } from '../domain/target-policy';

/**
 * The DNS side of the target policy: the system resolver, and the `lookup` the HTTP sender's
 * sockets use, so that the address a connection really uses passes the same rule that was
 * checked at create time (DNS rebinding cannot slip a private address in between).
 */

export type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type LookupFunction = (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback) => void;

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
        if (options.all) callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}
