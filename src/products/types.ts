// What a product (API7 EE 2.13, Apache APISIX 3) looks like to the tool: its packages, config files,
// ports, health checks and route API. Everything product-specific lives behind this interface, one
// module per product; the rest of the tool never names a product's file or port directly.
/** The products the tool knows; an inventory names one. Defined here, below the inventory, which validates against each product's facts. */
export type ProductId = 'api7-ee-2.13' | 'apisix-3';

export interface HttpRequestSpec {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** An APISIX-shaped route: what verification and drills write through the control plane. */
export interface ProbeRoute {
  uri: string;
  host: string;
  methods?: string[];
  upstreamNodes: Record<string, number>;
  /** Free-form label so probes written by drills can be told apart. */
  desc?: string;
}

export interface EtcdClientSettings {
  /** "addr:port" per member. */
  endpoints: string[];
  scheme: 'http' | 'https';
  /** Set when etcd auth is on; the password is rendered from the etcd_password secret. */
  authUser?: string;
  /** Set when etcd TLS is on: file names inside the product's conf dir's certs/ folder. */
  tls?: boolean;
}

export interface ControlPlaneConfigInput {
  etcd: EtcdClientSettings;
  port: number;
  /** Whether a shared authentication.secret is configured (rendered from dashboard_secret). */
  sharedSecret: boolean;
  adminUser: string;
  /** Whether an admin password secret is configured (rendered from admin_password). */
  adminPassword: boolean;
  tokenExpireS: number;
}

export interface DataPlaneConfigInput {
  etcd: EtcdClientSettings;
  clusterId: string;
}

export interface ComponentProfile {
  /** The compose service the runbook starts (`docker compose up api7-dashboard -d`). */
  service: string;
  /** Config file inside the extracted package, e.g. dashboard_conf/conf.yaml. */
  configPath: string;
  /** The package folder mounted into the container as its conf dir (certificates go in certs/). */
  confDirInPackage: string;
  /** The same folder as the container sees it. */
  confDirInContainer: string;
  /** Host ports the component binds (host networking), for preflight and port-clash checks. */
  ports: number[];
  /** HTTP health check the load balancer and the rollout use. */
  health: { port: number; path: string; expect: number };
}

export interface ControlPlaneProfile extends ComponentProfile {
  /** The line the dashboard logs once it listens (the runbook checks `docker logs` for it). */
  readyLogLine: string;
  renderConfig(input: ControlPlaneConfigInput): string;
}

export interface DataPlaneProfile extends ComponentProfile {
  /** Port that serves proxied traffic (the data plane load balancer's backend port). */
  httpPort: number;
  httpsPort: number;
  metricsPort: number;
  /** etcd key prefix the gateways of one cluster read. */
  etcdPrefix(clusterId: string): string;
  renderConfig(input: DataPlaneConfigInput): string;
}

export interface RouteApi {
  login(username: string, password: string): HttpRequestSpec;
  tokenFrom(responseBody: unknown): string;
  authHeaders(token: string): Record<string, string>;
  putRoute(clusterId: string, id: string, route: ProbeRoute): HttpRequestSpec;
  getRoute(clusterId: string, id: string): HttpRequestSpec;
  deleteRoute(clusterId: string, id: string): HttpRequestSpec;
  listRoutes(clusterId: string): HttpRequestSpec;
}

export interface ProductProfile {
  id: ProductId;
  displayName: string;
  /** etcd key prefix of the control plane. */
  etcdPrefix: string;
  controlPlane: ControlPlaneProfile;
  dataPlane: DataPlaneProfile;
  routeApi: RouteApi;
}

/** The placeholder a renderer writes where a secret goes; activities substitute it, plans show it. */
export const secretPlaceholder = (name: 'etcd_password' | 'dashboard_secret' | 'admin_password'): string => `__SECRET_${name}__`;

/** The serializable part of a profile that workflows need (they never import renderers). */
export interface ProductFacts {
  id: ProductId;
  controlPlane: { service: string; ports: number[]; port: number; health: { port: number; path: string; expect: number } };
  dataPlane: { service: string; ports: number[]; httpPort: number; health: { port: number; path: string; expect: number } };
}

export function factsOf(p: ProductProfile): ProductFacts {
  return {
    id: p.id,
    controlPlane: { service: p.controlPlane.service, ports: p.controlPlane.ports, port: p.controlPlane.health.port, health: p.controlPlane.health },
    dataPlane: { service: p.dataPlane.service, ports: p.dataPlane.ports, httpPort: p.dataPlane.httpPort, health: p.dataPlane.health },
  };
}
