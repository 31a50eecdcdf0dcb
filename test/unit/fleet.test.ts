// The pieces of real fleets that can be checked without a lab: the lab's shapes, the ssh argv through
// a jump host, HTTP routes through jump hosts, the vendor's compose file, and preflight's judgement
// of what a host answers (run through the real executor over a scripted connection).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { knownHostsLine, sshClient, sshdConfig } from '../../lab/commands';
import { composeFile } from '../../lab/images/templates';
import { innerLinkName, layoutHosts, normalizeShape } from '../../lab/topology';
import type { SshTarget } from '../../src/inventory/model';
import type { PreflightInput } from '../../src/steps/inputs';
import { preflightHost } from '../../src/reconcile/preflight';
import { HostExecutor } from '../../src/remote/executor';
import { httpRoutes, jumpTargetOf } from '../../src/remote/routes';
import type { ExecResult, SshConnection, SshPool } from '../../src/remote/ssh';
import { readmeSnippet } from '../support/readme';

const target = (over: Partial<SshTarget> = {}): SshTarget => ({
  host: 'ha3',
  address: '10.0.1.13',
  port: 22,
  user: 'root',
  identityFile: '/keys/id',
  agent: false,
  sudo: false,
  knownHosts: '/keys/known_hosts',
  hostKeyPolicy: 'strict',
  connectTimeoutS: 10,
  ...over,
});

void describe('lab shapes', () => {
  void it('defaults to the plugin, the vendor network, port 22, no bastion', () => {
    assert.deepEqual(normalizeShape({}), { gateways: 2, compose: 'plugin', network: 'bridge', bastion: false, sshPort: 22, firewalld: [] });
  });
  void it('refuses what it cannot build, naming the flag', () => {
    assert.throws(() => normalizeShape({ compose: 'v3' as never }), /--compose must be plugin, v1 or both/);
    assert.throws(() => normalizeShape({ sshPort: 70000 }), /--ssh-port/);
    assert.throws(() => normalizeShape({ firewalld: ['ha9'] }), /--firewalld names "ha9", which is not a host/);
  });
  void it('puts the estate behind the bastion, with the bastion and the load balancer on both bridges', () => {
    const hosts = layoutHosts(2, { bastion: true });
    const on = Object.fromEntries(hosts.map((h) => [h.name, h.networks.join('+')]));
    assert.deepEqual(on, { ha1: 'inner', ha2: 'inner', ha3: 'inner', ha4: 'inner', ha5: 'inner', lb: 'front+inner', upstream: 'inner', bastion: 'front+inner' });
    assert.equal(hosts.find((h) => h.name === 'bastion')!.inInventory, false);
    assert.ok(innerLinkName('a7ffff', 'bastion').length <= 15);
    assert.deepEqual(new Set(layoutHosts(2).flatMap((h) => h.networks)), new Set(['front']));
  });
});

void describe('ssh into the lab', () => {
  void it('reaches a host behind the bastion with a ProxyCommand carrying the lab key and known_hosts (ProxyJump would not)', () => {
    const argv = sshClient({ identityFile: '/lab/ssh/id', knownHosts: '/lab/ssh/known_hosts', address: '10.0.2.11', port: 2222, jump: { address: '10.0.1.18', port: 2222 } }, ['hostname']);
    const proxyOpt = argv.find((a) => a.startsWith('ProxyCommand='))!;
    assert.match(proxyOpt, /^ProxyCommand=ssh -i \/lab\/ssh\/id .*UserKnownHostsFile=\/lab\/ssh\/known_hosts.*StrictHostKeyChecking=yes.* -p 2222 -W %h:%p root@10\.0\.1\.18$/);
    assert.deepEqual(argv.slice(-5), ['-p', '2222', 'root@10.0.2.11', '--', 'hostname']);
  });
  void it('pins keys of a non-default port as [address]:port, and sshd listens on every address of a two-bridge host', () => {
    assert.equal(knownHostsLine('10.0.2.11', 'ssh-ed25519 AAAA root@ha1', 2222), '[10.0.2.11]:2222 ssh-ed25519 AAAA');
    assert.equal(knownHostsLine('10.0.2.11', 'ssh-ed25519 AAAA root@ha1'), '10.0.2.11 ssh-ed25519 AAAA');
    const cfg = sshdConfig({ host: 'lb', addresses: ['10.0.1.16', '10.0.2.16'], port: 2222, hostKey: '/k', pidFile: '/p', authorizedKeys: '/lab/authorized_keys', dockerSocket: '/d.sock', sftpServer: 'internal-sftp' });
    assert.match(cfg, /^Port 2222$/m);
    assert.match(cfg, /^ListenAddress 10\.0\.1\.16\nListenAddress 10\.0\.2\.16$/m);
    assert.match(cfg, /^AuthorizedKeysFile \/lab\/authorized_keys \.ssh\/authorized_keys$/m, "a user's own authorized_keys works too");
  });
});

