// The drill journal (as in Chaos Toolkit): what was hypothesised, what was done, what the probes saw,
// what was rolled back, and the verdict. A drill returns it; the report is rendered from it alone.
// Pure types and helpers: workflows build it.

import type { ScenarioId } from '../inventory/vocabulary';

export type { ScenarioId } from '../inventory/vocabulary';

export type ProbeName = 'dp' | 'cp' | 'victim';

/** One request: [ms since the series started, HTTP status (0 = no answer), latency ms]. */
/** A probe's answer: when it was sent (ms from the start), its status, its latency, and which build answered (its Server header's version), if it said. */
export type Sample = [t: number, status: number, ms: number, version?: string];

export interface ProbeSeries {
  name: ProbeName;
  /** What it probes, e.g. "GET http://lb/get Host: test.com". */
  target: string;
  /** Epoch ms of sample t = 0 (the worker's clock, the same clock as the actions). */
  startedAt: number;
  ratePerS: number;
  /** Statuses counted as success. */
  okStatus: number[];
  samples: Sample[];
  /**
   * Windows (ms since startedAt) in which nothing was measured: no worker ran the probes (a worker
   * restart or crash). Outages are never counted across them, and the report hatches them.
   */
  gaps?: Gap[];
}

/** A stretch of a series in which nothing was measured, [from, to] in ms since the series started. */
export interface Gap {
  from: number;
  to: number;
}

/**
 * How long each gateway took to serve a new version of the canary route written through the control
 * plane load balancer. Samples: [ms since startedAt of the write's acknowledgement, 200 when the gateway
 * served that version (or a later one) / 0 when it had not after the stale limit, ms from the
 * acknowledgement to the first answer that served it].
 */
export interface PropagationSeries {
  gateway: string;
  target: string;
  startedAt: number;
  samples: Sample[];
  /** Writes of the canary route the control plane refused or did not answer (no version to wait for). */
  writeFailures: number;
  gaps?: Gap[];
}

export interface JournalAction {
  kind: 'steady-state' | 'fault' | 'action' | 'check' | 'rollback' | 'recovery';
  name: string;
  host?: string;
  /** Epoch ms (worker clock). */
  startedAt: number;
  endedAt: number;
  ok: boolean;
  detail: string;
}

export interface LatencyStats {
  p50?: number;
  p99?: number;
  count: number;
}

export interface ProbeMetrics {
  requests: number;
  failures: number;
  /** Longest run of failed requests, from the first failure to the next success (ms). */
  longestOutageMs: number;
  failuresDuringFault: number;
  achievedRatePerS: number;
  latency: { before: LatencyStats; during: LatencyStats; after: LatencyStats };
}

export interface ScenarioMetrics {
  probes: Partial<Record<ProbeName, ProbeMetrics>>;
  /** From the injection to the first sign of the fault (victim probe down, or a client failure). */
  detectMs?: number;
  /** From the start of the rollback to the victim healthy and back in rotation. */
  recoverMs?: number;
  /** etcd scenarios: from the injection until control plane writes succeed again (0 if they never failed). */
  cpWriteRecoveryMs?: number;
  /** Per gateway: how long configuration changes took to reach it (ms), and whether it stopped receiving them. */
  propagation?: Record<string, PropagationMetrics>;
}

export interface PropagationMetrics {
  /** Versions it served. */
  count: number;
  p50?: number;
  p99?: number;
  maxMs?: number;
  /** Versions it had still not served after the stale limit: it stopped receiving changes. */
  stale: number;
}

export interface HypothesisResult {
  id: string;
  text: string;
  ok: boolean;
  observed: string;
  threshold?: string;
}

export interface Victim {
  host: string;
  role: 'data_plane' | 'control_plane' | 'etcd' | 'host';
  detail?: string;
}

/**
 * passed/failed: the hypotheses' verdict. aborted: a stop condition fired while the fault held and the
 * fault was rolled back at once (the drill fails). interrupted: api7-ha itself stopped measuring (a
 * worker restart), so nothing can be said about the estate; the scenario is run again.
 */
export type ScenarioStatus = 'passed' | 'failed' | 'refused' | 'error' | 'cancelled' | 'aborted' | 'interrupted';

/** A stop condition that fired while a fault held. */
export interface StopFired {
  /** Which condition: "dp-budget", "peer-unhealthy", "etcd-quorum", or the inventory's name. */
  condition: string;
  kind: 'budget' | 'peers' | 'etcd-quorum' | 'http' | 'prometheus';
  detail: string;
  /** Epoch ms (worker clock) at which the condition was seen. */
  firedAt: number;
}

export interface Abort extends StopFired {
  /** When the rollback (and the recovery wait) finished, epoch ms. */
  rollbackDoneAt?: number;
  /** From firing to the start of the rollback (the target is under 1 s). */
  firingToRollbackStartMs?: number;
  /** From firing to the rollback done (the rollback itself included). */
  firingToRollbackDoneMs?: number;
}

