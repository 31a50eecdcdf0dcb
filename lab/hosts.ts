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
import { engineInfo, sshBanner, tcpProbe, waitUntil } from './probe';
import { isAlive } from './procs';
import type { HostState, LabState } from './state';
import { HIDDEN_MACHINE_PATHS, OVERLAY_PATHS } from './topology';
import { elapsed } from './types';

const ENGINE_READY_MS = 90_000;
const SSHD_READY_MS = 30_000;

export function nsPaths(h: HostState): NsPaths {
  return { net: h.netnsPath, mnt: h.mountNs, uts: h.utsNs };
}

/** [mount point in the host, per-host source dir] for the fixed /run paths the engine uses. */
export function hostRunBinds(h: HostState): [string, string][] {
  return [
    ['/run/containerd', path.join(h.dirs.run, 'sys', 'containerd')],
    ['/run/docker', path.join(h.dirs.run, 'sys', 'docker')],
  ];
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


/** Root side of every host's network: its namespace and its veth on the bridge (one ip process). */
export async function createLinks(s: LabState): Promise<void> {
  const b = ipBatch(
    s.hosts.flatMap((h) => [ip.netnsAdd(h.netns), ip.vethAdd(h.veth, h.ifname, h.netns), ip.linkMaster(h.veth, s.bridge), ip.linkUp(h.veth)]),
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

  const b = ipBatch([ip.addrAdd(h.ifname, `${h.address}/24`), ip.linkUp(h.ifname), ip.linkUp('lo')], { ns: h.netns });
  await runOk(b.argv, { input: b.input, context: `host ${h.name}: network` });

  // Files the host starts with, written into the overlay upper dirs before mounting.
  seedUpperFiles(s, h);
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
      address: h.address,
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
export function startDaemons(h: HostState): void {
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

export function startEcho(s: LabState, h: HostState): void {
  const bin = s.artifacts?.standinBinary;
  if (!bin || !fs.existsSync(bin)) throw new Error(`the stand-in binary ${bin ?? '(unknown)'} is missing; rebuild the artifacts`);
  h.pids.echo = spawnDaemon(nsenter(nsPaths(h), [bin, 'echo', '--listen', `${h.address}:80`]), path.join(h.dirs.logs, 'echo.log'), baseEnv());
}

export async function waitEcho(h: HostState): Promise<void> {
  await waitUntil(`host ${h.name}: echo upstream on ${h.address}:80`, () => tcpProbe(h.address, 80, 500), {
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
      ? waitUntil(`host ${h.name}: sshd on ${h.address}:22`, () => sshBanner(h.address, 1000), {
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
