import type { LookupAddress } from 'node:dns';
import { checkTargetHost, checkTargetPort, isPublicAddress, REFUSED_SERVICE_PORTS, SsrfError } from '../../lambdas/shared/domain/target-policy';
import type { Resolver } from '../../lambdas/shared/domain/ports';
import { createSafeLookup } from '../../lambdas/shared/adapters/dns';

const resolverOf =
  (answers: Record<string, string[]>): Resolver =>
  async (hostname) => {
    const list = answers[hostname];
    if (!list) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '0.1.2.3',
    '224.0.0.1',
    '255.255.255.255',
    '240.0.0.1',
    '192.0.2.10',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::7f00:1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
    '2001:db8::1',
    '[::1]',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])('allows %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('checkTargetHost on URL forms that hide private addresses', () => {
  const resolver = resolverOf({ 'example.com': ['93.184.216.34'], 'rebind.test': ['93.184.216.34', '10.0.0.7'], 'metadata.test': ['169.254.169.254'] });

  it.each([
    ['http://127.0.0.1/'],
    ['http://2130706433/'], // decimal
    ['http://0x7f000001/'], // hex
    ['http://0x7f.1/'],
    ['http://017700000001/'], // octal
    ['http://0177.0.0.1/'],
    ['http://127.1/'],
    ['http://[::1]/'],
    ['http://[::]/'],
    ['http://0.0.0.0/'],
    ['http://[::ffff:127.0.0.1]/'],
    ['http://[::ffff:a9fe:a9fe]/'],
    ['http://169.254.169.254/latest/meta-data/'],
    ['http://localhost/'],
    ['http://localhost./'],
    ['http://LOCALHOST:8080/'],
    ['http://api.localhost/'],
    ['http://metadata.google.internal/'],
    ['http://metadata.test/'],
    ['http://rebind.test/'],
    ['http://does-not-resolve.test/'],
  ])('refuses %s', async (url) => {
    const reason = await checkTargetHost(new URL(url).hostname, resolver, false);
    expect(reason).toEqual(expect.any(String));
  });

  it('allows a name that resolves only to public addresses', async () => {
    await expect(checkTargetHost('example.com', resolver, false)).resolves.toBeUndefined();
  });

  it('allows anything when private targets are allowed (local runtime)', async () => {
    await expect(checkTargetHost('127.0.0.1', resolver, true)).resolves.toBeUndefined();
  });
});

describe('checkTargetHost does not tell unresolvable names from privately resolving ones', () => {
  it('gives one reason for no answer, an empty answer, a private answer and a partly private answer', async () => {
    const resolver = resolverOf({ 'rebind.test': ['93.184.216.34', '10.0.0.7'], 'metadata.test': ['169.254.169.254'] });
    const empty = async () => [];
    const reasons = [
      await checkTargetHost('nx.test', resolver, false),
      await checkTargetHost('nx.test', empty, false),
      (await checkTargetHost('metadata.test', resolver, false))?.replace('metadata.test', 'nx.test'),
      (await checkTargetHost('rebind.test', resolver, false))?.replace('rebind.test', 'nx.test'),
    ];
    expect(new Set(reasons)).toEqual(new Set(['nx.test is not a public address we can deliver to']));
  });
});

describe('checkTargetPort', () => {
  it.each([['0'], ['1'], ['21'], ['22'], ['25'], ['53'], ['445'], ['1023'], ...[...REFUSED_SERVICE_PORTS].map((p) => [String(p)])])('refuses port %s where private targets are refused', (port) => {
    expect(checkTargetPort(port, false)).toEqual(expect.stringMatching(new RegExp(`port ${port}`)));
  });

  it.each([[''], ['80'], ['443'], ['1024'], ['3000'], ['8080'], ['8443'], ['65535']])('allows port %s', (port) => {
    expect(checkTargetPort(port, false)).toBeUndefined();
  });

  it('allows any port but 0 where private targets are allowed (local receivers on OS-assigned ports)', () => {
    for (const port of ['22', '6379', '54321']) expect(checkTargetPort(port, true)).toBeUndefined();
    expect(checkTargetPort('0', true)).toMatch(/port 0/);
  });
});

describe('createSafeLookup (connect-time check)', () => {
  const lookup = (resolver: Resolver, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[] }>((resolve) =>
      createSafeLookup(resolver, false)('host.test', { all }, (err, address) => resolve({ err, address })),
    );

  it('drops private answers and hands the socket a public one', async () => {
    const { err, address } = await lookup(resolverOf({ 'host.test': ['10.0.0.1', '93.184.216.34'] }), false);
    expect(err).toBeNull();
    expect(address).toBe('93.184.216.34');
  });

  it('answers all public addresses for happy eyeballs', async () => {
    const { address } = await lookup(resolverOf({ 'host.test': ['127.0.0.1', '93.184.216.34', '2606:4700::1'] }), true);
    expect(address).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700::1', family: 6 },
    ]);
  });

  it('fails with an SsrfError when every answer is private', async () => {
    const { err } = await lookup(resolverOf({ 'host.test': ['127.0.0.1', '::1'] }), false);
    expect(err).toBeInstanceOf(SsrfError);
  });
});
