// etcd upkeep (etcd op-guide, maintenance). Defragmentation blocks the member it runs on: one member
// at a time, followers first, the leader last after handing leadership to a defragmented follower,
// quorum checked between. NOSPACE: compaction to the current revision, the defragmentation, then the
// alarm disarmed. Certificate rotation for mTLS: the new CA trusted everywhere first (a bundle),
// member and client certificates one host at a time, then the old CA dropped; each host is healthy
// again before the next, so the load balancers always have the others.
import { controlPlaneHosts, dataPlaneHosts, etcdMembers, type ClusterSpec } from '../inventory/model';
import type { ProductFacts } from '../products/types';
import { clientEndpoint, maintenanceInput } from '../steps/etcd-inputs';
import { artifactPaths, componentStep, quorumCheckInput, type ComponentStep } from '../steps/inputs';
import type { TlsChange, TlsStepResult } from '../reconcile/certs';
import type { QuorumMember, QuorumReport } from '../reconcile/etcd';
import type { DefragResult } from '../reconcile/maintenance';
import type { DayTwoOps, DayTwoRunner, DayTwoStep, DayTwoStepDef } from './day2-runner';
import { refuse } from './day2-runner';

export interface UpkeepInput {
  spec: ClusterSpec;
  product: ProductFacts;
}

// ---- defrag -------------------------------------------------------------------------------------

export interface DefragRunResult {
  cluster: string;
  workflowId: string;
  members: DefragResult[];
  leaderMoved?: { from?: string; to: string };
  quorum: QuorumReport;
  /** Bytes given back to the filesystem, all members together. */
  freedBytes: number;
}

export const DEFRAG_STEPS = [
  { id: 'check', title: 'etcd healthy (a NOSPACE alarm aside): members, leader, sizes' },
  { id: 'defrag', title: 'Defragment one member at a time: followers first, the leader last after handing leadership over' },
  { id: 'quorum-check', title: 'etcd: health, status, alarms, member list' },
] as const satisfies readonly DayTwoStepDef<UpkeepInput>[];
export type DefragStepId = (typeof DEFRAG_STEPS)[number]['id'];

/** Only a NOSPACE alarm among the problems: the cluster is otherwise whole, and upkeep is the fix. */
const onlyNoSpace = (q: QuorumReport) => q.problems.every((p) => /NOSPACE/.test(p));

/** The defragmentation itself: followers in order, then leadership handed to the first, then the old leader. */
export async function defragAll(s: Pick<DayTwoOps, 'readEtcdQuorum' | 'defragEtcdMember' | 'moveEtcdLeader' | 'checkQuorum'>, spec: ClusterSpec, q: QuorumReport, stopIfCancelled: (why: string) => void) {
  const m = maintenanceInput(spec);
  const followers = q.members.filter((x) => !x.isLeader);
  const leader = q.members.find((x) => x.isLeader);
  const results: DefragResult[] = [];
  let moved: { from?: string; to: string } | undefined;
  const healthyAfter = async () => {
    const after = await s.readEtcdQuorum(quorumCheckInput(spec, 60));
    if (!after.healthy && !onlyNoSpace(after)) await s.checkQuorum(quorumCheckInput(spec, 60));
  };
  for (const f of followers) {
    stopIfCancelled('defrag cancelled between members');
    results.push(await s.defragEtcdMember(m, f));
    await healthyAfter();
  }
  if (leader) {
    const to: QuorumMember | undefined = followers[0];
    if (to) {
      const mv = await s.moveEtcdLeader(m, to);
      if (mv.moved) moved = { ...(mv.from ? { from: mv.from } : {}), to: mv.to };
    }
    // Reported as the leader it was when the run started (it is a follower by now when one took over).
    results.push(await s.defragEtcdMember(m, leader));
    await healthyAfter();
  }
  return { results, moved };
}

