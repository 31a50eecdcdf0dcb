// Semantic checks over a schema-valid inventory, then normalization into a ClusterSpec.
// Every problem is collected (not just the first) and names the field and the fix.
import { productProfile } from '../products';
import { rolePorts } from './ports';
import type { ClusterSpec, HostSpec, SecretName, SshTarget } from './model';
import type { Inventory, SecretRef } from './schema';

export interface InventoryIssue {
  /** Dotted field path, e.g. "hosts[2].roles". */
  path: string;
  message: string;
  /** What to change. */
  fix: string;
}

export class InventoryError extends Error {
  constructor(
    public readonly issues: InventoryIssue[],
    public readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}invalid inventory (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` + formatIssues(issues));
    this.name = 'InventoryError';
  }
}

export function formatIssues(issues: InventoryIssue[]): string {
  return issues.map((i) => `  - ${i.path || '(top level)'}: ${i.message}\n    fix: ${i.fix}`).join('\n');
}

export interface Validated {
  spec: ClusterSpec;
  warnings: string[];
}

export interface NormalizeContext {
  /** Absolute path of the inventory file (relative paths in it are relative to its folder). */
  inventoryPath: string;
  /** Turns a path from the inventory into an absolute one. */
  resolvePath: (p: string) => string;
}

export function validateAndNormalize(inv: Inventory, ctx: NormalizeContext): Validated {
  const issues: InventoryIssue[] = [];
  const warnings: string[] = [];
  const product = productProfile(inv.product);

  // Unique names and addresses.
  const seenNames = new Map<string, number>();
  const seenAddresses = new Map<string, number>();
  inv.hosts.forEach((h, i) => {
    const n = seenNames.get(h.name);
    if (n !== undefined) issues.push({ path: `hosts[${i}].name`, message: `"${h.name}" is also the name of hosts[${n}]`, fix: 'give every host a unique name' });
    else seenNames.set(h.name, i);
    const a = seenAddresses.get(h.address);
    if (a !== undefined)
      issues.push({ path: `hosts[${i}].address`, message: `${h.address} is also the address of hosts[${a}] (${inv.hosts[a]?.name})`, fix: 'list each machine once and give it all its roles (roles: [etcd, control_plane])' });
    else seenAddresses.set(h.address, i);
    const dupRoles = h.roles.filter((r, k) => h.roles.indexOf(r) !== k);
    if (dupRoles.length) issues.push({ path: `hosts[${i}].roles`, message: `lists ${dupRoles.join(', ')} twice`, fix: 'list each role once' });
  });

  const withRole = (role: string) => inv.hosts.filter((h) => h.roles.includes(role as never));
  const etcd = withRole('etcd');
  const cps = withRole('control_plane');
  const dps = withRole('data_plane');
  const lbs = withRole('load_balancer');

  // etcd quorum: (N-1)/2 members may fail; an even count adds a member without adding tolerance.
  if (etcd.length === 0) {
    issues.push({ path: 'hosts', message: 'no host has the etcd role', fix: 'give three hosts the etcd role (roles: [etcd]), as in the runbook' });
  } else if (etcd.length % 2 === 0) {
    issues.push({
      path: 'hosts',
      message: `${etcd.length} etcd members: an even count tolerates no more failures than ${etcd.length - 1} members do, and risks split votes`,
      fix: `use an odd number of etcd members (${etcd.length - 1} or ${etcd.length + 1})`,
    });
  } else if (etcd.length === 1 && !inv.allow_no_ha) {
    issues.push({ path: 'hosts', message: 'a single etcd member is not highly available', fix: 'give three hosts the etcd role, or set allow_no_ha: true for a test estate' });
  }
  if (cps.length === 0) issues.push({ path: 'hosts', message: 'no host has the control_plane role', fix: 'give one or two hosts the control_plane role' });
  if (dps.length === 0) issues.push({ path: 'hosts', message: 'no host has the data_plane role', fix: 'give two or more hosts the data_plane role' });
  else if (dps.length < 2) warnings.push(`only ${dps.length} data plane host: losing it stops all traffic; the runbook recommends two or more`);
  if (cps.length === 1) warnings.push('one control plane host: the dashboard is not highly available (the runbook allows this)');

  // Control plane HA needs one shared authentication.secret (apisix-dashboard#2446).
  if (cps.length > 1 && !inv.control_plane.auth_secret) {
    issues.push({
      path: 'control_plane.auth_secret',
      message: `${cps.length} dashboards without a shared authentication.secret: a token signed by one is refused (401) by the other behind the load balancer`,
      fix: 'set control_plane.auth_secret: { env: API7_DASHBOARD_SECRET } or { file: /path/to/secret }',
    });
  }
  if (!inv.control_plane.admin) {
    issues.push({
      path: 'control_plane.admin',
      message: 'no dashboard admin credentials: verification writes its probe route through the control plane API',
      fix: 'set control_plane.admin: { username: admin, password: { file: /path/to/admin-password } }',
    });
  }

  // Load balancers.
  const lb = inv.load_balancer;
  if (lb.mode === 'managed') {
    if (lbs.length === 0)
      issues.push({ path: 'load_balancer.mode', message: 'managed load balancers need a host with the load_balancer role', fix: 'add roles: [load_balancer] to a host, or set load_balancer.mode: external with its URLs' });
    if (!inv.packages.haproxy_image)
      issues.push({ path: 'packages.haproxy_image', message: 'managed load balancers need an HAProxy image', fix: 'set packages.haproxy_image: { tarball: /path/haproxy.tar.gz, name: api7-ha/haproxy:2.6 }' });
    const lbPorts = [lb.control_plane_port, lb.data_plane_port, lb.stats_port];
    if (new Set(lbPorts).size !== lbPorts.length)
      issues.push({ path: 'load_balancer', message: `control_plane_port, data_plane_port and stats_port must differ (got ${lbPorts.join(', ')})`, fix: 'choose three different ports' });
  } else if (!lb.external) {
    issues.push({ path: 'load_balancer.external', message: 'external mode needs the URLs of the existing load balancers', fix: 'set load_balancer.external: { control_plane_url: http://..., data_plane_url: http://... }' });
  }

  // Ports of co-located roles must not clash (host networking: every role binds on the host).
  const portsOf = rolePorts(
    {
      etcd: { clientPort: inv.etcd.client_port, peerPort: inv.etcd.peer_port },
      loadBalancer: { mode: lb.mode, controlPlanePort: lb.control_plane_port, dataPlanePort: lb.data_plane_port, statsPort: lb.stats_port },
    },
    { controlPlane: product.controlPlane.ports, dataPlane: product.dataPlane.ports },
  );
  inv.hosts.forEach((h, i) => {
    const owner = new Map<number, string>();
    for (const role of h.roles) {
      for (const p of portsOf[role]) {
        const other = owner.get(p);
        if (other && other !== role)
          issues.push({
            path: `hosts[${i}].roles`,
            message: `${h.name}: port ${p} is used by both ${other} and ${role}`,
            fix: role === 'load_balancer' || other === 'load_balancer' ? 'move the load balancer to another host or change load_balancer.*_port' : 'put these roles on different hosts',
          });
        else owner.set(p, role);
      }
    }
  });

  // Secrets the configuration needs.
  if (inv.etcd.auth.enabled && !inv.etcd.auth.password)
    issues.push({ path: 'etcd.auth.password', message: 'etcd auth is enabled without a password reference', fix: 'set etcd.auth.password: { env: ETCD_ROOT_PASSWORD } or { file: ... }' });
  if (inv.etcd.tls.enabled) {
    for (const f of ['ca_file', 'server_cert_file', 'server_key_file', 'client_cert_file', 'client_key_file'] as const) {
      if (!inv.etcd.tls[f]) issues.push({ path: `etcd.tls.${f}`, message: 'required when etcd.tls.enabled is true', fix: `set etcd.tls.${f} to a PEM file` });
    }
  }
  const retention = inv.etcd.auto_compaction_retention;
  if (inv.etcd.auto_compaction_mode === 'periodic' && !/[hms]$/.test(retention))
    issues.push({ path: 'etcd.auto_compaction_retention', message: `"${retention}" is a revision count, but auto_compaction_mode is periodic`, fix: 'give a duration such as "1h", or set auto_compaction_mode: revision' });
  if (inv.etcd.auto_compaction_mode === 'revision' && /[hms]$/.test(retention))
    issues.push({ path: 'etcd.auto_compaction_retention', message: `"${retention}" is a duration, but auto_compaction_mode is revision`, fix: 'give a revision count such as "10000", or set auto_compaction_mode: periodic' });
  if (!inv.verification.upstream)
    issues.push({ path: 'verification.upstream', message: 'no upstream for the probe route', fix: 'set verification.upstream to host:port of a service answering the probe path (e.g. an httpbin on 10.0.0.17:80)' });

  if (inv.data_plane.failure_budget >= Math.max(dps.length, 1) && dps.length > 0)
    issues.push({ path: 'data_plane.failure_budget', message: `a budget of ${inv.data_plane.failure_budget} lets every one of the ${dps.length} gateways fail`, fix: `set it below ${dps.length}` });

  // SSH: a known_hosts file is always required; accept-new only records keys on first use.
  inv.hosts.forEach((h, i) => {
    const ssh = { ...inv.ssh, ...h.ssh };
    if (!ssh.known_hosts)
      issues.push({ path: `hosts[${i}].ssh.known_hosts`, message: `${h.name}: no known_hosts file: host keys must be verified`, fix: 'set ssh.known_hosts: /path/known_hosts (host_key_policy: accept-new records keys on first use)' });
    if (!ssh.identity_file && !ssh.agent)
      issues.push({ path: `hosts[${i}].ssh.identity_file`, message: `${h.name}: no SSH credentials`, fix: 'set ssh.identity_file: /path/to/key or ssh.agent: true' });
    const user = ssh.user ?? 'root';
    if (user !== 'root' && !ssh.sudo)
      issues.push({ path: `hosts[${i}].ssh.sudo`, message: `${h.name}: user ${user} is not root, and docker and the runbook's directories need root`, fix: 'set ssh.sudo: true (and sudo_password if sudo asks for one)' });
  });

  if (issues.length) throw new InventoryError(issues, ctx.inventoryPath);

  const abs = (p: string | undefined) => (p === undefined ? undefined : ctx.resolvePath(p));
  const absRef = (r: SecretRef | undefined): SecretRef | undefined => (r === undefined ? undefined : 'file' in r ? { file: ctx.resolvePath(r.file) } : r);

  let etcdIndex = 0;
  const hosts: HostSpec[] = inv.hosts.map((h) => {
    const s = { ...inv.ssh, ...h.ssh };
    const ssh: SshTarget = {
      host: h.name,
      address: h.address,
      port: s.port ?? 22,
      user: s.user ?? 'root',
      ...(s.identity_file ? { identityFile: ctx.resolvePath(s.identity_file) } : {}),
      agent: s.agent ?? false,
      ...(s.passphrase ? { passphrase: absRef(s.passphrase) } : {}),
      sudo: (s.user ?? 'root') !== 'root' && (s.sudo ?? false),
      ...(s.sudo_password ? { sudoPassword: absRef(s.sudo_password) } : {}),
      ...(s.jump_host ? { jump: { address: s.jump_host.address, port: s.jump_host.port, user: s.jump_host.user ?? s.user ?? 'root' } } : {}),
      knownHosts: ctx.resolvePath(s.known_hosts as string),
      hostKeyPolicy: s.host_key_policy ?? 'strict',
      connectTimeoutS: s.connect_timeout_s ?? 10,
    };
    const host: HostSpec = { name: h.name, address: h.address, roles: h.roles, ssh };
    if (h.roles.includes('etcd')) host.etcdName = h.etcd_name ?? `api7-etcd-${++etcdIndex}`;
    return host;
  });

  const secrets: Partial<Record<SecretName, SecretRef>> = {};
  if (inv.etcd.auth.enabled && inv.etcd.auth.password) secrets.etcd_password = absRef(inv.etcd.auth.password);
  if (inv.control_plane.auth_secret) secrets.dashboard_secret = absRef(inv.control_plane.auth_secret);
  if (inv.control_plane.admin) secrets.admin_password = absRef(inv.control_plane.admin.password);

  const spec: ClusterSpec = {
    cluster: { name: inv.cluster.name, clusterId: inv.cluster.cluster_id },
    product: inv.product,
    allowNoHa: inv.allow_no_ha,
    inventoryPath: ctx.inventoryPath,
    hosts,
    packages: {
      controlPlane: ctx.resolvePath(inv.packages.control_plane),
      dataPlane: ctx.resolvePath(inv.packages.data_plane),
      etcdImage: { name: inv.packages.etcd_image.name, ...(inv.packages.etcd_image.tarball ? { tarball: ctx.resolvePath(inv.packages.etcd_image.tarball) } : {}) },
      ...(inv.packages.haproxy_image
        ? { haproxyImage: { name: inv.packages.haproxy_image.name, ...(inv.packages.haproxy_image.tarball ? { tarball: ctx.resolvePath(inv.packages.haproxy_image.tarball) } : {}) } }
        : {}),
    },
    etcd: {
      dataDir: inv.etcd.data_dir,
      containerName: inv.etcd.container_name,
      clusterToken: inv.etcd.cluster_token,
      clientPort: inv.etcd.client_port,
      peerPort: inv.etcd.peer_port,
      enableV2: inv.etcd.enable_v2,
      ...(inv.etcd.heartbeat_interval_ms ? { heartbeatIntervalMs: inv.etcd.heartbeat_interval_ms } : {}),
      ...(inv.etcd.election_timeout_ms ? { electionTimeoutMs: inv.etcd.election_timeout_ms } : {}),
      autoCompaction: { mode: inv.etcd.auto_compaction_mode, retention: inv.etcd.auto_compaction_retention },
      quotaBackendBytes: inv.etcd.quota_backend_bytes,
      auth: { enabled: inv.etcd.auth.enabled, user: inv.etcd.auth.user },
      tls: {
        enabled: inv.etcd.tls.enabled,
        expiryWarningDays: inv.etcd.tls.expiry_warning_days,
        ...(inv.etcd.tls.enabled
          ? {
              caFile: abs(inv.etcd.tls.ca_file),
              serverCertFile: abs(inv.etcd.tls.server_cert_file),
              serverKeyFile: abs(inv.etcd.tls.server_key_file),
              clientCertFile: abs(inv.etcd.tls.client_cert_file),
              clientKeyFile: abs(inv.etcd.tls.client_key_file),
            }
          : {}),
      },
    },
    controlPlane: {
      installDir: inv.control_plane.install_dir,
      adminUser: inv.control_plane.admin?.username ?? 'admin',
      tokenExpireS: inv.control_plane.token_expire_s,
    },
    dataPlane: { installDir: inv.data_plane.install_dir, batchSize: inv.data_plane.batch_size, failureBudget: inv.data_plane.failure_budget },
    loadBalancer: {
      mode: lb.mode,
      controlPlanePort: lb.control_plane_port,
      dataPlanePort: lb.data_plane_port,
      statsPort: lb.stats_port,
      installDir: lb.install_dir,
      checkIntervalMs: lb.check_interval_ms,
      fall: lb.fall,
      rise: lb.rise,
      ...(lb.external ? { external: { controlPlaneUrl: lb.external.control_plane_url, dataPlaneUrl: lb.external.data_plane_url } } : {}),
    },
    verification: {
      host: inv.verification.host,
      path: inv.verification.path,
      expectStatus: inv.verification.expect_status,
      ...(inv.verification.upstream ? { upstream: inv.verification.upstream } : {}),
      routeId: inv.verification.route_id,
      deadlineS: inv.verification.deadline_s,
    },
    failover: { enabled: inv.failover.enabled, recoveryDeadlineS: inv.failover.recovery_deadline_s },
    drills: {
      probeRatePerS: inv.drills.probe_rate_per_s,
      holdS: inv.drills.hold_s,
      ...(inv.drills.scenarios ? { scenarios: inv.drills.scenarios } : {}),
      ...(inv.drills.host_faults === 'lab' ? { hostFaultDriver: { type: 'lab' as const, labDir: ctx.resolvePath('.') } } : {}),
      allowDestructive: inv.drills.allow_destructive,
      thresholds: {
        dpMaxOutageMs: inv.drills.thresholds.dp_max_outage_ms,
        cpMaxOutageMs: inv.drills.thresholds.cp_max_outage_ms,
        etcdCpWriteRecoveryMs: inv.drills.thresholds.etcd_cp_write_recovery_ms,
        etcdDpMaxFailures: inv.drills.thresholds.etcd_dp_max_failures,
        recoveryDeadlineS: inv.drills.thresholds.recovery_deadline_s,
      },
    },
    backup: {
      dir: ctx.resolvePath(inv.backup.dir ?? `backups/${inv.cluster.name}`),
      retention: inv.backup.retention,
      verify: inv.backup.verify,
      ...(inv.backup.verify_tools_dir ? { verifyToolsDir: ctx.resolvePath(inv.backup.verify_tools_dir) } : {}),
    },
    secrets,
  };
  return { spec, warnings };
}
