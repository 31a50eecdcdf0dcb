// The day-2 etcd operations, by name: each one reconcile function on one host or on the worker, in the
// shape of the runbook's table of operations (`on: 'host'` gets its host's executor, `on: 'worker'`
// an executor for any host). The Temporal activities, and any in-process runner, are built from it.
import type { SshTarget } from '../inventory/model';
import type { BackupStore, MaintenanceInput, MembershipChange, MembershipInput, RestoreMemberStep, SnapshotSources, SnapshotStep, VerifyInput } from '../steps/etcd-inputs';
import type { ApiTarget, ComponentStep, Endpoints, HostStep, ProbeSettings, QuorumCheckInput, Secrets } from '../steps/inputs';
import { applyRetention, recordVerification, type BackupRecord } from '../backup/store';
import { verifySnapshot } from '../reconcile/verify-backup';
import { rotateComponentTls, rotateMemberTls, readMemberCa, type TlsChange } from '../reconcile/certs';
import type { StepContext } from '../reconcile/context';
import { PermanentError, pollUntil } from '../reconcile/context';
import { readQuorum, type QuorumMember, type QuorumReport } from '../reconcile/etcd';
import { DashboardClient, http, looksLikeUpstream } from '../reconcile/http';
import { compactToCurrent, defragMember, disarmAlarms, moveLeaderTo } from '../reconcile/maintenance';
import { addMember, readMembershipPlan, removeMember } from '../reconcile/membership';
import { restoreMemberData, startRestoredMember, stopMember } from '../reconcile/restore';
import { fetchSnapshot, takeSnapshot, type SnapshotFacts } from '../reconcile/snapshot';
import { probeRoute } from '../reconcile/verify';
import type { HostExecutor } from '../remote/executor';

/** What an operation gets besides its arguments (the runbook's OpContext has at least this). */
export interface EtcdOpContext extends Omit<StepContext, 'exec'> {
  executor(target: SshTarget, secrets: Secrets): HostExecutor;
  /** apply, or a plan (read-only probes) or an offline plan (simulate: nothing probed). */
  mode?: 'apply' | 'plan' | 'simulate';
  /** A line for the plan about what this operation found or would do. */
  note?(text: string): void;
}
export type EtcdHostOpContext = EtcdOpContext & StepContext;

export interface EtcdHostOp<A extends [HostStep, ...unknown[]], R> {
  on: 'host';
  run(ctx: EtcdHostOpContext, ...args: A): Promise<R>;
}
export interface EtcdWorkerOp<A extends unknown[], R> {
  on: 'worker';
  run(ctx: EtcdOpContext, ...args: A): Promise<R>;
  /** In a plan: read-only, or a stand-in and a note (a plan refuses worker operations without one). */
  plan?(ctx: EtcdOpContext, ...args: A): Promise<R>;
}

const onHost = <A extends [HostStep, ...unknown[]], R>(run: EtcdHostOp<A, R>['run']): EtcdHostOp<A, R> => ({ on: 'host', run });
const onWorker = <A extends unknown[], R>(run: EtcdWorkerOp<A, R>['run'], plan?: NoInfer<EtcdWorkerOp<A, R>['plan']>): EtcdWorkerOp<A, R> => ({ on: 'worker', run, ...(plan ? { plan } : {}) });
const offline = (ctx: EtcdOpContext) => ctx.mode === 'simulate';
const execFor = (ctx: EtcdOpContext, secrets: Secrets) => (t: SshTarget) => ctx.executor(t, secrets);

export interface SnapshotSource {
  host: string;
  endpoint: string;
  member?: string;
  why: string;
}

/**
 * The member a snapshot is streamed from: a healthy follower (the leader has the most to do), the
 * leader when it is the only healthy one; without quorum (before a restore) any member that answers.
 */
