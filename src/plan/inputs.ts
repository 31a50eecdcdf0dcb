// Each runbook step's input for one host, derived from the ClusterSpec. Pure (workflows import it):
// activities receive only what their host needs, so history stays small at 1,000 hosts.
import {
  controlPlaneHosts,
  dataPlaneHosts,
  etcdClientEndpoints,
  etcdMembers,
  loadBalancerHosts,
  type ClusterSpec,
  type HostSpec,
  type ProductId,
  type SecretName,
  type SecretRef,
  type SshTarget,
} from '../inventory/model';
import type { EtcdMemberInput, EtcdctlTarget } from '../commands/etcd';
import type { ComposeVariant } from '../commands/compose';
import type { HaproxyInput } from '../commands/haproxy';
import type { ProductFacts } from '../products/types';
import type { ProbeSettings } from '../reconcile/verify';
import { rolePorts } from '../inventory/ports';

export type { HostPorts } from '../inventory/ports';

/** The managed load balancer's container (also in commands/haproxy; repeated here to keep this file pure). */
export const LB_CONTAINER = 'api7-ha-lb';

export type Component = 'control_plane' | 'data_plane';
export type Secrets = Partial<Record<SecretName, SecretRef>>;

/** What every per-host activity needs to reach its host. */
export interface HostStep {
  target: SshTarget;
  /** Secret references the step may render (never values). */
  secrets: Secrets;
}

export interface PreflightInput extends HostStep {
  cluster: string;
  roles: HostSpec['roles'];
  ports: { port: number; role: HostSpec['roles'][number] }[];
  /** The containers that may hold a role's ports: this tool's own from an earlier run. */
  owners: Partial<Record<HostSpec['roles'][number], { container?: string; composeService?: string }>>;
  /** Folders whose filesystem needs free space (data dir, install dirs). */
  paths: string[];
  fixFirewall: boolean;
}

export interface ImageDelivery {
  name: string;
  /** Local tarball to upload and `docker load` when the image is missing. */
  tarball?: string;
  sha256?: string;
  /** The image ID the tarball holds (read on the worker), to skip loading when present. */
  id?: string;
  /** Where the tarball goes on the host. */
  remoteTarball?: string;
}

export interface EtcdMemberStep extends HostStep {
  member: EtcdMemberInput;
  image: ImageDelivery;
  tlsFiles?: TlsFiles;
  /** A new member joining a running cluster after `member add` (state existing, empty data dir). */
  joining?: boolean;
}

export interface TlsFiles {
  caFile: string;
  serverCertFile?: string;
  serverKeyFile?: string;
  clientCertFile: string;
  clientKeyFile: string;
}

export interface QuorumCheckInput {
  /** Hosts whose member container can run etcdctl (tried in order). */
  via: { target: SshTarget; containerName: string }[];
  etcdctl: Omit<EtcdctlTarget, 'containerName'>;
  expectedMembers: { name: string; peerUrl: string }[];
  deadlineS: number;
  secrets: Secrets;
  /** The members' quota: a backend near it is warned about before NOSPACE. */
  quotaBytes?: number;
}

export interface PackageInfo {
  localPath: string;
  fileName: string;
  sha256: string;
  /** The folder the tarball extracts to (e.g. api7-2.13.2304-cp). */
  topDir: string;
  /** Files inside topDir; their presence means the package is extracted. */
  files: string[];
  /** Image tarballs inside the package and the image IDs they hold. */
  images: { file: string; id: string; tags: string[] }[];
}

export interface PackageStep extends HostStep {
  component: Component;
  installDir: string;
  pkg: PackageInfo;
}

export interface ComponentStep extends HostStep {
  cluster: string;
  clusterId: string;
  product: ProductId;
  component: Component;
  /** Extracted package folder on the host. */
  packageDir: string;
  /** From preflight; "auto" asks the host (drills, which run without a preflight). */
  compose: ComposeVariant | 'auto';
  etcdEndpoints: string[];
  etcdScheme: 'http' | 'https';
  etcdAuthUser?: string;
  tlsFiles?: TlsFiles;
  adminUser: string;
  tokenExpireS: number;
  /** Probe the gateway answers once healthy (data plane). */
  probe: { host: string; path: string; expectStatus: number };
  healthDeadlineS: number;
  stamp: string;
}

export interface LoadBalancerStep extends HostStep {
  cluster: string;
  installDir: string;
  image: ImageDelivery;
  haproxy: HaproxyInput;
  stamp: string;
}

export interface ApiTarget {
  product: ProductId;
  clusterId: string;
  /** Base URL of a dashboard or the control plane load balancer. */
  baseUrl: string;
  adminUser: string;
  secrets: Secrets;
}

