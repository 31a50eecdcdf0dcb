/**
 * The lab as an api7-ha inventory. Rendered as text (not through a YAML serializer) so that the
 * file keeps the documented shape: one flow mapping per host and comments for a human reader.
 * Paths are relative to the inventory's folder, as the deploy tool resolves them.
 */
import * as path from 'node:path';
import { parse } from 'yaml';
import type { LabArtifacts } from './images/build';

export interface InventoryHost {
  name: string;
  address: string;
  roles: readonly string[];
  /** Reached through this jump host (hosts behind the lab's bastion). */
  jump?: { address: string; port: number };
}

export interface InventoryInput {
  inventoryPath: string;
  hosts: InventoryHost[];
  upstream: InventoryHost;
  artifacts: LabArtifacts;
  sshKey: string;
  knownHosts: string;
  sshPort: number;
  /** Which build of the vendor packages the hosts get. */
  network: 'bridge' | 'host';
  dashboardSecret: string;
  adminPassword: string;
}

export const CLUSTER_ID = '21322091';
export const PRODUCT = 'api7-ee-2.13';

/** Plain scalar when it is unambiguous in YAML, a double-quoted JSON string otherwise. */
function scalar(v: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(v) && !/^[0-9.]+$/.test(v) ? v : JSON.stringify(v);
}

function rel(inventoryPath: string, target: string): string {
  return scalar(path.relative(path.dirname(inventoryPath), target));
}

export function renderInventory(i: InventoryInput): string {
  const r = (p: string): string => rel(i.inventoryPath, p);
  const a = i.artifacts;
  const pkgs = i.network === 'host' ? a.hostNetworkPackages : a.packages;
  const lines = [
    `# Written by \`npm run lab -- up\`: the lab's ${i.hosts.length + 1} hosts as an api7-ha inventory.`,
    'cluster:',
    '  name: lab',
    `  cluster_id: "${CLUSTER_ID}"`,
    `product: ${PRODUCT}`,
    'ssh:',
    '  user: root',
    `  port: ${i.sshPort}`,
    `  identity_file: ${r(i.sshKey)}`,
    `  known_hosts: ${r(i.knownHosts)}`,
    '  host_key_policy: strict',
    'hosts:',
    ...i.hosts.map(
      (h) =>
        `  - { name: ${scalar(h.name)}, address: ${h.address}, roles: [${h.roles.join(', ')}]` +
        `${h.jump ? `, ssh: { jump_host: { address: ${h.jump.address}, port: ${h.jump.port} } }` : ''} }`,
    ),
    'packages:',
    `  control_plane: ${r(pkgs.api7ControlPlane)}`,
    `  data_plane: ${r(pkgs.api7DataPlane)}`,
    `  etcd_image: { tarball: ${r(a.etcdImage.tarball)}, name: ${JSON.stringify(a.etcdImage.name)} }`,
    `  haproxy_image: { tarball: ${r(a.haproxyImage.tarball)}, name: ${JSON.stringify(a.haproxyImage.name)} }`,
    'control_plane:',
    `  auth_secret: { file: ${r(i.dashboardSecret)} }`,
    `  admin: { username: admin, password: { file: ${r(i.adminPassword)} } }`,
    'load_balancer:',
    '  mode: managed',
    'verification:',
    '  host: test.com',
    '  path: /get',
    `  upstream: ${i.upstream.address}:80`,
    // The lab can power hosts off and cut them off the network: host-loss and etcd-partition drills.
    'drills:',
    '  host_faults: lab',
    'lab:',
    `  upstream_host: ${scalar(i.upstream.name)}`,
    '',
  ];
  const text = lines.join('\n');
  // Guard against a rendering slip (an unquoted odd path) producing a file the tool cannot read.
  const back = parse(text) as { hosts?: unknown[] };
  if (!Array.isArray(back.hosts) || back.hosts.length !== i.hosts.length) {
    throw new Error('internal error: rendered inventory does not parse back to the same hosts');
  }
  return text;
}
