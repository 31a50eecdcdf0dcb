/**
 * Building and booting one lab host: its links, address, overlays and namespaces (createHost), its
 * daemons (sshd, dockerd; the upstream's echo), readiness waits, and the host-to-host reachability check.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BIN,
  ENGINE_PATH,
  bindEntry,
  dbusSystemArgv,
  firewalldArgv,
  dockerdArgv,
  etcHosts,
  ip,
  ipBatch,
  mountAll,
  nsenter,
  overlayEntry,
  renderFstab,
  setHostname,
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
import { baseEnv, run, runOk, spawnDaemon, tailFile } from './exec';
import { rmrf } from './locations';
import { engineInfo, listensIn, tcpProbe, waitUntil } from './probe';
import { isAlive } from './procs';
import type { HostState, LabState } from './state';
import { HIDDEN_MACHINE_PATHS, OVERLAY_PATHS } from './topology';
import { COMPOSE_PLUGIN_PATH, COMPOSE_V1_PATH, OTHER_COMPOSE_PLUGIN_PATHS } from './tools';
import { elapsed } from './types';

const ENGINE_READY_MS = 90_000;
const SSHD_READY_MS = 30_000;
const FIREWALLD_READY_MS = 60_000;

export function nsPaths(h: HostState): NsPaths {
  return { net: h.netnsPath, mnt: h.mountNs, uts: h.utsNs };
}

/** [mount point in the host, per-host source dir] for the fixed /run paths the engine (and firewalld) use. */
export function hostRunBinds(h: HostState): [string, string][] {
  return [
    ['/run/containerd', path.join(h.dirs.run, 'sys', 'containerd')],
    ['/run/docker', path.join(h.dirs.run, 'sys', 'docker')],
    // The host's own system bus and firewalld state, where it runs firewalld.
    ...(h.firewalld
      ? ([
          ['/run/dbus', path.join(h.dirs.run, 'sys', 'dbus')],
          ['/run/firewalld', path.join(h.dirs.run, 'sys', 'firewalld')],
        ] as [string, string][])
      : []),
  ];
}

/** The address of `target` that `from` reaches (its own on a shared bridge; behind a bastion, the inner one). */
export function addressSeenFrom(from: HostState, target: HostState): string {
  if (target.bridge === from.bridge) return target.address;
  return target.inner?.address ?? target.address;
}

/**
 * Empty the host's /run as a reboot would. The bind sources of hostRunBinds are mounted inside the
 * host, so they are emptied rather than replaced (a new directory would not be the mounted one).
 */
export function wipeRunDir(h: HostState): void {
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


/** Root side of every host's network: its namespace and its veths on the bridges (one ip process). */
export async function createLinks(s: LabState): Promise<void> {
  const b = ipBatch(
    s.hosts.flatMap((h) => [
      ip.netnsAdd(h.netns),
      ip.vethAdd(h.veth, h.ifname, h.netns),
      ip.linkMaster(h.veth, h.bridge),
      ip.linkUp(h.veth),
      ...(h.inner && s.inner ? [ip.vethAdd(h.inner.veth, h.inner.ifname, h.netns), ip.linkMaster(h.inner.veth, s.inner.bridge), ip.linkUp(h.inner.veth)] : []),
    ]),
  );
  await runOk(b.argv, { input: b.input, context: 'creating the hosts\' namespaces and links' });
}

/** Inside one host: address, overlays, hostname, host key and sshd config (no daemons yet). */
export async function createHost(log: (line: string) => void, s: LabState, h: HostState): Promise<void> {
  const t0 = Date.now();
  for (const d of [h.dirs.base, h.dirs.upper, h.dirs.work, h.dirs.dockerData, h.dirs.logs, h.dirs.run]) {
    fs.mkdirSync(d, { recursive: true });
  }
  fs.chmodSync(h.dirs.dockerData, 0o710);

  const b = ipBatch(
    [
      ip.addrAdd(h.ifname, `${h.address}/24`),
      ip.linkUp(h.ifname),
      ...(h.inner ? [ip.addrAdd(h.inner.ifname, `${h.inner.address}/24`), ip.linkUp(h.inner.ifname)] : []),
      ip.linkUp('lo'),
    ],
    { ns: h.netns },
  );
  await runOk(b.argv, { input: b.input, context: `host ${h.name}: network` });

  // Files the host starts with, written into the overlay upper dirs before mounting.
  seedUpperFiles(s, h);
  // Machine state a fresh server would not have is hidden with overlay whiteouts (a 0/0 character
  // device in the upper dir). Without this, a key.json that any engine started on the machine
  // leaves in /etc/docker would give every host the same engine identity (and a daemon.json
  // there would configure every host's engine).
  for (const p of [...HIDDEN_MACHINE_PATHS, ...hiddenPrograms(s)]) {
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
  if (r.code !== 0 && !/not mounted|no mount point/i.test(r.stderr)) log(`host ${h.name}: dropping inherited nsfs mounts: ${r.stderr.trim()}`);

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
      addresses: [h.address, ...(h.inner ? [h.inner.address] : [])],
      port: h.sshPort,
      hostKey: h.files.hostKey,
      pidFile: h.files.sshdPid,
      authorizedKeys: s.files.authorizedKeys,
      dockerSocket: h.dockerSocket,
      sftpServer: fs.existsSync(BIN.sftpServer) ? BIN.sftpServer : 'internal-sftp',
    }),
  );
  log(`host ${h.name}: ${h.address} namespaces and overlays ready (${elapsed(t0)} ms)`);
}

