// Where a non-root sudo user stages a file before root moves it into place: a private folder in /tmp
// that `mktemp -d` creates exclusively, mode 0700, owned by the connecting user, so no other local
// user can pre-create, replace or symlink what is written there. (A fixed name in /tmp could be
// pre-created by anyone, and root would then move that user's file into /opt.)
//
// An upload's folder is found again by a retry (to resume the .part): `find` lists only real
// folders (never a symlink), owned by the connecting user, mode exactly 0700, named with its prefix.
import { change, probe } from './types';

/** The staging folder's prefix for an upload to `remotePath` (one per target file, so a retry resumes it). */
export function uploadStagingPrefix(remotePath: string): string {
  return `api7-ha-upload-${remotePath.replace(/^\/+/, '').replace(/[^\w.-]/g, '_').slice(-150)}`;
}

export const WRITE_STAGING_PREFIX = 'api7-ha-write';

const XS = 'XXXXXXXXXX';

/** Prints the new folder's path. Run as the connecting user (no sudo): the folder must be theirs. */
export const makePrivateDir = (prefix: string) => change(['mktemp', '-d', `/tmp/${prefix}.${XS}`], `create a private staging folder /tmp/${prefix}.${XS}`, { sudo: false });

/** A path `makePrivateDir(prefix)` can have printed, and nothing else. */
export function isPrivateDirOf(prefix: string, path: string): boolean {
  const name = path.startsWith('/tmp/') ? path.slice('/tmp/'.length) : '';
  return name.length === prefix.length + 1 + XS.length && name.startsWith(`${prefix}.`) && /^[A-Za-z0-9]+$/.test(name.slice(prefix.length + 1));
}

/** Exit 0 with one folder a line (possibly none). */
export const findPrivateDirs = (prefix: string, user: string) =>
  probe(['find', '/tmp', '-mindepth', '1', '-maxdepth', '1', '-type', 'd', '-user', user, '-perm', '700', '-name', `${prefix}.*`], `find the staging folders of ${user} named ${prefix}.*`, { okExit: [0, 1] });

/** The staged file, now root's: the file it replaces would have been written by root. */
export const ownByRoot = (path: string) => change(['chown', 'root:root', path], `make ${path} root's`);

/** Clean-up as the connecting user: the staged file (if still there), then the empty folder. */
export const removeStagedFile = (path: string) => change(['rm', '-f', '--', path], `remove the staged ${path}`, { sudo: false });
export const removePrivateDir = (dir: string) => change(['rmdir', '--', dir], `remove the staging folder ${dir}`, { sudo: false, okExit: [0, 1] });
