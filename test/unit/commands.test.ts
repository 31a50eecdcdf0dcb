// Commands as data: the exact argv every builder produces, compared with the vendor runbook where the
// runbook spells the command out, and the probe/change marking `deploy --plan` relies on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import * as compose from '../../src/commands/compose';
import * as docker from '../../src/commands/docker';
import * as etcd from '../../src/commands/etcd';
import * as files from '../../src/commands/files';
import * as firewall from '../../src/commands/firewall';
import * as haproxy from '../../src/commands/haproxy';
import * as preflight from '../../src/commands/preflight';
import { shellLine } from '../../src/commands/shell';
import type { RemoteCommand } from '../../src/commands/types';

// The runbook's etcd line, verbatim (api7-ee-2.13-high-availability, "ectd 高可用部署", step 3).
const RUNBOOK_ETCD_LINE =
  'sudo docker run --restart always --name etcd -u root -v /usr/local/etcd/etcd_data:/etcd_data -e ALLOW_NONE_AUTHENTICATION=yes -e ETCD_NAME=api7-etcd-1 -e ETCD_LISTEN_PEER_URLS=http://0.0.0.0:2380 -e ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379 -e ETCD_ADVERTISE_CLIENT_URLS=http://$ha_ip1:2379 -e ETCD_INITIAL_ADVERTISE_PEER_URLS=http://$ha_ip1:2380 -e ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster -e ETCD_INITIAL_CLUSTER=api7-etcd-1=http://$ha_ip1:2380,api7-etcd-2=http://$ha_ip2:2380,api7-etcd-3=http://$ha_ip3:2380 -e ETCD_DATA_DIR=/etcd_data -e ETCD_ENABLE_V2=true --network=host -d bitnami/etcd:3.4.13';

const IPS = ['10.0.0.11', '10.0.0.12', '10.0.0.13'];
const MEMBERS = IPS.map((address, i) => ({ name: `api7-etcd-${i + 1}`, address }));

/** The runbook's line for member n (its own name and advertise URLs), $ha_ipN substituted, without sudo. */
function runbookArgv(n: number): string[] {
  const line = RUNBOOK_ETCD_LINE.replace('ETCD_NAME=api7-etcd-1', `ETCD_NAME=api7-etcd-${n}`)
    .replace('ETCD_ADVERTISE_CLIENT_URLS=http://$ha_ip1', `ETCD_ADVERTISE_CLIENT_URLS=http://$ha_ip${n}`)
    .replace('ETCD_INITIAL_ADVERTISE_PEER_URLS=http://$ha_ip1', `ETCD_INITIAL_ADVERTISE_PEER_URLS=http://$ha_ip${n}`)
    .replace(/\$ha_ip(\d)/g, (_m, k: string) => IPS[Number(k) - 1]!);
  const argv = line.split(' ');
  assert.equal(argv.shift(), 'sudo');
  return argv;
}

function memberInput(n: number, over: Partial<etcd.EtcdMemberInput> = {}): etcd.EtcdMemberInput {
  return {
    cluster: 'lab',
    member: MEMBERS[n - 1]!,
    members: MEMBERS,
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
    ...over,
  };
}

const HASH = '0123456789abcdef';
const LABEL_FLAGS = ['--label', 'io.api7-ha.managed-by=api7-ha', '--label', 'io.api7-ha.cluster=lab', '--label', 'io.api7-ha.role=etcd', '--label', `io.api7-ha.config-hash=${HASH}`];

/** argv without the label flags (which the runbook does not have). */
function withoutLabels(argv: string[]): string[] {
  return argv.filter((a, i) => a !== '--label' && argv[i - 1] !== '--label');
}
/** The upkeep variables api7-ha adds after the runbook's (and after the tuning ones). */
const UPKEEP_FLAGS = ['-e', 'ETCD_AUTO_COMPACTION_MODE=periodic', '-e', 'ETCD_AUTO_COMPACTION_RETENTION=1h', '-e', 'ETCD_QUOTA_BACKEND_BYTES=2147483648'];
function withoutUpkeep(argv: string[]): string[] {
  const i = argv.indexOf(UPKEEP_FLAGS[1]!);
  assert.ok(i > 0, 'the upkeep variables are set');
  assert.deepEqual(argv.slice(i - 1, i - 1 + UPKEEP_FLAGS.length), UPKEEP_FLAGS);
  return [...argv.slice(0, i - 1), ...argv.slice(i - 1 + UPKEEP_FLAGS.length)];
}
/** The values of every `-e` flag. */
const envOf = (argv: string[]) => argv.filter((_a, i) => argv[i - 1] === '-e');

