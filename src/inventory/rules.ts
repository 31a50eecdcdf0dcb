// The inventory's semantic rules, as data: each names the field it reports at, the problem it looks
// for, the message and the fix. They run over a schema-valid inventory (schema.ts checked every field
// on its own); every problem is collected, not just the first. Pure (no I/O): files.ts holds the rules
// that look at the local disk.
import { productProfile } from '../products';
import { rolePorts } from './ports';
import type { Inventory, Role, SshSettings } from './schema';

export interface InventoryIssue {
  /** Dotted field path, e.g. "hosts[2].roles". */
  path: string;
  message: string;
  /** What to change. */
  fix: string;
}

type Text<S> = string | ((s: S) => string);

export interface Rule<S> {
  /** The values the rule looks at, each reported on its own (default: the inventory, once). */
  each?: (f: Facts) => readonly S[];
  path: Text<S>;
  /** True when the value has the problem. */
  problem: (s: S) => boolean;
  message: Text<S>;
  fix: Text<S>;
}

/** A rule with its subject type closed over, so rules of different subjects sit in one list. */
export type Check = (f: Facts) => InventoryIssue[];

export function rule<S = Facts>(r: Rule<S>): Check {
  const text = (t: Text<S>, s: S) => (typeof t === 'string' ? t : t(s));
  return (f) =>
    (r.each ? r.each(f) : [f as S])
      .filter((s) => r.problem(s))
      .map((s) => ({ path: text(r.path, s), message: text(r.message, s), fix: text(r.fix, s) }));
}

export const runChecks = (checks: readonly Check[], f: Facts): InventoryIssue[] => checks.flatMap((c) => c(f));

export interface HostFacts {
  i: number;
  host: Inventory['hosts'][number];
  /** The host's SSH settings: its own over the shared ones. */
  ssh: SshSettings;
  /** Where this host's value of an SSH setting is written: hosts[i].ssh.X, or ssh.X when inherited. */
  at: (field: keyof SshSettings) => string;
  /** The hosts listed before it (a duplicate is reported at the second). */
  before: HostFacts[];
}

/** What the rules read, computed once. */
export interface Facts {
  inv: Inventory;
  hosts: HostFacts[];
  role: Record<Role, HostFacts[]>;
}

export function factsOf(inv: Inventory): Facts {
  const hosts: HostFacts[] = [];
  inv.hosts.forEach((host, i) =>
    hosts.push({
      i,
      host,
      ssh: { ...inv.ssh, ...host.ssh },
      at: (field) => (host.ssh?.[field] === undefined && inv.ssh[field] !== undefined ? `ssh.${field}` : `hosts[${i}].ssh.${field}`),
      before: hosts.slice(0, i),
    }),
  );
  const withRole = (r: Role) => hosts.filter((h) => h.host.roles.includes(r));
  return { inv, hosts, role: { etcd: withRole('etcd'), control_plane: withRole('control_plane'), data_plane: withRole('data_plane'), load_balancer: withRole('load_balancer') } };
}

/** The first host before `h` with the same value, if any. */
const earlier = <T>(h: HostFacts, key: (x: HostFacts) => T): HostFacts | undefined => h.before.find((o) => key(o) === key(h));

interface PortClash {
  h: HostFacts;
  port: number;
  first: Role;
  second: Role;
}

/** Ports of co-located roles that clash (host networking: every role binds on the host). */
function portClashes(f: Facts): PortClash[] {
  const lb = f.inv.load_balancer;
  const product = productProfile(f.inv.product);
  const ports = rolePorts(
    {
      etcd: { clientPort: f.inv.etcd.client_port, peerPort: f.inv.etcd.peer_port },
      loadBalancer: { mode: lb.mode, controlPlanePort: lb.control_plane_port, dataPlanePort: lb.data_plane_port, statsPort: lb.stats_port },
    },
    { controlPlane: product.controlPlane.ports, dataPlane: product.dataPlane.ports },
  );
  return f.hosts.flatMap((h) => {
    const owner = new Map<number, Role>();
    const clashes: PortClash[] = [];
    for (const role of h.host.roles) {
      for (const port of ports[role]) {
        const first = owner.get(port);
        if (first && first !== role) clashes.push({ h, port, first, second: role });
        else owner.set(port, role);
      }
    }
    return clashes;
  });
}

const TLS_FILES = ['ca_file', 'server_cert_file', 'server_key_file', 'client_cert_file', 'client_key_file'] as const;

/** The scenarios that cut a host off the network: the commands driver needs disconnect/reconnect. */
const NETWORK_FAULT_SCENARIOS = ['etcd-partition'];

