// Upkeep of a running cluster (etcd op-guide, maintenance): defragmentation one member at a time,
// followers first and the leader last (after handing leadership over: a defrag blocks the member it
// runs on), compaction to the current revision, and disarming a NOSPACE alarm once space is back.
import * as maint from '../commands/etcd-maintenance';
import type { SshTarget } from '../inventory/model';
import type { MaintenanceInput } from '../steps/etcd-inputs';
import type { HostExecutor } from '../remote/executor';
import { PermanentError } from './context';
import { parseJsonBigInts, readQuorum, type QuorumMember, type QuorumReport } from './etcd';

interface StatusJson {
  Endpoint: string;
  Status: { header: { member_id: string; revision: string | number }; leader?: string; dbSize?: number; dbSizeInUse?: number };
}

/** Members in the order a defrag takes them: followers (inventory order), then the leader. */
export function defragOrder(report: Pick<QuorumReport, 'members'>): QuorumMember[] {
  return [...report.members.filter((m) => !m.isLeader), ...report.members.filter((m) => m.isLeader)];
}

/** The endpoint without its scheme, as etcdctl's --endpoints builder takes it. */
const hostPort = (url: string) => url.replace(/^https?:\/\//, '');

async function onAnyMember<T>(execFor: (t: SshTarget) => HostExecutor, input: MaintenanceInput, fn: (x: HostExecutor, containerName: string) => Promise<T>): Promise<T> {
  const errors: string[] = [];
  for (const via of input.via) {
    try {
      return await fn(execFor(via.target), via.containerName);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new Error(`no etcd member answered: ${errors.join('; ')}`);
}

export async function memberStatus(execFor: (t: SshTarget) => HostExecutor, input: MaintenanceInput, endpoint: string): Promise<{ dbSize: number; dbSizeInUse: number; revision: string; leader: string }> {
  return onAnyMember(execFor, input, async (x, containerName) => {
    const out = await x.run(maint.endpointStatusOf({ ...input.etcdctl, containerName }, [hostPort(endpoint)]));
    const st = parseJsonBigInts<StatusJson[]>(out.stdout.trim() || '[]')[0];
    if (!st) throw new Error(`${endpoint} did not answer endpoint status: ${out.stderr.trim().slice(0, 200)}`);
    return { dbSize: st.Status.dbSize ?? 0, dbSizeInUse: st.Status.dbSizeInUse ?? 0, revision: String(st.Status.header.revision), leader: String(st.Status.leader ?? '0') };
  });
}

export interface DefragResult {
  member: string;
  endpoint: string;
  wasLeader: boolean;
  before: { dbSize: number; dbSizeInUse: number };
  after: { dbSize: number; dbSizeInUse: number };
  ms: number;
}

/** Defragment one member and report its backend before and after. */
export async function defragMember(execFor: (t: SshTarget) => HostExecutor, input: MaintenanceInput, member: Pick<QuorumMember, 'name' | 'endpoint' | 'isLeader'>): Promise<DefragResult> {
  if (!member.endpoint) throw new PermanentError(`member ${member.name} has no client URL: it has not started`);
  const before = await memberStatus(execFor, input, member.endpoint);
  const t0 = Date.now();
  await onAnyMember(execFor, input, (x, containerName) => x.run(maint.defrag({ ...input.etcdctl, containerName }, hostPort(member.endpoint!))));
  const ms = Date.now() - t0;
  const after = await memberStatus(execFor, input, member.endpoint);
  return { member: member.name, endpoint: member.endpoint, wasLeader: member.isLeader, before: { dbSize: before.dbSize, dbSizeInUse: before.dbSizeInUse }, after: { dbSize: after.dbSize, dbSizeInUse: after.dbSizeInUse }, ms };
}

/** Hand leadership to `to` (a healthy follower) before the leader is defragmented or stopped. */
export async function moveLeaderTo(execFor: (t: SshTarget) => HostExecutor, input: MaintenanceInput, to: Pick<QuorumMember, 'id' | 'name'>): Promise<{ from?: string; to: string; moved: boolean }> {
  const q = await readQuorum(execFor, input.quorum);
  if (q.leader === to.id) return { to: to.name, moved: false };
  await onAnyMember(execFor, input, (x, containerName) => x.run(maint.moveLeader({ ...input.etcdctl, containerName }, to.id, to.name)));
  return { ...(q.leaderName ? { from: q.leaderName } : {}), to: to.name, moved: true };
}

/** Compact the history up to the current revision (what a NOSPACE recovery frees first). */
export async function compactToCurrent(execFor: (t: SshTarget) => HostExecutor, input: MaintenanceInput): Promise<{ revision: string }> {
  const q = await readQuorum(execFor, input.quorum);
  if (!q.revision) throw new Error('no member reported its revision');
  await onAnyMember(execFor, input, async (x, containerName) => {
    const res = await x.run({ ...maint.compact({ ...input.etcdctl, containerName }, q.revision!), okExit: [0, 1] });
    // Compacted already (a retry, or auto compaction got there first): that is the goal.
    if (res.code !== 0 && !/required revision has been compacted|compacted/.test(res.stderr)) throw new Error(`etcd compaction ${q.revision}: ${res.stderr.trim().slice(0, 300)}`);
  });
  return { revision: q.revision };
}

/** Disarm every alarm, then read the list back: empty, or what is still raised. */
export async function disarmAlarms(execFor: (t: SshTarget) => HostExecutor, input: MaintenanceInput): Promise<{ disarmed: string[]; remaining: string[] }> {
  const before = (await readQuorum(execFor, input.quorum)).alarms ?? [];
  if (before.length) await onAnyMember(execFor, input, (x, containerName) => x.run(maint.alarmDisarm({ ...input.etcdctl, containerName })));
  const after = (await readQuorum(execFor, input.quorum)).alarms ?? [];
  return { disarmed: before.map((a) => `${a.alarm} (member ${a.memberId})`), remaining: after.map((a) => `${a.alarm} (member ${a.memberId})`) };
}
