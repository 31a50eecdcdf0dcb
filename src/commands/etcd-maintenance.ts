// Day 2 for etcd, as data: snapshots (save, status, restore), membership (add, remove, move-leader),
// upkeep (compaction, defrag, alarms) and reads at a revision. Every value is an argv the executor
// quotes; secrets only ever travel on stdin (the auth wrapper of commands/etcd.ts).
import { LABELS } from './docker';
import { CERTS_IN_CONTAINER, certsDirOnHost, etcdctl, etcdctlInvocation, parentDir, withoutTrailingSlash, type EtcdctlTarget } from './etcd';
import { change, probe, type RemoteCommand } from './types';


/** Snapshots on a member's host: beside the data dir (same filesystem), never inside it. */
export const snapshotsDirOnHost = (dataDir: string) => `${parentDir(dataDir)}/api7-ha-snapshots`;
const SNAPSHOTS_IN_CONTAINER = '/snapshots';
/** Where `snapshot restore` writes inside the new data dir before its `member` folder is moved into place. */
export const RESTORE_STAGING = '.api7-ha-restore';

/** The data dir a restore (or a replacement) moved aside: `<dir>.before-restore-<stamp>`. Never deleted. */
export const asideDir = (dataDir: string, why: 'restore' | 'replace', stamp: string) => `${withoutTrailingSlash(dataDir)}.before-${why}-${stamp}`;

/** A throwaway container of the member's own image: the etcdctl that matches the cluster's version. */
export interface ToolImage {
  cluster: string;
  image: string;
  dataDir: string;
  tls: boolean;
}

/**
 * `docker run --rm` of the member image with etcdctl as its entrypoint. The member's own container
 * mounts only its data dir, and a snapshot must land on the host (to be copied off it), so snapshot
 * work runs beside the member rather than inside it.
 */
function toolRun(tool: ToolImage, inv: { argv: string[]; stdin?: string }, mounts: string[], network: 'host' | 'none', describe: string, extra: Partial<RemoteCommand>): RemoteCommand {
  const argv = ['docker', 'run', '--rm'];
  if (inv.stdin !== undefined) argv.push('-i');
  argv.push('--network', network, '-u', 'root');
  argv.push('--label', `${LABELS.managedBy}=api7-ha`, '--label', `${LABELS.cluster}=${tool.cluster}`, '--label', `${LABELS.role}=etcd-tool`);
  for (const m of mounts) argv.push('-v', m);
  if (tool.tls) argv.push('-v', `${certsDirOnHost(tool.dataDir)}:${CERTS_IN_CONTAINER}:ro`);
  argv.push('--entrypoint', inv.argv[0]!, tool.image, ...inv.argv.slice(1));
  return { argv, mutates: true, sudo: true, describe, ...(inv.stdin !== undefined ? { stdin: inv.stdin } : {}), ...extra };
}

const snapshotsMount = (tool: ToolImage, ro: boolean) => `${snapshotsDirOnHost(tool.dataDir)}:${SNAPSHOTS_IN_CONTAINER}${ro ? ':ro' : ''}`;

/** `etcdctl snapshot save` against one member (etcdctl refuses several endpoints for a snapshot). */
export function snapshotSave(tool: ToolImage, t: Omit<EtcdctlTarget, 'containerName'>, endpoint: string, fileName: string): RemoteCommand {
  const inv = etcdctlInvocation({ ...t, endpoints: [endpoint] }, ['snapshot', 'save', `${SNAPSHOTS_IN_CONTAINER}/${fileName}`], 600);
  return toolRun(tool, inv, [snapshotsMount(tool, false)], 'host', `etcdctl snapshot save from ${endpoint} to ${snapshotsDirOnHost(tool.dataDir)}/${fileName}`, { timeoutMs: 15 * 60_000 });
}

