// Commands as data (as in Kamal's lib/kamal/commands): every action on a host is a small pure value
// built here; an executor (src/remote) runs it. Plans, dry runs and unit tests read the exact commands.

export interface RemoteCommand {
  /** The argv; the executor quotes every element. Never holds a secret (secrets go in `stdin` or files). */
  argv: string[];
  /** false: a read-only probe, which `deploy --plan` runs; true: it changes the host, and a plan only lists it. */
  mutates: boolean;
  /** Needs root: wrapped in sudo on hosts reached as a non-root user. */
  sudo: boolean;
  /** One line for plans, progress and errors. */
  describe: string;
  /** Exit codes that are answers, not failures (e.g. 1 = "no such container" for a probe). */
  okExit?: number[];
  /** Fed to stdin; may hold secret placeholders (__SECRET_name__) that the executor resolves. */
  stdin?: string;
  timeoutMs?: number;
}

/** A file the tool writes on a host (over SFTP, never through a command line). */
export interface FileSpec {
  path: string;
  content: string;
  mode: number;
  /** How secret placeholders in `content` are substituted: as YAML/JSON strings, or raw (env files). */
  secrets: 'none' | 'yaml' | 'raw';
  /** Keep the previous content as <path>.bak-<time> when it changes. */
  backup: boolean;
  describe: string;
}

export const probe = (argv: string[], describe: string, extra: Partial<RemoteCommand> = {}): RemoteCommand => ({
  argv,
  mutates: false,
  sudo: false,
  describe,
  ...extra,
});

export const change = (argv: string[], describe: string, extra: Partial<RemoteCommand> = {}): RemoteCommand => ({
  argv,
  mutates: true,
  sudo: true,
  describe,
  ...extra,
});
