import type { CpuFigures } from '../cost/cpu';
import type { Assumptions, Evaluation, LimitRow, Plan, Status, Target } from './model';
import type { StackSettings } from './stack';

/** The text `npm run capacity` prints: every limit, what binds first, what the stack carries, the plan, the verdict. */

const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '∞');
const pct = (x: number) => (x >= 10 ? `${n0(100 * x)} %` : `${(100 * x).toFixed(x < 0.1 ? 2 : 1).replace(/\.0+$/, '')} %`);
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const LABEL: Record<Status, string> = {
  ok: 'ok',
  info: 'info',
  setting: 'SETTING',
  'new-setting': 'NO SETTING',
  quota: 'QUOTA',
  code: 'CODE',
  hard: 'HARD',
};

const MEANING: Record<Exclude<Status, 'ok' | 'info'>, string> = {
  setting: 'an existing context setting reaches it',
  'new-setting': 'needs a setting the stack does not have',
  quota: 'needs a quota increase',
  code: 'needs a code change',
  hard: 'an AWS hard limit: needs a design change',
};

export interface Capacity {
  readonly label: string;
  readonly eventsPerSecond: number;
  readonly binding?: LimitRow;
}

export interface Report {
  readonly target: Target;
  readonly settings: StackSettings;
  readonly context: Record<string, string>;
  readonly assumptions: Assumptions;
  readonly cpu: CpuFigures;
  readonly evaluation: Evaluation;
  readonly order: Array<{ row: LimitRow; eventsPerSecond: number }>;
  readonly capacities: Capacity[];
  readonly plan: Plan;
}

function lane(name: string, l: StackSettings['fast'], budgetMs: number, budget: string): string {
  const scaling = l.provisioned ? 'provisioned mode' : l.maxConcurrency !== undefined ? `MaximumConcurrency ${l.maxConcurrency}` : 'no MaximumConcurrency';
  return `${name}batch ${l.batchSize}, window ${l.windowSeconds} s, ${l.memoryMb} MB, timeout ${l.timeoutSeconds} s, ${scaling}; ${budget} ${n0(budgetMs)} ms`;
}

function row(r: LimitRow, status: Status): string[] {
  const share = r.cap === Number.POSITIVE_INFINITY || r.cap <= 0 ? '' : ` · ${pct(r.need / r.cap)} of ${n0(r.cap)}`;
  const lines = [
    `  ${LABEL[status].padEnd(10)} ${r.service.padEnd(11)} ${r.name}`,
    `             need ${n0(r.need)} ${r.unit}${share} · AWS default ${r.awsDefaultText} · stack: ${r.configured}`,
  ];
  if (r.note) lines.push(`             ${r.note}`);
  if (status !== 'ok' && status !== 'info' && r.fix) {
    let fix: typeof r.fix | undefined = r.fix;
    const fixes: string[] = [];
    while (fix) {
      if (fix.kind === 'setting') {
        if (r.need <= (fix.settingMax ?? 0)) {
          fixes.push(`${fix.text} up to ${n0(fix.settingMax ?? 0)}`);
          break;
        }
        fixes.push(`${fix.text} stops at ${n0(fix.settingMax ?? 0)}`);
        fix = fix.beyond;
        continue;
      }
      fixes.push(fix.text);
      fix = undefined;
    }
    lines.push(`             → ${MEANING[status]}: ${fixes.join('; beyond it: ')}`);
  }
  return lines;
}

