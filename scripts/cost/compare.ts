import { type CostModel, costModel, type Scenario } from './model';

/**
 * The isolation issue's two designs side by side, on the same measurements:
 * - `lanes` (as built): the delivery function attempts healthy webhooks inline (fast lane) and
 *   hands slow endpoints, rate-limited and late deliveries to the retry queue (slow lane);
 * - `planner`: the delivery function only plans (one job per delivery on a fair queue,
 *   SendMessageBatch of 10) and a job function attempts every delivery: no aborted inline attempt,
 *   no hand-off, but every delivery pays a send, a receive, a delete and a share of a second
 *   invocation.
 * Failing endpoints, the breaker, the rate limiter and the reconciler cost the same in both.
 */
export interface DesignComparison {
  readonly eventsPerMonth: number;
  readonly fanOut: number;
  readonly lanes: CostModel;
  readonly planner: CostModel;
  /** planner − lanes, per million deliveries and per month. */
  readonly perMillionDifference: number;
  readonly monthlyDifference: number;
  /** planner − lanes per service, per month, largest first. */
  readonly byService: Array<[string, number]>;
}

export function compareDesigns(scenario: Scenario): DesignComparison {
  const lanes = costModel({ ...scenario, design: 'lanes' });
  const planner = costModel({ ...scenario, design: 'planner' });
  const services = new Set([...lanes.services.map(([s]) => s), ...planner.services.map(([s]) => s)]);
  const of = (model: CostModel, service: string) => model.services.find(([s]) => s === service)?.[1] ?? 0;
  const byService = [...services]
    .map((s): [string, number] => [s, of(planner, s) - of(lanes, s)])
    .filter(([, v]) => Math.abs(v) > 1e-9)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  return {
    eventsPerMonth: scenario.input.eventsPerMonth,
    fanOut: scenario.input.fanOut,
    lanes,
    planner,
    perMillionDifference: planner.perMillion - lanes.perMillion,
    monthlyDifference: planner.total - lanes.total,
    byService,
  };
}

/** The decision record's grid: 10 M and 100 M events a month, fan-out 1 and 10. */
export const COMPARISON_GRID: ReadonlyArray<{ events: number; fanOut: number }> = [
  { events: 10_000_000, fanOut: 1 },
  { events: 10_000_000, fanOut: 10 },
  { events: 100_000_000, fanOut: 1 },
  { events: 100_000_000, fanOut: 10 },
];
