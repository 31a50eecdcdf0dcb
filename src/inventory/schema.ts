// The inventory file's shape (YAML), validated with zod. Field names follow the YAML (snake_case);
// `model.ts` turns a parsed inventory into the normalized ClusterSpec the workflows run on.
//
// Every string that can reach a remote shell matches a strict pattern (patterns.ts); messages name the
// fix, because an operator reads them at 3 a.m.
import { z } from 'zod';
import { hasDotSegments, patterns, type PatternName } from './patterns';

const strict = (name: PatternName) =>
  z.string().regex(patterns[name].re, { message: `must be ${patterns[name].describe}` });

const remotePath = z
  .string()
  .regex(patterns.remotePath.re, { message: `must be ${patterns.remotePath.describe}` })
  .refine((p) => !hasDotSegments(p), { message: 'must not contain "." or ".." segments; write the absolute path' })
  .refine((p) => p !== '/', { message: 'must not be "/"; name a directory of its own' });

/** A local file on the machine that runs the worker. Never reaches a remote shell. */
const localPath = z.string().min(1, { message: 'must be a path to a local file' });

export const secretRefSchema = z.union(
  [
    z.object({ env: strict('envName') }).strict(),
    z.object({ file: localPath }).strict(),
  ],
  { message: 'must be a secret reference: { env: VARIABLE_NAME } or { file: /path/to/file } (never the secret itself)' },
);
export type SecretRef = z.infer<typeof secretRefSchema>;

const port = z.number({ message: 'must be a port number' }).int().min(1, { message: 'must be 1-65535' }).max(65535, { message: 'must be 1-65535' });

export const sshSchema = z
  .object({
    user: strict('user').optional(),
    port: port.optional(),
    identity_file: localPath.optional(),
    /** Use the ssh-agent at $SSH_AUTH_SOCK instead of (or besides) an identity file. */
    agent: z.boolean().optional(),
    passphrase: secretRefSchema.optional(),
    /** Run privileged commands through sudo (required for non-root users). */
    sudo: z.boolean().optional(),
    sudo_password: secretRefSchema.optional(),
    jump_host: z
      .object({ address: strict('address'), port: port.default(22), user: strict('user').optional() })
      .strict()
      .optional(),
    known_hosts: localPath.optional(),
    host_key_policy: z.enum(['strict', 'accept-new'], { message: 'must be "strict" (default) or "accept-new"' }).optional(),
    connect_timeout_s: z.number().int().min(1).max(300).optional(),
  })
  .strict();
export type SshSettings = z.infer<typeof sshSchema>;

export const roleSchema = z.enum(['etcd', 'control_plane', 'data_plane', 'load_balancer'], {
  message: 'must be one of etcd, control_plane, data_plane, load_balancer',
});
export type Role = z.infer<typeof roleSchema>;

export const hostSchema = z
  .object({
    name: strict('hostName'),
    address: strict('address'),
    roles: z.array(roleSchema).min(1, { message: 'must list at least one role' }),
    ssh: sshSchema.optional(),
    /** etcd member name; default api7-etcd-<n> in inventory order, as in the runbook. */
    etcd_name: strict('etcdMemberName').optional(),
  })
  .strict();

const imageSchema = z
  .object({
    /** A `docker save` tarball to load on the hosts; omit to use an image the hosts already have. */
    tarball: localPath.optional(),
    name: strict('imageName'),
  })
  .strict();

export const packagesSchema = z
  .object({
    control_plane: localPath,
    data_plane: localPath,
    etcd_image: imageSchema.default({ name: 'bitnami/etcd:3.4.13' }),
    haproxy_image: imageSchema.optional(),
  })
  .strict();

