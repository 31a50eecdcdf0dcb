// The hostile-input proof (issue 9): mutated inventories (every field: wrong type, missing, out of
// range, hostile strings) and broken files, through every command that takes an inventory. Each must
// exit 2 with the field named and no stack trace, and touch nothing: the inventory's only host, its
// jump host, its load balancer URLs and the probe upstream are all 127.0.0.1 on a TCP port this test
// listens on, as is TEMPORAL_ADDRESS, and neither listener may see a single connection.
//
// Most cases run in this process through the CLI's main(argv) (in a worker thread, so a check that
// hangs fails the test rather than stalling the suite); a sample runs as real child processes for the
// real exit code and stderr.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { buildProgram } from '../../src/cli/main';
import { inProcess, refusalProblem, runInWorker, type Job, type Outcome } from '../support/cli-in-process';
import { setPath, type Doc } from '../support/inventory';
import { writeLabArtifacts } from '../support/packages';
import { cliBin } from '../support/paths';

/** Every command that takes -i, with the other arguments it needs (a new one must be added here):
 *  the first line of each runs with every case, the flag variants with every tenth. */
const COMMAND_ARGS: Record<string, string[][]> = {
  validate: [['validate'], ['validate', '--json']],
  deploy: [['deploy'], ['deploy', '--plan'], ['deploy', '--plan', '--offline'], ['deploy', '--wait'], ['deploy', '--plan', '--json']],
  drill: [['drill'], ['drill', '--wait']],
  schedule: [['schedule', 'create', '--cron', '0 3 * * *']],
  status: [['status']],
  backup: [['backup', '--wait']],
  restore: [['restore', '--snapshot', 'missing.db']],
  'replace-member': [['replace-member', '--member', 'api7-etcd-9', '--with', 'h1']],
  upgrade: [['upgrade', '--plan'], ['upgrade', '--wait']],
  rollback: [['rollback', '--plan']],
  cleanup: [['cleanup']],
};
const EVERY_CASE = [['validate'], ['deploy'], ['deploy', '--plan'], ['deploy', '--plan', '--offline'], ['drill'], ['schedule', 'create', '--cron', '0 3 * * *']];

/** A listener that counts connections and closes each at once. */
async function listener(): Promise<{ server: Server; port: number; connections: () => number; reset: () => void }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { server, port: address.port, connections: () => n, reset: () => (n = 0) };
}

function baseInventory(sshPort: number): Doc {
  const argv = (verb: string) => ['/usr/local/bin/power', verb, '--host={host}', '--ip={address}'];
  return {
    cluster: { name: 'proof', cluster_id: '4242' },
    product: 'api7-ee-2.13',
    allow_no_ha: true,
    ssh: {
      user: 'root',
      port: sshPort,
      identity_file: 'keys/id_ed25519',
      agent: false,
      passphrase: { env: 'PROOF_KEY_PASSPHRASE' },
      sudo: false,
      sudo_password: { file: 'secrets/sudo-password' },
      jump_host: { address: '127.0.0.1', port: sshPort, user: 'root' },
      known_hosts: 'keys/known_hosts',
      host_key_policy: 'strict',
      connect_timeout_s: 2,
    },
    hosts: [{ name: 'h1', address: '127.0.0.1', roles: ['etcd', 'control_plane', 'data_plane'], etcd_name: 'api7-etcd-1', ssh: { user: 'root', port: sshPort } }],
    packages: {
      control_plane: 'packages/api7-2.13.2304-cp.tar.gz',
      data_plane: 'packages/api7-2.13.2304-dp.tar.gz',
      etcd_image: { tarball: 'packages/etcd-3.4.13.tar.gz', name: 'bitnami/etcd:3.4.13' },
      haproxy_image: { tarball: 'packages/haproxy-2.6.tar.gz', name: 'api7-ha/haproxy:2.6' },
    },
    etcd: {
      data_dir: '/usr/local/etcd/etcd_data',
      container_name: 'etcd',
      cluster_token: 'etcd-cluster',
      client_port: 2379,
      peer_port: 2380,
      enable_v2: true,
      heartbeat_interval_ms: 100,
      election_timeout_ms: 1000,
      auth: { enabled: false, user: 'root' },
      tls: { enabled: false },
    },
    control_plane: { install_dir: '/opt/api7', auth_secret: { file: 'secrets/dashboard-secret' }, admin: { username: 'admin', password: { env: 'PROOF_ADMIN_PASSWORD' } }, token_expire_s: 3600 },
    data_plane: { install_dir: '/opt/api7', batch_size: 5, failure_budget: 0 },
    load_balancer: {
      mode: 'external',
      control_plane_port: 9000,
      data_plane_port: 80,
      stats_port: 8404,
      install_dir: '/opt/api7-ha/haproxy',
      check_interval_ms: 250,
      fall: 2,
      rise: 2,
      external: { control_plane_url: `http://127.0.0.1:${sshPort}/`, data_plane_url: `http://127.0.0.1:${sshPort}` },
    },
    verification: { host: 'test.com', path: '/get', expect_status: 200, upstream: `127.0.0.1:${sshPort}`, route_id: 'api7-ha-probe', deadline_s: 60 },
    failover: { enabled: true, recovery_deadline_s: 120 },
    drills: {
      probe_rate_per_s: 20,
      hold_s: 6,
      scenarios: ['dp-node-loss', 'host-loss'],
      host_faults: { commands: { power_off: argv('off'), power_on: argv('on'), disconnect: argv('cut'), reconnect: argv('join'), timeout_s: 60 } },
      thresholds: { dp_max_outage_ms: 2000, cp_max_outage_ms: 5000, etcd_cp_write_recovery_ms: 5000, etcd_dp_max_failures: 0, recovery_deadline_s: 120 },
    },
    lab: { upstream_host: 'upstream' },
  };
}

