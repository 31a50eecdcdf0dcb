// The drill journal (as in Chaos Toolkit): what was hypothesised, what was done, what the probes saw,
// what was rolled back, and the verdict. A drill returns it; the report is rendered from it alone.
// Pure types and helpers: workflows build it.

export type ScenarioId =
  | 'dp-node-loss'
  | 'cp-node-loss'
  | 'etcd-member-loss'
  | 'etcd-leader-loss'
  | 'gateway-restart-during-etcd-degradation'
  | 'host-loss'
  | 'etcd-partition';

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

export type ScenarioStatus = 'passed' | 'failed' | 'refused' | 'error' | 'cancelled';

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
}

export interface DrillThresholds {
  dpMaxOutageMs: number;
  cpMaxOutageMs: number;
  etcdCpWriteRecoveryMs: number;
  etcdDpMaxFailures: number;
  recoveryDeadlineS: number;
}

export type Verdict = 'passed' | 'failed' | 'refused' | 'cancelled';

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
}

/** Key figures per scenario, small enough for the workflow memo (drill lists read them). */
export interface DrillMemo {
  verdict: Verdict;
  score: number;
  scenarios: { id: ScenarioId; status: ScenarioStatus; victim?: string; dpOutageMs?: number; cpOutageMs?: number; recoverMs?: number }[];
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
    })),
  };
}
