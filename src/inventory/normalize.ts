// From the inventory file's shape to the ClusterSpec the workflows run on, as one zod pipeline:
// the field schema (schema.ts), then the rules in stages (rules.ts, then files.ts: a file is only
// looked for once the inventory makes sense), then the shape change (snake_case to camelCase,
// relative paths made absolute, secrets gathered as references, the host-fault driver).
import { z } from 'zod';
import type { ClusterSpec, HostFaultDriverSpec, HostSpec, SecretName, StopConditionSpec } from './model';
import { factsOf, runChecks, warningsOf, type Check } from './rules';
import { inventorySchema, type Inventory, type SecretRef } from './schema';

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

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;
type Camel<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T as K extends string ? CamelCase<K> : K]: Camel<T[K]> } : T;

/** A section whose fields map one to one: keys in camelCase (nested objects too), absent values left out. */
function camel<T extends object>(o: T): Camel<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v !== null && typeof v === 'object' && !Array.isArray(v) ? camel(v as object) : v;
  }
  return out as Camel<T>;
}

/**
 * The inventory schema with the rules and the shape change: `safeParse` gives either every problem of
 * the first stage that has any (field issues, then each rule stage), or the spec and its warnings.
 */
export function clusterSpecSchema(ctx: NormalizeContext, stages: readonly (readonly Check[])[]) {
  // A pipe, not checks on the object schema: the field schema stays the one zod compiled once, and
  // the rules only ever see an inventory whose every field passed.
  return inventorySchema.pipe(
    z
      .custom<Inventory>()
      .superRefine((inv, zctx) => {
        const facts = factsOf(inv);
        for (const stage of stages) {
          const issues = runChecks(stage, facts);
          // The dotted path travels as one segment, printed as it is.
          for (const i of issues) zctx.addIssue({ code: 'custom', path: [i.path], message: i.message, params: { fix: i.fix } });
          if (issues.length) return;
        }
      })
      .transform((inv): Validated => ({ spec: toClusterSpec(inv, ctx), warnings: warningsOf(factsOf(inv)) })),
  );
}

function toClusterSpec(inv: Inventory, ctx: NormalizeContext): ClusterSpec {
  const abs = (p: string | undefined) => (p === undefined ? undefined : ctx.resolvePath(p));
  const absRef = (r: SecretRef): SecretRef => ('file' in r ? { file: ctx.resolvePath(r.file) } : r);
  const image = (i: { name: string; tarball?: string | undefined }) => ({ name: i.name, ...(i.tarball ? { tarball: ctx.resolvePath(i.tarball) } : {}) });

  let etcdIndex = 0;
  const hosts = inv.hosts.map((h): HostSpec => {
    const s = { ...inv.ssh, ...h.ssh };
    const user = s.user ?? 'root';
    return {
      name: h.name,
      address: h.address,
      roles: h.roles,
      ssh: {
        host: h.name,
        address: h.address,
        port: s.port ?? 22,
        user,
        ...(s.identity_file ? { identityFile: ctx.resolvePath(s.identity_file) } : {}),
        agent: s.agent ?? false,
        ...(s.passphrase ? { passphrase: absRef(s.passphrase) } : {}),
        sudo: user !== 'root' && (s.sudo ?? false),
        ...(s.sudo_password ? { sudoPassword: absRef(s.sudo_password) } : {}),
        ...(s.jump_host ? { jump: { address: s.jump_host.address, port: s.jump_host.port, user: s.jump_host.user ?? user } } : {}),
        // The rules refused an inventory without one.
        knownHosts: ctx.resolvePath(s.known_hosts!),
        hostKeyPolicy: s.host_key_policy ?? 'strict',
        connectTimeoutS: s.connect_timeout_s ?? 10,
      },
      ...(h.roles.includes('etcd') ? { etcdName: h.etcd_name ?? `api7-etcd-${++etcdIndex}` } : {}),
    };
  });

  const secrets: Partial<Record<SecretName, SecretRef>> = {};
  if (inv.etcd.auth.enabled && inv.etcd.auth.password) secrets.etcd_password = absRef(inv.etcd.auth.password);
  if (inv.control_plane.auth_secret) secrets.dashboard_secret = absRef(inv.control_plane.auth_secret);
  if (inv.control_plane.admin) secrets.admin_password = absRef(inv.control_plane.admin.password);

  const { auth, tls, ...etcd } = inv.etcd;
  const { host_faults: hostFaults, thresholds, stop_conditions: stopConditions, ...drills } = inv.drills;
  return {
    cluster: camel(inv.cluster),
    product: inv.product,
    allowNoHa: inv.allow_no_ha,
    inventoryPath: ctx.inventoryPath,
    hosts,
    packages: {
      controlPlane: ctx.resolvePath(inv.packages.control_plane),
      dataPlane: ctx.resolvePath(inv.packages.data_plane),
      etcdImage: image(inv.packages.etcd_image),
      ...(inv.packages.haproxy_image ? { haproxyImage: image(inv.packages.haproxy_image) } : {}),
    },
    etcd: {
      ...camel(etcd),
      auth: { enabled: auth.enabled, user: auth.user },
      tls: tls.enabled
        ? {
            enabled: true,
            expiryWarningDays: tls.expiry_warning_days,
            caFile: abs(tls.ca_file),
            serverCertFile: abs(tls.server_cert_file),
            serverKeyFile: abs(tls.server_key_file),
            clientCertFile: abs(tls.client_cert_file),
            clientKeyFile: abs(tls.client_key_file),
          }
        : { enabled: false, expiryWarningDays: tls.expiry_warning_days },
    },
    controlPlane: { installDir: inv.control_plane.install_dir, adminUser: inv.control_plane.admin?.username ?? 'admin', tokenExpireS: inv.control_plane.token_expire_s },
    dataPlane: camel(inv.data_plane),
    loadBalancer: camel(inv.load_balancer),
    verification: camel(inv.verification),
    failover: camel(inv.failover),
    drills: { ...camel(drills), ...(hostFaultDriver(hostFaults, ctx) ?? {}), thresholds: camel(thresholds), stopConditions: stopConditions.map((c) => camel(c) as StopConditionSpec) },
    notifications: {
      ...(inv.notifications.report_url ? { reportUrl: inv.notifications.report_url } : {}),
      webhooks: inv.notifications.webhooks.map((w) => ({ name: w.name, url: absRef(w.url), format: w.format, events: [...w.events], timeoutS: w.timeout_s })),
    },
    backup: {
      dir: ctx.resolvePath(inv.backup.dir ?? `backups/${inv.cluster.name}`),
      retention: inv.backup.retention,
      verify: inv.backup.verify,
      ...(inv.backup.verify_tools_dir ? { verifyToolsDir: ctx.resolvePath(inv.backup.verify_tools_dir) } : {}),
    },
    secrets,
  };
}

function hostFaultDriver(h: Inventory['drills']['host_faults'], ctx: NormalizeContext): { hostFaultDriver: HostFaultDriverSpec } | undefined {
  if (h === 'none') return undefined;
  if (h === 'lab') return { hostFaultDriver: { type: 'lab', labDir: ctx.resolvePath('.') } };
  return { hostFaultDriver: { type: 'commands', commands: camel(h.commands) } };
}
