// Which release of a component a host runs, which one it ran before, and the swap between them. A
// release is an extracted package folder (its compose project) and its image; the previous one stays on
// the host (folder and image) and is recorded in a small file beside the packages, so `rollback` finds it
// and refuses, with the reason, when it is gone. Every function checks before it changes: a retry after a
// crash finds the swap done and leaves it alone.
import * as compose from '../commands/compose';
import * as docker from '../commands/docker';
import * as files from '../commands/files';
import { removeRecord, runningReleases } from '../commands/release';
import type { ComponentStep } from '../steps/inputs';
import type { StepContext } from './context';
import { serviceOf, startComponent, variantOf } from './component';

export interface Release {
  /** The extracted package folder (the compose project's working dir). */
  dir: string;
  image: string;
  /** The image's tag: the vendor's version (2.13.2304). */
  version: string;
}

export interface HostRelease {
  host: string;
  component: ComponentStep['component'];
  /** What runs now (a running container of the component's service), if anything. */
  running?: Release;
  /** The release this tool replaced there last (the rollback target). */
  previous?: Release;
  /** Why rolling back to `previous` is impossible (its folder or image is gone), if it is. */
  previousMissing?: string;
}

export const versionOf = (image: string) => image.slice(image.lastIndexOf(':') + 1);
const parentOf = (dir: string) => `/${dir.split('/').filter(Boolean).slice(0, -1).join('/')}`;

/** The record of the previous release: beside the packages, one per component. */
export const releaseFile = (step: Pick<ComponentStep, 'packageDir' | 'component'>) => `${parentOf(step.packageDir)}/.api7-ha-${step.component.replace('_', '-')}-release.json`;

export async function readRelease(ctx: StepContext, step: ComponentStep): Promise<HostRelease> {
  const x = ctx.exec;
  const out = (await x.output(runningReleases(serviceOf(step)))) ?? '';
  const [dir, image] = (out.split('\n').find((l) => l.includes('|')) ?? '').split('|');
  const running = dir && image ? { dir, image, version: versionOf(image) } : undefined;
  const recorded = await x.output(files.read(releaseFile(step)));
  let previous: Release | undefined;
  try {
    previous = recorded ? (JSON.parse(recorded) as { previous?: Release }).previous : undefined;
  } catch {
    previous = undefined;
  }
  const base = { host: x.host, component: step.component, ...(running ? { running } : {}) };
  if (!previous) return { ...base, previousMissing: 'no previous release is recorded on this host (it was never upgraded by api7-ha)' };
  const missing = (await x.run(files.exists(`${previous.dir}/docker-compose.yaml`))).code !== 0
    ? `the previous release's folder ${previous.dir} is gone`
    : (await x.output(docker.imageId(previous.image))) === undefined
      ? `the previous release's image ${previous.image} is gone from the host`
      : undefined;
  return { ...base, previous, ...(missing ? { previousMissing: missing } : {}) };
}

export interface SwitchResult {
  host: string;
  action: 'unchanged' | 'switched';
  from?: string;
  to: string;
}

/**
 * Stop the release that runs (`docker compose down` in its folder: files kept) and start `to`
 * (`docker compose up -d` in its folder), then record what ran before. The host is drained first.
 */
export async function switchRelease(ctx: StepContext, to: ComponentStep, from: Release | undefined, toImage: string, record: Release | null | 'running'): Promise<SwitchResult> {
  const x = ctx.exec;
  const now = await readRelease(ctx, to);
  if (now.running?.dir === to.packageDir) return { host: x.host, action: 'unchanged', to: to.packageDir };
  const variant = await variantOf(x, to);
  const stop = now.running?.dir ?? from?.dir;
  if (stop && stop !== to.packageDir) await x.run(compose.down(variant, compose.projectAt(stop)));
  await startComponent(ctx, to, true);
  // Forward: the release that ran becomes the rollback target. An undo puts the record back as it was.
  const previous = record === 'running' ? (now.running ?? from) : record;
  if (!previous) await x.run(removeRecord(releaseFile(to)));
  else
    await x.ensureFile(
      {
        path: releaseFile(to),
        content: `${JSON.stringify({ current: { dir: to.packageDir, image: toImage, version: versionOf(toImage) }, previous }, null, 2)}\n`,
        mode: 0o644,
        secrets: 'none',
        backup: false,
        describe: `api7-ha's record of the ${to.component === 'control_plane' ? 'dashboard' : 'gateway'} release before this one (rollback target)`,
      },
      to.stamp,
    );
  return { host: x.host, action: 'switched', ...(stop ? { from: stop } : {}), to: to.packageDir };
}
