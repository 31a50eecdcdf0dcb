// A real fleet's shape, the other lab: SSH keys from an ssh-agent the test starts (none on disk in
// the inventory), the user's own nginx (Debian's, configured as the README says) in front as an external load balancer, firewalld
// running on an etcd host, both docker composes installed (the plugin wins), and the vendor packages
// as shipped (a compose bridge network, ports published by docker-proxy). Deploy and the default
// drill pass through the user's nginx; an agent without the key and closed firewall ports are refused
// with nothing changed. Also: the lab's bitnami/etcd 3.5 image runs the runbook's `docker run` line.
import assert from 'node:assert/strict';
import { DEFAULT_SCENARIOS } from '../../src/drills/scenarios';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabInfo } from '../../lab/lab';
import * as docker from '../../src/commands/docker';
import { memberRunSpec } from '../../src/commands/etcd';
import { shellLine } from '../../src/commands/shell';
import type { DrillJournal } from '../../src/drills/journal';
import { http, looksLikeUpstream } from '../../src/reconcile/http';
import type { DeployResult } from '../../src/runbook/types';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { readmeSnippet, withAddresses } from '../support/readme';
import { eventually, hostOf, labSkip, run, scp, sshOk, testLab } from '../support/lab';

const lab = testLab('agent');
const base = temporalEnv(`api7-ha-lab-agent-${process.pid}`);