void describe('etcd member: the runbook docker run line', () => {
  for (const n of [1, 2, 3]) {
    void it(`member ${n} of 3: exactly the runbook's flags in the runbook's order, plus compaction and quota after them and the labels before --network`, () => {
      const cmd = etcd.runMember(memberInput(n), 'new', HASH);
      assert.deepEqual(withoutUpkeep(withoutLabels(cmd.argv)), runbookArgv(n));
      const net = cmd.argv.indexOf('--network=host');
      assert.deepEqual(cmd.argv.slice(net - LABEL_FLAGS.length, net), LABEL_FLAGS);
      assert.equal(cmd.mutates, true);
      assert.equal(cmd.sudo, true);
      assert.equal(cmd.describe, `start etcd member api7-etcd-${n} (new cluster)`);
    });
  }

  void it('renders as the runbook line (without sudo) plus labels, with no quoting needed', () => {
    const line = shellLine(etcd.runMember(memberInput(1), 'new', HASH).argv);
    const [before, afterNet] = runbookArgv(1).join(' ').split(' --network=host');
    assert.equal(line, `${before} ${UPKEEP_FLAGS.join(' ')} ${LABEL_FLAGS.join(' ')} --network=host${afterNet}`);
  });

  void it('recreating a member (state existing) adds ETCD_INITIAL_CLUSTER_STATE=existing and changes nothing else', () => {
    const fresh = etcd.runMember(memberInput(2), 'new', HASH).argv;
    const existing = etcd.runMember(memberInput(2), 'existing', HASH);
    const i = existing.argv.indexOf('ETCD_ENABLE_V2=true');
    assert.deepEqual(existing.argv.slice(i + 1, i + 3), ['-e', 'ETCD_INITIAL_CLUSTER_STATE=existing']);
    assert.deepEqual([...existing.argv.slice(0, i + 1), ...existing.argv.slice(i + 3)], fresh);
    assert.ok(!fresh.some((a) => a.startsWith('ETCD_INITIAL_CLUSTER_STATE=')), 'a new member uses the image default (new)');
    assert.equal(existing.describe, 'start etcd member api7-etcd-2 (existing cluster)');
  });

  void it('with auth: --env-file carries the password, ALLOW_NONE_AUTHENTICATION is dropped, no secret in argv', () => {
    const argv = etcd.runMember(memberInput(1, { auth: { enabled: true, user: 'root' } }), 'new', HASH).argv;
    assert.deepEqual(argv.slice(0, 11), ['docker', 'run', '--restart', 'always', '--name', 'etcd', '-u', 'root', '-v', '/usr/local/etcd/etcd_data:/etcd_data', '--env-file']);
    assert.equal(argv[11], '/usr/local/etcd/api7-ha-etcd.env');
    assert.ok(!argv.includes('ALLOW_NONE_AUTHENTICATION=yes'));
    assert.equal(envOf(argv)[0], 'ETCD_NAME=api7-etcd-1');
    assert.ok(!argv.some((a) => /PASSWORD|__SECRET_/.test(a)), argv.join(' '));
    assert.equal(etcd.authEnvFile(), 'ETCD_ROOT_PASSWORD=__SECRET_etcd_password__\n');
    assert.equal(etcd.envFileOnHost('/usr/local/etcd/etcd_data/'), '/usr/local/etcd/api7-ha-etcd.env');
  });

  void it('with TLS: every URL is https, the certificates are mounted read-only and named in the env', () => {
    const argv = etcd.runMember(memberInput(3, { tls: true }), 'new', HASH).argv;
    const env = envOf(argv);
    assert.deepEqual(env, [
      'ALLOW_NONE_AUTHENTICATION=yes',
      'ETCD_NAME=api7-etcd-3',
      'ETCD_LISTEN_PEER_URLS=https://0.0.0.0:2380',
      'ETCD_LISTEN_CLIENT_URLS=https://0.0.0.0:2379',
      'ETCD_ADVERTISE_CLIENT_URLS=https://10.0.0.13:2379',
      'ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.13:2380',
      'ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster',
      'ETCD_INITIAL_CLUSTER=api7-etcd-1=https://10.0.0.11:2380,api7-etcd-2=https://10.0.0.12:2380,api7-etcd-3=https://10.0.0.13:2380',
      'ETCD_DATA_DIR=/etcd_data',
      'ETCD_ENABLE_V2=true',
      'ETCD_AUTO_COMPACTION_MODE=periodic',
      'ETCD_AUTO_COMPACTION_RETENTION=1h',
      'ETCD_QUOTA_BACKEND_BYTES=2147483648',
      'ETCD_CERT_FILE=/etcd_certs/server.pem',
      'ETCD_KEY_FILE=/etcd_certs/server-key.pem',
      'ETCD_TRUSTED_CA_FILE=/etcd_certs/ca.pem',
      'ETCD_CLIENT_CERT_AUTH=true',
      'ETCD_PEER_CERT_FILE=/etcd_certs/server.pem',
      'ETCD_PEER_KEY_FILE=/etcd_certs/server-key.pem',
      'ETCD_PEER_TRUSTED_CA_FILE=/etcd_certs/ca.pem',
      'ETCD_PEER_CLIENT_CERT_AUTH=true',
    ]);
    assert.deepEqual(
      argv.filter((_a, i) => argv[i - 1] === '-v'),
      ['/usr/local/etcd/etcd_data:/etcd_data', '/usr/local/etcd/api7-ha-etcd-certs:/etcd_certs:ro'],
    );
    assert.ok(!argv.some((a) => a.includes('http://')));
  });

  void it('sets the heartbeat and election timeouts only when the inventory tunes them', () => {
    const tuned = envOf(etcd.runMember(memberInput(1, { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 }), 'new', HASH).argv);
    assert.deepEqual(tuned.filter((e) => /HEARTBEAT|ELECTION/.test(e)), ['ETCD_HEARTBEAT_INTERVAL=100', 'ETCD_ELECTION_TIMEOUT=1000']);
    assert.ok(!envOf(etcd.runMember(memberInput(1), 'new', HASH).argv).some((e) => /HEARTBEAT|ELECTION/.test(e)));
  });

  void it('uses the inventory\'s ports, token, data dir, container name and image', () => {
    const argv = etcd.runMember(
      memberInput(1, { clientPort: 12379, peerPort: 12380, clusterToken: 'prod-token', dataDir: '/data/etcd', containerName: 'api7-etcd', image: 'registry.local/etcd:3.4.13', enableV2: false }),
      'new',
      HASH,
    ).argv;
    assert.deepEqual(argv.slice(0, 10), ['docker', 'run', '--restart', 'always', '--name', 'api7-etcd', '-u', 'root', '-v', '/data/etcd:/etcd_data']);
    assert.ok(argv.includes('ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:12379'));
    assert.ok(argv.includes('ETCD_INITIAL_CLUSTER=api7-etcd-1=http://10.0.0.11:12380,api7-etcd-2=http://10.0.0.12:12380,api7-etcd-3=http://10.0.0.13:12380'));
    assert.ok(argv.includes('ETCD_INITIAL_CLUSTER_TOKEN=prod-token'));
    assert.ok(argv.includes('ETCD_ENABLE_V2=false'));
    assert.deepEqual(argv.slice(-3), ['--network=host', '-d', 'registry.local/etcd:3.4.13']);
  });

  void it('hashes the configuration without the cluster label, so only a real change recreates a member', () => {
    const a = etcd.memberConfigForHash(memberInput(1));
    assert.deepEqual(etcd.memberConfigForHash(memberInput(1, { cluster: 'renamed' })), a);
    // Read by etcd only when it bootstraps a member: a membership change or a restore's token recreates nothing.
    assert.deepEqual(etcd.memberConfigForHash(memberInput(1, { members: [MEMBERS[0]!, MEMBERS[1]!, { name: 'api7-etcd-3', address: '10.0.0.16' }] })), a);
    assert.deepEqual(etcd.memberConfigForHash(memberInput(1, { clusterToken: 'etcd-cluster-restore-x' })), a);
    assert.notDeepEqual(etcd.memberConfigForHash(memberInput(1, { image: 'bitnami/etcd:3.4.14' })), a);
    // Upkeep settings are configuration too: changing them recreates members one at a time.
    assert.notDeepEqual(etcd.memberConfigForHash(memberInput(1, { quotaBackendBytes: 2 ** 20 * 16 })), a);
    assert.notDeepEqual(etcd.memberConfigForHash(memberInput(1, { autoCompactionMode: 'revision', autoCompactionRetention: '1000' })), a);
  });

  void it('takes compaction and quota from the inventory', () => {
    const env = envOf(etcd.runMember(memberInput(1, { autoCompactionMode: 'revision', autoCompactionRetention: '10000', quotaBackendBytes: 16777216 }), 'new', HASH).argv);
    assert.deepEqual(env.filter((e) => /COMPACTION|QUOTA/.test(e)), ['ETCD_AUTO_COMPACTION_MODE=revision', 'ETCD_AUTO_COMPACTION_RETENTION=10000', 'ETCD_QUOTA_BACKEND_BYTES=16777216']);
  });
});

