// The vendor-shaped install packages: `tar -zxvf api7-2.13.2304-cp.tar.gz` gives
// api7-2.13.2304-cp/{docker-compose.yaml, dashboard_conf/conf.yaml, images/...}, then
// `docker load < images/api7-dashboard-2.13.2304.tar.gz` and `docker compose up -d`.
import { DASHBOARD_HOME, type Flavor, GATEWAY_HOME, VENDOR_IMAGES } from './images';
import { API7_DASHBOARD_CONF, API7_GATEWAY_CONFIG, APISIX_DASHBOARD_CONF, APISIX_GATEWAY_CONFIG, composeFile, type PackageNetwork } from './templates';

export type PackageKey = 'api7ControlPlane' | 'api7DataPlane' | 'apisixControlPlane' | 'apisixDataPlane';

export interface PackagePlan {
  key: PackageKey;
  /** Top directory inside the tarball; the tarball is `${top}.tar.gz`. */
  top: string;
  flavor: Flavor;
  role: 'dashboard' | 'gateway';
  /** The compose service name. */
  service: string;
  /** Files relative to `top`, with their contents. */
  files: Record<string, string>;
  /** Empty directories the package carries (mounted log directories). */
  emptyDirs: string[];
  /** Where the nested image tarball goes, relative to `top`. */
  imagePath: string;
}

export function packagePlans(network: PackageNetwork = 'bridge'): PackagePlan[] {
  const a = VENDOR_IMAGES.api7;
  const x = VENDOR_IMAGES.apisix;
  return [
    {
      key: 'api7ControlPlane',
      top: 'api7-2.13.2304-cp',
      flavor: 'api7',
      role: 'dashboard',
      service: 'api7-dashboard',
      imagePath: `images/${a.dashboard.file}`,
      emptyDirs: ['dashboard_logs'],
      files: {
        'docker-compose.yaml': composeFile({
          title: 'API7 Enterprise 2.13.2304 control plane: API7-Dashboard (runbook: docker compose up api7-dashboard -d)',
          service: 'api7-dashboard',
          image: a.dashboard.name,
          volumes: [`./dashboard_conf:${DASHBOARD_HOME}/conf`, `./dashboard_logs:${DASHBOARD_HOME}/logs`],
          ports: [9000],
        }, network),
        'dashboard_conf/conf.yaml': API7_DASHBOARD_CONF,
      },
    },
    {
      key: 'api7DataPlane',
      top: 'api7-2.13.2304-dp',
      flavor: 'api7',
      role: 'gateway',
      service: 'api7-gateway',
      imagePath: `images/${a.gateway.file}`,
      emptyDirs: ['gateway_logs'],
      files: {
        'docker-compose.yaml': composeFile({
          title: 'API7 Enterprise 2.13.2304 data plane: API7-Gateway (runbook: docker compose up -d)',
          service: 'api7-gateway',
          image: a.gateway.name,
          volumes: [`./gateway_conf:${GATEWAY_HOME}/conf`, `./gateway_logs:${GATEWAY_HOME}/logs`],
          ports: [80, 443, 9091],
        }, network),
        'gateway_conf/config.yaml': API7_GATEWAY_CONFIG,
      },
    },
    {
      key: 'apisixControlPlane',
      top: 'apisix-dashboard-3.0.1-cp',
      flavor: 'apisix',
      role: 'dashboard',
      service: 'apisix-dashboard',
      imagePath: `images/${x.dashboard.file}`,
      emptyDirs: ['dashboard_logs'],
      files: {
        'docker-compose.yaml': composeFile({
          title: 'apisix-dashboard 3.0.1 control plane (apache/apisix-docker example layout)',
          service: 'apisix-dashboard',
          image: x.dashboard.name,
          // A directory mount, not the example's single-file mount: a file replaced by rename
          // (how configs are rewritten safely) would stay invisible behind a file bind mount.
          volumes: [`./dashboard_conf:${DASHBOARD_HOME}/conf`, `./dashboard_logs:${DASHBOARD_HOME}/logs`],
          ports: [9000],
        }, network),
        'dashboard_conf/conf.yaml': APISIX_DASHBOARD_CONF,
      },
    },
    {
      key: 'apisixDataPlane',
      top: 'apisix-3.9.1-dp',
      flavor: 'apisix',
      role: 'gateway',
      service: 'apisix',
      imagePath: `images/${x.gateway.file}`,
      emptyDirs: ['apisix_logs'],
      files: {
        'docker-compose.yaml': composeFile({
          title: 'APISIX 3.9.1 data plane (apache/apisix-docker example layout)',
          service: 'apisix',
          image: x.gateway.name,
          volumes: [`./apisix_conf:${GATEWAY_HOME}/conf`, `./apisix_logs:${GATEWAY_HOME}/logs`],
          ports: [9080, 9443, 9091, 7085],
        }, network),
        'apisix_conf/config.yaml': APISIX_GATEWAY_CONFIG,
      },
    },
  ];
}