export function reportText(r: Report): string {
  const { target: t, settings: s, evaluation: e, assumptions: a } = r;
  const L = e.load;
  const out: string[] = [];
  const contextText = Object.keys(r.context).length ? `, ${Object.entries(r.context).map(([k, v]) => `-c ${k}=${v}`).join(' ')}` : '';
  out.push('npm run capacity: what a steady load needs from each AWS limit it touches');
  out.push('');
  out.push(
    `Target       ${n0(t.eventsPerSecond)} events/s × fan-out ${t.fanOut} = ${n0(L.deliveriesPerSecond)} deliveries/s; ${pct(t.failing)} failing; ` +
      `endpoints p50 ${n0(t.p50Ms)} ms / p99 ${n0(t.p99Ms)} ms; busiest account ${pct(t.topAccountShare)} of the events`,
  );
  out.push(`Stack        synthesized (cdk.json context${contextText}):`);
  out.push(lane('  fast lane  events queue → delivery: ', s.fast, s.inlineTimeoutMs, 'inline budget'));
  out.push(lane('  slow lane  retry queue → retry: ', s.slow, s.attemptTimeoutMs, 'attempt budget'));
  out.push(`  attempt log ${s.keys.attemptLog}, ${s.attemptLogShards} shards per webhook; due index ${s.keys.due}, ${s.dueShards} shards; status index ${s.keys.status}`);
  out.push(`  webhooks    ${s.keys.webhooks}; list cached ${s.webhookCacheTtlMs / 1000} s per container; sender ${s.connectionsPerOrigin} connections per origin`);
  out.push(`  other       reserved concurrency ${s.reservedConcurrency} (reconciler); API stage ${s.apiRateLimit}/s, burst ${s.apiBurstLimit}; deliveries table ${s.deliveriesOnDemand ? 'on-demand' : 'provisioned'}`);
  out.push(
    `Assumptions  ${n0(a.accounts)} accounts, one origin each; ${n0(a.dataKeys)} KMS data keys per container; AWS call ${a.awsCallMs} ms; ` +
      `quotas of us-east-1; plan sizes every raised limit for ${pct(a.utilization)} use`,
  );
  out.push(
    `CPU          ${r.cpu.source}: ${r.cpu.perEventMs.toFixed(2)} ms per event, ${(r.cpu.perDeliveryHttpMs + r.cpu.perDeliveredRecordMs).toFixed(2)} ms per delivered attempt, ` +
      `${r.cpu.perAwsCallMs.toFixed(2)} ms per single AWS call (1 vCPU = 1,769 MB)`,
  );
  out.push('');
  out.push('Derived');
  out.push(`  latency     log-normal, sigma ${L.latency.sigma.toFixed(2)}: ${pct(L.slowShare)} of healthy attempts are slower than the ${n0(s.inlineTimeoutMs)} ms inline budget`);
  out.push(`  deliveries  fast lane ${n0(L.fastOkPerSecond)}/s, slow lane ${n0(L.slowPerSecond)}/s, failing (parked) ${n0(L.failingPerSecond)}/s`);
  out.push(
    `  fast lane   ${n0(L.fast.invocationsPerSecond)} invocations/s × ${sec(L.fast.durationMs)} (slowest inline attempt of ${n0(L.fast.fill * t.fanOut)} cut at the budget ${n0(L.fast.waitMs)} ms, ` +
      `CPU ${n0(L.fast.cpuMs)} ms, AWS ${n0(L.fast.awsMs)} ms) = ${n0(L.fast.concurrency)} concurrent (Little's law)`,
  );
  out.push(`  slow lane   ${n0(L.slow.invocationsPerSecond)} invocations/s × ${sec(L.slow.durationMs)} (slowest of ${L.slow.fill.toFixed(1)} slow endpoints ${n0(L.slow.waitMs)} ms) = ${n0(L.slow.concurrency)} concurrent`);
  out.push(
    `  busiest     ${n0(L.topWebhookPerSecond)} deliveries/s to each webhook of the busiest account (others ${L.otherWebhookPerSecond.toFixed(1)}/s); its requests take ${n0(L.originWaitMs)} ms ` +
      `of turns on the ${s.connectionsPerOrigin} connections of its origin per batch` +
      (L.originOverflow > 0 ? `; ${L.originOverflow.toFixed(1)} per batch find none within the fast lane's wait and go to the slow lane (not counted above)` : ''),
  );
  out.push('');
  out.push(`Limits at the target (status: ok, info = not a steady-state limit, SETTING = an existing setting reaches it, NO SETTING = needs a setting that does not exist, QUOTA, CODE, HARD)`);
  for (const lim of e.rows) out.push(...row(lim, e.status[lim.id] as Status));
  out.push('');

  const b = e.binding;
  out.push(`Binds first at the target: ${b.service} ${b.name}: needs ${n0(b.need)} ${b.unit}, ${b.cap > 0 ? `${n0((100 * b.need) / b.cap)} % of` : 'against'} ${n0(b.cap)}.`);
  out.push('Order in which the limits bind (each alone, settings as configured, default quotas):');
  for (const o of r.order.filter((x) => Number.isFinite(x.eventsPerSecond)).slice(0, 8)) {
    out.push(`  ${n0(o.eventsPerSecond).padStart(9)} events/s  ${o.row.service} ${o.row.name}`);
  }
  out.push('');
  out.push(`What the stack carries (the target's other inputs):`);
  for (const c of r.capacities) {
    out.push(
      `  ${c.label.padEnd(82)} ${n0(c.eventsPerSecond).padStart(7)} events/s (${n0(c.eventsPerSecond * t.fanOut)} deliveries/s)` +
        `${c.binding ? `, bound by ${c.binding.service} ${c.binding.name}` : ''}`,
    );
  }
  out.push('');
  out.push(
    `Sensitivity  if the ${n0(t.p99Ms)} ms tail is per request on every endpoint rather than a set of slow endpoints, the ${s.slowHoldMs / 60_000}-minute slow hold ` +
      `moves busy webhooks to the slow lane: ${n0(L.perRequestTail.slowPerSecond)} deliveries/s there, ${n0(L.perRequestTail.concurrency)} concurrent (against ${n0(L.slow.concurrency)} above)`,
  );
  out.push('');

  const p = r.plan;
  out.push(`Plan for ${n0(t.eventsPerSecond)} events/s (${n0(L.deliveriesPerSecond)} deliveries/s):`);
  const groups: Array<[PlanKinds, string]> = [
    ['setting', 'existing context settings'],
    ['new-setting', 'settings that do not exist in lib/config.ts'],
    ['quota', 'quota increases (Service Quotas)'],
    ['code', 'code changes'],
    ['hard', 'design changes (AWS hard limits)'],
    ['ramp', 'for the way up (not steady-state limits)'],
  ];
  if (p.steps.length === 0) out.push('  nothing to change');
  for (const [kind, title] of groups) {
    const steps = p.steps.filter((st) => st.kind === kind);
    if (steps.length === 0) continue;
    out.push(`  ${title}:`);
    for (const st of steps) out.push(`    - ${st.text}`);
  }
  if (p.fastAlternative) {
    out.push(
      `  instead of provisioned mode on the events mapping: batch ${p.fastAlternative.batchSize} and ${p.fastAlternative.memoryMb} MB (neither a setting today: PIPELINE.batchSize, ` +
        `the delivery function's memory) bring the fast lane to ${n0(p.fastAlternative.concurrency)} concurrent, within standard mode`,
    );
  }
  const over = p.after.rows.filter((x) => x.steady && x.need > x.cap);
  const worst = p.after.binding;
  out.push(
    over.length === 0
      ? `  with all of it: every steady-state limit within its ceiling; the closest is ${worst.service} ${worst.name} at ${n0((100 * worst.need) / worst.cap)} %.`
      : `  with all of it, still past its ceiling: ${over.map((x) => `${x.service} ${x.name}`).join('; ')}`,
  );
  out.push('');

  if (e.fits) out.push(`Verdict: the stack as configured carries ${n0(t.eventsPerSecond)} events/s with the default quotas.`);
  else if (e.reachable) out.push(`Verdict: reachable with existing context settings and quota increases (the plan above); no code change.`);
  else {
    out.push(`Verdict: REFUSED: the stack's settings cannot carry ${n0(t.eventsPerSecond)} events/s, whatever the quotas:`);
    for (const x of e.blockers) out.push(`  - ${refusalLine(x, e.status[x.id] as Status)}`);
  }
  out.push('');
  out.push('Sources (AWS documentation pages; values quoted in docs/capacity.md):');
  const sources = new Set<string>();
  for (const x of e.rows) for (const part of x.source.split('; ')) sources.add(part);
  for (const src of sources) out.push(`  - ${src}`);
  return `${out.join('\n')}\n`;
}

type PlanKinds = Plan['steps'][number]['kind'];

/** One line per blocker: what needs what, and what would lift it. */
export function refusalLine(x: LimitRow, status: Status): string {
  const ceiling = x.fix?.kind === 'setting' ? `context ${x.fix.setting} stops at ${n0(x.fix.settingMax ?? 0)}` : `ceiling ${n0(x.cap)}`;
  let fix = x.fix;
  while (fix && fix.kind === 'setting') fix = fix.beyond;
  return `${x.service} ${x.name}: needs ${n0(x.need)} ${x.unit}, ${ceiling}; ${MEANING[status as Exclude<Status, 'ok' | 'info'>]}: ${fix?.text ?? 'none known'}`;
}
