// `deploy --plan`: the deploy's own reconcile functions, in the workflow's order, over executors that
// run read-only probes and record every command, file and upload that would change a host.
// `--offline` (and the planning benchmark) simulates fresh hosts instead: no SSH at all.
import type { ArtifactFacts } from '../artifacts/inspect';
import type { ComposeVariant } from '../commands/compose';
import { controlPlaneHosts, dataPlaneHosts, etcdMembers, loadBalancerHosts, type ClusterSpec, type HostSpec } from '../inventory/model';
import type { ProductFacts } from '../products/types';
import * as component from '../reconcile/component';
import type { StepContext } from '../reconcile/context';
import * as etcd from '../reconcile/etcd';
import { ensureLoadBalancer } from '../reconcile/loadbalancer';
import { preflightHost, type Problem } from '../reconcile/preflight';
import { HostExecutor, type PlannedAction } from '../remote/executor';
import type { SshPool } from '../remote/ssh';
import { clockProblemsOf } from '../workflows/preflight-table';
import {
  componentStep,
  endpointsOf,
  etcdMemberInput,
  imageDelivery,
  loadBalancerInput,
  packageStep,
  preflightInput,
  quorumCheckInput,
  tlsFiles,
  type Component,
  type EtcdMemberStep,
} from './inputs';

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
  changes: number;
  unreachable: string[];
}

export interface PlanOptions {
  mode: 'plan' | 'simulate';
  pool?: SshPool;
  fixFirewall?: boolean;
  artifacts: ArtifactFacts;
  stamp?: string;
}

const noHooks = (exec: HostExecutor): StepContext => ({ exec, heartbeat: () => undefined, log: () => undefined });