type Kind = 'pattern' | 'remotePath' | 'localPath' | 'tarball' | 'int' | 'number' | 'bool' | 'enum' | 'secretRef' | 'roles' | 'scenarios' | 'argv';
interface Field {
  path: string;
  kind: Kind;
  /** Required: removing it is a case (reported where `missingAt` says, default the field). */
  required?: boolean;
  missingAt?: string;
  range?: [number, number];
  /** A number is a valid value too (cluster_id). */
  numberOk?: boolean;
}

const F = (path: string, kind: Kind, extra: Omit<Field, 'path' | 'kind'> = {}): Field => ({ path, kind, ...extra });
const FIELDS: Field[] = [
  F('cluster', 'enum', { required: true }),
  F('cluster.name', 'pattern', { required: true }),
  F('cluster.cluster_id', 'pattern', { required: true, numberOk: true }),
  F('product', 'enum'),
  F('allow_no_ha', 'bool'),
  F('ssh.user', 'pattern'),
  F('ssh.port', 'int', { range: [1, 65535] }),
  F('ssh.identity_file', 'localPath', { required: true, missingAt: 'hosts[0].ssh.identity_file' }),
  F('ssh.agent', 'bool'),
  F('ssh.passphrase', 'secretRef'),
  F('ssh.sudo', 'bool'),
  F('ssh.sudo_password', 'secretRef'),
  F('ssh.jump_host.address', 'pattern', { required: true }),
  F('ssh.jump_host.port', 'int', { range: [1, 65535] }),
  F('ssh.jump_host.user', 'pattern'),
  F('ssh.known_hosts', 'localPath', { required: true, missingAt: 'hosts[0].ssh.known_hosts' }),
  F('ssh.host_key_policy', 'enum'),
  F('ssh.connect_timeout_s', 'int', { range: [1, 300] }),
  F('hosts', 'roles', { required: true }),
  F('hosts[0].name', 'pattern', { required: true }),
  F('hosts[0].address', 'pattern', { required: true }),
  F('hosts[0].roles', 'roles', { required: true }),
  F('hosts[0].etcd_name', 'pattern'),
  F('hosts[0].ssh.user', 'pattern'),
  F('hosts[0].ssh.port', 'int', { range: [1, 65535] }),
  F('hosts[0].ssh.identity_file', 'localPath'),
  F('hosts[0].ssh.known_hosts', 'localPath'),
  F('packages.control_plane', 'tarball', { required: true }),
  F('packages.data_plane', 'tarball', { required: true }),
  F('packages.etcd_image.tarball', 'tarball'),
  F('packages.etcd_image.name', 'pattern', { required: true }),
  F('packages.haproxy_image.tarball', 'tarball'),
  F('packages.haproxy_image.name', 'pattern', { required: true }),
  F('etcd.data_dir', 'remotePath'),
  F('etcd.container_name', 'pattern'),
  F('etcd.cluster_token', 'pattern'),
  F('etcd.client_port', 'int', { range: [1, 65535] }),
  F('etcd.peer_port', 'int', { range: [1, 65535] }),
  F('etcd.enable_v2', 'bool'),
  F('etcd.heartbeat_interval_ms', 'int', { range: [10, 5000] }),
  F('etcd.election_timeout_ms', 'int', { range: [50, 50000] }),
  F('etcd.auth.enabled', 'bool'),
  F('etcd.auth.user', 'pattern'),
  F('etcd.tls.enabled', 'bool'),
  F('control_plane.install_dir', 'remotePath'),
  F('control_plane.auth_secret', 'secretRef'),
  F('control_plane.admin.username', 'pattern'),
  F('control_plane.admin.password', 'secretRef', { required: true }),
  F('control_plane.token_expire_s', 'int', { range: [60, 604800] }),
  F('data_plane.install_dir', 'remotePath'),
  F('data_plane.batch_size', 'int', { range: [1, 1000] }),
  F('data_plane.failure_budget', 'int', { range: [0, 0] }),
  F('load_balancer.mode', 'enum'),
  F('load_balancer.control_plane_port', 'int', { range: [1, 65535] }),
  F('load_balancer.data_plane_port', 'int', { range: [1, 65535] }),
  F('load_balancer.stats_port', 'int', { range: [1, 65535] }),
  F('load_balancer.install_dir', 'remotePath'),
  F('load_balancer.check_interval_ms', 'int', { range: [50, 10000] }),
  F('load_balancer.fall', 'int', { range: [1, 10] }),
  F('load_balancer.rise', 'int', { range: [1, 10] }),
  F('load_balancer.external.control_plane_url', 'pattern', { required: true }),
  F('load_balancer.external.data_plane_url', 'pattern', { required: true }),
  F('verification.host', 'pattern'),
  F('verification.path', 'pattern'),
  F('verification.expect_status', 'int', { range: [100, 599] }),
  F('verification.upstream', 'pattern', { required: true }),
  F('verification.route_id', 'pattern'),
  F('verification.deadline_s', 'int', { range: [1, 3600] }),
  F('failover.enabled', 'bool'),
  F('failover.recovery_deadline_s', 'int', { range: [5, 3600] }),
  F('drills.probe_rate_per_s', 'number', { range: [1, 200] }),
  F('drills.hold_s', 'number', { range: [1, 600] }),
  F('drills.scenarios', 'scenarios'),
  F('drills.host_faults', 'enum'),
  F('drills.host_faults.commands.power_off', 'argv', { required: true }),
  F('drills.host_faults.commands.power_on', 'argv', { required: true }),
  F('drills.host_faults.commands.disconnect', 'argv'),
  F('drills.host_faults.commands.timeout_s', 'int', { range: [1, 3600] }),
  F('drills.thresholds.dp_max_outage_ms', 'int', { range: [0, 600000] }),
  F('drills.thresholds.cp_max_outage_ms', 'int', { range: [0, 600000] }),
  F('drills.thresholds.etcd_cp_write_recovery_ms', 'int', { range: [0, 600000] }),
  F('drills.thresholds.etcd_dp_max_failures', 'int', { range: [0, 1000000] }),
  F('drills.thresholds.recovery_deadline_s', 'int', { range: [5, 3600] }),
  F('lab.upstream_host', 'pattern'),
];

