// `deploy --plan --offline`: the deploy's own reconcile code over simulated fresh hosts, for the lab
// estate and for 1,000 gateways, plus the per-host step inputs and the plan's line diff.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import type { ArtifactFacts } from '../../src/artifacts/inspect';
import { loadInventory, parseInventory } from '../../src/inventory/load';
import { hostByName, type ClusterSpec } from '../../src/inventory/model';
import { componentStep, endpointsOf, etcdMemberInput, loadBalancerInput, preflightInput, quorumCheckInput, imageDelivery } from '../../src/steps/inputs';
import { planDeployment, renderPlan, type PlanReport } from '../../src/plan/plan';
import { factsOf, productProfile } from '../../src/products';
import { componentConfigFile, startComponent } from '../../src/reconcile/component';
import { planExitCode } from '../../src/cli/deploy';
import { ConnectError } from '../../src/remote/ssh';
import { substituteSecrets } from '../../src/remote/secrets';
import { HostExecutor } from '../../src/remote/executor';
import { lineDiff } from '../../src/remote/plan-diff';
import type { SshPool } from '../../src/remote/ssh';

function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'api7-ha') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no api7-ha package.json above ${__dirname}`);
  }
}
const FIXTURES = path.join(repoRoot(), 'test', 'fixtures', 'inventory');
const LAB_YAML = path.join(FIXTURES, 'lab.yaml');
const SECRET_VALUES = ['secrets/dashboard-secret', 'secrets/admin-password', 'secrets/etcd-password'].map((f) => readFileSync(path.join(FIXTURES, f), 'utf8').trim());

// The runbook's etcd line for member 1, verbatim; plans render it without sudo (root) and with labels.
const RUNBOOK_ETCD_LINE =
  'sudo docker run --restart always --name etcd -u root -v /usr/local/etcd/etcd_data:/etcd_data -e ALLOW_NONE_AUTHENTICATION=yes -e ETCD_NAME=api7-etcd-1 -e ETCD_LISTEN_PEER_URLS=http://0.0.0.0:2380 -e ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379 -e ETCD_ADVERTISE_CLIENT_URLS=http://$ha_ip1:2379 -e ETCD_INITIAL_ADVERTISE_PEER_URLS=http://$ha_ip1:2380 -e ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster -e ETCD_INITIAL_CLUSTER=api7-etcd-1=http://$ha_ip1:2380,api7-etcd-2=http://$ha_ip2:2380,api7-etcd-3=http://$ha_ip3:2380 -e ETCD_DATA_DIR=/etcd_data -e ETCD_ENABLE_V2=true --network=host -d bitnami/etcd:3.4.13';
const LAB_IPS = ['10.88.0.11', '10.88.0.12', '10.88.0.13'];

/** The line the plan should show for member n: the runbook's, adapted to the member, plus compaction and quota, plus labels before --network. */
function expectedEtcdLine(n: number): RegExp {
  const line = RUNBOOK_ETCD_LINE.replace(/^sudo /, '')
    .replace('ETCD_NAME=api7-etcd-1', `ETCD_NAME=api7-etcd-${n}`)
    .replace('ADVERTISE_CLIENT_URLS=http://$ha_ip1', `ADVERTISE_CLIENT_URLS=http://$ha_ip${n}`)
    .replace('ADVERTISE_PEER_URLS=http://$ha_ip1', `ADVERTISE_PEER_URLS=http://$ha_ip${n}`)
    .replace(/\$ha_ip(\d)/g, (_m, k: string) => LAB_IPS[Number(k) - 1]!);
  const [before, after] = line.split(' --network=host');
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^${esc(before!)} -e ETCD_AUTO_COMPACTION_MODE=periodic -e ETCD_AUTO_COMPACTION_RETENTION=1h -e ETCD_QUOTA_BACKEND_BYTES=2147483648 --label io\\.api7-ha\\.managed-by=api7-ha --label io\\.api7-ha\\.cluster=lab --label io\\.api7-ha\\.role=etcd --label io\\.api7-ha\\.config-hash=[0-9a-f]{16} --network=host${esc(after!)}$`,
  );
}

const hex = (pair: string) => pair.repeat(32);
/** What `inspectArtifacts` would read from the vendor's packages, written by hand. */
function artifactsFor(spec: ClusterSpec): ArtifactFacts {
  return {
    controlPlane: {
      localPath: spec.packages.controlPlane,
      fileName: 'api7-2.13.2304-cp.tar.gz',
      sha256: hex('a1'),
      topDir: 'api7-2.13.2304-cp',
      files: ['docker-compose.yaml', 'dashboard_conf/conf.yaml', 'images/api7-dashboard-2.13.2304.tar.gz'],
      images: [{ file: 'images/api7-dashboard-2.13.2304.tar.gz', id: `sha256:${hex('11')}`, tags: ['api7ee.azurecr.io/api7-dashboard:2.13.2304'] }],
    },
    dataPlane: {
      localPath: spec.packages.dataPlane,
      fileName: 'api7-2.13.2304-dp.tar.gz',
      sha256: hex('b2'),
      topDir: 'api7-2.13.2304-dp',
      files: ['docker-compose.yaml', 'gateway_conf/config.yaml', 'images/api7-gateway-2.13.2304.tar.gz'],
      images: [{ file: 'images/api7-gateway-2.13.2304.tar.gz', id: `sha256:${hex('22')}`, tags: ['api7ee.azurecr.io/api7-gateway:2.13.2304'] }],
    },
    etcdImage: { sha256: hex('c3'), id: `sha256:${hex('33')}`, fileName: 'etcd-3.4.13.tar.gz' },
    haproxyImage: { sha256: hex('d4'), id: `sha256:${hex('44')}`, fileName: 'haproxy-2.6.tar.gz' },
  };
}

const STAMP = '20250101T000000Z';
const plan = (spec: ClusterSpec): Promise<PlanReport> => planDeployment(spec, factsOf(productProfile(spec.product)), { mode: 'simulate', artifacts: artifactsFor(spec), stamp: STAMP });
const stepOf = (r: PlanReport, name: string) => {
  const s = r.steps.find((x) => x.name === name);
  assert.ok(s, `no step ${name}`);
  return s;
};
const actionsOf = (r: PlanReport, step: string, host: string) => {
  const h = stepOf(r, step).hosts.find((x) => x.host === host);
  assert.ok(h, `no host ${host} in step ${step}`);
  return h.actions;
};
const commandsOf = (r: PlanReport, step: string, host: string) => actionsOf(r, step, host).filter((a) => a.kind === 'command').map((a) => a.detail);

/** The lab inventory, mutated, with paths resolved against the fixtures folder. */
function labSpec(mutate: (d: Record<string, unknown>) => void = () => undefined): ClusterSpec {
  const d = parse(readFileSync(LAB_YAML, 'utf8')) as Record<string, unknown>;
  mutate(d);
  return parseInventory(stringify(d), path.join(FIXTURES, 'case.yaml')).spec;
}

void describe('offline plan of the lab estate (simulated fresh hosts)', async () => {
  const { spec } = loadInventory(LAB_YAML);
  const report = await plan(spec);
  const text = renderPlan(report);

  void it('runs the deploy\'s steps in the workflow\'s order, with no preflight problems and nothing unreachable', () => {
    assert.deepEqual(
      report.steps.map((s) => s.name),
      ['packages', 'preflight', 'delivery', 'etcd-bootstrap', 'quorum-check', 'control-plane', 'data-plane', 'load-balancers', 'verification', 'failover-verification'],
    );
    assert.equal(report.mode, 'simulate');
    assert.equal(report.cluster, 'lab');
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.unreachable, []);
    assert.deepEqual(stepOf(report, 'etcd-bootstrap').hosts.map((h) => h.host), ['ha1', 'ha2', 'ha3']);
    assert.deepEqual(stepOf(report, 'control-plane').hosts.map((h) => h.host), ['ha1', 'ha2']);
    assert.deepEqual(stepOf(report, 'data-plane').hosts.map((h) => h.host), ['ha4', 'ha5']);
    assert.deepEqual(stepOf(report, 'load-balancers').hosts.map((h) => h.host), ['lb']);
  });

  for (const n of [1, 2, 3]) {
    void it(`ha${n}: creates the data dir, delivers the etcd image and runs the runbook's docker run line for api7-etcd-${n}`, () => {
      const actions = actionsOf(report, 'etcd-bootstrap', `ha${n}`);
      assert.deepEqual(
        actions.map((a) => [a.kind, a.kind === 'command' && a.detail.startsWith('docker run') ? 'docker run' : a.detail]),
        [
          ['command', 'mkdir -p /usr/local/etcd/etcd_data'],
          ['command', 'mkdir -p /opt/api7/packages'],
          ['upload', '/opt/api7/packages/etcd-3.4.13.tar.gz'],
          ['command', 'docker load -i /opt/api7/packages/etcd-3.4.13.tar.gz'],
          ['command', 'docker run'],
        ],
      );
      assert.match(actions[4]!.detail, expectedEtcdLine(n));
      assert.equal(actions[4]!.describe, `start etcd member api7-etcd-${n} (new cluster)`);
      assert.ok(text.includes(`     $ ${actions[4]!.detail}`), 'renderPlan shows the line');
    });
  }

  for (const h of ['ha1', 'ha2']) {
    void it(`${h}: uploads and extracts the cp package, loads its image, writes conf.yaml with __SECRET_ placeholders, starts api7-dashboard`, () => {
      // Delivered while etcd boots (the workflow's delivery step), then configured and started.
      const actions = [...actionsOf(report, 'delivery', h), ...actionsOf(report, 'control-plane', h)];
      assert.deepEqual(
        actions.map((a) => [a.kind, a.detail]),
        [
          ['command', 'mkdir -p /opt/api7/packages'],
          ['upload', '/opt/api7/packages/api7-2.13.2304-cp.tar.gz'],
          ['command', 'tar -xzf /opt/api7/packages/api7-2.13.2304-cp.tar.gz -C /opt/api7 --skip-old-files --no-same-owner'],
          ['command', 'docker load -i /opt/api7/api7-2.13.2304-cp/images/api7-dashboard-2.13.2304.tar.gz'],
          ['file', '/opt/api7/api7-2.13.2304-cp/dashboard_conf/conf.yaml'],
          // api7-ha's file beside the vendor's: the configuration digest as the container's label.
          ['file', '/opt/api7/api7-2.13.2304-cp/docker-compose.api7-ha.yaml'],
          ['command', 'flock -w 300 /opt/api7/api7-2.13.2304-cp/.api7-ha-compose.lock docker compose -p api7-2132304-cp --project-directory /opt/api7/api7-2.13.2304-cp -f /opt/api7/api7-2.13.2304-cp/docker-compose.yaml -f /opt/api7/api7-2.13.2304-cp/docker-compose.api7-ha.yaml up -d api7-dashboard'],
        ],
      );
      const diff = actions[4]!.diff ?? '';
      for (const l of ['+     endpoints:', '+       - 10.88.0.11:2379', '+       - 10.88.0.12:2379', '+       - 10.88.0.13:2379', '+     prefix: /api7', '+   secret: __SECRET_dashboard_secret__', '+       password: __SECRET_admin_password__'])
        assert.ok(diff.split('\n').includes(l), `the conf.yaml diff lacks "${l}"`);
    });
  }

  for (const h of ['ha4', 'ha5']) {
    void it(`${h}: writes gateway_conf/config.yaml (prefix /api7/21322091) and runs docker compose up -d api7-gateway`, () => {
      const actions = actionsOf(report, 'data-plane', h);
      const file = actions.find((a) => a.kind === 'file');
      assert.equal(file?.detail, '/opt/api7/api7-2.13.2304-dp/gateway_conf/config.yaml');
      assert.ok(file?.diff?.split('\n').includes('+   prefix: /api7/21322091'));
      assert.ok(file?.diff?.split('\n').includes('+     - http://10.88.0.11:2379'));
      assert.equal(
        actions.at(-1)?.detail,
        'flock -w 300 /opt/api7/api7-2.13.2304-dp/.api7-ha-compose.lock docker compose -p api7-2132304-dp --project-directory /opt/api7/api7-2.13.2304-dp -f /opt/api7/api7-2.13.2304-dp/docker-compose.yaml -f /opt/api7/api7-2.13.2304-dp/docker-compose.api7-ha.yaml up -d api7-gateway',
      );
      const override = actions.find((a) => a.detail === '/opt/api7/api7-2.13.2304-dp/docker-compose.api7-ha.yaml');
      assert.ok(override?.diff?.split('\n').includes('+       "io.api7-ha.config": "digest of the new configuration"'), override?.diff);
    });
  }

  void it('lb: writes and validates the HAProxy config and starts the api7-ha-lb container', () => {
    const actions = actionsOf(report, 'load-balancers', 'lb');
    assert.deepEqual(actions.filter((a) => a.kind === 'file').map((a) => a.detail), ['/opt/api7-ha/haproxy/haproxy.cfg.candidate', '/opt/api7-ha/haproxy/haproxy.cfg']);
    const cfg = actions.find((a) => a.detail === '/opt/api7-ha/haproxy/haproxy.cfg')?.diff?.split('\n') ?? [];
    for (const l of ['+   server ha1 10.88.0.11:9000 check', '+   server ha2 10.88.0.12:9000 check', '+   server ha4 10.88.0.14:80 check port 9091', '+   server ha5 10.88.0.15:80 check port 9091']) assert.ok(cfg.includes(l), l);
    assert.match(
      actions.at(-1)?.detail ?? '',
      /^docker run --restart always --name api7-ha-lb -v \/opt\/api7-ha\/haproxy:\/usr\/local\/etc\/haproxy:ro --label io\.api7-ha\.managed-by=api7-ha --label io\.api7-ha\.cluster=lab --label io\.api7-ha\.role=load_balancer --label io\.api7-ha\.config-hash=[0-9a-f]{16} --network=host -d api7-ha\/haproxy:2\.6$/,
    );
    assert.deepEqual(stepOf(report, 'load-balancers').notes, ['control plane: http://10.88.0.16:9000', 'data plane: http://10.88.0.16']);
  });

  void it('never shows a secret value, in the rendered plan or in its JSON', () => {
    const json = JSON.stringify(report);
    for (const v of SECRET_VALUES) {
      assert.ok(!text.includes(v), 'a secret value is in the rendered plan');
      assert.ok(!json.includes(v), 'a secret value is in the plan JSON');
    }
    assert.ok(text.includes('__SECRET_dashboard_secret__'));
  });

  void it('counts the changes and the hosts they touch', () => {
    const counted = report.steps.reduce((n, s) => n + s.hosts.reduce((m, h) => m + h.actions.length, 0), 0);
    assert.equal(report.changes, counted);
    assert.ok(text.endsWith(`\n${report.changes} change(s) on 6 host(s).`), text.slice(-80));
    assert.ok(text.startsWith('api7-ha offline plan (fresh hosts assumed, nothing probed) for cluster lab\n'));
  });

  void it('a plan with probes needs an SSH pool', async () => {
    await assert.rejects(planDeployment(spec, factsOf(productProfile(spec.product)), { mode: 'plan', artifacts: artifactsFor(spec) }), /a plan with probes needs an SSH pool/);
  });
});

