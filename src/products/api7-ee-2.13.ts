// API7 Enterprise 2.13 (the vendor's HA runbook): API7-Dashboard on 9000 with dashboard_conf/conf.yaml,
// API7-Gateway on 80/443/9091 with gateway_conf/config.yaml, config in etcd under /api7 and gateways
// under /api7/${cluster_id}.
import { secretPlaceholder, type ControlPlaneConfigInput, type DataPlaneConfigInput, type ProductProfile } from './types';
import { apisixRouteBody, dashboardAuthentication, etcdUrls, renderYaml, tokenFromLoginResponse } from './shared';

const DASHBOARD_CONF = '/usr/local/apisix-dashboard/conf';
const GATEWAY_CONF = '/usr/local/apisix/conf';
const PREFIX = '/api7';

function renderDashboardConf(input: ControlPlaneConfigInput): string {
  const auth = input.etcd.authUser !== undefined;
  const tls = input.etcd.tls === true;
  // The runbook's conf.yaml, field for field, plus listen/log/authentication.
  return renderYaml({
    conf: {
      listen: { host: '0.0.0.0', port: input.port },
      etcd: {
        name: 'default',
        endpoints: input.etcd.endpoints,
        enable_auth: auth,
        username: auth ? input.etcd.authUser : 'root',
        password: auth ? secretPlaceholder('etcd_password') : '',
        mtls: {
          enable: tls,
          key_file: tls ? `${DASHBOARD_CONF}/certs/client-key.pem` : '',
          cert_file: tls ? `${DASHBOARD_CONF}/certs/client.pem` : '',
          ca_file: tls ? `${DASHBOARD_CONF}/certs/ca.pem` : '',
        },
        prefix: PREFIX,
      },
      log: {
        error_log: { level: 'warn', file_path: 'logs/error.log' },
        access_log: { file_path: 'logs/access.log' },
      },
    },
    authentication: dashboardAuthentication(input),
  });
}

function renderGatewayConfig(input: DataPlaneConfigInput): string {
  const tls = input.etcd.tls === true;
  return renderYaml({
    etcd: {
      host: etcdUrls(input.etcd),
      prefix: `${PREFIX}/${input.clusterId}`,
      timeout: 30,
      startup_retry: 2,
      ...(input.etcd.authUser !== undefined ? { user: input.etcd.authUser, password: secretPlaceholder('etcd_password') } : {}),
      ...(tls ? { tls: { cert: `${GATEWAY_CONF}/certs/client.pem`, key: `${GATEWAY_CONF}/certs/client-key.pem`, verify: true } } : {}),
    },
    apisix: {
      node_listen: 80,
      ssl: { enable: true, listen_port: 443, ...(tls ? { ssl_trusted_certificate: `${GATEWAY_CONF}/certs/ca.pem` } : {}) },
    },
    plugin_attr: { prometheus: { export_addr: { ip: '0.0.0.0', port: 9091 } } },
  });
}

const routesPath = (clusterId: string) => `/api/clusters/${encodeURIComponent(clusterId)}/routes`;

export const api7Ee213: ProductProfile = {
  id: 'api7-ee-2.13',
  displayName: 'API7 Enterprise 2.13',
  etcdPrefix: PREFIX,
  controlPlane: {
    service: 'api7-dashboard',
    configPath: 'dashboard_conf/conf.yaml',
    confDirInPackage: 'dashboard_conf',
    confDirInContainer: DASHBOARD_CONF,
    ports: [9000],
    health: { port: 9000, path: '/ping', expect: 200 },
    readyLogLine: 'The manager-api is running successfully!',
    renderConfig: renderDashboardConf,
  },
  dataPlane: {
    service: 'api7-gateway',
    configPath: 'gateway_conf/config.yaml',
    confDirInPackage: 'gateway_conf',
    confDirInContainer: GATEWAY_CONF,
    ports: [80, 443, 9091],
    httpPort: 80,
    httpsPort: 443,
    metricsPort: 9091,
    // API7 2.13 is APISIX 2.x based: no status API; the Prometheus endpoint answers once the gateway runs.
    health: { port: 9091, path: '/apisix/prometheus/metrics', expect: 200 },
    etcdPrefix: (clusterId) => `${PREFIX}/${clusterId}`,
    renderConfig: renderGatewayConfig,
  },
  routeApi: {
    login: (username, password) => ({ method: 'POST', path: '/api/user/login', body: { username, password } }),
    tokenFrom: tokenFromLoginResponse,
    authHeaders: (token) => ({ Authorization: token }),
    putRoute: (clusterId, id, route) => ({ method: 'PUT', path: `${routesPath(clusterId)}/${encodeURIComponent(id)}`, body: apisixRouteBody(route) }),
    getRoute: (clusterId, id) => ({ method: 'GET', path: `${routesPath(clusterId)}/${encodeURIComponent(id)}` }),
    deleteRoute: (clusterId, id) => ({ method: 'DELETE', path: `${routesPath(clusterId)}/${encodeURIComponent(id)}` }),
    listRoutes: (clusterId) => ({ method: 'GET', path: routesPath(clusterId) }),
  },
};