/** What the stop conditions did while a fault held: polled how often, and their last problem. */
export interface StopConditionRecord {
  condition: string;
  kind: StopFired['kind'];
  checks: number;
  fired: boolean;
  /** The last time it could not be evaluated (a Prometheus that did not answer): not a firing. */
  lastError?: string;
}

/** A scenario run that api7-ha could not finish measuring, kept in the journal of its re-run. */
export interface Interruption {
  reason: string;
  /** The attempt as far as it was measured (its own probes, gaps included). */
  attempt: Omit<ScenarioJournal, 'interruption'>;
}

export interface ScenarioJournal {
  id: ScenarioId;
  title: string;
  victim?: Victim;
  status: ScenarioStatus;
  actions: JournalAction[];
  /** Injection start to rollback end (epoch ms). */
  faultWindow?: { start: number; end: number };
  probes: ProbeSeries[];
  metrics: ScenarioMetrics;
  hypotheses: HypothesisResult[];
  error?: string;
  /** Configuration propagation measured per gateway (config-propagation, and during etcd faults). */
  propagation?: PropagationSeries[];
  /** Set when a stop condition aborted the fault. */
  abort?: Abort;
  stopConditions?: StopConditionRecord[];
  /** The earlier attempt of this scenario that a worker restart interrupted (this one is its re-run). */
  interruption?: Interruption;
}

export interface DrillThresholds {
  dpMaxOutageMs: number;
  cpMaxOutageMs: number;
  etcdCpWriteRecoveryMs: number;
  etcdDpMaxFailures: number;
  recoveryDeadlineS: number;
  /** config-propagation: each gateway's p99 from a write acknowledged to it served. */
  propagationP99Ms?: number;
  /** A gateway that has not served a version this long after it was written has stopped receiving changes. */
  propagationStaleMs?: number;
}

/** interrupted: api7-ha could not finish measuring (never a statement about the estate). */
export type Verdict = 'passed' | 'failed' | 'refused' | 'cancelled' | 'interrupted';

/** One notification the run sent (or could not): the journal keeps them, never the webhook's URL. */
export interface NotificationRecord {
  event: string;
  webhook: string;
  ok: boolean;
  at: number;
  error?: string;
}

export interface DrillJournal {
  workflowId: string;
  runId: string;
  cluster: string;
  product: string;
  /** A scheduled or manual drill, or the deploy's failover verification. */
  kind: 'drill' | 'deploy-failover';
  startedAt: number;
  endedAt: number;
  thresholds: DrillThresholds;
  probeRatePerS: number;
  scenarios: ScenarioJournal[];
  verdict: Verdict;
  /** 0-100: the share of hypotheses that held, over every scenario that ran. */
  score: number;
  summary: string;
  notifications?: NotificationRecord[];
}

/** Key figures per scenario, small enough for the workflow memo (drill lists read them). */
export interface DrillMemo {
  verdict: Verdict;
  score: number;
  scenarios: {
    id: ScenarioId;
    status: ScenarioStatus;
    victim?: string;
    dpOutageMs?: number;
    cpOutageMs?: number;
    recoverMs?: number;
    /** The stop condition that aborted it. */
    abortedBy?: string;
    /** The slowest gateway's propagation p99 (ms). */
    propagationP99Ms?: number;
    /** Fault window (epoch ms), for dashboards' annotations and the report's history strip. */
    fault?: [number, number];
    interrupted?: boolean;
  }[];
}

export function memoOf(j: DrillJournal): DrillMemo {
  return {
    verdict: j.verdict,
    score: j.score,
    scenarios: j.scenarios.map((s) => ({
      id: s.id,
      status: s.status,
      ...(s.victim ? { victim: s.victim.host } : {}),
      ...(s.metrics.probes.dp ? { dpOutageMs: s.metrics.probes.dp.longestOutageMs } : {}),
      ...(s.metrics.probes.cp ? { cpOutageMs: s.metrics.probes.cp.longestOutageMs } : {}),
      ...(s.metrics.recoverMs !== undefined ? { recoverMs: s.metrics.recoverMs } : {}),
      ...(s.abort ? { abortedBy: s.abort.condition } : {}),
      ...(worstPropagationP99(s) !== undefined ? { propagationP99Ms: worstPropagationP99(s) } : {}),
      ...(s.faultWindow ? { fault: [s.faultWindow.start, s.faultWindow.end] as [number, number] } : {}),
      ...(s.interruption ? { interrupted: true } : {}),
    })),
  };
}

/** The slowest gateway's propagation p99 in a scenario, if it measured propagation. */
export function worstPropagationP99(s: Pick<ScenarioJournal, 'metrics'>): number | undefined {
  const p = Object.values(s.metrics.propagation ?? {}).map((m) => m.p99).filter((x): x is number => x !== undefined);
  return p.length ? Math.max(...p) : undefined;
}
