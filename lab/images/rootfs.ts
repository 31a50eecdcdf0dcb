// Root filesystems as data: a list of entries (directories, host files to copy, text files,
// symlinks) that `materialize` writes into a staging directory with exact modes, so the layer
// tar built from it is the same on every run.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { run } from './proc';

export type Entry =
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'copy'; path: string; mode: number; source: string }
  | { kind: 'text'; path: string; mode: number; content: string }
  | { kind: 'symlink'; path: string; target: string };

export const dir = (p: string, mode = 0o755): Entry => ({ kind: 'dir', path: p, mode });
export const copy = (p: string, source: string, mode = 0o755): Entry => ({ kind: 'copy', path: p, source, mode });
export const text = (p: string, content: string, mode = 0o644): Entry => ({ kind: 'text', path: p, content, mode });
export const symlink = (p: string, target: string): Entry => ({ kind: 'symlink', path: p, target });

/**
 * The library paths `ldd` reports for a binary, as the dynamic loader will look them up inside
 * the image (the reported path, not its symlink target): e.g. /lib/x86_64-linux-gnu/libc.so.6
 * and /lib64/ld-linux-x86-64.so.2. The vDSO has no file and is skipped.
 */
export function parseLdd(output: string): string[] {
  const out = new Set<string>();
  for (const line of output.split('\n')) {
    const arrow = /=>\s+(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    const p = arrow?.[1] ?? bare?.[1];
    if (p) out.add(p);
    if (/=>\s+not found/.test(line)) throw new Error(`ldd: missing library: ${line.trim()}`);
  }
  return [...out].sort();
}

/** Every library each binary needs, as image paths (union, sorted). */
export async function librariesOf(binaries: readonly string[]): Promise<string[]> {
  const all = new Set<string>();
  for (const b of binaries) {
    for (const lib of parseLdd(await run('ldd', [b]))) all.add(lib);
  }
  return [...all].sort();
}

/** Copy entries for libraries: content from the resolved file, placed at the reported path. */
export async function libraryEntries(libs: readonly string[]): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const lib of libs) out.push(copy(lib, await fs.realpath(lib), 0o755));
  return out;
}

/** busybox-static at /bin/busybox with every applet it has linked in /bin. */
export function busyboxEntries(busybox: string, applets: readonly string[]): Entry[] {
  const skip = new Set(['busybox', 'bash']); // /bin/bash is our own wrapper
  return [
    copy('/bin/busybox', busybox, 0o755),
    ...applets.filter((a) => a && !skip.has(a) && !a.includes('/')).map((a) => symlink(`/bin/${a}`, 'busybox')),
    // The runbook runs `docker exec etcd bash -c "etcdctl ..."`: a tiny bash that is sh.
    text('/bin/bash', '#!/bin/sh\n# Not bash: busybox sh standing in for the `bash -c ...` calls of the runbook.\nexec /bin/sh "$@"\n', 0o755),
  ];
}

export async function busyboxApplets(busybox: string): Promise<string[]> {
  return (await run(busybox, ['--list'])).split('\n').map((s) => s.trim()).filter(Boolean).sort();
}

export interface User {
  name: string;
  uid: number;
  home: string;
  shell?: string;
}

/** /etc/passwd and /etc/group for the given users (each with a group of the same id). */
export function accountEntries(users: readonly User[]): Entry[] {
  const passwd = users.map((u) => `${u.name}:x:${u.uid}:${u.uid}:${u.name}:${u.home}:${u.shell ?? '/bin/sh'}\n`).join('');
  const group = users.map((u) => `${u.name}:x:${u.uid}:\n`).join('');
  return [text('/etc/passwd', passwd), text('/etc/group', group), text('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n')];
}

/** The directories every image has: /tmp (sticky, world-writable) and /root. */
export function baseEntries(): Entry[] {
  return [dir('/tmp', 0o1777), dir('/root', 0o700), dir('/etc')];
}

/**
 * Writes entries under root. Parents are created 0755; later entries for the same path win;
 * modes are set explicitly so the umask never leaks into the layer.
 */
export async function materialize(root: string, entries: readonly Entry[]): Promise<void> {
  const byPath = new Map<string, Entry>();
  for (const e of entries) byPath.set(normalize(e.path), e);
  const dirs = new Set<string>();
  const ensureParents = async (p: string): Promise<void> => {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const d = '/' + parts.slice(0, i).join('/');
      if (dirs.has(d)) continue;
      await fs.mkdir(path.join(root, d), { recursive: true });
      const own = byPath.get(d);
      await fs.chmod(path.join(root, d), own?.kind === 'dir' ? own.mode : 0o755);
      dirs.add(d);
    }
  };
  for (const [p, e] of [...byPath.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    await ensureParents(p);
    const target = path.join(root, p);
    switch (e.kind) {
      case 'dir':
        await fs.mkdir(target, { recursive: true });
        await fs.chmod(target, e.mode);
        dirs.add(p);
        break;
      case 'copy':
        await fs.copyFile(e.source, target);
        await fs.chmod(target, e.mode);
        break;
      case 'text':
        await fs.writeFile(target, e.content);
        await fs.chmod(target, e.mode);
        break;
      case 'symlink':
        await fs.symlink(e.target, target);
        break;
    }
  }
}

/** The top-level names under root, sorted: what to hand to tar (no "./" prefix in the layer). */
export async function topLevel(root: string): Promise<string[]> {
  return (await fs.readdir(root)).sort();
}

function normalize(p: string): string {
  const n = path.posix.normalize('/' + p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}
