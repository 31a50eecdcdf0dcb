// Which release of a compose service runs on a host: its running containers, each with the folder
// compose ran in (com.docker.compose.project.working_dir, set by v1 and v2) and its image.
import { change, probe } from './types';

export const runningReleases = (service: string) =>
  probe(
    ['docker', 'ps', '--no-trunc', '--filter', `label=com.docker.compose.service=${service}`, '--format', '{{.Label "com.docker.compose.project.working_dir"}}|{{.Image}}'],
    `list the running ${service} containers and their package folders`,
    { sudo: true },
  );

/** An undone first upgrade: no previous release any more. */
export const removeRecord = (path: string) => change(['rm', '-f', path], `remove ${path}`);

/** A package folder name as the vendor ships them (api7-2.13.2304-dp): nothing else is ever removed. */
export const RELEASE_FOLDER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function releasePath(installDir: string, name: string): string {
  if (!RELEASE_FOLDER.test(name) || name === '.' || name === '..') throw new Error(`${JSON.stringify(name)} is not a package folder name`);
  return `${installDir}/${name}`;
}

/** Cleanup: an old release's extracted folder, its tarball, its image (the running and previous ones are never passed here). */
export const removeFolder = (installDir: string, name: string) => change(['rm', '-rf', '--one-file-system', '--', releasePath(installDir, name)], `remove the old package folder ${releasePath(installDir, name)}`);
export const removeTarball = (installDir: string, name: string) => change(['rm', '-f', '--', `${releasePath(`${installDir}/packages`, name)}.tar.gz`], `remove the old package ${installDir}/packages/${name}.tar.gz`);
export const removeImage = (image: string) => change(['docker', 'image', 'rm', image], `remove the old image ${image}`, { okExit: [0, 1] });
/** Folders in the install dir, newest first, with their modification time. */
export const listFolders = (installDir: string) => probe(['find', installDir, '-mindepth', '1', '-maxdepth', '1', '-type', 'd', '-printf', '%T@ %f\\n'], `list the package folders in ${installDir}`, { sudo: true, okExit: [0, 1] });
