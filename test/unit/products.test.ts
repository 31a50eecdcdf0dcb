// Product renderers: the config files the runbook edits by hand (dashboard conf.yaml, gateway
// config.yaml) parsed back as YAML, the route API requests, and the facts workflows get.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { componentConfigFile } from '../../src/reconcile/component';
import type { ComponentStep } from '../../src/steps/inputs';
import { factsOf, productProfile, secretPlaceholder, type ControlPlaneConfigInput, type DataPlaneConfigInput, type ProbeRoute } from '../../src/products';
import { MANAGED_HEADER, tokenFromLoginResponse } from '../../src/products/shared';

const ENDPOINTS = ['10.0.0.11:2379', '10.0.0.12:2379', '10.0.0.13:2379'];
const api7 = productProfile('api7-ee-2.13');
const apisix = productProfile('apisix-3');

type Yaml = Record<string, unknown>;
const obj = (v: unknown, at: string): Yaml => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${at} is not a mapping`);
  return v as Yaml;
};
/** Parse a rendered file and check it carries the managed-file header. */
function parsed(text: string): Yaml {
  assert.ok(text.startsWith(MANAGED_HEADER), 'the file does not start with the managed-by header');
  return obj(parse(text), 'the document');
}
const at = (doc: Yaml, dotted: string): unknown => dotted.split('.').reduce<unknown>((v, k) => obj(v, dotted)[k], doc);

const cpInput = (over: Partial<ControlPlaneConfigInput> = {}, etcd: Partial<ControlPlaneConfigInput['etcd']> = {}): ControlPlaneConfigInput => ({
  etcd: { endpoints: ENDPOINTS, scheme: 'http', ...etcd },
  port: 9000,
  sharedSecret: true,
  adminUser: 'admin',
  adminPassword: true,
  tokenExpireS: 3600,
  ...over,
});
const dpInput = (etcd: Partial<DataPlaneConfigInput['etcd']> = {}): DataPlaneConfigInput => ({ etcd: { endpoints: ENDPOINTS, scheme: 'http', ...etcd }, clusterId: '21322091' });

void describe('API7 EE 2.13 dashboard conf.yaml (the runbook\'s dashboard_conf/conf.yaml)', () => {
  void it('has the runbook\'s etcd block: name default, the three ip:2379 endpoints, prefix /api7, auth and mtls off', () => {
    const doc = parsed(api7.controlPlane.renderConfig(cpInput()));
    assert.deepEqual(at(doc, 'conf.etcd'), {
      name: 'default',
      endpoints: ['10.0.0.11:2379', '10.0.0.12:2379', '10.0.0.13:2379'],
      enable_auth: false,
      username: 'root',
      password: '',
      mtls: { enable: false, key_file: '', cert_file: '', ca_file: '' },
      prefix: '/api7',
    });
    assert.deepEqual(at(doc, 'conf.listen'), { host: '0.0.0.0', port: 9000 });
  });

  void it('with etcd auth: enable_auth true, the user, and the password as a __SECRET_ placeholder', () => {
    const etcd = obj(at(parsed(api7.controlPlane.renderConfig(cpInput({}, { authUser: 'root' }))), 'conf.etcd'), 'conf.etcd');
    assert.equal(etcd['enable_auth'], true);
    assert.equal(etcd['username'], 'root');
    assert.equal(etcd['password'], '__SECRET_etcd_password__');
  });

  void it('with etcd TLS: mtls enabled with the certificate paths inside the container', () => {
    const etcd = obj(at(parsed(api7.controlPlane.renderConfig(cpInput({}, { scheme: 'https', tls: true }))), 'conf.etcd'), 'conf.etcd');
    assert.deepEqual(etcd['mtls'], {
      enable: true,
      key_file: '/usr/local/apisix-dashboard/conf/certs/client-key.pem',
      cert_file: '/usr/local/apisix-dashboard/conf/certs/client.pem',
      ca_file: '/usr/local/apisix-dashboard/conf/certs/ca.pem',
    });
    assert.deepEqual(etcd['endpoints'], ENDPOINTS);
  });

  void it('with a shared secret: authentication.secret and the admin password are placeholders', () => {
    const doc = parsed(api7.controlPlane.renderConfig(cpInput({ adminUser: 'ops', tokenExpireS: 600 })));
    assert.deepEqual(at(doc, 'authentication'), {
      secret: '__SECRET_dashboard_secret__',
      expire_time: 600,
      users: [{ username: 'ops', password: '__SECRET_admin_password__' }],
    });
  });

  void it('without a shared secret: the dashboard\'s default secret (which manager-api replaces with a random one)', () => {
    const doc = parsed(api7.controlPlane.renderConfig(cpInput({ sharedSecret: false })));
    assert.equal(at(doc, 'authentication.secret'), 'secret');
  });
});

void describe('API7 EE 2.13 gateway config.yaml (the runbook\'s gateway_conf/config.yaml)', () => {
  void it('has etcd.host as http:// URLs and prefix /api7/<cluster_id>', () => {
    const doc = parsed(api7.dataPlane.renderConfig(dpInput()));
    assert.deepEqual(at(doc, 'etcd'), {
      host: ['http://10.0.0.11:2379', 'http://10.0.0.12:2379', 'http://10.0.0.13:2379'],
      prefix: '/api7/21322091',
      timeout: 30,
      startup_retry: 2,
    });
    assert.deepEqual(at(doc, 'apisix'), { node_listen: 80, ssl: { enable: true, listen_port: 443 } });
    assert.deepEqual(at(doc, 'plugin_attr.prometheus.export_addr'), { ip: '0.0.0.0', port: 9091 });
    assert.equal(api7.dataPlane.etcdPrefix('21322091'), '/api7/21322091');
  });

  void it('with auth and TLS: user, password placeholder, client certificate and https URLs', () => {
    const doc = parsed(api7.dataPlane.renderConfig(dpInput({ scheme: 'https', authUser: 'root', tls: true })));
    assert.deepEqual(at(doc, 'etcd'), {
      host: ['https://10.0.0.11:2379', 'https://10.0.0.12:2379', 'https://10.0.0.13:2379'],
      prefix: '/api7/21322091',
      timeout: 30,
      startup_retry: 2,
      user: 'root',
      password: '__SECRET_etcd_password__',
      tls: { cert: '/usr/local/apisix/conf/certs/client.pem', key: '/usr/local/apisix/conf/certs/client-key.pem', verify: true },
    });
    assert.equal(at(doc, 'apisix.ssl.ssl_trusted_certificate'), '/usr/local/apisix/conf/certs/ca.pem');
  });
});

void describe('Apache APISIX 3 renderers', () => {
  void it('gateway: deployment.etcd.host, prefix /apisix, ports 9080/9443, status API on 0.0.0.0:7085', () => {
    const doc = parsed(apisix.dataPlane.renderConfig(dpInput()));
    assert.deepEqual(at(doc, 'deployment.etcd'), {
      host: ['http://10.0.0.11:2379', 'http://10.0.0.12:2379', 'http://10.0.0.13:2379'],
      prefix: '/apisix',
      timeout: 30,
      startup_retry: 2,
    });
    assert.equal(at(doc, 'deployment.role'), 'traditional');
    assert.equal(at(doc, 'deployment.role_traditional.config_provider'), 'etcd');
    assert.equal(at(doc, 'apisix.node_listen'), 9080);
    assert.equal(at(doc, 'apisix.ssl.listen_port'), 9443);
    assert.deepEqual(at(doc, 'apisix.status'), { ip: '0.0.0.0', port: 7085 });
    assert.equal(doc['etcd'], undefined, 'APISIX 3 reads deployment.etcd, not a top-level etcd');
    assert.equal(apisix.dataPlane.etcdPrefix('21322091'), '/apisix');
  });

  void it('gateway with auth: user and password placeholder under deployment.etcd', () => {
    const etcd = obj(at(parsed(apisix.dataPlane.renderConfig(dpInput({ authUser: 'root' }))), 'deployment.etcd'), 'deployment.etcd');
    assert.equal(etcd['user'], 'root');
    assert.equal(etcd['password'], '__SECRET_etcd_password__');
  });

  void it('dashboard: conf.etcd endpoints, prefix /apisix, credentials and mtls only when enabled', () => {
    const plain = parsed(apisix.controlPlane.renderConfig(cpInput()));
    assert.deepEqual(at(plain, 'conf.etcd'), { endpoints: ENDPOINTS, prefix: '/apisix' });
    const full = parsed(apisix.controlPlane.renderConfig(cpInput({}, { authUser: 'root', tls: true, scheme: 'https' })));
    assert.deepEqual(at(full, 'conf.etcd'), {
      endpoints: ENDPOINTS,
      username: 'root',
      password: '__SECRET_etcd_password__',
      mtls: {
        key_file: '/usr/local/apisix-dashboard/conf/certs/client-key.pem',
        cert_file: '/usr/local/apisix-dashboard/conf/certs/client.pem',
        ca_file: '/usr/local/apisix-dashboard/conf/certs/ca.pem',
      },
      prefix: '/apisix',
    });
    assert.equal(at(full, 'authentication.secret'), '__SECRET_dashboard_secret__');
  });
});

void describe('route API requests', () => {
  const route: ProbeRoute = { uri: '/get', host: 'test.com', methods: ['GET'], upstreamNodes: { '10.0.0.17:80': 1 }, desc: 'api7-ha probe' };
  const body = { uri: '/get', host: 'test.com', methods: ['GET'], desc: 'api7-ha probe', upstream: { type: 'roundrobin', nodes: { '10.0.0.17:80': 1 } } };

  void it('API7 EE 2.13: login, then routes under /api/clusters/<cluster_id>/routes', () => {
    const api = api7.routeApi;
    assert.deepEqual(api.login('admin', 'pw'), { method: 'POST', path: '/api/user/login', body: { username: 'admin', password: 'pw' } });
    assert.deepEqual(api.putRoute('21322091', 'api7-ha-probe', route), { method: 'PUT', path: '/api/clusters/21322091/routes/api7-ha-probe', body });
    assert.deepEqual(api.getRoute('21322091', 'api7-ha-probe'), { method: 'GET', path: '/api/clusters/21322091/routes/api7-ha-probe' });
    assert.deepEqual(api.deleteRoute('21322091', 'api7-ha-probe'), { method: 'DELETE', path: '/api/clusters/21322091/routes/api7-ha-probe' });
    assert.deepEqual(api.listRoutes('21322091'), { method: 'GET', path: '/api/clusters/21322091/routes' });
    assert.deepEqual(api.authHeaders('tok'), { Authorization: 'tok' });
  });

  void it('APISIX 3: login and routes under /apisix/admin, cluster_id ignored', () => {
    const api = apisix.routeApi;
    assert.deepEqual(api.login('admin', 'pw'), { method: 'POST', path: '/apisix/admin/user/login', body: { username: 'admin', password: 'pw' } });
    assert.deepEqual(api.putRoute('21322091', 'api7-ha-probe', route), { method: 'PUT', path: '/apisix/admin/routes/api7-ha-probe', body });
    assert.deepEqual(api.getRoute('x', 'api7-ha-probe'), { method: 'GET', path: '/apisix/admin/routes/api7-ha-probe' });
    assert.deepEqual(api.deleteRoute('x', 'api7-ha-probe'), { method: 'DELETE', path: '/apisix/admin/routes/api7-ha-probe' });
    assert.deepEqual(api.listRoutes('x'), { method: 'GET', path: '/apisix/admin/routes' });
  });

  void it('a minimal route has no methods or desc; ids are URL-encoded into the path', () => {
    const minimal: ProbeRoute = { uri: '/get', host: 'test.com', upstreamNodes: { 'a:80': 1, 'b:80': 2 } };
    assert.deepEqual(api7.routeApi.putRoute('c1', 'a/b c', minimal), {
      method: 'PUT',
      path: '/api/clusters/c1/routes/a%2Fb%20c',
      body: { uri: '/get', host: 'test.com', upstream: { type: 'roundrobin', nodes: { 'a:80': 1, 'b:80': 2 } } },
    });
  });

  void it('reads the token from {"code":0,"data":{"token":...}} and refuses an answer without one', () => {
    assert.equal(tokenFromLoginResponse({ code: 0, data: { token: 'eyJhbGciOi' } }), 'eyJhbGciOi');
    assert.equal(api7.routeApi.tokenFrom({ code: 0, data: { token: 't' } }), 't');
    for (const bad of [undefined, null, {}, { data: {} }, { data: { token: '' } }, { data: { token: 42 } }])
      assert.throws(() => tokenFromLoginResponse(bad), /the dashboard answered the login without a token/);
  });
});

void describe('product facts for workflows', () => {
  void it('API7 EE 2.13: api7-dashboard on 9000, api7-gateway on 80/443/9091 checked on its metrics', () => {
    assert.deepEqual(factsOf(api7), {
      id: 'api7-ee-2.13',
      controlPlane: { service: 'api7-dashboard', ports: [9000], port: 9000, health: { port: 9000, path: '/ping', expect: 200 } },
      dataPlane: { service: 'api7-gateway', ports: [80, 443, 9091], httpPort: 80, health: { port: 9091, path: '/apisix/prometheus/metrics', expect: 200 } },
    });
    assert.equal(api7.controlPlane.configPath, 'dashboard_conf/conf.yaml');
    assert.equal(api7.dataPlane.configPath, 'gateway_conf/config.yaml');
    assert.equal(api7.controlPlane.readyLogLine, 'The manager-api is running successfully!');
  });

  void it('APISIX 3: apisix on 9080/9443/9091/7085, ready when /status/ready answers 200', () => {
    assert.deepEqual(factsOf(apisix), {
      id: 'apisix-3',
      controlPlane: { service: 'apisix-dashboard', ports: [9000], port: 9000, health: { port: 9000, path: '/ping', expect: 200 } },
      dataPlane: { service: 'apisix', ports: [9080, 9443, 9091, 7085], httpPort: 9080, health: { port: 7085, path: '/status/ready', expect: 200 } },
    });
  });

  void it('facts survive a JSON round trip (they travel in workflow history)', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(factsOf(api7))), factsOf(api7));
  });
});

void describe('no secret value ever appears in rendered output', () => {
  const SECRETS = { etcd_password: 'etcd-S3cret!', dashboard_secret: 'dash-S3cret!', admin_password: 'admin-S3cret!' };

  void it('the renderers never see a value: every secret field is a placeholder', () => {
    for (const product of [api7, apisix]) {
      const texts = [
        product.controlPlane.renderConfig(cpInput({}, { authUser: 'root', tls: true, scheme: 'https' })),
        product.dataPlane.renderConfig(dpInput({ authUser: 'root', tls: true, scheme: 'https' })),
      ];
      for (const text of texts) {
        for (const v of Object.values(SECRETS)) assert.ok(!text.includes(v));
        const placeholders = [...text.matchAll(/__SECRET_([a-z_]+)__/g)].map((m) => m[1]);
        assert.ok(placeholders.length > 0);
        for (const name of placeholders) assert.ok(name && name in SECRETS, `unknown placeholder ${String(name)}`);
      }
    }
    assert.equal(secretPlaceholder('admin_password'), '__SECRET_admin_password__');
  });

  void it('the component config file carries placeholders for every secret the inventory references', () => {
    const step: ComponentStep = {
      target: { host: 'ha1', address: '10.0.0.11', port: 22, user: 'root', agent: false, sudo: false, knownHosts: '/k', hostKeyPolicy: 'strict', connectTimeoutS: 10 },
      secrets: { etcd_password: { env: 'ETCD_PW' }, dashboard_secret: { file: '/secrets/dash' }, admin_password: { file: '/secrets/admin' } },
      cluster: 'lab',
      clusterId: '21322091',
      product: 'api7-ee-2.13',
      component: 'control_plane',
      packageDir: '/opt/api7/api7-2.13.2304-cp',
      compose: 'plugin',
      etcdEndpoints: ENDPOINTS,
      etcdScheme: 'http',
      etcdAuthUser: 'root',
      adminUser: 'admin',
      tokenExpireS: 3600,
      probe: { host: 'test.com', path: '/get', expectStatus: 200 },
      healthDeadlineS: 120,
      stamp: 's',
    };
    const file = componentConfigFile(step);
    assert.equal(file.path, '/opt/api7/api7-2.13.2304-cp/dashboard_conf/conf.yaml');
    assert.equal(file.secrets, 'yaml');
    assert.equal(file.mode, 0o600);
    const doc = parsed(file.content);
    assert.equal(at(doc, 'conf.etcd.password'), '__SECRET_etcd_password__');
    assert.equal(at(doc, 'authentication.secret'), '__SECRET_dashboard_secret__');
    const gw = componentConfigFile({ ...step, component: 'data_plane', packageDir: '/opt/api7/api7-2.13.2304-dp' });
    assert.equal(gw.path, '/opt/api7/api7-2.13.2304-dp/gateway_conf/config.yaml');
    assert.equal(at(parsed(gw.content), 'etcd.password'), '__SECRET_etcd_password__');
    assert.match(gw.describe, /prefix \/api7\/21322091/);
  });
});
