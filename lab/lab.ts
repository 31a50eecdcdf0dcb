/**
 * The multi-host lab: each host is a network namespace on a bridge, with its own persistent mount
 * (per-host overlays) and UTS namespaces, its own sshd and its own Docker engine. See
 * /work/shared/notes/lab-recipe.md for the recipe this follows and why each piece is there.
 *
 * Layering: topology.ts (names, addresses; pure) -> commands.ts (argv, config text; pure) ->
 * exec.ts / procs.ts / probe.ts (the only I/O primitives) -> this file (orchestration).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildArtifacts, type LabArtifacts } from './images/build';
import {
  BIN,
  ENGINE_PATH,
  bindEntry,
  bindSelf,
  dockerdArgv,
  etcHosts,
  ip,
  knownHostsLine,
  ipBatch,
  makePrivate,
  mountAll,
  nsenter,
  overlayEntry,
  renderFstab,
  setHostname,
  sshClient,
  sshKeygen,
  sshdArgv,
  sshdConfig,
  umountAllOfType,
  unshareMountUts,
  whiteout,
  type Argv,
  type FstabEntry,
  type NsPaths,
} from './commands';
import { baseEnv, run, runOk, spawnDaemon, tailFile, type RunResult } from './exec';
import { renderInventory } from './inventory';
import { ownerMark, teardownLab } from './teardown';
import { engineContainers, engineInfo, sshBanner, tcpProbe, waitUntil, type ContainerSummary } from './probe';
import { linkAdminUp, linkExists } from './kernel';
import { findMembers, isAlive, killMembers, nsFileId, procNs, procRssKiB, type Membership } from './procs';
import { loadState, lockHolder, saveState, tryLock, unlock, updateHost, updateLabState, type HostState, type LabState } from './state';
import {
  DEFAULT_GATEWAYS,
  HIDDEN_MACHINE_PATHS,
  MAX_GATEWAYS,
  MIN_GATEWAYS,
  OVERLAY_PATHS,
  assertHostName,
  bridgeAddress,
  bridgeName,
  chooseSubnet,
  hostAddress,
  hostNames,
  labPrefix,
  layoutHosts,
  parseIpAddrNetworks,
  parseIpRouteNetworks,
  runDirFor,
  validateLabDir,
  hostsRootFor,
  type Role,
} from './topology';

export type { LabArtifacts } from './images/build';

// ---------------------------------------------------------------------------------------------
// Public types

export interface LabHost {
  name: string;
  address: string;
  roles: string[];
  netns: string;
  mountNs: string;
  dockerSocket: string;
}

export interface LabInfo {
  dir: string;
  prefix: string;
  subnet: string;
  bridge: string;
  /** Estate members, in inventory order (the upstream is `upstream`, not listed here). */
  hosts: LabHost[];
  inventoryPath: string;
  sshKey: string;
  knownHosts: string;
  upstream: LabHost;
  artifacts: LabArtifacts;
}

export interface HostStatus {
  name: string;
  address: string;
  roles: string[];
  /** Namespace, mount namespace and link all present. */
  exists: boolean;
  link: 'up' | 'down' | 'missing';
  sshd: boolean;
  engine: boolean;
  /** The upstream's echo process (only for the upstream host). */
  echo?: boolean;
  poweredOff: boolean;
  disconnected: boolean;
  containers: ContainerSummary[];
  /** Resident memory of the host's daemons (sshd listener + sessions, dockerd, containerd), KiB. */
  rssKiB: { sshd: number; dockerd: number; containerd: number; total: number };
}

export interface LabStatus {
  dir: string;
  state: 'absent' | 'building' | 'ready';
  prefix?: string;
  subnet?: string;
  bridge?: string;
  bridgeUp?: boolean;
  hosts: HostStatus[];
}

export interface UpReport {
  /** created: built from scratch; verified: already healthy; repaired: powered on / reconnected hosts. */
  action: 'created' | 'verified' | 'repaired';
  cleanedStale: boolean;
  repairedHosts: string[];
  timingsMs: Record<string, number>;
}

/** A problem with how the lab was asked to do something (exit code 2 in the CLI). */
export class LabUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'LabUsageError';
  }
}

export interface LabOptions {
  /** Lab directory; default env API7HA_LAB_DIR, else <repo>/.lab. */
  dir?: string;
  log?: (line: string) => void;
  /** Artifact cache shared by every lab of the checkout; default env API7HA_LAB_ARTIFACTS_DIR, else <repo>/.lab/artifacts. */
  artifactsDir?: string;
}

// ---------------------------------------------------------------------------------------------
// Locations