void describe('etcdctl inside the member container', () => {
  const target = (auth: boolean, tls = false): etcd.EtcdctlTarget => ({ containerName: 'etcd', endpoints: IPS.map((ip) => `${ip}:2379`), auth: { enabled: auth, user: 'root' }, tls });
  const FLAGS = ['--endpoints', 'http://10.0.0.11:2379,http://10.0.0.12:2379,http://10.0.0.13:2379', '--dial-timeout', '2s', '--command-timeout', '5s'];

  void it('without auth: docker exec etcd etcdctl with the runbook\'s endpoint list, a read-only probe', () => {
    const cmd = etcd.endpointHealth(target(false));
    assert.deepEqual(cmd.argv, ['docker', 'exec', 'etcd', 'etcdctl', ...FLAGS, 'endpoint', 'health', '-w', 'json']);
    assert.equal(cmd.mutates, false);
    assert.equal(cmd.sudo, true);
    assert.deepEqual(cmd.okExit, [0, 1]);
    assert.equal(cmd.stdin, undefined);
  });

  void it('with auth: root:__SECRET_etcd_password__ goes on stdin, never in argv', () => {
    const cmd = etcd.memberList(target(true));
    assert.deepEqual(cmd.argv.slice(0, 6), ['docker', 'exec', '-i', 'etcd', 'sh', '-c']);
    assert.match(cmd.argv[6]!, /^(IFS= )?read -r ETCDCTL_USER && export ETCDCTL_USER && exec etcdctl "\$@"$/);
    assert.deepEqual(cmd.argv.slice(7), ['etcdctl', ...FLAGS, 'member', 'list', '-w', 'json']);
    assert.equal(cmd.stdin, 'root:__SECRET_etcd_password__\n');
    assert.ok(!cmd.argv.some((a) => a.includes('__SECRET_') || a.includes('root:') || a === '--user'));
  });

  void it('with TLS: https endpoints and the client certificate inside the container', () => {
    const cmd = etcd.endpointStatus(target(false, true));
    assert.deepEqual(cmd.argv, [
      'docker',
      'exec',
      'etcd',
      'etcdctl',
      '--endpoints',
      'https://10.0.0.11:2379,https://10.0.0.12:2379,https://10.0.0.13:2379',
      '--dial-timeout',
      '2s',
      '--command-timeout',
      '5s',
      '--cacert',
      '/etcd_certs/ca.pem',
      '--cert',
      '/etcd_certs/client.pem',
      '--key',
      '/etcd_certs/client-key.pem',
      'endpoint',
      'status',
      '--cluster',
      '-w',
      'json',
    ]);
  });

  void it('alarm list, get and put; put is the only change', () => {
    assert.deepEqual(etcd.alarmList(target(false)).argv.slice(-2), ['alarm', 'list']);
    assert.deepEqual(etcd.get(target(false), '/api7-ha/probe').argv.slice(-3), ['get', '/api7-ha/probe', '--print-value-only']);
    const put = etcd.put(target(false), '/api7-ha/probe', 'v1');
    assert.deepEqual(put.argv.slice(-3), ['put', '/api7-ha/probe', 'v1']);
    assert.equal(put.mutates, true);
    assert.equal(etcd.get(target(false), 'k').mutates, false);
  });

  void describe('the auth wrapper, run by a real /bin/sh with a stand-in etcdctl', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'api7-ha-etcdctl-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const fake = path.join(dir, 'etcdctl');
    writeFileSync(fake, '#!/bin/sh\nprintf "user=%s\\n" "$ETCDCTL_USER"\nfor a in "$@"; do printf "arg=%s\\n" "$a"; done\n');
    chmodSync(fake, 0o755);

    /** Run the command's argv after `docker exec -i etcd` the way the container would. */
    const runInContainer = (cmd: RemoteCommand, stdin: string) => {
      const inner = cmd.argv.slice(cmd.argv.indexOf('etcd') + 1);
      return spawnSync(inner[0]!, inner.slice(1), { input: stdin, encoding: 'utf8', env: { PATH: `${dir}:${process.env['PATH'] ?? '/usr/bin:/bin'}` } });
    };

    void it('exports user:password from stdin as ETCDCTL_USER and passes every flag through', () => {
      const cmd = etcd.alarmList(target(true));
      const r = runInContainer(cmd, 'root:p@ss"w0rd$(id)\n');
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), ['user=root:p@ss"w0rd$(id)', ...[...FLAGS, 'alarm', 'list'].map((a) => `arg=${a}`)]);
    });

    void it('keeps leading and trailing spaces of the password', () => {
      const r = runInContainer(etcd.alarmList(target(true)), 'root: pass word \n');
      assert.equal(r.stdout.split('\n')[0], 'user=root: pass word ');
    });
  });
});

