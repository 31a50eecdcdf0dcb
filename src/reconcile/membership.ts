// Membership of a running cluster (etcd op-guide, runtime reconfiguration): one change at a time,
// only while a majority is healthy; a dead member is removed before its replacement is added (adding
// first would make four members with two down: no quorum). Each step re-reads the live member list,
// so a retry or a resumed run continues from where the cluster is.
import * as etcd from '../commands/etcd';
import * as maint from '../commands/etcd-maintenance';
import type { SshTarget } from '../inventory/model';
import type { MembershipChange, MembershipInput } from '../steps/etcd-inputs';
import type { HostExecutor } from '../remote/executor';
import { PermanentError } from './context';
import { parseJsonBigInts, readQuorum, type QuorumReport } from './etcd';

export interface LiveMember {
  id: string;
  /** Empty for a member added but not started yet. */
  name: string;
  peerUrl: string;
  clientUrl?: string;
}

interface MemberListJson {
  members?: { ID: string; name?: string; peerURLs?: string[]; clientURLs?: string[] }[];
}

export function parseMemberList(text: string): LiveMember[] {
  return (parseJsonBigInts<MemberListJson>(text.trim() || '{}').members ?? []).map((m) => ({
    id: String(m.ID),
    name: m.name ?? '',
    peerUrl: m.peerURLs?.[0] ?? '',
    ...(m.clientURLs?.[0] ? { clientUrl: m.clientURLs[0] } : {}),
  }));
}

export interface MembershipPlan {
  /** false: no member answered (a first deploy: nothing to compare with, the cluster is bootstrapped). */
  exists: boolean;
  live: LiveMember[];
  change: MembershipChange;
  /** Added to the list but never started: it must be started (state existing) before anything else. */
  pendingStart?: { host: string; name: string; peerUrl: string };
  healthy: number;
  healthyIds: string[];
  /** A majority of the live members is healthy (changes are allowed). */
  quorum: boolean;
  leaderName?: string;
  problems: string[];
}

/**
 * Compare the live member list with the inventory by peer URL (the identity that outlives a host name:
 * ha6 may take over ha3's member name). One removal and/or one addition is a replacement; more is
 * refused with the order to do them in.
 */
export function planMembershipChange(live: LiveMember[], inventory: MembershipInput['inventory'], report: Pick<QuorumReport, 'members' | 'leaderName'>): MembershipPlan {
  const problems: string[] = [];
  const removed = live.filter((m) => !inventory.some((i) => i.peerUrl === m.peerUrl));
  const added = inventory.filter((i) => !live.some((m) => m.peerUrl === i.peerUrl));
  const unstarted = live.filter((m) => m.name === '').map((m) => inventory.find((i) => i.peerUrl === m.peerUrl)).filter((i): i is MembershipInput['inventory'][number] => i !== undefined);
  for (const m of live) {
    const inv = inventory.find((i) => i.peerUrl === m.peerUrl);
    if (inv && m.name && m.name !== inv.name)
      problems.push(`the member at ${m.peerUrl} is named ${m.name} in etcd, ${inv.name} in the inventory: set etcd_name: ${m.name} on host ${inv.host}`);
  }
  if (removed.length > 1 || added.length > 1)
    problems.push(
      `the inventory changes ${removed.length} member(s) out and ${added.length} in at once; etcd takes one membership change at a time: replace one member, deploy, then the next ` +
        `(leaving: ${removed.map((m) => m.name || m.peerUrl).join(', ') || '-'}; joining: ${added.map((a) => a.host).join(', ') || '-'})`,
    );
  const healthyIds = new Set(report.members.filter((m) => m.healthy).map((m) => m.id));
  const healthy = live.filter((m) => healthyIds.has(m.id)).length;
  const quorum = live.length > 0 && healthy > live.length / 2;
  const change: MembershipChange = {
    ...(removed[0] ? { remove: { id: removed[0].id, name: removed[0].name, peerUrl: removed[0].peerUrl } } : {}),
    ...(added[0] ? { add: { host: added[0].host, name: added[0].name, peerUrl: added[0].peerUrl } } : {}),
  };
  return {
    exists: true,
    live,
    change,
    ...(unstarted[0] ? { pendingStart: { host: unstarted[0].host, name: unstarted[0].name, peerUrl: unstarted[0].peerUrl } } : {}),
    healthy,
    healthyIds: [...healthyIds].filter((id) => live.some((m) => m.id === id)),
    quorum,
    ...(report.leaderName ? { leaderName: report.leaderName } : {}),
    problems,
  };
}

