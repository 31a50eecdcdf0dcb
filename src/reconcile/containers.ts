// Containers as Docker reports them, configuration hashes for labels, and the check that a container
// just started stays up (a crash loop is reported with its logs at once, not after a health timeout).
import { createHash } from 'node:crypto';
import * as docker from '../commands/docker';
import type { HostExecutor } from '../remote/executor';
import { PermanentError, sleep, type StepContext } from './context';

export interface ContainerState {
  id: string;
  running: boolean;
  status: string;
  labels: Record<string, string>;
  image: string;
  mounts: { source: string; destination: string }[];
  restartCount: number;
  startedAt: string;
}

export async function inspectContainer(x: HostExecutor, name: string): Promise<ContainerState | undefined> {
  const out = await x.output(docker.inspectContainer(name));
  if (!out) return undefined;
  const c = JSON.parse(out) as {
    Id: string;
    State: { Running: boolean; Status: string; StartedAt: string };
    Config: { Labels: Record<string, string> | null };
    Image: string;
    Mounts?: { Source: string; Destination: string }[];
    RestartCount?: number;
  };
  return {
    id: c.Id,
    running: c.State.Running,
    status: c.State.Status,
    labels: c.Config.Labels ?? {},
    image: c.Image,
    mounts: (c.Mounts ?? []).map((m) => ({ source: m.Source, destination: m.Destination })),
    restartCount: c.RestartCount ?? 0,
    startedAt: c.State.StartedAt,
  };
}

export const configHash = (value: unknown): string => createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);

export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * After a `docker run`/`start`/`compose up`: the container must still be running, with no new
 * restarts, across a short window. Otherwise fail with the tail of its logs.
 */
export async function staysUp(ctx: Pick<StepContext, 'exec' | 'signal'>, name: string, windowMs = 1500): Promise<void> {
  const x = ctx.exec;
  if (x.planning) return;
  const first = await inspectContainer(x, name);
  await sleep(windowMs, ctx.signal);
  const later = await inspectContainer(x, name);
  if (first && later && later.running && later.restartCount === first.restartCount) return;
  const logs = await x.run({ ...docker.logs(name, 20), okExit: [0, 1] });
  const tail = `${logs.stdout}\n${logs.stderr}`.trim().split('\n').slice(-8).join(' | ');
  throw new PermanentError(`${x.host}: container ${name} does not stay up (${later?.status ?? 'missing'}, ${later?.restartCount ?? 0} restarts): ${tail}`, 'ContainerCrashLoop');
}
