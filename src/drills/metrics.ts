// Metrics from probe samples and the hypotheses' verdicts. Pure and deterministic: the workflow
// computes them, tests pin them, the report only reads them.
import type { DrillThresholds, HypothesisResult, JournalAction, LatencyStats, ProbeMetrics, ProbeSeries, Sample, ScenarioJournal, ScenarioMetrics } from './journal';
import type { DuringAction, HypothesisSpec, Scenario } from './scenarios';

export interface Window {
  start: number;
  end: number;
}

const isOk = (s: ProbeSeries, status: number) => s.okStatus.includes(status);

export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i]! * 10) / 10;
}

function latency(samples: [number, number, number][], s: ProbeSeries): LatencyStats {
  const ok = samples.filter(([, st]) => isOk(s, st)).map(([, , ms]) => ms).sort((a, b) => a - b);
  const p50 = percentile(ok, 50);
  const p99 = percentile(ok, 99);
  return { count: ok.length, ...(p50 !== undefined ? { p50 } : {}), ...(p99 !== undefined ? { p99 } : {}) };
}

/**
 * Longest outage: a run of failed requests, measured from the send time of its first failure to the
 * send time of the next success; a run still failing at the end of the series lasts to the last
 * sample (+1 ms, so it never reads 0). One failed request alone counts as the gap to the next
 * success, so a single blip at 20 req/s reads ~50 ms. The journal and the report's charts both use
 * this one definition (samples in send order), so they cannot disagree.
 */
export function longestOutage(samples: readonly Sample[], isOk: (status: number) => boolean): { ms: number; from?: number } {
  let best: { ms: number; from?: number } = { ms: 0 };
  let start: number | undefined;
  for (const [t, status] of samples) {
    if (!isOk(status)) start ??= t;
    else if (start !== undefined) {
      if (t - start > best.ms) best = { ms: t - start, from: start };
      start = undefined;
    }
  }
  const last = samples[samples.length - 1];
  if (start !== undefined && last && last[0] - start + 1 > best.ms) best = { ms: last[0] - start + 1, from: start };
  return best;
}

export const longestOutageMs = (s: ProbeSeries): number => longestOutage(s.samples, (st) => isOk(s, st)).ms;

export function probeMetrics(s: ProbeSeries, fault: Window | undefined): ProbeMetrics {
  const abs = (t: number) => s.startedAt + t;
  const before = fault ? s.samples.filter(([t]) => abs(t) < fault.start) : s.samples;
  const during = fault ? s.samples.filter(([t]) => abs(t) >= fault.start && abs(t) <= fault.end) : [];
  const after = fault ? s.samples.filter(([t]) => abs(t) > fault.end) : [];
  const span = s.samples.length > 1 ? (s.samples[s.samples.length - 1]![0] - s.samples[0]![0]) / 1000 : 0;
  return {
    requests: s.samples.length,
    failures: s.samples.filter(([, st]) => !isOk(s, st)).length,
    longestOutageMs: longestOutageMs(s),
    failuresDuringFault: during.filter(([, st]) => !isOk(s, st)).length,
    achievedRatePerS: span > 0 ? Math.round(((s.samples.length - 1) / span) * 10) / 10 : 0,
    latency: { before: latency(before, s), during: latency(during, s), after: latency(after, s) },
  };
}

/** First failure at or after `from` (epoch ms), as an offset from `from`. */
function firstFailureAfter(s: ProbeSeries, from: number): number | undefined {
  const hit = s.samples.find(([t, st]) => s.startedAt + t >= from && !isOk(s, st));
  return hit ? s.startedAt + hit[0] - from : undefined;
}

/** The control plane's first success after its last failure inside the fault window, from the injection. */
export function writeRecoveryMs(s: ProbeSeries, fault: Window): number {
  const inWindow = s.samples.filter(([t]) => s.startedAt + t >= fault.start && s.startedAt + t <= fault.end);
  let lastFailure: number | undefined;
  for (const [t, st] of inWindow) if (!isOk(s, st)) lastFailure = t;
  if (lastFailure === undefined) return 0;
  const next = s.samples.find(([t, st]) => t > lastFailure! && isOk(s, st));
  return next ? s.startedAt + next[0] - fault.start : fault.end - fault.start;
}

