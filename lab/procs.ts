/**
 * Finding and stopping the lab's processes through /proc. A process belongs to a lab host when it
 * lives in the host's network or mount namespace, or in the host's cgroup parent (containers on
 * their own bridge network have their own namespaces but still sit under the host's cgroup).
 * Everything is by PID; nothing is ever matched by program name alone.
 */
import * as fs from 'node:fs';

export interface ProcInfo {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function listPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** comm, state and ppid from /proc/<pid>/stat (comm may contain spaces and parentheses). */
export function procInfo(pid: number): ProcInfo | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const rest = stat.slice(close + 2).split(' ');
  return { pid, comm: stat.slice(open + 1, close), state: rest[0] ?? '?', ppid: Number(rest[1]) };
}

/** Alive = exists and is not a zombie (a zombie holds no resources; init reaps it). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  const info = procInfo(pid);
  return info !== undefined && info.state !== 'Z' && info.state !== 'X';
}

/** Namespace identity as the kernel prints it, e.g. "net:[4026532291]". */
export function procNs(pid: number, kind: 'net' | 'mnt' | 'uts'): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/**
 * Identity of a bound namespace file (/run/netns/x, a .mnt file) in the same "kind:[inode]"
 * form, or undefined when nothing is bound there (an unbound file is an ordinary empty file
 * on the root filesystem, so we also require the nsfs magic device number to differ from it).
 */
export function nsFileId(file: string, kind: 'net' | 'mnt' | 'uts'): string | undefined {
  try {
    const st = fs.statSync(file);
    const parent = fs.statSync(file.replace(/\/[^/]+$/, '') || '/');
    if (st.dev === parent.dev) return undefined; // not a bind-mounted namespace
    return `${kind}:[${st.ino}]`;
  } catch {
    return undefined;
  }
}

export function procCgroups(pid: number): string[] {
  const text = readText(`/proc/${pid}/cgroup`);
  if (!text) return [];
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':').slice(2).join(':'));
}

export function procCmdline(pid: number): string[] {
  const text = readText(`/proc/${pid}/cmdline`);
  return text ? text.split('\0').filter(Boolean) : [];
}

export function procRssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readText(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) : 0;
}

/** Our own PID and our ancestors: never signal those, whatever they match. */
export function selfAndAncestors(): Set<number> {
  const out = new Set<number>();
  let pid = process.pid;
  while (pid > 1 && !out.has(pid)) {
    out.add(pid);
    const info = procInfo(pid);
    if (!info) break;
    pid = info.ppid;
  }
  return out;
}

export interface Membership {
  /** "net:[ino]" of the namespaces the processes may live in. */
  netNs: Set<string>;
  mntNs: Set<string>;
  /** Cgroup path components, e.g. "a7c3f1-ha1" (containers live under /<parent>/<id>). */
  cgroupParents: string[];
  /** Cgroup component prefix, e.g. "a7c3f1-": any host of this lab (for `down`). */
  cgroupPrefix?: string;
  /** Argument substrings that identify a lab daemon whose namespaces are already gone. */
  argvMarkers?: string[];
  /** Only these executables may be matched by argv markers (never an editor or a shell). */
  argvComms?: string[];
}

export function belongs(pid: number, m: Membership): boolean {
  const net = procNs(pid, 'net');
  if (net && m.netNs.has(net)) return true;
  const mnt = procNs(pid, 'mnt');
  if (mnt && m.mntNs.has(mnt)) return true;
  if (m.cgroupParents.length > 0 || m.cgroupPrefix) {
    for (const cg of procCgroups(pid)) {
      const parts = cg.split('/');
      if (parts.some((p) => m.cgroupParents.includes(p))) return true;
      if (m.cgroupPrefix && parts.some((p) => p.startsWith(m.cgroupPrefix!))) return true;
    }
  }
  if (m.argvMarkers && m.argvMarkers.length > 0) {
    const info = procInfo(pid);
    if (info && (m.argvComms ?? []).some((c) => info.comm.startsWith(c))) {
      const args = procCmdline(pid);
      if (args.some((a) => m.argvMarkers!.some((mk) => a.includes(mk)))) return true;
    }
  }
  return false;
}

export function findMembers(m: Membership): ProcInfo[] {
  const skip = selfAndAncestors();
  const out: ProcInfo[] = [];
  for (const pid of listPids()) {
    if (skip.has(pid)) continue;
    const info = procInfo(pid);
    if (!info || info.state === 'Z' || info.state === 'X') continue;
    if (info.ppid === 2 || pid === 2) continue; // kernel threads
    if (belongs(pid, m)) out.push(info);
  }
  return out;
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until none of `pids` is alive; returns the ones still alive at the deadline. */
export async function waitExit(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(50);
    alive = alive.filter(isAlive);
  }
  return alive;
}

/**
 * SIGKILL every member until a scan finds none. Repeated because a process may fork between a
 * scan and the kill (sshd accepting a connection, dockerd restarting containerd).
 */
export async function killMembers(m: Membership, timeoutMs = 15000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let killed = 0;
  let quiet = 0;
  while (Date.now() < deadline) {
    const members = findMembers(m);
    if (members.length === 0) {
      if (++quiet >= 2) return killed;
      await sleep(30);
      continue;
    }
    quiet = 0;
    for (const p of members) if (signal(p.pid, 'SIGKILL')) killed++;
    await waitExit(
      members.map((p) => p.pid),
      2000,
    );
  }
  const left = findMembers(m);
  if (left.length > 0) {
    throw new Error(`processes survived SIGKILL: ${left.map((p) => `${p.pid} (${p.comm}, state ${p.state})`).join(', ')}`);
  }
  return killed;
}
