// Strict patterns for every inventory string that can reach a remote shell, a file on a host, or a
// container label. Values are validated here AND quoted by the executor: validation gives the operator
// a clear error before anything touches a host; quoting is the second wall.
//
// No Node built-ins: workflows import the types next to these.

export interface Pattern {
  re: RegExp;
  /** What a valid value looks like, used in error messages ("fix: ..."). */
  describe: string;
}

export const patterns = {
  clusterName: { re: /^[a-z][a-z0-9-]{0,39}$/, describe: 'lowercase letters, digits and dashes, starting with a letter, at most 40 characters (e.g. "prod-eu")' },
  clusterId: { re: /^[A-Za-z0-9_-]{1,64}$/, describe: 'letters, digits, "_" and "-" (e.g. "21322091")' },
  hostName: { re: /^[a-z][a-z0-9-]{0,62}$/, describe: 'lowercase letters, digits and dashes, starting with a letter (e.g. "ha1")' },
  address: {
    re: /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$|^(?![0-9.]+$)(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    describe: 'an IPv4 address or a DNS name (e.g. "10.0.0.11" or "ha1.example.com")',
  },
  user: { re: /^[a-z_][a-z0-9_-]{0,31}$/, describe: 'a POSIX user name (e.g. "root" or "deploy")' },
  remotePath: { re: /^\/(?:[A-Za-z0-9._-]+\/?)*$/, describe: 'an absolute path of letters, digits, ".", "_", "-" and "/" (e.g. "/usr/local/etcd/etcd_data")' },
  imageName: {
    re: /^[a-z0-9][a-z0-9._-]*(?::[0-9]{1,5})?(?:\/[a-z0-9][a-z0-9._-]*)*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    describe: 'a Docker image reference (e.g. "bitnami/etcd:3.4.13" or "registry.local/etcd@sha256:<64 hex>")',
  },
  containerName: { re: /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, describe: 'a Docker container name (letters, digits, "_", "." and "-")' },
  etcdToken: { re: /^[A-Za-z0-9_-]{1,64}$/, describe: 'letters, digits, "_" and "-" (e.g. "etcd-cluster")' },
  etcdMemberName: { re: /^[A-Za-z0-9_-]{1,64}$/, describe: 'letters, digits, "_" and "-" (e.g. "api7-etcd-1")' },
  httpHost: { re: /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?$/, describe: 'a host name, optionally with a port (e.g. "test.com")' },
  httpPath: { re: /^\/[A-Za-z0-9._~/%-]*$/, describe: 'an absolute URL path (e.g. "/get")' },
  hostPort: {
    re: /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d):[0-9]{1,5}$|^[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$/,
    describe: 'host:port (e.g. "10.0.0.17:80")',
  },
  routeId: { re: /^[A-Za-z0-9_-]{1,64}$/, describe: 'letters, digits, "_" and "-" (e.g. "api7-ha-probe")' },
  compactionRetention: { re: /^(?:[1-9][0-9]{0,9}|[1-9][0-9]{0,5}(?:h|m|s))$/, describe: 'a duration such as "1h" or "30m" (periodic) or a revision count such as "1000" (revision)' },
  envName: { re: /^[A-Za-z_][A-Za-z0-9_]{0,127}$/, describe: 'an environment variable name (e.g. "API7_DASHBOARD_SECRET")' },
  url: { re: /^https?:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:\/[A-Za-z0-9._~/%-]*)?$/, describe: 'an http(s) URL (e.g. "http://10.0.0.16:9000")' },
} satisfies Record<string, Pattern>;

export type PatternName = keyof typeof patterns;

export function matches(name: PatternName, value: string): boolean {
  return patterns[name].re.test(value);
}

/** A path with no "." or ".." segment: those would let a value escape the directory it names. */
export function hasDotSegments(path: string): boolean {
  return path.split('/').some((seg) => seg === '.' || seg === '..');
}
