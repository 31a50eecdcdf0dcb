// Which release of a component a host runs, which one it ran before, and the swap between them. A
// release is an extracted package folder (its compose project) and its image; the previous one stays on
// the host (folder and image) and is recorded in a small file beside the packages, so `rollback` finds it
// and refuses, with the reason, when it is gone. Every function checks before it changes: a retry after a
// crash finds the swap done and leaves it alone.
import { parse as parseYaml } from 'yaml';
import * as compose from '../commands/compose';
import * as docker from '../commands/docker';
import * as files from '../commands/files';
import { RELEASE_FOLDER, listFolders, removeFolder, removeImage, removeRecord, removeTarball, runningReleases } from '../commands/release';
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

export interface CleanupResult {
  host: string;
  component: ComponentStep['component'];
  kept: string[];
  removed: string[];
}

/**
 * Keep the running release, the previous one and `keep` more (newest first); remove older package
 * folders of the component (those whose docker-compose.yaml runs its service), their tarballs and images.
 */
export async function cleanupReleases(ctx: StepContext, step: ComponentStep, keep: number): Promise<CleanupResult> {
  const x = ctx.exec;
  const installDir = parentOf(step.packageDir);
  const now = await readRelease(ctx, step);
  const protectedDirs = new Set([now.running?.dir, now.previous?.dir].filter((d): d is string => !!d));
  const listed = ((await x.output(listFolders(installDir))) ?? '')
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter((p) => p.length === 2 && RELEASE_FOLDER.test(p[1]!))
    .map(([t, name]) => ({ name: name!, t: Number(t) }))
    .sort((a, b) => b.t - a.t);
  const service = serviceOf(step);
  const releases: { name: string; image?: string }[] = [];
  for (const f of listed) {
    const text = await x.output(files.read(`${installDir}/${f.name}/docker-compose.yaml`));
    let svc: { image?: unknown } | undefined;
    try {
      svc = text ? (parseYaml(text) as { services?: Record<string, { image?: unknown }> }).services?.[service] : undefined;
    } catch {
      svc = undefined;
    }
    if (!svc) continue; // not a package of this component
    releases.push({ name: f.name, ...(typeof svc.image === 'string' ? { image: svc.image } : {}) });
  }
  const kept: string[] = [];
  const removed: string[] = [];
  let spare = keep;
  for (const r of releases) {
    const dir = `${installDir}/${r.name}`;
    if (protectedDirs.has(dir)) kept.push(r.name);
    else if (spare > 0) {
      spare--;
      kept.push(r.name);
    } else {
      await x.run(removeFolder(installDir, r.name));
      await x.run(removeTarball(installDir, r.name));
      if (r.image && r.image !== now.running?.image && r.image !== now.previous?.image) await x.run(removeImage(r.image));
      removed.push(r.name);
    }
  }
  return { host: x.host, component: step.component, kept, removed };
}
