import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMITTED_METRICS, METRICS } from '../../lambdas/shared/contract';
import { PROJECT_ROOT } from '../../lib/function-defaults';

/**
 * The custom metrics are what CloudWatch bills (name × `service` dimension per month) and what
 * `npm run cost` counts (EMITTED_METRICS): these checks keep that list equal to what the code
 * emits, and keep every metric one that an alarm or the dashboard reads.
 */

const source = (path: string): string => readFileSync(join(PROJECT_ROOT, path), 'utf8');
type Key = keyof typeof METRICS;
/** The `METRICS.<key>` names a source file passes to `count(` or `milliseconds(`. */
const emitted = (path: string): Set<string> =>
  new Set([...source(path).matchAll(/\.(?:count|milliseconds)\(\s*METRICS\.(\w+)/g)].map((m) => METRICS[m[1] as Key]));
const referenced = (path: string): Set<string> => new Set([...source(path).matchAll(/METRICS\.(\w+)/g)].map((m) => METRICS[m[1] as Key]));
const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort();

describe('custom metrics', () => {
  // Operational events are announced for the delivery domain and the reconciler alike (a failed publish is counted there).
  const announcer = emitted('lambdas/shared/domain/operational-events.ts');
  const domain = new Set([...emitted('lambdas/shared/domain/delivery-service.ts'), ...announcer]);

  it('the delivery and retry functions emit what EMITTED_METRICS lists for them', () => {
    expect(sorted(EMITTED_METRICS.retry)).toEqual(sorted([...domain, ...emitted('lambdas/retry/app.ts')]));
    expect(sorted(EMITTED_METRICS.delivery)).toEqual(sorted([...domain, ...emitted('lambdas/delivery/app.ts')]));
  });

  it('the reconciler emits what EMITTED_METRICS lists for it', () => {
    expect(sorted(EMITTED_METRICS.reconciler)).toEqual(sorted([...emitted('lambdas/shared/domain/reconciler.ts'), ...announcer]));
  });

  it('no handler captures the ColdStart metric (the cost model does not count it)', () => {
    for (const fn of ['delivery', 'retry', 'reconciler', 'api']) expect(source(`lambdas/${fn}/app.ts`)).not.toMatch(/captureColdStartMetric:\s*true/);
  });

  it('every metric is read by an alarm or the dashboard', () => {
    const read = new Set([...referenced('lib/constructs/monitoring.ts'), ...referenced('lib/webhooks-stack.ts')]);
    expect(Object.values(METRICS).filter((name) => !read.has(name))).toEqual([]);
  });
});
