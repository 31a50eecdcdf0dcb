// Disaster recovery (etcd op-guide, recovery): the way back after quorum loss is a snapshot restored
// on every member. Refused while the cluster has quorum (a restore rolls every change since the
// snapshot back) unless forced. What is there is kept: a snapshot of whatever member still runs, and
// every data dir moved aside. Then every member restored with a new cluster token and started at
// once, the quorum checked, the dashboards and gateways restarted one at a time so they reload
// everything from the restored etcd, and a route written through both load balancers.
import { controlPlaneHosts, dataPlaneHosts, etcdMembers, type ClusterSpec } from '../inventory/model';
import type { ProductFacts } from '../products/types';
import { restoreMemberStep, restoreToken, snapshotPlan } from '../steps/etcd-inputs';
import { apiTarget, artifactPaths, componentStep, endpointsOf, imageDelivery, probeSettings, quorumCheckInput, type ComponentStep } from '../steps/inputs';
import type { MemberResult, QuorumReport } from '../reconcile/etcd';
import type { RestoredMember } from '../reconcile/restore';
import type { PropagationResult } from '../reconcile/verify';
import type { DayTwoOps, DayTwoRunner, DayTwoStep, DayTwoStepDef } from './day2-runner';
import { refuse } from './day2-runner';
import { snapshotAndCopy, snapshotSummary, type TakenSnapshot } from './backup';

export interface RestoreInput {
  spec: ClusterSpec;
  product: ProductFacts;
  /** The snapshot on the worker's machine and its sha256 (read by the CLI). */
  snapshot: { localPath: string; fileName: string; sha256: string };
  /** Restore although the cluster has quorum (every change since the snapshot is rolled back). */
  force: boolean;
}

export interface RestoreResult {
  cluster: string;
  workflowId: string;
  snapshot: RestoreInput['snapshot'];
  clusterToken: string;
  /** The automatic snapshot of what was there before (absent: no member was running). */
  before?: TakenSnapshot;
  beforeError?: string;
  members: RestoredMember[];
  started: MemberResult[];
  quorum: QuorumReport;
  restarted: { host: string; component: 'control_plane' | 'data_plane'; ms: number }[];
  verification: PropagationResult;
  /** From the first member stopped to a healthy quorum, and to the verification route served. */
  ms: { toQuorum: number; toWrites: number; total: number };
}

export const RESTORE_STEPS = [
  { id: 'check', title: 'Refuse while the cluster has quorum (unless --force)' },
  { id: 'snapshot-before', title: 'Snapshot of whatever member still runs (kept in the backup folder)' },
  { id: 'stop-members', title: 'Stop every etcd member' },
  { id: 'restore-members', title: 'Each member: data dir moved aside (<dir>.before-restore-<time>), snapshot restore with a new cluster token' },
  { id: 'start-members', title: 'Start every member at once' },
  { id: 'quorum-check', title: 'etcd: health, status, alarms, member list' },
  { id: 'control-plane', title: 'Restart each dashboard, one at a time' },
  { id: 'data-plane', title: 'Restart each gateway, one at a time, behind the load balancer' },
  { id: 'verification', title: 'A route written through the CP load balancer is served through the DP load balancer' },
] as const satisfies readonly DayTwoStepDef<RestoreInput>[];

export type RestoreStepId = (typeof RESTORE_STEPS)[number]['id'];

/** Has the cluster quorum (a leader, a healthy majority)? Then a restore would only lose data. */
export function quorumHeld(q: QuorumReport, members: number): boolean {
  return !!q.leader && q.members.filter((m) => m.healthy).length > members / 2;
}

/** Each dashboard, then each gateway, one at a time: conf rewritten if it changed (kept as .bak), recreated, healthy. */
export async function restartOneAtATime(s: Pick<DayTwoStep, 'configureComponent' | 'startComponent' | 'waitComponentHealthy'>, steps: ComponentStep[]) {
  const out: { host: string; component: ComponentStep['component']; ms: number }[] = [];
  for (const step of steps) {
    const t0 = Date.now();
    await s.configureComponent(step);
    await s.startComponent(step, true);
    await s.waitComponentHealthy(step);
    out.push({ host: step.target.host, component: step.component, ms: Date.now() - t0 });
  }
  return out;
}

export async function componentSteps(ops: Pick<DayTwoOps, 'inspectArtifacts'>, spec: ClusterSpec, stamp: string) {
  const artifacts = await ops.inspectArtifacts(artifactPaths(spec));
  return {
    artifacts,
    controlPlane: controlPlaneHosts(spec).map((h) => componentStep(spec, h, 'control_plane', artifacts.controlPlane, 'auto', stamp)),
    dataPlane: dataPlaneHosts(spec).map((h) => componentStep(spec, h, 'data_plane', artifacts.dataPlane, 'auto', stamp)),
  };
}

