// Builds the lab's artifacts with no Docker engine and no registry: the stand-in binary, the
// etcd and HAProxy images, and the four vendor-shaped install packages (each carrying its
// image tarball). Cached per artifact by a key over everything that goes into it; a second call
// with unchanged inputs only recomputes the keys.
//
// Layout of `dir`:
//   artifacts.json            what was built, from which inputs (the cache)
//   standin                   the static stand-in binary (also run as `standin echo` upstream)
//   images/*.tar.gz           gzipped `docker save` archives (all six images)
//   packages/*.tar.gz         the vendor packages (bridge network, published ports, as shipped)
//   packages/host-network/    the same with network_mode: host
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { writeDockerArchive } from './archive';
import { dashboardImage, etcdImage, gatewayImage, haproxyImage, type ImagePlan } from './images';
import { type PackageKey, type PackagePlan, packagePlans } from './packages';
import { atomically, fileSize, hashTree, linkOrCopy, run, sha256, tarGzTo, tarTo, writeFileAtomic } from './proc';
import { materialize, topLevel } from './rootfs';

export interface ImageArtifact {
  tarball: string;
  name: string;
  id: string;
  bytes: number;
}

export interface LabArtifacts {
  dir: string;
  etcdImage: ImageArtifact; // name 'bitnami/etcd:3.4.13'
  /** bitnami/etcd:3.5.x from etcd 3.5 built from the Go module proxy (upgrades; not in the default inventory). */
  etcd35Image: ImageArtifact;
  haproxyImage: ImageArtifact; // name 'api7-ha/haproxy:2.6'
  /** As the vendor ships them: a compose bridge network with published ports. */
  packages: Record<PackageKey, string>; // api7-2.13.2304-cp.tar.gz, -dp, apisix-dashboard-3.0.1-cp, apisix-3.9.1-dp
  /** The same packages with `network_mode: host` (same names and folders, under packages/host-network/). */
  hostNetworkPackages: Record<PackageKey, string>;
  standinBinary: string;
}

/** Bump when the output format changes in a way the input keys do not capture. */
const FORMAT = 1;
const MANIFEST = 'artifacts.json';

interface CacheRecord {
  key: string;
  /** Relative to dir. */
  file: string;
  bytes: number;
  name?: string;
  id?: string;
}

interface Manifest {
  format: number;
  records: Record<string, CacheRecord>;
  artifacts?: LabArtifacts;
}

type Log = (line: string) => void;

/** The repository root: the nearest parent of this module holding lab/standins/go.mod. */
export function repoRoot(from: string = __dirname): string {
  for (let d = from; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'lab', 'standins', 'go.mod'))) return d;
    if (path.dirname(d) === d) throw new Error(`lab/standins/go.mod not found above ${from}`);
  }
}

async function readManifest(dir: string): Promise<Manifest> {
  try {
    const m = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as Manifest;
    if (m.format === FORMAT && m.records && typeof m.records === 'object') return m;
  } catch {
    // Missing or unreadable: build everything.
  }
  return { format: FORMAT, records: {} };
}

/** A record is trusted only if its key matches and its file is there with the recorded size. */
async function valid(dir: string, rec: CacheRecord | undefined, key: string): Promise<CacheRecord | undefined> {
  return rec !== undefined && rec.key === key && (await fileSize(path.join(dir, rec.file))) === rec.bytes ? rec : undefined;
}

/** Removes leftovers of crashed builds (temp files and work dirs of processes that are gone). */
async function cleanStale(dir: string): Promise<void> {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  for (const sub of ['', 'images', 'packages', 'packages/host-network']) {
    const d = path.join(dir, sub);
    let names: string[];
    try {
      names = await fs.readdir(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = /(?:\.tmp-|^\.work-)(\d+)-[0-9a-f]+$/.exec(n);
      if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) await fs.rm(path.join(d, n), { recursive: true, force: true });
    }
  }
}

// ---- Go stand-in ---------------------------------------------------------------------------