/** The first member container that answers `member list`. */
async function withMember<T>(execFor: (t: SshTarget) => HostExecutor, input: MembershipInput, fn: (x: HostExecutor, t: etcd.EtcdctlTarget) => Promise<T>): Promise<T> {
  const errors: string[] = [];
  for (const via of input.quorum.via) {
    const x = execFor(via.target);
    const t = { ...input.etcdctl, containerName: via.containerName };
    try {
      return await fn(x, t);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new Error(`no etcd member answered: ${errors.join('; ')}`);
}

export async function readMembers(execFor: (t: SshTarget) => HostExecutor, input: MembershipInput): Promise<LiveMember[]> {
  return withMember(execFor, input, async (x, t) => parseMemberList((await x.run(etcd.memberList(t))).stdout));
}

export async function readMembershipPlan(execFor: (t: SshTarget) => HostExecutor, input: MembershipInput): Promise<MembershipPlan> {
  let live: LiveMember[];
  try {
    live = await readMembers(execFor, input);
  } catch (e) {
    // No member container answers: no cluster yet (or every member is down, which the quorum check names).
    return { exists: false, live: [], change: {}, healthy: 0, healthyIds: [], quorum: false, problems: [`no etcd member answered member list: ${(e as Error).message}`] };
  }
  return planMembershipChange(live, input.inventory, await readQuorum(execFor, input.quorum));
}

/** `member remove` of a member the inventory no longer has; nothing when it is gone already. */
export async function removeMember(execFor: (t: SshTarget) => HostExecutor, input: MembershipInput, member: NonNullable<MembershipChange['remove']>): Promise<{ removed: boolean }> {
  const plan = await readMembershipPlan(execFor, input);
  if (!plan.live.some((m) => m.id === member.id)) return { removed: false };
  // After the removal the others must still be a majority of what is left, and healthy now.
  const others = plan.live.filter((m) => m.id !== member.id);
  const healthyOthers = others.filter((m) => plan.healthyIds.includes(m.id)).length;
  if (!plan.quorum || healthyOthers < Math.floor(others.length / 2) + 1)
    throw new PermanentError(`refused: removing ${member.name || member.peerUrl} needs a healthy majority of the other members (${healthyOthers} of ${others.length} healthy now)`, 'NoQuorum');
  await withMember(execFor, input, (x, t) => x.run(maint.memberRemove(t, member.id, member.name || member.peerUrl)));
  return { removed: true };
}

/** `member add` of the inventory's new member; nothing when it is listed already (added or started). */
export async function addMember(execFor: (t: SshTarget) => HostExecutor, input: MembershipInput, member: NonNullable<MembershipChange['add']>): Promise<{ added: boolean; id?: string }> {
  const plan = await readMembershipPlan(execFor, input);
  const there = plan.live.find((m) => m.peerUrl === member.peerUrl);
  if (there) return { added: false, id: there.id };
  if (plan.live.some((m) => m.name === '')) throw new PermanentError('refused: another added member has not started yet; start it (or remove it) before adding one more', 'MembershipPending');
  if (!plan.quorum) throw new PermanentError(`refused: adding ${member.name} needs a healthy majority (${plan.healthy} of ${plan.live.length} healthy now)`, 'NoQuorum');
  const out = await withMember(execFor, input, (x, t) => x.run(maint.memberAdd(t, member.name, member.peerUrl)));
  const id = parseJsonBigInts<{ member?: { ID: string } }>(out.stdout.trim() || '{}').member?.ID;
  return { added: true, ...(id ? { id: String(id) } : {}) };
}
