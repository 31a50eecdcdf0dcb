/**
 * The lab's shape as pure data: which hosts exist, their roles and addresses, and the names of
 * every kernel object (namespace, link, cgroup, containerd namespace) the lab creates for them.
 *
 * Everything here is deterministic and free of I/O so that it can be unit tested and so that
 * `down` can recompute the names of leftovers from nothing but the lab directory.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';

/** Roles as the inventory spells them; `upstream` (the runbook's httpbin) and `bastion` are lab-only. */
export type Role = 'etcd' | 'control_plane' | 'data_plane' | 'load_balancer' | 'upstream' | 'bastion';

/**
 * The kind of estate a lab imitates. The default is the runbook's (root over SSH on port 22, every
 * host reachable from the machine) on a current Docker install (the compose v2 plugin) with the
 * vendor's packages as shipped (a compose bridge network with published ports).
 */
export interface LabShape {
  gateways: number;
  /** Which docker compose the hosts have: the v2 plugin, the v1 binary (Debian's), or both. */
  compose: 'plugin' | 'v1' | 'both';
  /** The vendor packages' network: the vendor's bridge network with published ports, or `network_mode: host`. */
  network: 'bridge' | 'host';
  /** Estate hosts on a second bridge the machine has no route to, reachable through the host `bastion`. */
  bastion: boolean;
  /** sshd's port on every host. */
  sshPort: number;
  /** Hosts that run firewalld (Debian's, unpacked into those hosts only). */
  firewalld: string[];
}

export const DEFAULT_SHAPE: Omit<LabShape, 'gateways'> = { compose: 'plugin', network: 'bridge', bastion: false, sshPort: 22, firewalld: [] };

export interface HostLayout {
  name: string;
  roles: Role[];
  /** Position in host order; the address is `.<FIRST_HOST_OCTET + index>`. */
  index: number;
  /** False for helpers that are not estate members (the upstream, the bastion). */
  inInventory: boolean;
  /** Which bridges the host is on: the machine's (front), the one behind the bastion (inner), or both. */
  networks: ('front' | 'inner')[];
}

export const DEFAULT_GATEWAYS = 2;
export const MIN_GATEWAYS = 1;
/** ha4..ha(3+N) plus lb and upstream must fit in .11..254 of one /24 (and in 15-char link names). */
export const MAX_GATEWAYS = 100;
export const FIRST_HOST_OCTET = 11;
export const BRIDGE_OCTET = 1;

/** Linux limits interface names to IFNAMSIZ-1 = 15 characters. */
export const IFNAME_MAX = 15;

/**
 * Paths that get a per-host overlay inside each host's mount namespace, so that what a deploy
 * writes there (e.g. /usr/local/etcd/etcd_data) is private to that host. The lab directory and
 * the engines' data-roots must live outside all of them (validated in `validateLabDir`).
 */
export const OVERLAY_PATHS: readonly string[] = [
  '/etc',
  '/root',
  '/home',
  '/opt',
  '/srv',
  // All of /usr (not only /usr/local): a host can lack a program the machine has (docker-compose v1
  // on a plugin-only host) or have one the machine lacks (firewalld on one host).
  '/usr',
  '/var/lib',
  '/var/log',
  '/var/tmp',
  '/tmp',
];

/**
 * Machine paths under overlaid directories that a host must not inherit: engine identity and
 * config (/etc/docker/key.json, daemon.json) and the client config (contexts) of the machine's
 * root. Each host starts without them, as a fresh server does, and creates its own.
 */
export const HIDDEN_MACHINE_PATHS: readonly string[] = ['/etc/docker', '/root/.docker'];

/**
 * The runbook's 5 nodes (gateways = 2) plus the helpers, in address order. Behind a bastion, the
 * estate and the upstream sit on the inner bridge only; the bastion and the load balancer (the
 * estate's front door) are on both.
 */
export function layoutHosts(gateways: number, opts: { bastion?: boolean } = {}): HostLayout[] {
  if (!Number.isInteger(gateways) || gateways < MIN_GATEWAYS || gateways > MAX_GATEWAYS) {
    throw new RangeError(`gateways must be an integer from ${MIN_GATEWAYS} to ${MAX_GATEWAYS}, got ${String(gateways)}`);
  }
  const inner: HostLayout['networks'] = opts.bastion ? ['inner'] : ['front'];
  const both: HostLayout['networks'] = opts.bastion ? ['front', 'inner'] : ['front'];
  const hosts: Omit<HostLayout, 'index'>[] = [
    { name: 'ha1', roles: ['etcd', 'control_plane'], inInventory: true, networks: inner },
    { name: 'ha2', roles: ['etcd', 'control_plane'], inInventory: true, networks: inner },
    { name: 'ha3', roles: ['etcd'], inInventory: true, networks: inner },
  ];
  for (let i = 0; i < gateways; i++) hosts.push({ name: `ha${4 + i}`, roles: ['data_plane'], inInventory: true, networks: inner });
  hosts.push({ name: 'lb', roles: ['load_balancer'], inInventory: true, networks: both });
  hosts.push({ name: 'upstream', roles: ['upstream'], inInventory: false, networks: inner });
  if (opts.bastion) hosts.push({ name: 'bastion', roles: ['bastion'], inInventory: false, networks: both });
  return hosts.map((h, index) => ({ ...h, index }));
}

