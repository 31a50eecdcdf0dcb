// The drill's bookkeeping, apart from its order: journal lines, the verdict, summaries. Pure mapping.
import type { SteadyState } from '../drills/faults';
import type { DrillJournal, JournalAction, ScenarioJournal, Verdict } from '../drills/journal';
import { resilienceScore } from '../drills/metrics';
import type { Runner } from './runner';
import type { DrillInput } from './types';

export const scenarioSummary = (j: ScenarioJournal) => `${j.status}${j.victim ? ` (${j.victim.host})` : ''}`;

export const drillSummary = (scenarios: ScenarioJournal[]) => scenarios.map((s) => `${s.id}: ${scenarioSummary(s)}`).join(', ');

/** Passed when no scenario failed or errored and at least one ran to a verdict. */
export function drillVerdict(scenarios: ScenarioJournal[]): Verdict {
  const failed = scenarios.filter((s) => s.status !== 'passed' && s.status !== 'refused');
  return failed.length === 0 && scenarios.some((s) => s.status === 'passed') ? 'passed' : 'failed';
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
