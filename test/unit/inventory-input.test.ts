// Hostile and unlucky input (issue 9): every way an inventory or a file it names can be wrong gets
// an InventoryError at its field (exit 2 in the CLI), with values escaped, before anything starts.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { packageIssues } from '../../src/artifacts/layout';
import { InventoryError, loadInventory, parseInventory } from '../../src/inventory/load';
import type { ClusterSpec } from '../../src/inventory/model';
import { freshLab, fx, issueAt, issuesOf, parseLab, refusedAt, setPath } from '../support/inventory';
import { writeImageTarball, writeLabArtifacts, writeVendorPackage } from '../support/packages';
import { cliBin } from '../support/paths';

const tmp = mkdtempSync(path.join(tmpdir(), 'api7ha-input-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

void describe('every number has an upper bound', () => {
  const cases: [string, number, RegExp][] = [
    ['ssh.port', 65536, /^must be 1-65535$/],
    ['ssh.connect_timeout_s', 301, /^must be 1-300$/],
    ['etcd.client_port', 99999, /^must be 1-65535$/],
    ['etcd.heartbeat_interval_ms', 5001, /^must be 10-5000$/],
    ['etcd.election_timeout_ms', 50001, /^must be 50-50000$/],
    ['control_plane.token_expire_s', 604801, /^must be 60-604800$/],
    ['data_plane.batch_size', 1001, /^must be 1-1000$/],
    ['data_plane.failure_budget', 5001, /^must be 0-5000$/],
    ['load_balancer.stats_port', 65536, /^must be 1-65535$/],
    ['load_balancer.check_interval_ms', 10001, /^must be 50-10000$/],
    ['load_balancer.fall', 11, /^must be 1-10$/],
    ['verification.expect_status', 600, /^must be 100-599$/],
    ['verification.deadline_s', 3601, /^must be 1-3600$/],
    ['failover.recovery_deadline_s', 3601, /^must be 5-3600$/],
    ['drills.probe_rate_per_s', 201, /^must be 1-200$/],
    ['drills.hold_s', 601, /^must be 1-600$/],
    ['drills.thresholds.dp_max_outage_ms', 600_001, /^must be 0-600000$/],
    ['drills.thresholds.cp_max_outage_ms', 1e12, /^must be 0-600000$/],
    ['drills.thresholds.etcd_cp_write_recovery_ms', 600_001, /^must be 0-600000$/],
    ['drills.thresholds.etcd_dp_max_failures', 1_000_001, /^must be 0-1000000$/],
    ['drills.thresholds.recovery_deadline_s', 3601, /^must be 5-3600$/],
    ['cluster.cluster_id', 1e300, /^must be letters, digits/],
  ];
  for (const [field, value, message] of cases) {
    void it(`${field}: ${value} is refused`, () => {
      refusedAt((d) => setPath(d, field, value), field, message, new RegExp(`^set ${field.replace(/[.[\]]/g, '\\$&')} to`), { checkFiles: false });
    });
  }
});

void describe('drills.scenarios, lab.upstream_host and the host-fault commands driver', () => {
  void it('drills.scenarios must name known scenarios (src/drills/scenarios.ts), and the spec keeps them', () => {
    refusedAt((d) => setPath(d, 'drills.scenarios', ['dp-node-loss', 'gateway-loss']), 'drills.scenarios[1]', /^must be one of dp-node-loss, cp-node-loss, .*etcd-partition$/, /^set drills\.scenarios\[1\] to one of/);
    refusedAt((d) => setPath(d, 'drills.scenarios', []), 'drills.scenarios', /at least one scenario/, /leave scenarios out/);
    assert.deepEqual(parseLab((d) => setPath(d, 'drills.scenarios', ['etcd-leader-loss'])).spec.drills.scenarios, ['etcd-leader-loss']);
  });

  void it('lab.upstream_host is a host name, and lab holds nothing else', () => {
    refusedAt((d) => setPath(d, 'lab.upstream_host', 'upstream;id'), 'lab.upstream_host', /must be lowercase letters/, /^set lab\.upstream_host/);
    refusedAt((d) => setPath(d, 'lab.anything', 1), 'lab', /unknown field "anything"/, /remove it/);
    assert.doesNotThrow(() => parseLab((d) => setPath(d, 'lab.upstream_host', 'upstream')));
  });

  const commands = { power_off: ['ipmitool', '-H', '{address}', 'chassis', 'power', 'off'], power_on: ['/usr/local/bin/power', '--on={host}'] };
  void it('drills.host_faults: { commands } becomes the commands driver, placeholders kept for the driver to fill', () => {
    const { spec } = parseLab((d) => setPath(d, 'drills.host_faults', { commands: { ...commands, disconnect: ['cut', '{host}'], reconnect: ['join', '{host}'], timeout_s: 30 } }));
    assert.deepEqual(spec.drills.hostFaultDriver, {
      type: 'commands',
      commands: { powerOff: commands.power_off, powerOn: commands.power_on, disconnect: ['cut', '{host}'], reconnect: ['join', '{host}'], timeoutS: 30 },
    });
    assert.deepEqual((parseLab((d) => setPath(d, 'drills.host_faults', { commands })).spec.drills.hostFaultDriver as { commands: { timeoutS: number } }).commands.timeoutS, 60);
  });

  void it('refuses a command argument that is not strict (a space, a quote, $(...), an unknown placeholder), at its index', () => {
    for (const bad of ['a b', "it's", '$(id)', '{hostname}', 'x\ny']) {
      refusedAt((d) => setPath(d, 'drills.host_faults', { commands: { ...commands, power_on: ['power', bad] } }), 'drills.host_faults.commands.power_on[1]', /placeholders \{host\} and \{address\}/, /^set drills\.host_faults\.commands\.power_on\[1\]/);
    }
    refusedAt((d) => setPath(d, 'drills.host_faults', { commands: { ...commands, power_off: ['--help'] } }), 'drills.host_faults.commands.power_off[0]', /must be a program name or path/, /^set/);
    refusedAt((d) => setPath(d, 'drills.host_faults', { commands: { ...commands, timeout_s: 0 } }), 'drills.host_faults.commands.timeout_s', /^must be 1-3600$/, /^set/);
    refusedAt((d) => setPath(d, 'drills.host_faults', 'ipmi'), 'drills.host_faults', /must be "none", "lab" or \{ commands:/, /^set drills\.host_faults to/);
  });

  void it('requires disconnect and reconnect when drills.scenarios has etcd-partition', () => {
    const issues = issuesOf(() =>
      parseLab((d) => {
        setPath(d, 'drills.scenarios', ['etcd-partition']);
        setPath(d, 'drills.host_faults', { commands });
      }),
    );
    assert.deepEqual(issues.map((i) => i.path), ['drills.host_faults.commands.disconnect', 'drills.host_faults.commands.reconnect']);
    assert.match(issues[0]!.fix, /cuts \{host\} off the network, or leave etcd-partition out/);
  });
});

void describe('values are escaped in every message', () => {
  void it('an unknown key with a terminal escape and a newline is printed escaped, and long ones cut short', () => {
    let err: unknown;
    try {
      parseLab((d) => {
        d['evil\u001b[2J\nfix: all good'] = 1;
        d['k'.repeat(100_000)] = 2;
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof InventoryError);
    assert.ok(![...err.message].some((c) => c !== '\n' && c.charCodeAt(0) < 0x20), 'no raw control character');
    assert.ok(err.message.includes('"evil\\u001b[2J\\nfix: all good"'), err.message);
    assert.ok(err.message.length < 2000, 'a 100k-character key is not echoed whole');
  });

  void it('a local path with control characters is refused at its field, before it is looked for', () => {
    const issues = issuesOf(() => parseLab((d) => setPath(d, 'ssh.known_hosts', 'keys/known\u001b]0;owned\u0007_hosts')));
    assert.deepEqual(issues.map((i) => [i.path, i.message]), [['ssh.known_hosts', 'must not contain control characters or line breaks']]);
  });

  void it('a file path with a newline is escaped in the "does not exist" message (the check runs on the value as given)', () => {
    const e = new InventoryError([{ path: 'packages.control_plane', message: 'file /x\ny does not exist', fix: 'point\tit' }], '/inv\u001b.yaml');
    assert.equal(e.message, '/inv\\u001b.yaml: invalid inventory (1 problem):\n  - packages.control_plane: file /x\\ny does not exist\n    fix: point\\tit');
  });
});

void describe('package and image file names', () => {
  void it('refuses a package whose file name api7-ha would not pass to a shell, naming the file and why', () => {
    for (const name of ['api7 cp.tar.gz', 'api7$(id).tar.gz', '-rf.tar.gz', 'cp`x`.tar.gz', 'ａpi7-cp.tar.gz']) {
      const issue = refusedAt((d) => setPath(d, 'packages.control_plane', `packages/${name}`), 'packages.control_plane', /whose name api7-ha does not pass to a remote shell/, /^rename the file .* and point packages\.control_plane at it$/);
      assert.ok(issue.message.startsWith(`names the file ${JSON.stringify(name)}`), issue.message);
    }
    refusedAt((d) => setPath(d, 'packages.etcd_image.tarball', 'images/etcd;reboot.tar'), 'packages.etcd_image.tarball', /does not pass to a remote shell/, /rename/);
  });
});

void describe('inventory files that are not inventories', () => {
  void it('a YAML alias bomb is refused, not expanded', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) levels.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(',')}]`);
    const issues = issuesOf(() => parseInventory(levels.join('\n'), fx('bomb.yaml')));
    assert.deepEqual(issues.map((i) => i.path), ['']);
    assert.match(issues[0]!.message, /aliases \(\*name\) expand more than 1000 times/);
  });

  void it('a folder, a device, a missing file and a huge file are named, with the -i fix', () => {
    const big = path.join(tmp, 'big.yaml');
    writeFileSync(big, `x: "${'a'.repeat(5 << 20)}"\n`);
    for (const [file, message] of [
      [tmp, /is a folder, not an inventory file/],
      ['/dev/zero', /is not a regular file/],
      [path.join(tmp, 'nope.yaml'), /does not exist/],
      [big, /an inventory is at most 4194304 bytes/],
    ] as const) {
      const issues = issuesOf(() => loadInventory(file));
      assert.equal(issues.length, 1);
      assert.match(issues[0]!.message, message);
      assert.match(issues[0]!.fix, /-i|inventory YAML/);
    }
  });

  void it('nesting deeper than the parser goes is bad input, not a crash', () => {
    const issues = issuesOf(() => parseInventory(`a: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`, fx('deep.yaml')));
    assert.equal(issues.length, 1);
  });

  void it('an unreadable inventory says so (run as nobody)', { skip: process.getuid?.() === 0 ? false : 'needs root to switch users' }, () => {
    const file = path.join(tmp, 'private.yaml');
    writeFileSync(file, 'cluster: {}\n');
    chmodSync(file, 0o600);
    chmodSync(tmp, 0o755);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliBin(), 'validate', '-i', file], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /cannot read inventory file .*private\.yaml: permission denied/);
    assert.match(r.stderr, /fix: run as a user who can read it/);
  });
});

void describe('packages must be the vendor\'s gzip\'d tar with its layout (checked before deploy or drill start)', () => {
  const artifacts = writeLabArtifacts(path.join(tmp, 'artifacts'));
  const specWith = (packages: Partial<ClusterSpec['packages']>): ClusterSpec => {
    const { spec } = parseLab(() => undefined, { checkFiles: false });
    return {
      ...spec,
      packages: {
        controlPlane: artifacts.controlPlane,
        dataPlane: artifacts.dataPlane,
        etcdImage: { name: 'bitnami/etcd:3.4.13', tarball: artifacts.etcdImage },
        haproxyImage: { name: 'api7-ha/haproxy:2.6', tarball: artifacts.haproxyImage },
        ...packages,
      },
    };
  };
  const cpIssues = (file: string) => packageIssues(specWith({ controlPlane: file }));
  const dir = path.join(tmp, 'bad');

  void it('accepts the vendor layout', () => {
    assert.deepEqual(packageIssues(specWith({})), []);
  });

  void it('refuses a file that is not gzip\'d, a gzip that is not a tar, and a truncated download', () => {
    assert.match(cpIssues(fx('packages/api7-2.13.2304-cp.tar.gz'))[0]!.message, /is not a gzip'd tar \(tar -xzf cannot extract it\)$/);
    mkdirSync(dir, { recursive: true });
    const notTar = path.join(dir, 'not-tar.tar.gz');
    execFileSync('sh', ['-c', `head -c 4096 /dev/urandom | gzip > ${notTar}`]);
    assert.match(cpIssues(notTar)[0]!.message, /it is not a readable tar archive/);
    const truncated = path.join(dir, 'truncated.tar.gz');
    const full = writeVendorPackage(dir, { top: 'api7-2.13.2304-cp', configPath: 'dashboard_conf/conf.yaml', file: 'full.tar.gz', extra: { 'big.bin': 'x'.repeat(200_000) } });
    execFileSync('sh', ['-c', `head -c 300 ${full} > ${truncated}`]);
    const issues = cpIssues(truncated);
    assert.equal(issues[0]?.path, 'packages.control_plane');
    assert.match(issues[0]!.message, /truncated|not a readable tar/);
    assert.match(issues[0]!.fix, /vendor's control plane package as downloaded: a \.tar\.gz holding one folder with docker-compose\.yaml, dashboard_conf\/conf\.yaml and images\//);
  });

  void it('names each missing part of the layout: images/, docker-compose.yaml, the product\'s conf file', () => {
    const pkg = (omit: ('compose' | 'config' | 'images')[], file: string) => writeVendorPackage(dir, { top: 'api7-2.13.2304-cp', configPath: 'dashboard_conf/conf.yaml', omit, file });
    assert.deepEqual(cpIssues(pkg(['images'], 'no-images.tar.gz')).map((i) => i.message.replace(`${dir}/`, '')), ['no-images.tar.gz: api7-2.13.2304-cp/images/ holds no image tarball (images/*.tar.gz)']);
    assert.deepEqual(cpIssues(pkg(['compose', 'config'], 'bare.tar.gz')).map((i) => i.message.replace(`${dir}/`, '')), [
      'bare.tar.gz: api7-2.13.2304-cp/docker-compose.yaml is missing',
      'bare.tar.gz: api7-2.13.2304-cp/dashboard_conf/conf.yaml is missing',
    ]);
    // The data plane package in the control plane's place: its conf file is not the dashboard's.
    assert.match(cpIssues(artifacts.dataPlane)[0]!.message, /api7-2\.13\.2304-dp\/dashboard_conf\/conf\.yaml is missing$/);
  });

  void it('refuses names api7-ha would pass to a shell and links out of the package folder', () => {
    const odd = writeVendorPackage(dir, { top: 'api7-2.13.2304-cp', configPath: 'dashboard_conf/conf.yaml', file: 'odd.tar.gz', extra: { 'images/$(reboot).tar.gz': 'x' } });
    assert.match(cpIssues(odd)[0]!.message, /it holds a file named "api7-2\.13\.2304-cp\/images\/\$\(reboot\)\.tar\.gz", which api7-ha does not pass to a shell/);
    const work = path.join(tmp, 'linkwork', 'api7-2.13.2304-cp');
    mkdirSync(work, { recursive: true });
    symlinkSync('/etc/shadow', path.join(work, 'docker-compose.yaml'));
    const linked = path.join(dir, 'linked.tar.gz');
    execFileSync('tar', ['-czf', linked, '-C', path.dirname(work), 'api7-2.13.2304-cp']);
    assert.match(cpIssues(linked)[0]!.message, /"api7-2\.13\.2304-cp\/docker-compose\.yaml" links to "\/etc\/shadow", outside the package folder/);
    const two = path.join(dir, 'two.tar.gz');
    mkdirSync(path.join(tmp, 'linkwork', 'other'), { recursive: true });
    execFileSync('tar', ['-czf', two, '-C', path.join(tmp, 'linkwork'), 'api7-2.13.2304-cp', 'other']);
    assert.match(cpIssues(two)[0]!.message, /a package holds exactly one top folder \(this one holds "api7-2\.13\.2304-cp", "other"\)/);
  });

  void it('refuses an image tarball that is not a `docker save`', () => {
    const notSave = path.join(dir, 'not-save.tar');
    execFileSync('tar', ['-cf', notSave, '-C', tmp, 'artifacts']);
    const issues = packageIssues(specWith({ etcdImage: { name: 'bitnami/etcd:3.4.13', tarball: notSave } }));
    assert.deepEqual(issues.map((i) => [i.path, i.message]), [['packages.etcd_image.tarball', `${notSave} is not a \`docker save\` tarball: no manifest.json`]]);
    assert.deepEqual(packageIssues(specWith({ etcdImage: { name: 'e:1', tarball: writeImageTarball(path.join(dir, 'plain.tar'), 'e:1', { gzip: false }) } })), [], 'a plain (not gzip\'d) docker save is fine');
  });

  void it('validate: exit 2 for a package that is not the vendor\'s, naming the field (before any deploy could start)', () => {
    const d = freshLab();
    setPath(d, 'packages.control_plane', fx('packages/api7-2.13.2304-cp.tar.gz'));
    setPath(d, 'packages.data_plane', artifacts.dataPlane);
    setPath(d, 'packages.etcd_image.tarball', artifacts.etcdImage);
    setPath(d, 'packages.haproxy_image.tarball', artifacts.haproxyImage);
    for (const [k, v] of [['ssh.identity_file', 'keys/deploy_key'], ['ssh.known_hosts', 'keys/known_hosts'], ['control_plane.auth_secret.file', 'secrets/dashboard-secret'], ['control_plane.admin.password.file', 'secrets/admin-password']] as const) setPath(d, k, fx(v));
    const file = path.join(tmp, 'bad-package.yaml');
    writeFileSync(file, stringify(d));
    const r = spawnSync(process.execPath, [cliBin(), 'validate', '-i', file], { encoding: 'utf8', env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /- packages\.control_plane: .*api7-2\.13\.2304-cp\.tar\.gz is not a gzip'd tar/);
    assert.match(r.stderr, /fix: point it at the vendor's control plane package/);
    assert.doesNotMatch(r.stderr, /^ +at /m, 'no stack trace');
    assert.equal(issueAt(packageIssues(loadInventory(file).spec), 'packages.control_plane').path, 'packages.control_plane');
  });
});