void describe('docker compose, both variants', () => {
  const DIR = '/opt/api7/api7-2.13.2304-dp';
  const project = compose.projectAt(DIR);
  const COMMON = ['-p', 'api7-2132304-dp', '--project-directory', DIR, '-f', `${DIR}/docker-compose.yaml`];

  void it('derives the project name compose itself would use in the package folder', () => {
    assert.equal(compose.projectNameFor('/opt/api7/api7-2.13.2304-dp'), 'api7-2132304-dp');
    assert.equal(compose.projectNameFor('/opt/api7/api7-2.13.2304-cp/'), 'api7-2132304-cp');
    assert.equal(compose.projectNameFor('/opt/API7_Pkg.v2'), 'api7_pkgv2');
    assert.throws(() => compose.projectNameFor('/opt/...'), /cannot derive a compose project name from \/opt\/\.\.\./);
    assert.deepEqual(project, { dir: DIR, file: `${DIR}/docker-compose.yaml`, name: 'api7-2132304-dp', override: `${DIR}/docker-compose.api7-ha.yaml`, lock: `${DIR}/.api7-ha-compose.lock` });
  });

  void it('up: "docker compose" for the plugin, "docker-compose" for the standalone binary, api7-ha\'s file over the vendor\'s, under the project\'s lock', () => {
    const LOCK = ['flock', '-w', '300', `${DIR}/.api7-ha-compose.lock`];
    const OVERRIDE = ['-f', `${DIR}/docker-compose.api7-ha.yaml`];
    const plugin = compose.up('plugin', project, 'api7-gateway');
    assert.deepEqual(plugin.argv, [...LOCK, 'docker', 'compose', ...COMMON, ...OVERRIDE, 'up', '-d', 'api7-gateway']);
    assert.deepEqual(compose.up('standalone', project, 'api7-gateway').argv, [...LOCK, 'docker-compose', ...COMMON, ...OVERRIDE, 'up', '-d', 'api7-gateway']);
    assert.equal(plugin.mutates, true);
    assert.equal(plugin.sudo, true);
    assert.equal(plugin.timeoutMs, 600_000);
    assert.equal(plugin.describe, `docker compose up api7-gateway in ${DIR}`);
    const all = compose.up('standalone', project);
    assert.deepEqual(all.argv, [...LOCK, 'docker-compose', ...COMMON, ...OVERRIDE, 'up', '-d']);
    assert.equal(all.describe, `docker compose up in ${DIR}`);
  });

  void it('the override labels the service with its configuration digest, in the vendor file\'s compose version', () => {
    const text = compose.labelOverride('api7-gateway', { [compose.CONFIG_LABEL]: '0123abcd' }, '3');
    assert.deepEqual(parse(text), { version: '3', services: { 'api7-gateway': { labels: { 'io.api7-ha.config': '0123abcd' } } } });
    assert.deepEqual(parse(compose.labelOverride('apisix', { a: 'b' })), { services: { apisix: { labels: { a: 'b' } } } });
  });

  void it('down and stop: the runbook\'s failover check, as changes', () => {
    assert.deepEqual(compose.down('plugin', project).argv, ['docker', 'compose', ...COMMON, 'down']);
    assert.deepEqual(compose.down('standalone', project).argv, ['docker-compose', ...COMMON, 'down']);
    assert.deepEqual(compose.stopService('plugin', project, 'api7-gateway').argv, ['docker', 'compose', ...COMMON, 'stop', 'api7-gateway']);
    assert.equal(compose.down('plugin', project).mutates, true);
  });

  void it('ps: the service\'s container IDs by compose\'s own labels (the same for v1 and v2), as a read-only probe', () => {
    const ps = compose.ps(project, 'api7-gateway');
    assert.deepEqual(ps.argv, [
      'docker', 'ps', '-a', '-q', '--no-trunc',
      '--filter', `label=com.docker.compose.project=${project.name}`,
      '--filter', 'label=com.docker.compose.service=api7-gateway',
    ]);
    assert.equal(ps.mutates, false);
  });

  void it('detects the plugin and the standalone binary with read-only probes', () => {
    assert.deepEqual(compose.detectPlugin().argv, ['docker', 'compose', 'version', '--short']);
    // Presence only: `docker-compose version` would start Python for a second.
    assert.deepEqual(compose.detectStandalone().argv, ['sh', '-c', 'command -v docker-compose']);
  });
});