/** A shape with defaults filled in, or the first thing wrong with it. */
export function normalizeShape(s: Partial<LabShape> = {}): LabShape {
  const shape: LabShape = { gateways: s.gateways ?? DEFAULT_GATEWAYS, ...DEFAULT_SHAPE, ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) };
  if (!Number.isInteger(shape.gateways) || shape.gateways < MIN_GATEWAYS || shape.gateways > MAX_GATEWAYS) {
    throw new RangeError(`--gateways must be an integer from ${MIN_GATEWAYS} to ${MAX_GATEWAYS} (got ${String(s.gateways)})`);
  }
  if (!['plugin', 'v1', 'both'].includes(shape.compose)) throw new RangeError(`--compose must be plugin, v1 or both (got ${String(shape.compose)})`);
  if (!['bridge', 'host'].includes(shape.network)) throw new RangeError(`--network must be bridge or host (got ${String(shape.network)})`);
  if (!Number.isInteger(shape.sshPort) || shape.sshPort < 1 || shape.sshPort > 65535) throw new RangeError(`--ssh-port must be a port number (got ${String(shape.sshPort)})`);
  const names = new Set(layoutHosts(shape.gateways, { bastion: shape.bastion }).map((h) => h.name));
  for (const h of shape.firewalld) if (!names.has(h)) throw new RangeError(`--firewalld names ${JSON.stringify(h)}, which is not a host of this lab (${[...names].join(', ')})`);
  return shape;
}

/** Where the second link of a two-bridge host goes: `<prefix>-i<host>` (deleted with the prefix's links). */
export function innerLinkName(prefix: string, host: string): string {
  const n = `${prefix}-i${host}`;
  if (n.length > IFNAME_MAX) throw new RangeError(`link name ${n} is longer than ${IFNAME_MAX} characters`);
  return n;
}

export function innerBridgeName(prefix: string): string {
  return `${prefix}-bi`;
}

/** Short, stable prefix for every kernel object of the lab rooted at `realDir`. */
export function labPrefix(realDir: string): string {
  return `a7${createHash('sha256').update(realDir).digest('hex').slice(0, 4)}`;
}

export interface HostNames {
  /** `ip netns` name (also the root-side veth name: netns names and link names never clash). */
  netns: string;
  veth: string;
  /** Interface name inside the host. */
  ifname: string;
  cgroupParent: string;
  containerdNamespace: string;
  containerdPluginsNamespace: string;
}

export function hostNames(prefix: string, host: string): HostNames {
  const base = `${prefix}-${host}`;
  if (base.length > IFNAME_MAX) throw new RangeError(`link name ${base} is longer than ${IFNAME_MAX} characters`);
  return {
    netns: base,
    veth: base,
    ifname: 'eth0',
    cgroupParent: base,
    containerdNamespace: base,
    containerdPluginsNamespace: `${base}-plugins`,
  };
}

export function bridgeName(prefix: string): string {
  return `${prefix}-br`;
}

// ---------------------------------------------------------------------------------------------
// IPv4 subnets

export interface Cidr {
  base: number; // network address as an unsigned 32-bit integer
  bits: number;
}