/** The checkout root: the nearest parent of this file with the project's package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'api7-ha') return dir;
    } catch {
      /* keep walking */
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the api7-ha checkout above ${__dirname}`);
    dir = up;
  }
}

export function defaultLabDir(): string {
  const env = process.env.API7HA_LAB_DIR;
  return env && env.trim() !== '' ? path.resolve(env) : path.join(repoRoot(), '.lab');
}

/** Shared artifact cache of the checkout (env API7HA_LAB_ARTIFACTS_DIR overrides, e.g. for a CI cache). */
export function defaultArtifactsDir(): string {
  const env = process.env.API7HA_LAB_ARTIFACTS_DIR;
  return env && env.trim() !== '' ? path.resolve(env) : path.join(repoRoot(), '.lab', 'artifacts');
}

/** realpath that tolerates a path that does not exist yet (resolves the nearest existing parent). */
function realpathLoose(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return abs;
      rest.push(path.basename(cur));
      cur = up;
    }
  }
}

const ENGINE_READY_MS = 90_000;
const SSHD_READY_MS = 30_000;
const DOCKERD_STOP_MS = 12_000;

function elapsed(t0: number): number {
  return Date.now() - t0;
}

function nsPaths(h: HostState): NsPaths {
  return { net: h.netnsPath, mnt: h.mountNs, uts: h.utsNs };
}

function toLabHost(h: HostState): LabHost {
  return { name: h.name, address: h.address, roles: [...h.roles], netns: h.netns, mountNs: h.mountNs, dockerSocket: h.dockerSocket };
}

function writeSecretFile(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

function rmrf(p: string): void {
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
}

/** [mount point in the host, per-host source dir] for the fixed /run paths the engine uses. */
function hostRunBinds(h: HostState): [string, string][] {
  return [
    ['/run/containerd', path.join(h.dirs.run, 'sys', 'containerd')],
    ['/run/docker', path.join(h.dirs.run, 'sys', 'docker')],
  ];
}

/**
 * Empty the host's /run as a reboot would. The bind sources of hostRunBinds are mounted inside the
 * host, so they are emptied rather than replaced (a new directory would not be the mounted one).
 */
function wipeRunDir(h: HostState): void {
  const keep = new Set(hostRunBinds(h).map(([, src]) => src));
  const wipe = (dir: string): void => {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e);
      if (keep.has(p)) wipe(p);
      else if ([...keep].some((k) => k.startsWith(`${p}/`))) wipe(p);
      else rmrf(p);
    }
  };
  wipe(h.dirs.run);
}

// ---------------------------------------------------------------------------------------------
// Lab

export class Lab {
  readonly dir: string;
  readonly artifactsDir: string;
  private readonly logFn: (line: string) => void;
  /** What the last `up` did, with per-phase timings (the CLI prints it). */
  lastUp?: UpReport;

  constructor(opts: LabOptions = {}) {
    this.dir = path.resolve(opts.dir ?? defaultLabDir());
    this.artifactsDir = path.resolve(opts.artifactsDir ?? defaultArtifactsDir());
    this.logFn = opts.log ?? (() => undefined);
  }

  private log(line: string): void {
    this.logFn(line);
  }

  private get realDir(): string {
    return realpathLoose(this.dir);
  }

  // -------------------------------------------------------------------------------------------
  // up

  async up(opts: { gateways?: number } = {}): Promise<LabInfo> {
    const gateways = opts.gateways ?? DEFAULT_GATEWAYS;
    if (!Number.isInteger(gateways) || gateways < MIN_GATEWAYS || gateways > MAX_GATEWAYS) {
      throw new LabUsageError(`--gateways must be an integer from ${MIN_GATEWAYS} to ${MAX_GATEWAYS} (got ${String(opts.gateways)})`);
    }
    if (process.getuid?.() !== 0) throw new LabUsageError('the lab creates namespaces and mounts: run it as root');
    fs.mkdirSync(this.dir, { recursive: true });
    const realDir = fs.realpathSync(this.dir);
    try {
      validateLabDir(realDir);
    } catch (e) {
      throw new LabUsageError(`${(e as Error).message} (set API7HA_LAB_DIR or --dir)`);
    }
    return this.withOpLock('up', async () => {
      const t0 = Date.now();
      const timings: Record<string, number> = {};
      let previous: LabState | undefined;
      try {
        previous = loadState(this.dir);
      } catch (e) {
        this.log(`state: ${(e as Error).message}; treating the lab as stale`);
      }

      if (previous && previous.phase === 'ready') {
        const a = await this.assess(previous);
        if (a.kind !== 'stale' && previous.gateways !== gateways) {
          throw new LabUsageError(
            `the lab at ${this.dir} is running with --gateways ${previous.gateways}; ` +
              `run \`lab down\` first to rebuild it with --gateways ${gateways}, or run \`lab up --gateways ${previous.gateways}\``,
          );
        }
        if (a.kind === 'healthy') {
          await this.ensureArtifacts(previous);
          this.ensureClientFiles(previous);
          timings.verify = elapsed(t0);
          this.lastUp = { action: 'verified', cleanedStale: false, repairedHosts: [], timingsMs: { ...timings, total: elapsed(t0) } };
          this.log(`lab is up and healthy (verified in ${timings.verify} ms)`);
          return this.infoFrom(previous);
        }
        if (a.kind === 'repairable') {
          this.log(`repairing: ${a.reasons.join('; ')}`);
          for (const h of a.restart) await this.powerOnHost(h, false);
          for (const h of a.reconnect) await this.reconnect(h);
          const s = loadState(this.dir)!;
          this.ensureClientFiles(s);
          const again = await this.assess(s);
          if (again.kind !== 'healthy') throw new Error(`lab is still unhealthy after repair: ${again.reasons.join('; ')}`);
          this.lastUp = {
            action: 'repaired',
            cleanedStale: false,
            repairedHosts: [...new Set([...a.restart, ...a.reconnect])],
            timingsMs: { repair: elapsed(t0), total: elapsed(t0) },
          };
          return this.infoFrom(s);
        }
        this.log(`stale lab found: ${a.reasons.join('; ')}; cleaning up`);
      }

      const tClean = Date.now();
      const cleaned = await this.teardown(previous, realDir, true);
      timings.cleanup = elapsed(tClean);
      if (cleaned) this.log(`cleaned up a stale lab in ${timings.cleanup} ms`);

      let state: LabState;
      try {
        state = await this.create(gateways, realDir, previous?.subnet, timings);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new Error(
          `${msg}\n(the half-built lab is left for inspection: daemon logs in ${path.join(hostsRootFor(realDir, labPrefix(realDir)), '<host>', 'logs')}; ` +
            '`lab down` removes it and the next `lab up` rebuilds it)',
          { cause: e },
        );
      }
      this.lastUp = { action: 'created', cleanedStale: cleaned, repairedHosts: [], timingsMs: { ...timings, total: elapsed(t0) } };
      return this.infoFrom(state);
    });
  }

  /** Build every host from nothing. */
  private async create(gateways: number, realDir: string, preferredSubnet: string | undefined, timings: Record<string, number>): Promise<LabState> {
    const t0 = Date.now();
    const prefix = labPrefix(realDir);
    const inUse = [
      ...parseIpAddrNetworks(await runOk(ip.addrList())),
      ...parseIpRouteNetworks(await runOk(ip.routeList())),
    ];
    const subnet = chooseSubnet(realDir, inUse, preferredSubnet);
    const state = this.plan(gateways, realDir, prefix, subnet);
    this.log(`creating lab ${prefix} on ${subnet} with ${state.hosts.length} hosts in ${this.dir}`);

    fs.mkdirSync(path.join(this.dir, 'ssh'), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(this.dir, 'secrets'), { recursive: true, mode: 0o700 });
    fs.mkdirSync(state.runDir, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(state.runDir, 'owner'), `${realDir}\n`); // checked by teardown
    saveState(this.dir, state);

    // Artifacts build in parallel with the hosts (they are only needed for the echo and the inventory).
    const artifactsP = buildArtifacts(this.artifactsDir, (l) => this.log(`artifacts: ${l}`)).then(
      (a) => ({ ok: true as const, a }),
      (e: unknown) => ({ ok: false as const, e }),
    );

    await this.ensureClientKey(state);
    this.ensureSecrets(state);

    // Network: the bridge in the machine's namespace, .1 on it.
    await runOk(ip.bridgeAdd(state.bridge), { context: 'creating the lab bridge' });
    await runOk(ip.linkAlias(state.bridge, ownerMark(realDir)));
    await runOk(ip.addrAdd(state.bridge, `${state.bridgeAddress}/24`));
    await runOk(ip.linkUp(state.bridge));

    // Namespace files live on a private mount of their own, so that binding them works even if the
    // machine's / is later made shared by someone else, and nothing propagates in or out.
    fs.mkdirSync(state.nsDir, { recursive: true });
    await runOk(bindSelf(state.nsDir));
    await runOk(makePrivate(state.nsDir));
    timings.network = elapsed(t0);

    const tHosts = Date.now();
    await this.createLinks(state);
    await Promise.all(state.hosts.map((h) => this.createHost(state, h)));
    timings.hosts = elapsed(tHosts);
    saveState(this.dir, state);

    const tStart = Date.now();
    for (const h of state.hosts) this.startDaemons(h);
    saveState(this.dir, state);
    await Promise.all(state.hosts.map((h) => this.waitHostReady(h)));
    timings.daemons = elapsed(tStart);

    const tNet = Date.now();
    await this.checkHostToHost(state);
    timings.hostToHost = elapsed(tNet);

    const tArt = Date.now();
    const art = await artifactsP;
    if (!art.ok) {
      throw new Error(`building the lab artifacts in ${this.artifactsDir} failed: ${art.e instanceof Error ? art.e.message : String(art.e)}`);
    }
    timings.artifactsWait = elapsed(tArt);
    state.artifacts = art.a;

    const up = state.hosts.find((h) => h.roles.includes('upstream'))!;
    this.startEcho(state, up);
    saveState(this.dir, state);
    await this.waitEcho(up);

    this.writeKnownHosts(state);
    this.writeInventory(state);
    state.phase = 'ready';
    saveState(this.dir, state);
    return state;
  }

  /** Every name, path and address of a new lab (no I/O). Paths use the real lab dir (validated). */
  private plan(gateways: number, realDir: string, prefix: string, subnet: string): LabState {
    const runDir = runDirFor(prefix);
    const nsDir = path.join(runDir, 'ns');
    const now = new Date().toISOString();
    const dir = realDir;
    const hostsRoot = hostsRootFor(realDir, prefix);
    const hosts: HostState[] = layoutHosts(gateways).map((l) => {
      const n = hostNames(prefix, l.name);
      const base = path.join(hostsRoot, l.name);
      const run = path.join(runDir, l.name);
      return {
        name: l.name,
        roles: l.roles,
        index: l.index,
        inInventory: l.inInventory,
        address: hostAddress(subnet, l.index),
        netns: n.netns,
        netnsPath: `/run/netns/${n.netns}`,
        veth: n.veth,
        ifname: n.ifname,
        mountNs: path.join(nsDir, `${l.name}.mnt`),
        utsNs: path.join(nsDir, `${l.name}.uts`),
        cgroupParent: n.cgroupParent,
        containerdNamespace: n.containerdNamespace,
        containerdPluginsNamespace: n.containerdPluginsNamespace,
        dockerSocket: path.join(run, 'docker.sock'),
        dirs: {
          base,
          upper: path.join(base, 'fs', 'upper'),
          work: path.join(base, 'fs', 'work'),
          dockerData: path.join(base, 'docker'),
          logs: path.join(base, 'logs'),
          run,
          execRoot: path.join(run, 'exec'),
        },
        files: {
          sshdConfig: path.join(base, 'sshd_config'),
          fstab: path.join(base, 'fstab'),
          hostKey: path.join(base, 'ssh_host_ed25519_key'),
          hostPublicKey: path.join(base, 'ssh_host_ed25519_key.pub'),
          sshdPid: path.join(run, 'sshd.pid'),
          dockerPid: path.join(run, 'docker.pid'),
        },
        pids: {},
        poweredOff: false,
        disconnected: false,
      };
    });
    return {
      version: 1,
      dir,
      realDir,
      prefix,
      subnet,
      bridge: bridgeName(prefix),
      bridgeAddress: bridgeAddress(subnet),
      gateways,
      phase: 'building',
      createdAt: now,
      updatedAt: now,
      runDir,
      nsDir,
      artifactsDir: this.artifactsDir,
      files: {
        inventory: path.join(dir, 'inventory.yaml'),
        sshKey: path.join(dir, 'ssh', 'id_ed25519'),
        sshPublicKey: path.join(dir, 'ssh', 'id_ed25519.pub'),
        // Outside ssh/ (mode 700) and world-readable: sshd reads it as the user logging in, and the
        // hosts' non-root users (a sudoer, as the runbook's operator is) log in with the lab key too.
        authorizedKeys: path.join(hostsRoot, 'authorized_keys'),
        knownHosts: path.join(dir, 'ssh', 'known_hosts'),
        dashboardSecret: path.join(dir, 'secrets', 'dashboard-secret'),
        adminPassword: path.join(dir, 'secrets', 'admin-password'),
      },
      hosts,
    };
  }

  private async ensureClientKey(s: LabState): Promise<void> {
    if (!fs.existsSync(s.files.sshKey) || !fs.existsSync(s.files.sshPublicKey)) {
      rmrf(s.files.sshKey);
      rmrf(s.files.sshPublicKey);
      await runOk(sshKeygen(s.files.sshKey, `api7-ha-lab@${s.prefix}`), { context: 'generating the lab key' });
    }
    fs.chmodSync(s.files.sshKey, 0o600);
    fs.mkdirSync(path.dirname(s.files.authorizedKeys), { recursive: true });
    fs.writeFileSync(s.files.authorizedKeys, fs.readFileSync(s.files.sshPublicKey, 'utf8'), { mode: 0o644 });
    fs.chmodSync(s.files.authorizedKeys, 0o644);
  }

  private ensureSecrets(s: LabState): void {
    if (!fs.existsSync(s.files.dashboardSecret)) writeSecretFile(s.files.dashboardSecret, `${randomBytes(32).toString('hex')}\n`);
    if (!fs.existsSync(s.files.adminPassword)) writeSecretFile(s.files.adminPassword, `${randomBytes(18).toString('base64url')}\n`);
  }

  /**
   * The inventory points into the shared artifact cache; if someone cleaned the cache, rebuild it
   * (buildArtifacts is idempotent) and rewrite the inventory, instead of handing out dangling paths.
   */
  private async ensureArtifacts(s: LabState): Promise<void> {
    const a = s.artifacts;
    const files = a ? [a.etcdImage.tarball, a.haproxyImage.tarball, ...Object.values(a.packages), a.standinBinary] : [];
    if (a && files.every((f) => fs.existsSync(f))) return;
    this.log('the artifact cache changed; rebuilding it and rewriting the inventory');
    s.artifacts = await buildArtifacts(s.artifactsDir, (l) => this.log(`artifacts: ${l}`));
    updateLabState(this.dir, (x) => {
      x.artifacts = s.artifacts;
    });
    this.writeInventory(s);
  }

  /** Idempotent re-creation of files a `verified` up promises (someone may have deleted them). */
  private ensureClientFiles(s: LabState): void {
    if (!fs.existsSync(s.files.knownHosts)) this.writeKnownHosts(s);
    this.ensureSecrets(s);
    if (!fs.existsSync(s.files.inventory) && s.artifacts) this.writeInventory(s);
    if (!fs.existsSync(s.files.sshKey) || !fs.existsSync(s.files.authorizedKeys)) {
      throw new Error(`the lab key ${s.files.sshKey} or authorized_keys is missing; run \`lab down\` and \`lab up\``);
    }
  }

  /** Root side of every host's network: its namespace and its veth on the bridge (one ip process). */
  private async createLinks(s: LabState): Promise<void> {
    const b = ipBatch(
      s.hosts.flatMap((h) => [ip.netnsAdd(h.netns), ip.vethAdd(h.veth, h.ifname, h.netns), ip.linkMaster(h.veth, s.bridge), ip.linkUp(h.veth)]),
    );
    await runOk(b.argv, { input: b.input, context: 'creating the hosts\' namespaces and links' });
  }

  /** Inside one host: address, overlays, hostname, host key and sshd config (no daemons yet). */
  private async createHost(s: LabState, h: HostState): Promise<void> {
    const t0 = Date.now();
    for (const d of [h.dirs.base, h.dirs.upper, h.dirs.work, h.dirs.dockerData, h.dirs.logs, h.dirs.run]) {
      fs.mkdirSync(d, { recursive: true });
    }
    fs.chmodSync(h.dirs.dockerData, 0o710);

    const b = ipBatch([ip.addrAdd(h.ifname, `${h.address}/24`), ip.linkUp(h.ifname), ip.linkUp('lo')], { ns: h.netns });
    await runOk(b.argv, { input: b.input, context: `host ${h.name}: network` });

    // Files the host starts with, written into the overlay upper dirs before mounting.
    this.seedUpperFiles(s, h);
    // Machine state a fresh server would not have is hidden with overlay whiteouts (a 0/0 character
    // device in the upper dir). Without this, a key.json that any engine started on the machine
    // leaves in /etc/docker would give every host the same engine identity (and a daemon.json
    // there would configure every host's engine).
    for (const p of HIDDEN_MACHINE_PATHS) {
      const wh = path.join(h.dirs.upper, p);
      if (fs.existsSync(wh)) continue;
      fs.mkdirSync(path.dirname(wh), { recursive: true });
      await runOk(whiteout(wh), { context: `host ${h.name}: hiding the machine's ${p}` });
    }

    // Persistent mount + UTS namespaces; drop inherited namespace binds; per-host overlays.
    fs.writeFileSync(h.mountNs, '');
    fs.writeFileSync(h.utsNs, '');
    await runOk(unshareMountUts(h.mountNs, h.utsNs), { context: `host ${h.name}: creating its mount namespace` });
    const inMnt = (argv: Argv): Argv => nsenter({ mnt: h.mountNs }, argv);
    const r = await run(inMnt(umountAllOfType('nsfs')));
    if (r.code !== 0 && !/not mounted|no mount point/i.test(r.stderr)) this.log(`host ${h.name}: dropping inherited nsfs mounts: ${r.stderr.trim()}`);

    const entries: FstabEntry[] = [];
    for (const p of OVERLAY_PATHS) {
      if (!fs.existsSync(p)) continue;
      const upper = path.join(h.dirs.upper, p);
      const work = path.join(h.dirs.work, p);
      fs.mkdirSync(upper, { recursive: true });
      fs.mkdirSync(work, { recursive: true });
      // The merged directory takes the upper dir's mode and owner: keep the machine's (/tmp is 1777,
      // or non-root users, such as a deploy user with sudo, could not write temporary files).
      const lower = fs.statSync(p);
      fs.chmodSync(upper, lower.mode & 0o7777);
      fs.chownSync(upper, lower.uid, lower.gid);
      entries.push(overlayEntry(p, upper, work));
    }
    // The engine also writes to fixed paths in /run, which is the machine's (not overlaid):
    // containerd's shim sockets (/run/containerd/s) and docker's plugin dir (/run/docker). Give
    // each host its own, so hosts do not share them and nothing of the lab is left in the machine's /run.
    for (const [target, source] of hostRunBinds(h)) {
      fs.mkdirSync(target, { recursive: true, mode: 0o711 }); // mount point on the machine (an empty system dir)
      fs.mkdirSync(source, { recursive: true, mode: 0o700 });
      entries.push(bindEntry(source, target));
    }
    fs.writeFileSync(h.files.fstab, renderFstab(h.name, entries));
    await runOk(inMnt(mountAll(h.files.fstab)), { context: `host ${h.name}: mounting its overlays (${h.files.fstab})` });
    await runOk(nsenter({ uts: h.utsNs }, setHostname(h.name)));

    // Host key and sshd config.
    if (!fs.existsSync(h.files.hostKey)) {
      await runOk(sshKeygen(h.files.hostKey, `root@${h.name}`), { context: `host ${h.name}: host key` });
    }
    fs.writeFileSync(
      h.files.sshdConfig,
      sshdConfig({
        host: h.name,
        address: h.address,
        hostKey: h.files.hostKey,
        pidFile: h.files.sshdPid,
        authorizedKeys: s.files.authorizedKeys,
        dockerSocket: h.dockerSocket,
        sftpServer: fs.existsSync(BIN.sftpServer) ? BIN.sftpServer : 'internal-sftp',
      }),
    );
    this.log(`host ${h.name}: ${h.address} namespaces and overlays ready (${elapsed(t0)} ms)`);
  }

  private seedUpperFiles(s: LabState, h: HostState): void {
    const etc = path.join(h.dirs.upper, 'etc');
    fs.mkdirSync(etc, { recursive: true });
    fs.writeFileSync(path.join(etc, 'hostname'), `${h.name}\n`);
    let machineHosts = '127.0.0.1 localhost\n';
    try {
      machineHosts = fs.readFileSync('/etc/hosts', 'utf8');
    } catch {
      /* keep the minimal default */
    }
    fs.writeFileSync(path.join(etc, 'hosts'), etcHosts(machineHosts, s.hosts.map((x) => ({ address: x.address, name: x.name })), h.name));
    // sshd (without PAM) refuses accounts whose password field is locked ("!"); key login needs "*".
    try {
      const shadow = fs.readFileSync('/etc/shadow', 'utf8');
      if (/^root:!/m.test(shadow)) {
        fs.writeFileSync(path.join(etc, 'shadow'), shadow.replace(/^root:![^:]*:/m, 'root:*:'), { mode: 0o640 });
      }
    } catch {
      /* no shadow file: nothing to unlock */
    }
    // Each host's engine listens on its own socket (DOCKER_HOST, set by its sshd), not the default
    // /var/run/docker.sock that a real server's `sudo docker` uses; sudo resets the environment, so
    // keep DOCKER_HOST through it, or the runbook's `sudo docker run` finds no engine.
    const sudoers = path.join(etc, 'sudoers.d');
    fs.mkdirSync(sudoers, { recursive: true, mode: 0o750 });
    fs.writeFileSync(path.join(sudoers, 'api7-ha-lab'), 'Defaults env_keep += "DOCKER_HOST"\n', { mode: 0o440 });
    // root's shell start-up files as on a fresh Debian server (/etc/skel), not the machine's: bash run
    // by sshd reads ~/.bashrc even for `ssh host cmd`, and a developer's rc (pyenv init, ...) would add
    // ~200 ms to every remote command and make the lab slower than any real host.
    const rootHome = path.join(h.dirs.upper, 'root');
    fs.mkdirSync(rootHome, { recursive: true, mode: 0o700 });
    for (const f of ['.bashrc', '.profile']) {
      const skel = path.join('/etc/skel', f);
      fs.writeFileSync(path.join(rootHome, f), fs.existsSync(skel) ? fs.readFileSync(skel) : '');
    }
  }

  /** Start dockerd and sshd inside the host (both in its net + mount + UTS namespaces). */
  private startDaemons(h: HostState): void {
    fs.mkdirSync(h.dirs.run, { recursive: true });
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation dir
    const ns = nsPaths(h);
    h.pids.dockerd = spawnDaemon(
      nsenter(
        ns,
        dockerdArgv({
          socket: h.dockerSocket,
          pidFile: h.files.dockerPid,
          dataRoot: h.dirs.dockerData,
          execRoot: h.dirs.execRoot,
          containerdNamespace: h.containerdNamespace,
          containerdPluginsNamespace: h.containerdPluginsNamespace,
          cgroupParent: h.cgroupParent,
        }),
      ),
      path.join(h.dirs.logs, 'dockerd.log'),
      baseEnv({ PATH: ENGINE_PATH }),
    );
    h.pids.sshd = spawnDaemon(nsenter(ns, sshdArgv(h.files.sshdConfig)), path.join(h.dirs.logs, 'sshd.log'), baseEnv());
  }

  private startEcho(s: LabState, h: HostState): void {
    const bin = s.artifacts?.standinBinary;
    if (!bin || !fs.existsSync(bin)) throw new Error(`the stand-in binary ${bin ?? '(unknown)'} is missing; rebuild the artifacts`);
    h.pids.echo = spawnDaemon(nsenter(nsPaths(h), [bin, 'echo', '--listen', `${h.address}:80`]), path.join(h.dirs.logs, 'echo.log'), baseEnv());
  }

  private async waitEcho(h: HostState): Promise<void> {
    await waitUntil(`host ${h.name}: echo upstream on ${h.address}:80`, () => tcpProbe(h.address, 80, 500), {
      timeoutMs: 15_000,
      whyNot: () => tailFile(path.join(h.dirs.logs, 'echo.log')),
      abort: () => (isAlive(h.pids.echo) ? undefined : 'the echo process exited'),
    });
  }

  private async waitHostReady(h: HostState, checkSsh = true): Promise<void> {
    const t0 = Date.now();
    await Promise.all([
      waitUntil(`host ${h.name}: docker engine on ${h.dockerSocket}`, async () => (await engineInfo(h.dockerSocket, 2000)) !== undefined, {
        timeoutMs: ENGINE_READY_MS,
        intervalMs: 150,
        whyNot: () => tailFile(path.join(h.dirs.logs, 'dockerd.log')),
        abort: () => (isAlive(h.pids.dockerd) ? undefined : 'dockerd exited'),
      }),
      checkSsh
        ? waitUntil(`host ${h.name}: sshd on ${h.address}:22`, () => sshBanner(h.address, 1000), {
            timeoutMs: SSHD_READY_MS,
            whyNot: () => tailFile(path.join(h.dirs.logs, 'sshd.log')),
            abort: () => (isAlive(h.pids.sshd) ? undefined : 'sshd exited'),
          })
        : Promise.resolve(),
    ]);
    this.log(`host ${h.name}: sshd and engine ready (${elapsed(t0)} ms)`);
  }

  /**
   * Hosts must reach each other, not only the machine: bridged traffic between veths passes the
   * machine's iptables FORWARD chain when br_netfilter is active, so a DROP policy set by some other
   * engine on the machine would silently cut host-to-host traffic (etcd peers, gateways to etcd).
   * Probe every host's sshd from the first host, with a tiny Node script run inside its namespace.
   */
  private async checkHostToHost(s: LabState): Promise<void> {
    const from = s.hosts[0]!;
    const targets = s.hosts.slice(1).map((h) => h.address);
    const script =
      "const net=require('net');let bad=[];let n=process.argv.length-1;" +
      'for(const a of process.argv.slice(1)){const c=net.connect({host:a,port:22});' +
      "const t=setTimeout(()=>{c.destroy();bad.push(a);if(--n===0)done()},3000);" +
      "c.on('connect',()=>{clearTimeout(t);c.destroy();if(--n===0)done()});" +
      "c.on('error',()=>{clearTimeout(t);bad.push(a);if(--n===0)done()})}" +
      "function done(){if(bad.length){console.log(bad.join(' '));process.exit(1)}}";
    const r = await run(nsenter({ net: from.netnsPath }, [process.execPath, '-e', script, ...targets]), { timeoutMs: 15_000 });
    if (r.code !== 0) {
      let hint = '';
      try {
        if (fs.readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim() === '1') {
          hint =
            `\nbridge-nf-call-iptables is 1, so traffic between lab hosts crosses the machine's iptables FORWARD chain; ` +
            `if its policy is DROP (another Docker engine on the machine sets that), allow the lab bridge: ` +
            `iptables -I FORWARD -i ${s.bridge} -o ${s.bridge} -j ACCEPT`;
        }
      } catch {
        /* no br_netfilter */
      }
      throw new Error(`host ${from.name} cannot reach sshd on: ${r.stdout.trim() || r.stderr.trim()}${hint}`);
    }
  }

  private writeKnownHosts(s: LabState): void {
    const lines = s.hosts.map((h) => knownHostsLine(h.address, fs.readFileSync(h.files.hostPublicKey, 'utf8')));
    fs.writeFileSync(s.files.knownHosts, `${lines.join('\n')}\n`, { mode: 0o644 });
  }

  private writeInventory(s: LabState): void {
    if (!s.artifacts) throw new Error('internal error: inventory needs the artifacts');
    const up = s.hosts.find((h) => h.roles.includes('upstream'))!;
    const text = renderInventory({
      inventoryPath: s.files.inventory,
      hosts: s.hosts.filter((h) => h.inInventory).map((h) => ({ name: h.name, address: h.address, roles: h.roles })),
      upstream: { name: up.name, address: up.address, roles: up.roles },
      artifacts: s.artifacts,
      sshKey: s.files.sshKey,
      knownHosts: s.files.knownHosts,
      dashboardSecret: s.files.dashboardSecret,
      adminPassword: s.files.adminPassword,
    });
    const tmp = `${s.files.inventory}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, s.files.inventory);
  }

  // -------------------------------------------------------------------------------------------
  // Health assessment

  private hostMembership(h: HostState): Membership {
    const net = nsFileId(h.netnsPath, 'net');
    const mnt = nsFileId(h.mountNs, 'mnt');
    return { netNs: new Set(net ? [net] : []), mntNs: new Set(mnt ? [mnt] : []), cgroupParents: [h.cgroupParent] };
  }

  /** A recorded PID is ours only if it is alive and still inside the host's network namespace. */
  private ownedAlive(h: HostState, pid: number | undefined): boolean {
    if (!isAlive(pid)) return false;
    const net = nsFileId(h.netnsPath, 'net');
    return net !== undefined && procNs(pid!, 'net') === net;
  }

  private async assess(s: LabState): Promise<
    | { kind: 'healthy'; reasons: string[] }
    | { kind: 'repairable'; reasons: string[]; restart: string[]; reconnect: string[] }
    | { kind: 'stale'; reasons: string[] }
  > {
    const reasons: string[] = [];
    if (!linkExists(s.bridge)) return { kind: 'stale', reasons: [`bridge ${s.bridge} is missing`] };
    if (!linkAdminUp(s.bridge)) return { kind: 'stale', reasons: [`bridge ${s.bridge} is down`] };
    for (const h of s.hosts) {
      if (!nsFileId(h.netnsPath, 'net')) return { kind: 'stale', reasons: [`network namespace ${h.netns} is missing`] };
      if (!nsFileId(h.mountNs, 'mnt')) return { kind: 'stale', reasons: [`mount namespace ${h.mountNs} is missing`] };
      if (!nsFileId(h.utsNs, 'uts')) return { kind: 'stale', reasons: [`UTS namespace ${h.utsNs} is missing`] };
      if (!linkExists(h.veth)) return { kind: 'stale', reasons: [`link ${h.veth} is missing`] };
    }
    const restart: string[] = [];
    const reconnect: string[] = [];
    let anyAlive = false;
    const checks = await Promise.all(
      s.hosts.map(async (h) => {
        const sshdUp = this.ownedAlive(h, h.pids.sshd);
        const dockerdUp = this.ownedAlive(h, h.pids.dockerd);
        const echoUp = !h.roles.includes('upstream') || this.ownedAlive(h, h.pids.echo);
        const linkUp = linkAdminUp(h.veth);
        const [engine, ssh] = await Promise.all([
          dockerdUp ? engineInfo(h.dockerSocket, 2000) : Promise.resolve(undefined),
          sshdUp && linkUp ? sshBanner(h.address, 1500) : Promise.resolve(false),
        ]);
        return { h, sshdUp, dockerdUp, echoUp, linkUp, engine: engine !== undefined, ssh };
      }),
    );
    for (const c of checks) {
      const h = c.h;
      if (c.sshdUp || c.dockerdUp) anyAlive = true;
      const stopped = [
        !c.sshdUp && 'sshd',
        !c.dockerdUp && 'dockerd',
        c.dockerdUp && !c.engine && 'engine API',
        !c.echoUp && 'echo',
      ].filter((x): x is string => typeof x === 'string');
      if (h.poweredOff) {
        restart.push(h.name);
        reasons.push(`${h.name} is powered off`);
      } else if (stopped.length > 0) {
        restart.push(h.name);
        reasons.push(`${h.name}: ${stopped.join(', ')} not running`);
      } else if (c.linkUp && !c.ssh) {
        restart.push(h.name);
        reasons.push(`${h.name}: sshd does not answer`);
      }
      // A powered-off host's link is down by design (power-on raises it unless it is disconnected).
      if (h.disconnected || (!c.linkUp && !h.poweredOff)) {
        reconnect.push(h.name);
        reasons.push(`${h.name} is disconnected`);
      }
    }
    if (restart.length === 0 && reconnect.length === 0) return { kind: 'healthy', reasons };
    // Nothing alive and nothing intentionally powered off: a crashed run or a rebooted machine.
    if (!anyAlive && !s.hosts.some((h) => h.poweredOff)) {
      return { kind: 'stale', reasons: ['no lab process is running (crashed run?)'] };
    }
    return { kind: 'repairable', reasons, restart, reconnect };
  }

  // -------------------------------------------------------------------------------------------
  // down

  async down(): Promise<void> {
    await this.withOpLock('down', async () => {
      const t0 = Date.now();
      let state: LabState | undefined;
      try {
        state = loadState(this.dir);
      } catch (e) {
        this.log(`state: ${(e as Error).message}; cleaning up by prefix`);
      }
      const did = await this.teardown(state, state?.realDir ?? this.realDir, false);
      this.log(did ? `lab down in ${elapsed(t0)} ms` : 'no lab to take down');
    });
  }

  private teardown(state: LabState | undefined, realDir: string, keepClientKey: boolean): Promise<boolean> {
    return teardownLab({
      labDir: this.dir,
      realDir,
      state,
      artifactsDir: state?.artifactsDir ?? this.artifactsDir,
      keepClientKey,
      dockerdStopMs: DOCKERD_STOP_MS,
      log: (l) => this.log(l),
    });
  }

  // -------------------------------------------------------------------------------------------
  // status / info

  async info(): Promise<LabInfo | undefined> {
    let s: LabState | undefined;
    try {
      s = loadState(this.dir);
    } catch {
      return undefined;
    }
    return s && s.phase === 'ready' ? this.infoFrom(s) : undefined;
  }

  private infoFrom(s: LabState): LabInfo {
    const up = s.hosts.find((h) => h.roles.includes('upstream'));
    if (!up || !s.artifacts) throw new Error(`the lab state in ${this.dir} is incomplete; run \`lab down\` and \`lab up\``);
    return {
      dir: this.dir,
      prefix: s.prefix,
      subnet: s.subnet,
      bridge: s.bridge,
      hosts: s.hosts.filter((h) => h.inInventory).map(toLabHost),
      inventoryPath: s.files.inventory,
      sshKey: s.files.sshKey,
      knownHosts: s.files.knownHosts,
      upstream: toLabHost(up),
      artifacts: s.artifacts,
    };
  }

  async status(): Promise<LabStatus> {
    const s = loadState(this.dir);
    if (!s) return { dir: this.dir, state: 'absent', hosts: [] };
    const hosts = await Promise.all(s.hosts.map((h) => this.hostStatus(h)));
    return {
      dir: this.dir,
      state: s.phase,
      prefix: s.prefix,
      subnet: s.subnet,
      bridge: s.bridge,
      bridgeUp: linkExists(s.bridge) && linkAdminUp(s.bridge),
      hosts,
    };
  }

  private async hostStatus(h: HostState): Promise<HostStatus> {
    const netId = nsFileId(h.netnsPath, 'net');
    const exists = netId !== undefined && nsFileId(h.mountNs, 'mnt') !== undefined && linkExists(h.veth);
    const link: HostStatus['link'] = !linkExists(h.veth) ? 'missing' : linkAdminUp(h.veth) ? 'up' : 'down';
    const sshdAlive = this.ownedAlive(h, h.pids.sshd);
    const engineAlive = this.ownedAlive(h, h.pids.dockerd);
    const [sshd, engine] = await Promise.all([
      sshdAlive && link === 'up' ? sshBanner(h.address, 1500) : Promise.resolve(false),
      engineAlive ? engineInfo(h.dockerSocket, 2000) : Promise.resolve(undefined),
    ]);
    let containers: ContainerSummary[] = [];
    if (engine) {
      try {
        containers = await engineContainers(h.dockerSocket);
      } catch {
        /* engine went away between calls */
      }
    }
    const rss = { sshd: 0, dockerd: 0, containerd: 0, total: 0 };
    if (exists) {
      for (const p of findMembers({ netNs: new Set([netId]), mntNs: new Set(), cgroupParents: [] })) {
        if (p.comm === 'sshd') rss.sshd += procRssKiB(p.pid);
        else if (p.comm === 'dockerd') rss.dockerd += procRssKiB(p.pid);
        else if (p.comm === 'containerd') rss.containerd += procRssKiB(p.pid);
      }
      rss.total = rss.sshd + rss.dockerd + rss.containerd;
    }
    return {
      name: h.name,
      address: h.address,
      roles: [...h.roles],
      exists,
      link,
      sshd,
      engine: engine !== undefined,
      ...(h.roles.includes('upstream') ? { echo: this.ownedAlive(h, h.pids.echo) } : {}),
      poweredOff: h.poweredOff,
      disconnected: h.disconnected,
      containers,
      rssKiB: rss,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Faults

  private readyState(): LabState {
    const s = loadState(this.dir);
    if (!s || s.phase !== 'ready') throw new Error(`no lab is up in ${this.dir}; run \`lab up\` first`);
    const holder = lockHolder(path.join(this.dir, 'lab.lock'));
    if (holder !== undefined && holder !== process.pid) {
      throw new Error(`lab ${this.dir} is busy (\`up\` or \`down\` running as process ${holder}); try again when it finishes`);
    }
    return s;
  }

  private host(s: LabState, name: string): HostState {
    try {
      assertHostName(name);
    } catch (e) {
      throw new LabUsageError((e as Error).message);
    }
    const h = s.hosts.find((x) => x.name === name);
    if (!h) throw new LabUsageError(`unknown host ${name}; the lab's hosts are ${s.hosts.map((x) => x.name).join(', ')}`);
    return h;
  }

  /**
   * The host stops abruptly: its NIC goes dark (peers see timeouts, as with a dead server, not
   * connection resets) and every process of the host gets SIGKILL at once (sshd, dockerd,
   * containerd, shims, containers). Its files and mount namespace persist, as a disk does.
   */
  async powerOff(name: string): Promise<void> {
    const s = this.readyState();
    const h = this.host(s, name);
    const t0 = Date.now();
    // Recorded first: a power-off cut short half-way is still undone by power-on.
    updateHost(this.dir, name, (x) => {
      x.poweredOff = true;
    });
    await runOk(ip.linkDown(h.veth), { context: `power-off ${name}` });
    const killed = await killMembers(this.hostMembership(h));
    updateHost(this.dir, name, (x) => {
      x.pids = {};
    });
    this.log(`${name}: powered off (${killed} processes killed) in ${elapsed(t0)} ms`);
  }

  /** Boot the host again: fresh /run, sshd and dockerd (restart-policy containers come back), echo. */
  async powerOn(name: string): Promise<void> {
    const s = this.readyState();
    const h = this.host(s, name);
    // A host that is on stays as it is: a drill's rollback may run after an injection that never
    // happened, and must not reboot a healthy host.
    if (!h.poweredOff) {
      this.log(`${name}: already powered on`);
      return;
    }
    await this.powerOnHost(h.name, true);
  }

  private async powerOnHost(name: string, log: boolean): Promise<void> {
    const s = loadState(this.dir)!;
    const h = s.hosts.find((x) => x.name === name)!;
    const t0 = Date.now();
    // A half-dead host (e.g. dockerd crashed, sshd alive) is power-cycled as a whole.
    await killMembers(this.hostMembership(h));
    // A reboot empties /run: stale pid files, sockets and containerd state go (like a tmpfs).
    wipeRunDir(h);
    this.startDaemons(h);
    if (h.roles.includes('upstream')) this.startEcho(s, h);
    updateHost(this.dir, name, (x) => {
      x.pids = { ...h.pids };
      x.poweredOff = false;
    });
    if (!h.disconnected) await runOk(ip.linkUp(h.veth));
    await this.waitHostReady(h, !h.disconnected);
    if (h.roles.includes('upstream') && !h.disconnected) await this.waitEcho(h);
    if (log) this.log(`${name}: powered on in ${elapsed(t0)} ms`);
  }

  /** Cut the host off the network (its veth goes down); processes keep running. */
  async disconnect(name: string): Promise<void> {
    const s = this.readyState();
    const h = this.host(s, name);
    await runOk(ip.linkDown(h.veth), { context: `disconnect ${name}` });
    updateHost(this.dir, name, (x) => {
      x.disconnected = true;
    });
    this.log(`${name}: disconnected`);
  }

  async reconnect(name: string): Promise<void> {
    const s = this.readyState();
    const h = this.host(s, name);
    if (!h.poweredOff) await runOk(ip.linkUp(h.veth), { context: `reconnect ${name}` });
    updateHost(this.dir, name, (x) => {
      x.disconnected = false;
    });
    this.log(`${name}: reconnected${h.poweredOff ? ' (still powered off: its link comes up at power-on)' : ''}`);
  }

  /** Run argv inside a host's namespaces (no ssh), with DOCKER_HOST set to the host's engine. */
  async hostExec(name: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const s = loadState(this.dir);
    if (!s) throw new Error(`no lab in ${this.dir}; run \`lab up\` first`);
    const h = this.host(s, name);
    if (argv.length === 0 || argv[0] === '') throw new LabUsageError('hostExec needs a command');
    if (!nsFileId(h.netnsPath, 'net') || !nsFileId(h.mountNs, 'mnt')) throw new Error(`host ${name} does not exist (lab down?)`);
    return run(nsenter(nsPaths(h), argv), {
      env: baseEnv({ DOCKER_HOST: `unix://${h.dockerSocket}` }),
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
  }

  /** argv for the system ssh client with the lab key and pinned host keys. */
  sshArgv(name: string, remote: string[] = [], opts: { batch?: boolean } = {}): string[] {
    const s = loadState(this.dir);
    if (!s || s.phase !== 'ready') throw new Error(`no lab is up in ${this.dir}; run \`lab up\` first`);
    const h = this.host(s, name);
    return [...sshClient({ identityFile: s.files.sshKey, knownHosts: s.files.knownHosts, address: h.address, batch: opts.batch ?? false }, remote)];
  }

  // -------------------------------------------------------------------------------------------

  /** One `up` or `down` at a time per lab directory (across processes). */
  private async withOpLock<T>(what: string, fn: () => Promise<T>): Promise<T> {
    fs.mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, 'lab.lock');
    if (!tryLock(file)) {
      throw new Error(`cannot ${what}: lab ${this.dir} is busy (process ${lockHolder(file) ?? '?'} holds ${file})`);
    }
    try {
      return await fn();
    } finally {
      unlock(file);
      // `down` of a lab dir that only held the lab (not the shared artifact cache): leave no dir.
      if (what === 'down') {
        try {
          fs.rmdirSync(this.dir);
        } catch {
          /* not empty (artifacts) or already gone */
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Faults as functions (drills import these)

export async function powerOff(host: string, opts: LabOptions = {}): Promise<void> {
  await new Lab(opts).powerOff(host);
}

export async function powerOn(host: string, opts: LabOptions = {}): Promise<void> {
  await new Lab(opts).powerOn(host);
}

export async function disconnect(host: string, opts: LabOptions = {}): Promise<void> {
  await new Lab(opts).disconnect(host);
}

export async function reconnect(host: string, opts: LabOptions = {}): Promise<void> {
  await new Lab(opts).reconnect(host);
}

export { DEFAULT_GATEWAYS, MAX_GATEWAYS, MIN_GATEWAYS };
export type { Role };