void describe('offline plan variants', () => {
  void it('a non-root user with sudo: every command runs as `sudo -- ...`', async () => {
    const spec = labSpec((d) => Object.assign(d['ssh'] as object, { user: 'deploy', sudo: true }));
    const report = await plan(spec);
    const cmds = commandsOf(report, 'etcd-bootstrap', 'ha1');
    assert.deepEqual(cmds.slice(0, 2), ['sudo -- mkdir -p /usr/local/etcd/etcd_data', 'sudo -- mkdir -p /opt/api7/packages']);
    assert.match(cmds.at(-1)!, /^sudo -- docker run --restart always --name etcd /);
    assert.ok(commandsOf(report, 'data-plane', 'ha4').at(-1)?.startsWith('sudo -- flock -w 300 /opt/api7/api7-2.13.2304-dp/.api7-ha-compose.lock docker compose -p api7-2132304-dp '));
  });

  void it('etcd auth: writes the env file with a placeholder (mode 600) and starts etcd with --env-file', async () => {
    process.env['API7_HA_UNIT_ETCD_PW'] = 'never-shown-etcd-pw';
    try {
      const spec = labSpec((d) => (d['etcd'] = { auth: { enabled: true, password: { env: 'API7_HA_UNIT_ETCD_PW' } } }));
      const report = await plan(spec);
      const actions = actionsOf(report, 'etcd-bootstrap', 'ha2');
      const env = actions.find((a) => a.kind === 'file');
      assert.equal(env?.detail, '/usr/local/etcd/api7-ha-etcd.env');
      assert.equal(env?.diff, '+ ETCD_ROOT_PASSWORD=__SECRET_etcd_password__');
      const run = actions.at(-1)?.detail ?? '';
      assert.ok(run.includes(' --env-file /usr/local/etcd/api7-ha-etcd.env -e ETCD_NAME=api7-etcd-2 '), run);
      assert.ok(!run.includes('ALLOW_NONE_AUTHENTICATION'));
      const gw = actionsOf(report, 'data-plane', 'ha4').find((a) => a.kind === 'file')?.diff ?? '';
      assert.ok(gw.split('\n').includes('+   password: __SECRET_etcd_password__'));
      assert.ok(!JSON.stringify(report).includes('never-shown-etcd-pw'));
    } finally {
      delete process.env['API7_HA_UNIT_ETCD_PW'];
    }
  });

  void it('a host with only docker-compose v1 starts the gateway with docker-compose', async () => {
    const { spec } = loadInventory(LAB_YAML);
    const ha4 = hostByName(spec, 'ha4');
    const exec = new HostExecutor(ha4.ssh, undefined as unknown as SshPool, 'simulate', spec.secrets);
    const step = componentStep(spec, ha4, 'data_plane', artifactsFor(spec).dataPlane, 'standalone', STAMP);
    const r = await startComponent({ exec, heartbeat: () => undefined, log: () => undefined }, step, false);
    assert.equal(r.action, 'started');
    assert.deepEqual(exec.planned.map((a) => a.detail), [
      '/opt/api7/api7-2.13.2304-dp/docker-compose.api7-ha.yaml',
      'flock -w 300 /opt/api7/api7-2.13.2304-dp/.api7-ha-compose.lock docker-compose -p api7-2132304-dp --project-directory /opt/api7/api7-2.13.2304-dp -f /opt/api7/api7-2.13.2304-dp/docker-compose.yaml -f /opt/api7/api7-2.13.2304-dp/docker-compose.api7-ha.yaml up -d api7-gateway',
    ]);
  });

  void it('external load balancers: no HAProxy step on any host, only the URLs', async () => {
    const spec = labSpec((d) => {
      (d['hosts'] as unknown[]).splice(5, 1);
      delete (d['packages'] as Record<string, unknown>)['haproxy_image'];
      d['load_balancer'] = { mode: 'external', external: { control_plane_url: 'http://cp.example.com:9000', data_plane_url: 'http://dp.example.com' } };
    });
    const report = await plan(spec);
    assert.deepEqual(stepOf(report, 'load-balancers'), { name: 'load-balancers', title: 'External load balancers', hosts: [], notes: ['would check http://cp.example.com:9000 and http://dp.example.com'] });
  });
});