/** Strings no field accepts: shell metacharacters, substitutions, quotes, line breaks, NUL, control
 *  and bidi characters, look-alikes, and ReDoS payloads (long runs, then a refused character). */
const HOSTILE: string[] = [
  ';reboot',
  '$(id)',
  '`id`',
  "x'y",
  'x"y',
  'a b',
  'x\ny',
  'x\ry',
  'x\u0000y',
  'x\u001b[2Jy',
  'x\u0085y',
  'x\u202ey',
  'hа1', // Cyrillic а
  'ｈ1', // fullwidth
  'x|y',
  'x&y',
  'x>y',
  `${'a'.repeat(50)}!`,
  `${'a.'.repeat(5000)}!`,
  `/${'a'.repeat(40)}!`,
  `${'-'.repeat(5000)}!`,
];
/** Strings only some kinds refuse. */
const EMPTY = '';
const HUGE = 'a'.repeat(100_000);

interface Case {
  id: string;
  /** Where the problem must be reported. */
  at: string;
  doc?: Doc;
  text?: string;
}

function mutations(base: Doc): Case[] {
  const cases: Case[] = [];
  const add = (f: Field, label: string, value: unknown, at = f.path) => {
    const doc = structuredClone(base);
    if (value === undefined) {
      // Remove it.
      const keys = f.path.split('.');
      const parent = keys.slice(0, -1).join('.');
      const holder = (parent ? parent.split('.').reduce<Record<string, unknown>>((o, k) => {
        const m = /^(\w+)\[(\d+)\]$/.exec(k);
        return (m ? (o[m[1]!] as unknown[])[Number(m[2])] : o[k]) as Record<string, unknown>;
      }, doc) : doc);
      const last = keys[keys.length - 1]!;
      const m = /^(\w+)\[(\d+)\]$/.exec(last);
      if (m) (holder[m[1]!] as unknown[]).splice(Number(m[2]), 1);
      else delete holder[last];
    } else setPath(doc, f.path, value);
    cases.push({ id: `${f.path} ${label}`, at, doc });
  };
  // Each field meets a share of the hostile strings, rotating, so that every string meets many fields
  // and every field many strings.
  const share = (k: number, n: number) => Array.from({ length: n }, (_, j) => HOSTILE[(k * n + j) % HOSTILE.length]!);
  for (const [k, f] of FIELDS.entries()) {
    if (f.required) add(f, 'missing', undefined, f.missingAt ?? (f.path === 'hosts' ? 'hosts' : f.path));
    switch (f.kind) {
      case 'pattern':
      case 'remotePath':
        for (const h of share(k, 4)) add(f, `hostile ${JSON.stringify(h.slice(0, 20))}`, h);
        add(f, 'empty', EMPTY);
        add(f, '100k characters', HUGE);
        if (f.numberOk) add(f, 'a negative number', -42);
        else add(f, 'a number', 42);
        add(f, ['a list', 'a mapping', 'null'][k % 3]!, [['a'], { a: 1 }, null][k % 3]);
        if (f.kind === 'remotePath') {
          add(f, '.. segment', '/opt/api7/../../etc');
          add(f, 'relative', 'opt/api7');
          add(f, 'root', '/');
        }
        break;
      case 'localPath':
      case 'tarball':
        for (const h of ['x\ny.tar.gz', 'x\u0000.tar.gz', 'x\u001b]0;t\u0007.tar.gz', 'x\u202e.tar.gz']) add(f, `control ${JSON.stringify(h)}`, h);
        for (const h of ['$(id).tar.gz', 'a b.tar.gz', ';reboot.tar.gz', 'missing/nothing.tar.gz', 'ｐkg.tar.gz']) add(f, `hostile ${JSON.stringify(h)}`, h);
        add(f, 'empty', EMPTY);
        add(f, '100k characters', HUGE);
        add(f, 'a folder', 'packages');
        add(f, k % 2 ? 'a number' : 'a list', k % 2 ? 7 : ['keys/id_ed25519']);
        break;
      case 'int':
      case 'number': {
        const [min, max] = f.range!;
        add(f, 'below range', min - 1);
        add(f, 'above range', max + 1);
        add(f, '1e300', k % 2 ? 1e300 : -1e300);
        add(f, k % 2 ? 'NaN' : 'Infinity', k % 2 ? Number.NaN : Number.POSITIVE_INFINITY);
        add(f, 'a string', String(min));
        add(f, ['a bool', 'a list', 'a hostile string'][k % 3]!, [true, [min], '$(id)'][k % 3]);
        if (f.kind === 'int') add(f, 'a fraction', min + 0.5);
        break;
      }
      case 'bool':
        for (const v of ['yes', 'true', 1, null, [], {}]) add(f, `not a bool ${JSON.stringify(v)}`, v);
        break;
      case 'enum':
        for (const [i, v] of [...share(k, 4), 'bogus', 'LAB', EMPTY, HUGE, 42, []].entries()) add(f, `not one of its values #${i}`, v);
        break;
      case 'secretRef':
        add(f, 'an inline secret', 'hunter2-inline-secret');
        add(f, 'both env and file', { env: 'A', file: 'b' });
        add(f, 'an empty mapping', {});
        add(f, 'an unknown key', { vault: 'kv/x' });
        for (const [i, h] of share(k, 4).entries()) add(f, `hostile env #${i}`, { env: h }, `${f.path}.env`);
        add(f, 'a file with a newline', { file: 'secrets/x\ny' }, `${f.path}.file`);
        add(f, 'a missing file', { file: 'secrets/none' }, `${f.path}.file`);
        break;
      case 'roles':
        add(f, 'a string', 'etcd');
        add(f, 'empty', []);
        add(f, 'a mapping', { etcd: true });
        if (f.path !== 'hosts') {
          add(f, 'unknown role', ['etcd', 'gateway'], `${f.path}[1]`);
          add(f, 'hostile role', ['etcd;id'], `${f.path}[0]`);
          add(f, 'a role twice', ['etcd', 'etcd', 'control_plane', 'data_plane']);
        }
        break;
      case 'scenarios':
        add(f, 'a string', 'dp-node-loss');
        add(f, 'empty', []);
        add(f, 'unknown scenario', ['dp-node-loss', 'rm-rf'], `${f.path}[1]`);
        add(f, 'hostile scenario', ['$(id)'], `${f.path}[0]`);
        add(f, 'too many', Array(40).fill('dp-node-loss'));
        break;
      case 'argv':
        add(f, 'empty', [], `${f.path}[0]`);
        add(f, 'a string', '/usr/local/bin/power off');
        add(f, 'an option as program', ['--help'], `${f.path}[0]`);
        add(f, 'a hostile program', ['$(id)'], `${f.path}[0]`);
        for (const [i, h] of [...share(k, 5), '{hostname}', '{host', HUGE].entries()) add(f, `hostile argument #${i}`, ['/usr/local/bin/power', h], `${f.path}[1]`);
        add(f, 'too many arguments', ['/usr/local/bin/power', ...Array(80).fill('x')]);
        break;
    }
  }
  return cases;
}

