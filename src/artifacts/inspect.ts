// Reads what the operator's packages hold, on the worker, before anything is sent: the sha256 of each
// file (recorded in the run), the folder a package extracts to, and the image IDs inside the image
// tarballs (so a host that already has an image is not sent a `docker load`).
//
// An image ID is the sha256 of the image's config JSON, which `docker save` names in manifest.json
// ("<hex>.json" in the classic format, "blobs/sha256/<hex>" in the OCI layout of Docker 25+).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import type { ArtifactPaths, PackageInfo } from '../steps/inputs';
import { isImageFile, packageFiles, packageNameProblems, type TarEntry } from './layout';

export type { ArtifactPaths } from '../steps/inputs';

export interface ImageInTarball {
  id: string;
  tags: string[];
}

export interface FileFacts {
  path: string;
  fileName: string;
  sha256: string;
  bytes: number;
}

export async function sha256File(path: string): Promise<FileFacts> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    createReadStream(path),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        cb();
      },
    }),
  );
  return { path, fileName: basename(path), sha256: hash.digest('hex'), bytes };
}

const isGzip = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

function collect(entry: ReadEntry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    entry.on('data', (c: Buffer) => chunks.push(c));
    entry.on('end', () => resolve(Buffer.concat(chunks)));
    entry.on('error', reject);
  });
}

/** Image IDs and tags from a `docker save` stream (gzip or plain). */
export async function imagesInSaveStream(source: Readable): Promise<ImageInTarball[]> {
  let manifestBytes: Promise<Buffer> | undefined;
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      if (entry.path === 'manifest.json') manifestBytes = collect(entry);
      else entry.resume();
    },
  });
  // Peek at the first bytes to decide whether to gunzip.
  const first: Buffer = await new Promise((resolve, reject) => {
    source.once('readable', () => resolve((source.read(2) as Buffer | null) ?? Buffer.alloc(0)));
    source.once('error', reject);
  });
  source.unshift(first);
  await (isGzip(first) ? pipeline(source, createGunzip(), parser) : pipeline(source, parser));
  if (!manifestBytes) throw new Error('not a docker save tarball: no manifest.json');
  const manifest = JSON.parse((await manifestBytes).toString('utf8')) as { Config: string; RepoTags?: string[] | null }[];
  return manifest.map((m) => {
    const hex = /([a-f0-9]{64})(?:\.json)?$/.exec(m.Config)?.[1];
    if (!hex) throw new Error(`cannot read the image ID from manifest entry ${m.Config}`);
    return { id: `sha256:${hex}`, tags: m.RepoTags ?? [] };
  });
}

export async function imagesInTarball(path: string): Promise<ImageInTarball[]> {
  return imagesInSaveStream(createReadStream(path));
}

export interface PackageFacts extends FileFacts {
  /** The top-level folder of the package (api7-2.13.2304-cp). */
  topDir: string;
  files: string[];
  /** Image tarballs inside the package (paths relative to topDir) with their image IDs. */
  images: { file: string; id: string; tags: string[] }[];
}

/** Inspect a vendor package (.tar.gz with one top folder, images/*.tar.gz inside). */
export async function inspectPackage(path: string): Promise<PackageFacts> {
  const facts = await sha256File(path);
  const entries: TarEntry[] = [];
  const pending: Promise<void>[] = [];
  const images: PackageFacts['images'] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const p = entry.path.replace(/^\.\//, '');
      if (p !== '' && p !== '.') entries.push({ path: p, type: entry.type, ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) });
      const inTop = p.slice(p.indexOf('/') + 1);
      if (entry.type === 'File' && p.includes('/') && isImageFile(inTop)) {
        const stream = new Readable({ read() {} });
        entry.on('data', (c: Buffer) => stream.push(c));
        entry.on('end', () => stream.push(null));
        pending.push(
          imagesInSaveStream(stream).then((found) => {
            for (const img of found) images.push({ file: inTop, id: img.id, tags: img.tags });
          }),
        );
      } else entry.resume();
    },
  });
  await pipeline(createReadStream(path), createGunzip(), parser);
  await Promise.all(pending);
  // The same rules as `validate` (layout.ts): names api7-ha passes to a remote shell, no link out.
  const problems = packageNameProblems(entries);
  if (problems.length) throw new Error(`${path}: ${problems.join('; ')}`);
  if (images.length === 0) throw new Error(`${path}: no images/*.tar.gz inside the package`);
  const { top, files } = packageFiles(entries);
  return { ...facts, topDir: top, files, images };
}

export interface ImageFacts {
  sha256: string;
  id: string;
  fileName: string;
}

export interface ArtifactFacts {
  controlPlane: PackageInfo;
  dataPlane: PackageInfo;
  etcdImage?: ImageFacts;
  haproxyImage?: ImageFacts;
}

export async function inspectImageTarball(path: string): Promise<ImageFacts> {
  const [facts, images] = await Promise.all([sha256File(path), imagesInTarball(path)]);
  const first = images[0];
  if (!first) throw new Error(`${path} holds no image`);
  return { sha256: facts.sha256, id: first.id, fileName: facts.fileName };
}

/**
 * Facts of a file, remembered by the worker while the file is unchanged (same inode, size and
 * modification time, as make and rsync judge it): a re-run does not hash 40 MB of packages again.
 */
const remembered = new Map<string, Promise<unknown>>();
async function unchanged<T>(path: string, kind: string, read: () => Promise<T>): Promise<T> {
  const st = await stat(path);
  const key = `${kind}\0${path}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
  let hit = remembered.get(key) as Promise<T> | undefined;
  if (!hit) {
    hit = read();
    remembered.set(key, hit);
    hit.catch(() => remembered.delete(key));
  }
  return hit;
}

/** Everything the run records about the operator's files, read once on the worker (or by --plan). */
export async function inspectArtifacts(paths: ArtifactPaths, onFile: (path: string) => void = () => undefined): Promise<ArtifactFacts> {
  const pkg = async (p: string): Promise<PackageInfo> => {
    onFile(p);
    const f = await unchanged(p, 'package', () => inspectPackage(p));
    return { localPath: p, fileName: f.fileName, sha256: f.sha256, topDir: f.topDir, files: f.files, images: f.images };
  };
  const img = async (p: string | undefined) => {
    if (!p) return undefined;
    onFile(p);
    return unchanged(p, 'image', () => inspectImageTarball(p));
  };
  const [controlPlane, dataPlane, etcdImage, haproxyImage] = await Promise.all([pkg(paths.controlPlane), pkg(paths.dataPlane), img(paths.etcdImage), img(paths.haproxyImage)]);
  return { controlPlane, dataPlane, ...(etcdImage ? { etcdImage } : {}), ...(haproxyImage ? { haproxyImage } : {}) };
}
