// Images as the vendor delivers them: a tarball copied to the host and `docker load`ed, only when the
// host does not already hold the image ID the tarball contains.
import * as docker from '../commands/docker';
import * as files from '../commands/files';
import type { ImageDelivery } from '../steps/inputs';
import { PermanentError, type StepContext } from './context';

export interface ImageResult {
  image: string;
  id?: string;
  action: 'present' | 'tagged' | 'loaded';
  uploaded: boolean;
}

const dirOf = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';

export async function ensureImage(ctx: StepContext, image: ImageDelivery): Promise<ImageResult> {
  const x = ctx.exec;
  const byName = await x.output(docker.imageId(image.name));
  if (!image.tarball || !image.id || !image.remoteTarball || !image.sha256) {
    if (byName === undefined)
      throw new PermanentError(`${x.host}: image ${image.name} is not on the host and the inventory gives no tarball for it; set packages.*.tarball or load the image first`);
    return { image: image.name, id: byName, action: 'present', uploaded: false };
  }
  if (byName === image.id) return { image: image.name, id: image.id, action: 'present', uploaded: false };
  // The ID is there under another tag (or untagged): a tag is enough.
  const byId = await x.output(docker.imageId(image.id));
  if (byId === image.id) {
    await x.run(docker.tag(image.id, image.name));
    return { image: image.name, id: image.id, action: 'tagged', uploaded: false };
  }
  await x.run(files.mkdirP(dirOf(image.remoteTarball)));
  const up = await x.upload(image.tarball, image.remoteTarball, image.sha256, {
    onProgress: (sent, total) => ctx.heartbeat({ upload: image.remoteTarball, sent, total }),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  await loadAndVerify(ctx, image.remoteTarball, [image.id]);
  return { image: image.name, id: image.id, action: 'loaded', uploaded: up.uploaded };
}

/** `docker load`, heartbeating while the engine unpacks layers, then check the IDs arrived. */
export async function loadAndVerify(ctx: StepContext, remoteTarball: string, ids: string[]): Promise<void> {
  const x = ctx.exec;
  const beat = setInterval(() => ctx.heartbeat({ loading: remoteTarball }), 2000);
  try {
    await x.run(docker.load(remoteTarball), { ...(ctx.signal ? { signal: ctx.signal } : {}) });
  } finally {
    clearInterval(beat);
  }
  if (x.planning) return;
  for (const id of ids) {
    const got = await x.output(docker.imageId(id));
    if (got !== id) throw new Error(`${x.host}: after docker load of ${remoteTarball}, image ${id} is still missing`);
  }
}