export const inventoryRules: Check[] = [
  // Unique names and addresses; each role once.
  rule<HostFacts>({
    each: (f) => f.hosts,
    path: (h) => `hosts[${h.i}].name`,
    problem: (h) => earlier(h, (x) => x.host.name) !== undefined,
    message: (h) => `"${h.host.name}" is also the name of hosts[${earlier(h, (x) => x.host.name)!.i}]`,
    fix: 'give every host a unique name',
  }),
  rule<HostFacts>({
    each: (f) => f.hosts,
    path: (h) => `hosts[${h.i}].address`,
    problem: (h) => earlier(h, (x) => x.host.address) !== undefined,
    message: (h) => {
      const o = earlier(h, (x) => x.host.address)!;
      return `${h.host.address} is also the address of hosts[${o.i}] (${o.host.name})`;
    },
    fix: 'list each machine once and give it all its roles (roles: [etcd, control_plane])',
  }),
  rule<HostFacts>({
    each: (f) => f.hosts,
    path: (h) => `hosts[${h.i}].roles`,
    problem: (h) => new Set(h.host.roles).size !== h.host.roles.length,
    message: (h) => `lists ${h.host.roles.filter((r, k) => h.host.roles.indexOf(r) !== k).join(', ')} twice`,
    fix: 'list each role once',
  }),

  // etcd quorum: (N-1)/2 members may fail; an even count adds a member without adding tolerance.
  rule({ path: 'hosts', problem: (f) => f.role.etcd.length === 0, message: 'no host has the etcd role', fix: 'give three hosts the etcd role (roles: [etcd]), as in the runbook' }),
  rule({
    path: 'hosts',
    problem: (f) => f.role.etcd.length > 0 && f.role.etcd.length % 2 === 0,
    message: (f) => `${f.role.etcd.length} etcd members: an even count tolerates no more failures than ${f.role.etcd.length - 1} members do, and risks split votes`,
    fix: (f) => `use an odd number of etcd members (${f.role.etcd.length - 1} or ${f.role.etcd.length + 1})`,
  }),
  rule({
    path: 'hosts',
    problem: (f) => f.role.etcd.length === 1 && !f.inv.allow_no_ha,
    message: 'a single etcd member is not highly available',
    fix: 'give three hosts the etcd role, or set allow_no_ha: true for a test estate',
  }),
  rule({ path: 'hosts', problem: (f) => f.role.control_plane.length === 0, message: 'no host has the control_plane role', fix: 'give one or two hosts the control_plane role' }),
  rule({ path: 'hosts', problem: (f) => f.role.data_plane.length === 0, message: 'no host has the data_plane role', fix: 'give two or more hosts the data_plane role' }),

  // Control plane HA needs one shared authentication.secret (apisix-dashboard#2446).
  rule({
    path: 'control_plane.auth_secret',
    problem: (f) => f.role.control_plane.length > 1 && !f.inv.control_plane.auth_secret,
    message: (f) => `${f.role.control_plane.length} dashboards without a shared authentication.secret: a token signed by one is refused (401) by the other behind the load balancer`,
    fix: 'set control_plane.auth_secret: { env: API7_DASHBOARD_SECRET } or { file: /path/to/secret }',
  }),
  rule({
    path: 'control_plane.admin',
    problem: (f) => !f.inv.control_plane.admin,
    message: 'no dashboard admin credentials: verification writes its probe route through the control plane API',
    fix: 'set control_plane.admin: { username: admin, password: { file: /path/to/admin-password } }',
  }),

  // Load balancers.
  rule({
    path: 'load_balancer.mode',
    problem: (f) => f.inv.load_balancer.mode === 'managed' && f.role.load_balancer.length === 0,
    message: 'managed load balancers need a host with the load_balancer role',
    fix: 'add roles: [load_balancer] to a host, or set load_balancer.mode: external with its URLs',
  }),
  rule({
    path: 'packages.haproxy_image',
    problem: (f) => f.inv.load_balancer.mode === 'managed' && !f.inv.packages.haproxy_image,
    message: 'managed load balancers need an HAProxy image',
    fix: 'set packages.haproxy_image: { tarball: /path/haproxy.tar.gz, name: api7-ha/haproxy:2.6 }',
  }),
  rule({
    path: 'load_balancer',
    problem: ({ inv: { load_balancer: lb } }) => lb.mode === 'managed' && new Set([lb.control_plane_port, lb.data_plane_port, lb.stats_port]).size !== 3,
    message: ({ inv: { load_balancer: lb } }) => `control_plane_port, data_plane_port and stats_port must differ (got ${lb.control_plane_port}, ${lb.data_plane_port}, ${lb.stats_port})`,
    fix: 'choose three different ports',
  }),
  rule({
    path: 'load_balancer.external',
    problem: (f) => f.inv.load_balancer.mode === 'external' && !f.inv.load_balancer.external,
    message: 'external mode needs the URLs of the existing load balancers',
    fix: 'set load_balancer.external: { control_plane_url: http://..., data_plane_url: http://... }',
  }),
  rule<PortClash>({
    each: portClashes,
    path: (c) => `hosts[${c.h.i}].roles`,
    problem: () => true,
    message: (c) => `${c.h.host.name}: port ${c.port} is used by both ${c.first} and ${c.second}`,
    fix: (c) => (c.first === 'load_balancer' || c.second === 'load_balancer' ? 'move the load balancer to another host or change load_balancer.*_port' : 'put these roles on different hosts'),
  }),

  // Secrets and files the configuration needs.
  rule({
    path: 'etcd.auth.password',
    problem: (f) => f.inv.etcd.auth.enabled && !f.inv.etcd.auth.password,
    message: 'etcd auth is enabled without a password reference',
    fix: 'set etcd.auth.password: { env: ETCD_ROOT_PASSWORD } or { file: ... }',
  }),
  rule<(typeof TLS_FILES)[number]>({
    each: (f) => (f.inv.etcd.tls.enabled ? TLS_FILES.filter((k) => !f.inv.etcd.tls[k]) : []),
    path: (k) => `etcd.tls.${k}`,
    problem: () => true,
    message: 'required when etcd.tls.enabled is true',
    fix: (k) => `set etcd.tls.${k} to a PEM file`,
  }),
  // etcd's retention is a duration in periodic mode and a revision count in revision mode.
  rule({
    path: 'etcd.auto_compaction_retention',
    problem: (f) => (f.inv.etcd.auto_compaction_mode === 'periodic') !== /[hms]$/.test(f.inv.etcd.auto_compaction_retention),
    message: (f) =>
      f.inv.etcd.auto_compaction_mode === 'periodic'
        ? `"${f.inv.etcd.auto_compaction_retention}" is a revision count, but auto_compaction_mode is periodic`
        : `"${f.inv.etcd.auto_compaction_retention}" is a duration, but auto_compaction_mode is revision`,
    fix: (f) => (f.inv.etcd.auto_compaction_mode === 'periodic' ? 'give a duration such as "1h", or set auto_compaction_mode: revision' : 'give a revision count such as "10000", or set auto_compaction_mode: periodic'),
  }),
  rule({
    path: 'verification.upstream',
    problem: (f) => !f.inv.verification.upstream,
    message: 'no upstream for the probe route',
    fix: 'set verification.upstream to host:port of a service answering the probe path (e.g. an httpbin on 10.0.0.17:80)',
  }),
  rule({
    path: 'data_plane.failure_budget',
    problem: (f) => f.role.data_plane.length > 0 && f.inv.data_plane.failure_budget >= f.role.data_plane.length,
    message: (f) => `a budget of ${f.inv.data_plane.failure_budget} lets every one of the ${f.role.data_plane.length} gateways fail`,
    fix: (f) => `set it below ${f.role.data_plane.length}`,
  }),

  // Drills: a commands driver must be able to undo what the chosen scenarios do.
  rule<'disconnect' | 'reconnect'>({
    each: (f) => {
      const d = f.inv.drills;
      const cutsNetwork = d.scenarios?.some((s) => NETWORK_FAULT_SCENARIOS.includes(s)) ?? false;
      return typeof d.host_faults === 'object' && cutsNetwork ? (['disconnect', 'reconnect'] as const).filter((k) => !(d.host_faults as { commands: Record<string, unknown> }).commands[k]) : [];
    },
    path: (k) => `drills.host_faults.commands.${k}`,
    problem: () => true,
    message: (k) => `drills.scenarios has etcd-partition, which cuts a host off the network, but no ${k} command is given`,
    fix: (k) => `set drills.host_faults.commands.${k} to the argv that ${k === 'disconnect' ? 'cuts {host} off the network' : 'brings {host} back'}, or leave etcd-partition out of drills.scenarios`,
  }),

  // SSH: a known_hosts file is always required; accept-new only records keys on first use.
  rule<HostFacts>({
    each: (f) => f.hosts,
    path: (h) => `hosts[${h.i}].ssh.known_hosts`,
    problem: (h) => !h.ssh.known_hosts,
    message: (h) => `${h.host.name}: no known_hosts file: host keys must be verified`,
    fix: 'set ssh.known_hosts: /path/known_hosts (host_key_policy: accept-new records keys on first use)',
  }),
  rule<HostFacts>({
    each: (f) => f.hosts,
    path: (h) => `hosts[${h.i}].ssh.identity_file`,
    problem: (h) => !h.ssh.identity_file && !h.ssh.agent,
    message: (h) => `${h.host.name}: no SSH credentials`,
    fix: 'set ssh.identity_file: /path/to/key or ssh.agent: true',
  }),
  rule<HostFacts>({
    each: (f) => f.hosts,
    path: (h) => `hosts[${h.i}].ssh.sudo`,
    problem: (h) => (h.ssh.user ?? 'root') !== 'root' && !h.ssh.sudo,
    message: (h) => `${h.host.name}: user ${h.ssh.user} is not root, and docker and the runbook's directories need root`,
    fix: 'set ssh.sudo: true (and sudo_password if sudo asks for one)',
  }),
];

/** Allowed, but worth saying. */
export const warningRules: { problem: (f: Facts) => boolean; message: (f: Facts) => string }[] = [
  {
    problem: (f) => f.role.data_plane.length === 1,
    message: (f) => `only ${f.role.data_plane.length} data plane host: losing it stops all traffic; the runbook recommends two or more`,
  },
  { problem: (f) => f.role.control_plane.length === 1, message: () => 'one control plane host: the dashboard is not highly available (the runbook allows this)' },
];

export const warningsOf = (f: Facts): string[] => warningRules.filter((w) => w.problem(f)).map((w) => w.message(f));