export async function chooseSnapshotSource(execFor: (t: SshTarget) => HostExecutor, sources: SnapshotSources, opts: { withoutQuorum: boolean }): Promise<SnapshotSource> {
  const q = await readQuorum(execFor, sources.quorum);
  const byPeer = (m: QuorumMember) => sources.candidates.find((c) => c.peerUrl === m.peerUrl);
  const healthy = q.members.filter((m) => m.healthy && byPeer(m));
  const follower = healthy.find((m) => !m.isLeader);
  const pick = follower ?? healthy[0];
  if (pick) {
    const c = byPeer(pick)!;
    return { host: c.host, endpoint: c.endpoint, member: pick.name, why: pick.isLeader ? 'the leader: no follower is healthy' : 'a healthy follower (the leader is left alone)' };
  }
  if (!opts.withoutQuorum) throw new PermanentError(`no healthy etcd member to take a snapshot from: ${q.problems.join('; ')}`, 'NoHealthyMember');
  // Without quorum `endpoint health` fails everywhere, but a running member still streams its backend.
  for (const c of sources.candidates) {
    const via = sources.quorum.via.find((v) => v.target.host === c.host);
    if (!via) continue;
    const res = await execFor(via.target)
      .run({ argv: ['docker', 'inspect', '--format', '{{.State.Running}}', via.containerName], mutates: false, sudo: true, describe: `is the etcd member on ${c.host} running?`, okExit: [0, 1] })
      .catch(() => undefined);
    if (res?.stdout.trim() === 'true') return { host: c.host, endpoint: c.endpoint, why: 'a running member (the cluster has no quorum)' };
  }
  throw new PermanentError('no etcd member is running: nothing to take a snapshot from (the data dirs are kept aside by the restore)', 'NoRunningMember');
}

/** Write a route through the control plane LB and wait until the data plane LB serves it (kept: a marker). */
async function putMarkerRoute(ctx: EtcdOpContext, api: ApiTarget, endpoints: Endpoints, probe: ProbeSettings, id: string, host: string): Promise<{ writtenAt: number; servedAt: number }> {
  const client = new DashboardClient({ ...api, baseUrl: endpoints.controlPlane });
  const writtenAt = await pollUntil(ctx, `route ${id} written through ${endpoints.controlPlane}`, 60_000, 500, async () => {
    if (!client.hasToken) {
      const l = await client.login();
      if (l.status !== 200) return { done: false, reason: `login: ${l.error ?? l.status}` };
    }
    const res = await client.putRoute(id, { ...probeRoute(probe, `api7-ha marker ${id}`), host });
    return res.status === 200 || res.status === 201 ? { done: true, value: Date.now() } : { done: false, reason: `PUT: ${res.error ?? res.status}` };
  });
  const servedAt = await pollUntil(ctx, `route ${id} served through ${endpoints.dataPlane}`, 60_000, 200, async () => ((await routeServed(endpoints, probe, host)) ? { done: true, value: Date.now() } : { done: false, reason: 'not served yet' }));
  return { writtenAt, servedAt };
}

async function routeServed(endpoints: Endpoints, probe: ProbeSettings, host: string): Promise<boolean> {
  const r = await http(`${endpoints.dataPlane}${probe.path}`, { headers: { Host: host }, timeoutMs: 2000 });
  return r.status === probe.expectStatus && looksLikeUpstream(r.body);
}

/** What an offline plan assumes: no cluster yet. */
const noCluster = { exists: false, live: [], change: {}, healthy: 0, healthyIds: [], quorum: false, problems: ['offline plan: not read'] };