const etcdSchema = z
  .object({
    data_dir: remotePath.default('/usr/local/etcd/etcd_data'),
    container_name: strict('containerName').default('etcd'),
    cluster_token: strict('etcdToken').default('etcd-cluster'),
    client_port: port.default(2379),
    peer_port: port.default(2380),
    enable_v2: z.boolean().default(true),
    heartbeat_interval_ms: z.number().int().min(10).max(5000).optional(),
    election_timeout_ms: z.number().int().min(50).max(50000).optional(),
    /** Upkeep (etcd op-guide, maintenance): old revisions compacted automatically, and a quota set
     *  explicitly rather than left to the image. A full quota raises NOSPACE (the cluster turns
     *  read-only) until compaction + defrag + alarm disarm (`api7-ha etcd disarm`). */
    auto_compaction_mode: z.enum(['periodic', 'revision'], { message: 'must be "periodic" (retention is a duration) or "revision" (retention is a count)' }).default('periodic'),
    auto_compaction_retention: z
      .string()
      .regex(patterns.compactionRetention.re, { message: `must be ${patterns.compactionRetention.describe}` })
      .default('1h'),
    quota_backend_bytes: z.number().int().min(1 << 20, { message: 'must be at least 1 MiB (1048576)' }).max(8 * 2 ** 30, { message: 'must be at most 8 GiB, etcd\'s suggested maximum' }).default(2 * 2 ** 30),
    auth: z
      .object({
        enabled: z.boolean().default(false),
        user: strict('user').default('root'),
        password: secretRefSchema.optional(),
      })
      .strict()
      .default({ enabled: false, user: 'root' }),
    tls: z
      .object({
        enabled: z.boolean().default(false),
        ca_file: localPath.optional(),
        /** Server/peer certificate with every member's address in its SANs. */
        server_cert_file: localPath.optional(),
        server_key_file: localPath.optional(),
        /** Client certificate for the dashboards and gateways (mTLS). */
        client_cert_file: localPath.optional(),
        client_key_file: localPath.optional(),
        /** `status` warns this many days before a certificate on a host expires. */
        expiry_warning_days: z.number().int().min(1).max(3650).default(30),
      })
      .strict()
      .default({ enabled: false, expiry_warning_days: 30 }),
  })
  .strict();

const controlPlaneSchema = z
  .object({
    install_dir: remotePath.default('/opt/api7'),
    /** The dashboards' shared authentication.secret: without one shared secret, a token from one
     *  dashboard is refused by the other behind the load balancer (apisix-dashboard#2446). */
    auth_secret: secretRefSchema.optional(),
    admin: z
      .object({ username: strict('user').default('admin'), password: secretRefSchema })
      .strict()
      .optional(),
    token_expire_s: z.number().int().min(60).max(604800).default(3600),
  })
  .strict();

const dataPlaneSchema = z
  .object({
    install_dir: remotePath.default('/opt/api7'),
    /** Gateways rolled out at once when changing a running estate (first install: all at once). */
    batch_size: z.number().int().min(1).max(1000).default(5),
    /** Gateways that may fail in a rollout before it stops. */
    failure_budget: z.number().int().min(0).default(0),
  })
  .strict();

const loadBalancerSchema = z
  .object({
    mode: z.enum(['managed', 'external'], { message: 'must be "managed" (api7-ha runs HAProxy) or "external"' }).default('managed'),
    control_plane_port: port.default(9000),
    data_plane_port: port.default(80),
    stats_port: port.default(8404),
    install_dir: remotePath.default('/opt/api7-ha/haproxy'),
    /** HAProxy health-check interval: a lost backend leaves rotation after fall x interval. */
    check_interval_ms: z.number().int().min(50).max(10000).default(250),
    fall: z.number().int().min(1).max(10).default(2),
    rise: z.number().int().min(1).max(10).default(2),
    external: z
      .object({ control_plane_url: strict('url'), data_plane_url: strict('url') })
      .strict()
      .optional(),
  })
  .strict();

const verificationSchema = z
  .object({
    host: strict('httpHost').default('test.com'),
    path: strict('httpPath').default('/get'),
    expect_status: z.number().int().min(100).max(599).default(200),
    /** Where the probe route sends traffic (the runbook's httpbin). */
    upstream: strict('hostPort').optional(),
    route_id: strict('routeId').default('api7-ha-probe'),
    deadline_s: z.number().int().min(1).max(3600).default(60),
  })
  .strict();