void describe('per-host step inputs', () => {
  const { spec } = loadInventory(LAB_YAML);
  const facts = factsOf(productProfile(spec.product));

  void it('etcd member input follows the runbook layout', () => {
    assert.deepEqual(etcdMemberInput(spec, hostByName(spec, 'ha2')), {
      cluster: 'lab',
      member: { name: 'api7-etcd-2', address: '10.88.0.12' },
      members: LAB_IPS.map((address, i) => ({ name: `api7-etcd-${i + 1}`, address })),
      image: 'bitnami/etcd:3.4.13',
      containerName: 'etcd',
      dataDir: '/usr/local/etcd/etcd_data',
      clusterToken: 'etcd-cluster',
      clientPort: 2379,
      peerPort: 2380,
      enableV2: true,
      autoCompactionMode: 'periodic',
      autoCompactionRetention: '1h',
      quotaBackendBytes: 2147483648,
      auth: { enabled: false, user: 'root' },
      tls: false,
    });
  });

  void it('the quorum check expects the three members at their peer URLs, via each member', () => {
    const q = quorumCheckInput(spec);
    assert.deepEqual(q.expectedMembers, LAB_IPS.map((ip, i) => ({ name: `api7-etcd-${i + 1}`, peerUrl: `http://${ip}:2380` })));
    assert.deepEqual(q.via.map((v) => [v.target.host, v.containerName]), [['ha1', 'etcd'], ['ha2', 'etcd'], ['ha3', 'etcd']]);
    assert.deepEqual(q.etcdctl, { endpoints: LAB_IPS.map((ip) => `${ip}:2379`), auth: { enabled: false, user: 'root' }, tls: false });
    assert.equal(q.deadlineS, 120);
  });

  void it('preflight checks each role\'s ports and the folders it fills', () => {
    const ha1 = preflightInput(spec, hostByName(spec, 'ha1'), facts, false);
    assert.deepEqual(ha1.ports, [
      { port: 2379, role: 'etcd' },
      { port: 2380, role: 'etcd' },
      { port: 9000, role: 'control_plane' },
    ]);
    assert.deepEqual(ha1.paths, ['/opt/api7/packages', '/usr/local/etcd/etcd_data', '/opt/api7']);
    assert.deepEqual(preflightInput(spec, hostByName(spec, 'ha4'), facts, false).ports.map((p) => p.port), [80, 443, 9091]);
    assert.deepEqual(preflightInput(spec, hostByName(spec, 'lb'), facts, true).ports.map((p) => p.port), [9000, 80, 8404]);
  });

  void it('the load balancer points at the dashboards on 9000 and the gateways on 80, checked on 9091', () => {
    const lb = loadBalancerInput(spec, hostByName(spec, 'lb'), imageDelivery(spec, spec.packages.haproxyImage!, artifactsFor(spec).haproxyImage), facts, STAMP);
    assert.deepEqual(lb.haproxy.controlPlane, {
      port: 9000,
      health: { port: 9000, path: '/ping', expect: 200 },
      backends: [
        { name: 'ha1', address: '10.88.0.11', port: 9000 },
        { name: 'ha2', address: '10.88.0.12', port: 9000 },
      ],
    });
    assert.deepEqual(lb.haproxy.dataPlane.backends.map((b) => `${b.address}:${b.port}`), ['10.88.0.14:80', '10.88.0.15:80']);
    assert.deepEqual(lb.haproxy.dataPlane.health, { port: 9091, path: '/apisix/prometheus/metrics', expect: 200 });
    assert.deepEqual(lb.image, { name: 'api7-ha/haproxy:2.6', tarball: spec.packages.haproxyImage?.tarball, sha256: hex('d4'), id: `sha256:${hex('44')}`, remoteTarball: '/opt/api7/packages/haproxy-2.6.tar.gz' });
    assert.deepEqual(endpointsOf(spec), { controlPlane: 'http://10.88.0.16:9000', dataPlane: 'http://10.88.0.16' });
  });
});

