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

export function projectAt(dir: string, file = 'docker-compose.yaml'): ComposeProject {
  return { dir, file: `${dir}/${file}`, name: projectNameFor(dir) };
}

function base(variant: ComposeVariant, p: ComposeProject): string[] {
  const common = ['-p', p.name, '--project-directory', p.dir, '-f', p.file];
  return variant === 'plugin' ? ['docker', 'compose', ...common] : ['docker-compose', ...common];
}

/** `docker compose up -d [service]`; `recreate` forces new containers after a config file changed
 *  (compose does not notice a changed file behind a bind mount). */
export const up = (variant: ComposeVariant, p: ComposeProject, service?: string, recreate = false): RemoteCommand =>
  change([...base(variant, p), 'up', '-d', ...(recreate ? ['--force-recreate'] : []), ...(service ? [service] : [])], `docker compose up ${service ?? ''} in ${p.dir}`.replace('  ', ' '), { timeoutMs: 5 * 60_000 });

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