/** Broken files, not broken fields. */
function brokenFiles(base: Doc): Case[] {
  const text = stringify(base);
  const levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) levels.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]`);
  return [
    { id: 'alias bomb', at: '(top level)', text: `${levels.join('\n')}\n${text}` },
    { id: 'deep nesting', at: 'line 1', text: `x: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n` },
    { id: 'tab indentation', at: 'line 2', text: 'cluster:\n\tname: proof\n' },
    { id: 'duplicate key', at: `line ${text.split('\n').length}`, text: `${text}cluster: { name: again }\n` },
    { id: 'a list', at: '(top level)', text: '- a\n- b\n' },
    { id: 'empty', at: '(top level)', text: '' },
    { id: 'a __proto__ key', at: '(top level)', text: `${text}__proto__: { polluted: true }\n` },
    { id: 'an unknown section', at: '(top level)', text: `${text}"deploy\\u001b[2J": {}\n` },
    { id: 'binary', at: '(top level)', text: '\u0000\u0001\u0002\u0003' },
  ];
}

function child(args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [cliBin(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}


function assertRefused(what: string, o: Outcome, at: string): void {
  const problem = refusalProblem(o, at);
  assert.equal(problem, undefined, `${what}: ${problem}`);
}

void describe('hostile input: every field, every command that takes an inventory: exit 2, the field named, nothing touched', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'api7ha-hostile-'));
  let ssh: Awaited<ReturnType<typeof listener>>;
  let temporal: Awaited<ReturnType<typeof listener>>;
  let cases: Case[] = [];
  let base: Doc;
  const ENV = { TEMPORAL_ADDRESS: '', PROOF_KEY_PASSPHRASE: 'proof-passphrase', PROOF_ADMIN_PASSWORD: 'proof-admin' };
  const saved = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));
  const commands = Object.values(COMMAND_ARGS).flat();
  const fileOf = (i: number) => path.join(dir, `case-${i}.yaml`);

  before(async () => {
    ssh = await listener();
    temporal = await listener();
    Object.assign(process.env, ENV, { TEMPORAL_ADDRESS: `127.0.0.1:${temporal.port}` });
    writeLabArtifacts(path.join(dir, 'packages'));
    mkdirSync(path.join(dir, 'keys'));
    mkdirSync(path.join(dir, 'secrets'));
    // A real key (nothing will accept it): without one, a plan would stop before it connects.
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'hostile-input-proof', '-f', path.join(dir, 'keys', 'id_ed25519')]);
    writeFileSync(path.join(dir, 'keys', 'known_hosts'), '127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n');
    writeFileSync(path.join(dir, 'secrets', 'dashboard-secret'), 'proof-secret\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'secrets', 'sudo-password'), 'proof-sudo\n', { mode: 0o600 });
    base = baseInventory(ssh.port);
    writeFileSync(path.join(dir, 'base.yaml'), stringify(base));
    cases = [...mutations(base), ...brokenFiles(base)];
    cases.forEach((c, i) => writeFileSync(fileOf(i), c.text ?? stringify(c.doc)));
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await new Promise((r) => ssh.server.close(r));
    await new Promise((r) => temporal.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  void it('covers every command of the CLI that takes an inventory', () => {
    const taking = buildProgram(() => undefined)
      .commands.filter((c) => c.options.some((o) => o.long === '--inventory'))
      .map((c) => c.name());
    assert.deepEqual(taking.filter((c) => !(c in COMMAND_ARGS)), [], 'add the new command to COMMAND_ARGS with the arguments it needs');
  });

  void it('the base inventory is valid, and an offline plan of it connects to nothing', async () => {
    const base = path.join(dir, 'base.yaml');
    const v = await inProcess(['validate', '-i', base]);
    assert.equal(v.code, 0, v.stderr);
    const offline = await inProcess(['deploy', '-i', base, '--plan', '--offline']);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(ssh.connections() + temporal.connections(), 0);
  });

  void it('about 600 mutated inventories and broken files, through every command, in this process', async () => {
    assert.ok(cases.length >= 600, `${cases.length} cases`);
    const variants = commands.filter((a) => !EVERY_CASE.some((e) => e.join(' ') === a.join(' ')));
    const jobs: Job[] = cases.flatMap((c, i) => (i % 10 === 0 ? [...EVERY_CASE, ...variants] : EVERY_CASE).map((args) => ({ id: c.id, args: [...args, '-i', fileOf(i)], at: c.at })));
    // In a worker thread of this process: a check that hangs fails here after the guard, it does not stall the suite.
    const report = await runInWorker(jobs, { ...process.env }, 300_000);
    assert.equal(report.runs, jobs.length);
    assert.deepEqual(report.failures.slice(0, 5), [], `${report.failures.length} of ${jobs.length} runs were not refused properly`);
    assert.equal(ssh.connections(), 0, 'a host (or the jump host, a load balancer, the upstream) was contacted');
    assert.equal(temporal.connections(), 0, 'Temporal was contacted');
    console.log(`${cases.length} cases x ${EVERY_CASE.length} command lines (+${variants.length} flag variants on every tenth) = ${jobs.length} runs, all exit 2 with the field named; 0 connections`);
  });

  void it('-i at a folder, a device, a missing file: exit 2 naming it', async () => {
    for (const [target, message] of [
      [dir, /is a folder, not an inventory file/],
      ['/dev/null', /is not a regular file/],
      [path.join(dir, 'nope.yaml'), /does not exist/],
    ] as const) {
      for (const args of commands) {
        const o = await inProcess([...args, '-i', target]);
        assertRefused(`${target} / ${args.join(' ')}`, o, '(top level)');
        assert.match(o.stderr, message);
      }
    }
  });

  void it('a sample as real processes: the same exit code and stderr', async () => {
    const env = { ...process.env };
    // One case per command line, spread over the list (the alias bomb among them).
    const picks = EVERY_CASE.map((_, k) => (k === EVERY_CASE.length - 1 ? cases.findIndex((c) => c.id === 'alias bomb') : Math.floor((k * cases.length) / EVERY_CASE.length) + 3));
    const jobs = picks.map((i, k) => ({ c: cases[i]!, file: fileOf(i), args: EVERY_CASE[k]! }));
    for (let k = 0; k < jobs.length; k += 3) {
      await Promise.all(jobs.slice(k, k + 3).map(async (j) => assertRefused(`${j.c.id} / ${j.args.join(' ')} (process)`, await child([...j.args, '-i', j.file], env), j.c.at)));
    }
    assert.equal(ssh.connections() + temporal.connections(), 0);
    // The listener does see a command that does connect: a plan of the valid base probes its host.
    await child(['deploy', '-i', path.join(dir, 'base.yaml'), '--plan'], env);
    assert.ok(ssh.connections() > 0, 'a plan with probes tried the host (through its jump host)');
  });
});
