// A member whose host is gone for good, replaced by a new host (etcd op-guide, runtime
// reconfiguration): refused unless the remaining members have quorum; a snapshot first; `member
// remove` of the dead member, `member add` of the new one, the new member started with state
// existing and the new initial cluster; then the survivors (whose initial cluster changed) recreated
// one at a time, and the dashboards' and gateways' etcd endpoint lists rewritten and restarted one at a
// time behind the load balancer. `deploy` of an inventory where only that host changed takes the same
// membership path (replaceMembership), never a fresh bootstrap.
import type { ArtifactFacts } from '../artifacts/inspect';
import { etcdMembers, hostByName, type ClusterSpec } from '../inventory/model';
import type { ProductFacts } from '../products/types';
import { membershipInput, snapshotPlan, type MembershipInput } from '../steps/etcd-inputs';
import { artifactPaths, etcdMemberInput, imageDelivery, quorumCheckInput, tlsFiles, type EtcdMemberStep } from '../steps/inputs';
import type { MemberResult, QuorumReport } from '../reconcile/etcd';
import type { MembershipPlan } from '../reconcile/membership';
import type { PropagationResult } from '../reconcile/verify';
import type { DayTwoOps, DayTwoRunner, DayTwoStepDef } from './day2-runner';
import { refuse } from './day2-runner';
import { snapshotAndCopy, snapshotSummary, type TakenSnapshot } from './backup';
import { componentSteps, restartOneAtATime, verifyThroughLoadBalancers } from './restore';

export interface ReplaceMemberInput {
  /** The inventory with the new host in the dead one's place. */
  spec: ClusterSpec;
  product: ProductFacts;
  /** What the operator named (`--member ha3 --with ha6`): checked against what the cluster and inventory say. */
  remove?: string;
  add?: string;
}

export interface MembershipResult {
  plan: MembershipPlan;
  removed?: { name: string; peerUrl: string };
  added?: { host: string; name: string };
  joined?: MemberResult;
}

export interface ReplaceMemberResult extends MembershipResult {
  cluster: string;
  workflowId: string;
  before: TakenSnapshot;
  recreated: MemberResult[];
  quorum: QuorumReport;
  restarted: { host: string; component: 'control_plane' | 'data_plane'; ms: number }[];
  verification: PropagationResult;
}

export const REPLACE_MEMBER_STEPS = [
  { id: 'check', title: 'Compare the live member list with the inventory; refuse unless the remaining members have quorum' },
  { id: 'snapshot', title: 'Snapshot before the change (kept in the backup folder)' },
  { id: 'membership', title: 'member remove of the dead member, member add of the new one, the new member started (state existing)' },
  { id: 'survivors', title: 'The other members recreated one at a time (their initial cluster changed), quorum checked after each' },
  { id: 'control-plane', title: "Each dashboard's etcd endpoints rewritten (conf.yaml kept as .bak), restarted one at a time" },
  { id: 'data-plane', title: "Each gateway's etcd endpoints rewritten (config.yaml kept as .bak), restarted one at a time behind the load balancer" },
  { id: 'verification', title: 'A route written through the CP load balancer is served through the DP load balancer' },
] as const satisfies readonly DayTwoStepDef<ReplaceMemberInput>[];

export type ReplaceMemberStepId = (typeof REPLACE_MEMBER_STEPS)[number]['id'];

/** The change in one line: who goes out, who comes in, how many are healthy. */
export const membershipLine = (p: MembershipPlan) =>
  `${p.change.remove ? `${p.change.remove.name} (${p.change.remove.peerUrl}) out` : ''}${p.change.add ? `, ${p.change.add.host} in as ${p.change.add.name}` : ''}${p.pendingStart ? `, ${p.pendingStart.host} to start` : ''}; ${p.healthy} of ${p.live.length} healthy`;

/** Why a plan cannot go ahead, or undefined. */
export function membershipRefusal(plan: MembershipPlan, hints: { remove?: string; add?: string } = {}): string | undefined {
  if (!plan.exists) return `refused: ${plan.problems.join('; ')}`;
  if (plan.problems.length) return `refused: ${plan.problems.join('; ')}`;
  const { remove, add } = plan.change;
  if (!remove && !add && !plan.pendingStart) return 'nothing to replace: the live member list matches the inventory';
  if (hints.add && add && add.host !== hints.add) return `refused: the inventory's new member is ${add.host}, not ${hints.add}`;
  if (hints.add && !add && plan.pendingStart?.host !== hints.add && !remove) return `refused: ${hints.add} is already a member, or not an etcd host in the inventory`;
  if (hints.remove && remove && remove.name !== hints.remove && !remove.peerUrl.includes(`//${hints.remove}:`))
    return `refused: the member the inventory no longer has is ${remove.name} (${remove.peerUrl}), not ${hints.remove}`;
  if (!plan.quorum) return `refused: the remaining members have no quorum (${plan.healthy} of ${plan.live.length} healthy): a member cannot be replaced; restore from a snapshot instead (api7-ha restore)`;
  return undefined;
}

