/**
 * `<labDir>/state.json`: what the lab created and which PIDs it started, so that `down`, the
 * faults and a later `up` act on exactly those objects. Written atomically (temp file + rename),
 * and early during `up` (phase "building") so that a crashed run still leaves a trail to clean up.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LabArtifacts } from './images/build';
import type { LabShape, Role } from './topology';

export const STATE_VERSION = 2;

export interface HostState {
  name: string;
  roles: Role[];
  index: number;
  inInventory: boolean;
  /** Its address on its first bridge: the one clients use (inventory, ssh, known_hosts). */
  address: string;
  netns: string;
  netnsPath: string;
  veth: string;
  ifname: string;
  /** The bridge `veth` is on: the machine's, or the inner one behind the bastion. */
  bridge: string;
  /** Whether the machine has a route to `address` (not for hosts behind the bastion). */
  routed: boolean;
  /** A second link, on the inner bridge (the bastion and the load balancer behind a bastion). */
  inner?: { veth: string; ifname: string; address: string };
  /** sshd's port. */
  sshPort: number;
  /** Runs firewalld (and a D-Bus system bus for it). */
  firewalld: boolean;
  mountNs: string;
  utsNs: string;
  cgroupParent: string;
  containerdNamespace: string;
  containerdPluginsNamespace: string;
  dockerSocket: string;
  dirs: {
    /** <labDir>/hosts/<name> */
    base: string;
    upper: string;
    work: string;
    dockerData: string;
    logs: string;
    /** /run/<prefix>/<name>: sockets and pid files (short paths for unix sockets). */
    run: string;
    execRoot: string;
  };
  files: {
    sshdConfig: string;
    fstab: string;
    hostKey: string;
    hostPublicKey: string;
    sshdPid: string;
    dockerPid: string;
  };
  pids: { sshd?: number; dockerd?: number; echo?: number; dbus?: number; firewalld?: number };
  /** Set by power-off, cleared by power-on: an intentionally stopped host, not a crash. */
  poweredOff: boolean;
  /** Set by disconnect, cleared by reconnect. */
  disconnected: boolean;
}

export interface LabState {
  version: number;
  dir: string;
  realDir: string;
  prefix: string;
  subnet: string;
  bridge: string;
  bridgeAddress: string;
  gateways: number;
  shape: LabShape;
  /** Programs the hosts get that Debian's packages on the machine lack (see tools.ts). */
  tools: { composePlugin?: string; firewalldTree?: string };
  /** Behind a bastion: the hosts' bridge, which has no address on the machine (so no route to it). */
  inner?: { bridge: string; subnet: string };
  phase: 'building' | 'ready';
  createdAt: string;
  updatedAt: string;
  runDir: string;
  nsDir: string;
  artifactsDir: string;
  artifacts?: LabArtifacts;
  files: {
    inventory: string;
    sshKey: string;
    sshPublicKey: string;
    authorizedKeys: string;
    knownHosts: string;
    dashboardSecret: string;
    adminPassword: string;
  };
  hosts: HostState[];
}

export function statePath(labDir: string): string {
  return path.join(labDir, 'state.json');
}

export function loadState(labDir: string): LabState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(statePath(labDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${statePath(labDir)} is not valid JSON (${(e as Error).message}); run \`lab down\` to clean up and start over`);
  }
  const s = parsed as Partial<LabState>;
  if (s.version !== STATE_VERSION || typeof s.prefix !== 'string' || !Array.isArray(s.hosts)) {
    throw new Error(`${statePath(labDir)} has an unknown format (version ${String(s.version)}); run \`lab down\` to clean up and start over`);
  }
  return s as LabState;
}

/** Atomic write: readers never see a half-written state file. */
export function saveState(labDir: string, state: LabState): void {
  state.updatedAt = new Date().toISOString();
  const file = statePath(labDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Read-modify-write of the whole state under the short state lock. */
export function updateLabState(labDir: string, fn: (s: LabState) => void): LabState {
  return withFileLockSync(path.join(labDir, 'state.lock'), 5000, () => {
    const s = loadState(labDir);
    if (!s) throw new Error(`no lab at ${labDir} (state.json is missing); run \`lab up\` first`);
    fn(s);
    saveState(labDir, s);
    return s;
  });
}

/**
 * Read-modify-write of one host's flags/PIDs. Synchronous from read to write, so calls from one
 * process never interleave; the short file lock covers concurrent processes (e.g. a drill and a
 * human running `lab power-on`).
 */
export function updateHost(labDir: string, host: string, fn: (h: HostState) => void): LabState {
  return updateLabState(labDir, (s) => {
    const h = s.hosts.find((x) => x.name === host);
    if (!h) throw new Error(`unknown host ${host}`);
    fn(h);
  });
}

// ---------------------------------------------------------------------------------------------
// Lock files: O_EXCL create holding "<pid> <start time>"; a lock whose process is gone (or a zombie,
// or a different process that reused the PID) is stale and taken over.

/** Start time of a live (non-zombie) process, in clock ticks since boot, from /proc/<pid>/stat. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19]; // field 22 of stat(5); fields here start at field 3
  } catch {
    return undefined;
  }
}

function lockContent(): string {
  return `${process.pid} ${startTime(process.pid) ?? '?'}\n`;
}

export function lockHolder(file: string): number | undefined {
  try {
    const [pidText, start] = fs.readFileSync(file, 'utf8').trim().split(/\s+/);
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const now = startTime(pid);
    return now !== undefined && (start === undefined || start === now) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function tryLock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, lockContent());
      fs.closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (lockHolder(file) !== undefined) return false;
      // Stale (holder died): remove and retry once.
      try {
        fs.unlinkSync(file);
      } catch {
        /* someone else removed it first */
      }
    }
  }
  return false;
}

export function unlock(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === lockContent()) fs.unlinkSync(file);
  } catch {
    /* already gone */
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function withFileLockSync<T>(file: string, timeoutMs: number, fn: () => T): T {
  const deadline = Date.now() + timeoutMs;
  while (!tryLock(file)) {
    if (Date.now() > deadline) {
      throw new Error(`${file} is held by process ${lockHolder(file) ?? '?'}; try again when it finishes`);
    }
    sleepSync(20);
  }
  try {
    return fn();
  } finally {
    unlock(file);
  }
}
