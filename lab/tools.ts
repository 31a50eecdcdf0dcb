/**
 * Programs some lab hosts get that the machine's Debian packages lack, prepared once and shared: the
 * docker compose v2 plugin (built from the Go module proxy by scripts/tools/docker-compose.sh, cached
 * in .data/tools) and firewalld (Debian's package, unpacked; installed on the machine it would be on
 * every host, and `firewall-cmd` without a running firewalld changes what preflight sees everywhere).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { baseEnv, runOk } from './exec';
import { repoRoot } from './locations';

/** Where hosts look for CLI plugins (both Debian's 20.10 client and current ones). */
export const COMPOSE_PLUGIN_PATH = '/usr/local/lib/docker/cli-plugins/docker-compose';
/** Other places a machine may have a compose plugin, hidden on hosts that should lack one. */
export const OTHER_COMPOSE_PLUGIN_PATHS = ['/usr/libexec/docker/cli-plugins/docker-compose', '/usr/lib/docker/cli-plugins/docker-compose', '/usr/local/libexec/docker/cli-plugins/docker-compose'];
export const COMPOSE_V1_PATH = '/usr/bin/docker-compose';

/** The compose plugin binary, built (or found cached) by the provisioning script. */
export async function ensureComposePlugin(log: (line: string) => void): Promise<string> {
  const root = repoRoot();
  const binary = path.join(root, '.data', 'tools', 'compose', 'docker-compose');
  // The script is a no-op when the cached build matches; otherwise it builds (minutes, once).
  if (!fs.existsSync(binary)) log('docker compose v2 is not built yet: building it from the Go module proxy (a few minutes, once)');
  await runOk(['bash', path.join(root, 'scripts', 'tools', 'docker-compose.sh')], {
    env: baseEnv(process.env.GO ? { GO: process.env.GO } : {}),
    timeoutMs: 30 * 60_000,
    context: 'building docker compose v2',
  });
  return binary;
}

/** firewalld's package unpacked under the artifact cache (downloaded from Debian when missing). */
export async function ensureFirewalldTree(artifactsDir: string, log: (line: string) => void): Promise<string> {
  const debs = path.join(repoRoot(), '.data', 'tools', 'debs');
  const find = (): string | undefined => (fs.existsSync(debs) ? fs.readdirSync(debs).find((f) => /^firewalld_.*\.deb$/.test(f)) : undefined);
  if (!find()) {
    log('downloading the Debian package firewalld');
    fs.mkdirSync(debs, { recursive: true });
    await runOk(['apt-get', 'download', 'firewalld'], { cwd: debs, timeoutMs: 5 * 60_000, context: 'apt-get download firewalld' });
  }
  const deb = find()!;
  const tree = path.join(artifactsDir, 'firewalld', deb.replace(/\.deb$/, ''));
  if (!fs.existsSync(path.join(tree, 'usr', 'sbin', 'firewalld'))) {
    const tmp = `${tree}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    await runOk(['dpkg-deb', '-x', path.join(debs, deb), tmp], { context: `unpacking ${deb}` });
    fs.rmSync(tree, { recursive: true, force: true });
    fs.renameSync(tmp, tree);
  }
  return tree;
}
