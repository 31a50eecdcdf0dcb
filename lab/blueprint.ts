/** Every name, path and address of a new lab, before anything exists (no I/O). */
import * as path from 'node:path';
import { STATE_VERSION, type HostState, type LabState } from './state';
import { bridgeAddress, bridgeName, hostAddress, hostNames, hostsRootFor, innerBridgeName, innerLinkName, layoutHosts, runDirFor, type LabShape } from './topology';

export interface BlueprintInput {
  shape: LabShape;
  /** The lab dir's real path (validated); every path of the state derives from it. */
  realDir: string;
  prefix: string;
  subnet: string;
  /** Behind a bastion: the inner bridge's subnet. */
  innerSubnet?: string;
  artifactsDir: string;
  tools: LabState['tools'];
}

export function blueprint(b: BlueprintInput): LabState {
  const { realDir, prefix, subnet } = b;
  const runDir = runDirFor(prefix);
  const nsDir = path.join(runDir, 'ns');
  const now = new Date().toISOString();
  const dir = realDir;
  const hostsRoot = hostsRootFor(realDir, prefix);
  const shape = b.shape;
  const inner = shape.bastion ? { bridge: innerBridgeName(prefix), subnet: b.innerSubnet! } : undefined;
  if (shape.bastion && !b.innerSubnet) throw new Error('internal error: a lab behind a bastion needs an inner subnet');
  const hosts: HostState[] = layoutHosts(shape.gateways, { bastion: shape.bastion }).map((l) => {
    const n = hostNames(prefix, l.name);
    const base = path.join(hostsRoot, l.name);
    const run = path.join(runDir, l.name);
    // The first link is on the machine's bridge when the host is on it, else on the inner one.
    const front = l.networks.includes('front');
    const second = front && inner && l.networks.includes('inner') ? { veth: innerLinkName(prefix, l.name), ifname: 'eth1', address: hostAddress(inner.subnet, l.index) } : undefined;
    return {
      name: l.name,
      roles: l.roles,
      index: l.index,
      inInventory: l.inInventory,
      address: hostAddress(front ? subnet : inner!.subnet, l.index),
      netns: n.netns,
      netnsPath: `/run/netns/${n.netns}`,
      veth: n.veth,
      ifname: n.ifname,
      bridge: front ? bridgeName(prefix) : inner!.bridge,
      routed: front,
      ...(second ? { inner: second } : {}),
      sshPort: shape.sshPort,
      firewalld: shape.firewalld.includes(l.name),
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
    version: STATE_VERSION,
    dir,
    realDir,
    prefix,
    subnet,
    bridge: bridgeName(prefix),
    bridgeAddress: bridgeAddress(subnet),
    gateways: shape.gateways,
    shape,
    tools: b.tools,
    ...(inner ? { inner } : {}),
    phase: 'building',
    createdAt: now,
    updatedAt: now,
    runDir,
    nsDir,
    artifactsDir: b.artifactsDir,
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
