// Which hosts sit behind a jump host, as data (no I/O: workflows put these routes into the inputs of
// activities that speak HTTP to hosts, so a worker that never opened SSH to a host still reaches it).
import type { SshTarget } from '../inventory/model';

/** HTTP to `address` goes through the jump host `via` (an SSH target: its address, port, user, the host's credentials). */
export interface HttpRoute {
  address: string;
  via: SshTarget;
}

/** The jump host of a target as an SSH target of its own: the same credentials and known_hosts. */
export function jumpTargetOf(t: SshTarget): SshTarget | undefined {
  if (!t.jump) return undefined;
  const { jump, ...rest } = t;
  return { ...rest, host: `jump host ${jump.address}`, address: jump.address, port: jump.port, user: jump.user, sudo: false };
}

/** Routes for every host with a jump host (none: an empty list, and inputs stay as they were). */
export function httpRoutes(hosts: readonly { ssh: SshTarget }[]): HttpRoute[] {
  return hosts.flatMap((h) => {
    const via = jumpTargetOf(h.ssh);
    return via ? [{ address: h.ssh.address, via }] : [];
  });
}