void describe('a fleet with ssh-agent keys, the user\'s own nginx, firewalld on a host, both composes, the vendor\'s bridge network', { skip: labSkip, timeout: 900_000 }, () => {
  let info: LabInfo;
  let worker: WorkerProcess;
  let agent: ChildProcess;
  let sock: string;
  let inventory: string;

  /** Nothing of a deploy on any host: no install dir, no container, no image, no data dir. */
  async function untouched(): Promise<void> {
    for (const h of info.hosts) {
      const r = await lab.hostExec(h.name, ['sh', '-c', 'ls -d /opt/api7 /opt/api7-ha /usr/local/etcd 2>/dev/null; docker ps -aq; docker images -q']);
      assert.equal(r.stdout.trim(), '', `${h.name} was changed: ${r.stdout}`);
    }
  }

  /** From ha1 to ha3's etcd client port: "No route to host" is firewalld's reject, refused is an open port with nothing on it. */
  async function ha3From1(port: number): Promise<string> {
    const script = `const s=require('net').connect(${port},'${hostOf(info, 'ha3').address}');s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)});setTimeout(()=>{console.log('timeout');process.exit(0)},3000)`;
    return (await lab.hostExec('ha1', [process.execPath, '-e', script])).stdout.trim();
  }

  before(async () => {
    info = await lab.up({ compose: 'both', firewalld: ['ha3'] });
    // The operator's agent, holding no key yet.
    sock = join(info.dir, 'ssh', 'agent.sock');
    rmSync(sock, { force: true });
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    await eventually('the ssh-agent listens', async () => ((await run('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock } })).code === 1 ? true : undefined), 10_000, 100);
    // The user's nginx on the lb host, started as they would (`nginx -c`), before api7-ha knows of it.
    const addr = (n: string) => hostOf(info, n).address;
    // The README's nginx configuration, with the lab's addresses. Its pid file: /run is the machine's in the lab.
    const conf = `pid /var/lib/nginx/api7-lb.pid;\n${withAddresses(readmeSnippet('nginx'), [addr('ha1'), addr('ha2')], [addr('ha4'), addr('ha5')])}`;
    const w = await lab.hostExec('lb', ['sh', '-c', 'cat > /etc/nginx/api7-lb.conf && nginx -t -q -c /etc/nginx/api7-lb.conf && nginx -c /etc/nginx/api7-lb.conf </dev/null >/dev/null 2>&1'], { input: conf });
    assert.equal(w.code, 0, w.stderr);
    const lb = addr('lb');
    inventory = join(info.dir, 'inventory-fleet-agent.yaml');
    writeFileSync(
      inventory,
      readFileSync(info.inventoryPath, 'utf8')
        .replace('  identity_file: ssh/id_ed25519\n', '  agent: true\n')
        .replace('load_balancer:\n  mode: managed\n', `load_balancer:\n  mode: external\n  external: { control_plane_url: "http://${lb}:9000", data_plane_url: "http://${lb}:80" }\n`)
        .replace('drills:\n', 'drills:\n  hold_s: 1\n'),
    );
    assert.doesNotMatch(readFileSync(inventory, 'utf8'), /identity_file/);
    worker = await startWorker({ ...base, SSH_AUTH_SOCK: sock } as typeof base);
  });
  after(async () => {
    await worker?.kill('SIGTERM');
    if (agent?.pid) process.kill(agent.pid, 'SIGTERM');
    await lab.down();
    rmSync(info.dir, { recursive: true, force: true });
  });

  void it('refuses an agent without the key, naming the hosts, and changes nothing', async () => {
    const r = await cli(['deploy', '-i', inventory, '--wait', '--failover', 'never'], base);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    for (const h of ['ha1', 'ha4', 'lb']) assert.match(r.stdout + r.stderr, new RegExp(`${h}: SSH authentication failed as root with the keys of the ssh-agent`));
    await untouched();
  });

  void it('reports the ports firewalld keeps closed on ha3 with the exact commands, and changes nothing', async () => {
    const add = await run('ssh-add', [info.sshKey], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    assert.equal(add.code, 0, add.stderr);
    assert.equal(await ha3From1(2379), 'EHOSTUNREACH', 'firewalld rejects what it does not open');
    const r = await cli(['deploy', '-i', inventory, '--wait', '--failover', 'never'], base);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /ha3\s+BLOCK\s+firewall\s+firewalld is running and does not open 2379\/tcp, 2380\/tcp/);
    assert.ok(out.includes('firewall-cmd --permanent --add-port=2379/tcp && firewall-cmd --permanent --add-port=2380/tcp && firewall-cmd --reload  (or pass --fix-firewall)'), out);
    assert.doesNotMatch(out, /(ha1|ha2|ha4|ha5|lb)\s+BLOCK\s+firewall/, 'only the host that runs firewalld');
    await untouched();
  });

  void it('opens them with --fix-firewall and deploys: the plugin, the vendor\'s network and published ports, through the user\'s nginx', async () => {
    const r = await cli(['deploy', '-i', inventory, '--wait', '--json', '--failover', 'never', '--fix-firewall'], base);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const result = JSON.parse(r.stdout) as DeployResult;
    assert.equal(result.etcd.quorum.healthy, true);
    const ports = (await sshOk(info, hostOf(info, 'ha3'), 'firewall-cmd --permanent --list-ports')).trim().split(/\s+/);
    for (const p of ['2379/tcp', '2380/tcp']) assert.ok(ports.includes(p), ports.join(' '));
    assert.equal(await ha3From1(2379), 'connected');
    // Served through nginx, as the user's clients will be.
    const res = await http(`http://${hostOf(info, 'lb').address}/get`, { headers: { Host: 'test.com' } });
    assert.equal(res.status, 200);
    assert.ok(looksLikeUpstream(res.body));
    // Both composes installed: the plugin ran (v2 names containers project-service-1).
    const ha1 = hostOf(info, 'ha1');
    const ps = await sshOk(info, ha1, "docker ps --format '{{.Names}} {{.Ports}} {{.Networks}}'");
    assert.match(ps, /^api7-2132304-cp-api7-dashboard-1 0\.0\.0\.0:9000->9000\/tcp.* api7-2132304-cp_api7$/m, ps);
    assert.match(await sshOk(info, ha1, 'command -v docker-compose; docker compose version --short'), /\/usr\/bin\/docker-compose\n2\.40\.3/);
    // The port is held by docker-proxy for api7-ha's own container: a second run is converged, its preflight passes.
    assert.match(await sshOk(info, ha1, "ss -Hltnp 'sport = :9000'"), /docker-proxy/);
    const again = await cli(['deploy', '-i', inventory, '--wait', '--json', '--failover', 'never'], base);
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    assert.equal((JSON.parse(again.stdout) as DeployResult).changed, false);
  });

  void it('passes the default drill measured through the user\'s nginx', async () => {
    const r = await cli(['drill', '-i', inventory, '--wait', '--json'], base);
    const journal = JSON.parse(r.stdout) as DrillJournal;
    assert.equal(r.code, 0, `${journal.summary}\n${r.stderr.slice(-2000)}`);
    assert.deepEqual(journal.scenarios.map((s) => s.id), DEFAULT_SCENARIOS);
    const lb = hostOf(info, 'lb').address;
    for (const s of journal.scenarios) {
      assert.equal(s.status, 'passed', `${s.id}: ${JSON.stringify(s.hypotheses)}`);
      const dp = s.probes.find((p) => p.name === 'dp');
      if (dp) assert.ok(dp.target.includes(`http://${lb}:80`), dp.target);
    }
  });

  void it('runs the runbook\'s etcd `docker run` line with the lab\'s bitnami/etcd 3.5 image, which reports 3.5', async () => {
    const img = info.artifacts.etcd35Image;
    assert.match(img.name, /^bitnami\/etcd:3\.5\.\d+$/);
    const ha4 = hostOf(info, 'ha4');
    await scp(info, img.tarball, ha4, '/tmp/etcd35.tar.gz');
    await sshOk(info, ha4, 'docker load -i /tmp/etcd35.tar.gz && rm /tmp/etcd35.tar.gz');
    const me = { name: 'api7-etcd-1', address: ha4.address };
    const spec = memberRunSpec(
      { cluster: 'etcd35-check', member: me, members: [me], image: img.name, containerName: 'etcd35', dataDir: '/tmp/etcd35-data', clusterToken: 'etcd-cluster', clientPort: 2379, peerPort: 2380, enableV2: true, autoCompactionMode: 'periodic', autoCompactionRetention: '1h', quotaBackendBytes: 2147483648, auth: { enabled: false, user: 'root' }, tls: false },
      'new',
      'check',
    );
    try {
      await sshOk(info, ha4, shellLine(docker.run(spec).argv));
      const status = await eventually('the 3.5 member answers', async () => {
        const out = await sshOk(info, ha4, `docker exec etcd35 etcdctl --endpoints http://${ha4.address}:2379 endpoint status -w json`).catch(() => '');
        return out.includes('"version"') ? out : undefined;
      }, 30_000);
      assert.match(status, /"version":"3\.5\.\d+"/);
      assert.match(await sshOk(info, ha4, 'docker exec etcd35 etcdctl version'), /etcdctl version: 3\.5\.\d+/);
    } finally {
      await sshOk(info, ha4, 'docker rm -f etcd35; rm -rf /tmp/etcd35-data; docker rmi ' + img.name).catch(() => undefined);
    }
  });
});
