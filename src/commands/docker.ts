// Docker CLI commands. Every docker command needs root (or the docker group): sudo: true.
import { change, probe, type RemoteCommand } from './types';

const dockerProbe = (argv: string[], describe: string, extra: Partial<RemoteCommand> = {}) => probe(['docker', ...argv], describe, { sudo: true, ...extra });
const docker = (argv: string[], describe: string, extra: Partial<RemoteCommand> = {}) => change(['docker', ...argv], describe, extra);

/** Label keys api7-ha puts on what it creates, so a re-run recognises its own containers. */
export const LABELS = {
  managedBy: 'io.api7-ha.managed-by',
  cluster: 'io.api7-ha.cluster',
  role: 'io.api7-ha.role',
  configHash: 'io.api7-ha.config-hash',
} as const;

export interface ContainerRunSpec {
  name: string;
  image: string;
  restart: 'always' | 'unless-stopped' | 'no';
  user?: string;
  network: 'host';
  volumes: string[];
  env: [string, string][];
  /** Files of KEY=value lines on the host (used for secrets so they never appear in a command line). */
  envFiles: string[];
  labels: [string, string][];
  command?: string[];
}

/** `docker run -d`, in the runbook's argument order: restart, name, user, volumes, env, network, image. */
export function run(spec: ContainerRunSpec): RemoteCommand {
  const argv = ['run', '--restart', spec.restart, '--name', spec.name];
  if (spec.user) argv.push('-u', spec.user);
  for (const v of spec.volumes) argv.push('-v', v);
  for (const f of spec.envFiles) argv.push('--env-file', f);
  for (const [k, v] of spec.env) argv.push('-e', `${k}=${v}`);
  for (const [k, v] of spec.labels) argv.push('--label', `${k}=${v}`);
  argv.push(`--network=${spec.network}`, '-d', spec.image, ...(spec.command ?? []));
  return docker(argv, `start container ${spec.name} from ${spec.image}`);
}

export const version = () => dockerProbe(['version', '--format', '{{json .}}'], 'read the Docker client and engine versions');
export const info = () => dockerProbe(['info', '--format', '{{json .}}'], 'read the Docker engine state');

/** Exit 1 = no such image. */
export const imageId = (ref: string) => dockerProbe(['image', 'inspect', '--format', '{{.Id}}', ref], `look up image ${ref}`, { okExit: [0, 1] });
export const load = (tarball: string) => docker(['load', '-i', tarball], `load image tarball ${tarball}`, { timeoutMs: 15 * 60_000 });

/** Exit 1 = no such container. */
export const inspectContainer = (name: string) => dockerProbe(['container', 'inspect', '--format', '{{json .}}', name], `inspect container ${name}`, { okExit: [0, 1] });
export const start = (name: string) => docker(['start', name], `start container ${name}`);
export const stop = (name: string, timeoutS = 10) => docker(['stop', '-t', String(timeoutS), name], `stop container ${name}`, { timeoutMs: (timeoutS + 30) * 1000 });
/** Keeps the container's anonymous volumes (no -v): nothing of an old container is deleted but the container. */
export const remove = (name: string) => docker(['rm', name], `remove stopped container ${name} (volumes kept)`);
export const restart = (name: string, timeoutS = 10) => docker(['restart', '-t', String(timeoutS), name], `restart container ${name}`, { timeoutMs: (timeoutS + 60) * 1000 });
export const rename = (from: string, to: string) => docker(['rename', from, to], `rename container ${from} to ${to}`);
export const kill = (name: string, signal: string) => docker(['kill', '-s', signal, name], `send ${signal} to container ${name}`);
export const logs = (name: string, tail = 200) => dockerProbe(['logs', '--tail', String(tail), name], `read the last ${tail} log lines of ${name}`);
export const exec = (name: string, argv: string[], describe: string, extra: Partial<RemoteCommand> = {}) =>
  dockerProbe(['exec', ...(extra.stdin !== undefined ? ['-i'] : []), name, ...argv], describe, extra);
/** Containers with a label, one JSON object per line. */
export const psByLabel = (label: string) =>
  dockerProbe(['ps', '-a', '--filter', `label=${label}`, '--format', '{{json .}}'], `list containers labelled ${label}`);
export const psRunning = () => dockerProbe(['ps', '--format', '{{json .}}'], 'list running containers');
export const tag = (id: string, name: string) => docker(['tag', id, name], `tag image ${id.slice(0, 19)} as ${name}`);
