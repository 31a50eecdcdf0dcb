// The inventory file's shape (YAML), validated with zod. Field names follow the YAML (snake_case);
// `normalize.ts` turns a parsed inventory into the normalized ClusterSpec the workflows run on.
//
// Every string that can reach a remote shell matches a strict pattern (patterns.ts); every number has
// both bounds; messages name the fix, because an operator reads them at 3 a.m.
import { z } from 'zod';
import { NOTIFICATION_EVENTS, SCENARIO_IDS } from './vocabulary';
import { excerpt, hasControlCharacters, hasDotSegments, patterns, type PatternName } from './patterns';

/** A string of at most `max` characters (checked first: a 100k-character value never meets a pattern). */
const bounded = (max: number) => z.string().max(max, { message: `is longer than ${max} characters` });
/** Later checks of a field wait for the earlier ones (a too-long value gets one message, and never meets its pattern). */
const unlessWrong = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };

const strict = (name: PatternName) => bounded(patterns[name].max).regex(patterns[name].re, { message: `must be ${patterns[name].describe}`, ...unlessWrong });

const remotePath = strict('remotePath')
  .refine((p) => !hasDotSegments(p), { message: 'must not contain "." or ".." segments; write the absolute path', ...unlessWrong })
  .refine((p) => p !== '/', { message: 'must not be "/"; name a directory of its own', ...unlessWrong });

/** A local file on the machine that runs the worker. Never reaches a remote shell, but it is printed. */
const localPath = bounded(4096)
  .min(1, { message: 'must be a path to a local file', ...unlessWrong })
  .refine((p) => !hasControlCharacters(p), { message: 'must not contain control characters or line breaks', params: { fix: 'write the path of the file as it is on disk' }, ...unlessWrong });

/** A package or image tarball: its base name reaches remote probes (`sha256sum <dir>/<name>`). */
const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const tarballPath = localPath.refine((p) => patterns.fileName.re.test(baseName(p)), {
  error: (iss) => `names the file ${excerpt(baseName(String(iss.input)))}, whose name api7-ha does not pass to a remote shell: a package or image file name must be ${patterns.fileName.describe}`,
  params: { fix: 'rename the file (e.g. api7-2.13.2304-cp.tar.gz) and point {path} at it' },
  ...unlessWrong,
});

/** An integer from `min` to `max`: every number has an upper bound. */
const int = (min: number, max: number) => z.number().int().min(min, { message: `must be ${min}-${max}` }).max(max, { message: `must be ${min}-${max}` });

export const secretRefSchema = z.union(
  [
    z.object({ env: strict('envName') }).strict(),
    z.object({ file: localPath }).strict(),
  ],
  { message: 'must be a secret reference: { env: VARIABLE_NAME } or { file: /path/to/file } (never the secret itself)' },
);
export type SecretRef = z.infer<typeof secretRefSchema>;

const port = z.number({ message: 'must be a port number' }).int().min(1, { message: 'must be 1-65535' }).max(65535, { message: 'must be 1-65535' });

const scenarioIds = SCENARIO_IDS;

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
    connect_timeout_s: int(1, 300).optional(),
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
    roles: z.array(roleSchema).min(1, { message: 'must list at least one role' }).max(4, { message: 'must list each of the four roles at most once' }),
    ssh: sshSchema.optional(),
    /** etcd member name; default api7-etcd-<n> in inventory order, as in the runbook. */
    etcd_name: strict('etcdMemberName').optional(),
  })
  .strict();

const imageSchema = z
  .object({
    /** A `docker save` tarball to load on the hosts; omit to use an image the hosts already have. */
    tarball: tarballPath.optional(),
    name: strict('imageName'),
  })
  .strict();