export async function verifyThroughLoadBalancers(s: Pick<DayTwoStep, 'checkLoadBalancers' | 'verifyPropagation'>, spec: ClusterSpec, product: ProductFacts, nonce: string) {
  const endpoints = endpointsOf(spec);
  const probe = probeSettings(spec);
  await s.checkLoadBalancers(endpoints, { cpHealthPath: product.controlPlane.health.path, probe: { host: probe.host, path: probe.path, expectStatus: probe.expectStatus } }, 120);
  return s.verifyPropagation(apiTarget(spec, endpoints.controlPlane), endpoints, probe, nonce, spec.verification.deadlineS);
}

export async function restore(r: DayTwoRunner<RestoreStepId>, input: RestoreInput): Promise<RestoreResult> {
  const { spec } = input;
  const members = etcdMembers(spec);
  const t0 = Date.now();
  await r.step(
    'check',
    async (s) => {
      const q = await s.readEtcdQuorum(quorumCheckInput(spec, 10));
      if (quorumHeld(q, members.length) && !input.force)
        refuse(
          r,
          `refused: the cluster has quorum (leader ${q.leaderName ?? q.leader}, ${q.members.filter((m) => m.healthy).length} of ${members.length} members healthy); ` +
            'a restore would roll back every change since the snapshot. Restore is for a cluster that lost quorum or its data; use --force to restore anyway',
          'ClusterHasQuorum',
        );
      return q;
    },
    (q) => (q.healthy ? 'the cluster has quorum: forced' : `no quorum: ${q.problems[0] ?? 'members down'}`),
  );

  // What is there now, as far as any running member still has it: kept before anything changes.
  let before: TakenSnapshot | undefined;
  let beforeError: string | undefined;
  await r.step(
    'snapshot-before',
    async (s) => {
      try {
        before = await snapshotAndCopy(s, snapshotPlan(spec), { stamp: r.stamp, workflowId: r.id, reason: 'before-restore', withoutQuorum: true });
      } catch (e) {
        if (r.isCancellation(e)) throw e;
        beforeError = (e as Error).message;
      }
      return before;
    },
    (b) => (b ? snapshotSummary(b) : `none: ${beforeError ?? ''} (the data dirs are kept aside)`),
  );

  const artifacts = await r.inspectArtifacts(artifactPaths(spec));
  const image = imageDelivery(spec, spec.packages.etcdImage, artifacts.etcdImage);
  const steps = members.map((h) => restoreMemberStep(spec, h, image, input.snapshot, r.stamp));
  const tStop = Date.now();
  // Not cancellable: half the members restored and half not would be a cluster of strangers.
  await r.step('stop-members', (s) => s.critical(() => Promise.all(steps.map((st) => s.stopEtcdMember({ target: st.target, secrets: st.secrets, containerName: st.member.containerName })))), (x) => `${x.filter((m) => m.wasRunning).length} stopped`);
  const restored = await r.step('restore-members', (s) => s.critical(() => Promise.all(steps.map((st) => s.restoreEtcdMember(st)))), (x) => `${x.length} restored; old data dirs kept as ${x.find((m) => m.aside)?.aside ?? '(none)'}`);
  const started = await r.step('start-members', (s) => s.critical(() => Promise.all(steps.map((st) => s.startRestoredMember(st)))), (x) => x.map((m) => `${m.member}: ${m.action}`).join(', '));
  const quorum = await r.step('quorum-check', (s) => s.checkQuorum(quorumCheckInput(spec, 180)), (q) => `leader ${q.leaderName ?? q.leader}, ${q.members.length} members healthy`);
  const toQuorum = Date.now() - tStop;

  const comps = await componentSteps(r, spec, r.stamp);
  const restarted = [
    ...(await r.step('control-plane', (s) => restartOneAtATime(s, comps.controlPlane), (x) => `${x.length} restarted`)),
    ...(await r.step('data-plane', (s) => restartOneAtATime(s, comps.dataPlane), (x) => `${x.length} restarted`)),
  ];
  const verification = await r.step('verification', (s) => verifyThroughLoadBalancers(s, spec, input.product, `restore-${r.runId.slice(0, 8)}`), (v) => `served ${v.propagationMs} ms after the write`);
  return {
    cluster: spec.cluster.name,
    workflowId: r.id,
    snapshot: input.snapshot,
    clusterToken: restoreToken(spec, r.stamp),
    ...(before ? { before } : {}),
    ...(beforeError ? { beforeError } : {}),
    members: restored,
    started,
    quorum,
    restarted,
    verification,
    ms: { toQuorum, toWrites: Date.now() - tStop, total: Date.now() - t0 },
  };
}