/** The stand-ins use Go 1.22's ServeMux patterns: older toolchains (Debian 12's 1.19) are passed over. */
const MIN_GO = [1, 22];

async function goBinary(repo: string): Promise<string> {
  const candidates = [process.env.GO, 'go', '/usr/local/go/bin/go', path.join(repo, '.data', 'tools', 'go', 'bin', 'go')];
  const seen: string[] = [];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      const v = (await run(candidate, ['env', 'GOVERSION'])).trim();
      const [major = 0, minor = 0] = v.replace(/^go/, '').split('.').map(Number);
      if (major > MIN_GO[0]! || (major === MIN_GO[0] && minor >= MIN_GO[1]!)) return candidate;
      seen.push(`${candidate} (${v})`);
    } catch {
      // try the next one
    }
  }
  throw new Error(`no Go ${MIN_GO.join('.')}+ toolchain found (looked at $GO, go on PATH, /usr/local/go/bin/go, .data/tools/go${seen.length ? `; too old: ${seen.join(', ')}` : ''}); npm test's provisioning fetches one from the Go module proxy`);
}

/**
 * Builds the stand-in once per source hash into lab/standins/bin/ (git-ignored), shared by
 * every artifacts dir (tests build into temp dirs and must not pay for Go each time).
 */
async function ensureStandin(repo: string, log: Log): Promise<{ binary: string; key: string }> {
  const src = path.join(repo, 'lab', 'standins');
  const go = await goBinary(repo);
  const version = (await run(go, ['version'])).trim();
  const key = sha256(`${FORMAT}\n${version}\n${await hashTree(src, new Set(['bin', '.git']))}`);
  const binDir = path.join(src, 'bin');
  const binary = path.join(binDir, `standin-${key.slice(0, 16)}`);
  if (existsSync(binary)) return { binary, key };
  log(`standin: go build (${version}) -> ${path.relative(repo, binary)}`);
  const started = Date.now();
  await fs.mkdir(binDir, { recursive: true });
  await atomically(binary, async (tmp) => {
    await run(go, ['build', '-ldflags', '-s -w', '-trimpath', '-o', tmp, './cmd/standin'], {
      cwd: src,
      // GOTOOLCHAIN=local: never try to download another toolchain; -buildvcs=false: the
      // checkout's VCS state must not change the binary.
      env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false', GOOS: 'linux', GOARCH: 'amd64' },
    });
  });
  // Older builds of the stand-in are dead weight.
  for (const n of await fs.readdir(binDir)) {
    if (n.startsWith('standin-') && n !== path.basename(binary) && !n.includes('.tmp-')) await fs.rm(path.join(binDir, n), { force: true });
  }
  log(`standin: built in ${((Date.now() - started) / 1000).toFixed(1)}s (${mb((await fs.stat(binary)).size)})`);
  return { binary, key };
}

// ---- etcd 3.5 --------------------------------------------------------------------------------

/** The etcd 3.5 binaries, built by scripts/tools/etcd-3.5.sh (a no-op when cached). */
async function ensureEtcd35(repo: string, log: Log): Promise<{ etcd: string; etcdctl: string }> {
  const dir = path.join(repo, '.data', 'tools', 'etcd-3.5');
  const bins = { etcd: path.join(dir, 'etcd'), etcdctl: path.join(dir, 'etcdctl') };
  if (!existsSync(bins.etcd) || !existsSync(bins.etcdctl)) log('etcd 3.5: building it from the Go module proxy (a few minutes, once)');
  await run('bash', [path.join(repo, 'scripts', 'tools', 'etcd-3.5.sh')], { env: process.env });
  return bins;
}

// ---- images ---------------------------------------------------------------------------------

/**
 * The cache key of an image: its name, config and every entry, with host files identified by
 * real path, size and mtime (a Debian upgrade of etcd, haproxy, busybox or a library changes it).
 */
