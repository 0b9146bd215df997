/** The module-scope Powertools instances: what Metrics says about itself goes through our logger. */
describe('powertools: Metrics reports through the logger', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.restoreAllMocks();
  });

  function publishEmpty(level: string): string {
    process.env.POWERTOOLS_LOG_LEVEL = level;
    const written: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void written.push(args.map(String).join(' ')));
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { metrics } = require('../../lambdas/shared/adapters/powertools') as typeof import('../../lambdas/shared/adapters/powertools');
      metrics.publishStoredMetrics();
    });
    jest.restoreAllMocks();
    return written.join('');
  }

  it('keeps "no application metrics" (a retry batch of hops records none) out of INFO logs', () => {
    expect(publishEmpty('INFO')).not.toContain('No application metrics');
  });

  it('still says it at DEBUG, as a structured log line', () => {
    const out = publishEmpty('DEBUG');
    const line = out.split('\n').find((l) => l.includes('No application metrics'));
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ level: 'DEBUG' });
  });
});