/** `etcdctl snapshot status -w json`: hash, revision, total keys, size. Reads a file; no network. */
export function snapshotStatus(tool: ToolImage, fileName: string): RemoteCommand {
  return {
    ...toolRun({ ...tool, tls: false }, { argv: ['etcdctl', 'snapshot', 'status', `${SNAPSHOTS_IN_CONTAINER}/${fileName}`, '-w', 'json'] }, [snapshotsMount(tool, true)], 'none', `etcdctl snapshot status ${fileName}`, { timeoutMs: 5 * 60_000 }),
    mutates: false,
  };
}

export interface RestoreSpec {
  name: string;
  /** name=peerURL for every member, as ETCD_INITIAL_CLUSTER. */
  initialCluster: string;
  /** A new token: the restored cluster must not be mistaken for the old one by a stray member. */
  clusterToken: string;
  peerUrl: string;
}

/**
 * `etcdctl snapshot restore` into `<dataDir>/.api7-ha-restore` (etcdctl refuses an existing data dir,
 * and mounting the data dir's parent could mean mounting /); the reconcile step then moves its
 * `member` folder into place. No network: a restore only writes files.
 */
export function snapshotRestore(tool: ToolImage, fileName: string, r: RestoreSpec): RemoteCommand {
  const args = [
    'snapshot',
    'restore',
    `${SNAPSHOTS_IN_CONTAINER}/${fileName}`,
    '--name',
    r.name,
    '--initial-cluster',
    r.initialCluster,
    '--initial-cluster-token',
    r.clusterToken,
    '--initial-advertise-peer-urls',
    r.peerUrl,
    '--data-dir',
    `/etcd_data/${RESTORE_STAGING}`,
  ];
  return toolRun({ ...tool, tls: false }, { argv: ['etcdctl', ...args] }, [`${tool.dataDir}:/etcd_data`, snapshotsMount(tool, true)], 'none', `etcdctl snapshot restore ${fileName} as member ${r.name} (token ${r.clusterToken})`, {
    timeoutMs: 15 * 60_000,
  });
}

// ---- membership ---------------------------------------------------------------------------------

/** etcd prints member IDs in decimal (JSON) and takes them in hex (member remove, move-leader). */
export const memberIdHex = (decimal: string): string => BigInt(decimal).toString(16);

export const memberAdd = (t: EtcdctlTarget, name: string, peerUrl: string) =>
  ({ ...etcdctl(t, ['member', 'add', name, `--peer-urls=${peerUrl}`, '-w', 'json'], `etcd member add ${name} (${peerUrl})`), mutates: true });
export const memberRemove = (t: EtcdctlTarget, idDecimal: string, name: string) =>
  ({ ...etcdctl(t, ['member', 'remove', memberIdHex(idDecimal)], `etcd member remove ${name} (${memberIdHex(idDecimal)})`), mutates: true });
/** Sent to every endpoint: etcdctl finds the leader among them and asks it to hand over. */
export const moveLeader = (t: EtcdctlTarget, toIdDecimal: string, toName: string) =>
  ({ ...etcdctl(t, ['move-leader', memberIdHex(toIdDecimal)], `etcd move-leader to ${toName}`, { commandTimeoutS: 30 }), mutates: true });

// ---- upkeep -------------------------------------------------------------------------------------

/** Defragment one member (it blocks that member while it runs: one at a time, followers first). */
export const defrag = (t: EtcdctlTarget, endpoint: string) =>
  ({ ...etcdctl({ ...t, endpoints: [endpoint] }, ['defrag'], `etcd defrag ${endpoint}`, { commandTimeoutS: 300, timeoutMs: 6 * 60_000 }), mutates: true });
/** Compact the key history up to a revision and wait until it is applied (`--physical`). */
export const compact = (t: EtcdctlTarget, revision: string) =>
  ({ ...etcdctl(t, ['compaction', revision, '--physical'], `etcd compaction ${revision} --physical`, { commandTimeoutS: 300, timeoutMs: 6 * 60_000 }), mutates: true });
export const alarmDisarm = (t: EtcdctlTarget) => ({ ...etcdctl(t, ['alarm', 'disarm'], 'etcd alarm disarm'), mutates: true });
/** endpoint status of exactly these endpoints (not --cluster: a dead member is then "no answer"). */
export const endpointStatusOf = (t: EtcdctlTarget, endpoints: string[]) =>
  etcdctl({ ...t, endpoints }, ['endpoint', 'status', '-w', 'json'], `etcd endpoint status ${endpoints.join(',')}`, { okExit: [0, 1] });

