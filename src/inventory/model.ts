// The normalized cluster description every layer works from: defaults applied, paths absolute,
// secrets only as references. It travels in workflow history, so it must never hold a secret value.
//
// Pure (no Node built-ins): workflows import these helpers to derive each step's small inputs.
import type { Role, SecretRef } from './schema';

export type { Role, SecretRef } from './schema';
import type { ProductId } from '../products/types';

export type { ProductId } from '../products/types';

/** The logical secrets a deploy may need; rendered into files only inside activities. */
export type SecretName = 'etcd_password' | 'dashboard_secret' | 'admin_password';

export interface JumpHost {
  address: string;
  port: number;
  user: string;
}

/** How to reach one host. Paths are absolute on the worker's machine. */
export interface SshTarget {
  host: string;
  address: string;
  port: number;
  user: string;
  identityFile?: string;
  agent: boolean;
  passphrase?: SecretRef;
  /** Wrap privileged commands in sudo (non-root users). */
  sudo: boolean;
  sudoPassword?: SecretRef;
  jump?: JumpHost;
  knownHosts: string;
  hostKeyPolicy: 'strict' | 'accept-new';
  connectTimeoutS: number;
}

export interface HostSpec {
  name: string;
  address: string;
  roles: Role[];
  ssh: SshTarget;
  /** Set on etcd members. */
  etcdName?: string;
}

export interface ImageRef {
  name: string;
  tarball?: string;
}

/**
 * Argv templates an operator gives for faults that take a whole host (`ipmitool ... power off`, a
 * cloud CLI), run on the worker's machine. Elements may hold the placeholders {host} (inventory
 * name) and {address}; nothing is run through a shell.
 */
export interface HostFaultCommands {
  powerOff: string[];
  powerOn: string[];
  disconnect?: string[];
  reconnect?: string[];
  timeoutS: number;
}

/** lab: api7-ha's own lab (its driver is registered from lab/); commands: operator-given argv. */
export type HostFaultDriverSpec = { type: 'lab'; labDir: string } | { type: 'commands'; commands: HostFaultCommands };

/** A drill's stop condition from the inventory: an HTTP check or a Prometheus query. */
export type StopConditionSpec =
  | { name: string; http: { url: string; expectStatus: number; timeoutMs: number; consecutive: number } }
  | { name: string; prometheus: { url: string; query: string; threshold: number; when: 'above' | 'below' } };

/** A webhook notifications go to; its URL stays a reference (it is a secret). */
export interface WebhookSpec {
  name: string;
  url: SecretRef;
  format: 'json' | 'slack';
  /** Event types it gets; empty: all. */
  events: string[];
  timeoutS: number;
}

export interface ClusterSpec {
  cluster: { name: string; clusterId: string };
  product: ProductId;
  allowNoHa: boolean;
  inventoryPath: string;
  hosts: HostSpec[];
  packages: {
    controlPlane: string;
    dataPlane: string;
    etcdImage: ImageRef;
    haproxyImage?: ImageRef;
  };
  etcd: {
    dataDir: string;
    containerName: string;
    clusterToken: string;
    clientPort: number;
    peerPort: number;
    enableV2: boolean;
    heartbeatIntervalMs?: number;
    electionTimeoutMs?: number;
    /** ETCD_AUTO_COMPACTION_MODE / _RETENTION and ETCD_QUOTA_BACKEND_BYTES on every member. */
    autoCompactionMode: 'periodic' | 'revision';
    autoCompactionRetention: string;
    quotaBackendBytes: number;
    auth: { enabled: boolean; user: string };
    tls: {
      enabled: boolean;
      expiryWarningDays: number;
      caFile?: string;
      serverCertFile?: string;
      serverKeyFile?: string;
      clientCertFile?: string;
      clientKeyFile?: string;
    };
  };
  controlPlane: { installDir: string; adminUser: string; tokenExpireS: number };
  dataPlane: { installDir: string; batchSize: number; failureBudget: number };
  loadBalancer: {
    mode: 'managed' | 'external';
    controlPlanePort: number;
    dataPlanePort: number;
    statsPort: number;
    /** HAProxy's runtime API on the LB host's loopback (upgrades drain and re-admit backends through it). */
    runtimeApiPort: number;
    installDir: string;
    checkIntervalMs: number;
    fall: number;
    rise: number;
    external?: { controlPlaneUrl: string; dataPlaneUrl: string };
  };
  verification: {
    host: string;
    path: string;
    expectStatus: number;
    upstream?: string;
    routeId: string;
    deadlineS: number;
  };
  failover: { enabled: boolean; recoveryDeadlineS: number };
  drills: {
    probeRatePerS: number;
    holdS: number;
    scenarios?: string[];
    /** How host-loss and etcd-partition faults are made; absent: those scenarios are refused. */
    hostFaultDriver?: HostFaultDriverSpec;
    /** etcd-quorum-loss and other scenarios whose rollback is a restore. */
    allowDestructive: boolean;
    thresholds: {
      dpMaxOutageMs: number;
      cpMaxOutageMs: number;
      etcdCpWriteRecoveryMs: number;
      etcdDpMaxFailures: number;
      recoveryDeadlineS: number;
      propagationP99Ms?: number;
      propagationStaleMs?: number;
    };
    /** Checked while a fault holds; one that fires aborts it. Absent in specs from before they existed. */
    stopConditions?: StopConditionSpec[];
  };
  /** Who hears about runs. Absent in specs from before notifications existed. */
  notifications?: { reportUrl?: string; webhooks: WebhookSpec[] };
  backup: {
    /** Absolute folder on the worker's machine (shared by every worker). */
    dir: string;
    retention: number;
    verify: boolean;
    verifyToolsDir?: string;
  };
  /** Secret references by logical name; activities resolve them on the worker. */
  secrets: Partial<Record<SecretName, SecretRef>>;
}

export const hostsWithRole = (spec: Pick<ClusterSpec, 'hosts'>, role: Role): HostSpec[] =>
  spec.hosts.filter((h) => h.roles.includes(role));

export const etcdMembers = (spec: Pick<ClusterSpec, 'hosts'>): HostSpec[] => hostsWithRole(spec, 'etcd');
export const controlPlaneHosts = (spec: Pick<ClusterSpec, 'hosts'>): HostSpec[] => hostsWithRole(spec, 'control_plane');
export const dataPlaneHosts = (spec: Pick<ClusterSpec, 'hosts'>): HostSpec[] => hostsWithRole(spec, 'data_plane');
export const loadBalancerHosts = (spec: Pick<ClusterSpec, 'hosts'>): HostSpec[] => hostsWithRole(spec, 'load_balancer');

export function hostByName(spec: Pick<ClusterSpec, 'hosts'>, name: string): HostSpec {
  const host = spec.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no host named ${name} in the inventory`);
  return host;
}

/** etcd URL scheme for clients and peers. */
export const etcdScheme = (spec: Pick<ClusterSpec, 'etcd'>): 'http' | 'https' => (spec.etcd.tls.enabled ? 'https' : 'http');

/** "addr:port" for each member, in inventory order (the runbook's endpoint list). */
export const etcdClientEndpoints = (spec: Pick<ClusterSpec, 'hosts' | 'etcd'>): string[] =>
  etcdMembers(spec).map((h) => `${h.address}:${spec.etcd.clientPort}`);

/** Split a list into batches of at most `size`, preserving order. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
