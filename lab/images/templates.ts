// The files shipped in the vendor-shaped packages (and baked into the images as defaults):
// docker-compose.yaml files and the configuration templates an operator edits before
// `docker compose up`. The api7-ha tool overwrites the configs (keeping a backup).

/** The note a host-network variant carries (an operator's edit of the vendor's file). */
const HOST_NETWORK_NOTE = `# Host-network variant (an operator's edit): network_mode: host instead of the vendor's
# project network and published ports; the container binds the host's ports directly, as
# the runbook runs etcd.`;

/** API7 2.13 dashboard_conf/conf.yaml: the runbook's template, nested as YAML needs. */
export const API7_DASHBOARD_CONF = `# API7-Dashboard 2.13.2304 configuration (template shipped in api7-2.13.2304-cp.tar.gz).
# Edit the etcd endpoints and the secret before "docker compose up -d api7-dashboard".
conf:
  listen:
    host: 0.0.0.0
    port: 9000
  etcd:
    name: "default"
    endpoints:
      - 127.0.0.1:2379
    enable_auth: false
    username: "root"      # ignored unless enable_auth is true
    password: "123456"    # ignored unless enable_auth is true
    mtls:
      enable: false
      key_file: ""        # client key (self-signed)
      cert_file: ""       # client certificate (self-signed)
      ca_file: ""         # CA that signed the etcd server certificate
    prefix: /api7
  log:
    error_log:
      level: warn
      file_path: logs/error.log
authentication:
  # Placeholder. Every dashboard behind one load balancer needs the SAME secret, or a login
  # token issued by one instance is rejected (401) by the others.
  secret: CHANGE_ME_TO_A_SHARED_RANDOM_SECRET
  expire_time: 3600
  users:
    - username: admin
      password: admin
`;

/** API7 2.13 gateway_conf/config.yaml: the runbook's shape. */
export const API7_GATEWAY_CONFIG = `# API7-Gateway 2.13.2304 configuration (template shipped in api7-2.13.2304-dp.tar.gz).
# Edit the etcd hosts and replace \${cluster_id} with the cluster's id from the dashboard.
apisix:
  node_listen: 80
  enable_ipv6: false
  ssl:
    enable: true
    listen_port: 443
etcd:
  host:
    - "http://127.0.0.1:2379"
  prefix: /api7/\${cluster_id}
  timeout: 30
plugin_attr:
  prometheus:
    export_addr:
      ip: 0.0.0.0
      port: 9091
`;

/** apisix-dashboard 3.0.1 conf.yaml, as in apache/apisix-docker's example. */
export const APISIX_DASHBOARD_CONF = `# apisix-dashboard 3.0.1 configuration (template).
conf:
  listen:
    host: 0.0.0.0
    port: 9000
  allow_list:
    - 0.0.0.0/0
  etcd:
    endpoints:
      - "http://127.0.0.1:2379"
    # username: "root"    # used when set (no enable switch in 3.0)
    # password: "123456"
    mtls:
      key_file: ""
      cert_file: ""
      ca_file: ""
    prefix: /apisix
  log:
    error_log:
      level: warn
      file_path: logs/error.log
authentication:
  # Placeholder: the same secret on every dashboard behind one load balancer.
  secret: CHANGE_ME_TO_A_SHARED_RANDOM_SECRET
  expire_time: 3600
  users:
    - username: admin
      password: admin
`;

/** APISIX 3.9 apisix_conf/config.yaml, as in apache/apisix-docker's example. */
export const APISIX_GATEWAY_CONFIG = `# APISIX 3.9.1 configuration (template).
apisix:
  node_listen: 9080
  enable_ipv6: false
  ssl:
    enable: true
    listen:
      - port: 9443
  status:
    ip: 0.0.0.0
    port: 7085
deployment:
  role: traditional
  role_traditional:
    config_provider: etcd
  etcd:
    host:
      - "http://127.0.0.1:2379"
    prefix: /apisix
    timeout: 30
plugin_attr:
  prometheus:
    export_addr:
      ip: 0.0.0.0
      port: 9091
`;

export interface ComposeService {
  service: string;
  image: string;
  volumes: string[];
  /** Container ports published on the host under the same numbers (the vendor's `ports:`). */
  ports: number[];
  title: string;
}

export type PackageNetwork = 'bridge' | 'host';

/**
 * A docker-compose.yaml that docker-compose v1 (1.29, needs the version key) and compose v2
 * both accept. No container_name: as in the vendor's file, compose names the container
 * <project>_<service>_1 (v1) or <project>-<service>-1 (v2), the project being the directory
 * name (dots dropped). As shipped, the service runs on the project's bridge network `api7`
 * (`docker compose down` removes `<project>_api7`) with its ports published (docker ps shows
 * `0.0.0.0:9000->9000/tcp`); the host-network variant is what an operator may change it to.
 */
export function composeFile(s: ComposeService, network: PackageNetwork = 'bridge'): string {
  const volumes = s.volumes.map((v) => `      - ${v}`).join('\n');
  if (network === 'host') {
    return `# ${s.title}
${HOST_NETWORK_NOTE}
version: "3"

services:
  ${s.service}:
    image: ${s.image}
    restart: always
    network_mode: host
    volumes:
${volumes}
`;
  }
  return `# ${s.title}
version: "3"

services:
  ${s.service}:
    image: ${s.image}
    restart: always
    volumes:
${volumes}
    ports:
${s.ports.map((p) => `      - "${p}:${p}/tcp"`).join('\n')}
    networks:
      api7:

networks:
  api7:
    driver: bridge
`;
}
