import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseCapacityArgs, UsageError } from '../../scripts/capacity/arguments';
import { DEFAULT_TARGET } from '../../scripts/capacity/model';
import { readStackSettings } from '../../scripts/capacity/stack';

/**
 * `npm run capacity` against the synthesized stack and as a command: the settings it reads from the
 * template and `-c` context, and its command line (a CDK synthesis each: the infra tier, not the unit
 * tier; the model's arithmetic is test/unit/capacity.test.ts).
 */

const ROOT = join(__dirname, '..', '..');
describe('npm run capacity: the stack it reads', () => {
  it('reads the synthesized template: mappings, keys, shards, reserved concurrency, the API stage; -c context as cdk synth takes it', () => {
    const saved = process.env.CDK_CONTEXT_JSON;
    try {
      const s = readStackSettings();
      expect(s.fast).toEqual({ batchSize: 10, windowSeconds: 1, memoryMb: 384, timeoutSeconds: 30, maxConcurrency: 20, provisioned: false });
      expect(s.slow.maxConcurrency).toBe(20);
      expect([s.inlineTimeoutMs, s.attemptTimeoutMs]).toEqual([1500, 10_000]);
      expect([s.eventsQueues, s.ruleTargets, s.reservedConcurrency, s.dueShards, s.attemptLogShards]).toEqual([1, 1, 1, 16, 16]);
      expect([s.apiRateLimit, s.apiBurstLimit, s.deliveriesOnDemand]).toEqual([50, 100, true]);
      expect(s.keys.attemptLog).toBe('pk (partition), sk (sort)');
      expect(s.keys.due).toBe('dueShard (partition), sweepAt (sort)');
      expect(s.keys.status).toBe('statusKey (partition), sk (sort)');
      expect(readStackSettings({ deliveryConcurrency: '300' }).fast.maxConcurrency).toBe(300);
      // (context accumulates in CDK_CONTEXT_JSON, as repeated -c would: this one last)
      const provisioned = readStackSettings({ deliveryPollers: '230', deliveryMinPollers: '5' });
      expect(provisioned.fast).toMatchObject({ provisioned: true, maxPollers: 230 });
      expect(provisioned.fast.maxConcurrency).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.CDK_CONTEXT_JSON;
      else process.env.CDK_CONTEXT_JSON = saved;
    }
  }, 120_000);
});

describe('npm run capacity: the command line', () => {
  it('parses the target, percentages and context', () => {
    const args = parseCapacityArgs(['--events-per-second', '2500', '--fan-out', '3', '--failing', '2%', '--top-account-share', '0.05', '-c', 'deliveryConcurrency=500', '--context', 'stage=perf']);
    expect(args.target).toEqual({ ...DEFAULT_TARGET, eventsPerSecond: 2500, fanOut: 3, failing: 0.02, topAccountShare: 0.05 });
    expect(args.context).toEqual({ deliveryConcurrency: '500', stage: 'perf' });
    expect(parseCapacityArgs([]).target).toEqual(DEFAULT_TARGET);
  });

  it.each([
    [['--events-per-second', '0']],
    [['--fan-out', '0.5']],
    [['--failing', '1.5']],
    [['--p50-ms', '300', '--p99-ms', '200']],
    [['--accounts', '2.5']],
    [['-c', 'novalue']],
    [['--nope']],
    [['positional']],
  ])('refuses %j as a usage error', (argv) => {
    expect(() => parseCapacityArgs(argv)).toThrow(UsageError);
  });

  const run = (...args: string[]) =>
    spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'scripts', 'capacity', 'main.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });

  it('--help prints the options and exits 0', () => {
    const out = run('--help');
    expect(out.status).toBe(0);
    for (const flag of ['--events-per-second', '--fan-out', '--failing', '--p50-ms', '--p99-ms', '--top-account-share', '--context']) expect(out.stdout).toContain(flag);
  });

  it('an unknown flag, a stray argument and a bad value exit 2 without a stack trace', () => {
    for (const argv of [['--no-such-flag'], ['stray'], ['--p99-ms', '100']]) {
      const out = run(...argv);
      expect(out.status).toBe(2);
      expect(out.stderr).toContain('--help');
      expect(out.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a bad context value is a usage error too (lib/config.ts validates it)', () => {
    const out = run('-c', 'deliveryConcurrency=5000');
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('deliveryConcurrency');
  }, 120_000);

  it('the default target, read from the synthesized stack: reachable with named settings and quotas (exit 0), binding first on the fast lane\'s mapping', () => {
    const out = run();
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('MaximumConcurrency 20'); // read from the template
    expect(out.stdout).toContain('Binds first at the target: Lambda ESM concurrency, events queue');
    expect(out.stdout).toContain('What the stack carries');
    expect(out.stdout).toMatch(/-c deliveryConcurrency=1000/);
    expect(out.stdout).toMatch(/-c deliveryPollers=\d+/);
    expect(out.stdout).toContain('Verdict: reachable with existing context settings and quota increases');
  }, 120_000);

  it('100,000 deliveries a second with the named settings: no setting left to change, only quota increases', () => {
    const out = run('-c', 'deliveryConcurrency=1000', '-c', 'deliveryPollers=230', '-c', 'retryPollers=120', '-c', 'deliveriesWarmWrites=140000');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('provisioned mode, 230 pollers (context deliveryPollers)'); // read from the template
    const plan = out.stdout.slice(out.stdout.indexOf('Plan for'), out.stdout.indexOf('Verdict'));
    expect(plan).not.toContain('existing context settings:');
    expect(plan).not.toContain('code changes:');
    expect(plan).toContain('quota increases');
    expect(out.stdout).toContain('Verdict: reachable');
  }, 120_000);

  it('refuses a target no setting carries: exit 1, the reasons on stderr', () => {
    const out = run('--events-per-second', '200000');
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('refused');
    expect(out.stderr).toContain('SQS in-flight messages, events queue');
    expect(out.stderr).toContain('attempt-log partition');
  }, 120_000);
});
