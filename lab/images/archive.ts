// The `docker save` tarball format, written without a Docker engine: manifest.json,
// <config-sha256>.json, <v1-id>/{VERSION,json,layer.tar}, repositories. `docker load` keeps the
// image ID, which is sha256 of the config JSON bytes, so equal inputs give equal IDs everywhere.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { linkOrCopy, sha256, sha256File, tarGzTo } from './proc';

/** The parts of an image config the lab sets (Docker's field names). */
export interface ImageConfigSpec {
  env: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  labels?: Record<string, string>;
  exposedPorts?: string[];
  stopSignal?: string;
  user?: string;
}

/** Fixed creation time: a build date in the config would change the ID on every build. */
export const EPOCH = '1970-01-01T00:00:00Z';

/** "api7ee.azurecr.io/api7-dashboard:2.13.2304" -> ["api7ee.azurecr.io/api7-dashboard", "2.13.2304"]. */
export function splitImageName(name: string): [repo: string, tag: string] {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon <= slash) return [name, 'latest'];
  return [name.slice(0, colon), name.slice(colon + 1)];
}

function sortedRecord<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The container config object (shared by the image config and the legacy v1 json). */
function containerConfig(spec: ImageConfigSpec): Record<string, unknown> {
  const cfg: Record<string, unknown> = {
    User: spec.user ?? '',
    ExposedPorts: spec.exposedPorts?.length ? Object.fromEntries([...spec.exposedPorts].sort().map((p) => [p, {}])) : undefined,
    Env: spec.env,
    Entrypoint: spec.entrypoint ?? null,
    Cmd: spec.cmd ?? null,
    WorkingDir: spec.workingDir ?? '',
    Labels: spec.labels ? sortedRecord(spec.labels) : null,
    StopSignal: spec.stopSignal,
  };
  // JSON.stringify drops undefined members: absent, as Docker writes them.
  return cfg;
}

/**
 * The image config JSON bytes. Key order is fixed by construction, so the same spec and layer
 * always serialize to the same bytes (and the same image ID).
 */
export function imageConfigJson(spec: ImageConfigSpec, diffIds: readonly string[], createdBy: string): string {
  return JSON.stringify({
    architecture: 'amd64',
    config: containerConfig(spec),
    created: EPOCH,
    history: [{ created: EPOCH, created_by: createdBy, comment: 'api7-ha lab image, built without a Docker engine' }],
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
}

export interface WrittenImage {
  /** "sha256:<hex>" of the config JSON: the ID `docker image inspect` shows after load. */
  id: string;
  diffId: string;
  configJson: string;
}

/**
 * Writes a gzipped single-layer `docker save` archive for `name` from an uncompressed layer tar.
 * `work` is an empty scratch directory (removed by the caller).
 */
export async function writeDockerArchive(opts: {
  name: string;
  layerTar: string;
  spec: ImageConfigSpec;
  out: string;
  work: string;
  createdBy: string;
}): Promise<WrittenImage> {
  const diffId = `sha256:${await sha256File(opts.layerTar)}`;
  const configJson = imageConfigJson(opts.spec, [diffId], opts.createdBy);
  const configHex = sha256(configJson);
  // The legacy v1 layer ID docker save uses as the directory name; any stable hex works for
  // `docker load`, which follows manifest.json.
  const v1Id = sha256(`${diffId}\n${configHex}`);
  const [repo, tag] = splitImageName(opts.name);

  await fs.mkdir(path.join(opts.work, v1Id), { recursive: true });
  await fs.writeFile(path.join(opts.work, `${configHex}.json`), configJson);
  await fs.writeFile(path.join(opts.work, v1Id, 'VERSION'), '1.0');
  await fs.writeFile(
    path.join(opts.work, v1Id, 'json'),
    JSON.stringify({ id: v1Id, created: EPOCH, container_config: containerConfig(opts.spec), config: containerConfig(opts.spec), architecture: 'amd64', os: 'linux' }),
  );
  await linkOrCopy(opts.layerTar, path.join(opts.work, v1Id, 'layer.tar'));
  await fs.writeFile(path.join(opts.work, 'manifest.json'), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [opts.name], Layers: [`${v1Id}/layer.tar`] }]));
  await fs.writeFile(path.join(opts.work, 'repositories'), JSON.stringify({ [repo]: { [tag]: v1Id } }) + '\n');
  for (const f of await fs.readdir(opts.work, { recursive: true })) {
    const p = path.join(opts.work, f);
    await fs.chmod(p, (await fs.stat(p)).isDirectory() ? 0o755 : 0o644);
  }
  await tarGzTo(opts.out, opts.work, (await fs.readdir(opts.work)).sort());
  return { id: `sha256:${configHex}`, diffId, configJson };
}
