// The drill's bookkeeping, apart from its order: journal lines, the verdict, summaries. Pure mapping.
import type { SteadyState } from '../drills/faults';
import type { DrillJournal, JournalAction, ScenarioJournal, Verdict } from '../drills/journal';
import { resilienceScore } from '../drills/metrics';
import type { Runner } from './runner';
import type { DrillInput } from './types';

export const scenarioSummary = (j: ScenarioJournal) => `${j.status}${j.victim ? ` (${j.victim.host})` : ''}`;

export const drillSummary = (scenarios: ScenarioJournal[]) => scenarios.map((s) => `${s.id}: ${scenarioSummary(s)}`).join(', ');

/**
 * Passed when no scenario failed, errored or was aborted and at least one ran to a verdict. A scenario
 * api7-ha could not finish measuring even on its re-run makes the drill "interrupted", never FAILED:
 * a verdict is never failed for a reason that is not the estate's.
 */
export function drillVerdict(scenarios: ScenarioJournal[]): Verdict {
  const failed = scenarios.filter((s) => s.status !== 'passed' && s.status !== 'refused' && s.status !== 'interrupted');
  if (failed.length) return 'failed';
  if (scenarios.some((s) => s.status === 'interrupted')) return 'interrupted';
  return scenarios.some((s) => s.status === 'passed') ? 'passed' : 'failed';
}

/** The key figures a notification carries: per scenario its status and outages, aborts, propagation. */
export function drillFigures(j: DrillJournal): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const s of j.scenarios) {
    const m = s.metrics;
    const parts = [s.status.toUpperCase()];
    if (m.probes.dp) parts.push(`DP longest outage ${m.probes.dp.longestOutageMs} ms, ${m.probes.dp.failures} failed`);
    if (m.probes.cp) parts.push(`CP longest outage ${m.probes.cp.longestOutageMs} ms`);
    if (m.recoverMs !== undefined) parts.push(`recovered in ${m.recoverMs} ms`);
    const p99 = Object.values(m.propagation ?? {}).map((g) => g.p99 ?? Infinity);
    if (p99.length) parts.push(`propagation p99 ${Math.max(...p99)} ms`);
    if (s.abort) parts.push(`aborted by ${s.abort.condition}${s.abort.firingToRollbackDoneMs !== undefined ? `, rolled back ${s.abort.firingToRollbackDoneMs} ms after firing` : ''}`);
    if (s.interruption) parts.push('re-run after an interruption');
    out[s.id] = parts.join('; ');
  }
  return out;
}

export const steadyStateAction = (name: string, s: SteadyState, healthy: string): JournalAction => ({
  kind: 'steady-state',
  name,
  startedAt: s.checkedAt,
  endedAt: s.checkedAt,
  ok: s.ok,
  detail: s.ok ? healthy : s.problems.join('; '),
});

export function drillJournal(r: Pick<Runner, 'id' | 'runId'>, input: DrillInput, startedAt: number, scenarios: ScenarioJournal[], verdict: Verdict, summary: string): DrillJournal {
  const { spec } = input;
  return {
    workflowId: r.id,
    runId: r.runId,
    cluster: spec.cluster.name,
    product: spec.product,
    kind: input.kind,
    startedAt,
    endedAt: Date.now(),
    thresholds: spec.drills.thresholds,
    probeRatePerS: spec.drills.probeRatePerS,
    scenarios,
    verdict,
    score: resilienceScore(scenarios),
    summary,
  };
}
