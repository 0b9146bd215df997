/**
 * Preloaded (`node --require ./.ci/offline.cjs`) into the local runtime that schemathesis fuzzes,
 * so the run stays on this machine whatever URLs it invents:
 *   - name lookups fail (ENOTFOUND) except for localhost: the create-time SSRF check then answers
 *     400 "does not resolve" for generated host names instead of asking a DNS server;
 *   - sockets only connect to loopback addresses: a test send to a generated public IP literal
 *     fails as unreachable instead of leaving the machine.
 * Nothing else changes; the process under test is the real `npm start` entry point.
 */
'use strict';
const dns = require('node:dns');
const net = require('node:net');

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/i;

function offlineError(code, what) {
  return Object.assign(new Error(`offline (.ci/offline.cjs): ${what}`), { code });
}

const realLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  if (hostname === 'localhost' || net.isIP(hostname)) return realLookup.call(this, hostname, options, callback);
  process.nextTick(() => cb(offlineError('ENOTFOUND', `no DNS for ${hostname}`)));
  return {};
};
const realPromisesLookup = dns.promises.lookup;
dns.promises.lookup = (hostname, options) =>
  hostname === 'localhost' || net.isIP(hostname) ? realPromisesLookup(hostname, options) : Promise.reject(offlineError('ENOTFOUND', `no DNS for ${hostname}`));

const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  const first = args[0];
  const options = Array.isArray(first) ? first[0] : first;
  const host = typeof options === 'object' && options !== null ? options.host : typeof args[1] === 'string' ? args[1] : undefined;
  const isPipe = typeof options === 'object' && options !== null && typeof options.path === 'string';
  if (!isPipe && host && net.isIP(host) && !LOOPBACK.test(host)) {
    process.nextTick(() => this.destroy(offlineError('ENETUNREACH', `no connection to ${host}`)));
    return this;
  }
  return realConnect.apply(this, args);
};
