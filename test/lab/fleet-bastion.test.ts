// A real fleet's shape, one lab: the estate behind a bastion (a bridge the machine has no route to),
// sshd on port 2222, a non-root operator whose home is under /srv, whose key has a passphrase and
// whose sudo asks for a password, install_dir under /srv, docker-compose v1 only and the packages on
// host networking. Deploy and the default drill go through the bastion; the wrong secrets and a
// changed host key on either hop are refused, naming the host, with nothing changed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabHost, LabInfo } from '../../lab/lab';
import type { DrillJournal } from '../../src/drills/journal';
import { DEFAULT_SCENARIOS, SCENARIOS } from '../../src/drills/scenarios';
import { http, looksLikeUpstream } from '../../src/reconcile/http';
import type { DeployResult } from '../../src/runbook/types';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { hostOf, labSkip, testLab } from '../support/lab';

const lab = testLab('bastion');
const env = temporalEnv(`api7-ha-lab-bastion-${process.pid}`);
const USER = 'ops';
const HOME = '/srv/ops';

/** Connect from the machine: the inner hosts must be unreachable (no route), not merely closed. */
function connectError(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port });
    s.setTimeout(3000, () => {
      s.destroy();
      resolve('timeout');
    });
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

void describe('a fleet behind a bastion: port 2222, a sudo password, a passphrase key, /srv, compose v1, host network', { skip: labSkip, timeout: 900_000 }, () => {
  let info: LabInfo;
  let worker: WorkerProcess;
  let dir: string;
  let everyHost: string[];
  let good: string;
  const inventory = (name: string, edit: (text: string) => string = (t) => t): string => {
    // Beside the lab's own inventory: its relative paths (packages, keys) resolve from there.
    const file = join(info.dir, `inventory-fleet-${name}.yaml`);
    writeFileSync(file, edit(good));
    return file;
  };
  const asOps = (h: LabHost, command: string) => lab.hostExec(h.name, ['su', '-s', '/bin/sh', USER, '-c', command]);

  /** Nothing of a deploy on any host: no install dir, no container, no image. */
  async function untouched(): Promise<void> {
    for (const name of everyHost) {
      const r = await lab.hostExec(name, ['sh', '-c', 'ls -d /srv/api7 /srv/api7-ha /usr/local/etcd 2>/dev/null; docker ps -aq; docker images -q']);
      assert.equal(r.stdout.trim(), '', `${name} was changed: ${r.stdout}`);
    }
  }

  before(async () => {
    info = await lab.up({ bastion: true, sshPort: 2222, compose: 'v1', network: 'host' });
    dir = join(info.dir, 'fleet');
    rmSync(dir, { recursive: true, force: true });
    execFileSync('mkdir', ['-p', dir]);
    everyHost = [...info.hosts.map((h) => h.name), 'bastion'];
    // The operator's key, with a passphrase; the passphrase and the sudo password as files (by reference).
    const passphrase = `pass phrase ${process.pid}`;
    const sudoPassword = `sudo:${process.pid}#pw`;
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'ops@fleet', '-f', join(dir, 'ops_key')]);
    writeFileSync(join(dir, 'passphrase'), `${passphrase}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'sudo-password'), `${sudoPassword}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'wrong'), 'not-the-secret\n', { mode: 0o600 });
    const pub = readFileSync(join(dir, 'ops_key.pub'), 'utf8').trim();
    const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: sudoPassword }).toString().trim();
    // On every host and the bastion: the user, its home under /srv, its key, sudo WITH a password.
    await Promise.all(
      everyHost.map(async (name) => {
        const r = await lab.hostExec(name, [
          'sh',
          '-c',
          `id ${USER} >/dev/null 2>&1 || useradd -m -d ${HOME} -s /bin/bash ${USER}; usermod -p "$1" ${USER}; ` +
            `mkdir -p ${HOME}/.ssh && printf '%s\\n' "$2" > ${HOME}/.ssh/authorized_keys && chown -R ${USER}: ${HOME}/.ssh && chmod 700 ${HOME}/.ssh && chmod 600 ${HOME}/.ssh/authorized_keys; ` +
            `echo '${USER} ALL=(ALL:ALL) ALL' > /etc/sudoers.d/${USER} && chmod 440 /etc/sudoers.d/${USER}`,
          'setup',
          hash,
          pub,
        ]);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      }),
    );
    good = readFileSync(info.inventoryPath, 'utf8')
      .replace('  user: root\n', `  user: ${USER}\n  sudo: true\n  passphrase: { file: fleet/passphrase }\n  sudo_password: { file: fleet/sudo-password }\n`)
      .replace('identity_file: ssh/id_ed25519', 'identity_file: fleet/ops_key')
      .replace('control_plane:\n', 'control_plane:\n  install_dir: /srv/api7\n')
      .replace('load_balancer:\n', 'load_balancer:\n  install_dir: /srv/api7-ha/haproxy\n')
      .replace('drills:\n', 'drills:\n  hold_s: 1\n')
      .concat('data_plane: { install_dir: /srv/api7 }\n');
    assert.match(good, /jump_host: \{ address: [\d.]+, port: 2222 \}/, 'the estate hosts are reached through the bastion');
    assert.match(good, /packages\/host-network\//);
    worker = await startWorker(env);
  });
  after(async () => {
    await worker?.kill('SIGTERM');
    await lab.down();
    rmSync(info.dir, { recursive: true, force: true });
  });

  void it('has no route from the machine to the estate: only the bastion and the load balancer answer', async () => {
    assert.equal(await connectError(hostOf(info, 'ha1').address, 2222), 'EHOSTUNREACH');
    assert.equal(await connectError(hostOf(info, 'ha4').address, 2222), 'EHOSTUNREACH');
    assert.equal(await connectError(info.bastion!.address, 2222), 'connected');
    assert.equal(await connectError(hostOf(info, 'lb').address, 2222), 'connected');
  });

  void it('refuses a wrong passphrase and a wrong sudo password, naming the hosts, and changes nothing', async () => {
    const wrongPassphrase = inventory('wrong-passphrase', (t) => t.replace('passphrase: { file: fleet/passphrase }', 'passphrase: { file: fleet/wrong }'));
    const a = await cli(['deploy', '-i', wrongPassphrase, '--wait', '--failover', 'never'], env);
    assert.equal(a.code, 1, a.stdout + a.stderr);
    const aOut = a.stdout + a.stderr;
    assert.match(aOut, /ha1: through the jump host [\d.]+: the passphrase in file \S*wrong does not decrypt the private key \S*ops_key \(wrong passphrase\?\)/);
    assert.match(aOut, /lb: the passphrase in file .*wrong does not decrypt the private key/);
    assert.ok(!aOut.includes('not-the-secret'), 'the secret itself is never printed');
    await untouched();

    const wrongSudo = inventory('wrong-sudo', (t) => t.replace('sudo_password: { file: fleet/sudo-password }', 'sudo_password: { file: fleet/wrong }'));
    const b = await cli(['deploy', '-i', wrongSudo, '--wait', '--failover', 'never'], env);
    assert.equal(b.code, 1, b.stdout + b.stderr);
    const bOut = b.stdout + b.stderr;
    for (const h of ['ha1', 'ha4', 'lb']) assert.match(bOut, new RegExp(`${h}\\s+BLOCK\\s+sudo\\s+sudo does not work for ${USER}`), bOut);
    assert.ok(!bOut.includes('not-the-secret'));
    await untouched();
  });

  void it('checks the bastion\'s host key first, then each host\'s, both pinned', async () => {
    const kh = readFileSync(info.knownHosts, 'utf8').trim().split('\n');
    const field = (h: { address: string }) => `[${h.address}]:2222 `;
    const keyOf = (h: { address: string }) => kh.find((l) => l.startsWith(field(h)))!.split(' ').slice(1).join(' ');
    const swap = (targets: { address: string }[]) => kh.map((l) => (targets.some((t) => l.startsWith(field(t))) ? `${l.split(' ')[0]} ${keyOf(hostOf(info, 'ha5'))}` : l)).join('\n');
    const ha1 = hostOf(info, 'ha1');
    // Both hops wrong: the bastion is reported, and ha1's own key is never reached.
    writeFileSync(join(dir, 'known_hosts.both'), `${swap([info.bastion!, ha1])}\n`);
    // A deploy (not --plan): preflight stops it at the first hop, before any change.
    const both = await cli(['deploy', '-i', inventory('kh-both', (t) => t.replace('known_hosts: ssh/known_hosts', 'known_hosts: fleet/known_hosts.both')), '--wait', '--failover', 'never'], env);
    assert.equal(both.code, 1);
    assert.match(both.stdout + both.stderr, /ha1: through the jump host [\d.]+ \([\d.]+:2222\): HOST KEY CHANGED/);
    assert.doesNotMatch(both.stdout + both.stderr, /ha1 \([\d.]+:2222\): HOST KEY CHANGED/);
    // Only ha1's key wrong: the bastion passes, ha1 is refused by name.
    writeFileSync(join(dir, 'known_hosts.ha1'), `${swap([ha1])}\n`);
    const one = await cli(['deploy', '-i', inventory('kh-ha1', (t) => t.replace('known_hosts: ssh/known_hosts', 'known_hosts: fleet/known_hosts.ha1')), '--wait', '--failover', 'never'], env);
    assert.equal(one.code, 1);
    assert.match(one.stdout + one.stderr, /ha1 \([\d.]+:2222\): HOST KEY CHANGED/);
    assert.doesNotMatch(one.stdout + one.stderr, /ha4.*HOST KEY CHANGED|jump host.*HOST KEY CHANGED/);
    await untouched();
  });

  void it('deploys through the bastion as the sudo user: compose v1, host network, /srv/api7, one connection to the bastion', async () => {
    // A fresh worker: the refused runs above left pooled connections of their own (another known_hosts is another trust).
    await worker.kill('SIGTERM');
    worker = await startWorker(env);
    const r = await cli(['deploy', '-i', inventory('good'), '--wait', '--json', '--failover', 'never'], env);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const result = JSON.parse(r.stdout) as DeployResult;
    assert.equal(result.etcd.quorum.healthy, true);
    const lb = hostOf(info, 'lb').address;
    const res = await http(`http://${lb}/get`, { headers: { Host: 'test.com' } });
    assert.equal(res.status, 200);
    assert.ok(looksLikeUpstream(res.body));
    // docker-compose v1 names containers project_service_1; the vendor package's host networking.
    const ha4 = hostOf(info, 'ha4');
    const ps = await lab.hostExec('ha4', ['docker', 'ps', '--format', '{{.Names}} {{.Networks}}']);
    assert.match(ps.stdout, /^api7-2132304-dp_api7-gateway_1 host$/m, ps.stdout);
    assert.equal((await lab.hostExec('ha4', ['test', '-f', '/srv/api7/api7-2.13.2304-dp/gateway_conf/config.yaml'])).code, 0);
    assert.equal((await lab.hostExec('lb', ['test', '-f', '/srv/api7-ha/haproxy/haproxy.cfg'])).code, 0);
    assert.equal((await lab.hostExec('ha4', ['test', '-e', '/opt/api7'])).code, 1, 'nothing under /opt');
    // The operator's own session works the same way: a home under /srv, sudo with the password.
    const who = await asOps(ha4, 'cd && pwd');
    assert.equal(who.stdout.trim(), HOME);
    // One pooled connection from the worker to the bastion, every host's connection a channel in it.
    const conns = await lab.hostExec('bastion', ['ss', '-Htn', 'state', 'established', '( sport = :2222 )']);
    const fromMachine = conns.stdout.trim().split('\n').filter((l) => l.includes(`${info.subnet.replace(/\.0\/24$/, '.1')}:`));
    assert.equal(fromMachine.length, 1, conns.stdout);
  });

  void it('passes the default drill through the bastion (faults as the sudo user, victims probed through it)', async () => {
    const r = await cli(['drill', '-i', join(info.dir, 'inventory-fleet-good.yaml'), '--wait', '--json'], env);
    const journal = JSON.parse(r.stdout) as DrillJournal;
    assert.equal(r.code, 0, `${journal.summary}\n${r.stderr.slice(-2000)}`);
    assert.deepEqual(journal.scenarios.map((s) => s.id), DEFAULT_SCENARIOS);
    for (const s of journal.scenarios) {
      assert.equal(s.status, 'passed', `${s.id}: ${JSON.stringify(s.hypotheses)}`);
      // A quiet scenario (config-propagation) has no victim: nothing is taken down.
      if (SCENARIOS[s.id].victim === 'none') continue;
      const victim = s.probes.find((p) => p.name === 'victim')!;
      assert.ok(victim.samples.some(([, status]) => status === 0 || status >= 500), `${s.id}: the victim (behind the bastion) was seen down`);
      assert.ok(victim.samples.some(([, status]) => status === 200), `${s.id}: and up`);
    }
  });
});