export const packagesSchema = z
  .object({
    control_plane: tarballPath,
    data_plane: tarballPath,
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
    heartbeat_interval_ms: int(10, 5000).optional(),
    election_timeout_ms: int(50, 50000).optional(),
    /** Upkeep (etcd op-guide, maintenance): old revisions compacted automatically, and a quota set
     *  explicitly rather than left to the image. A full quota raises NOSPACE (the cluster turns
     *  read-only) until compaction + defrag + alarm disarm (`api7-ha etcd disarm`). */
    auto_compaction_mode: z.enum(['periodic', 'revision'], { message: 'must be "periodic" (retention is a duration) or "revision" (retention is a count)' }).default('periodic'),
    auto_compaction_retention: strict('compactionRetention').default('1h'),
    quota_backend_bytes: z
      .number({ message: 'must be a number of bytes' })
      .int()
      .min(2 ** 20, { message: 'must be at least 1 MiB (1048576)' })
      .max(8 * 2 ** 30, { message: "must be at most 8 GiB (8589934592), etcd's suggested maximum" })
      .default(2 * 2 ** 30),
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
        expiry_warning_days: int(1, 3650).default(30),
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
    token_expire_s: int(60, 604800).default(3600),
  })
  .strict();

const dataPlaneSchema = z
  .object({
    install_dir: remotePath.default('/opt/api7'),
    /** Gateways rolled out at once when changing a running estate (first install: all at once). */
    batch_size: int(1, 1000).default(5),
    /** Gateways that may fail in a rollout before it stops. */
    failure_budget: int(0, 5000).default(0),
  })
  .strict();

const loadBalancerSchema = z
  .object({
    mode: z.enum(['managed', 'external'], { message: 'must be "managed" (api7-ha runs HAProxy) or "external"' }).default('managed'),
    control_plane_port: port.default(9000),
    data_plane_port: port.default(80),
    stats_port: port.default(8404),
    /** HAProxy's runtime API (drain / ready during upgrades), on the load balancer host's loopback only. */
    runtime_api_port: port.default(9999),
    install_dir: remotePath.default('/opt/api7-ha/haproxy'),
    /** HAProxy health-check interval: a lost backend leaves rotation after fall x interval. */
    check_interval_ms: int(50, 10000).default(250),
    fall: int(1, 10).default(2),
    rise: int(1, 10).default(2),
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
    expect_status: int(100, 599).default(200),
    /** Where the probe route sends traffic (the runbook's httpbin). */
    upstream: strict('hostPort').optional(),
    route_id: strict('routeId').default('api7-ha-probe'),
    deadline_s: int(1, 3600).default(60),
  })
  .strict();

const failoverSchema = z
  .object({
    /** Run the runbook's three checks (stop a gateway, a dashboard, an etcd member) after deploy. */
    enabled: z.boolean().default(true),
    recovery_deadline_s: int(5, 3600).default(120),
  })
  .strict();

const drillThresholdsSchema = z
  .object({
    dp_max_outage_ms: int(0, 600_000).default(2000),
    cp_max_outage_ms: int(0, 600_000).default(5000),
    etcd_cp_write_recovery_ms: int(0, 600_000).default(5000),
    etcd_dp_max_failures: int(0, 1_000_000).default(0),
    recovery_deadline_s: int(5, 3600).default(120),
    /** config-propagation: each gateway's p99 from a change acknowledged to it served. */
    propagation_p99_ms: int(1, 600_000).default(3000),
    /** A version not served this long after it was written: that gateway stopped receiving changes. */
    propagation_stale_ms: int(100, 600_000).default(5000),
  })
  .strict();

/** Free text sent to a service the worker asks (a PromQL query), never to a shell: bounded, one line. */
const oneLine = (max: number) =>
  bounded(max)
    .min(1, { message: 'must not be empty', ...unlessWrong })
    .refine((q) => !hasControlCharacters(q), { message: 'must be one line without control characters', ...unlessWrong });

/**
 * Stop conditions from outside, polled while a fault holds: any one that fires aborts the fault at
 * once (rolled back, scenario aborted, drill failed).
 */
