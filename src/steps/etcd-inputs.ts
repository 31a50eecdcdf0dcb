// Inputs of the day-2 etcd steps (backup, verification, restore, member replacement, upkeep), derived
// from the ClusterSpec. Pure: workflows import it. Each host's step carries only what that host needs.
import { etcdClientEndpoints, etcdMembers, type ClusterSpec, type HostSpec, type SshTarget } from '../inventory/model';
import type { EtcdMemberInput } from '../commands/etcd';
import type { RestoreSpec, ToolImage } from '../commands/etcd-maintenance';
import { etcdMemberInput, etcdctlSettings, quorumCheckInput, tlsFiles, type HostStep, type ImageDelivery, type QuorumCheckInput, type Secrets, type TlsFiles } from './inputs';

/** Why a snapshot was taken; part of its file name, so a folder listing tells the story. */
export type BackupReason = 'manual' | 'scheduled' | 'before-recreate' | 'before-restore' | 'before-replace' | 'drill';

/** `<cluster>-<stamp>-<reason>.db`: sorts by time, unique per run (a second file never replaces one). */
export const backupFileName = (cluster: string, stamp: string, reason: BackupReason) => `${cluster}-${stamp}-${reason}.db`;
export const BACKUP_FILE = /^([a-z][a-z0-9-]*)-(\d{8}T\d{6}Z)-([a-z-]+)\.db$/;

/** The product's etcd prefix: what the verification compares key by key. */
export const productPrefix = (product: ClusterSpec['product']) => (product === 'apisix-3' ? '/apisix' : '/api7');

export const memberName = (h: HostSpec) => h.etcdName ?? h.name;
export const clientEndpoint = (spec: ClusterSpec, h: HostSpec) => `${h.address}:${spec.etcd.clientPort}`;
export const peerUrl = (spec: ClusterSpec, h: HostSpec) => `${spec.etcd.tls.enabled ? 'https' : 'http'}://${h.address}:${spec.etcd.peerPort}`;

export function toolImage(spec: ClusterSpec): ToolImage {
  return { cluster: spec.cluster.name, image: spec.packages.etcdImage.name, dataDir: spec.etcd.dataDir, tls: spec.etcd.tls.enabled };
}

/** Where etcdctl can run: each member's container, in inventory order. */
export function etcdVia(spec: ClusterSpec): QuorumCheckInput['via'] {
  return etcdMembers(spec).map((h) => ({ target: h.ssh, containerName: spec.etcd.containerName }));
}

export interface SnapshotStep extends HostStep {
  cluster: string;
  member: string;
  /** This member's client endpoint (addr:port): a snapshot is streamed from one member. */
  endpoint: string;
  tool: ToolImage;
  etcdctl: ReturnType<typeof etcdctlSettings>;
  fileName: string;
}

export function snapshotStep(spec: ClusterSpec, host: HostSpec, fileName: string): SnapshotStep {
  return {
    target: host.ssh,
    secrets: spec.secrets,
    cluster: spec.cluster.name,
    member: memberName(host),
    endpoint: clientEndpoint(spec, host),
    tool: toolImage(spec),
    etcdctl: etcdctlSettings(spec),
    fileName,
  };
}

/** Which hosts may give a snapshot, in the order they are tried (the source is chosen from them). */
export interface SnapshotSources {
  quorum: QuorumCheckInput;
  candidates: { host: string; endpoint: string; peerUrl: string }[];
}

export function snapshotSources(spec: ClusterSpec): SnapshotSources {
  return { quorum: quorumCheckInput(spec, 30), candidates: etcdMembers(spec).map((h) => ({ host: h.name, endpoint: clientEndpoint(spec, h), peerUrl: peerUrl(spec, h) })) };
}

/** Everything a snapshot of this estate needs, derived once (the deploy reads the inventory once). */
export interface SnapshotPlan {
  cluster: string;
  sources: SnapshotSources;
  store: BackupStore;
  step(host: string, fileName: string): SnapshotStep;
}

export function snapshotPlan(spec: ClusterSpec): SnapshotPlan {
  return {
    cluster: spec.cluster.name,
    sources: snapshotSources(spec),
    store: backupStore(spec),
    step: (host, fileName) => snapshotStep(spec, etcdMembers(spec).find((h) => h.name === host) ?? spec.hosts.find((h) => h.name === host)!, fileName),
  };
}

export interface BackupStore {
  cluster: string;
  dir: string;
  retention: number;
}

export const backupStore = (spec: ClusterSpec): BackupStore => {
  // A spec recorded before backups existed (a deploy's history replayed) has no backup section; such a
  // run never takes a snapshot (the deploy's snapshot steps are behind patched()), but its inputs are
  // still derived up front, so this must not throw.
  const backup = (spec as Partial<ClusterSpec>).backup;
  return { cluster: spec.cluster.name, dir: backup?.dir ?? '', retention: backup?.retention ?? 0 };
};

