// `deploy --plan`: the deploy's runbook itself (src/runbook/deploy.ts), run in this process over
// executors that run read-only probes and record every command, file and upload that would change a
// host, step by step as the workflow runs them. `--offline` (and the planning benchmark) simulates
// fresh hosts instead: no SSH at all. A plan writes nothing, known_hosts included.
import type { ArtifactFacts } from '../artifacts/inspect';
import { deployWorkflowId } from '../contracts';
import type { ClusterSpec } from '../inventory/model';
import type { ProductFacts } from '../products/types';
import type { Problem } from '../reconcile/preflight';
import type { PlannedAction } from '../remote/executor';
import type { NewHostKey, SshPool } from '../remote/ssh';
import { deployRun } from '../runbook/deploy';
import type { DeployInput, FailoverPolicy } from '../runbook/types';
import { stampOf } from '../steps/inputs';
import { InProcessRunner } from './runner';

export interface HostPlan {
  host: string;
  actions: PlannedAction[];
  notes: string[];
}

export interface StepPlan {
  name: string;
  title: string;
  hosts: HostPlan[];
  notes: string[];
}

export interface PlanReport {
  cluster: string;
  mode: 'plan' | 'simulate';
  steps: StepPlan[];
  problems: Problem[];
  /** What would stop the deploy (a blocking preflight problem, a host that cannot be reached...). */
  blockers: { type: string; message: string }[];
  changes: number;
  unreachable: string[];
  /** Host keys accept-new would record on first use (a plan records none). */
  newHostKeys: NewHostKey[];
}

export interface PlanOptions {
  mode: 'plan' | 'simulate';
  pool?: SshPool;
  fixFirewall?: boolean;
  failover?: FailoverPolicy;
  /** The packages, already inspected on this machine. */
  artifacts: ArtifactFacts;
  stamp?: string;
}

export async function planDeployment(spec: ClusterSpec, product: ProductFacts, opts: PlanOptions): Promise<PlanReport> {
  if (opts.mode === 'plan' && !opts.pool) throw new Error('a plan with probes needs an SSH pool');
  const input: DeployInput = { spec, product, options: { fixFirewall: opts.fixFirewall ?? false, failover: opts.failover ?? 'auto' } };
  const deployment = deployRun(input);
  const run = new InProcessRunner({
    mode: opts.mode,
    ...(opts.pool ? { pool: opts.pool } : {}),
    steps: deployment.steps,
    id: deployWorkflowId(spec.cluster.name),
    stamp: opts.stamp ?? stampOf(new Date()),
    overrides: { inspectArtifacts: () => Promise.resolve(opts.artifacts) },
  });
  const result = await deployment.run(run.runner());
  const steps = run.steps.map((s, i): StepPlan => {
    const said = s.skipped !== undefined ? [`skipped: ${s.skipped}`] : deployment.steps[i]!.plan;
    return { name: s.id, title: s.title, hosts: [...s.hosts.values()], notes: [...said, ...s.notes] };
  });
  const order = (host: string) => spec.hosts.findIndex((h) => h.name === host);
  const changes = steps.reduce((n, s) => n + s.hosts.reduce((m, h) => m + h.actions.length, 0), 0);
  return {
    cluster: spec.cluster.name,
    mode: opts.mode,
    steps,
    problems: result.preflight.problems,
    blockers: run.blockers,
    changes,
    unreachable: [...run.unreachable],
    // In inventory order, whichever host answered first (the connections open at once).
    newHostKeys: [...(opts.pool?.newHostKeys ?? [])].sort((a, b) => order(a.host) - order(b.host)),
  };
}

export function renderPlan(report: PlanReport): string {
  const out: string[] = [];
  const mode = report.mode === 'simulate' ? 'offline plan (fresh hosts assumed, nothing probed)' : 'plan (read-only probes only; nothing was changed)';
  out.push(`api7-ha ${mode} for cluster ${report.cluster}`);
  if (report.problems.length) {
    out.push('', 'Preflight problems:');
    for (const p of report.problems) out.push(`  ${p.severity.toUpperCase().padEnd(5)} ${p.host}: ${p.message}${p.fix ? `\n        fix: ${p.fix}` : ''}`);
  }
  if (report.newHostKeys.length) {
    out.push('', 'Host keys not yet in known_hosts (host_key_policy: accept-new records them on the first deploy; verify them):');
    for (const k of report.newHostKeys) out.push(`  ${k.host}: ${k.line}  (${k.fingerprint})`);
  }
  for (const s of report.steps) {
    out.push('', `== ${s.name}: ${s.title}`);
    for (const n of s.notes) out.push(`   ${n}`);
    for (const h of s.hosts) {
      if (!h.actions.length) {
        out.push(`   ${h.host}: no changes${h.notes.length ? ` (${h.notes.join('; ')})` : ''}`);
        continue;
      }
      out.push(`   ${h.host}:${h.notes.length ? ` ${h.notes.join('; ')}` : ''}`);
      for (const a of h.actions) {
        if (a.kind === 'command') out.push(`     $ ${a.detail}`);
        else if (a.kind === 'upload') out.push(`     ↑ ${a.describe} -> ${a.detail}`);
        else {
          out.push(`     ✎ ${a.detail}  (${a.describe})`);
          if (a.diff) out.push(...a.diff.split('\n').map((l) => `         ${l}`));
        }
      }
    }
  }
  const hosts = new Set(report.steps.flatMap((s) => s.hosts.filter((h) => h.actions.length).map((h) => h.host))).size;
  out.push('', report.changes === 0 ? 'No changes: the estate matches the inventory.' : `${report.changes} change(s) on ${hosts} host(s).`);
  if (report.unreachable.length) out.push(`Unreachable (not probed): ${report.unreachable.join(', ')}`);
  if (report.blockers.length) out.push(`BLOCKED: the deploy would stop: ${report.blockers.map((b) => b.message.split('\n')[0]!).join('; ')}`);
  return out.join('\n');
}