export function ipToInt(ip: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) throw new Error(`not an IPv4 address: ${ip}`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export function parseCidr(text: string): Cidr {
  const [ip, bitsText] = text.split('/');
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`bad prefix length in ${text}`);
  return { base: (ipToInt(ip ?? '') & maskOf(bits)) >>> 0, bits };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.bits}`;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  const m = maskOf(bits);
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}

/** Networks in use according to `ip -4 -o addr` (one line per address, "... inet A/B ..."). */
export function parseIpAddrNetworks(text: string): Cidr[] {
  const out: Cidr[] = [];
  for (const m of text.matchAll(/\binet (\d+\.\d+\.\d+\.\d+\/\d+)/g)) out.push(parseCidr(m[1]!));
  return out;
}

/** Destinations of `ip -4 route` (the default route is ignored: it would overlap everything). */
export function parseIpRouteNetworks(text: string): Cidr[] {
  const out: Cidr[] = [];
  for (const line of text.split('\n')) {
    const dest = line.trim().split(/\s+/)[0];
    if (!dest || dest === 'default') continue;
    // Route types (unreachable, blackhole, ...) come first on some lines.
    const token = /^\d/.test(dest) ? dest : line.trim().split(/\s+/)[1];
    if (token && /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(token)) out.push(parseCidr(token));
  }
  return out;
}

/**
 * A 10.x.y.0/24 derived from the lab's real path, skipping any that overlaps a network already
 * on the machine, so that two labs (or a lab and another engineer's network) never share a subnet.
 * `preferred` (the subnet a previous run of the same lab used) wins when it is still free, to keep
 * addresses stable across rebuilds.
 */
export function chooseSubnet(realDir: string, inUse: Cidr[], preferred?: string): string {
  const free = (c: Cidr): boolean => !inUse.some((u) => cidrsOverlap(u, c));
  if (preferred) {
    const c = parseCidr(preferred);
    if (c.bits === 24 && free(c)) return formatCidr(c);
  }
  for (let attempt = 0; attempt < 4096; attempt++) {
    const h = createHash('sha256').update(`${realDir}#${attempt}`).digest();
    const x = h[0]!;
    const y = h[1]!;
    // Skip 10.0.0.0/16 and 10.255.0.0/16: the first ones other tools pick by default.
    if (x === 0 || x === 255) continue;
    const c = parseCidr(`10.${x}.${y}.0/24`);
    if (free(c)) return formatCidr(c);
  }
  throw new Error('no free 10.x.y.0/24 subnet found (every candidate overlaps an existing address or route)');
}

export function hostAddress(subnet: string, index: number): string {
  const c = parseCidr(subnet);
  const octet = FIRST_HOST_OCTET + index;
  if (octet > 254) throw new RangeError(`host index ${index} does not fit in ${subnet}`);
  return intToIp(c.base + octet);
}

export function bridgeAddress(subnet: string): string {
  return intToIp(parseCidr(subnet).base + BRIDGE_OCTET);
}

// ---------------------------------------------------------------------------------------------
// Validation of values that end up in argv, mount options and config files

/**
 * Paths go into overlay mount options (`lowerdir=a,upperdir=b`), sshd_config lines and argv, so
 * they may not contain separators those formats give meaning to (comma, colon, whitespace, quotes).
 */
const SAFE_PATH = /^\/[A-Za-z0-9._+@/-]*$/;

export function assertSafePath(p: string, what: string): void {
  if (!SAFE_PATH.test(p) || p.split('/').includes('..')) {
    throw new Error(`${what} ${JSON.stringify(p)} must be an absolute path of letters, digits and ._+@-/ only (it is used in mount options and sshd_config)`);
  }
}

const HOST_NAME = /^[a-z][a-z0-9-]{0,15}$/;

export function assertHostName(name: string): void {
  if (!HOST_NAME.test(name)) throw new Error(`bad host name ${JSON.stringify(name)}`);
}

function isUnder(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Where the hosts' files and engines live when the lab dir itself is under an overlaid path. */
export const EXTERNAL_HOSTS_ROOT = '/var/cache/api7-ha-lab';

/**
 * The hosts' overlay upper dirs, engine data-roots, sshd configs and keys must be visible unchanged
 * from inside every host, so never under a path the hosts overlay. Usually that is `<labDir>/hosts`;
 * for a checkout under /tmp, /root or /home (a CI clone, say) it is a folder of this lab's own
 * (by prefix) under EXTERNAL_HOSTS_ROOT.
 */
export function hostsRootFor(realDir: string, prefix: string): string {
  return OVERLAY_PATHS.some((p) => isUnder(realDir, p)) ? path.join(EXTERNAL_HOSTS_ROOT, prefix, 'hosts') : path.join(realDir, 'hosts');
}

/** The lab directory may sit anywhere on a regular filesystem but may not contain an overlaid path. */
export function validateLabDir(realDir: string): void {
  assertSafePath(realDir, 'lab directory');
  if (realDir === '/') throw new Error('lab directory may not be /');
  for (const p of OVERLAY_PATHS) {
    if (isUnder(p, realDir)) {
      throw new Error(`lab directory ${realDir} contains ${p}, which every lab host overlays; choose a directory of its own (for example under the repository)`);
    }
  }
  if (isUnder(realDir, '/run') || isUnder(realDir, '/proc') || isUnder(realDir, '/sys') || isUnder(realDir, '/dev')) {
    throw new Error(`lab directory ${realDir} must be on a regular filesystem, not under /run, /proc, /sys or /dev`);
  }
}

/** Runtime directory (sockets, pid files, namespace files): short paths for unix sockets. */
export function runDirFor(prefix: string): string {
  return `/run/${prefix}`;
}
