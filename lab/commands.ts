/**
 * Commands as data: every external program the lab runs is built here as an argv array (never a
 * shell string), and every config file it writes is rendered here. No I/O, so tests can assert the
 * exact commands and a reader can see in one place what the lab does to the machine.
 */
import { IFNAME_MAX } from './topology';

export const BIN = {
  ip: 'ip',
  nsenter: 'nsenter',
  unshare: 'unshare',
  mount: 'mount',
  umount: 'umount',
  hostname: 'hostname',
  sshd: '/usr/sbin/sshd',
  sshKeygen: 'ssh-keygen',
  ssh: 'ssh',
  dockerd: '/usr/sbin/dockerd',
  /** Debian's 20.10 client, matching the engines (/usr/local/bin/docker may be another version). */
  docker: '/usr/bin/docker',
  sftpServer: '/usr/lib/openssh/sftp-server',
  busybox: 'busybox',
} as const;

/** PATH for everything the lab spawns: Debian's binaries, deterministic regardless of the caller. */
export const LAB_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** PATH for the engines: /usr/local is per host (a deploy may drop binaries there), so prefer Debian's containerd/runc. */
export const ENGINE_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

export type Argv = readonly string[];

function assertIfname(name: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.length > IFNAME_MAX) throw new Error(`bad interface name ${JSON.stringify(name)}`);
}

// ---------------------------------------------------------------------------------------------
// ip(8)

export const ip = {
  addrList: (): Argv => [BIN.ip, '-4', '-o', 'addr', 'show'],
  routeList: (): Argv => [BIN.ip, '-4', 'route', 'show'],
  /** Behind the bastion: the machine answers "no route to host" itself, instead of sending the
   *  packets out of its default route to whatever network that is. */
  routeUnreachable: (cidr: string): Argv => [BIN.ip, 'route', 'add', 'unreachable', cidr],
  routeUnreachableDel: (cidr: string): Argv => [BIN.ip, 'route', 'del', 'unreachable', cidr],
  linkList: (): Argv => [BIN.ip, '-o', 'link', 'show'],
  bridgeAdd: (br: string): Argv => (assertIfname(br), [BIN.ip, 'link', 'add', br, 'type', 'bridge']),
  /** The bridge's alias records which lab directory owns the prefix (guards against prefix collisions). */
  linkAlias: (link: string, alias: string): Argv => [BIN.ip, 'link', 'set', 'dev', link, 'alias', alias],
  addrAdd: (link: string, cidr: string): Argv => [BIN.ip, 'addr', 'add', cidr, 'dev', link],
  linkUp: (link: string): Argv => [BIN.ip, 'link', 'set', 'dev', link, 'up'],
  linkDown: (link: string): Argv => [BIN.ip, 'link', 'set', 'dev', link, 'down'],
  linkDel: (link: string): Argv => [BIN.ip, 'link', 'del', 'dev', link],
  netnsAdd: (ns: string): Argv => [BIN.ip, 'netns', 'add', ns],
  netnsDel: (ns: string): Argv => [BIN.ip, 'netns', 'del', ns],
  /** Root end keeps `veth`; the peer is created directly inside the host's namespace as `ifname`. */
  vethAdd: (veth: string, ifname: string, ns: string): Argv => {
    assertIfname(veth);
    assertIfname(ifname);
    return [BIN.ip, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns];
  },
  linkMaster: (link: string, br: string): Argv => [BIN.ip, 'link', 'set', 'dev', link, 'master', br],
};

/**
 * Many ip(8) commands in one process (`ip [-n NS] [-force] -batch -`): host creation is dominated by process
 * start-up on a busy 2-core machine, so each host's in-namespace setup is one spawn, and the
 * root-side setup of all hosts is another. Each argv must be a plain `ip ...` command built above.
 */
