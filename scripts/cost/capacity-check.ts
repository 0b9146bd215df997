import { DEFAULT_ASSUMPTIONS, DEFAULT_TARGET, evaluate, type Status } from '../capacity/model';
import { refusalLine } from '../capacity/report';
import type { StackSettings } from '../capacity/stack';
import type { Input } from './arguments';
import type { CpuFigures } from './cpu';
import { SECONDS_PER_MONTH } from './model';

/** What `npm run capacity` says of a cost scenario's traffic. */
export interface CapacityVerdict {
  /** The rate checked: the month's average × `--peak-factor`. */
  readonly eventsPerSecond: number;
  /** Every steady-state limit within its ceiling as the stack is configured, at the default quotas. */
  readonly fits: boolean;
  /** Reachable with existing settings and quota increases; false: the capacity model refuses it. */
  readonly reachable: boolean;
  /** The limit closest to (or furthest past) its ceiling. */
  readonly binding: string;
  /** Why it is refused: what no setting or quota raises. */
  readonly reasons: string[];
}

/**
 * The capacity model (scripts/capacity/) on the scenario's traffic: its rate, fan-out and failing
 * share; the endpoint latencies, the busiest account's share and the other assumptions are the
 * capacity model's defaults. A cost is only worth printing for traffic the stack can carry.
 */
export function capacityVerdict(input: Input, settings: StackSettings, cpu: CpuFigures): CapacityVerdict {
  const eventsPerSecond = (input.eventsPerMonth / SECONDS_PER_MONTH) * (input.peakFactor ?? 1);
  const e = evaluate({
    target: { ...DEFAULT_TARGET, eventsPerSecond, fanOut: input.fanOut, failing: input.failureRate },
    settings,
    assumptions: { ...DEFAULT_ASSUMPTIONS, accounts: input.accounts, dataKeys: input.dataKeys ?? 1, awsCallMs: input.awsCallMs },
    cpu,
  });
  return {
    eventsPerSecond,
    fits: e.fits,
    reachable: e.reachable,
    binding: `${e.binding.service} ${e.binding.name}: ${Math.round(e.binding.need)} of ${Number.isFinite(e.binding.cap) ? Math.round(e.binding.cap) : '∞'} ${e.binding.unit}`,
    reasons: e.blockers.map((x) => refusalLine(x, e.status[x.id] as Status)),
  };
}
