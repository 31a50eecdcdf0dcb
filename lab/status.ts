/**
 * Is the lab healthy? `assess` decides what `up` does with an existing lab (verify, repair, rebuild);
 * `labStatus` is what `lab status` prints. Processes count as the lab's only when they are alive inside
 * the host's own namespaces (a recycled PID is not ours).
 */
import { linkAdminUp, linkExists } from './kernel';
import { sshAnswers } from './hosts';
import { engineContainers, engineInfo, type ContainerSummary } from './probe';
import { findMembers, isAlive, nsFileId, procNs, procRssKiB, type Membership } from './procs';
import { loadState, type HostState, type LabState } from './state';

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

/** The machine-side ends of the host's links (two for a host on both bridges). */
export function hostLinks(h: HostState): string[] {
  return [h.veth, ...(h.inner ? [h.inner.veth] : [])];
}

export function hostMembership(h: HostState): Membership {
  const net = nsFileId(h.netnsPath, 'net');
  const mnt = nsFileId(h.mountNs, 'mnt');
  return { netNs: new Set(net ? [net] : []), mntNs: new Set(mnt ? [mnt] : []), cgroupParents: [h.cgroupParent] };
}

/** A recorded PID is ours only if it is alive and still inside the host's network namespace. */
export function ownedAlive(h: HostState, pid: number | undefined): boolean {
  if (!isAlive(pid)) return false;
  const net = nsFileId(h.netnsPath, 'net');
  return net !== undefined && procNs(pid!, 'net') === net;
}

export async function assess(s: LabState): Promise<
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
    for (const l of hostLinks(h)) if (!linkExists(l)) return { kind: 'stale', reasons: [`link ${l} is missing`] };
  }
  const restart: string[] = [];
  const reconnect: string[] = [];
  let anyAlive = false;
  const checks = await Promise.all(
    s.hosts.map(async (h) => {
      const sshdUp = ownedAlive(h, h.pids.sshd);
      const dockerdUp = ownedAlive(h, h.pids.dockerd);
      const echoUp = !h.roles.includes('upstream') || ownedAlive(h, h.pids.echo);
      const linkUp = hostLinks(h).every(linkAdminUp);
      const [engine, ssh] = await Promise.all([
        dockerdUp ? engineInfo(h.dockerSocket, 2000) : Promise.resolve(undefined),
        sshdUp && linkUp ? sshAnswers(h, 1500) : Promise.resolve(false),
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

export async function labStatus(dir: string): Promise<LabStatus> {
  const s = loadState(dir);
  if (!s) return { dir, state: 'absent', hosts: [] };
  const hosts = await Promise.all(s.hosts.map((h) => hostStatus(h)));
  return {
    dir,
    state: s.phase,
    prefix: s.prefix,
    subnet: s.subnet,
    bridge: s.bridge,
    bridgeUp: linkExists(s.bridge) && linkAdminUp(s.bridge),
    hosts,
  };
}

async function hostStatus(h: HostState): Promise<HostStatus> {
  const netId = nsFileId(h.netnsPath, 'net');
  const links = hostLinks(h);
  const exists = netId !== undefined && nsFileId(h.mountNs, 'mnt') !== undefined && links.every(linkExists);
  const link: HostStatus['link'] = !links.every(linkExists) ? 'missing' : links.every(linkAdminUp) ? 'up' : 'down';
  const sshdAlive = ownedAlive(h, h.pids.sshd);
  const engineAlive = ownedAlive(h, h.pids.dockerd);
  const [sshd, engine] = await Promise.all([
    sshdAlive && link === 'up' ? sshAnswers(h, 1500) : Promise.resolve(false),
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
    ...(h.roles.includes('upstream') ? { echo: ownedAlive(h, h.pids.echo) } : {}),
    poweredOff: h.poweredOff,
    disconnected: h.disconnected,
    containers,
    rssKiB: rss,
  };
}
