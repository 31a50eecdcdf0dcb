// What a runner needs to know of each operation besides its code (src/operations): the activity
// profile it runs under (src/workflows/profiles.ts), the summary the Temporal UI shows for a call, and
// the line a host gets in the watch tree when its part is done. Keyed by the operations' names and
// typed by their signatures, so an operation without an entry (or an entry without an operation)
// does not compile. Pure: workflows import it.
import type { HostRollout } from './types';
import type { OpName, Ops } from './runner';

export type ProfileName = 'quick' | 'transfer' | 'waits' | 'restores' | 'probing' | 'resumableProbes' | 'notify' | 'gate';

type Args<K extends OpName> = Parameters<Ops[K]>;
type Result<K extends OpName> = Awaited<ReturnType<Ops[K]>>;

export interface OpMeta<K extends OpName> {
  profile: ProfileName;
  summary: (...args: Args<K>) => string;
  /** The watch tree's line for the host this call worked on (its first argument's target). */
  detail?: (r: Result<K>) => string;
  /** Lines for several hosts from one call (a list operation, such as preflight of a batch). */
  hosts?: (r: Result<K>) => { host: string; ok: boolean; detail: string }[];
  /** What a plan says about the host besides its changes. */
  planNote?: (r: Result<K>) => string | undefined;
}

/** "ha1, ha2, ha3", or "gw1 … gw60 (60 hosts)". */
export function hostRange(hosts: { name?: string; host?: string }[]): string {
  const names = hosts.map((h) => h.name ?? h.host ?? '?');
  return names.length <= 3 ? names.join(', ') : `${names[0]} … ${names[names.length - 1]} (${names.length} hosts)`;
}

const what = (c: { component: string }) => (c.component === 'control_plane' ? 'dashboard' : 'gateway');
const targets = (steps: { target: { host: string } }[]) => hostRange(steps.map((s) => s.target));