async function imageKey(builder: string, plan: ImagePlan): Promise<string> {
  const entries = [];
  for (const e of plan.entries) {
    if (e.kind === 'copy') {
      const real = await fs.realpath(e.source);
      const st = await fs.stat(real);
      entries.push({ ...e, source: real, size: st.size, mtime: st.mtimeMs });
    } else entries.push(e);
  }
  return sha256(JSON.stringify({ FORMAT, builder, name: plan.name, file: plan.file, config: plan.config, entries }));
}

async function buildImage(dir: string, plan: ImagePlan, log: Log): Promise<{ id: string; bytes: number }> {
  const out = path.join(dir, 'images', plan.file);
  const work = path.join(dir, `.work-${process.pid}-${sha256(plan.name).slice(0, 8)}`);
  const started = Date.now();
  let id = '';
  await fs.rm(work, { recursive: true, force: true });
  try {
    const rootfs = path.join(work, 'rootfs');
    await materialize(rootfs, plan.entries);
    const layer = path.join(work, 'layer.tar');
    await tarTo(layer, rootfs, await topLevel(rootfs));
    await fs.rm(rootfs, { recursive: true, force: true });
    await atomically(out, async (tmp) => {
      const archive = path.join(work, 'archive');
      await fs.mkdir(archive);
      ({ id } = await writeDockerArchive({ name: plan.name, layerTar: layer, spec: plan.config, out: tmp, work: archive, createdBy: 'api7-ha lab/images/build.ts' }));
    });
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  const bytes = (await fs.stat(out)).size;
  log(`image ${plan.name}: built ${plan.file} (${mb(bytes)}, ${id.slice(0, 19)}) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return { id, bytes };
}

// ---- packages -------------------------------------------------------------------------------

async function buildPackage(dir: string, sub: string, plan: PackagePlan, imageTarball: string, log: Log): Promise<number> {
  const out = path.join(dir, sub, `${plan.top}.tar.gz`);
  const work = path.join(dir, `.work-${process.pid}-${sha256(`${sub}/${plan.top}`).slice(0, 8)}`);
  await fs.rm(work, { recursive: true, force: true });
  try {
    const top = path.join(work, plan.top);
    for (const [rel, content] of Object.entries(plan.files)) {
      await fs.mkdir(path.dirname(path.join(top, rel)), { recursive: true });
      await fs.writeFile(path.join(top, rel), content);
    }
    for (const d of plan.emptyDirs) await fs.mkdir(path.join(top, d), { recursive: true });
    await fs.mkdir(path.dirname(path.join(top, plan.imagePath)), { recursive: true });
    await linkOrCopy(imageTarball, path.join(top, plan.imagePath));
    for (const f of await fs.readdir(work, { recursive: true })) {
      const p = path.join(work, f);
      await fs.chmod(p, (await fs.stat(p)).isDirectory() ? 0o755 : 0o644);
    }
    await atomically(out, (tmp) => tarGzTo(tmp, work, [plan.top]));
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  const bytes = (await fs.stat(out)).size;
  log(`package ${sub}/${plan.top}.tar.gz: built (${mb(bytes)})`);
  return bytes;
}

// ---- orchestration --------------------------------------------------------------------------

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Builds (or reuses) every lab artifact in `dir`. Safe to call concurrently with itself: every
 * output is written under a temp name and renamed into place, and equal inputs give equal bytes.
 */
export async function buildArtifacts(dir: string, log: Log = () => undefined): Promise<LabArtifacts> {
  dir = path.resolve(dir);
  const started = Date.now();
  await fs.mkdir(path.join(dir, 'images'), { recursive: true });
  await fs.mkdir(path.join(dir, 'packages', 'host-network'), { recursive: true });
  await cleanStale(dir);
  const repo = repoRoot();
  const builder = await hashTree(path.join(repo, 'lab', 'images'), new Set());
  const old = await readManifest(dir);
  const records: Record<string, CacheRecord> = {};
  let built = 0;

  // One build per image, however many packages carry it.
  const imageBuilds = new Map<string, Promise<CacheRecord>>();
  const image = (slot: string, planP: Promise<ImagePlan>): Promise<CacheRecord> => {
    const known = imageBuilds.get(slot);
    if (known) {
      planP.catch(() => undefined); // the first call's plan is the one built
      return known;
    }
    const p = buildImageOnce(slot, planP);
    imageBuilds.set(slot, p);
    return p;
  };
  const buildImageOnce = async (slot: string, planP: Promise<ImagePlan>): Promise<CacheRecord> => {
    const plan = await planP;
    const key = await imageKey(builder, plan);
    const prev = await valid(dir, old.records[slot], key);
    if (prev) return (records[slot] = prev);
    log(`image ${plan.name}: building`);
    const { id, bytes } = await buildImage(dir, plan, log);
    built++;
    return (records[slot] = { key, file: `images/${plan.file}`, bytes, name: plan.name, id });
  };

  const standinP = (async (): Promise<CacheRecord> => {
    const { binary, key } = await ensureStandin(repo, log);
    const prev = await valid(dir, old.records.standin, key);
    if (prev) return (records.standin = prev);
    await atomically(path.join(dir, 'standin'), async (tmp) => {
      await fs.copyFile(binary, tmp);
      await fs.chmod(tmp, 0o755);
    });
    built++;
    return (records.standin = { key, file: 'standin', bytes: (await fs.stat(binary)).size });
  })();

  const [etcd, etcd35, haproxy, standin] = await Promise.all([
    image('etcdImage', etcdImage()),
    image('etcd35Image', ensureEtcd35(repo, log).then((b) => etcdImage(b))),
    image('haproxyImage', haproxyImage()),
    standinP,
  ]);
  const standinPath = path.join(dir, standin.file);

  const vendorPackages = (network: 'bridge' | 'host') =>
    Promise.all(
      packagePlans(network).map(async (p) => {
        const img = await image(`${p.key}.image`, p.role === 'dashboard' ? dashboardImage(p.flavor, standinPath) : gatewayImage(p.flavor, standinPath));
        const slot = network === 'bridge' ? p.key : `${p.key}.host-network`;
        const sub = network === 'bridge' ? 'packages' : 'packages/host-network';
        const key = sha256(JSON.stringify({ FORMAT, builder, plan: p, image: img.id }));
        const prev = await valid(dir, old.records[slot], key);
        if (prev) {
          records[slot] = prev;
        } else {
          const bytes = await buildPackage(dir, sub, p, path.join(dir, img.file), log);
          built++;
          records[slot] = { key, file: `${sub}/${p.top}.tar.gz`, bytes };
        }
        return [p.key, path.join(dir, `${sub}/${p.top}.tar.gz`)] as const;
      }),
    ).then((kv) => Object.fromEntries(kv) as Record<PackageKey, string>);
  // One variant after the other: both hard-link the same image tarballs, and a new link to a file
  // that tar is reading changes its ctime ("file changed as we read it").
  const pkg = await vendorPackages('bridge');
  const hostPkg = await vendorPackages('host');

  const artifact = (r: CacheRecord): ImageArtifact => ({ tarball: path.join(dir, r.file), name: r.name ?? '', id: r.id ?? '', bytes: r.bytes });
  const artifacts: LabArtifacts = {
    dir,
    etcdImage: artifact(etcd),
    etcd35Image: artifact(etcd35),
    haproxyImage: artifact(haproxy),
    packages: pkg,
    hostNetworkPackages: hostPkg,
    standinBinary: standinPath,
  };
  if (built > 0 || JSON.stringify(old.artifacts) !== JSON.stringify(artifacts)) {
    const sorted = Object.fromEntries(Object.entries(records).sort(([a], [b]) => (a < b ? -1 : 1)));
    await writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify({ format: FORMAT, records: sorted, artifacts } satisfies Manifest, null, 2) + '\n');
  }
  log(built > 0 ? `lab artifacts: ${built} built in ${((Date.now() - started) / 1000).toFixed(1)}s -> ${dir}` : `lab artifacts: all cached (${Date.now() - started} ms) in ${dir}`);
  return artifacts;
}