const stopConditionSchema = byShapeOf({
  http: z
    .object({
      name: strict('label'),
      http: z
        .object({
          url: strict('url'),
          expect_status: int(100, 599).default(200),
          timeout_ms: int(50, 60_000).default(1000),
          /** Failed checks in a row before it fires. */
          consecutive: int(1, 20).default(2),
        })
        .strict(),
    })
    .strict(),
  prometheus: z
    .object({
      name: strict('label'),
      prometheus: z
        .object({
          url: strict('url'),
          query: oneLine(4000),
          threshold: z.number({ message: 'must be a number' }).finite({ message: 'must be a finite number' }),
          /** Fires when any series of the result is above (default) or below the threshold. */
          when: z.enum(['above', 'below'], { message: 'must be "above" or "below"' }).default('above'),
        })
        .strict(),
    })
    .strict(),
});

/**
 * A value or a mapping, told apart by shape: a mapping's problems are reported at their own fields
 * (zod's union would report a missing command as "not one of the options" at the parent).
 */
function byShape<V extends z.ZodType, M extends z.ZodType>(value: V, mapping: M) {
  return z.unknown().transform((input, ctx): z.output<V> | z.output<M> => {
    const r = (input !== null && typeof input === 'object' && !Array.isArray(input) ? mapping : value).safeParse(input);
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.issues.push({ ...issue, input } as never);
    return z.NEVER;
  });
}

/**
 * One of several mappings told apart by the key each has (`http:` or `prometheus:`): the chosen one's
 * problems are reported at its own fields; a mapping with none of the keys names them all.
 */
function byShapeOf<M extends Record<string, z.ZodType>>(mappings: M) {
  const keys = Object.keys(mappings);
  return z.unknown().transform((input, ctx): z.output<M[keyof M]> => {
    const key = input !== null && typeof input === 'object' && !Array.isArray(input) ? keys.find((k) => k in input) : undefined;
    if (!key) {
      ctx.issues.push({ code: 'custom', message: `must be a mapping with one of ${keys.map((k) => `${k}: {...}`).join(' or ')} (and a name)`, input } as never);
      return z.NEVER;
    }
    const r = mappings[key]!.safeParse(input);
    if (r.success) return r.data as z.output<M[keyof M]>;
    for (const issue of r.error.issues) ctx.issues.push({ ...issue, input } as never);
    return z.NEVER;
  });
}

/** An argv run on the worker's machine, never through a shell: a program, then its arguments. */
const argvSchema = z
  .tuple([strict('program')], strict('argument'))
  .refine((argv) => argv.length <= 64, { message: 'must have at most 64 elements' });

const hostFaultCommandsSchema = z
  .object({
    commands: z
      .object({
        power_off: argvSchema,
        power_on: argvSchema,
        disconnect: argvSchema.optional(),
        reconnect: argvSchema.optional(),
        timeout_s: int(1, 3600).default(60),
      })
      .strict(),
  })
  .strict();

const drillsSchema = z
  .object({
    probe_rate_per_s: z.number().min(1, { message: 'must be 1-200' }).max(200, { message: 'must be 1-200' }).default(20),
    hold_s: z.number().min(1, { message: 'must be 1-600' }).max(600, { message: 'must be 1-600' }).default(6),
    scenarios: z
      .array(z.enum(scenarioIds, { message: `must be one of ${scenarioIds.join(', ')}` }))
      .min(1, { message: 'must name at least one scenario (or leave scenarios out for the default set)' })
      .max(scenarioIds.length * 2, { message: `must list at most ${scenarioIds.length * 2} scenarios` })
      .optional(),
    /** Faults that take whole hosts (host-loss, etcd-partition) need a driver that can power a host
     *  off and on or cut its network: "lab" (api7-ha's lab, written by `lab up`), or the operator's own
     *  commands (IPMI, a cloud CLI); none on a real estate unless one is configured. */
    host_faults: byShape(
      z.enum(['none', 'lab'], { message: 'must be "none", "lab" or { commands: { power_off: [program, args...], power_on: [...], disconnect: [...], reconnect: [...] } }' }),
      hostFaultCommandsSchema,
    )
      .optional()
      .default('none'),
    /** Scenarios that destroy state and rebuild it (etcd-quorum-loss: its rollback is a restore from
     *  a snapshot taken by the drill): refused unless the operator allows them here. */
    allow_destructive: z.boolean().default(false),
    thresholds: drillThresholdsSchema.default(() => drillThresholdsSchema.parse({})),
    stop_conditions: z.array(stopConditionSchema).max(20, { message: 'must list at most 20 stop conditions' }).default([]),
  })
  .strict();