/** Every key and value under a prefix, optionally as of a revision (the live side of a verification). */
export const getPrefix = (t: EtcdctlTarget, prefix: string, revision?: string) =>
  etcdctl(t, ['get', prefix, '--prefix', ...(revision ? [`--rev=${revision}`] : []), '-w', 'json'], `etcd get ${prefix} --prefix${revision ? ` at revision ${revision}` : ''}`, { commandTimeoutS: 120, timeoutMs: 5 * 60_000 });

// ---- the snapshot file on the host ---------------------------------------------------------------

export const chown = (user: string, path: string) => change(['chown', user, path], `hand ${path} to ${user} for the copy`);
/** The host's copy of a snapshot after it reached the backup folder (checked by sha256). Only ever
 *  a file in the snapshots folder: never a data dir. */
export const removeSnapshotCopy = (dataDir: string, fileName: string) =>
  change(['rm', '-f', '--', `${snapshotsDirOnHost(dataDir)}/${fileName}`], `remove the host's copy of ${fileName} (it is in the backup folder)`);
/** Move a folder aside without ever replacing one (`-n`: no clobber; `-T`: never into it). */
export const moveAside = (from: string, to: string) => change(['mv', '-n', '-T', from, to], `move ${from} aside to ${to} (kept)`);
/** rmdir: removes a folder only when it is empty (the restore's staging folder, once moved out). */
export const removeEmptyDir = (path: string) => change(['rmdir', '--', path], `remove the empty folder ${path}`);
export const listSnapshotsDir = (dataDir: string) => probe(['ls', '-1', snapshotsDirOnHost(dataDir)], `list ${snapshotsDirOnHost(dataDir)}`, { sudo: true, okExit: [0, 1, 2] });

// ---- the throwaway etcd on the worker (verification) ---------------------------------------------

export interface ScratchEtcd {
  dataDir: string;
  clientPort: number;
  peerPort: number;
}

const SCRATCH_NAME = 'api7-ha-verify';
const scratchPeer = (s: ScratchEtcd) => `http://127.0.0.1:${s.peerPort}`;
const scratchClient = (s: ScratchEtcd) => `http://127.0.0.1:${s.clientPort}`;

/** Restore the backup into a private folder on the worker. */
export const scratchRestoreArgv = (snapshot: string, s: ScratchEtcd): string[] => [
  'snapshot',
  'restore',
  snapshot,
  '--name',
  SCRATCH_NAME,
  '--initial-cluster',
  `${SCRATCH_NAME}=${scratchPeer(s)}`,
  '--initial-cluster-token',
  'api7-ha-verify',
  '--initial-advertise-peer-urls',
  scratchPeer(s),
  '--data-dir',
  s.dataDir,
];

/** A single member on 127.0.0.1 and private ports: nothing on the network can reach or join it. */
export const scratchEtcdArgv = (s: ScratchEtcd): string[] => [
  '--name',
  SCRATCH_NAME,
  '--data-dir',
  s.dataDir,
  '--listen-client-urls',
  scratchClient(s),
  '--advertise-client-urls',
  scratchClient(s),
  '--listen-peer-urls',
  scratchPeer(s),
  '--initial-advertise-peer-urls',
  scratchPeer(s),
  '--initial-cluster',
  `${SCRATCH_NAME}=${scratchPeer(s)}`,
  '--initial-cluster-state',
  'existing',
  '--log-level',
  'error',
];

export const scratchGetArgv = (s: ScratchEtcd, prefix: string): string[] => ['--endpoints', scratchClient(s), '--dial-timeout', '2s', '--command-timeout', '60s', 'get', prefix, '--prefix', '-w', 'json'];
export const scratchHealthArgv = (s: ScratchEtcd): string[] => ['--endpoints', scratchClient(s), '--dial-timeout', '1s', '--command-timeout', '2s', 'endpoint', 'health'];