/**
 * The membership change itself, idempotent step by step (each re-reads the live list). `memberStep`
 * gives the etcd member step of a host (the deploy has them already; a replace-member run builds them).
 */
export async function replaceMembership(
  s: Pick<DayTwoOps, 'removeEtcdMember' | 'addEtcdMember' | 'ensureEtcdMember' | 'checkQuorum'>,
  mi: MembershipInput,
  memberStepOf: (host: string) => EtcdMemberStep,
  plan: MembershipPlan,
  stamp: string,
): Promise<MembershipResult> {
  const out: MembershipResult = { plan };
  if (plan.change.remove) {
    await s.removeEtcdMember(mi, plan.change.remove);
    out.removed = { name: plan.change.remove.name, peerUrl: plan.change.remove.peerUrl };
  }
  const joining = plan.change.add ?? plan.pendingStart;
  if (plan.change.add) {
    await s.addEtcdMember(mi, plan.change.add);
  }
  if (joining) {
    out.added = { host: joining.host, name: joining.name };
    out.joined = await s.ensureEtcdMember({ ...memberStepOf(joining.host), joining: true }, stamp);
  }
  await s.checkQuorum({ ...mi.quorum, deadlineS: 120 });
  return out;
}

export function memberStep(spec: ClusterSpec, hostName: string, artifacts: ArtifactFacts, joining = false): EtcdMemberStep {
  const h = hostByName(spec, hostName);
  const tls = tlsFiles(spec, true);
  return { target: h.ssh, secrets: spec.secrets, member: etcdMemberInput(spec, h), image: imageDelivery(spec, spec.packages.etcdImage, artifacts.etcdImage), ...(tls ? { tlsFiles: tls } : {}), ...(joining ? { joining: true } : {}) };
}

export async function replaceMember(r: DayTwoRunner<ReplaceMemberStepId>, input: ReplaceMemberInput): Promise<ReplaceMemberResult> {
  const { spec } = input;
  const plan = await r.step(
    'check',
    async (s) => {
      const p = await s.etcdMembershipPlan(membershipInput(spec));
      const why = membershipRefusal(p, { ...(input.remove ? { remove: input.remove } : {}), ...(input.add ? { add: input.add } : {}) });
      if (why) refuse(r, why, 'MembershipRefused');
      return p;
    },
    membershipLine,
  );
  const before = await r.step('snapshot', (s) => snapshotAndCopy(s, snapshotPlan(spec), { stamp: r.stamp, workflowId: r.id, reason: 'before-replace' }), snapshotSummary);
  const artifacts = await r.inspectArtifacts(artifactPaths(spec));
  // Not cancellable: a member removed and its replacement never added would leave two members.
  const change = await r.step('membership', (s) => s.critical(() => replaceMembership(s, membershipInput(spec), (h) => memberStep(spec, h, artifacts), plan, r.stamp)), (m) => `${m.removed?.name ?? '-'} removed, ${m.added?.host ?? '-'} joined`);
  const recreated = await r.step(
    'survivors',
    async (s) => {
      const out: MemberResult[] = [];
      for (const h of etcdMembers(spec).filter((x) => x.name !== change.added?.host)) {
        r.stopIfCancelled('replace-member cancelled between member recreations');
        const step = memberStep(spec, h.name, artifacts);
        const first = await s.ensureEtcdMember(step, r.stamp);
        out.push(first.action === 'needs-recreate' ? await s.critical(() => s.recreateEtcdMember(step, r.stamp)) : first);
        await s.checkQuorum(quorumCheckInput(spec, 120));
      }
      return out;
    },
    (x) => x.map((m) => `${m.member}: ${m.action}`).join(', '),
  );
  const quorum = await r.checkQuorum(quorumCheckInput(spec, 60));
  const comps = await componentSteps(r, spec, r.stamp);
  const restarted = [
    ...(await r.step('control-plane', (s) => restartOneAtATime(s, comps.controlPlane), (x) => `${x.length} restarted`)),
    ...(await r.step('data-plane', (s) => restartOneAtATime(s, comps.dataPlane), (x) => `${x.length} restarted`)),
  ];
  const verification = await r.step('verification', (s) => verifyThroughLoadBalancers(s, spec, input.product, `replace-${r.runId.slice(0, 8)}`), (v) => `served ${v.propagationMs} ms after the write`);
  return { cluster: spec.cluster.name, workflowId: r.id, ...change, before, recreated, quorum, restarted, verification };
}
