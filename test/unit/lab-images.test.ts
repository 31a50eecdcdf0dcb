// The lab's build artifacts, checked as `docker load` and an operator would see them: the
// `docker save` structure (manifest, config digest = image ID, layer digest = diff_id), the
// files in each root filesystem and package, the compose services, determinism and the cache.
// Real builds (GNU tar, ldd, Go), no mocks; the Go build is cached by source hash.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { buildArtifacts, type LabArtifacts } from '../../lab/images/build';
import { imageConfigJson, splitImageName } from '../../lab/images/archive';
import { run, sha256, sha256File } from '../../lab/images/proc';
import { parseLdd } from '../../lab/images/rootfs';

interface Loaded {
  id: string;
  name: string;
  config: {
    architecture: string;
    os: string;
    config: { Env: string[]; Entrypoint: string[] | null; Cmd: string[] | null; WorkingDir: string; Labels: Record<string, string> | null; StopSignal?: string };
    rootfs: { type: string; diff_ids: string[] };
  };
  files: Set<string>;
  /** Reads one file of the layer. */
  cat: (p: string) => Promise<string>;
}

let scratch: string;
let dirA: string;
let dirB: string;
let a: LabArtifacts;
let b: LabArtifacts;
const logA: string[] = [];

before(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'lab-images-test-'));
  dirA = path.join(scratch, 'a');
  dirB = path.join(scratch, 'b');
  a = await buildArtifacts(dirA, (l) => logA.push(l));
  b = await buildArtifacts(dirB);
});