void describe('lineDiff in plans', () => {
  void it('a new file is all added lines', () => {
    assert.equal(lineDiff(undefined, 'a\nb\n'), '+ a\n+ b');
  });

  void it('an unchanged file has no diff', () => {
    assert.equal(lineDiff('a\nb\nc\n', 'a\nb\nc\n'), '');
  });

  void it('marks removed and added lines, keeping two lines of context', () => {
    const lines = lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n').split('\n');
    assert.deepEqual([...lines].sort(), ['  a', '  c', '+ B', '+ d', '- b']);
    assert.equal(lines[0], '  a');
    assert.equal(lines.at(-1), '+ d');
  });

  void it('lists a removed line before the line that replaces it, as diff -u does', () => {
    assert.equal(lineDiff('a\nb\nc\n', 'a\nB\nc\n'), '  a\n- b\n+ B\n  c');
  });

  void it('elides unchanged lines far from a change', () => {
    const before = Array.from({ length: 12 }, (_x, i) => `line ${i}`).join('\n');
    const lines = lineDiff(before, before.replace('line 6', 'line six')).split('\n');
    for (const l of ['  line 4', '  line 5', '- line 6', '+ line six', '  line 7', '  line 8']) assert.ok(lines.includes(l), l);
    for (const far of [0, 1, 2, 3, 9, 10, 11]) assert.ok(!lines.includes(`  line ${far}`), `line ${far} is not context`);
    assert.equal(lines.at(-1), '  …');
  });

  void it('marks lines elided before the first change with …', () => {
    const before = Array.from({ length: 12 }, (_x, i) => `line ${i}`).join('\n');
    assert.equal(lineDiff(before, before.replace('line 6', 'line six')).split('\n')[0], '  …');
  });

  void it('shows a changed etcd endpoint in conf.yaml as one removed and one added line', () => {
    const render = (ip: string) =>
      productProfile('api7-ee-2.13').controlPlane.renderConfig({
        etcd: { endpoints: ['10.0.0.11:2379', ip, '10.0.0.13:2379'], scheme: 'http' },
        port: 9000,
        sharedSecret: true,
        adminUser: 'admin',
        adminPassword: true,
        tokenExpireS: 3600,
      });
    const changed = lineDiff(render('10.0.0.12:2379'), render('10.0.0.22:2379'))
      .split('\n')
      .filter((l) => l.startsWith('-') || l.startsWith('+'))
      .sort();
    assert.deepEqual(changed, ['+       - 10.0.0.22:2379', '-       - 10.0.0.12:2379']);
  });
});