export interface VerifyInput {
  cluster: string;
  /** The snapshot on the worker (in the backup folder). */
  file: string;
  revision: string;
  prefix: string;
  /** Where the live side is read (`get --prefix --rev`). */
  live: { via: QuorumCheckInput['via']; etcdctl: ReturnType<typeof etcdctlSettings> };
  auth: { enabled: boolean; user: string };
  toolsDir?: string;
  secrets: Secrets;
}

export function verifyInput(spec: ClusterSpec, file: string, revision: string): VerifyInput {
  return {
    cluster: spec.cluster.name,
    file,
    revision,
    prefix: productPrefix(spec.product),
    live: { via: etcdVia(spec), etcdctl: etcdctlSettings(spec) },
    auth: spec.etcd.auth,
    ...(spec.backup.verifyToolsDir ? { toolsDir: spec.backup.verifyToolsDir } : {}),
    secrets: spec.secrets,
  };
}

/** A new cluster token for a restore (the old cluster's members must never take it for theirs). */
export const restoreToken = (spec: ClusterSpec, stamp: string) => `${spec.etcd.clusterToken.slice(0, 30)}-restore-${stamp.toLowerCase()}`;

export interface RestoreMemberStep extends HostStep {
  member: EtcdMemberInput;
  image: ImageDelivery;
  tool: ToolImage;
  tlsFiles?: TlsFiles;
  /** The snapshot on the worker, and its checksum (the host's copy is checked against it). */
  snapshot: { localPath: string; fileName: string; sha256: string };
  restore: RestoreSpec;
  stamp: string;
}

export function restoreMemberStep(spec: ClusterSpec, host: HostSpec, image: ImageDelivery, snapshot: RestoreMemberStep['snapshot'], stamp: string): RestoreMemberStep {
  const tls = tlsFiles(spec, true);
  const members = etcdMembers(spec);
  return {
    target: host.ssh,
    secrets: spec.secrets,
    member: etcdMemberInput(spec, host),
    image,
    tool: toolImage(spec),
    ...(tls ? { tlsFiles: tls } : {}),
    snapshot,
    restore: {
      name: memberName(host),
      initialCluster: members.map((m) => `${memberName(m)}=${peerUrl(spec, m)}`).join(','),
      clusterToken: restoreToken(spec, stamp),
      peerUrl: peerUrl(spec, host),
    },
    stamp,
  };
}

/** A member change on a running cluster: who leaves (by its live ID), who joins (from the inventory). */
export interface MembershipChange {
  remove?: { id: string; name: string; peerUrl: string };
  add?: { host: string; name: string; peerUrl: string };
}

export interface MembershipInput {
  quorum: QuorumCheckInput;
  etcdctl: ReturnType<typeof etcdctlSettings>;
  /** Every member host the inventory has, by peer URL (the identity that survives a rename). */
  inventory: { host: string; name: string; peerUrl: string; target: SshTarget }[];
}

export function membershipInput(spec: ClusterSpec): MembershipInput {
  const q = quorumCheckInput(spec, 30);
  return {
    quorum: q,
    etcdctl: etcdctlSettings(spec),
    inventory: etcdMembers(spec).map((h) => ({ host: h.name, name: memberName(h), peerUrl: peerUrl(spec, h), target: h.ssh })),
  };
}

export interface MaintenanceInput {
  via: QuorumCheckInput['via'];
  etcdctl: ReturnType<typeof etcdctlSettings>;
  quorum: QuorumCheckInput;
  secrets: Secrets;
}

export function maintenanceInput(spec: ClusterSpec): MaintenanceInput {
  return { via: etcdVia(spec), etcdctl: etcdctlSettings(spec), quorum: quorumCheckInput(spec, 60), secrets: spec.secrets };
}

export const allClientEndpoints = (spec: ClusterSpec) => etcdClientEndpoints(spec);

/** What `status -i` reads: the members, the backup folder, the certificates. */
export interface EtcdStatusInput {
  cluster: string;
  sources: SnapshotSources;
  store: BackupStore;
  /** Member hosts whose certificate folder is read (mTLS only). */
  certificates?: { hosts: { host: string; address: string; target: SshTarget }[]; dataDir: string; warningDays: number };
}

export function etcdStatusInput(spec: ClusterSpec): EtcdStatusInput {
  return {
    cluster: spec.cluster.name,
    sources: snapshotSources(spec),
    store: backupStore(spec),
    ...(spec.etcd.tls.enabled ? { certificates: { hosts: etcdMembers(spec).map((h) => ({ host: h.name, address: h.address, target: h.ssh })), dataDir: spec.etcd.dataDir, warningDays: spec.etcd.tls.expiryWarningDays } } : {}),
  };
}
