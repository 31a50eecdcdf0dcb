// docker compose, as the v2 plugin (`docker compose`) or the v1 binary (`docker-compose`): Debian 12
// packages only v1, and an operator's CentOS 7 host may also have only v1, so both are first-class.
import { change, probe, type RemoteCommand } from './types';

export type ComposeVariant = 'plugin' | 'standalone';

export const detectPlugin = () => probe(['docker', 'compose', 'version', '--short'], 'check for the docker compose v2 plugin', { sudo: true, okExit: [0, 1, 125, 127] });
/** Presence only: `docker-compose version` starts Python (~1 s of CPU), `command -v` does not. */
export const detectStandalone = () => probe(['sh', '-c', 'command -v docker-compose'], 'check for the docker-compose v1 binary', { okExit: [0, 1, 127] });

export interface ComposeProject {
  /** The extracted package folder (the runbook `cd`s into it). */
  dir: string;
  file: string;
  /** api7-ha's addition to the vendor's file, beside it: the labels it starts containers with. */
  override: string;
  /** Held (flock) by every `up` of this project, so two never overlap (see up). */
  lock: string;
  /** The name `docker compose` derives from the folder when run inside it, so the runbook's own
   *  `cd api7-2.13.2304-dp && docker compose down` acts on the containers api7-ha started. */
  name: string;
}

/** Compose's default project name: the folder's basename, lowercased, keeping [a-z0-9_-]. */
export function projectNameFor(dir: string): string {
  const base = dir.replace(/(?<!\/)\/+$/, '').split('/').pop() ?? '';
  const name = base.toLowerCase().replace(/[^a-z0-9_-]/g, '');
  if (!name) throw new Error(`cannot derive a compose project name from ${dir}`);
  return name;
}

/** The name of api7-ha's compose file beside the vendor's (see labelOverride). */
export const OVERRIDE_FILE = 'docker-compose.api7-ha.yaml';

export function projectAt(dir: string, file = 'docker-compose.yaml'): ComposeProject {
  return { dir, file: `${dir}/${file}`, name: projectNameFor(dir), override: `${dir}/${OVERRIDE_FILE}`, lock: `${dir}/.api7-ha-compose.lock` };
}

/** The label on a dashboard or gateway container: a digest of the configuration files it started with. */
export const CONFIG_LABEL = 'io.api7-ha.config';

/**
 * api7-ha's compose file, merged over the vendor's at every `up`: the service's labels, so a container
 * says which configuration it was started with (compose puts labels into its own config hash, so a
 * changed label is also what makes compose recreate the container). The vendor's `version:` is repeated,
 * because docker-compose v1 refuses to merge files of different versions.
 */
export function labelOverride(service: string, labels: Record<string, string>, version?: string): string {
  return [
    '# Written by api7-ha before each `docker compose up`: the digest of the configuration files the',
    '# container reads, so a later run (or a retry after a crash) can tell a container started with this',
    '# configuration from one that must be recreated. Without this file, compose recreates the container.',
    ...(version !== undefined ? [`version: ${JSON.stringify(version)}`] : []),
    'services:',
    `  ${JSON.stringify(service)}:`,
    '    labels:',
    ...Object.entries(labels).map(([k, v]) => `      ${JSON.stringify(k)}: ${JSON.stringify(v)}`),
    '',
  ].join('\n');
}

function base(variant: ComposeVariant, p: ComposeProject): string[] {
  const common = ['-p', p.name, '--project-directory', p.dir, '-f', p.file];
  return variant === 'plugin' ? ['docker', 'compose', ...common] : ['docker-compose', ...common];
}

/**
 * `docker compose up -d [service]` with api7-ha's file over the vendor's: compose itself recreates a
 * container whose labels (the configuration digest) differ, starts a stopped one, creates a missing one,
 * and leaves an up-to-date one alone. Under `flock` on the project's lock file: an `up` that outlived
 * its SSH session (the worker was killed) finishes before a retry's `up` starts, so the retry finds the
 * container it created instead of racing it.
 */
export const up = (variant: ComposeVariant, p: ComposeProject, service?: string): RemoteCommand =>
  change(['flock', '-w', '300', p.lock, ...base(variant, p), '-f', p.override, 'up', '-d', ...(service ? [service] : [])], `docker compose up ${service ?? ''} in ${p.dir}`.replace('  ', ' '), {
    timeoutMs: 10 * 60_000,
  });

/** The runbook's failover check: `docker compose down` in the package folder. */
export const down = (variant: ComposeVariant, p: ComposeProject): RemoteCommand =>
  change([...base(variant, p), 'down'], `docker compose down in ${p.dir}`, { timeoutMs: 2 * 60_000 });

export const stopService = (variant: ComposeVariant, p: ComposeProject, service: string): RemoteCommand =>
  change([...base(variant, p), 'stop', service], `docker compose stop ${service} in ${p.dir}`, { timeoutMs: 2 * 60_000 });

/** Container IDs of the project's service (running or not), found by the labels both compose
 *  versions put on their containers: the docker CLI answers in milliseconds, `docker-compose ps`
 *  takes a second of Python start-up. */
export const ps = (p: ComposeProject, service: string): RemoteCommand =>
  probe(
    ['docker', 'ps', '-a', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${p.name}`, '--filter', `label=com.docker.compose.service=${service}`],
    `list the ${service} containers of ${p.name}`,
    { sudo: true },
  );