export interface Endpoints {
  controlPlane: string;
  dataPlane: string;
}

/** Where the image tarballs and packages go on every host. */
export const stagingDir = (spec: ClusterSpec) => `${spec.dataPlane.installDir}/packages`;

export function secretsFor(spec: ClusterSpec): Secrets {
  return spec.secrets;
}

export function etcdMemberInput(spec: ClusterSpec, host: HostSpec): EtcdMemberInput {
  const members = etcdMembers(spec).map((h) => ({ name: h.etcdName ?? h.name, address: h.address }));
  return {
    cluster: spec.cluster.name,
    member: { name: host.etcdName ?? host.name, address: host.address },
    members,
    image: spec.packages.etcdImage.name,
    containerName: spec.etcd.containerName,
    dataDir: spec.etcd.dataDir,
    clusterToken: spec.etcd.clusterToken,
    clientPort: spec.etcd.clientPort,
    peerPort: spec.etcd.peerPort,
    enableV2: spec.etcd.enableV2,
    ...(spec.etcd.heartbeatIntervalMs ? { heartbeatIntervalMs: spec.etcd.heartbeatIntervalMs } : {}),
    ...(spec.etcd.electionTimeoutMs ? { electionTimeoutMs: spec.etcd.electionTimeoutMs } : {}),
    autoCompaction: { mode: spec.etcd.autoCompactionMode, retention: spec.etcd.autoCompactionRetention },
    quotaBackendBytes: spec.etcd.quotaBackendBytes,
    auth: spec.etcd.auth,
    tls: spec.etcd.tls.enabled,
  };
}

export function tlsFiles(spec: ClusterSpec, withServer: boolean): TlsFiles | undefined {
  const t = spec.etcd.tls;
  if (!t.enabled || !t.caFile || !t.clientCertFile || !t.clientKeyFile) return undefined;
  return {
    caFile: t.caFile,
    clientCertFile: t.clientCertFile,
    clientKeyFile: t.clientKeyFile,
    ...(withServer && t.serverCertFile && t.serverKeyFile ? { serverCertFile: t.serverCertFile, serverKeyFile: t.serverKeyFile } : {}),
  };
}

export function etcdctlSettings(spec: ClusterSpec): Omit<EtcdctlTarget, 'containerName'> {
  return { endpoints: etcdClientEndpoints(spec), auth: spec.etcd.auth, tls: spec.etcd.tls.enabled };
}

export function quorumCheckInput(spec: ClusterSpec, deadlineS = 120): QuorumCheckInput {
  const scheme = spec.etcd.tls.enabled ? 'https' : 'http';
  return {
    via: etcdMembers(spec).map((h) => ({ target: h.ssh, containerName: spec.etcd.containerName })),
    etcdctl: etcdctlSettings(spec),
    expectedMembers: etcdMembers(spec).map((h) => ({ name: h.etcdName ?? h.name, peerUrl: `${scheme}://${h.address}:${spec.etcd.peerPort}` })),
    deadlineS,
    secrets: spec.secrets,
    quotaBytes: spec.etcd.quotaBackendBytes,
  };
}

export function componentStep(
  spec: ClusterSpec,
  host: HostSpec,
  component: Component,
  pkg: PackageInfo,
  compose: ComposeVariant | 'auto',
  stamp: string,
): ComponentStep {
  const installDir = component === 'control_plane' ? spec.controlPlane.installDir : spec.dataPlane.installDir;
  const tls = tlsFiles(spec, false);
  return {
    target: host.ssh,
    secrets: spec.secrets,
    cluster: spec.cluster.name,
    clusterId: spec.cluster.clusterId,
    product: spec.product,
    component,
    packageDir: `${installDir}/${pkg.topDir}`,
    compose,
    etcdEndpoints: etcdClientEndpoints(spec),
    etcdScheme: spec.etcd.tls.enabled ? 'https' : 'http',
    ...(spec.etcd.auth.enabled ? { etcdAuthUser: spec.etcd.auth.user } : {}),
    ...(tls ? { tlsFiles: tls } : {}),
    adminUser: spec.controlPlane.adminUser,
    tokenExpireS: spec.controlPlane.tokenExpireS,
    probe: { host: spec.verification.host, path: spec.verification.path, expectStatus: spec.verification.expectStatus },
    healthDeadlineS: 120,
    stamp,
  };
}

export function packageStep(spec: ClusterSpec, host: HostSpec, component: Component, pkg: PackageInfo): PackageStep {
  return {
    target: host.ssh,
    secrets: spec.secrets,
    component,
    installDir: component === 'control_plane' ? spec.controlPlane.installDir : spec.dataPlane.installDir,
    pkg,
  };
}