export async function planDeployment(spec: ClusterSpec, product: ProductFacts, opts: PlanOptions): Promise<PlanReport> {
  if (opts.mode === 'plan' && !opts.pool) throw new Error('a plan with probes needs an SSH pool');
  const pool = opts.pool as SshPool;
  const stamp = opts.stamp ?? new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const executor = (h: HostSpec) => new HostExecutor(h.ssh, pool, opts.mode, spec.secrets);
  const steps: StepPlan[] = [];
  const problems: Problem[] = [];
  const unreachable = new Set<string>();
  const composeOf = new Map<string, ComposeVariant>();

  /** Plan one step on some hosts in parallel (as the workflow runs them), collecting actions and notes. */
  const step = async (name: string, title: string, hosts: HostSpec[], fn: (ctx: StepContext, h: HostSpec) => Promise<string | void>, notes: string[] = []) => {
    const plans = await Promise.all(
      hosts.map(async (h): Promise<HostPlan> => {
        if (unreachable.has(h.name)) return { host: h.name, actions: [], notes: ['unreachable: not probed'] };
        const exec = executor(h);
        try {
          const note = await fn(noHooks(exec), h);
          return { host: h.name, actions: exec.planned, notes: note ? [note] : [] };
        } catch (e) {
          return { host: h.name, actions: exec.planned, notes: [`cannot plan: ${(e as Error).message}`] };
        }
      }),
    );
    steps.push({ name, title, hosts: plans, notes });
  };

  // 1. Preflight (probes only; simulated fresh hosts have nothing to check).
  if (opts.mode === 'plan') {
    const reports = await Promise.all(spec.hosts.map((h) => preflightHost(noHooks(executor(h)), preflightInput(spec, h, product, opts.fixFirewall ?? false))));
    for (const r of reports) {
      if (!r.reachable) unreachable.add(r.host);
      if (r.facts.compose) composeOf.set(r.host, r.facts.compose);
    }
    problems.push(...reports.flatMap((r) => r.problems.filter((p) => p.severity !== 'info')), ...clockProblemsOf(reports));
  }

  // 2. etcd bootstrap, including the one-at-a-time recreation of changed members.
  const etcdImage = imageDelivery(spec, spec.packages.etcdImage, opts.artifacts.etcdImage);
  await step('etcd-bootstrap', 'etcd: data dir, image, docker run on every member', etcdMembers(spec), async (ctx, h) => {
    const tls = tlsFiles(spec, true);
    const s: EtcdMemberStep = { target: h.ssh, secrets: spec.secrets, member: etcdMemberInput(spec, h), image: etcdImage, ...(tls ? { tlsFiles: tls } : {}) };
    const r = await etcd.ensureMember(ctx, s, stamp);
    if (r.action === 'needs-recreate') {
      await etcd.recreateMember(ctx, s, stamp);
      return `would be recreated one member at a time (${r.reason})`;
    }
    return r.action === 'unchanged' ? undefined : r.action;
  });

  // 3. Quorum (read once; a plan never waits).
  const quorumNotes: string[] = [];
  if (opts.mode === 'plan') {
    const q = await etcd.readQuorum((t) => new HostExecutor(t, pool, 'plan', spec.secrets), quorumCheckInput(spec)).catch((e: Error) => ({ healthy: false, problems: [e.message] }));
    quorumNotes.push(q.healthy ? 'etcd is healthy now' : `etcd is not healthy now (${q.problems.join('; ')}); the deploy waits for quorum`);
  } else quorumNotes.push('would wait until every member is healthy with one leader and no alarm');
  steps.push({ name: 'quorum-check', title: 'etcd: health, status, alarms, member list', hosts: [], notes: quorumNotes });

  // 4-5. Control plane, then data plane: package, images, conf file, compose up.
  const rollout = (c: Component, hosts: HostSpec[], title: string) =>
    step(c === 'control_plane' ? 'control-plane' : 'data-plane', title, hosts, async (ctx, h) => {
      const pkg = c === 'control_plane' ? opts.artifacts.controlPlane : opts.artifacts.dataPlane;
      const ps = packageStep(spec, h, c, pkg);
      const cs = componentStep(spec, h, c, pkg, composeOf.get(h.name) ?? 'plugin', stamp);
      await component.uploadPackage(ctx, ps);
      await component.installPackage(ctx, ps);
      const cfg = await component.configureComponent(ctx, cs);
      await component.startComponent(ctx, cs, cfg.changed);
    });
  await rollout('control_plane', controlPlaneHosts(spec), 'Control plane: API7-Dashboard on each node');
  const dp = dataPlaneHosts(spec);
  await rollout('data_plane', dp, `Data plane: API7-Gateway on each node (batches of ${spec.dataPlane.batchSize} when changing a running estate, failure budget ${spec.dataPlane.failureBudget})`);
  steps[steps.length - 1]!.notes.push(`the probe route ${spec.verification.routeId} (Host ${spec.verification.host}, ${spec.verification.path} -> ${spec.verification.upstream}) is written through a dashboard first`);

  // 6. Load balancers.
  const endpoints = endpointsOf(spec);
  if (spec.loadBalancer.mode === 'managed' && spec.packages.haproxyImage) {
    const img = imageDelivery(spec, spec.packages.haproxyImage, opts.artifacts.haproxyImage);
    await step('load-balancers', 'Managed HAProxy in front of the dashboards and gateways', loadBalancerHosts(spec), async (ctx, h) => {
      const r = await ensureLoadBalancer(ctx, loadBalancerInput(spec, h, img, product, stamp));
      return r.action === 'unchanged' ? undefined : r.action;
    }, [`control plane: ${endpoints.controlPlane}`, `data plane: ${endpoints.dataPlane}`]);
  } else {
    steps.push({ name: 'load-balancers', title: 'External load balancers', hosts: [], notes: [`would check ${endpoints.controlPlane} and ${endpoints.dataPlane}`] });
  }

  // 7-8. Checks that write only scaffolding (removed again) or stop and restore containers.
  steps.push({
    name: 'verification',
    title: 'Verification',
    hosts: [],
    notes: [`would write a verification route through ${endpoints.controlPlane}, wait for it at ${endpoints.dataPlane}, then delete it`],
  });
  steps.push({
    name: 'failover-verification',
    title: 'Failover verification',
    hosts: [],
    notes: ['when anything changed (or with --failover always): stop and restore one gateway, one dashboard and one etcd member, checking the load balancers meanwhile'],
  });

  const changes = steps.reduce((n, s) => n + s.hosts.reduce((m, h) => m + h.actions.length, 0), 0);
  return { cluster: spec.cluster.name, mode: opts.mode, steps, problems, changes, unreachable: [...unreachable] };
}

export function renderPlan(report: PlanReport): string {
  const out: string[] = [];
  const mode = report.mode === 'simulate' ? 'offline plan (fresh hosts assumed, nothing probed)' : 'plan (read-only probes only; nothing was changed)';
  out.push(`api7-ha ${mode} for cluster ${report.cluster}`);
  if (report.problems.length) {
    out.push('', 'Preflight problems:');
    for (const p of report.problems) out.push(`  ${p.severity.toUpperCase().padEnd(5)} ${p.host}: ${p.message}${p.fix ? `\n        fix: ${p.fix}` : ''}`);
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
  out.push('', report.changes === 0 ? 'No changes: the estate matches the inventory.' : `${report.changes} change(s) on ${new Set(report.steps.flatMap((s) => s.hosts.filter((h) => h.actions.length).map((h) => h.host))).size} host(s).`);
  if (report.unreachable.length) out.push(`Unreachable (not probed): ${report.unreachable.join(', ')}`);
  return out.join('\n');
}
