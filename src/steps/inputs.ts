// What each runbook step sends to one host, derived from the ClusterSpec, and the types of those
// inputs, which the reconcile functions take. Pure (workflows import it): activities receive only
// what their host needs, so history stays small at 1,000 hosts.
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

/** The probe route (Host + path -> the upstream) that verification, gateways' health checks and drills use. */
export interface ProbeSettings {
  host: string;
  path: string;
  expectStatus: number;
  upstream: string;
  routeId: string;
}

/** Where the image tarballs and packages go on every host. */
export const stagingDir = (spec: ClusterSpec) => `${spec.dataPlane.installDir}/packages`;

/**
 * A run's stamp: its start time in UTC, to the second (20261125T030000Z). Suffix of the backups a run
 * makes (the same on every retry of a step) and part of drill IDs.
 */
export const stampOf = (t: Date): string => t.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

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
    autoCompactionMode: spec.etcd.autoCompactionMode,
    autoCompactionRetention: spec.etcd.autoCompactionRetention,
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
      runtimeApiPort: lb.runtimeApiPort,
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

/** One host's part of a component rollout: its package (delivery) and its component (activation). */
export interface RolloutItem {
  pkg: PackageStep;
  comp: ComponentStep;
}

/** The facts the packages give (sha256, folders, image IDs), as inspectArtifacts reads them. */
export interface InspectedPackages {
  controlPlane: PackageInfo;
  dataPlane: PackageInfo;
  etcdImage?: { sha256: string; id: string; fileName: string };
  haproxyImage?: { sha256: string; id: string; fileName: string };
}

/** Every host's inputs, once the packages are inspected and preflight found each host's compose. */
export interface DeployHosts {
  members: EtcdMemberStep[];
  controlPlane: RolloutItem[];
  dataPlane: RolloutItem[];
  /** The HAProxy image to every managed load balancer host, and each one's HAProxy. */
  loadBalancerImages: (HostStep & { image: ImageDelivery })[];
  loadBalancers: LoadBalancerStep[];
}

/**
 * Everything the deploy's steps send, derived from the inventory once: the runbook reads these,
 * never the ClusterSpec itself.
 */
export interface DeployInputs {
  cluster: string;
  product: ProductId;
  artifacts: ArtifactPaths;
  /** Every host's preflight. */
  preflight: PreflightInput[];
  quorum: QuorumCheckInput;
  endpoints: Endpoints;
  probe: ProbeSettings;
  /** The first dashboard: the probe route is written through it before the load balancers are up. */
  firstDashboard: ApiTarget;
  /** The control plane through its load balancer (verification). */
  controlPlane: ApiTarget;
  loadBalancerChecks: { cpHealthPath: string; probe: { host: string; path: string; expectStatus: number } };
  managedLoadBalancers: boolean;
  dataPlane: { batchSize: number; failureBudget: number };
  verificationDeadlineS: number;
  hosts(packages: InspectedPackages, composeOf: (host: string) => ComposeVariant, stamp: string): DeployHosts;
}

export function deployInputs(spec: ClusterSpec, product: ProductFacts, fixFirewall: boolean): DeployInputs {
  const endpoints = endpointsOf(spec);
  const probe = probeSettings(spec);
  const managed = spec.loadBalancer.mode === 'managed' && !!spec.packages.haproxyImage;
  const firstDashboard = controlPlaneHosts(spec)[0];
  return {
    cluster: spec.cluster.name,
    product: spec.product,
    artifacts: artifactPaths(spec),
    preflight: spec.hosts.map((h) => preflightInput(spec, h, product, fixFirewall)),
    quorum: quorumCheckInput(spec),
    endpoints,
    probe,
    firstDashboard: apiTarget(spec, firstDashboard ? dashboardUrl(firstDashboard, product) : endpoints.controlPlane),
    controlPlane: apiTarget(spec, endpoints.controlPlane),
    loadBalancerChecks: { cpHealthPath: product.controlPlane.health.path, probe: { host: probe.host, path: probe.path, expectStatus: probe.expectStatus } },
    managedLoadBalancers: managed,
    dataPlane: { batchSize: spec.dataPlane.batchSize, failureBudget: spec.dataPlane.failureBudget },
    verificationDeadlineS: spec.verification.deadlineS,
    hosts(packages, composeOf, stamp) {
      const rollout = (c: Component, hosts: HostSpec[], pkg: PackageInfo): RolloutItem[] =>
        hosts.map((h) => ({ pkg: packageStep(spec, h, c, pkg), comp: componentStep(spec, h, c, pkg, composeOf(h.name), stamp) }));
      const etcdImage = imageDelivery(spec, spec.packages.etcdImage, packages.etcdImage);
      const tls = tlsFiles(spec, true);
      const lbImage = spec.packages.haproxyImage && imageDelivery(spec, spec.packages.haproxyImage, packages.haproxyImage);
      const lbHosts = managed && lbImage ? loadBalancerHosts(spec) : [];
      return {
        members: etcdMembers(spec).map((h) => ({ target: h.ssh, secrets: spec.secrets, member: etcdMemberInput(spec, h), image: etcdImage, ...(tls ? { tlsFiles: tls } : {}) })),
        controlPlane: rollout('control_plane', controlPlaneHosts(spec), packages.controlPlane),
        dataPlane: rollout('data_plane', dataPlaneHosts(spec), packages.dataPlane),
        loadBalancerImages: lbHosts.map((h) => ({ target: h.ssh, secrets: spec.secrets, image: lbImage! })),
        loadBalancers: lbHosts.map((h) => loadBalancerInput(spec, h, lbImage!, product, stamp)),
      };
    },
  };
}

/** A dashboard's own URL. */
export const dashboardUrl = (h: { address: string }, product: ProductFacts) => `http://${h.address}:${product.controlPlane.port}`;