after(async () => {
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

/** Unpacks a gzipped docker save archive and checks the invariants docker load relies on. */
async function loadArchive(tarball: string): Promise<Loaded> {
  const out = await fs.mkdtemp(path.join(scratch, 'x-'));
  await run('tar', ['-xzf', tarball, '-C', out]);
  const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')) as { Config: string; RepoTags: string[]; Layers: string[] }[];
  assert.equal(manifest.length, 1);
  const m = manifest[0]!;
  assert.equal(m.RepoTags.length, 1);
  assert.equal(m.Layers.length, 1);
  const configBytes = await fs.readFile(path.join(out, m.Config));
  const id = `sha256:${sha256(configBytes)}`;
  assert.equal(m.Config, `${id.slice(7)}.json`, 'config file is named by its digest');
  const config = JSON.parse(configBytes.toString('utf8')) as Loaded['config'];
  assert.equal(config.architecture, 'amd64');
  assert.equal(config.os, 'linux');
  assert.equal(config.rootfs.type, 'layers');
  const layer = path.join(out, m.Layers[0]!);
  assert.deepEqual(config.rootfs.diff_ids, [`sha256:${await sha256File(layer)}`], 'diff_id is the digest of the uncompressed layer');
  const [repo, tag] = splitImageName(m.RepoTags[0]!);
  const repositories = JSON.parse(await fs.readFile(path.join(out, 'repositories'), 'utf8')) as Record<string, Record<string, string>>;
  assert.equal(repositories[repo]?.[tag], path.dirname(m.Layers[0]!));
  const listing = await run('tar', ['-tvf', layer]);
  // Deterministic layer: root-owned, epoch mtimes.
  for (const line of listing.trim().split('\n')) assert.match(line, /^\S+ 0\/0 .* 1970-01-01 00:00 /, line);
  const files = new Set((await run('tar', ['-tf', layer])).trim().split('\n'));
  return { id, name: m.RepoTags[0]!, config, files, cat: (p) => run('tar', ['-xOf', layer, p]) };
}

function assertHas(img: Loaded, paths: readonly string[]): void {
  for (const p of paths) assert.ok(img.files.has(p), `${img.name} lacks ${p}`);
}

const BUSYBOX_TOOLS = ['sh', 'ls', 'cat', 'mkdir', 'rm', 'sleep', 'ps', 'grep', 'wget', 'env'].map((t) => `bin/${t}`);

/** The package's file listing and its nested image. */
async function openPackage(tarball: string): Promise<{ entries: Set<string>; root: string }> {
  const entries = new Set((await run('tar', ['-tzf', tarball])).trim().split('\n'));
  const root = await fs.mkdtemp(path.join(scratch, 'p-'));
  await run('tar', ['-xzf', tarball, '-C', root]);
  return { entries, root };
}

void test('image IDs are sha256 of the config JSON, with fixed key order', () => {
  const json = imageConfigJson({ env: ['A=1'], cmd: ['x'], labels: { b: '2', a: '1' } }, ['sha256:00'], 'test');
  assert.equal(json, imageConfigJson({ env: ['A=1'], cmd: ['x'], labels: { a: '1', b: '2' } }, ['sha256:00'], 'test'));
  assert.deepEqual(splitImageName('api7ee.azurecr.io/api7-dashboard:2.13.2304'), ['api7ee.azurecr.io/api7-dashboard', '2.13.2304']);
  assert.deepEqual(splitImageName('localhost:5000/x'), ['localhost:5000/x', 'latest']);
});

void test('ldd output becomes image library paths', () => {
  const out = [
    '\tlinux-vdso.so.1 (0x00007ffd)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f03)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f04)',
  ].join('\n');
  assert.deepEqual(parseLdd(out), ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  assert.throws(() => parseLdd('\tlibfoo.so.1 => not found'), /missing library/);
});

void test('etcd image: bitnami/etcd:3.4.13 from Debian etcd, runbook-compatible', async () => {
  assert.equal(a.etcdImage.name, 'bitnami/etcd:3.4.13');
  const img = await loadArchive(a.etcdImage.tarball);
  assert.equal(img.id, a.etcdImage.id);
  assert.equal(img.name, 'bitnami/etcd:3.4.13');
  assert.equal(a.etcdImage.bytes, (await fs.stat(a.etcdImage.tarball)).size);
  assertHas(img, [
    ...BUSYBOX_TOOLS,
    'bin/bash',
    'usr/bin/etcd',
    'usr/bin/etcdctl',
    'opt/bitnami/etcd/bin/etcd',
    'opt/bitnami/etcd/bin/etcdctl',
    'opt/bitnami/scripts/etcd/entrypoint.sh',
    'opt/bitnami/scripts/etcd/run.sh',
    'entrypoint.sh',
    'lib/x86_64-linux-gnu/libc.so.6',
    'lib64/ld-linux-x86-64.so.2',
    'etc/passwd',
    'etc/group',
    'tmp/',
  ]);
  const c = img.config.config;
  assert.deepEqual(c.Entrypoint, ['/entrypoint.sh']);
  assert.deepEqual(c.Cmd, ['etcd']);
  assert.ok(c.Env.includes('ETCDCTL_API=3'));
  assert.ok(c.Env.includes('PATH=/opt/bitnami/etcd/bin:/usr/bin:/bin'));
  const passwd = await img.cat('etc/passwd');
  assert.match(passwd, /^root:x:0:0:/m);
  assert.match(passwd, /^\w+:x:1001:1001:/m);
  assert.match(await img.cat('bin/bash'), /^#!\/bin\/sh\n[\s\S]*exec \/bin\/sh "\$@"/);
  const runSh = await img.cat('opt/bitnami/scripts/etcd/run.sh');
  assert.match(runSh, /ALLOW_NONE_AUTHENTICATION=yes to allow the container to be started with blank passwords/);
  assert.match(runSh, /auth enable/);
});

void test('etcd 3.5 image: bitnami/etcd:3.5.x from etcd built from the Go module proxy, same entrypoint', async () => {
  const e = a.etcd35Image;
  assert.match(e.name, /^bitnami\/etcd:3\.5\.\d+$/);
  const img = await loadArchive(e.tarball);
  assert.equal(img.id, e.id);
  assert.equal(img.name, e.name);
  // Static binaries: no libc in the image, the same scripts and layout as the 3.4 one.
  assertHas(img, [...BUSYBOX_TOOLS, 'usr/bin/etcd', 'usr/bin/etcdctl', 'opt/bitnami/etcd/bin/etcd', 'entrypoint.sh', 'opt/bitnami/scripts/etcd/run.sh', 'etc/passwd', 'tmp/']);
  const c = img.config.config;
  assert.deepEqual(c.Entrypoint, ['/entrypoint.sh']);
  assert.deepEqual(c.Cmd, ['etcd']);
  assert.ok(c.Env.includes(`APP_VERSION=${e.name.split(':')[1]}`));
  assert.equal(c.Labels?.['org.opencontainers.image.version'], e.name.split(':')[1]);
});

void test('haproxy image: Debian haproxy with every library ldd reports', async () => {
  assert.equal(a.haproxyImage.name, 'api7-ha/haproxy:2.6');
  const img = await loadArchive(a.haproxyImage.tarball);
  assert.equal(img.id, a.haproxyImage.id);
  const libs = parseLdd(await run('ldd', ['/usr/sbin/haproxy'])).map((l) => l.slice(1));
  assert.ok(libs.length > 3);
  assertHas(img, ['usr/sbin/haproxy', 'usr/local/etc/haproxy/', 'var/lib/haproxy/', 'run/', 'bin/sh', 'etc/passwd', 'tmp/', ...libs]);
  assert.deepEqual(img.config.config.Cmd, ['haproxy', '-W', '-db', '-f', '/usr/local/etc/haproxy/haproxy.cfg']);
  assert.equal(img.config.config.StopSignal, 'SIGUSR1');
});

const PACKAGES = [
  {
    key: 'api7ControlPlane',
    top: 'api7-2.13.2304-cp',
    service: 'api7-dashboard',
    conf: 'dashboard_conf/conf.yaml',
    image: 'images/api7-dashboard-2.13.2304.tar.gz',
    name: 'api7ee.azurecr.io/api7-dashboard:2.13.2304',
    volumes: ['./dashboard_conf:/usr/local/apisix-dashboard/conf', './dashboard_logs:/usr/local/apisix-dashboard/logs'],
    ports: ['9000:9000/tcp'],
    inImage: ['usr/local/apisix-dashboard/manager-api', 'usr/local/apisix-dashboard/conf/conf.yaml', 'usr/local/apisix-dashboard/logs/'],
    cmd: ['dashboard', '-c', '/usr/local/apisix-dashboard/conf/conf.yaml', '--flavor', 'api7'],
  },
  {
    key: 'api7DataPlane',
    top: 'api7-2.13.2304-dp',
    service: 'api7-gateway',
    conf: 'gateway_conf/config.yaml',
    image: 'images/api7-gateway-2.13.2304.tar.gz',
    name: 'api7ee.azurecr.io/api7-gateway:2.13.2304',
    volumes: ['./gateway_conf:/usr/local/apisix/conf', './gateway_logs:/usr/local/apisix/logs'],
    ports: ['80:80/tcp', '443:443/tcp', '9091:9091/tcp'],
    inImage: ['usr/local/apisix/bin/apisix', 'usr/local/apisix/conf/config.yaml', 'usr/local/apisix/logs/'],
    cmd: ['gateway', '-c', '/usr/local/apisix/conf/config.yaml'],
  },
  {
    key: 'apisixControlPlane',
    top: 'apisix-dashboard-3.0.1-cp',
    service: 'apisix-dashboard',
    conf: 'dashboard_conf/conf.yaml',
    image: 'images/apisix-dashboard-3.0.1.tar.gz',
    name: 'apache/apisix-dashboard:3.0.1-alpine',
    volumes: ['./dashboard_conf:/usr/local/apisix-dashboard/conf', './dashboard_logs:/usr/local/apisix-dashboard/logs'],
    ports: ['9000:9000/tcp'],
    inImage: ['usr/local/apisix-dashboard/manager-api'],
    cmd: ['dashboard', '-c', '/usr/local/apisix-dashboard/conf/conf.yaml', '--flavor', 'apisix'],
  },
  {
    key: 'apisixDataPlane',
    top: 'apisix-3.9.1-dp',
    service: 'apisix',
    conf: 'apisix_conf/config.yaml',
    image: 'images/apisix-3.9.1.tar.gz',
    name: 'apache/apisix:3.9.1-debian',
    volumes: ['./apisix_conf:/usr/local/apisix/conf', './apisix_logs:/usr/local/apisix/logs'],
    ports: ['9080:9080/tcp', '9443:9443/tcp', '9091:9091/tcp', '7085:7085/tcp'],
    inImage: ['usr/local/apisix/bin/apisix'],
    cmd: ['gateway', '-c', '/usr/local/apisix/conf/config.yaml'],
  },
] as const;

for (const [network, p] of PACKAGES.flatMap((x) => [['bridge', x] as const, ['host', x] as const])) {
  void test(`package ${p.top}.tar.gz (${network} network): vendor layout, compose service ${p.service}, loadable image`, async () => {
    const tarball = network === 'bridge' ? a.packages[p.key] : a.hostNetworkPackages[p.key];
    if (network === 'host') assert.equal(path.basename(path.dirname(tarball)), 'host-network');
    assert.equal(path.basename(tarball), `${p.top}.tar.gz`);
    const { entries, root } = await openPackage(tarball);
    for (const e of [`${p.top}/`, `${p.top}/docker-compose.yaml`, `${p.top}/${p.conf}`, `${p.top}/${p.image}`]) assert.ok(entries.has(e), `${p.top} lacks ${e}`);
    for (const e of entries) assert.ok(e.startsWith(`${p.top}/`), `${e} is outside ${p.top}/`);

    const compose = parseYaml(await fs.readFile(path.join(root, p.top, 'docker-compose.yaml'), 'utf8')) as {
      version: string;
      services: Record<string, { image: string; restart: string; network_mode?: string; volumes: string[]; ports?: string[]; networks?: Record<string, unknown> }>;
      networks?: Record<string, { driver: string }>;
    };
    assert.equal(compose.version, '3', 'docker-compose v1 needs the version key');
    assert.deepEqual(Object.keys(compose.services), [p.service]);
    const svc = compose.services[p.service]!;
    assert.equal(svc.image, p.name);
    assert.equal(svc.restart, 'always');
    if (network === 'host') {
      assert.equal(svc.network_mode, 'host');
      assert.equal(svc.ports, undefined);
    } else {
      // As the vendor ships it: the project's bridge network `api7`, ports published on the host.
      assert.equal(svc.network_mode, undefined);
      assert.deepEqual(svc.ports, p.ports);
      assert.deepEqual(Object.keys(svc.networks ?? {}), ['api7']);
      assert.deepEqual(compose.networks, { api7: { driver: 'bridge' } });
    }
    assert.deepEqual(svc.volumes, p.volumes);

    const img = await loadArchive(path.join(root, p.top, p.image));
    assert.equal(img.name, p.name);
    assertHas(img, [...p.inImage, 'etc/passwd', 'tmp/', 'bin/sh']);
    assert.deepEqual(img.config.config.Cmd, p.cmd);
    assert.equal((await fs.stat(path.join(root, p.top, p.image))).size > 0, true);
  });
}

void test('shipped configs are the runbook templates', async () => {
  const cp = await openPackage(a.packages.api7ControlPlane);
  const conf = parseYaml(await fs.readFile(path.join(cp.root, 'api7-2.13.2304-cp/dashboard_conf/conf.yaml'), 'utf8')) as {
    conf: { listen: { port: number }; etcd: { endpoints: string[]; prefix: string } };
    authentication: { secret: string; users: { username: string; password: string }[] };
  };
  assert.deepEqual(conf.conf.etcd.endpoints, ['127.0.0.1:2379']);
  assert.equal(conf.conf.etcd.prefix, '/api7');
  assert.equal(conf.conf.listen.port, 9000);
  assert.deepEqual(conf.authentication.users, [{ username: 'admin', password: 'admin' }]);
  const dp = await openPackage(a.packages.api7DataPlane);
  const gw = parseYaml(await fs.readFile(path.join(dp.root, 'api7-2.13.2304-dp/gateway_conf/config.yaml'), 'utf8')) as {
    apisix: { node_listen: number; ssl: { listen_port: number } };
    etcd: { host: string[]; prefix: string };
    plugin_attr: { prometheus: { export_addr: { port: number } } };
  };
  assert.equal(gw.apisix.node_listen, 80);
  assert.equal(gw.apisix.ssl.listen_port, 443);
  assert.equal(gw.etcd.prefix, '/api7/${cluster_id}');
  assert.equal(gw.plugin_attr.prometheus.export_addr.port, 9091);
});

void test('builds are deterministic: two directories, same image IDs and identical packages', async () => {
  assert.equal(b.etcdImage.id, a.etcdImage.id);
  assert.equal(b.haproxyImage.id, a.haproxyImage.id);
  for (const k of Object.keys(a.packages) as (keyof LabArtifacts['packages'])[]) {
    assert.equal(await sha256File(b.packages[k]), await sha256File(a.packages[k]), `${k} differs between builds`);
  }
  assert.equal(await sha256File(b.standinBinary), await sha256File(a.standinBinary));
  const manifest = JSON.parse(await fs.readFile(path.join(dirA, 'artifacts.json'), 'utf8')) as { artifacts: LabArtifacts };
  assert.deepEqual(manifest.artifacts, a);
});

void test('a second call with unchanged inputs is a cache hit (nothing rebuilt or rewritten)', async () => {
  assert.ok(logA.some((l) => l.includes('bitnami/etcd:3.4.13: built')), 'the first build logs what it builds');
  const before = (await fs.stat(a.etcdImage.tarball)).mtimeMs;
  const lines: string[] = [];
  const again = await buildArtifacts(dirA, (l) => lines.push(l));
  assert.deepEqual(again, a);
  assert.equal((await fs.stat(a.etcdImage.tarball)).mtimeMs, before);
  assert.ok(lines.some((l) => l.includes('all cached')), lines.join('\n'));
});

void test('a damaged or half-written artifact is never trusted', async () => {
  // A truncated package (same name, wrong size) is rebuilt; a crashed build's temp file is removed.
  const pkg = b.packages.api7DataPlane;
  const good = await sha256File(pkg);
  await fs.truncate(pkg, 100);
  const stale = `${b.etcdImage.tarball}.tmp-999999-deadbeef`;
  await fs.writeFile(stale, 'half');
  const lines: string[] = [];
  await buildArtifacts(dirB, (l) => lines.push(l));
  assert.equal(await sha256File(pkg), good);
  assert.ok(lines.some((l) => l.includes('api7-2.13.2304-dp.tar.gz: built')), lines.join('\n'));
  await assert.rejects(fs.stat(stale), /ENOENT/);
});