void describe('planning 1,000 gateways offline', async () => {
  const GATEWAYS = 1000;
  const lines = [
    'cluster: { name: big, cluster_id: "21322091" }',
    'ssh: { identity_file: keys/deploy_key, known_hosts: keys/known_hosts }',
    'hosts:',
    '  - { name: ha1, address: 10.0.0.11, roles: [etcd, control_plane] }',
    '  - { name: ha2, address: 10.0.0.12, roles: [etcd, control_plane] }',
    '  - { name: ha3, address: 10.0.0.13, roles: [etcd] }',
    '  - { name: lb, address: 10.0.0.10, roles: [load_balancer] }',
    ...Array.from({ length: GATEWAYS }, (_x, i) => `  - { name: gw${i + 1}, address: 10.1.${Math.floor(i / 250)}.${(i % 250) + 1}, roles: [data_plane] }`),
    'packages:',
    '  control_plane: packages/api7-2.13.2304-cp.tar.gz',
    '  data_plane: packages/api7-2.13.2304-dp.tar.gz',
    '  etcd_image: { tarball: packages/etcd-3.4.13.tar.gz, name: "bitnami/etcd:3.4.13" }',
    '  haproxy_image: { tarball: packages/haproxy-2.6.tar.gz, name: "api7-ha/haproxy:2.6" }',
    'control_plane:',
    '  auth_secret: { file: secrets/dashboard-secret }',
    '  admin: { password: { file: secrets/admin-password } }',
    'data_plane: { batch_size: 50, failure_budget: 10 }',
    'verification: { upstream: "10.0.0.17:80" }',
  ];
  const { spec } = parseInventory(lines.join('\n'), path.join(FIXTURES, 'big.yaml'));
  const report = await plan(spec);

  void it('plans every one of the 1,000 gateways with its compose up', () => {
    const dp = stepOf(report, 'data-plane');
    assert.equal(dp.hosts.length, GATEWAYS);
    assert.equal(dp.hosts.filter((h) => h.actions.at(-1)?.detail.endsWith(' up -d api7-gateway')).length, GATEWAYS);
    assert.match(dp.title, /batches of 50 .* failure budget 10/);
  });

  void it('puts all 1,000 gateways behind the load balancer', () => {
    const cfg = actionsOf(report, 'load-balancers', 'lb').find((a) => a.detail.endsWith('/haproxy.cfg'))?.diff ?? '';
    assert.equal(cfg.split('\n').filter((l) => /^\+ {3}server gw\d+ 10\.1\.\d+\.\d+:80 check port 9091$/.test(l)).length, GATEWAYS);
  });
});

