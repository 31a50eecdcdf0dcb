/**
 * Faults a lab can make that a container stop cannot: a host losing power (and booting again), a host
 * cut off the network (and reconnected). Drills, the lab CLI and `up`'s repair call these.
 */
import { ip } from './commands';
import { runOk } from './exec';
import { startDaemons, startEcho, waitEcho, waitHostReady, wipeRunDir } from './hosts';
import { hostByName, readyState } from './access';
import { killMembers } from './procs';
import { loadState, updateHost } from './state';
import { hostLinks, hostMembership } from './status';
import type { HostState } from './state';
import { elapsed, type LabContext } from './types';

/** Every link of the host at once (a host on two bridges goes dark on both). */
async function setLinks(h: HostState, how: 'up' | 'down', context: string): Promise<void> {
  for (const l of hostLinks(h)) await runOk(how === 'up' ? ip.linkUp(l) : ip.linkDown(l), { context });
}

/**
 * The host stops abruptly: its NIC goes dark (peers see timeouts, as with a dead server, not
 * connection resets) and every process of the host gets SIGKILL at once (sshd, dockerd,
 * containerd, shims, containers). Its files and mount namespace persist, as a disk does.
 */
export async function powerOff(ctx: LabContext, name: string): Promise<void> {
  const s = readyState(ctx.dir);
  const h = hostByName(s, name);
  const t0 = Date.now();
  // Recorded first: a power-off cut short half-way is still undone by power-on.
  updateHost(ctx.dir, name, (x) => {
    x.poweredOff = true;
  });
  await setLinks(h, 'down', `power-off ${name}`);
  const killed = await killMembers(hostMembership(h));
  updateHost(ctx.dir, name, (x) => {
    x.pids = {};
  });
  ctx.log(`${name}: powered off (${killed} processes killed) in ${elapsed(t0)} ms`);
}

/** Boot the host again: fresh /run, sshd and dockerd (restart-policy containers come back), echo. */
export async function powerOn(ctx: LabContext, name: string): Promise<void> {
  const s = readyState(ctx.dir);
  const h = hostByName(s, name);
  // A host that is on stays as it is: a drill's rollback may run after an injection that never
  // happened, and must not reboot a healthy host.
  if (!h.poweredOff) {
    ctx.log(`${name}: already powered on`);
    return;
  }
  await powerOnHost(ctx, h.name, true);
}

export async function powerOnHost(ctx: LabContext, name: string, log: boolean): Promise<void> {
  const s = loadState(ctx.dir)!;
  const h = s.hosts.find((x) => x.name === name)!;
  const t0 = Date.now();
  // A half-dead host (e.g. dockerd crashed, sshd alive) is power-cycled as a whole.
  await killMembers(hostMembership(h));
  // A reboot empties /run: stale pid files, sockets and containerd state go (like a tmpfs).
  wipeRunDir(h);
  await startDaemons(h);
  if (h.roles.includes('upstream')) startEcho(s, h);
  updateHost(ctx.dir, name, (x) => {
    x.pids = { ...h.pids };
    x.poweredOff = false;
  });
  if (!h.disconnected) await setLinks(h, 'up', `power-on ${name}`);
  await waitHostReady(ctx.log, h, !h.disconnected);
  if (h.roles.includes('upstream') && !h.disconnected) await waitEcho(h);
  if (log) ctx.log(`${name}: powered on in ${elapsed(t0)} ms`);
}

/** Cut the host off the network (its veth goes down); processes keep running. */
export async function disconnect(ctx: LabContext, name: string): Promise<void> {
  const s = readyState(ctx.dir);
  const h = hostByName(s, name);
  await setLinks(h, 'down', `disconnect ${name}`);
  updateHost(ctx.dir, name, (x) => {
    x.disconnected = true;
  });
  ctx.log(`${name}: disconnected`);
}

export async function reconnect(ctx: LabContext, name: string): Promise<void> {
  const s = readyState(ctx.dir);
  const h = hostByName(s, name);
  if (!h.poweredOff) await setLinks(h, 'up', `reconnect ${name}`);
  updateHost(ctx.dir, name, (x) => {
    x.disconnected = false;
  });
  ctx.log(`${name}: reconnected${h.poweredOff ? ' (still powered off: its link comes up at power-on)' : ''}`);
}