export function imageDelivery(spec: ClusterSpec, image: { name: string; tarball?: string }, info?: { sha256: string; id: string; fileName: string }): ImageDelivery {
  return {
    name: image.name,
    ...(image.tarball && info ? { tarball: image.tarball, sha256: info.sha256, id: info.id, remoteTarball: `${stagingDir(spec)}/${info.fileName}` } : {}),
  };
}

export function preflightInput(spec: ClusterSpec, host: HostSpec, product: ProductFacts, fixFirewall: boolean): PreflightInput {
  const ports = rolePorts(spec, { controlPlane: product.controlPlane.ports, dataPlane: product.dataPlane.ports });
  const paths = new Set<string>([stagingDir(spec)]);
  if (host.roles.includes('etcd')) paths.add(spec.etcd.dataDir);
  if (host.roles.includes('control_plane')) paths.add(spec.controlPlane.installDir);
  if (host.roles.includes('data_plane')) paths.add(spec.dataPlane.installDir);
  if (host.roles.includes('load_balancer')) paths.add(spec.loadBalancer.installDir);
  return {
    target: host.ssh,
    secrets: spec.secrets,
    cluster: spec.cluster.name,
    roles: host.roles,
    ports: host.roles.flatMap((role) => ports[role].map((port) => ({ port, role }))),
    owners: {
      etcd: { container: spec.etcd.containerName },
      control_plane: { composeService: product.controlPlane.service },
      data_plane: { composeService: product.dataPlane.service },
      load_balancer: { container: LB_CONTAINER },
    },
    paths: [...paths],
    fixFirewall,
  };
}

export function loadBalancerInput(spec: ClusterSpec, host: HostSpec, image: ImageDelivery, product: ProductFacts, stamp: string): LoadBalancerStep {
  const lb = spec.loadBalancer;
  return {
    target: host.ssh,
    secrets: spec.secrets,
    cluster: spec.cluster.name,
    installDir: lb.installDir,
    image,
    stamp,
    haproxy: {
      cluster: spec.cluster.name,
      controlPlane: {
        port: lb.controlPlanePort,
        health: product.controlPlane.health,
        backends: controlPlaneHosts(spec).map((h) => ({ name: h.name, address: h.address, port: product.controlPlane.port })),
      },
      dataPlane: {
        port: lb.dataPlanePort,
        health: product.dataPlane.health,
        backends: dataPlaneHosts(spec).map((h) => ({ name: h.name, address: h.address, port: product.dataPlane.httpPort })),
      },
      statsPort: lb.statsPort,
      checkIntervalMs: lb.checkIntervalMs,
      fall: lb.fall,
      rise: lb.rise,
    },
  };
}

/** The URLs operators and checks use: managed LBs are the first load_balancer host. */
export function endpointsOf(spec: ClusterSpec): Endpoints {
  const lb = spec.loadBalancer;
  if (lb.mode === 'external' && lb.external) return { controlPlane: lb.external.controlPlaneUrl, dataPlane: lb.external.dataPlaneUrl };
  const host = loadBalancerHosts(spec)[0];
  const addr = host?.address ?? '127.0.0.1';
  return {
    controlPlane: `http://${addr}${lb.controlPlanePort === 80 ? '' : `:${lb.controlPlanePort}`}`,
    dataPlane: `http://${addr}${lb.dataPlanePort === 80 ? '' : `:${lb.dataPlanePort}`}`,
  };
}

export function apiTarget(spec: ClusterSpec, baseUrl: string): ApiTarget {
  return { product: spec.product, clusterId: spec.cluster.clusterId, baseUrl, adminUser: spec.controlPlane.adminUser, secrets: spec.secrets };
}

export interface ArtifactPaths {
  controlPlane: string;
  dataPlane: string;
  etcdImage?: string;
  haproxyImage?: string;
}

/** The local files an inventory names: packages and image tarballs. */
export function artifactPaths(spec: ClusterSpec): ArtifactPaths {
  return {
    controlPlane: spec.packages.controlPlane,
    dataPlane: spec.packages.dataPlane,
    ...(spec.packages.etcdImage.tarball ? { etcdImage: spec.packages.etcdImage.tarball } : {}),
    ...(spec.packages.haproxyImage?.tarball ? { haproxyImage: spec.packages.haproxyImage.tarball } : {}),
  };
}

/** The probe route and request verification and drills use (Host + path -> the upstream). */
export function probeSettings(spec: ClusterSpec): ProbeSettings {
  return {
    host: spec.verification.host,
    path: spec.verification.path,
    expectStatus: spec.verification.expectStatus,
    upstream: spec.verification.upstream ?? '',
    routeId: spec.verification.routeId,
  };
}