/** Connections to hosts that answer from a map of files (`cat PATH`) and fail everything else; some hosts refuse. */
function fakeHosts(files: Record<string, string>, refused: Record<string, string> = {}): SshPool {
  const conn = {
    closed: false,
    exec: async (line: string) => {
      const path = /^cat -- (\S+)$|^cat (\S+)$/.exec(line);
      const content = path ? files[path[1] ?? path[2]!] : undefined;
      return content !== undefined ? { code: 0, stdout: content, stderr: '', durationMs: 1 } : { code: 1, stdout: '', stderr: 'no', durationMs: 1 };
    },
  };
  return {
    get: async (t: { host: string }) => {
      if (refused[t.host]) throw new ConnectError(refused[t.host]!, true);
      return conn;
    },
  } as unknown as SshPool;
}

void describe('plans tell the truth and keep secrets', () => {
  void it('never shows a deployed secret that differs from the inventory\'s: masked by field, both sides, text and JSON', async () => {
    const spec = labSpec();
    const ha1 = hostByName(spec, 'ha1');
    const step = componentStep(spec, ha1, 'control_plane', artifactsFor(spec).controlPlane, 'plugin', STAMP);
    const file = componentConfigFile(step);
    const desired = await substituteSecrets(file.content, spec.secrets, 'yaml');
    // The host was drifted: its shared secret and its admin password are not the inventory's any more.
    const drifted = desired
      .replace(/^( *secret: ).*$/m, '$1"old-rotated-secret-3f9a"')
      .replace(JSON.stringify(SECRET_VALUES[1]), '"hand-edited-admin-pw"')
      .replace('expire_time: 3600', 'expire_time: 60');
    const exec = new HostExecutor(ha1.ssh, fakeHosts({ [file.path]: drifted }), 'plan', spec.secrets);
    assert.deepEqual(await exec.ensureFile(file, STAMP), { changed: true, backup: `${file.path}.bak-${STAMP}` });
    const report: PlanReport = {
      cluster: 'lab',
      mode: 'plan',
      steps: [{ name: 'control-plane', title: 'Control plane', hosts: [{ host: 'ha1', actions: exec.planned, notes: [] }], notes: [] }],
      problems: [],
      blockers: [],
      changes: exec.planned.length,
      unreachable: [],
      newHostKeys: [],
    };
    const text = renderPlan(report);
    const json = JSON.stringify(report);
    for (const secret of ['old-rotated-secret-3f9a', 'hand-edited-admin-pw', ...SECRET_VALUES]) {
      assert.ok(!text.includes(secret), `the plan shows ${secret}`);
      assert.ok(!json.includes(secret), `the plan's JSON holds ${secret}`);
    }
    const diff = exec.planned[0]!.diff!.split('\n');
    // The change is still visible: the secret line differs, masked on the host's side.
    for (const l of ['-   secret: ***', '+   secret: __SECRET_dashboard_secret__', '-       password: ***', '+       password: __SECRET_admin_password__', '-   expire_time: 60', '+   expire_time: 3600'])
      assert.ok(diff.includes(l), `the diff lacks "${l}":\n${diff.join('\n')}`);
  });

  void it('shows no change for a deployed secret equal to the inventory\'s', async () => {
    const spec = labSpec();
    const ha1 = hostByName(spec, 'ha1');
    const file = componentConfigFile(componentStep(spec, ha1, 'control_plane', artifactsFor(spec).controlPlane, 'plugin', STAMP));
    const current = (await substituteSecrets(file.content, spec.secrets, 'yaml')).replace('expire_time: 3600', 'expire_time: 60');
    const exec = new HostExecutor(ha1.ssh, fakeHosts({ [file.path]: current }), 'plan', spec.secrets);
    await exec.ensureFile(file, STAMP);
    const changed = exec.planned[0]!.diff!.split('\n').filter((l) => l.startsWith('-') || l.startsWith('+'));
    assert.deepEqual(changed, ['-   expire_time: 60', '+   expire_time: 3600']);
  });

  void it('an offline plan shows each upload\'s real size and the file\'s whole sha256', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'api7ha-plan-'));
    try {
      const spec = labSpec();
      const artifacts = artifactsFor(spec);
      const write = (name: string, bytes: number) => {
        const p = path.join(dir, name);
        writeFileSync(p, Buffer.alloc(bytes, 7));
        return { p, sha: createHash('sha256').update(readFileSync(p)).digest('hex') };
      };
      const cp = write('cp.tar.gz', 12_345);
      artifacts.controlPlane = { ...artifacts.controlPlane, localPath: cp.p, sha256: cp.sha };
      const report = await planDeployment(spec, factsOf(productProfile(spec.product)), { mode: 'simulate', artifacts, stamp: STAMP });
      const upload = actionsOf(report, 'delivery', 'ha1').find((a) => a.kind === 'upload')!;
      assert.equal(upload.describe, `upload ${cp.p} (12345 bytes, sha256 ${cp.sha})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('a plan that finds a blocker says so in its last line and exits 1; --detailed-exitcode tells changes from none', async () => {
    const spec = labSpec();
    const pool = fakeHosts({}, { ha1: 'ha1 (10.88.0.11:22): HOST KEY CHANGED. The key it presented differs from the one pinned' });
    const report = await planDeployment(spec, factsOf(productProfile(spec.product)), { mode: 'plan', pool, artifacts: artifactsFor(spec), stamp: STAMP });
    assert.ok(report.blockers.some((b) => b.type === 'PreflightFailed'));
    assert.ok(report.unreachable.includes('ha1'));
    assert.ok(stepOf(report, 'etcd-bootstrap').hosts.find((h) => h.host === 'ha1')?.notes.includes('unreachable: not probed'));
    const text = renderPlan(report);
    assert.match(text.split('\n').at(-1)!, /^BLOCKED: the deploy would stop: preflight found problems that block the deploy/);
    assert.match(text, /BLOCK ha1: ha1 \(10\.88\.0\.11:22\): HOST KEY CHANGED/);
    assert.equal(planExitCode(report, false), 1);
    assert.equal(planExitCode(report, true), 1);
    const offline = await plan(spec);
    assert.equal(planExitCode(offline, false), 0);
    assert.equal(planExitCode(offline, true), 3, 'changes pending');
    assert.equal(planExitCode({ ...offline, changes: 0 }, true), 0, 'no changes');
  });
});