void describe('HTTP through jump hosts', () => {
  void it('routes each host that has a jump host through it, with the host\'s credentials', () => {
    const behind = target({ host: 'ha1', address: '10.0.2.11', port: 2222, user: 'ops', jump: { address: '10.0.1.18', port: 2222, user: 'ops' }, sudo: true, passphrase: { file: '/keys/pp' } });
    const direct = target({ host: 'lb', address: '10.0.1.16' });
    const via = jumpTargetOf(behind)!;
    assert.deepEqual(
      { host: via.host, address: via.address, port: via.port, user: via.user, identityFile: via.identityFile, passphrase: via.passphrase, knownHosts: via.knownHosts, sudo: via.sudo, jump: via.jump },
      { host: 'jump host 10.0.1.18', address: '10.0.1.18', port: 2222, user: 'ops', identityFile: '/keys/id', passphrase: { file: '/keys/pp' }, knownHosts: '/keys/known_hosts', sudo: false, jump: undefined },
    );
    assert.equal(jumpTargetOf(direct), undefined);
    assert.deepEqual(httpRoutes([{ ssh: behind }, { ssh: direct }]).map((r) => r.address), ['10.0.2.11']);
  });
});

void describe("the vendor's compose file", () => {
  const svc = { service: 'api7-dashboard', image: 'api7ee.azurecr.io/api7-dashboard:2.13.2304', volumes: ['./dashboard_conf:/conf'], ports: [9000], title: 'cp' };
  void it('as shipped: the project network api7 and published ports (docker ps: 0.0.0.0:9000->9000/tcp)', () => {
    const y = parseYaml(composeFile(svc)) as { services: Record<string, { ports: string[]; networks: object; network_mode?: string }>; networks: object };
    assert.deepEqual(y.services['api7-dashboard']!.ports, ['9000:9000/tcp']);
    assert.deepEqual(Object.keys(y.services['api7-dashboard']!.networks), ['api7']);
    assert.deepEqual(y.networks, { api7: { driver: 'bridge' } });
    assert.equal(y.services['api7-dashboard']!.network_mode, undefined);
  });
  void it('the host-network variant', () => {
    const y = parseYaml(composeFile(svc, 'host')) as { services: Record<string, { ports?: string[]; network_mode: string }>; networks?: object };
    assert.equal(y.services['api7-dashboard']!.network_mode, 'host');
    assert.equal(y.services['api7-dashboard']!.ports, undefined);
    assert.equal(y.networks, undefined);
  });
});

/** A connection that answers each shell line from a script, recording what ran. */
function scripted(answers: [RegExp, Partial<ExecResult>][]): { pool: SshPool; ran: string[] } {
  const ran: string[] = [];
  const conn = {
    closed: false,
    exec: (line: string): Promise<ExecResult> => {
      ran.push(line);
      const a = answers.find(([re]) => re.test(line));
      return Promise.resolve({ code: 0, stdout: '', stderr: '', durationMs: 1, ...(a ? a[1] : {}) });
    },
  } as unknown as SshConnection;
  return { pool: { get: () => Promise.resolve(conn) } as unknown as SshPool, ran };
}

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const listen = (port: number) => `   0: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0`;

function host(over: Partial<PreflightInput> = {}): PreflightInput {
  return {
    target: target(),
    secrets: {},
    cluster: 'prod',
    roles: ['etcd'],
    ports: [
      { port: 2379, role: 'etcd' },
      { port: 2380, role: 'etcd' },
    ],
    owners: { etcd: { container: 'etcd' }, control_plane: { composeService: 'api7-dashboard' } },
    paths: ['/usr/local/etcd/etcd_data'],
    fixFirewall: false,
    ...over,
  };
}

