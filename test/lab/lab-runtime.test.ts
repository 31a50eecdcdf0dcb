/**
 * The lab runtime, for real: namespaces, overlays, sshd and Docker engines on this machine.
 * Needs root and Debian's docker.io + openssh-server (skipped otherwise). Uses its own lab dir
 * (.lab-test-runtime) so it never touches a developer's `.lab`. Checks what an operator would by
 * hand: ssh with strict host keys, one engine per host, private filesystems, faults, clean down.
 *
 * Run: node --import tsx --test test/lab/lab-runtime.test.ts
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { Lab, LabUsageError, repoRoot, type LabHost, type LabInfo } from '../../lab/lab';
import { labSkip, run as exec, ssh } from '../support/lab';
import { chooseSubnet, hostNames, labPrefix, layoutHosts, parseCidr, parseIpAddrNetworks, parseIpRouteNetworks } from '../../lab/topology';

const LAB_DIR = path.join(repoRoot(), '.lab-test-runtime');
const skip = labSkip;

function tcpOpen(address: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.on('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not true after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

function readlink(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

/** Every process (not zombie) whose cwd, command line or namespaces point at the lab. */
function labProcesses(labDir: string, runDir: string, nsIds: Set<string>): string[] {
  const found: string[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    const cwd = readlink(`/proc/${d}/cwd`) ?? '';
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    const ns = ['net', 'mnt', 'uts'].map((k) => readlink(`/proc/${d}/ns/${k}`) ?? '');
    if (cwd.startsWith(labDir) || cmdline.includes(labDir) || cmdline.includes(`${runDir}/`) || ns.some((n) => nsIds.has(n))) {
      found.push(`${d}: ${cmdline.slice(0, 120)}`);
    }
  }
  return found;
}

// Cheap checks of the naming rules the runtime depends on (no root needed).
void describe('lab naming', () => {
  void test('20 gateways: host order, and every link name fits in 15 characters', () => {
    const hosts = layoutHosts(20);
    assert.equal(hosts.length, 25);
    assert.deepEqual(
      hosts.slice(-3).map((h) => h.name),
      ['ha23', 'lb', 'upstream'],
    );
    const prefix = labPrefix('/some/long/checkout/path/.lab');
    assert.match(prefix, /^a7[0-9a-f]{4}$/);
    for (const h of hosts) assert.ok(hostNames(prefix, h.name).veth.length <= 15);
  });

  void test('the subnet skips networks already on the machine', () => {
    const inUse = [
      ...parseIpAddrNetworks('4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0'),
      ...parseIpRouteNetworks('default via 192.0.2.1 dev eth0\n192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2'),
    ];
    const first = chooseSubnet('/x/.lab', inUse);
    assert.match(first, /^10\.\d+\.\d+\.0\/24$/);
    assert.equal(chooseSubnet('/x/.lab', inUse), first, 'deterministic');
    const second = chooseSubnet('/x/.lab', [...inUse, parseCidr(first)]);
    assert.notEqual(second, first);
    assert.throws(() => chooseSubnet('/x/.lab', [parseCidr('10.0.0.0/8')]), /no free/);
  });
});