void describe('files and docker builders', () => {
  void it('extracts a package with --skip-old-files, never overwriting a config written since', () => {
    const cmd = files.extract('/opt/api7/packages/api7-2.13.2304-dp.tar.gz', '/opt/api7');
    assert.deepEqual(cmd.argv, ['tar', '-xzf', '/opt/api7/packages/api7-2.13.2304-dp.tar.gz', '-C', '/opt/api7', '--skip-old-files', '--no-same-owner']);
    assert.equal(cmd.mutates, true);
  });

  void it('removes a container without -v (its volumes are kept)', () => {
    const cmd = docker.remove('etcd-replaced-20250101T000000Z');
    assert.deepEqual(cmd.argv, ['docker', 'rm', 'etcd-replaced-20250101T000000Z']);
    assert.ok(!cmd.argv.includes('-v') && !cmd.argv.includes('--volumes') && !cmd.argv.includes('-f'));
  });

  void it('runs a container spec in the runbook\'s argument order', () => {
    const cmd = docker.run({
      name: 'c',
      image: 'img:1',
      restart: 'unless-stopped',
      network: 'host',
      volumes: ['/a:/b:ro'],
      env: [['K', 'v w']],
      envFiles: ['/e.env'],
      labels: [['l', 'x']],
      command: ['serve', '--flag'],
    });
    assert.deepEqual(cmd.argv, ['docker', 'run', '--restart', 'unless-stopped', '--name', 'c', '-v', '/a:/b:ro', '--env-file', '/e.env', '-e', 'K=v w', '--label', 'l=x', '--network=host', '-d', 'img:1', 'serve', '--flag']);
  });

  void it('docker exec adds -i only when it feeds stdin', () => {
    assert.deepEqual(docker.exec('etcd', ['etcdctl', 'version'], 'v').argv, ['docker', 'exec', 'etcd', 'etcdctl', 'version']);
    assert.deepEqual(docker.exec('etcd', ['cat'], 'v', { stdin: 'x' }).argv, ['docker', 'exec', '-i', 'etcd', 'cat']);
  });

  void it('stops with a timeout and allows 30 s beyond it; other container commands', () => {
    const stop = docker.stop('etcd', 10);
    assert.deepEqual(stop.argv, ['docker', 'stop', '-t', '10', 'etcd']);
    assert.equal(stop.timeoutMs, 40_000);
    assert.deepEqual(docker.rename('etcd', 'etcd-old').argv, ['docker', 'rename', 'etcd', 'etcd-old']);
    assert.deepEqual(docker.kill('api7-ha-lb', 'USR2').argv, ['docker', 'kill', '-s', 'USR2', 'api7-ha-lb']);
    assert.deepEqual(docker.load('/opt/api7/packages/etcd.tar.gz').argv, ['docker', 'load', '-i', '/opt/api7/packages/etcd.tar.gz']);
    assert.deepEqual(docker.imageId('bitnami/etcd:3.4.13').argv, ['docker', 'image', 'inspect', '--format', '{{.Id}}', 'bitnami/etcd:3.4.13']);
    assert.deepEqual(docker.psByLabel('io.api7-ha.cluster=lab').argv, ['docker', 'ps', '-a', '--filter', 'label=io.api7-ha.cluster=lab', '--format', '{{json .}}']);
    assert.equal(docker.tag(`sha256:${'a'.repeat(64)}`, 'x:1').describe, 'tag image sha256:aaaaaaaaaaaa as x:1');
  });

  void it('creates folders with an optional mode', () => {
    assert.deepEqual(files.mkdirP('/usr/local/etcd/etcd_data').argv, ['mkdir', '-p', '/usr/local/etcd/etcd_data']);
    assert.deepEqual(files.mkdirP('/x/certs', '700').argv, ['mkdir', '-p', '-m', '700', '/x/certs']);
  });

  void it('opens firewalld ports permanently, then reloads', () => {
    assert.deepEqual(
      firewall.openPorts([9000, 2379]).map((c) => c.argv),
      [
        ['firewall-cmd', '--permanent', '--add-port=9000/tcp'],
        ['firewall-cmd', '--permanent', '--add-port=2379/tcp'],
        ['firewall-cmd', '--reload'],
      ],
    );
  });

  void it('the free-disk probe runs in a real shell and walks up to an existing folder', () => {
    const cmd = preflight.freeDisk('/no such/folder/at all');
    const r = spawnSync(cmd.argv[0]!, cmd.argv.slice(1), { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^Filesystem\s+1024-blocks\s+Used\s+Available/);
    assert.match(lines[1]!, /\s\/$/);
  });
});

void describe('haproxy configuration for fast failover', () => {
  const input: haproxy.HaproxyInput = {
    cluster: 'lab',
    controlPlane: {
      port: 9000,
      backends: [
        { name: 'ha1', address: '10.0.0.11', port: 9000 },
        { name: 'ha2', address: '10.0.0.12', port: 9000 },
      ],
      health: { port: 9000, path: '/ping', expect: 200 },
    },
    dataPlane: {
      port: 80,
      backends: [
        { name: 'ha4', address: '10.0.0.14', port: 80 },
        { name: 'ha5', address: '10.0.0.15', port: 80 },
      ],
      health: { port: 9091, path: '/apisix/prometheus/metrics', expect: 200 },
    },
    statsPort: 8404,
    checkIntervalMs: 250,
    fall: 2,
    rise: 2,
  };
  const cfg = haproxy.renderConfig(input);
  const lines = cfg.split('\n');
  /** The lines of one section (from its header to the next blank line). */
  const sectionOf = (header: string) => {
    const start = lines.indexOf(header);
    assert.ok(start >= 0, `no "${header}" section`);
    const end = lines.indexOf('', start);
    return lines.slice(start, end);
  };

  void it('has a control plane frontend on 9000 in front of the dashboards, checked on /ping', () => {
    assert.deepEqual(sectionOf('frontend control_plane'), ['frontend control_plane', '  bind :9000', '  default_backend dashboards']);
    assert.deepEqual(sectionOf('backend dashboards'), [
      'backend dashboards',
      '  balance roundrobin',
      '  option httpchk GET /ping',
      '  http-check expect status 200',
      '  http-request disable-l7-retry if METH_POST || { method PATCH }',
      '  default-server inter 250ms fastinter 250ms downinter 250ms fall 2 rise 2 on-marked-down shutdown-sessions',
      '  server ha1 10.0.0.11:9000 check',
      '  server ha2 10.0.0.12:9000 check',
    ]);
  });

  void it('has a data plane frontend on 80 whose gateways are checked on their metrics port (check port 9091)', () => {
    assert.deepEqual(sectionOf('frontend data_plane'), ['frontend data_plane', '  bind :80', '  default_backend gateways']);
    assert.deepEqual(sectionOf('backend gateways'), [
      'backend gateways',
      '  balance roundrobin',
      '  option httpchk GET /apisix/prometheus/metrics',
      '  http-check expect status 200',
      '  http-request disable-l7-retry if METH_POST || { method PATCH }',
      '  default-server inter 250ms fastinter 250ms downinter 250ms fall 2 rise 2 on-marked-down shutdown-sessions',
      '  server ha4 10.0.0.14:80 check port 9091',
      '  server ha5 10.0.0.15:80 check port 9091',
    ]);
  });

  void it('retries a failed request on another backend (retries + option redispatch) with a 1 s connect timeout', () => {
    const defaults = sectionOf('defaults');
    for (const l of ['  mode http', '  timeout connect 500ms', '  option http-server-close', '  retries 3', '  option redispatch 1', '  retry-on conn-failure empty-response response-timeout']) assert.ok(defaults.includes(l), l);
  });

  void it('serves stats and Prometheus metrics on the stats port', () => {
    assert.deepEqual(sectionOf('frontend stats').slice(0, 3), ['frontend stats', '  bind :8404', '  http-request use-service prometheus-exporter if { path /metrics }']);
  });

  void it('uses the inventory\'s interval, fall and rise', () => {
    const tuned = haproxy.renderConfig({ ...input, checkIntervalMs: 100, fall: 3, rise: 1 });
    assert.ok(tuned.includes('  default-server inter 100ms fastinter 100ms downinter 100ms fall 3 rise 1 on-marked-down shutdown-sessions'));
    assert.ok(!tuned.includes('inter 2s') && !tuned.includes('inter 10s'));
  });

  void it('writes haproxy.cfg with a backup, and runs the container with the config mounted read-only', () => {
    const file = haproxy.configFile('/opt/api7-ha/haproxy', input);
    assert.deepEqual({ ...file, content: '' }, { path: '/opt/api7-ha/haproxy/haproxy.cfg', content: '', mode: 0o644, secrets: 'none', backup: true, describe: file.describe });
    assert.equal(file.content, cfg);
    const cmd = docker.run(haproxy.runSpec('/opt/api7-ha/haproxy', 'api7-ha/haproxy:2.6', 'lab', HASH));
    assert.deepEqual(cmd.argv, [
      'docker',
      'run',
      '--restart',
      'always',
      '--name',
      'api7-ha-lb',
      '-v',
      '/opt/api7-ha/haproxy:/usr/local/etc/haproxy:ro',
      '--label',
      'io.api7-ha.managed-by=api7-ha',
      '--label',
      'io.api7-ha.cluster=lab',
      '--label',
      'io.api7-ha.role=load_balancer',
      '--label',
      `io.api7-ha.config-hash=${HASH}`,
      '--network=host',
      '-d',
      'api7-ha/haproxy:2.6',
    ]);
  });
});

void describe('every builder marks probes mutates:false and changes mutates:true', () => {
  const target: etcd.EtcdctlTarget = { containerName: 'etcd', endpoints: ['10.0.0.11:2379'], auth: { enabled: false, user: 'root' }, tls: false };
  const p = compose.projectAt('/opt/api7/api7-2.13.2304-dp');
  // [module.name, the command, whether it changes the host]
  const table: [string, RemoteCommand, boolean][] = [
    ['docker.run', docker.run(haproxy.runSpec('/d', 'i:1', 'lab', HASH)), true],
    ['docker.version', docker.version(), false],
    ['docker.info', docker.info(), false],
    ['docker.imageId', docker.imageId('i:1'), false],
    ['docker.load', docker.load('/t.tar'), true],
    ['docker.inspectContainer', docker.inspectContainer('etcd'), false],
    ['docker.start', docker.start('etcd'), true],
    ['docker.stop', docker.stop('etcd'), true],
    ['docker.remove', docker.remove('etcd'), true],
    ['docker.rename', docker.rename('a', 'b'), true],
    ['docker.restart', docker.restart('etcd'), true],
    ['docker.kill', docker.kill('a', 'USR2'), true],
    ['docker.logs', docker.logs('a'), false],
    ['docker.exec', docker.exec('a', ['true'], 'x'), false],
    ['docker.psByLabel', docker.psByLabel('l=v'), false],
    ['docker.psRunning', docker.psRunning(), false],
    ['docker.tag', docker.tag('sha256:x', 'i:1'), true],
    ['files.mkdirP', files.mkdirP('/d'), true],
    ['files.exists', files.exists('/d'), false],
    ['files.isDir', files.isDir('/d'), false],
    ['files.sha256', files.sha256('/f'), false],
    ['files.checksums', files.checksums(['/f', '/g']), false],
    ['files.read', files.read('/f'), false],
    ['files.size', files.size('/f'), false],
    ['files.extract', files.extract('/t.tgz', '/d'), true],
    ['files.copyPreserving', files.copyPreserving('/a', '/b'), true],
    ['files.move', files.move('/a', '/b'), true],
    ['files.chmod', files.chmod('600', '/a'), true],
    ['files.list', files.list('/d'), false],
    ['files.mtime', files.mtime('/f'), false],
    ['compose.detectPlugin', compose.detectPlugin(), false],
    ['compose.detectStandalone', compose.detectStandalone(), false],
    ['compose.up', compose.up('plugin', p, 'api7-gateway'), true],
    ['compose.down', compose.down('plugin', p), true],
    ['compose.stopService', compose.stopService('plugin', p, 'api7-gateway'), true],
    ['compose.ps', compose.ps(p, 'api7-gateway'), false],
    ['etcd.runMember', etcd.runMember(memberInput(1), 'new', HASH), true],
    ['etcd.etcdctl', etcd.etcdctl(target, ['version'], 'v'), false],
    ['etcd.endpointHealth', etcd.endpointHealth(target), false],
    ['etcd.endpointStatus', etcd.endpointStatus(target), false],
    ['etcd.alarmList', etcd.alarmList(target), false],
    ['etcd.memberList', etcd.memberList(target), false],
    ['etcd.put', etcd.put(target, 'k', 'v'), true],
    ['etcd.get', etcd.get(target, 'k'), false],
    ['firewall.firewalldState', firewall.firewalldState(), false],
    ['firewall.firewalldListPorts', firewall.firewalldListPorts(), false],
    ['firewall.selinuxState', firewall.selinuxState(), false],
    ...firewall.openPorts([80]).map((c): [string, RemoteCommand, boolean] => ['firewall.openPorts', c, true]),
    ['preflight.whoami', preflight.whoami(), false],
    ['preflight.sudoWorks', preflight.sudoWorks(), false],
    ['preflight.kernel', preflight.kernel(), false],
    ['preflight.osRelease', preflight.osRelease(), false],
    ['preflight.cpus', preflight.cpus(), false],
    ['preflight.memInfo', preflight.memInfo(), false],
    ['preflight.freeDisk', preflight.freeDisk('/d'), false],
    ['preflight.listeningSockets', preflight.listeningSockets(), false],
    ['preflight.clock', preflight.clock(), false],
  ];

  for (const [name, cmd, changes] of table) {
    void it(`${name}: ${changes ? 'a change (mutates, sudo)' : 'a read-only probe'}`, () => {
      assert.equal(cmd.mutates, changes);
      if (changes) assert.equal(cmd.sudo, true, 'changes need root');
      if (cmd.argv[0] === 'docker' || cmd.argv[0] === 'docker-compose') assert.equal(cmd.sudo, true, 'docker needs root');
      assert.ok(cmd.describe.length > 0);
    });
  }

  void it('the table covers every command builder the modules export', () => {
    const notBuilders = new Set([
      'compose.projectNameFor',
      'compose.projectAt',
      'compose.labelOverride',
      'etcd.certsDirOnHost',
      'etcd.envFileOnHost',
      'etcd.memberConfigForHash',
      'etcd.memberRunSpec',
      'etcd.authEnvFile',
      'etcd.etcdctlFlags',
      'etcd.parentDir',
      'etcd.withoutTrailingSlash',
      'etcd.etcdctlInvocation',
      'etcd.authStdin',
      'preflight.firewalldListPorts',
      'preflight.firewalldState',
      'preflight.selinuxState',
      'preflight.composePlugin',
      'preflight.composeStandalone',
      'preflight.dockerVersion',
    ]);
    const modules = { docker, files, compose, etcd, firewall, preflight } as Record<string, Record<string, unknown>>;
    const exported = Object.entries(modules).flatMap(([m, mod]) =>
      Object.entries(mod)
        .filter(([, v]) => typeof v === 'function')
        .map(([k]) => `${m}.${k}`),
    );
    const covered = new Set(table.map(([n]) => n));
    assert.deepEqual(
      exported.filter((n) => !covered.has(n) && !notBuilders.has(n)),
      [],
      'a command builder is missing from this table: add it with its expected mutates',
    );
  });
});