export async function defrag(r: DayTwoRunner<DefragStepId>, input: UpkeepInput): Promise<DefragRunResult> {
  const { spec } = input;
  const q = await r.step(
    'check',
    async (s) => {
      const x = await s.readEtcdQuorum(quorumCheckInput(spec, 30));
      if (!x.healthy && !onlyNoSpace(x)) refuse(r, `refused: etcd is not healthy, and a defrag blocks one member at a time: ${x.problems.join('; ')}`, 'EtcdUnhealthy');
      return x;
    },
    (x) => x.members.map((m) => `${m.name}${m.isLeader ? '*' : ''} ${Math.round((m.dbSize ?? 0) / 2 ** 20)} MiB`).join(', '),
  );
  const { results, moved } = await r.step('defrag', (s) => defragAll(s, spec, q, (w) => r.stopIfCancelled(w)), (x) => x.results.map((d) => `${d.member} ${mib(d.before.dbSize)}->${mib(d.after.dbSize)}`).join(', '));
  const quorum = await r.step('quorum-check', async (s) => {
    const x = await s.readEtcdQuorum(quorumCheckInput(spec, 30));
    return x.healthy || onlyNoSpace(x) ? x : s.checkQuorum(quorumCheckInput(spec, 60));
  });
  return { cluster: spec.cluster.name, workflowId: r.id, members: results, ...(moved ? { leaderMoved: moved } : {}), quorum, freedBytes: results.reduce((n, d) => n + Math.max(0, d.before.dbSize - d.after.dbSize), 0) };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

// ---- disarm (NOSPACE) -----------------------------------------------------------------------------

export interface DisarmResult {
  cluster: string;
  workflowId: string;
  alarms: string[];
  compactedTo?: string;
  members: DefragResult[];
  disarmed: string[];
  quorum: QuorumReport;
}

export const DISARM_STEPS = [
  { id: 'check', title: 'Read the alarms (NOSPACE: the cluster refuses writes)' },
  { id: 'compact', title: 'Compact the key history up to the current revision' },
  { id: 'defrag', title: 'Defragment one member at a time (followers first, the leader last)' },
  { id: 'disarm', title: 'etcdctl alarm disarm' },
  { id: 'quorum-check', title: 'etcd: health, status, alarms (none), member list' },
] as const satisfies readonly DayTwoStepDef<UpkeepInput>[];
export type DisarmStepId = (typeof DISARM_STEPS)[number]['id'];

export async function disarm(r: DayTwoRunner<DisarmStepId>, input: UpkeepInput): Promise<DisarmResult> {
  const { spec } = input;
  const q = await r.step('check', (s) => s.readEtcdQuorum(quorumCheckInput(spec, 30)), (x) => (x.alarms?.length ? x.alarms.map((a) => a.alarm).join(', ') : 'no alarm'));
  const alarms = (q.alarms ?? []).map((a) => `${a.alarm} (member ${a.memberId})`);
  if (!q.alarms?.length) {
    for (const id of ['compact', 'defrag', 'disarm'] as const) r.skip(id, 'no alarm is raised');
    const quorum = await r.step('quorum-check', (s) => s.checkQuorum(quorumCheckInput(spec, 60)));
    return { cluster: spec.cluster.name, workflowId: r.id, alarms, members: [], disarmed: [], quorum };
  }
  const notSpace = q.problems.filter((p) => !/NOSPACE/.test(p));
  if (notSpace.length) refuse(r, `refused: etcd has other problems than NOSPACE; fix them first: ${notSpace.join('; ')}`, 'EtcdUnhealthy');
  const m = maintenanceInput(spec);
  const compacted = await r.step('compact', (s) => s.compactEtcd(m), (x) => `compacted to revision ${x.revision}`);
  const { results } = await r.step('defrag', (s) => defragAll(s, spec, q, (w) => r.stopIfCancelled(w)), (x) => x.results.map((d) => `${d.member} ${mib(d.before.dbSize)}->${mib(d.after.dbSize)}`).join(', '));
  // Disarming with the backend still near the quota only raises the alarm again at the next write.
  const tight = results.filter((d) => d.after.dbSize > 0.9 * spec.etcd.quotaBackendBytes);
  if (tight.length)
    refuse(r, `refused to disarm: after compaction and defrag ${tight.map((d) => `${d.member} holds ${mib(d.after.dbSize)}`).join(', ')} of a ${mib(spec.etcd.quotaBackendBytes)} quota; delete data or raise etcd.quota_backend_bytes and deploy, then run this again`, 'StillFull');
  const d = await r.step('disarm', (s) => s.disarmEtcdAlarms(m), (x) => (x.remaining.length ? `still raised: ${x.remaining.join(', ')}` : `disarmed ${x.disarmed.join(', ')}`));
  if (d.remaining.length) refuse(r, `the alarms are raised again after the disarm: ${d.remaining.join(', ')}`, 'AlarmRaisedAgain');
  const quorum = await r.step('quorum-check', (s) => s.checkQuorum(quorumCheckInput(spec, 60)), (x) => `leader ${x.leaderName ?? x.leader}, no alarm`);
  return { cluster: spec.cluster.name, workflowId: r.id, alarms, compactedTo: compacted.revision, members: results, disarmed: d.disarmed, quorum };
}

// ---- certificate rotation -------------------------------------------------------------------------

export interface RotateInput extends UpkeepInput {
  /** The new CA, read from the inventory's etcd.tls.ca_file by the CLI (certificates are public). */
  newCaPem: string;
}

export interface RotateResult {
  cluster: string;
  workflowId: string;
  /** false: the hosts already trusted the inventory's CA; only key pairs were replaced. */
  caChanged: boolean;
  phases: { phase: string; hosts: TlsStepResult[] }[];
  quorum: QuorumReport;
}

export const ROTATE_STEPS = [
  { id: 'read-ca', title: 'Read the CA the members trust now' },
  { id: 'trust-new-ca', title: 'Trust the old and the new CA: every member, then every dashboard and gateway, one at a time' },
  { id: 'member-certificates', title: 'New member and client certificates on each member, one at a time' },
  { id: 'client-certificates', title: 'New client certificates on each dashboard and gateway, one at a time behind the load balancer' },
  { id: 'drop-old-ca', title: 'Trust only the new CA: every member, then every dashboard and gateway, one at a time' },
  { id: 'quorum-check', title: 'etcd: health, status, alarms, member list' },
] as const satisfies readonly DayTwoStepDef<RotateInput>[];
export type RotateStepId = (typeof ROTATE_STEPS)[number]['id'];

/** Pure: the bundle of the CAs a host trusts and the new one (each once), by PEM blocks. */
export function bundleOf(current: string, next: string): string {
  const blocks = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const out: string[] = [];
  for (const b of [...blocks(current), ...blocks(next)]) if (!out.some((x) => x.replace(/\s/g, '') === b.replace(/\s/g, ''))) out.push(b);
  return `${out.join('\n')}\n`;
}

export async function rotateCertificates(r: DayTwoRunner<RotateStepId>, input: RotateInput): Promise<RotateResult> {
  const { spec } = input;
  const t = spec.etcd.tls;
  if (!t.enabled || !t.serverCertFile || !t.serverKeyFile || !t.clientCertFile || !t.clientKeyFile) refuse(r, 'etcd.tls is not enabled: there are no certificates to rotate', 'NoTls');
  const members = etcdMembers(spec).map((h) => ({ target: h.ssh, secrets: spec.secrets, dataDir: spec.etcd.dataDir, containerName: spec.etcd.containerName, endpoint: clientEndpoint(spec, h), auth: spec.etcd.auth }));
  const current = await r.step('read-ca', (s) => s.readMemberCa(members[0]!), () => 'read');
  const bundle = bundleOf(current, input.newCaPem);
  const caChanged = bundle.replace(/\s/g, '') !== bundleOf('', current).replace(/\s/g, '');
  const artifacts = await r.inspectArtifacts(artifactPaths(spec));
  const components: ComponentStep[] = [
    ...controlPlaneHosts(spec).map((h) => componentStep(spec, h, 'control_plane', artifacts.controlPlane, 'auto', r.stamp)),
    ...dataPlaneHosts(spec).map((h) => componentStep(spec, h, 'data_plane', artifacts.dataPlane, 'auto', r.stamp)),
  ];
  const server = { certFile: t.serverCertFile!, keyFile: t.serverKeyFile! };
  const client = { certFile: t.clientCertFile!, keyFile: t.clientKeyFile! };
  const phases: RotateResult['phases'] = [];
  const onMembers = async (s: DayTwoStep, change: TlsChange) => {
    const out: TlsStepResult[] = [];
    for (const m of members) {
      r.stopIfCancelled('certificate rotation cancelled between hosts');
      out.push(await s.critical(() => s.rotateMemberTls(m, change, r.stamp)));
      await s.checkQuorum(quorumCheckInput(spec, 60));
    }
    return out;
  };
  const onComponents = async (s: DayTwoStep, change: TlsChange) => {
    const out: TlsStepResult[] = [];
    for (const c of components) {
      r.stopIfCancelled('certificate rotation cancelled between hosts');
      out.push(await s.critical(() => s.rotateComponentTls(c, change)));
    }
    return out;
  };
  const summary = (x: TlsStepResult[]) => `${x.filter((h) => h.restarted).length} of ${x.length} hosts changed and restarted`;
  if (caChanged) {
    phases.push({ phase: 'trust-new-ca', hosts: await r.step('trust-new-ca', async (s) => [...(await onMembers(s, { caPem: bundle })), ...(await onComponents(s, { caPem: bundle }))], summary) });
  } else r.skip('trust-new-ca', 'the members already trust the inventory\'s CA');
  phases.push({ phase: 'member-certificates', hosts: await r.step('member-certificates', (s) => onMembers(s, { server, client }), summary) });
  phases.push({ phase: 'client-certificates', hosts: await r.step('client-certificates', (s) => onComponents(s, { client }), summary) });
  const only = bundleOf('', input.newCaPem);
  phases.push({ phase: 'drop-old-ca', hosts: await r.step('drop-old-ca', async (s) => [...(await onMembers(s, { caPem: only })), ...(await onComponents(s, { caPem: only }))], summary) });
  const quorum = await r.step('quorum-check', (s) => s.checkQuorum(quorumCheckInput(spec, 60)), (q) => `leader ${q.leaderName ?? q.leader}`);
  return { cluster: spec.cluster.name, workflowId: r.id, caChanged, phases, quorum };
}