void describe('lab runtime', { skip, timeout: 600_000 }, () => {
  const logs: string[] = [];
  const lab = new Lab({ dir: LAB_DIR, log: (l) => logs.push(l) });
  let info: LabInfo;
  let all: LabHost[];
  const timings: Record<string, number> = {};

  before(async () => {
    await lab.down(); // a clean slate: the next up is a cold one
  });

  after(async () => {
    // Always leave the machine clean, even when a test failed half-way.
    await lab.down();
    console.log(`lab-runtime timings (ms): ${JSON.stringify(timings)}`);
  });

  void test('up builds every host and writes the inventory, keys and secrets', async () => {
    const t0 = Date.now();
    info = await lab.up();
    timings.upCold = Date.now() - t0;
    assert.equal(lab.lastUp?.action, 'created');
    all = [...info.hosts, info.upstream];
    assert.deepEqual(
      info.hosts.map((h) => [h.name, h.roles.join(',')]),
      [
        ['ha1', 'etcd,control_plane'],
        ['ha2', 'etcd,control_plane'],
        ['ha3', 'etcd'],
        ['ha4', 'data_plane'],
        ['ha5', 'data_plane'],
        ['lb', 'load_balancer'],
      ],
    );
    const base = info.subnet.replace(/\.0\/24$/, '');
    assert.deepEqual(
      all.map((h) => h.address),
      [11, 12, 13, 14, 15, 16, 17].map((o) => `${base}.${o}`),
    );
    assert.match(info.prefix, /^a7[0-9a-f]{4}$/);

    const inv = parse(fs.readFileSync(info.inventoryPath, 'utf8')) as {
      cluster: { cluster_id: string };
      ssh: { identity_file: string; known_hosts: string; host_key_policy: string };
      hosts: { name: string; address: string; roles: string[] }[];
      packages: { control_plane: string; data_plane: string; etcd_image: { tarball: string; name: string }; haproxy_image: { tarball: string; name: string } };
      control_plane: { auth_secret: { file: string }; admin: { password: { file: string } } };
      verification: { upstream: string };
      lab: { upstream_host: string };
    };
    const invDir = path.dirname(info.inventoryPath);
    assert.equal(inv.cluster.cluster_id, '21322091');
    assert.equal(inv.hosts.length, 6);
    assert.deepEqual(inv.hosts[0], { name: 'ha1', address: info.hosts[0]!.address, roles: ['etcd', 'control_plane'] });
    assert.equal(path.resolve(invDir, inv.ssh.identity_file), info.sshKey);
    assert.equal(path.resolve(invDir, inv.ssh.known_hosts), info.knownHosts);
    assert.equal(inv.ssh.host_key_policy, 'strict');
    assert.equal(path.resolve(invDir, inv.packages.control_plane), info.artifacts.packages.api7ControlPlane);
    assert.equal(path.resolve(invDir, inv.packages.data_plane), info.artifacts.packages.api7DataPlane);
    assert.equal(path.resolve(invDir, inv.packages.etcd_image.tarball), info.artifacts.etcdImage.tarball);
    assert.equal(inv.packages.etcd_image.name, 'bitnami/etcd:3.4.13');
    assert.equal(inv.packages.haproxy_image.name, 'api7-ha/haproxy:2.6');
    assert.equal(inv.verification.upstream, `${info.upstream.address}:80`);
    assert.equal(inv.lab.upstream_host, 'upstream');

    assert.equal(mode(info.sshKey), 0o600);
    for (const rel of [inv.control_plane.auth_secret.file, inv.control_plane.admin.password.file]) {
      const f = path.resolve(invDir, rel);
      assert.equal(mode(f), 0o600, `${f} must be private`);
      assert.ok(fs.readFileSync(f, 'utf8').trim().length >= 16, `${f} must hold a random secret`);
    }
    const known = fs.readFileSync(info.knownHosts, 'utf8').trim().split('\n');
    assert.deepEqual(
      known.map((l) => l.split(' ')[0]),
      all.map((h) => h.address),
    );
  });

  void test('every host answers ssh with its pinned host key, its own hostname and its own engine', async () => {
    const ids = await Promise.all(
      all.map(async (h) => {
        const r = await ssh(info, h, `hostname; echo "$DOCKER_HOST"; docker info --format '{{.ID}}'`);
        assert.equal(r.code, 0, `ssh ${h.name}: ${r.stderr}`);
        const [hostname, dockerHost, id] = r.stdout.trim().split('\n');
        assert.equal(hostname, h.name);
        assert.equal(dockerHost, `unix://${h.dockerSocket}`);
        assert.ok(id && id.length > 10, `docker info on ${h.name} gave no ID: ${r.stdout} ${r.stderr}`);
        return id;
      }),
    );
    assert.equal(new Set(ids).size, all.length, `engine IDs must differ per host: ${ids.join(' ')}`);
  });

  void test('a wrong host key is refused (strict checking really is on)', async () => {
    const wrong = path.join(LAB_DIR, 'wrong_known_hosts');
    const lines = fs.readFileSync(info.knownHosts, 'utf8').trim().split('\n');
    // ha1's address with ha2's key.
    fs.writeFileSync(wrong, `${info.hosts[0]!.address} ${lines[1]!.split(' ').slice(1).join(' ')}\n`);
    try {
      const r = await ssh({ ...info, knownHosts: wrong }, info.hosts[0]!, 'true');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    } finally {
      fs.rmSync(wrong, { force: true });
    }
  });

  void test('sftp works on a host', async () => {
    const h = info.hosts[3]!;
    const local = path.join(LAB_DIR, 'sftp-probe.txt');
    fs.writeFileSync(local, 'sftp probe\n');
    try {
      const r = await exec(
        'sftp',
        ['-i', info.sshKey, '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${info.knownHosts}`, '-o', 'BatchMode=yes', '-b', '-', `root@${h.address}`],
        { timeoutMs: 20_000, input: `put ${local} /root/sftp-probe.txt\n` },
      );
      assert.equal(r.code, 0, r.stderr);
      const check = await ssh(info, h, 'cat /root/sftp-probe.txt');
      assert.equal(check.stdout, 'sftp probe\n');
    } finally {
      fs.rmSync(local, { force: true });
    }
  });

  void test('hosts have private filesystems (a file in /usr/local on ha1 is not on ha2 or the machine)', async () => {
    const [ha1, ha2] = info.hosts;
    const marker = `/usr/local/etcd/etcd_data/lab-runtime-${process.pid}`;
    const w = await ssh(info, ha1!, `mkdir -p /usr/local/etcd/etcd_data && echo ha1 > ${marker} && cat ${marker}`);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.stdout.trim(), 'ha1');
    const r = await ssh(info, ha2!, `test -e ${marker} && echo present || echo absent`);
    assert.equal(r.stdout.trim(), 'absent');
    assert.equal(fs.existsSync(marker), false, 'the machine must not see a host file');
    // And without ssh, through the host's namespaces:
    const x = await lab.hostExec('ha1', ['cat', marker]);
    assert.equal(x.stdout.trim(), 'ha1');
    // The other overlaid paths are private too.
    for (const p of ['/etc', '/root', '/opt', '/tmp']) {
      const f = `${p}/lab-runtime-${process.pid}`;
      assert.equal((await lab.hostExec('ha3', ['touch', f])).code, 0);
      assert.equal(fs.existsSync(f), false, `${f} leaked to the machine`);
      assert.notEqual((await lab.hostExec('ha4', ['test', '-e', f])).code, 0, `${f} leaked to ha4`);
    }
  });

  void test('up again on a healthy lab is a fast no-op; another layout is refused', async () => {
    const before = JSON.parse(fs.readFileSync(path.join(LAB_DIR, 'state.json'), 'utf8')) as { hosts: { pids: unknown }[] };
    const t0 = Date.now();
    const again = await lab.up();
    timings.upWarm = Date.now() - t0;
    assert.equal(lab.lastUp?.action, 'verified');
    assert.deepEqual(again, info);
    const afterState = JSON.parse(fs.readFileSync(path.join(LAB_DIR, 'state.json'), 'utf8')) as { hosts: { pids: unknown }[] };
    assert.deepEqual(
      afterState.hosts.map((h) => h.pids),
      before.hosts.map((h) => h.pids),
    );
    await assert.rejects(lab.up({ gateways: 3 }), (e: unknown) => e instanceof LabUsageError && /--gateways 2/.test(e.message));
  });

  void test('power-off stops the whole host; power-on boots it with its files and restart-policy containers', async () => {
    const h = info.hosts.find((x) => x.name === 'ha4')!;
    // A tiny image (busybox) so that a container with a restart policy runs on the host.
    const rootfs = path.join(LAB_DIR, 'busybox-rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    const tar = path.join(LAB_DIR, 'busybox.tar');
    assert.equal((await exec('tar', ['-C', rootfs, '-cf', tar, '.'])).code, 0);
    fs.rmSync(rootfs, { recursive: true, force: true });
    const imp = await lab.hostExec(h.name, ['/usr/bin/docker', 'import', tar, 'lab/busybox:1']);
    fs.rmSync(tar, { force: true });
    assert.equal(imp.code, 0, imp.stderr);
    const runR = await lab.hostExec(h.name, ['/usr/bin/docker', 'run', '-d', '--restart', 'always', '--name', 'sleeper', '--network', 'host', 'lab/busybox:1', '/bin/busybox', 'sleep', '100000']);
    assert.equal(runR.code, 0, runR.stderr);
    const idBefore = (await ssh(info, h, `docker info --format '{{.ID}}'`)).stdout.trim();
    await ssh(info, h, 'echo kept > /usr/local/power-test');

    const t0 = Date.now();
    await lab.powerOff(h.name);
    timings.powerOff = Date.now() - t0;
    assert.equal(await tcpOpen(h.address, 22), false, 'sshd must be unreachable after power-off');
    assert.notEqual((await ssh(info, h, 'true', { timeoutMs: 10_000 })).code, 0);
    const netId = readlink(`/proc/self/ns/net`);
    const hostNet = `net:[${fs.statSync(`/run/netns/${h.netns}`).ino}]`;
    assert.notEqual(hostNet, netId);
    const inHost = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d) && readlink(`/proc/${d}/ns/net`) === hostNet);
    assert.deepEqual(inHost, [], 'no process may survive in a powered-off host');
    const st = await lab.status();
    const hs = st.hosts.find((x) => x.name === h.name)!;
    assert.equal(hs.poweredOff, true);
    assert.equal(hs.engine, false);
    assert.equal(hs.sshd, false);

    const t1 = Date.now();
    await lab.powerOn(h.name);
    timings.powerOn = Date.now() - t1;
    const r = await ssh(info, h, `cat /usr/local/power-test; docker info --format '{{.ID}}'`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['kept', idBefore]);
    await eventually('the restart-policy container is running again', async () => {
      const ps = await lab.hostExec(h.name, ['/usr/bin/docker', 'ps', '--filter', 'name=sleeper', '--format', '{{.Status}}']);
      return ps.stdout.startsWith('Up');
    });
    const after = await lab.status();
    assert.ok(after.hosts.every((x) => x.sshd && x.engine && x.link === 'up' && !x.poweredOff));
  });

  void test('disconnect cuts the host off the network; reconnect restores it', async () => {
    const h = info.hosts.find((x) => x.name === 'ha5')!;
    await lab.disconnect(h.name);
    assert.equal(await tcpOpen(h.address, 22, 1500), false, 'sshd must be unreachable while disconnected');
    // Other hosts cannot reach it either, while it still runs (its engine answers on its socket).
    const fromHa1 = await lab.hostExec('ha1', [process.execPath, '-e', `const s=require('net').connect(22,'${h.address}');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),1500)`]);
    assert.notEqual(fromHa1.code, 0);
    const st = (await lab.status()).hosts.find((x) => x.name === h.name)!;
    assert.equal(st.link, 'down');
    assert.equal(st.engine, true);
    await lab.reconnect(h.name);
    await eventually('sshd reachable again after reconnect', () => tcpOpen(h.address, 22), 10_000);
    assert.equal((await ssh(info, h, 'true')).code, 0);
  });

  void test('down leaves nothing behind, and down again is fine', async () => {
    const nsIds = new Set<string>();
    for (const h of all) {
      nsIds.add(`net:[${fs.statSync(`/run/netns/${h.netns}`).ino}]`);
      nsIds.add(`mnt:[${fs.statSync(h.mountNs).ino}]`);
    }
    const runDir = `/run/${info.prefix}`;
    const t0 = Date.now();
    await lab.down();
    timings.down = Date.now() - t0;

    const netns = (await exec('ip', ['netns', 'list'])).stdout;
    assert.ok(!netns.includes(info.prefix), `namespaces left: ${netns}`);
    const links = fs.readdirSync('/sys/class/net').filter((l) => l.startsWith(info.prefix));
    assert.deepEqual(links, []);
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(LAB_DIR) || l.includes(runDir) || l.includes(info.prefix));
    assert.deepEqual(mounts, []);
    // Zombies are reaped by init shortly after; give it a moment.
    await eventually('no lab process left', async () => labProcesses(LAB_DIR, runDir, nsIds).length === 0, 15_000).catch(() => {
      assert.deepEqual(labProcesses(LAB_DIR, runDir, nsIds), []);
    });
    const cgroups = fs
      .readdirSync('/sys/fs/cgroup')
      .flatMap((c) => {
        try {
          return fs.readdirSync(path.join('/sys/fs/cgroup', c)).map((d) => `${c}/${d}`);
        } catch {
          return [];
        }
      })
      .filter((d) => d.includes(info.prefix));
    assert.deepEqual(cgroups, []);
    assert.equal(fs.existsSync(runDir), false);
    assert.equal(fs.existsSync(LAB_DIR), false, 'the test lab directory is removed');
    assert.ok(fs.existsSync(info.artifacts.standinBinary), 'the artifact cache is kept');
    assert.equal(await lab.info(), undefined);
    await lab.down();
  });
});
