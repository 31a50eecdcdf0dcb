// The deploy's bookkeeping, apart from its order: each step's one-line summary, whether anything
// changed, the failover checks as the deploy reports them, and the result it returns. Pure mapping.
import type { ArtifactFacts } from '../artifacts/inspect';
import type { DrillJournal } from '../drills/journal';
import { RUNBOOK_SCENARIOS } from '../drills/scenarios';
import type { MemberResult, QuorumReport } from '../reconcile/etcd';
import type { LoadBalancerResult } from '../reconcile/loadbalancer';
import type { PreflightReport, Problem } from '../reconcile/preflight';
import type { DeployInputs } from '../steps/inputs';
import type { ComponentRollout, DeployInput, DeployResult, DrillInput, FailoverPolicy, FailoverResult, HostRollout } from './types';

// ---- summaries (the watch tree's line for each step) ---------------------------------------------

export const packagesSummary = (a: ArtifactFacts) => `${a.controlPlane.fileName}, ${a.dataPlane.fileName}`;

export function membersSummary(m: MemberResult[]): string {
  const counts = new Map<string, number>();
  for (const r of m) counts.set(r.action, (counts.get(r.action) ?? 0) + 1);
  return [...counts].map(([a, n]) => `${n} ${a}`).join(', ');
}

export const quorumSummary = (q: QuorumReport) => `leader ${q.leaderName ?? q.leader}, term ${q.term}, ${q.members.length} members healthy`;

export const rolloutSummary = (r: ComponentRollout) => `${r.mode}: ${r.hosts.filter((h) => h.ok).length}/${r.hosts.length} healthy${r.failures ? `, ${r.failures} failed` : ''}`;

export const loadBalancersSummary = (e: DeployInputs['endpoints']) => (r: LoadBalancerResult[]) =>
  r.length ? r.map((x) => `${x.host}: ${x.action}`).join(', ') : `external: ${e.controlPlane}, ${e.dataPlane}`;

export const journalSummary = (j: DrillJournal | undefined) => (j ? j.scenarios.map((s) => `${s.id} (${s.victim?.host ?? '-'}): ${s.status}`).join(', ') : 'not run');

// ---- delivery ------------------------------------------------------------------------------------

export interface Delivered {
  delivered: number;
  /** Hosts whose package or image did not arrive: not activated, counted as failed. */
  failed: HostRollout[];
  byHost: Map<string, HostRollout>;
}

export function delivered(results: HostRollout[]): Delivered {
  return { delivered: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok), byHost: new Map(results.map((r) => [r.host, r])) };
}

export const deliverySummary = (d: Delivered) => `${d.delivered} hosts ready${d.failed.length ? `, ${d.failed.length} failed` : ''}`;

/** A host's delivery and activation as one line of the result. */
export const merge = (d: Delivered, r: HostRollout): HostRollout => ({ ...d.byHost.get(r.host), ...r, ms: (d.byHost.get(r.host)?.ms ?? 0) + (r.ms ?? 0) });

// ---- did anything change, and the failover checks ------------------------------------------------

export function changedAnything(members: MemberResult[], cp: ComponentRollout, dp: ComponentRollout, lbs: LoadBalancerResult[]): boolean {
  return (
    members.some((m) => m.action !== 'unchanged') ||
    [...cp.hosts, ...dp.hosts].some((h) => h.uploaded || (h.imagesLoaded ?? 0) > 0 || h.configChanged || (h.action && h.action !== 'unchanged')) ||
    lbs.some((l) => l.action !== 'unchanged' || l.configChanged)
  );
}

/** Whether and how the deploy runs its failover checks: --failover, the inventory's failover settings. */
export interface FailoverChoice {
  policy: FailoverPolicy;
  /** failover.enabled: false makes `auto` skip them. */
  enabled: boolean;
  /** The drill the deploy runs as its last step: the runbook's three checks, short. */
  drill: DrillInput;
}

