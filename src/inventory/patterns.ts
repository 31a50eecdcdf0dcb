// Strict patterns for every inventory string that can reach a remote shell, a file on a host, or a
// container label. Values are validated here AND quoted by the executor: validation gives the operator
// a clear error before anything touches a host; quoting is the second wall.
//
// Every pattern is linear-time: unambiguous (recheck proves it in test/unit/patterns.test.ts, and
// eslint-plugin-regexp refuses super-linear backtracking anywhere in the code), with no lookaround,
// and lengths bounded by `max` (checked before the pattern, so a 100k-character value never meets it).
//
// No Node built-ins: workflows import the types next to these.

export interface Pattern {
  re: RegExp;
  /** The longest valid value. */
  max: number;
  /** What a valid value looks like, used in error messages ("fix: ..."). */
  describe: string;
}

const ipv4 = String.raw`(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`;
/** DNS labels; the last one starts with a letter (no top-level domain is numeric), which is what
 *  tells "10.88.0.256" (a typo) from a name. */
const dnsName = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`;

export const patterns = {
  clusterName: { re: /^[a-z][a-z0-9-]{0,39}$/, max: 40, describe: 'lowercase letters, digits and dashes, starting with a letter, at most 40 characters (e.g. "prod-eu")' },
  clusterId: { re: /^[A-Za-z0-9_-]{1,64}$/, max: 64, describe: 'letters, digits, "_" and "-" (e.g. "21322091")' },
  hostName: { re: /^[a-z][a-z0-9-]{0,62}$/, max: 63, describe: 'lowercase letters, digits and dashes, starting with a letter (e.g. "ha1")' },
  address: {
    re: new RegExp(`^${ipv4}$|^${dnsName}$`),
    max: 253,
    describe: 'an IPv4 address or a DNS name (e.g. "10.0.0.11" or "ha1.example.com")',
  },
  user: { re: /^[a-z_][a-z0-9_-]{0,31}$/, max: 32, describe: 'a POSIX user name (e.g. "root" or "deploy")' },
  // Was /^\/(?:[A-Za-z0-9._-]+\/?)*$/: the optional "/" let each letter run split in 2^n ways, so
  // "/" + 30 letters + "!" took 21 s. Now every segment ends at a "/" or at the end: one way.
  remotePath: { re: /^\/(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]*$/, max: 1024, describe: 'an absolute path of letters, digits, ".", "_", "-" and "/" (e.g. "/usr/local/etcd/etcd_data")' },
  imageName: {
    re: /^[a-z0-9][a-z0-9._-]*(?::\d{1,5})?(?:\/[a-z0-9][a-z0-9._-]*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    max: 512,
    describe: 'a Docker image reference (e.g. "bitnami/etcd:3.4.13" or "registry.local/etcd@sha256:<64 hex>")',
  },
  containerName: { re: /^[a-zA-Z0-9][\w.-]{0,62}$/, max: 63, describe: 'a Docker container name (letters, digits, "_", "." and "-")' },
  etcdToken: { re: /^[\w-]{1,64}$/, max: 64, describe: 'letters, digits, "_" and "-" (e.g. "etcd-cluster")' },
  etcdMemberName: { re: /^[\w-]{1,64}$/, max: 64, describe: 'letters, digits, "_" and "-" (e.g. "api7-etcd-1")' },
  httpHost: { re: /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}(?::\d{1,5})?$/, max: 259, describe: 'a host name, optionally with a port (e.g. "test.com")' },
  httpPath: { re: /^\/[\w.~/%-]*$/, max: 1024, describe: 'an absolute URL path (e.g. "/get")' },
  hostPort: {
    re: new RegExp(String.raw`^${ipv4}:\d{1,5}$|^[A-Za-z0-9.-]{1,253}:\d{1,5}$`),
    max: 259,
    describe: 'host:port (e.g. "10.0.0.17:80")',
  },
  routeId: { re: /^[\w-]{1,64}$/, max: 64, describe: 'letters, digits, "_" and "-" (e.g. "api7-ha-probe")' },
  compactionRetention: { re: /^(?:[1-9]\d{0,9}|[1-9]\d{0,5}[hms])$/, max: 10, describe: 'a duration such as "1h" or "30m" (periodic) or a revision count such as "1000" (revision)' },
  envName: { re: /^[A-Za-z_]\w{0,127}$/, max: 128, describe: 'an environment variable name (e.g. "API7_DASHBOARD_SECRET")' },
  url: { re: /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(?:\/[\w.~/%-]*)?$/, max: 2048, describe: 'an http(s) URL (e.g. "http://10.0.0.16:9000")' },
  /** A link with the run's workflow and run IDs filled in (notifications' report_url). */
  urlTemplate: {
    re: /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(?:\/(?:[\w.~/%=&?#-]|\{workflow_id\}|\{run_id\})*)?$/,
    max: 2048,
    describe: 'an http(s) URL with the placeholders {workflow_id} and {run_id} (e.g. "http://temporal-ui:8233/namespaces/default/workflows/{workflow_id}/{run_id}")',
  },
  /** A name people read in journals, notifications and metrics (a stop condition, a webhook). */
  label: { re: /^[A-Za-z0-9][\w.-]{0,63}$/, max: 64, describe: 'letters, digits, "_", "." and "-", starting with a letter or digit (e.g. "gateways-up")' },
  /** The base name of a package or image file: it reaches remote probes (`sha256sum <dir>/<name>`). */
  fileName: { re: /^[A-Za-z0-9][\w.+-]{0,254}$/, max: 255, describe: 'a file name of letters, digits, ".", "_", "+" and "-", not starting with "." or "-" (e.g. "api7-2.13.2304-cp.tar.gz")' },
  /** The program of an operator's host-fault command (run on the worker, never through a shell). */
  program: { re: /^[\w./][\w./-]{0,255}$/, max: 256, describe: 'a program name or path of letters, digits, ".", "_", "-" and "/" (e.g. "ipmitool" or "/usr/local/bin/power")' },
  /** One argument of a host-fault command: no spaces or quotes (there is no shell to need them);
   *  {host} and {address} are the only placeholders. */
  argument: {
    re: /^(?:[\w@%+=:,./-]|\{host\}|\{address\})+$/,
    max: 512,
    describe: 'letters, digits and @ % + = : , . / _ -, with the placeholders {host} and {address} (e.g. "--instance={host}")',
  },
} satisfies Record<string, Pattern>;

export type PatternName = keyof typeof patterns;

export function matches(name: PatternName, value: string): boolean {
  const p: Pattern = patterns[name];
  return value.length <= p.max && p.re.test(value);
}

/** A path with no "." or ".." segment: those would let a value escape the directory it names. */
export function hasDotSegments(path: string): boolean {
  return path.split('/').some((seg) => seg === '.' || seg === '..');
}

/** C0 and C1 control characters, DEL, and the Unicode line, paragraph and bidirectional controls
 *  (a value holding them can rewrite a terminal line or reorder what an operator reads). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');

export const hasControlCharacters = (s: string): boolean => CONTROL.test(s);

/** A value made safe to print in a message: control characters written as escapes ("\n", "\u001b"). */
export function printable(s: string): string {
  return s.replace(CONTROLS, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** A value quoted for a message: escaped, and cut short (a 100k-character value is not echoed whole). */
export function excerpt(s: string, max = 60): string {
  const shown = s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
  return `"${printable(shown)}"`;
}
