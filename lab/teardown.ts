/**
 * Removing a lab, live or stale. Everything is found twice: from the state file when there is one,
 * and independently by the lab's prefix (namespaces, links, mounts, cgroups, processes), so a lab
 * half-built by a crashed run, or one whose state file was lost, is removed just as completely.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ip, ipBatch, nsenter, parseLinkNames, umountAllOfType, umountRecursive } from './commands';
import { run, runOk } from './exec';
import { cgroupDirsWithPrefix, linkAlias, linkExists, linksWithPrefix, mountsUnder, netnsWithPrefix, rmCgroupTree } from './kernel';
import { findMembers, killMembers, nsFileId, signal, waitExit, type Membership } from './procs';
import type { LabState } from './state';
import { bridgeName, hostsRootFor, labPrefix, runDirFor } from './topology';

export interface TeardownInput {
  /** The lab directory as given (files are removed there). */
  labDir: string;
  realDir: string;
  state: LabState | undefined;
  /** Never touched (the shared artifact cache may live inside the lab dir). */
  artifactsDir: string;
  /** `up` rebuilding a stale lab keeps the client key; `down` removes it. */
  keepClientKey: boolean;
  dockerdStopMs: number;
  log: (line: string) => void;
}

/** The marker written as the bridge's alias and in /run/<prefix>/owner. */
export function ownerMark(realDir: string): string {
  return `api7-ha-lab ${realDir}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

/** Returns whether anything of the lab was found (and removed). Throws if something is left. */
export async function teardownLab(t: TeardownInput): Promise<boolean> {
  const { state, realDir, log } = t;
  const prefix = state?.prefix ?? labPrefix(realDir);
  const runDir = state?.runDir ?? runDirFor(prefix);
  const nsDir = state?.nsDir ?? path.join(runDir, 'ns');
  const bridge = state?.bridge ?? bridgeName(prefix);
  const artifacts = path.resolve(t.artifactsDir);
  const hostsRoot = hostsRootFor(realDir, prefix);

  // Refuse to touch objects of another lab that happens to share the 4-hex prefix.
  const alias = linkAlias(bridge);
  if (linkExists(bridge) && alias !== '' && alias !== ownerMark(realDir)) {
    throw new Error(`bridge ${bridge} belongs to another lab (${alias}); the prefixes collide: use another lab directory`);
  }
  try {
    const owner = fs.readFileSync(path.join(runDir, 'owner'), 'utf8').trim();
    if (owner !== realDir) throw new Error(`${runDir} belongs to the lab at ${owner}; the prefixes collide: use another lab directory`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }

  const netnsNames = netnsWithPrefix(`${prefix}-`);
  let nsFiles: string[] = [];
  try {
    nsFiles = fs.readdirSync(nsDir).map((f) => path.join(nsDir, f));
  } catch {
    /* none */
  }
  const links = parseLinkNames(await runOk(ip.linkList())).filter((l) => l.startsWith(`${prefix}-`));
  const ourMounts = (): string[] => [...mountsUnder(runDir), ...mountsUnder(realDir).filter((m) => !isUnder(m, artifacts)), ...(isUnder(hostsRoot, realDir) ? [] : mountsUnder(hostsRoot))];
  const rootMounts = ourMounts();
  const membership: Membership = {
    netNs: new Set(netnsNames.map((n) => nsFileId(`/run/netns/${n}`, 'net')).filter((x): x is string => !!x)),
    mntNs: new Set(nsFiles.filter((f) => f.endsWith('.mnt')).map((f) => nsFileId(f, 'mnt')).filter((x): x is string => !!x)),
    cgroupParents: [],
    cgroupPrefix: `${prefix}-`,
    // Fallback for daemons whose namespace files are already gone: their argv names our run dir
    // (dockerd, containerd, shims) or a host's sshd_config. Not the whole lab dir: the shared
    // artifact cache lives under the default lab dir, and other labs' echo processes run from it.
    argvMarkers: [`${runDir}/`, `${hostsRoot}/`],
    argvComms: ['dockerd', 'containerd', 'sshd', 'docker-proxy', 'runc'],
  };
  const members = findMembers(membership);
  const cgroups = cgroupDirsWithPrefix(`${prefix}-`);
  const found =
    state !== undefined || netnsNames.length > 0 || links.length > 0 || rootMounts.length > 0 || members.length > 0 || cgroups.length > 0 || fs.existsSync(runDir) || fs.existsSync(hostsRoot);
  if (!found) return false;
  log(`tearing down ${prefix}: ${netnsNames.length} namespaces, ${links.length} links, ${members.length} processes, ${rootMounts.length} mounts, ${cgroups.length} cgroups`);

  // 1. Containers first (SIGKILL, by cgroup): they are being destroyed anyway, and a container whose
  //    PID 1 ignores SIGTERM would otherwise hold its engine's shutdown for the 10 s stop timeout.
  const t1 = Date.now();
  await killMembers({ netNs: new Set(), mntNs: new Set(), cgroupParents: [], cgroupPrefix: `${prefix}-` });
  // 2. Engines, gracefully: on SIGTERM dockerd cleans up after its containers and stops its containerd.
  const engines = members.filter((p) => p.comm === 'dockerd');
  for (const p of engines) signal(p.pid, 'SIGTERM');
  const stubborn = await waitExit(
    engines.map((p) => p.pid),
    t.dockerdStopMs,
  );
  if (stubborn.length > 0) log(`dockerd ${stubborn.join(', ')} did not stop within ${t.dockerdStopMs} ms; killing`);
  // 3. Everything else of ours (sshd and its sessions, echo, shims, stragglers): SIGKILL.
  const killed = await killMembers(membership);
  log(`processes stopped (${engines.length} engines, ${killed} killed) in ${Date.now() - t1} ms`);

  // 4. Mounts: the overlays inside each host, then the namespace files and their private dir.
  const tMounts = Date.now();
  await Promise.all(
    nsFiles
      .filter((f) => f.endsWith('.mnt') && nsFileId(f, 'mnt'))
      .map(async (f) => {
        const r = await run(nsenter({ mnt: f }, umountAllOfType('overlay')));
        if (r.code !== 0 && r.stderr.trim()) log(`${path.basename(f)}: ${r.stderr.trim()}`);
      }),
  );
  // Only the outermost mount points: `umount --recursive` takes everything beneath them.
  const all = ourMounts();
  for (const mp of all.filter((m) => !all.some((o) => o !== m && m.startsWith(`${o}/`)))) {
    const r = await run(umountRecursive(mp));
    if (r.code !== 0) log(`umount ${mp}: ${r.stderr.trim()}`);
  }
  log(`mounts removed in ${Date.now() - tMounts} ms`);

  // 5. Links (deleting a veth end deletes its peer; done explicitly in case some other mount
  //    namespace on the machine keeps a host's network namespace alive), namespaces, bridge last.
  //    One ip process that carries on past errors; the leftovers check reports what remains.
  const del = ipBatch(
    [...links.filter((x) => x !== bridge).map((l) => ip.linkDel(l)), ...netnsNames.map((n) => ip.netnsDel(n)), ...(links.includes(bridge) ? [ip.linkDel(bridge)] : [])],
    { force: true },
  );
  if (del.input.trim() !== '') {
    const r = await run(del.argv, { input: del.input });
    if (r.code !== 0) log(`deleting links and namespaces: ${r.stderr.trim()}`);
  }

  // 5b. The unreachable route of the inner subnet (behind a bastion).
  const innerSubnet = innerSubnetOf(state, runDir);
  if (innerSubnet && unreachableRoutes().includes(innerSubnet)) {
    const r = await run(ip.routeUnreachableDel(innerSubnet));
    if (r.code !== 0) log(`removing the route to ${innerSubnet}: ${r.stderr.trim()}`);
  }

  // 6. Cgroups the engines created for containers (cgroupfs driver), innermost first.
  for (let i = 0; i < 20; i++) {
    const left = cgroupDirsWithPrefix(`${prefix}-`);
    if (left.length === 0) break;
    for (const c of left) rmCgroupTree(c);
    if (cgroupDirsWithPrefix(`${prefix}-`).length > 0) await sleep(100);
  }

  // 7. Files: per-host dirs, runtime dir, generated files. The artifact cache stays.
  const rm = (p: string): void => {
    if (!isUnder(path.resolve(p), artifacts)) fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
  };
  rm(runDir);
  rm(hostsRoot);
  if (!isUnder(hostsRoot, realDir)) {
    rm(path.dirname(hostsRoot)); // EXTERNAL_HOSTS_ROOT/<prefix>
    try {
      fs.rmdirSync(path.dirname(path.dirname(hostsRoot))); // EXTERNAL_HOSTS_ROOT, once no lab uses it
    } catch {
      /* another lab's hosts are there */
    }
  }
  for (const f of ['inventory.yaml', 'inventory.yaml.tmp', 'state.lock', 'secrets', 'authorized_keys']) rm(path.join(t.labDir, f));
  rm(t.keepClientKey ? path.join(t.labDir, 'ssh', 'known_hosts') : path.join(t.labDir, 'ssh'));
  rm(path.join(t.labDir, 'state.json'));

  const left = leftovers(prefix, runDir, ourMounts);
  if (innerSubnet && unreachableRoutes().includes(innerSubnet)) left.push(`route unreachable ${innerSubnet}`);
  if (left.length > 0) throw new Error(`teardown of ${prefix} left: ${left.join('; ')}`);
  return true;
}

function innerSubnetOf(state: LabState | undefined, runDir: string): string | undefined {
  if (state?.inner) return state.inner.subnet;
  try {
    return fs.readFileSync(path.join(runDir, 'inner-subnet'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Destinations of the machine's `unreachable` routes, from /proc (no process). */
function unreachableRoutes(): string[] {
  try {
    // /proc/net/route has no route types; read them from `ip route` style data instead: RTF_REJECT (0x0200) flags.
    const lines = fs.readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1);
    const out: string[] = [];
    for (const l of lines) {
      const [, dest, , flags, , , , mask] = l.trim().split(/\s+/);
      if (!dest || !flags || !mask || (parseInt(flags, 16) & 0x0200) === 0) continue;
      const ipOf = (hex: string) => [0, 2, 4, 6].map((i) => parseInt(hex.slice(6 - i, 8 - i), 16)).join('.');
      const bits = ipOf(mask).split('.').reduce((n, o) => n + Number(o).toString(2).replace(/0/g, '').length, 0);
      out.push(`${ipOf(dest)}/${bits}`);
    }
    return out;
  } catch {
    return [];
  }
}

/** What of the lab is still on the machine (empty after a successful teardown). */
function leftovers(prefix: string, runDir: string, mounts: () => string[]): string[] {
  const out: string[] = [];
  const ns = netnsWithPrefix(`${prefix}-`);
  if (ns.length) out.push(`namespaces ${ns.join(' ')}`);
  const links = linksWithPrefix(`${prefix}-`);
  if (links.length) out.push(`links ${links.join(' ')}`);
  const m = mounts();
  if (m.length) out.push(`mounts ${m.join(' ')}`);
  const cg = cgroupDirsWithPrefix(`${prefix}-`);
  if (cg.length) out.push(`cgroups ${cg.join(' ')}`);
  if (fs.existsSync(runDir)) out.push(runDir);
  return out;
}