const healthyHost: [RegExp, Partial<ExecResult>][] = [
  [/^id -un$/, { stdout: 'root\n' }],
  [/^uname -r$/, { stdout: '6.1.0-18-amd64\n' }],
  [/^cat \/etc\/os-release$/, { stdout: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' }],
  [/^nproc$/, { stdout: '4\n' }],
  [/^cat \/proc\/meminfo$/, { stdout: 'MemTotal:       8000000 kB\n' }],
  [/^docker version/, { stdout: '{"Server":{"Version":"20.10.24+dfsg1"}}' }],
  [/^docker compose version --short$/, { stdout: '2.40.3\n' }],
  [/command -v docker-compose/, { code: 1 }],
  [/free-disk/, { stdout: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100000000 1000 90000000 1% /\n' }],
  [/^getenforce$/, { code: 127 }],
  [/^date /, { stdout: `${Date.now()}000000\n` }],
];

void describe('preflight judges what each host answers', () => {
  void it('firewalld running with the ports closed: a block with the exact commands, nothing run', async () => {
    const { pool, ran } = scripted([[/^firewall-cmd --state$/, { stdout: 'running\n' }], [/^firewall-cmd --list-ports$/, { stdout: '2380/tcp\n' }], [/^cat \/proc\/net\/tcp/, { stdout: TCP_HEADER }], ...healthyHost]);
    const r = await preflightHost({ exec: new HostExecutor(target(), pool, 'apply'), heartbeat: () => undefined, log: () => undefined }, host());
    const fw = r.problems.filter((p) => p.check === 'firewall');
    assert.deepEqual(fw.map((p) => [p.severity, p.message, p.fix]), [['block', 'firewalld is running and does not open 2379/tcp', 'firewall-cmd --permanent --add-port=2379/tcp && firewall-cmd --reload  (or pass --fix-firewall)']]);
    assert.equal(r.facts.compose, 'plugin');
    assert.ok(!ran.some((l) => l.includes('--add-port')), 'nothing opened without --fix-firewall');
  });

  void it('--fix-firewall runs exactly those commands and reports what it opened', async () => {
    const { pool, ran } = scripted([[/^firewall-cmd --state$/, { stdout: 'running\n' }], [/^firewall-cmd --list-ports$/, { stdout: '' }], [/^cat \/proc\/net\/tcp/, { stdout: TCP_HEADER }], ...healthyHost]);
    const r = await preflightHost({ exec: new HostExecutor(target(), pool, 'apply'), heartbeat: () => undefined, log: () => undefined }, host({ fixFirewall: true }));
    assert.deepEqual(ran.filter((l) => /--add-port|--reload/.test(l)), ['firewall-cmd --permanent --add-port=2379/tcp', 'firewall-cmd --permanent --add-port=2380/tcp', 'firewall-cmd --reload']);
    assert.deepEqual(r.problems.filter((p) => p.check === 'firewall').map((p) => [p.severity, p.message]), [['info', 'opened 2379/tcp, 2380/tcp in firewalld']]);
  });

  void it('firewall-cmd without D-Bus (exit 36) is firewalld not running, and a port docker-proxy holds for our own container is fine', async () => {
    const ps = JSON.stringify({ Names: 'api7-2132304-cp-api7-dashboard-1', Labels: 'com.docker.compose.project=api7-2132304-cp,com.docker.compose.service=api7-dashboard' });
    const { pool } = scripted([[/^firewall-cmd --state$/, { code: 36, stderr: 'Error: DBUS_ERROR' }], [/^cat \/proc\/net\/tcp/, { stdout: `${TCP_HEADER}\n${listen(9000)}\n` }], [/^docker ps --format/, { stdout: `${ps}\n` }], ...healthyHost]);
    const r = await preflightHost(
      { exec: new HostExecutor(target(), pool, 'apply'), heartbeat: () => undefined, log: () => undefined },
      host({ roles: ['control_plane'], ports: [{ port: 9000, role: 'control_plane' }] }),
    );
    assert.equal(r.facts.firewalld, 'not running');
    assert.deepEqual(r.problems.filter((p) => p.severity === 'block'), []);
    assert.match(r.problems.find((p) => p.check === 'ports')!.message, /port 9000 \(control_plane\) is held by api7-ha's own container api7-2132304-cp-api7-dashboard-1/);
  });

  void it('a sudo password that sudo refuses stops the preflight at the sudo gate, naming the host', async () => {
    const { pool, ran } = scripted([[/^sudo -S -k -p '' -- true$/, { code: 1, stderr: 'Sorry, try again.\nsudo: 1 incorrect password attempt\n' }], ...healthyHost]);
    const t = target({ user: 'ops', sudo: true, sudoPassword: { env: 'API7HA_TEST_SUDO_PW' } });
    process.env['API7HA_TEST_SUDO_PW'] = 'wrong-one';
    try {
      const r = await preflightHost({ exec: new HostExecutor(t, pool, 'apply'), heartbeat: () => undefined, log: () => undefined }, host({ target: t }));
      assert.deepEqual(r.problems.map((p) => [p.severity, p.check]), [['block', 'sudo']]);
      assert.match(r.problems[0]!.message, /^sudo does not work for ops: ha3: check sudo works failed \(exit 1\): Sorry, try again/);
      assert.ok(!JSON.stringify(r).includes('wrong-one'), 'the password is not in the report');
      assert.equal(ran.length, 2, 'nothing probed past the gate');
    } finally {
      delete process.env['API7HA_TEST_SUDO_PW'];
    }
  });
});

void describe("the README's external load balancer snippets", () => {
  const dir = mkdtempSync(join(tmpdir(), 'api7-ha-lb-'));
  void it('HAProxy accepts its configuration (haproxy -c), with both pools and fast checks', () => {
    const cfg = readmeSnippet('haproxy');
    writeFileSync(join(dir, 'haproxy.cfg'), cfg);
    execFileSync('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], { stdio: 'pipe' });
    assert.match(cfg, /retry-on conn-failure/);
    assert.match(cfg, /inter 250ms .*fall 2/);
  });
  void it('nginx accepts its configuration (nginx -t)', { skip: !existsSync('/usr/sbin/nginx') && 'nginx is not installed (npm test provisions it)' }, () => {
    writeFileSync(join(dir, 'nginx.conf'), `pid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')};\n${readmeSnippet('nginx')}`);
    execFileSync('nginx', ['-t', '-q', '-c', join(dir, 'nginx.conf')], { stdio: 'pipe' });
    rmSync(dir, { recursive: true, force: true });
  });
});
