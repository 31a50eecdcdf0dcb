// Where things are, whether a test runs from test/ (tsx) or from dist/test/ (compiled).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'api7-ha') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the api7-ha repository root');
    dir = up;
  }
}

/** The compiled tree (dist/) of this checkout. */
export const distDir = () => join(repoRoot(), 'dist');
export const temporalBin = () => join(repoRoot(), '.data', 'tools', 'bin', 'temporal');
export const cliBin = () => join(repoRoot(), 'bin', 'api7-ha.js');
