// The vendor's runbook by hand on the lab, over real SSH with pinned host keys, against real Docker
// engines and a real 3-member etcd: the lab must be good enough to run what an operator runs.
//   etcd: mkdir data dir, docker load, the runbook's exact `docker run`, `etcdctl endpoint health`
//   control plane: tar -zxvf, docker load < images/..., edit conf.yaml, docker compose up api7-dashboard -d
//   data plane: the same with gateway_conf/config.yaml, then curl with Host: test.com
//   check: stop one etcd member; the gateways still serve the route
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabInfo } from '../../lab/lab';
import { http, looksLikeUpstream } from '../../src/reconcile/http';
import { eventually, hostOf, labSkip, scp, ssh, sshOk, testLab } from '../support/lab';

const lab = testLab('runbook');
const CLUSTER_ID = '21322091';
const secret = randomBytes(12).toString('hex');
const adminPassword = randomBytes(12).toString('hex');

void describe('the runbook by hand on the lab', { skip: labSkip }, () => {
  let info: LabInfo;
  const ip = (name: string) => hostOf(info, name).address;

  before(async () => {
    info = await lab.up();
  });
  after(async () => {
    await lab.down();
  });

  void it('gives every host its own sshd (pinned key), Docker engine and files', async () => {
    const ids = new Set<string>();
    for (const h of [...info.hosts, info.upstream]) {
      const id = (await sshOk(info, h, "docker info --format '{{.ID}}'")).trim();
      assert.ok(id.length > 10, `${h.name} answers docker info`);
      ids.add(id);
    }
    assert.equal(ids.size, info.hosts.length + 1, 'each host has an engine of its own');
    const marker = `/usr/local/api7-ha-test-${randomBytes(4).toString('hex')}`;
    await sshOk(info, hostOf(info, 'ha1'), `echo ha1 > ${marker}`);
    assert.equal((await sshOk(info, hostOf(info, 'ha1'), `cat ${marker}`)).trim(), 'ha1');
    for (const other of ['ha2', 'ha3', 'ha4', 'lb']) assert.notEqual((await ssh(info, hostOf(info, other), `test -e ${marker}`)).code, 0, `${marker} is not on ${other}`);
  });

  void it('runs the runbook\'s exact etcd `docker run` on ha1-ha3 and gets three healthy members', async () => {
    const tarball = info.artifacts.etcdImage.tarball;
    const members = ['ha1', 'ha2', 'ha3'];
    await Promise.all(
      members.map(async (name, i) => {
        const h = hostOf(info, name);
        await scp(info, tarball, h, `/root/${basename(tarball)}`);
        await sshOk(info, h, `docker load < /root/${basename(tarball)}`, { timeoutMs: 120_000 });
        await sshOk(info, h, 'sudo mkdir -p /usr/local/etcd/etcd_data');
        // Step 3 of the runbook, verbatim but for $ha_ipN.
        const line =
          `sudo docker run --restart always --name etcd -u root -v /usr/local/etcd/etcd_data:/etcd_data -e ALLOW_NONE_AUTHENTICATION=yes -e ETCD_NAME=api7-etcd-${i + 1} -e ETCD_LISTEN_PEER_URLS=http://0.0.0.0:2380 -e ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379 -e ETCD_ADVERTISE_CLIENT_URLS=http://${h.address}:2379 -e ETCD_INITIAL_ADVERTISE_PEER_URLS=http://${h.address}:2380 -e ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster -e ETCD_INITIAL_CLUSTER=api7-etcd-1=http://${ip('ha1')}:2380,api7-etcd-2=http://${ip('ha2')}:2380,api7-etcd-3=http://${ip('ha3')}:2380 -e ETCD_DATA_DIR=/etcd_data -e ETCD_ENABLE_V2=true --network=host -d bitnami/etcd:3.4.13`;
        await sshOk(info, h, line);
      }),
    );
    // Step 4: `docker exec etcd bash -c "etcdctl --endpoints ... endpoint health"`.
    const endpoints = members.map((m) => `${ip(m)}:2379`).join(',');
    const out = await eventually('all three members healthy', async () => {
      const r = await ssh(info, hostOf(info, 'ha1'), `docker exec etcd bash -c "etcdctl --endpoints ${endpoints} endpoint health"`);
      const healthy = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /is healthy: successfully committed proposal/.test(l));
      return healthy.length === 3 ? r.stdout + r.stderr : undefined;
    });
    for (const m of members) assert.match(out, new RegExp(`${ip(m).replace(/\./g, '\\.')}:2379 is healthy`));
    // Each member writes its own data dir: three hosts, three directories.
    for (const m of members) assert.match(await sshOk(info, hostOf(info, m), 'ls /usr/local/etcd/etcd_data'), /member/);
    assert.notEqual((await ssh(info, hostOf(info, 'ha4'), 'test -e /usr/local/etcd/etcd_data/member')).code, 0);
  });

  void it('starts the control plane packages with docker load and compose, as the runbook does', async () => {
    const pkg = info.artifacts.packages.api7ControlPlane;
    const dir = basename(pkg).replace(/\.tar\.gz$/, '');
    const conf = `conf:
  listen:
    host: 0.0.0.0
    port: 9000
  etcd:
    name: "default"
    endpoints:
      - ${ip('ha1')}:2379
      - ${ip('ha2')}:2379
      - ${ip('ha3')}:2379
    enable_auth: false
    username: "root"
    password: "123456"
    mtls:
      enable: false
      key_file: ""
      cert_file: ""
      ca_file: ""
    prefix: /api7
authentication:
  secret: ${secret}
  expire_time: 3600
  users:
    - username: admin
      password: ${adminPassword}
`;
    await Promise.all(
      ['ha1', 'ha2'].map(async (name) => {
        const h = hostOf(info, name);
        await scp(info, pkg, h, `/root/${basename(pkg)}`);
        await sshOk(info, h, `cd /root && tar -zxvf ${basename(pkg)} && cd ${dir} && docker load < images/$(ls images)`, { timeoutMs: 120_000 });
        await sshOk(info, h, `cat > /root/${dir}/dashboard_conf/conf.yaml`, { input: conf });
        await sshOk(info, h, `cd /root/${dir} && (docker compose version >/dev/null 2>&1 && docker compose up api7-dashboard -d || docker-compose up -d api7-dashboard)`, { timeoutMs: 120_000 });
        await eventually(`${name}: "The manager-api is running successfully!" in docker logs`, async () => {
          const logs = await ssh(info, h, `docker logs $(docker ps -q --filter label=com.docker.compose.service=api7-dashboard)`);
          return /The manager-api is running successfully!/.test(logs.stdout + logs.stderr) ? true : undefined;
        });
      }),
    );
  });

  void it('starts the data plane packages and serves the upstream\'s JSON through a gateway with Host: test.com', async () => {
    const pkg = info.artifacts.packages.api7DataPlane;
    const dir = basename(pkg).replace(/\.tar\.gz$/, '');
    const config = `etcd:
  host:
    - "http://${ip('ha1')}:2379"
    - "http://${ip('ha2')}:2379"
    - "http://${ip('ha3')}:2379"
  prefix: /api7/${CLUSTER_ID}
apisix:
  node_listen: 80
  ssl:
    enable: true
    listen_port: 443
plugin_attr:
  prometheus:
    export_addr:
      ip: 0.0.0.0
      port: 9091
`;
    await Promise.all(
      ['ha4', 'ha5'].map(async (name) => {
        const h = hostOf(info, name);
        await scp(info, pkg, h, `/root/${basename(pkg)}`);
        await sshOk(info, h, `cd /root && tar -zxvf ${basename(pkg)} && cd ${dir} && docker load < images/$(ls images)`, { timeoutMs: 120_000 });
        await sshOk(info, h, `cat > /root/${dir}/gateway_conf/config.yaml`, { input: config });
        await sshOk(info, h, `cd /root/${dir} && (docker compose version >/dev/null 2>&1 && docker compose up -d || docker-compose up -d)`, { timeoutMs: 120_000 });
      }),
    );
    // The runbook's "create a cluster and test" through the console: log in on one dashboard and
    // write the route; the shared secret lets the other dashboard accept the same token.
    const login = await http(`http://${ip('ha1')}:9000/api/user/login`, { method: 'POST', body: JSON.stringify({ username: 'admin', password: adminPassword }) });
    assert.equal(login.status, 200, login.body);
    const token = (JSON.parse(login.body) as { data: { token: string } }).data.token;
    const route = { uri: '/get', host: 'test.com', upstream: { type: 'roundrobin', nodes: { [`${info.upstream.address}:80`]: 1 } } };
    const put = await http(`http://${ip('ha2')}:9000/api/clusters/${CLUSTER_ID}/routes/test-com`, { method: 'PUT', headers: { Authorization: token }, body: JSON.stringify(route) });
    assert.equal(put.status, 200, `a token from ha1 works on ha2 (shared authentication.secret): ${put.body}`);
    // `curl <gateway>:80/get -H "Host: test.com"` on both gateways.
    for (const name of ['ha4', 'ha5']) {
      const res = await eventually(`${name} serves test.com/get`, async () => {
        const r = await http(`http://${ip(name)}/get`, { headers: { Host: 'test.com' } });
        return r.status === 200 ? r : undefined;
      });
      assert.ok(looksLikeUpstream(res.body));
      const body = JSON.parse(res.body) as { headers: Record<string, string>; url: string };
      assert.equal(body.headers['Host'], 'test.com');
      assert.equal(body.url, 'http://test.com/get');
      assert.equal(body.headers['X-Forwarded-Host'], 'test.com');
    }
    // HTTPS on 443 (self-signed) and Prometheus on 9091, as the runbook's ports say.
    const metrics = await http(`http://${ip('ha4')}:9091/apisix/prometheus/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /apisix_http_requests_total/);
    const tls = await sshOk(info, hostOf(info, 'ha4'), "curl -sk -o /dev/null -w '%{http_code}' -H 'Host: test.com' https://127.0.0.1/get");
    assert.equal(tls.trim(), '200');
  });

  void it('keeps serving the route from every gateway with one etcd member stopped', async () => {
    await sshOk(info, hostOf(info, 'ha1'), 'docker stop $(docker ps -q --filter name=^etcd$)');
    try {
      for (const name of ['ha4', 'ha5']) {
        for (let i = 0; i < 10; i++) {
          const r = await http(`http://${ip(name)}/get`, { headers: { Host: 'test.com' } });
          assert.equal(r.status, 200, `${name} request ${i}: ${r.error ?? r.status}`);
        }
      }
      // Reads and writes still work with two of three members (quorum).
      const endpoints = ['ha2', 'ha3'].map((m) => `${ip(m)}:2379`).join(',');
      await sshOk(info, hostOf(info, 'ha2'), `docker exec etcd bash -c "etcdctl --endpoints ${endpoints} put /api7-ha-test/quorum ok"`);
      assert.equal((await sshOk(info, hostOf(info, 'ha3'), `docker exec etcd bash -c "etcdctl --endpoints ${endpoints} get /api7-ha-test/quorum --print-value-only"`)).trim(), 'ok');
    } finally {
      await sshOk(info, hostOf(info, 'ha1'), 'docker start etcd');
    }
  });

  void it('is gone after down: no namespace, process or mount of the lab is left', async () => {
    const prefix = info.prefix;
    const dir = info.dir;
    await lab.down();
    assert.ok(!(readFileSync('/proc/self/mountinfo', 'utf8').includes(dir)), 'no mount under the lab dir');
    const { execFileSync } = await import('node:child_process');
    assert.ok(!execFileSync('ip', ['netns', 'list']).toString().includes(prefix), 'no namespace');
    assert.deepEqual(readdirSync('/sys/class/net').filter((l) => l.startsWith(prefix)), [], 'no link');
    const ours = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
        } catch {
          return false;
        }
      });
    assert.deepEqual(ours, [], 'no process started by the lab is left');
  });
});