export function ipBatch(commands: readonly Argv[], opts: { ns?: string; force?: boolean } = {}): { argv: Argv; input: string } {
  const lines = commands.map((c) => {
    if (c[0] !== BIN.ip || c[1] === '-n' || c.slice(1).some((t) => t === '' || /\s/.test(t))) {
      throw new Error(`not a batchable ip command: ${c.join(' ')}`);
    }
    return c.slice(1).join(' ');
  });
  // -force: carry on past a failing line (teardown of a half-built lab); the default stops at the first.
  const argv = [BIN.ip, ...(opts.ns ? ['-n', opts.ns] : []), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  return { argv, input: `${lines.join('\n')}\n` };
}

/** Root-side links whose name starts with the lab prefix, from `ip -o link show`. */
export function parseLinkNames(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)(?:@[^:\s]+)?:/.exec(line);
    if (m) names.push(m[1]!);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Namespaces and mounts

export interface NsPaths {
  /** /run/netns/<name> */
  net: string;
  /** Bind-mounted mount-namespace file. */
  mnt: string;
  /** Bind-mounted UTS-namespace file (own hostname). */
  uts: string;
}

/**
 * Run argv inside a host: its network, mount and UTS namespaces. Only these three are entered;
 * `ip netns exec` would also remount /sys and hide the cgroup mounts dockerd needs.
 */
export function nsenter(ns: Partial<NsPaths>, argv: Argv): Argv {
  const flags: string[] = [];
  if (ns.net) flags.push(`--net=${ns.net}`);
  if (ns.mnt) flags.push(`--mount=${ns.mnt}`);
  if (ns.uts) flags.push(`--uts=${ns.uts}`);
  return [BIN.nsenter, ...flags, '--', ...argv];
}

/**
 * Create persistent mount + UTS namespaces bound to files. `--propagation private` makes every
 * mount in the new namespace private, so nothing we mount or unmount there propagates back to
 * the machine (and nothing the machine mounts later shows up in the host).
 */
export function unshareMountUts(mntFile: string, utsFile: string): Argv {
  return [BIN.unshare, `--mount=${mntFile}`, `--uts=${utsFile}`, '--propagation', 'private', 'true'];
}

export interface FstabEntry {
  source: string;
  target: string;
  type: string;
  options: string;
}

export function overlayEntry(lower: string, upper: string, work: string): FstabEntry {
  return { source: 'overlay', target: lower, type: 'overlay', options: `lowerdir=${lower},upperdir=${upper},workdir=${work}` };
}

export function bindEntry(source: string, target: string): FstabEntry {
  return { source, target, type: 'none', options: 'bind' };
}

/**
 * A host's mounts as an fstab, mounted in order by one `mount --all --fstab FILE` inside its mount
 * namespace (one process instead of one per mount). Fields are whitespace-separated, so no field
 * may contain whitespace (paths are validated by topology.assertSafePath).
 */
export function renderFstab(host: string, entries: readonly FstabEntry[]): string {
  for (const e of entries) {
    for (const f of [e.source, e.target, e.type, e.options]) {
      if (f === '' || /\s|#/.test(f)) throw new Error(`fstab field ${JSON.stringify(f)} is empty or has whitespace`);
    }
  }
  return [
    `# Mounts of lab host ${host}, made inside its mount namespace by \`mount --all --fstab\`.`,
    ...entries.map((e) => `${e.source} ${e.target} ${e.type} ${e.options} 0 0`),
    '',
  ].join('\n');
}

/**
 * An overlayfs whiteout (character device 0/0) in an upper dir hides the lower entry of that name.
 * A directory later created at that path through the overlay is opaque: it shows nothing below.
 */
export function whiteout(upperPath: string): Argv {
  return ['mknod', '-m', '000', upperPath, 'c', '0', '0'];
}

export function mountAll(fstab: string): Argv {
  return [BIN.mount, '--all', '--fstab', fstab];
}

/**
 * A new mount namespace starts as a copy of the machine's, including the bind mounts that keep
 * other network/mount namespaces alive (/run/netns/*, other labs' namespace files). Holding those
 * copies would keep other engineers' namespaces (and their veths) alive after they delete them, so
 * each host drops every nsfs mount right after its namespace is created.
 */
export function umountAllOfType(fstype: string): Argv {
  return [BIN.umount, '-a', '-l', '-t', fstype];
}

/** Detach `target` and everything mounted beneath it (lazily: a busy mount goes when released). */
export function umountRecursive(target: string): Argv {
  return [BIN.umount, '--recursive', '--lazy', target];
}

/** Make `dir` a mount point of its own with private propagation (like ip-netns does for /run/netns). */
export function bindSelf(dir: string): Argv {
  return [BIN.mount, '--bind', dir, dir];
}

export function makePrivate(dir: string): Argv {
  return [BIN.mount, '--make-private', dir];
}

export function setHostname(name: string): Argv {
  return [BIN.hostname, name];
}

// ---------------------------------------------------------------------------------------------
// ssh

export function sshKeygen(file: string, comment: string): Argv {
  return [BIN.sshKeygen, '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file];
}

export interface SshdConfigInput {
  host: string;
  /** Every address of the host (a host on two bridges listens on both). */
  addresses: string[];
  port: number;
  hostKey: string;
  pidFile: string;
  authorizedKeys: string;
  dockerSocket: string;
  sftpServer: string;
}

export function sshdConfig(c: SshdConfigInput): string {
  return [
    `# Written by the api7-ha lab for host ${c.host}; regenerated by \`lab up\`.`,
    `Port ${c.port}`,
    ...c.addresses.map((a) => `ListenAddress ${a}`),
    'AddressFamily inet',
    `HostKey ${c.hostKey}`,
    `PidFile ${c.pidFile}`,
    // Key auth only, root allowed (the runbook's operator logs in as a sudoer; the lab as root). The
    // lab's key works for every account; a user's own ~/.ssh/authorized_keys too, as on any server.
    `AuthorizedKeysFile ${c.authorizedKeys} .ssh/authorized_keys`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // PAM's session modules (pam_loginuid) fail inside namespaces; nothing here needs PAM.
    'UsePAM no',
    // The key files live in the lab directory, whose parents the lab does not control.
    'StrictModes no',
    // A pooled client opens many channels per connection and several connections at once.
    'MaxStartups 50',
    'MaxSessions 50',
    // Sessions talk to this host's engine, not the machine's.
    `SetEnv DOCKER_HOST=unix://${c.dockerSocket}`,
    `Subsystem sftp ${c.sftpServer}`,
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'LogLevel INFO',
    '',
  ].join('\n');
}

/** sshd in the foreground (`-D`) so the PID we spawn is the listener's; logs to stderr (`-e`). */
export function sshdArgv(configFile: string): Argv {
  return [BIN.sshd, '-D', '-e', '-f', configFile];
}

export interface SshClientInput {
  identityFile: string;
  knownHosts: string;
  address: string;
  port?: number;
  user?: string;
  batch?: boolean;
  connectTimeoutSec?: number;
  /** Reach the host through this jump host (its key checked against the same known_hosts). */
  jump?: { address: string; port: number; user?: string };
}

/** The options every lab ssh client uses: the lab key only, pinned host keys, no prompts. */
function sshOptions(c: SshClientInput): string[] {
  return [
    '-i', c.identityFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${c.knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', `ConnectTimeout=${c.connectTimeoutSec ?? 5}`,
    '-o', 'LogLevel=ERROR',
    ...(c.batch ? ['-o', 'BatchMode=yes'] : []),
  ];
}

/**
 * The system ssh client. Through a jump host, a ProxyCommand rather than ProxyJump: ProxyJump's hop
 * would read ~/.ssh/config instead of these options (the lab key, the lab's known_hosts).
 */
export function sshClient(c: SshClientInput, remote: readonly string[] = []): Argv {
  const proxy = c.jump ? [BIN.ssh, ...sshOptions(c), '-p', String(c.jump.port), '-W', '%h:%p', `${c.jump.user ?? c.user ?? 'root'}@${c.jump.address}`] : undefined;
  return [
    BIN.ssh,
    ...sshOptions(c),
    ...(proxy ? ['-o', `ProxyCommand=${proxy.join(' ')}`] : []),
    '-p', String(c.port ?? 22),
    `${c.user ?? 'root'}@${c.address}`,
    ...(remote.length > 0 ? ['--', ...remote] : []),
  ];
}

// ---------------------------------------------------------------------------------------------
// firewalld (on the hosts that run it) and the D-Bus system bus it needs

/** The system bus in the foreground; its socket is the host's own /run/dbus (a per-host bind). */
export function dbusSystemArgv(): Argv {
  return ['dbus-daemon', '--system', '--nofork', '--nopidfile', '--nosyslog'];
}

export function firewalldArgv(): Argv {
  return ['/usr/sbin/firewalld', '--nofork', '--nopid'];
}

// ---------------------------------------------------------------------------------------------
// dockerd

export interface DockerdInput {
  socket: string;
  pidFile: string;
  dataRoot: string;
  execRoot: string;
  containerdNamespace: string;
  containerdPluginsNamespace: string;
  cgroupParent: string;
}

/**
 * One engine per host, flags after lab-recipe.md with one deliberate change: the engine manages
 * iptables (NAT) *inside the host's own network namespace*. With the recipe's --iptables=false, a
 * container on a user-defined bridge network (the runbook's compose projects create one, e.g.
 * `api7-21322091-dp_api7`) cannot reach other hosts: nothing masquerades its 172.x source and the
 * peer has no route back. The rules live in the host's namespace only; the machine's tables are not
 * touched. No docker0 (--bridge=none), vfs storage, cgroupfs + a per-host cgroup parent so that every
 * container is attributable to its host (`down` and `power-off` find container processes by cgroup,
 * including ones in their own network namespace).
 */
export function dockerdArgv(c: DockerdInput): Argv {
  return [
    BIN.dockerd,
    '--host', `unix://${c.socket}`,
    '--pidfile', c.pidFile,
    '--data-root', c.dataRoot,
    '--exec-root', c.execRoot,
    '--storage-driver', 'vfs',
    '--iptables=true',
    '--ip-masq=true',
    '--bridge=none',
    '--containerd-namespace', c.containerdNamespace,
    '--containerd-plugins-namespace', c.containerdPluginsNamespace,
    '--exec-opt', 'native.cgroupdriver=cgroupfs',
    '--cgroup-parent', c.cgroupParent,
  ];
}

// ---------------------------------------------------------------------------------------------
// Files

export function knownHostsLine(address: string, publicKey: string, port = 22): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  if (!type || !key) throw new Error(`malformed public key for ${address}`);
  return `${port === 22 ? address : `[${address}]:${port}`} ${type} ${key}`;
}

/** The host's /etc/hosts: the machine's entries, its own name, and every lab host by name. */
export function etcHosts(machineHosts: string, entries: { address: string; name: string }[], self: string): string {
  return [
    ...machineHosts.split('\n').filter((l) => l.trim() !== ''),
    `127.0.1.1 ${self}`,
    '# api7-ha lab hosts',
    ...entries.map((e) => `${e.address} ${e.name}`),
    '',
  ].join('\n');
}