export const OPERATION_META: { [K in OpName]: OpMeta<K> } = {
  inspectArtifacts: { profile: 'transfer', summary: () => 'worker: sha256 and image IDs of the packages' },
  preflightHosts: {
    profile: 'quick',
    summary: (inputs) => `preflight: ${targets(inputs)}`,
    hosts: (reports) =>
      reports.map((r) => {
        const blocking = r.problems.filter((p) => p.severity === 'block').length;
        return { host: r.host, ok: blocking === 0, detail: `${blocking} blocking, ${r.problems.filter((p) => p.severity === 'warn').length} warnings` };
      }),
  },
  ensureEtcdMember: {
    profile: 'transfer',
    summary: (s) => `${s.target.host}: etcd member ${s.member.member.name}`,
    detail: (r) => `${r.action}${r.reason ? ` (${r.reason})` : ''}`,
    planNote: (r) => (r.action === 'needs-recreate' ? `would be recreated one member at a time (${r.reason})` : undefined),
  },
  recreateEtcdMember: { profile: 'waits', summary: (s) => `${s.target.host}: recreate etcd member ${s.member.member.name} (existing cluster)`, detail: (r) => r.action },
  checkQuorum: { profile: 'waits', summary: () => 'etcd: quorum check' },
  uploadPackage: { profile: 'transfer', summary: (p) => `${p.target.host}: upload ${p.pkg.fileName}`, detail: (r) => (r.uploaded ? 'uploaded' : 'package present') },
  deliverImage: { profile: 'transfer', summary: (s) => `${s.target.host}: deliver the image ${s.image.name}`, detail: (r) => `image ${r.action}` },
  installPackage: {
    profile: 'transfer',
    summary: (p) => `${p.target.host}: tar -xzf ${p.pkg.fileName} and docker load`,
    detail: (r) => (r.loaded.length ? `${r.loaded.length} image(s) loaded` : 'images present'),
  },
  configureComponent: { profile: 'quick', summary: (c) => `${c.target.host}: render the ${what(c)} configuration`, detail: (r) => (r.changed ? 'config changed' : 'config unchanged') },
  startComponent: { profile: 'quick', summary: (c) => `${c.target.host}: docker compose up the ${what(c)}`, detail: (r) => r.action },
  waitComponentHealthy: { profile: 'waits', summary: (c) => `${c.target.host}: wait until the ${what(c)} is healthy`, detail: () => 'healthy' },
  componentsRunning: { profile: 'quick', summary: (steps) => `is the ${steps[0] ? what(steps[0]) : 'component'} running on ${targets(steps)}?` },
  stopComponent: { profile: 'quick', summary: (c) => `${c.target.host}: docker compose down the ${what(c)}`, detail: () => 'stopped' },
  ensureProbeRoute: { profile: 'waits', summary: (_api, probe) => `control plane: write the probe route ${probe.routeId}` },
  ensureLoadBalancer: { profile: 'quick', summary: (s) => `${s.target.host}: HAProxy for the control and data planes`, detail: (r) => r.action },
  checkLoadBalancers: { profile: 'waits', summary: () => 'load balancers: both frontends answer' },
  verifyPropagation: { profile: 'waits', summary: () => 'verification: CP LB -> etcd -> gateways -> DP LB -> upstream' },

  steadyState: { profile: 'quick', summary: () => 'steady state: etcd, gateways, dashboards, load balancers' },
  injectFault: { profile: 'quick', summary: (f) => `${f.host}: ${f.kind}`, detail: (t) => t.detail },
  rollbackFault: { profile: 'restores', summary: (f) => `${f.host}: roll back ${f.kind}`, detail: (t) => t.detail },
  waitRecovered: { profile: 'waits', summary: (input) => `${input.host}: healthy and back in rotation` },
  writeRouteReachesGateways: { profile: 'waits', summary: (input) => `write a route during the fault; ${hostRange(input.gateways)} must serve it` },
  restartGateway: { profile: 'waits', summary: (step) => `${step.target.host}: restart the gateway during the fault` },
  runProbes: { profile: 'probing', summary: (scenario, plan) => `${scenario}: probes at ${plan.ratePerS}/s` },
  probeScenario: {
    profile: 'resumableProbes',
    summary: (key, plan) => `${key.split(':')[1] ?? key}: probes at ${plan.ratePerS}/s${plan.propagation ? ', canary route' : ''}${plan.stop ? ', stop conditions' : ''}`,
  },
  sendNotification: { profile: 'notify', summary: (m, w) => `notify ${w.name}: ${m.type}` },
  recordMetrics: { profile: 'quick', summary: (r) => `metrics: ${r.kind} of ${r.cluster}` },
  readReleases: {
    profile: 'quick',
    summary: (steps) => `which ${steps[0] ? what(steps[0]) : 'component'} release runs on ${targets(steps)}`,
    hosts: (rs) => rs.map((r) => ({ host: r.host, ok: true, detail: r.running ? `runs ${r.running.version}` : 'not running' })),
  },
  switchRelease: { profile: 'quick', summary: (c, from) => `${c.target.host}: docker compose down ${from?.version ?? 'the running release'}, up ${c.packageDir}`, detail: (r) => (r.action === 'switched' ? `now ${r.to}` : 'already on it') },
  waitReleaseHealthy: { profile: 'gate', summary: (c) => `${c.target.host}: health check of ${c.packageDir}`, detail: (r) => `healthy after ${r.ms} ms` },
  drainServer: { profile: 'waits', summary: (s) => `HAProxy: set server ${s.backend}/${s.server} state drain, wait for 0 sessions`, detail: (r) => `drained (${r.sessions} session(s) finished) in ${r.ms} ms` },
  readyServer: { profile: 'waits', summary: (s) => `HAProxy: set server ${s.backend}/${s.server} state ready, see it take traffic`, detail: (r) => `in rotation again after ${r.ms} ms` },
  undrainServer: { profile: 'restores', summary: (s) => `HAProxy: set server ${s.backend}/${s.server} state ready (restore)`, detail: () => 'ready' },
  cleanupReleases: {
    profile: 'quick',
    summary: (items) => `remove old releases on ${targets(items)}`,
    hosts: (rs) => rs.map((r) => ({ host: r.host, ok: true, detail: `${r.removed.length ? `removed ${r.removed.join(', ')}` : 'nothing to remove'}; kept ${r.kept.join(', ')}` })),
  },
  snapshotEtcd: { profile: 'waits', summary: (i) => `etcd: snapshot save ${i.dir}/${i.name}`, detail: (r) => `${r.path} (revision ${r.revision ?? '?'}, ${r.totalKeys ?? '?'} keys)` },
  pastDrillCount: { profile: 'quick', summary: () => 'rotation: drills so far' },
  lockHolder: { profile: 'quick', summary: (cluster) => `who holds the lock of ${cluster}` },

  // ---- day 2 for etcd ------------------------------------------------------------------------------
  readEtcdQuorum: { profile: 'quick', summary: () => 'etcd: read health, status, alarms, member list once' },
  chooseSnapshotSource: { profile: 'quick', summary: (_s, o) => `etcd: choose the member to snapshot${o.withoutQuorum ? ' (without quorum: any running member)' : ''}` },
  takeSnapshot: { profile: 'transfer', summary: (s) => `${s.target.host}: etcdctl snapshot save ${s.fileName} from ${s.member}`, detail: (f) => `revision ${f.revision}, ${f.totalKeys} keys` },
  fetchSnapshot: { profile: 'transfer', summary: (s) => `${s.target.host}: copy ${s.fileName} into the backup folder`, detail: (f) => (f.copied ? 'copied, sha256 checked' : 'already in the folder') },
  verifyBackup: { profile: 'waits', summary: (v) => `worker: restore ${v.file.split('/').pop() ?? ''} into a throwaway etcd, compare with the estate at revision ${v.revision}` },
  applyBackupRetention: { profile: 'quick', summary: (store) => `worker: keep the newest ${store.retention} snapshots of ${store.cluster}` },
  stopEtcdMember: { profile: 'quick', summary: (s) => `${s.target.host}: docker stop ${s.containerName}`, detail: (r) => (r.wasRunning ? 'stopped' : 'was not running') },
  restoreEtcdMember: { profile: 'transfer', summary: (s) => `${s.target.host}: data dir aside, snapshot restore as ${s.restore.name}`, detail: (r) => (r.restored ? `restored${r.aside ? `, old data in ${r.aside}` : ''}` : 'restored already') },
  startRestoredMember: { profile: 'transfer', summary: (s) => `${s.target.host}: start the restored member ${s.restore.name}`, detail: (r) => r.action },
  etcdMembershipPlan: { profile: 'quick', summary: () => 'etcd: the live member list against the inventory' },
  removeEtcdMember: { profile: 'quick', summary: (_i, m) => `etcd: member remove ${m.name || m.peerUrl}` },
  addEtcdMember: { profile: 'quick', summary: (_i, m) => `etcd: member add ${m.name} (${m.peerUrl})` },
  defragEtcdMember: { profile: 'waits', summary: (_i, m) => `etcd: defrag ${m.name}${m.isLeader ? ' (the leader, after handing over)' : ''}`, detail: (d) => `${Math.round(d.before.dbSize / 2 ** 20)} -> ${Math.round(d.after.dbSize / 2 ** 20)} MiB` },
  moveEtcdLeader: { profile: 'quick', summary: (_i, to) => `etcd: move-leader to ${to.name}` },
  compactEtcd: { profile: 'waits', summary: () => 'etcd: compaction to the current revision' },
  disarmEtcdAlarms: { profile: 'quick', summary: () => 'etcd: alarm disarm' },
  readMemberCa: { profile: 'quick', summary: (s) => `${s.target.host}: read the CA etcd trusts` },
  rotateMemberTls: { profile: 'waits', summary: (s, c) => `${s.target.host}: etcd member ${[c.caPem ? 'CA' : '', c.server ? 'certificate' : ''].filter(Boolean).join(' and ')}, restart`, detail: (r) => (r.restarted ? `restarted in ${r.ms} ms` : 'unchanged') },
  rotateComponentTls: { profile: 'waits', summary: (s, c) => `${s.target.host}: ${what(s)} ${[c.caPem ? 'CA' : '', c.client ? 'client certificate' : ''].filter(Boolean).join(' and ')}, restart`, detail: (r) => (r.restarted ? `restarted in ${r.ms} ms` : 'unchanged') },
  putMarkerRoute: { profile: 'waits', summary: (_a, _e, _p, id) => `control plane: write route ${id} and wait until the data plane serves it` },
  routeServed: { profile: 'quick', summary: (_e, _p, host) => `data plane: is ${host} served?` },
};

export const OP_NAMES = Object.keys(OPERATION_META) as OpName[];

/** A host's line once its part of a rollout is done (the deploy's result, batches in the watch tree). */
export function describeHost(r: HostRollout): string {
  if (!r.ok) return r.error ?? 'failed';
  const parts = [
    r.uploaded === undefined ? '' : r.uploaded ? 'uploaded' : 'package present',
    r.imagesLoaded === undefined ? '' : r.imagesLoaded ? `${r.imagesLoaded} image(s) loaded` : 'images present',
    r.configChanged === undefined ? '' : r.configChanged ? 'config changed' : 'config unchanged',
    r.action ?? '',
  ];
  return parts.filter(Boolean).join(', ');
}