const failoverSchema = z
  .object({
    /** Run the runbook's three checks (stop a gateway, a dashboard, an etcd member) after deploy. */
    enabled: z.boolean().default(true),
    recovery_deadline_s: z.number().int().min(5).max(3600).default(120),
  })
  .strict();

const drillThresholdsSchema = z
  .object({
    dp_max_outage_ms: z.number().int().min(0).default(2000),
    cp_max_outage_ms: z.number().int().min(0).default(5000),
    etcd_cp_write_recovery_ms: z.number().int().min(0).default(5000),
    etcd_dp_max_failures: z.number().int().min(0).default(0),
    recovery_deadline_s: z.number().int().min(5).default(120),
  })
  .strict();

const backupSchema = z
  .object({
    /** Where snapshots are kept on the worker's machine (every worker must see the same folder);
     *  default: backups/<cluster> beside the inventory. */
    dir: localPath.optional(),
    /** Snapshots of this cluster kept; older ones are deleted after a new one is verified. */
    retention: z.number().int().min(1).max(1000).default(14),
    /** Restore every snapshot into a throwaway etcd on the worker and compare it with the estate. */
    verify: z.boolean().default(true),
    /** A folder holding the etcd and etcdctl the verification runs (default: found on PATH). */
    verify_tools_dir: localPath.optional(),
  })
  .strict();

const drillsSchema = z
  .object({
    probe_rate_per_s: z.number().min(1).max(200).default(20),
    hold_s: z.number().min(1).max(600).default(6),
    scenarios: z.array(z.string()).optional(),
    /** Faults that take whole hosts (host-loss, etcd-partition) need a driver that can power a host
     *  off and on or cut its network: "lab" (api7-ha's lab, written by `lab up`); none on a real estate
     *  unless one is configured. */
    host_faults: z.enum(['none', 'lab'], { message: 'must be "none" or "lab"' }).default('none'),
    /** Scenarios that destroy state and rebuild it (etcd-quorum-loss: its rollback is a restore from
     *  a snapshot taken by the drill): refused unless the operator allows them here. */
    allow_destructive: z.boolean().default(false),
    thresholds: drillThresholdsSchema.default({
      dp_max_outage_ms: 2000,
      cp_max_outage_ms: 5000,
      etcd_cp_write_recovery_ms: 5000,
      etcd_dp_max_failures: 0,
      recovery_deadline_s: 120,
    }),
  })
  .strict();

export const inventorySchema = z
  .object({
    cluster: z
      .object({ name: strict('clusterName'), cluster_id: z.union([strict('clusterId'), z.number().int().nonnegative().transform(String)]) })
      .strict(),
    product: z.enum(['api7-ee-2.13', 'apisix-3'], { message: 'must be "api7-ee-2.13" (default) or "apisix-3"' }).default('api7-ee-2.13'),
    /** A single etcd member (no fault tolerance) is only accepted with this explicit opt-out; an even count never is. */
    allow_no_ha: z.boolean().default(false),
    ssh: sshSchema.default({}),
    hosts: z.array(hostSchema).min(1, { message: 'must list the hosts of the estate' }),
    packages: packagesSchema,
    etcd: etcdSchema.default(() => etcdSchema.parse({})),
    control_plane: controlPlaneSchema.default(() => controlPlaneSchema.parse({})),
    data_plane: dataPlaneSchema.default(() => dataPlaneSchema.parse({})),
    load_balancer: loadBalancerSchema.default(() => loadBalancerSchema.parse({})),
    verification: verificationSchema.default(() => verificationSchema.parse({})),
    failover: failoverSchema.default(() => failoverSchema.parse({})),
    drills: drillsSchema.default(() => drillsSchema.parse({})),
    backup: backupSchema.default(() => backupSchema.parse({})),
    /** Written by the lab; ignored by deploys. */
    lab: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type RawInventory = z.input<typeof inventorySchema>;
export type Inventory = z.output<typeof inventorySchema>;