function seedUpperFiles(s: LabState, h: HostState): void {
  const etc = path.join(h.dirs.upper, 'etc');
  fs.mkdirSync(etc, { recursive: true });
  fs.writeFileSync(path.join(etc, 'hostname'), `${h.name}\n`);
  let machineHosts = '127.0.0.1 localhost\n';
  try {
    machineHosts = fs.readFileSync('/etc/hosts', 'utf8');
  } catch {
    /* keep the minimal default */
  }
  fs.writeFileSync(path.join(etc, 'hosts'), etcHosts(machineHosts, s.hosts.map((x) => ({ address: addressSeenFrom(h, x), name: x.name })), h.name));
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
  // The compose v2 plugin, where a package install puts it (a link to the one build, not a copy per host).
  if (s.shape.compose !== 'v1') {
    if (!s.tools.composePlugin) throw new Error('internal error: the compose plugin was not prepared');
    const plugin = path.join(h.dirs.upper, COMPOSE_PLUGIN_PATH);
    fs.mkdirSync(path.dirname(plugin), { recursive: true });
    rmrf(plugin);
    fs.symlinkSync(s.tools.composePlugin, plugin);
  }
  if (h.firewalld) seedFirewalld(s, h);
}

/** Programs of the machine the hosts must not have: docker-compose v1 on plugin-only hosts, a plugin on v1-only ones. */
function hiddenPrograms(s: LabState): string[] {
  const hide: string[] = [];
  if (s.shape.compose === 'plugin') hide.push(COMPOSE_V1_PATH);
  if (s.shape.compose === 'v1') hide.push(COMPOSE_PLUGIN_PATH);
  if (s.shape.compose !== 'both') hide.push(...OTHER_COMPOSE_PLUGIN_PATHS);
  return hide.filter((p) => fs.existsSync(p));
}

/**
 * firewalld as `apt-get install firewalld` leaves it on this host only: its package's files in the
 * host's /etc and /usr (the machine has its Python modules and D-Bus). Its default zone (public)
 * lets SSH in and nothing else, as on a fresh server; with sshd on another port, that port is opened
 * too, as the operator who moved sshd would have.
 */
function seedFirewalld(s: LabState, h: HostState): void {
  const tree = s.tools.firewalldTree;
  if (!tree) throw new Error('internal error: firewalld was not prepared');
  for (const top of ['etc', 'usr']) fs.cpSync(path.join(tree, top), path.join(h.dirs.upper, top), { recursive: true, force: true });
  if (h.sshPort !== 22) {
    const zones = path.join(h.dirs.upper, 'etc', 'firewalld', 'zones');
    fs.mkdirSync(zones, { recursive: true });
    fs.writeFileSync(
      path.join(zones, 'public.xml'),
      `<?xml version="1.0" encoding="utf-8"?>\n<zone>\n  <short>Public</short>\n  <service name="ssh"/>\n  <service name="dhcpv6-client"/>\n  <port protocol="tcp" port="${h.sshPort}"/>\n</zone>\n`,
    );
  }
}

/**
 * Start the host's daemons inside it (its net + mount + UTS namespaces), in a server's boot order:
 * D-Bus and firewalld first where it runs (docker.service is ordered after firewalld.service), then
 * dockerd and sshd.
 */
