/**
 * Read-only views of kernel state the lab needs (links in /sys/class/net, mounts in the machine's
 * mount table, cgroup directories), plus removal of cgroup directories. No processes are spawned.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function linkExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}`);
}

/** IFF_UP in the flags word: administratively up (a veth's operstate also depends on its peer). */
export function linkAdminUp(name: string): boolean {
  try {
    return (parseInt(fs.readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim(), 16) & 1) === 1;
  } catch {
    return false;
  }
}

export function linkAlias(name: string): string {
  try {
    return fs.readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim();
  } catch {
    return '';
  }
}

export function linksWithPrefix(prefix: string): string[] {
  return fs.readdirSync('/sys/class/net').filter((n) => n.startsWith(prefix));
}

/** Mount points of the machine's mount namespace at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const decoded = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === dir || decoded.startsWith(`${dir}/`)) out.push(decoded);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Top-level cgroup directories named `<prefix>...` in every mounted hierarchy (v1 controllers and v2). */
export function cgroupDirsWithPrefix(prefix: string): string[] {
  const out: string[] = [];
  let controllers: string[] = [];
  try {
    controllers = fs.readdirSync('/sys/fs/cgroup');
  } catch {
    return out;
  }
  const roots = ['/sys/fs/cgroup', ...controllers.map((c) => path.join('/sys/fs/cgroup', c))];
  for (const root of roots) {
    try {
      for (const e of fs.readdirSync(root, { withFileTypes: true })) {
        if (e.isDirectory() && e.name.startsWith(prefix)) out.push(path.join(root, e.name));
      }
    } catch {
      /* a file (cgroup2 root) or unreadable */
    }
  }
  return out;
}

/** Remove a cgroup subtree: cgroup directories can only be rmdir'ed, innermost first. */
export function rmCgroupTree(dir: string): void {
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) rmCgroupTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    /* busy or gone; the leftovers check reports it */
  }
}

export function netnsWithPrefix(prefix: string): string[] {
  try {
    return fs.readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}
