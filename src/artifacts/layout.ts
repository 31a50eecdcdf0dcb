// What the operator's packages must look like, checked on the worker's machine before anything
// starts (`validate`, `deploy`, `drill` and `schedule create` read it): a vendor package is a gzip'd
// tar with one top folder holding docker-compose.yaml, the product's conf file and images/*.tar(.gz);
// an image tarball is a `docker save` (manifest.json). Every name in them is one api7-ha may pass to
// a remote shell (`tar -xzf`, `docker load -i <dir>/<file>`), and no link points out of the folder.
//
// Only the tar headers are read (synchronously: the CLI has nothing else to do meanwhile); the
// deploy's inspectArtifacts activity hashes the files and reads the image IDs.
import { closeSync, openSync, readSync } from 'node:fs';
import { list, type ReadEntry } from 'tar';
import type { InventoryIssue } from '../inventory/validate';
import type { ClusterSpec } from '../inventory/model';
import { excerpt } from '../inventory/patterns';
import { productProfile } from '../products';

export interface TarEntry {
  path: string;
  type: string;
  linkpath?: string;
}

/** The names a package may hold: they reach a remote shell (quoted there, and checked here). */
const SAFE_NAME = /^[\w.+/-]+$/;
const IMAGE_FILE = /^images\/[^/]+\.tar(?:\.gz)?$/;

export const COMPOSE_FILE = 'docker-compose.yaml';

/** Why a package's entries cannot be passed to a shell or extracted safely (empty: they can). */
export function packageNameProblems(entries: readonly TarEntry[]): string[] {
  const tops = [...new Set(entries.map((e) => e.path.split('/')[0]!).filter(Boolean))];
  if (tops.length !== 1) return [`a package holds exactly one top folder (this one holds ${tops.length ? tops.slice(0, 3).map((t) => excerpt(t)).join(', ') : 'nothing'}${tops.length > 3 ? ', …' : ''})`];
  const problems: string[] = [];
  const top = tops[0]!;
  if (!/^[\w.+-]+$/.test(top) || top === '.' || top === '..') problems.push(`its folder ${excerpt(top)} has characters api7-ha does not pass to a shell`);
  for (const e of entries) {
    if (problems.length >= 5) break;
    if (!SAFE_NAME.test(e.path) || e.path.split('/').includes('..') || e.path.startsWith('/')) problems.push(`it holds a file named ${excerpt(e.path)}, which api7-ha does not pass to a shell`);
    else if ((e.type === 'SymbolicLink' || e.type === 'Link') && (e.linkpath === undefined || e.linkpath.startsWith('/') || e.linkpath.split('/').includes('..')))
      problems.push(`${excerpt(e.path)} links to ${excerpt(e.linkpath ?? '')}, outside the package folder`);
  }
  return problems;
}

/** The package's one top folder, and its files relative to it. */
export function packageFiles(entries: readonly TarEntry[]): { top: string; files: string[] } {
  const top = entries[0]?.path.split('/')[0] ?? '';
  return { top, files: entries.filter((e) => e.type === 'File' && e.path.startsWith(`${top}/`)).map((e) => e.path.slice(top.length + 1)) };
}

export const isImageFile = (file: string) => IMAGE_FILE.test(file);

/** Why a package is not the vendor's layout for a product component (empty: it is). */
export function packageLayoutProblems(entries: readonly TarEntry[], configPath: string): string[] {
  const named = packageNameProblems(entries);
  if (named.length) return named;
  const { top, files } = packageFiles(entries);
  const inside = new Set(files);
  const problems: string[] = [];
  if (!files.some(isImageFile)) problems.push(`${top}/images/ holds no image tarball (images/*.tar.gz)`);
  if (!inside.has(COMPOSE_FILE)) problems.push(`${top}/${COMPOSE_FILE} is missing`);
  if (!inside.has(configPath)) problems.push(`${top}/${configPath} is missing`);
  return problems;
}

const isGzip = (path: string): boolean => {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
};

/** The tar headers of a file, or why it is not a (complete) tar archive. */
export function tarEntries(path: string): TarEntry[] | { error: string } {
  const entries: TarEntry[] = [];
  try {
    list({
      file: path,
      sync: true,
      strict: true,
      onReadEntry: (e: ReadEntry) => {
        entries.push({ path: e.path.replace(/^\.\//, ''), type: e.type, ...(e.linkpath ? { linkpath: e.linkpath } : {}) });
      },
    });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { error: err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message ?? '') ? 'it is truncated (the download or copy did not finish)' : `it is not a readable tar archive (${err.code ?? 'error'}: ${err.message?.split('\n')[0] ?? ''})` };
  }
  if (entries.length === 0) return { error: 'it is an empty archive' };
  return entries.filter((e) => e.path !== '' && e.path !== '.');
}

/** Every problem of the spec's packages and image tarballs, at the inventory field that names each. */
export function packageIssues(spec: ClusterSpec): InventoryIssue[] {
  const product = productProfile(spec.product);
  const issues: InventoryIssue[] = [];
  const vendorFix = (what: string, conf: string) => `point it at the vendor's ${what} package as downloaded: a .tar.gz holding one folder with ${COMPOSE_FILE}, ${conf} and images/`;
  const pkg = (field: string, path: string, what: string, configPath: string) => {
    const fix = vendorFix(what, configPath);
    if (!isGzip(path)) return issues.push({ path: field, message: `${path} is not a gzip'd tar (tar -xzf cannot extract it)`, fix });
    const entries = tarEntries(path);
    if ('error' in entries) return issues.push({ path: field, message: `${path}: ${entries.error}`, fix });
    for (const p of packageLayoutProblems(entries, configPath)) issues.push({ path: field, message: `${path}: ${p}`, fix });
    return undefined;
  };
  const image = (field: string, path: string | undefined) => {
    if (path === undefined) return;
    const fix = 'make it with `docker save IMAGE | gzip > FILE` (or point it at the vendor\'s image tarball)';
    const entries = tarEntries(path);
    if ('error' in entries) issues.push({ path: field, message: `${path}: ${entries.error}`, fix });
    else if (!entries.some((e) => e.path === 'manifest.json')) issues.push({ path: field, message: `${path} is not a \`docker save\` tarball: no manifest.json`, fix });
  };
  pkg('packages.control_plane', spec.packages.controlPlane, 'control plane', product.controlPlane.configPath);
  pkg('packages.data_plane', spec.packages.dataPlane, 'data plane', product.dataPlane.configPath);
  image('packages.etcd_image.tarball', spec.packages.etcdImage.tarball);
  image('packages.haproxy_image.tarball', spec.packages.haproxyImage?.tarball);
  return issues;
}