const webhookSchema = z
  .object({
    name: strict('label'),
    /** The URL is a secret (a Slack hook's holds its token): by reference only. */
    url: secretRefSchema,
    format: z.enum(['json', 'slack'], { message: 'must be "json" (a generic JSON document) or "slack" (a Slack-compatible message)' }).default('json'),
    /** The events this webhook gets; leave out for all of them. */
    events: z
      .array(z.enum(NOTIFICATION_EVENTS, { message: `must be one of ${NOTIFICATION_EVENTS.join(', ')}` }))
      .max(NOTIFICATION_EVENTS.length, { message: `must list at most ${NOTIFICATION_EVENTS.length} events` })
      .default([]),
    timeout_s: int(1, 120).default(10),
  })
  .strict();

const notificationsSchema = z
  .object({
    /** Where people find a run's report, e.g. the Temporal UI: {workflow_id} and {run_id} are filled in. */
    report_url: strict('urlTemplate').optional(),
    webhooks: z.array(webhookSchema).max(20, { message: 'must list at most 20 webhooks' }).default([]),
  })
  .strict();

const backupSchema = z
  .object({
    /** Where snapshots are kept on the worker's machine (every worker must see the same folder);
     *  default: backups/<cluster> beside the inventory. */
    dir: localPath.optional(),
    /** Snapshots of this cluster kept; older ones are deleted after a new one is taken. */
    retention: int(1, 1000).default(14),
    /** Restore every snapshot into a throwaway etcd on the worker and compare it with the estate. */
    verify: z.boolean().default(true),
    /** A folder holding the etcd and etcdctl the verification runs (default: found on PATH). */
    verify_tools_dir: localPath.optional(),
  })
  .strict();

export const inventorySchema = z
  .object({
    cluster: z
      .object({ name: strict('clusterName'), cluster_id: z.union([strict('clusterId'), int(0, Number.MAX_SAFE_INTEGER).transform(String)], { message: `must be ${patterns.clusterId.describe}` }) })
      .strict(),
    product: z.enum(['api7-ee-2.13', 'apisix-3'], { message: 'must be "api7-ee-2.13" (default) or "apisix-3"' }).default('api7-ee-2.13'),
    /** A single etcd member (no fault tolerance) is only accepted with this explicit opt-out; an even count never is. */
    allow_no_ha: z.boolean().default(false),
    ssh: sshSchema.default({}),
    hosts: z.array(hostSchema).min(1, { message: 'must list the hosts of the estate' }).max(5000, { message: 'must list at most 5000 hosts' }),
    packages: packagesSchema,
    etcd: etcdSchema.default(() => etcdSchema.parse({})),
    control_plane: controlPlaneSchema.default(() => controlPlaneSchema.parse({})),
    data_plane: dataPlaneSchema.default(() => dataPlaneSchema.parse({})),
    load_balancer: loadBalancerSchema.default(() => loadBalancerSchema.parse({})),
    verification: verificationSchema.default(() => verificationSchema.parse({})),
    failover: failoverSchema.default(() => failoverSchema.parse({})),
    drills: drillsSchema.default(() => drillsSchema.parse({})),
    notifications: notificationsSchema.default(() => notificationsSchema.parse({})),
    backup: backupSchema.default(() => backupSchema.parse({})),
    /** Written by the lab (the host that plays the probe route's upstream); ignored by deploys. */
    lab: z.object({ upstream_host: strict('hostName').optional() }).strict().optional(),
  })
  .strict();

export type RawInventory = z.input<typeof inventorySchema>;
export type Inventory = z.output<typeof inventorySchema>;
