// Apache APISIX 3 + apisix-dashboard 3.0, in the apache/apisix-docker example layout: the same topology
// as the API7 runbook with APISIX's own config formats (deployment.etcd), ports (9080/9443) and the
// manager-api route API under /apisix/admin.
import { secretPlaceholder, type ControlPlaneConfigInput, type DataPlaneConfigInput, type ProductProfile } from './types';
import { apisixRouteBody, dashboardAuthentication, etcdUrls, renderYaml, tokenFromLoginResponse } from './shared';

const DASHBOARD_CONF = '/usr/local/apisix-dashboard/conf';
const GATEWAY_CONF = '/usr/local/apisix/conf';
const PREFIX = '/apisix';

function renderDashboardConf(input: ControlPlaneConfigInput): string {
  const tls = input.etcd.tls === true;
  return renderYaml({
    conf: {
      listen: { host: '0.0.0.0', port: input.port },
      allow_list: [],
      etcd: {
        endpoints: input.etcd.endpoints,
        ...(input.etcd.authUser !== undefined ? { username: input.etcd.authUser, password: secretPlaceholder('etcd_password') } : {}),
        ...(tls
          ? { mtls: { key_file: `${DASHBOARD_CONF}/certs/client-key.pem`, cert_file: `${DASHBOARD_CONF}/certs/client.pem`, ca_file: `${DASHBOARD_CONF}/certs/ca.pem` } }
          : {}),
        prefix: PREFIX,
      },
      log: { error_log: { level: 'warn', file_path: 'logs/error.log' }, access_log: { file_path: 'logs/access.log' } },
    },
    authentication: dashboardAuthentication(input),
  });
}

function renderApisixConfig(input: DataPlaneConfigInput): string {
  const tls = input.etcd.tls === true;
  return renderYaml({
    apisix: {
      node_listen: 9080,
      enable_ipv6: false,
      ssl: { enable: true, listen_port: 9443, ...(tls ? { ssl_trusted_certificate: `${GATEWAY_CONF}/certs/ca.pem` } : {}) },
      // Exposed (not 127.0.0.1) so the load balancer can health-check /status/ready.
      status: { ip: '0.0.0.0', port: 7085 },
    },
    deployment: {
      role: 'traditional',
      role_traditional: { config_provider: 'etcd' },
      admin: { allow_admin: ['127.0.0.0/24'] },
      etcd: {
        host: etcdUrls(input.etcd),
        prefix: PREFIX,
        timeout: 30,
        startup_retry: 2,
        ...(input.etcd.authUser !== undefined ? { user: input.etcd.authUser, password: secretPlaceholder('etcd_password') } : {}),
        ...(tls ? { tls: { cert: `${GATEWAY_CONF}/certs/client.pem`, key: `${GATEWAY_CONF}/certs/client-key.pem`, verify: true } } : {}),
      },
    },
    plugin_attr: { prometheus: { export_addr: { ip: '0.0.0.0', port: 9091 } } },
  });
}

export const apisix3: ProductProfile = {
  id: 'apisix-3',
  displayName: 'Apache APISIX 3 + apisix-dashboard 3.0',
  etcdPrefix: PREFIX,
  controlPlane: {
    service: 'apisix-dashboard',
    configPath: 'dashboard_conf/conf.yaml',
    confDirInPackage: 'dashboard_conf',
    confDirInContainer: DASHBOARD_CONF,
    ports: [9000],
    health: { port: 9000, path: '/ping', expect: 200 },
    readyLogLine: 'The manager-api is running successfully!',
    renderConfig: renderDashboardConf,
  },
  dataPlane: {
    service: 'apisix',
    configPath: 'apisix_conf/config.yaml',
    confDirInPackage: 'apisix_conf',
    confDirInContainer: GATEWAY_CONF,
    ports: [9080, 9443, 9091, 7085],
    httpPort: 9080,
    httpsPort: 9443,
    metricsPort: 9091,
    // 503 until every worker holds config from etcd: the right signal to put a gateway in rotation.
    health: { port: 7085, path: '/status/ready', expect: 200 },
    // One APISIX cluster per etcd prefix: cluster_id does not change the prefix.
    etcdPrefix: () => PREFIX,
    renderConfig: renderApisixConfig,
  },
  routeApi: {
    login: (username, password) => ({ method: 'POST', path: '/apisix/admin/user/login', body: { username, password } }),
    tokenFrom: tokenFromLoginResponse,
    authHeaders: (token) => ({ Authorization: token }),
    putRoute: (_clusterId, id, route) => ({ method: 'PUT', path: `/apisix/admin/routes/${encodeURIComponent(id)}`, body: apisixRouteBody(route) }),
    getRoute: (_clusterId, id) => ({ method: 'GET', path: `/apisix/admin/routes/${encodeURIComponent(id)}` }),
    deleteRoute: (_clusterId, id) => ({ method: 'DELETE', path: `/apisix/admin/routes/${encodeURIComponent(id)}` }),
    listRoutes: () => ({ method: 'GET', path: '/apisix/admin/routes' }),
  },
};