export async function startDaemons(h: HostState): Promise<void> {
  fs.mkdirSync(h.dirs.run, { recursive: true });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation dir
  const ns = nsPaths(h);
  if (h.firewalld) {
    h.pids.dbus = spawnDaemon(nsenter(ns, dbusSystemArgv()), path.join(h.dirs.logs, 'dbus.log'), baseEnv());
    h.pids.firewalld = spawnDaemon(nsenter(ns, firewalldArgv()), path.join(h.dirs.logs, 'firewalld.log'), baseEnv());
    await waitFirewalld(h);
  }
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

export function startEcho(s: LabState, h: HostState): void {
  const bin = s.artifacts?.standinBinary;
  if (!bin || !fs.existsSync(bin)) throw new Error(`the stand-in binary ${bin ?? '(unknown)'} is missing; rebuild the artifacts`);
  h.pids.echo = spawnDaemon(nsenter(nsPaths(h), [bin, 'echo', '--listen', `${h.address}:80`]), path.join(h.dirs.logs, 'echo.log'), baseEnv());
}

/**
 * Is the host's `port` answering? From the machine when it has a route to the host; behind the bastion,
 * whether the port listens in the namespace of the host's process `pid`.
 */
export function hostAnswers(h: HostState, port: number, pid: number | undefined, timeoutMs: number, banner?: string): Promise<boolean> {
  if (!h.routed) return Promise.resolve(listensIn(pid, port));
  return banner ? tcpProbe(h.address, port, timeoutMs, banner) : tcpProbe(h.address, port, timeoutMs);
}

export const sshAnswers = (h: HostState, timeoutMs: number): Promise<boolean> => hostAnswers(h, h.sshPort, h.pids.sshd, timeoutMs, 'SSH-2.0-');

/** firewalld answers on its (the host's) system bus. */
async function firewalldRunning(h: HostState): Promise<boolean> {
  const r = await run(nsenter(nsPaths(h), ['firewall-cmd', '--state']), { timeoutMs: 5000 });
  return r.code === 0 && r.stdout.trim() === 'running';
}

function waitFirewalld(h: HostState): Promise<void> {
  return waitUntil(`host ${h.name}: firewalld`, () => firewalldRunning(h), {
    timeoutMs: FIREWALLD_READY_MS,
    intervalMs: 500,
    whyNot: () => `${tailFile(path.join(h.dirs.logs, 'firewalld.log'))}\n${tailFile(path.join(h.dirs.logs, 'dbus.log'))}`,
    abort: () => (isAlive(h.pids.firewalld) ? undefined : 'firewalld exited'),
  });
}

export async function waitEcho(h: HostState): Promise<void> {
  await waitUntil(`host ${h.name}: echo upstream on ${h.address}:80`, () => hostAnswers(h, 80, h.pids.echo, 500), {
    timeoutMs: 15_000,
    whyNot: () => tailFile(path.join(h.dirs.logs, 'echo.log')),
    abort: () => (isAlive(h.pids.echo) ? undefined : 'the echo process exited'),
  });
}

export async function waitHostReady(log: (line: string) => void, h: HostState, checkSsh = true): Promise<void> {
  const t0 = Date.now();
  await Promise.all([
    waitUntil(`host ${h.name}: docker engine on ${h.dockerSocket}`, async () => (await engineInfo(h.dockerSocket, 2000)) !== undefined, {
      timeoutMs: ENGINE_READY_MS,
      intervalMs: 150,
      whyNot: () => tailFile(path.join(h.dirs.logs, 'dockerd.log')),
      abort: () => (isAlive(h.pids.dockerd) ? undefined : 'dockerd exited'),
    }),
    checkSsh
      ? waitUntil(`host ${h.name}: sshd on ${h.address}:${h.sshPort}`, () => sshAnswers(h, 1000), {
          timeoutMs: SSHD_READY_MS,
          whyNot: () => tailFile(path.join(h.dirs.logs, 'sshd.log')),
          abort: () => (isAlive(h.pids.sshd) ? undefined : 'sshd exited'),
        })
      : Promise.resolve(),
  ]);
  log(`host ${h.name}: sshd and engine ready (${elapsed(t0)} ms)`);
}

/**
 * Hosts must reach each other, not only the machine: bridged traffic between veths passes the
 * machine's iptables FORWARD chain when br_netfilter is active, so a DROP policy set by some other
 * engine on the machine would silently cut host-to-host traffic (etcd peers, gateways to etcd).
 * Probe every host's sshd from the first host, with a tiny Node script run inside its namespace.
 */
export async function checkHostToHost(s: LabState): Promise<void> {
  const from = s.hosts[0]!;
  const targets = s.hosts.slice(1).map((h) => `${addressSeenFrom(from, h)}:${h.sshPort}`);
  const script =
    "const net=require('net');let bad=[];let n=process.argv.length-1;" +
    "for(const a of process.argv.slice(1)){const [h,p]=a.split(':');const c=net.connect({host:h,port:Number(p)});" +
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
          [s.bridge, ...(s.inner ? [s.inner.bridge] : [])].map((b) => `iptables -I FORWARD -i ${b} -o ${b} -j ACCEPT`).join('; ');
      }
    } catch {
      /* no br_netfilter */
    }
    throw new Error(`host ${from.name} cannot reach sshd on: ${r.stdout.trim() || r.stderr.trim()}${hint}`);
  }
}