export function scenarioMetrics(probes: ProbeSeries[], actions: JournalAction[], fault: Window | undefined): ScenarioMetrics {
  const metrics: ScenarioMetrics = { probes: {} };
  for (const p of probes) metrics.probes[p.name] = probeMetrics(p, fault);
  if (fault) {
    const candidates = probes.map((p) => firstFailureAfter(p, fault.start)).filter((x): x is number => x !== undefined);
    if (candidates.length) metrics.detectMs = Math.min(...candidates);
    const cp = probes.find((p) => p.name === 'cp');
    if (cp) metrics.cpWriteRecoveryMs = writeRecoveryMs(cp, fault);
  }
  const rollback = actions.find((a) => a.kind === 'rollback');
  const recovered = actions.find((a) => a.kind === 'recovery' && a.ok);
  if (rollback && recovered) metrics.recoverMs = recovered.endedAt - rollback.startedAt;
  return metrics;
}

function judge(spec: HypothesisSpec, m: ScenarioMetrics, actions: JournalAction[], t: DrillThresholds): HypothesisResult {
  const limit = spec.threshold !== undefined ? t[spec.threshold] : undefined;
  const base = { id: spec.id, text: spec.text };
  const within = (observed: number | undefined, unit: string): HypothesisResult =>
    observed === undefined
      ? { ...base, ok: false, observed: 'not measured', ...(limit !== undefined ? { threshold: `<= ${limit}${unit}` } : {}) }
      : { ...base, ok: limit === undefined || observed <= limit, observed: `${observed}${unit}`, ...(limit !== undefined ? { threshold: `<= ${limit}${unit}` } : {}) };
  switch (spec.metric) {
    case 'dp.longestOutageMs':
      return within(m.probes.dp?.longestOutageMs, ' ms');
    case 'cp.longestOutageMs':
      return within(m.probes.cp?.longestOutageMs, ' ms');
    case 'dp.failuresDuringFault':
      return within(m.probes.dp?.failuresDuringFault, ' failed requests');
    case 'cpWriteRecoveryMs':
      return within(m.cpWriteRecoveryMs, ' ms');
    case 'recovered': {
      const r = actions.find((a) => a.kind === 'recovery');
      return { ...base, ok: r?.ok ?? false, observed: r ? r.detail : 'no recovery recorded' };
    }
    case 'action': {
      const a = actions.find((x) => x.kind === 'action' && x.name === (spec.action as DuringAction));
      return { ...base, ok: a?.ok ?? false, observed: a ? a.detail : 'the action did not run' };
    }
  }
}

/** Every scenario also holds this: after the rollback, the victim is healthy and back in rotation in time. */
export const RECOVERS: HypothesisSpec = { id: 'recovers', text: 'After the rollback the victim is healthy and back in rotation within the recovery deadline', metric: 'recovered' };

export function judgeHypotheses(s: Scenario, m: ScenarioMetrics, actions: JournalAction[], t: DrillThresholds): HypothesisResult[] {
  const specs = s.hypotheses.some((h) => h.metric === 'recovered') ? s.hypotheses : [...s.hypotheses, RECOVERS];
  return specs.map((h) => judge(h, m, actions, t));
}

/** The resilience score: the share of hypotheses that held, over every scenario that ran (0-100). */
export function resilienceScore(scenarios: Pick<ScenarioJournal, 'hypotheses' | 'status'>[]): number {
  const ran = scenarios.filter((s) => s.status !== 'refused');
  const all = ran.flatMap((s) => s.hypotheses);
  const failedWithout = ran.filter((s) => s.hypotheses.length === 0 && s.status !== 'passed').length;
  const total = all.length + failedWithout;
  if (total === 0) return 0;
  return Math.round((all.filter((h) => h.ok).length / total) * 1000) / 10;
}
