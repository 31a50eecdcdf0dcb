// The managed load balancers: one HAProxy container per load_balancer host with two frontends, one
// before the dashboards (control plane) and one before the gateways (data plane).
//
// Failover timing (field notes): HAProxy checks every 2 s by default, and a setup with `inter 10s
// fall 3` stayed broken ~30 s after a node loss. Here checks run every check_interval_ms (250 ms) and
// a backend leaves rotation after `fall` failures (~0.5 s); meanwhile a request that hits a dead
// backend is retried on another one (retries + redispatch), so clients see no error.
import { LABELS, type ContainerRunSpec } from './docker';
import type { FileSpec } from './types';

export interface LbBackend {
  name: string;
  address: string;
  port: number;
}

export interface LbPool {
  port: number;
  backends: LbBackend[];
  health: { port: number; path: string; expect: number };
}

export interface HaproxyInput {
  cluster: string;
  controlPlane: LbPool;
  dataPlane: LbPool;
  statsPort: number;
  /** The runtime API (upgrades: drain, ready), on the host's loopback only; absent: none. */
  runtimeApiPort?: number;
  checkIntervalMs: number;
  fall: number;
  rise: number;
}

export const CONTAINER_NAME = 'api7-ha-lb';
export const CONFIG_IN_CONTAINER = '/usr/local/etc/haproxy';

function backend(name: string, pool: LbPool, input: HaproxyInput): string[] {
  const inter = `${input.checkIntervalMs}ms`;
  return [
    `backend ${name}`,
    '  balance roundrobin',
    `  option httpchk GET ${pool.health.path}`,
    `  http-check expect status ${pool.health.expect}`,
    // A POST or PATCH that reached a backend may have been applied: never sent twice.
    '  http-request disable-l7-retry if METH_POST || { method PATCH }',
    `  default-server inter ${inter} fastinter ${inter} downinter ${inter} fall ${input.fall} rise ${input.rise} on-marked-down shutdown-sessions`,
    ...pool.backends.map((b) => `  server ${b.name} ${b.address}:${b.port} check${pool.health.port !== b.port ? ` port ${pool.health.port}` : ''}`),
  ];
}

export function renderConfig(input: HaproxyInput): string {
  const lines = [
    '# Managed by api7-ha: edits are replaced on the next deploy; earlier versions are kept as *.bak-<time>.',
    'global',
    // No global maxconn: HAProxy derives it from the container's file limit (a fixed 20000 needs
    // 40036 descriptors and crash-loops where the engine's limit is lower).
    '  log stdout format raw local0 notice',
    '  hard-stop-after 30s',
    // The runtime API: upgrades drain a backend and put it back without a reload (loopback only).
    ...(input.runtimeApiPort ? [`  stats socket ipv4@127.0.0.1:${input.runtimeApiPort} level admin`] : []),
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  option dontlognull',
    '  option forwardfor',
    // A powered-off host answers nothing: a connection to it waits for the connect timeout, then is
    // retried on another backend. 500 ms is ~100 round trips of a data centre network, and bounds the
    // extra latency a request sees while a lost host is still in rotation (fall x inter).
    '  timeout connect 500ms',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout queue 5s',
    // A fresh backend connection per request (the client side keeps its keep-alive): a request is
    // never written into an idle connection to a host that has gone away, where it would hang until
    // the backend is marked down and its sessions shut. Costs one LAN handshake per request.
    '  option http-server-close',
    // Layer-7 retries: a request that finds a backend gone (connection refused or timed out, closed
    // without an answer) is sent again, to another backend (redispatch), before the client sees an
    // error. Non-idempotent requests (POST, PATCH) are retried only when they never reached a backend
    // (a connection failure), see disable-l7-retry in each backend.
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response response-timeout',
    '',
    'frontend control_plane',
    `  bind :${input.controlPlane.port}`,
    '  default_backend dashboards',
    '',
    ...backend('dashboards', input.controlPlane, input),
    '',
    'frontend data_plane',
    `  bind :${input.dataPlane.port}`,
    '  default_backend gateways',
    '',
    ...backend('gateways', input.dataPlane, input),
    '',
    'frontend stats',
    `  bind :${input.statsPort}`,
    '  http-request use-service prometheus-exporter if { path /metrics }',
    '  stats enable',
    '  stats uri /stats',
    '  stats refresh 5s',
    '',
  ];
  return lines.join('\n');
}

export const configFile = (installDir: string, input: HaproxyInput): FileSpec => ({
  path: `${installDir}/haproxy.cfg`,
  content: renderConfig(input),
  mode: 0o644,
  secrets: 'none',
  backup: true,
  describe: 'HAProxy configuration of the control plane and data plane frontends',
});

export function runSpec(installDir: string, image: string, cluster: string, configHash: string): ContainerRunSpec {
  return {
    name: CONTAINER_NAME,
    image,
    restart: 'always',
    network: 'host',
    volumes: [`${installDir}:${CONFIG_IN_CONTAINER}:ro`],
    env: [],
    envFiles: [],
    labels: [
      [LABELS.managedBy, 'api7-ha'],
      [LABELS.cluster, cluster],
      [LABELS.role, 'load_balancer'],
      [LABELS.configHash, configHash],
    ],
  };
}