export const ETCD_OPERATIONS = {
  /** One read of the quorum (no waiting): refusals and plans decide from it. */
  readEtcdQuorum: onWorker(
    (ctx, input: QuorumCheckInput): Promise<QuorumReport> => readQuorum(execFor(ctx, input.secrets), input),
    (ctx, input) => (offline(ctx) ? Promise.resolve({ healthy: true, problems: [], members: [] }) : readQuorum(execFor(ctx, input.secrets), input)),
  ),
  chooseSnapshotSource: onWorker(
    (ctx, sources: SnapshotSources, opts: { withoutQuorum: boolean }) => chooseSnapshotSource(execFor(ctx, sources.quorum.secrets), sources, opts),
    async (ctx, sources, opts) => {
      const c = sources.candidates[0]!;
      const pick = offline(ctx) ? { host: c.host, endpoint: c.endpoint, why: 'a healthy follower (offline plan: the first member)' } : await chooseSnapshotSource(execFor(ctx, sources.quorum.secrets), sources, opts).catch((e: Error) => ({ host: c.host, endpoint: c.endpoint, why: `(now: ${e.message})` }));
      ctx.note?.(`would take a snapshot from ${pick.host} first and copy it into the backup folder`);
      return pick;
    },
  ),
  takeSnapshot: onHost((ctx, step: SnapshotStep) => takeSnapshot(ctx, step)),
  fetchSnapshot: onHost((ctx, step: SnapshotStep, facts: SnapshotFacts, store: BackupStore, extra: Pick<BackupRecord, 'reason' | 'workflowId'>) => fetchSnapshot(ctx, step, facts, store, extra)),
  /** Restore into a throwaway etcd on the worker, compare with the estate, record the verdict beside the file. */
  verifyBackup: onWorker(async (ctx, input: VerifyInput) => {
    const v = await verifySnapshot(ctx, execFor(ctx, input.secrets), input);
    await recordVerification(input.file, v);
    return v;
  }),
  applyBackupRetention: onWorker((_ctx, store: BackupStore, keep: string[]) => applyRetention(store, keep)),

  stopEtcdMember: onHost((ctx, step: HostStep & { containerName: string }) => stopMember(ctx, step.containerName)),
  restoreEtcdMember: onHost((ctx, step: RestoreMemberStep) => restoreMemberData(ctx, step)),
  startRestoredMember: onHost((ctx, step: RestoreMemberStep) => startRestoredMember(ctx, step)),

  etcdMembershipPlan: onWorker(
    (ctx, input: MembershipInput) => readMembershipPlan(execFor(ctx, input.quorum.secrets), input),
    (ctx, input) => (offline(ctx) ? Promise.resolve(noCluster) : readMembershipPlan(execFor(ctx, input.quorum.secrets), input)),
  ),
  removeEtcdMember: onWorker(
    (ctx, input: MembershipInput, member: NonNullable<MembershipChange['remove']>) => removeMember(execFor(ctx, input.quorum.secrets), input, member),
    (ctx, _input, member) => {
      ctx.note?.(`would run etcdctl member remove ${member.name || member.peerUrl} (${member.peerUrl}): the inventory no longer has it`);
      return Promise.resolve({ removed: true });
    },
  ),
  addEtcdMember: onWorker(
    (ctx, input: MembershipInput, member: NonNullable<MembershipChange['add']>) => addMember(execFor(ctx, input.quorum.secrets), input, member),
    (ctx, _input, member) => {
      ctx.note?.(`would run etcdctl member add ${member.name} --peer-urls=${member.peerUrl}, then start ${member.host} with state existing`);
      return Promise.resolve({ added: true });
    },
  ),

  defragEtcdMember: onWorker((ctx, input: MaintenanceInput, member: Pick<QuorumMember, 'name' | 'endpoint' | 'isLeader'>) => defragMember(execFor(ctx, input.secrets), input, member)),
  moveEtcdLeader: onWorker((ctx, input: MaintenanceInput, to: Pick<QuorumMember, 'id' | 'name'>) => moveLeaderTo(execFor(ctx, input.secrets), input, to)),
  compactEtcd: onWorker((ctx, input: MaintenanceInput) => compactToCurrent(execFor(ctx, input.secrets), input)),
  disarmEtcdAlarms: onWorker((ctx, input: MaintenanceInput) => disarmAlarms(execFor(ctx, input.secrets), input)),

  readMemberCa: onHost((ctx, step: HostStep & { dataDir: string }) => readMemberCa(ctx, step.dataDir)),
  rotateMemberTls: onHost((ctx, step: HostStep & { dataDir: string; containerName: string; endpoint: string; auth: { enabled: boolean; user: string } }, change: TlsChange, stamp: string) => rotateMemberTls(ctx, step, change, stamp)),
  rotateComponentTls: onHost((ctx, step: ComponentStep, change: TlsChange) => rotateComponentTls(ctx, step, change)),

  putMarkerRoute: onWorker((ctx, api: ApiTarget, endpoints: Endpoints, probe: ProbeSettings, id: string, host: string) => putMarkerRoute(ctx, api, endpoints, probe, id, host)),
  routeServed: onWorker((_ctx, endpoints: Endpoints, probe: ProbeSettings, host: string) => routeServed(endpoints, probe, host)),
};

export type EtcdOpName = keyof typeof ETCD_OPERATIONS;
type Signature<O> = O extends EtcdHostOp<infer A, infer R> ? (...args: A) => Promise<R> : O extends EtcdWorkerOp<infer A, infer R> ? (...args: A) => Promise<R> : never;
/** How a runbook calls them: `s.takeSnapshot(step)`. */
export type EtcdOperations = { [K in EtcdOpName]: Signature<(typeof ETCD_OPERATIONS)[K]> };