export function failoverChoice({ spec, product, options }: DeployInput): FailoverChoice {
  // The checks' recovery deadline is the inventory's failover.recovery_deadline_s.
  const thresholds = { ...spec.drills.thresholds, recoveryDeadlineS: spec.failover.recoveryDeadlineS };
  return {
    policy: options.failover,
    enabled: spec.failover.enabled,
    drill: {
      spec: { ...spec, drills: { ...spec.drills, thresholds } },
      product,
      scenarios: RUNBOOK_SCENARIOS,
      kind: 'deploy-failover',
      lock: false,
      timing: { baselineS: 1, holdS: Math.min(3, spec.drills.holdS), afterS: 1 },
    },
  };
}

/** Why the deploy skips its failover checks, or undefined when it runs them. */
export function failoverSkipped(f: FailoverChoice, changed: boolean): string | undefined {
  if (f.policy === 'always') return undefined;
  if (f.policy === 'never') return 'disabled (--failover never)';
  if (!f.enabled) return 'disabled (failover.enabled: false in the inventory; --failover always runs them)';
  return changed ? undefined : 'nothing changed since the last verified deploy';
}

/** The runbook's checks as the deploy reports them; the child's journal has the full measurements. */
export function failoverResult(workflowId: string, j: DrillJournal): FailoverResult {
  return {
    passed: j.verdict === 'passed',
    score: j.score,
    workflowId,
    checks: j.scenarios.map((s) => ({
      name: s.id,
      ...(s.victim ? { victim: s.victim.host } : {}),
      passed: s.status === 'passed' || s.status === 'refused',
      detail: s.status === 'refused' ? `skipped: ${s.error ?? ''}` : (s.error ?? s.hypotheses.map((h) => `${h.ok ? 'ok' : 'FAILED'}: ${h.text} (${h.observed})`).join('; ')),
      restored: s.actions.some((a) => a.kind === 'rollback' && a.ok) || s.status === 'refused',
      ...(s.metrics.probes.dp ? { dpOutageMs: s.metrics.probes.dp.longestOutageMs } : {}),
      ...(s.metrics.probes.cp ? { cpOutageMs: s.metrics.probes.cp.longestOutageMs } : {}),
      ...(s.metrics.recoverMs !== undefined ? { recoveryMs: s.metrics.recoverMs } : {}),
    })),
  };
}

export const failoverFailure = (f: FailoverResult) => `failover verification failed: ${f.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`).join('; ')}`;

// ---- the result ----------------------------------------------------------------------------------

/** What the steps returned, as the deploy's result takes it (the rest is the result's own shape). */
export type DeployFacts = Omit<DeployResult, 'cluster' | 'product' | 'endpoints' | 'packages' | 'preflight' | 'etcd'> & {
  inputs: Pick<DeployInputs, 'cluster' | 'product' | 'endpoints'>;
  artifacts: ArtifactFacts;
  preflight: { reports: PreflightReport[]; problems: Problem[] };
  members: MemberResult[];
  quorum: QuorumReport;
  etcdChange?: Pick<DeployResult['etcd'], 'membership' | 'snapshotBefore'>;
};

export function deployResult(f: DeployFacts): DeployResult {
  const a = f.artifacts;
  return {
    cluster: f.inputs.cluster,
    product: f.inputs.product,
    endpoints: f.inputs.endpoints,
    packages: {
      controlPlane: { fileName: a.controlPlane.fileName, sha256: a.controlPlane.sha256 },
      dataPlane: { fileName: a.dataPlane.fileName, sha256: a.dataPlane.sha256 },
      ...(a.etcdImage ? { etcdImage: a.etcdImage } : {}),
      ...(a.haproxyImage ? { haproxyImage: a.haproxyImage } : {}),
    },
    preflight: { problems: f.preflight.problems.filter((p) => p.severity !== 'info'), hosts: f.preflight.reports.map((r) => ({ host: r.host, facts: r.facts })) },
    etcd: { members: f.members, quorum: f.quorum, ...f.etcdChange },
    controlPlane: f.controlPlane,
    dataPlane: f.dataPlane,
    loadBalancers: f.loadBalancers,
    verification: f.verification,
    ...(f.failover ? { failover: f.failover } : {}),
    changed: f.changed,
    durationsMs: f.durationsMs,
  };
}
