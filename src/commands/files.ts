// File and folder commands on a host. Writes of file contents go over SFTP (remote/executor), not here.
import { change, probe } from './types';

export const mkdirP = (path: string, mode?: string) =>
  change(['mkdir', '-p', ...(mode ? ['-m', mode] : []), path], `create folder ${path}`);

/** Exit 1 = missing. */
export const exists = (path: string) => probe(['test', '-e', path], `check whether ${path} exists`, { sudo: true, okExit: [0, 1] });
export const isDir = (path: string) => probe(['test', '-d', path], `check whether ${path} is a folder`, { sudo: true, okExit: [0, 1] });

/** Exit 1 = missing or unreadable; prints "<hex>  <path>". */
export const sha256 = (path: string) => probe(['sha256sum', path], `checksum ${path}`, { sudo: true, okExit: [0, 1] });
/** Several files at once: a "<hex>  <path>" line each; exit 1 if one is missing (its line is absent). */
export const checksums = (paths: string[]) => probe(['sha256sum', '--', ...paths], `checksum ${paths.join(', ')}`, { sudo: true, okExit: [0, 1] });
export const read = (path: string) => probe(['cat', path], `read ${path}`, { sudo: true, okExit: [0, 1] });
export const size = (path: string) => probe(['stat', '-c', '%s', path], `size of ${path}`, { sudo: true, okExit: [0, 1] });

/** Extract a package without overwriting anything already there (`--skip-old-files`): a re-run never
 *  replaces a config file the tool (or an operator) has written since. */
export const extract = (tarball: string, intoDir: string) =>
  change(['tar', '-xzf', tarball, '-C', intoDir, '--skip-old-files', '--no-same-owner'], `extract ${tarball} into ${intoDir}`, { timeoutMs: 10 * 60_000 });

export const copyPreserving = (from: string, to: string) => change(['cp', '-p', from, to], `keep a copy of ${from} as ${to}`);
export const move = (from: string, to: string) => change(['mv', '-f', from, to], `move ${from} to ${to}`);
export const chmod = (mode: string, path: string) => change(['chmod', mode, path], `set mode ${mode} on ${path}`);
export const list = (dir: string) => probe(['ls', '-1', dir], `list ${dir}`, { sudo: true, okExit: [0, 1, 2] });
/** Modification time in seconds since the epoch. */
export const mtime = (path: string) => probe(['stat', '-c', '%Y', path], `modification time of ${path}`, { sudo: true, okExit: [0, 1] });
