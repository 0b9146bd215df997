import { RemovalPolicy } from 'aws-cdk-lib';
import { DEFAULT_EVENT_SOURCE, DEFAULTS } from '../../lambdas/shared/contract';
import { ConfigError, readStackConfig } from '../../lib/config';
import { cdkJsonContext } from '../../lib/build-app';
import { buildTestApp } from './app-fixture';

const fromContext =
  (context: Record<string, unknown>) =>
  (key: string): unknown =>
    context[key];

describe('readStackConfig', () => {
  it('defaults to a disposable dev stage with the contract defaults', () => {
    const config = readStackConfig(fromContext({}));
    expect(config).toEqual({
      stage: 'dev',
      isProduction: false,
      eventSource: DEFAULT_EVENT_SOURCE,
      operationalEventSource: 'visit-webhooks',
      retryScheduleSeconds: DEFAULTS.retryScheduleSeconds,
      allowHttpTargets: false,
      deliveryRetentionDays: DEFAULTS.deliveryRetentionDays,
      autoDisableAfterDays: DEFAULTS.autoDisableAfterDays,
      logRetention: 7,
      logLevel: 'DEBUG',
      deliveryConcurrency: 20,
      retryConcurrency: 20,
      delivery: { batchSize: 10, maxBatchingWindowSeconds: 1, memoryMb: 384 },
      retry: { batchSize: 10, maxBatchingWindowSeconds: 1, memoryMb: 256 },
      apiRateLimit: 50,
      apiBurstLimit: 100,
      apiAccountRateLimit: 10,
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      deliveriesPointInTimeRecovery: true,
      reconcilerReservedConcurrency: 1,
      publishers: { accountIds: [], roleArns: [] },
      tracing: false,
      accountConcurrencyQuota: 1000,
      sourceMaps: true,
    });
  });

  it('reads the publishers as comma-separated strings (-c) or JSON arrays (cdk.json), trimmed and without duplicates', () => {
    const role = 'arn:aws:iam::111122223333:role/path/to/publisher';
    expect(readStackConfig(fromContext({ publisherAccountIds: ' 111122223333, 444455556666,111122223333', publisherRoleArns: role })).publishers).toEqual({
      accountIds: ['111122223333', '444455556666'],
      roleArns: [role],
    });
    expect(readStackConfig(fromContext({ publisherRoleArns: [role, 'arn:aws-cn:iam::444455556666:role/b'] })).publishers.roleArns).toHaveLength(2);
    expect(() => readStackConfig(fromContext({ publisherAccountIds: 'abc' }))).toThrow(/publisherAccountIds/);
  });

  it('reads reconcilerReservedConcurrency (0 = none) and accountConcurrencyQuota', () => {
    expect(readStackConfig(fromContext({ reconcilerReservedConcurrency: '0' }))).not.toHaveProperty('reconcilerReservedConcurrency');
    expect(readStackConfig(fromContext({ reconcilerReservedConcurrency: 2 })).reconcilerReservedConcurrency).toBe(2);
    expect(readStackConfig(fromContext({ accountConcurrencyQuota: '5000' })).accountConcurrencyQuota).toBe(5000);
    expect(() => readStackConfig(fromContext({ accountConcurrencyQuota: 5 }))).toThrow(/accountConcurrencyQuota/);
  });

  it('reads operationalEventSource, which must be a valid source other than the visits\' one', () => {
    expect(readStackConfig(fromContext({ operationalEventSource: 'acme.webhooks' })).operationalEventSource).toBe('acme.webhooks');
    expect(() => readStackConfig(fromContext({ operationalEventSource: 'tracking' }))).toThrow(/operationalEventSource.*must differ from eventSource/);
    expect(() => readStackConfig(fromContext({ operationalEventSource: 'aws.events' }))).toThrow(/operationalEventSource/);
    expect(() => readStackConfig(fromContext({ operationalEventSource: 'has space' }))).toThrow(/operationalEventSource/);
  });

  it('reads deliveriesPointInTimeRecovery as a boolean or a `cdk -c` string (default true, in every stage)', () => {
    expect(readStackConfig(fromContext({ stage: 'prod' })).deliveriesPointInTimeRecovery).toBe(true);
    expect(readStackConfig(fromContext({ deliveriesPointInTimeRecovery: false })).deliveriesPointInTimeRecovery).toBe(false);
    expect(readStackConfig(fromContext({ deliveriesPointInTimeRecovery: 'false' })).deliveriesPointInTimeRecovery).toBe(false);
    expect(readStackConfig(fromContext({ deliveriesPointInTimeRecovery: 'true' })).deliveriesPointInTimeRecovery).toBe(true);
  });

  it('retains and protects data in prod, logs 30 days at INFO', () => {
    const config = readStackConfig(fromContext({ stage: 'prod' }));
    expect(config).toMatchObject({
      isProduction: true,
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
      logRetention: 30,
      logLevel: 'INFO',
    });
  });

  it.each(['Prod', 'x', '1dev', 'dev_1', 'a-very-long-stage-name-indeed', 'dev ops'])('rejects the stage %j with a clear message', (stage) => {
    expect(() => readStackConfig(fromContext({ stage }))).toThrow(ConfigError);
    expect(() => readStackConfig(fromContext({ stage }))).toThrow(/Invalid CDK context "stage": must match/);
  });

  it('fails the app build on a bad stage', () => {
    expect(() => buildTestApp({ context: { stage: 'Bad Stage!' } })).toThrow(/Invalid CDK context "stage"/);
  });

  it('reads the retry schedule as a comma-separated string or an array', () => {
    expect(readStackConfig(fromContext({ retrySchedule: ' 5, 60 ,3600' })).retryScheduleSeconds).toEqual([5, 60, 3600]);
    expect(readStackConfig(fromContext({ retrySchedule: [5, '60'] })).retryScheduleSeconds).toEqual([5, 60]);
  });

  it.each([['5,,60'], ['5,-1'], ['5,1.5'], ['abc'], [[]], [{ a: 1 }]])('rejects the retry schedule %j', (retrySchedule) => {
    expect(() => readStackConfig(fromContext({ retrySchedule }))).toThrow(/Invalid CDK context "retrySchedule"/);
  });

  it('rejects a retry schedule that outlasts the delivery records', () => {
    expect(() => readStackConfig(fromContext({ retrySchedule: '86400,86400', deliveryRetentionDays: 2 }))).toThrow(
      /must be shorter than deliveryRetentionDays/,
    );
  });

  it('parses booleans and numbers given as strings by `cdk -c`', () => {
    const config = readStackConfig(fromContext({ allowHttpTargets: 'true', deliveryConcurrency: '100', logRetentionDays: '90', autoDisableAfterDays: '2' }));
    expect(config).toMatchObject({ allowHttpTargets: true, deliveryConcurrency: 100, logRetention: 90, autoDisableAfterDays: 2 });
  });

  it.each([
    ['allowHttpTargets', 'yes'],
    ['deliveryConcurrency', 1],
    ['deliveryConcurrency', 1001],
    ['deliveryRetentionDays', 0],
    ['autoDisableAfterDays', 'soon'],
    ['logRetentionDays', 8],
    ['alarmEmail', 'not-an-email'],
    ['dashboardOrigin', 'https://dash.example.com/path'],
    ['dashboardOrigin', 'ftp://dash.example.com'],
    ['eventSource', 'has spaces'],
    ['apiRateLimit', 0],
    ['apiRateLimit', 10_001],
    ['apiRateLimit', 2.5],
    ['apiRateLimit', 'fast'],
    ['apiBurstLimit', 0],
    ['apiBurstLimit', '5001'],
    ['deliveriesPointInTimeRecovery', 'yes'],
    ['deliveriesPointInTimeRecovery', 0],
    ['apiAccountRateLimit', 0],
    ['apiAccountRateLimit', 51], // above the stage's 50: one account could take the whole stage
    ['apiAccountRateLimit', 1.5],
    ['apiWafAclArn', 'my-acl'],
    ['apiWafAclArn', 'arn:aws:wafv2:us-east-1:111122223333:global/webacl/acl/a1b2c3d4-5678-90ab-cdef-0123456789ab'],
    ['apiWafAclArn', 'arn:aws:wafv2:us-east-1:111122223333:regional/ipset/acl/a1b2c3d4-5678-90ab-cdef-0123456789ab'],
  ])('rejects %s = %j, naming the key', (key, value) => {
    expect(() => readStackConfig(fromContext({ [key]: value }))).toThrow(new RegExp(`Invalid CDK context "${key}"`));
  });

  it('reads the per-account API rate (at most the stage rate; default 10, or the stage rate when lower) and a regional web ACL ARN', () => {
    const arn = 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/api-acl/a1b2c3d4-5678-90ab-cdef-0123456789ab';
    expect(readStackConfig(fromContext({ apiRateLimit: 500, apiAccountRateLimit: '100', apiWafAclArn: arn }))).toMatchObject({ apiAccountRateLimit: 100, apiWafAclArn: arn });
    expect(readStackConfig(fromContext({ apiRateLimit: 5 })).apiAccountRateLimit).toBe(5);
    expect(readStackConfig(fromContext({})).apiWafAclArn).toBeUndefined();
  });

  it('reads each lane\'s capacity settings, as numbers or as `cdk -c` strings', () => {
    const config = readStackConfig(
      fromContext({
        deliveryConcurrency: '100',
        retryConcurrency: 10,
        deliveryReservedConcurrency: '150',
        retryReservedConcurrency: 10,
        deliveryBatchSize: '1000',
        deliveryMaxBatchingWindowSeconds: '300',
        deliveryMemoryMb: 10_240,
        retryBatchSize: 1,
        retryMaxBatchingWindowSeconds: 0,
        retryMemoryMb: '128',
      }),
    );
    expect(config).toMatchObject({
      deliveryConcurrency: 100,
      retryConcurrency: 10,
      delivery: { reservedConcurrency: 150, batchSize: 1000, maxBatchingWindowSeconds: 300, memoryMb: 10_240 },
      retry: { reservedConcurrency: 10, batchSize: 1, maxBatchingWindowSeconds: 0, memoryMb: 128 },
    });
  });

  it('caps the retry mapping with deliveryConcurrency unless retryConcurrency is set (as before the key existed)', () => {
    expect(readStackConfig(fromContext({ deliveryConcurrency: 300 })).retryConcurrency).toBe(300);
    expect(readStackConfig(fromContext({ deliveryConcurrency: 300, retryConcurrency: 40 })).retryConcurrency).toBe(40);
  });

  it.each([
    ['retryConcurrency', 1],
    ['retryConcurrency', 1001],
    ['deliveryReservedConcurrency', 0],
    ['retryReservedConcurrency', 'some'],
    ['deliveryBatchSize', 0],
    ['retryBatchSize', 10_001],
    ['deliveryMaxBatchingWindowSeconds', -1],
    ['retryMaxBatchingWindowSeconds', 301],
    ['deliveryMemoryMb', 127],
    ['retryMemoryMb', 10_241],
    ['deliveryMemoryMb', 512.5],
  ])('rejects the lane setting %s = %j, naming the key', (key, value) => {
    expect(() => readStackConfig(fromContext({ [key]: value }))).toThrow(new RegExp(`Invalid CDK context "${key}": expected an integer from`));
  });

  it('rejects a batch above 10 without a batching window (the SQS rule), naming the window key', () => {
    expect(() => readStackConfig(fromContext({ deliveryBatchSize: 11, deliveryMaxBatchingWindowSeconds: 0 }))).toThrow(
      /Invalid CDK context "deliveryMaxBatchingWindowSeconds": must be greater than 0 when deliveryBatchSize is above 10/,
    );
    expect(() => readStackConfig(fromContext({ retryBatchSize: '500', retryMaxBatchingWindowSeconds: '0' }))).toThrow(/"retryMaxBatchingWindowSeconds"/);
    // The default window (1 s) allows large batches; 10 needs no window.
    expect(readStackConfig(fromContext({ retryBatchSize: 500 })).retry.batchSize).toBe(500);
    expect(readStackConfig(fromContext({ deliveryBatchSize: 10, deliveryMaxBatchingWindowSeconds: 0 })).delivery.maxBatchingWindowSeconds).toBe(0);
  });

  it('rejects reserved concurrency below the lane\'s mapping concurrency', () => {
    expect(() => readStackConfig(fromContext({ deliveryReservedConcurrency: 19 }))).toThrow(
      /Invalid CDK context "deliveryReservedConcurrency": must be at least deliveryConcurrency \(20\)/,
    );
    expect(() => readStackConfig(fromContext({ retryConcurrency: 50, retryReservedConcurrency: 49 }))).toThrow(/"retryReservedConcurrency": must be at least retryConcurrency \(50\)/);
  });

  it('fails the app build on a bad lane setting', () => {
    expect(() => buildTestApp({ context: { deliveryBatchSize: 20, deliveryMaxBatchingWindowSeconds: 0 } })).toThrow(/Invalid CDK context "deliveryMaxBatchingWindowSeconds"/);
  });

  it('reads the management API stage throttling, as numbers or as `cdk -c` strings', () => {
    expect(readStackConfig(fromContext({ apiRateLimit: 200, apiBurstLimit: '400' }))).toMatchObject({ apiRateLimit: 200, apiBurstLimit: 400 });
    expect(readStackConfig(fromContext({ apiRateLimit: '10000', apiBurstLimit: 5000 }))).toMatchObject({ apiRateLimit: 10_000, apiBurstLimit: 5000 });
  });

  it('reads provisioned pollers per lane (maximum 2–2000, minimum 2–200, default 2) and the table\'s warm writes', () => {
    const config = readStackConfig(fromContext({ deliveryPollers: '230', retryPollers: 120, retryMinPollers: '10', deliveriesWarmWrites: '140000' }));
    expect(config.delivery.pollers).toEqual({ minimum: 2, maximum: 230 });
    expect(config.retry.pollers).toEqual({ minimum: 10, maximum: 120 });
    expect(config.deliveriesWarmWrites).toBe(140_000);
    const plain = readStackConfig(fromContext({}));
    expect(plain.delivery.pollers).toBeUndefined();
    expect(plain.deliveriesWarmWrites).toBeUndefined();
    expect(() => readStackConfig(fromContext({ deliveryPollers: 1 }))).toThrow(/"deliveryPollers"/);
    expect(() => readStackConfig(fromContext({ deliveryPollers: 2001 }))).toThrow(/"deliveryPollers"/);
    expect(() => readStackConfig(fromContext({ deliveryMinPollers: 5 }))).toThrow(/"deliveryMinPollers": needs deliveryPollers/);
    expect(() => readStackConfig(fromContext({ deliveryPollers: 10, deliveryMinPollers: 20 }))).toThrow(/must not be above deliveryPollers/);
    expect(() => readStackConfig(fromContext({ deliveriesWarmWrites: 100 }))).toThrow(/"deliveriesWarmWrites"/);
    // Provisioned mode replaces the mapping's maximum concurrency: reserved concurrency is not checked against it.
    expect(readStackConfig(fromContext({ deliveryPollers: 10, deliveryReservedConcurrency: 5 })).delivery.reservedConcurrency).toBe(5);
  });

  it('keeps optional settings when given', () => {
    const config = readStackConfig(fromContext({ alarmEmail: 'ops@example.com', dashboardOrigin: 'https://dash.example.com' }));
    expect(config).toMatchObject({ alarmEmail: 'ops@example.com', dashboardOrigin: 'https://dash.example.com' });
  });
});

describe('CDK feature flags (cdk.json)', () => {
  it('sets every flag aws-cdk-lib recommends, at its recommended value, but explicitStackTags (docs/deployment.md)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const recommended = require('aws-cdk-lib/recommended-feature-flags.json') as Record<string, unknown>;
    const context = cdkJsonContext();
    const differing = Object.entries(recommended).filter(([flag, value]) => JSON.stringify(context[flag]) !== JSON.stringify(value)).map(([flag]) => flag);
    // Kept off: it would drop the stack-level tags (project, stage) from the stack itself.
    expect(differing).toEqual(['@aws-cdk/core:explicitStackTags']);
    expect(context['@aws-cdk/core:explicitStackTags']).toBe(false);
  });
});
