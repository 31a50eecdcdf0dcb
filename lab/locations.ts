/** Where a lab and its artifact cache live by default, and path helpers. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The checkout root: the nearest parent of this file with the project's package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'api7-ha') return dir;
    } catch {
      /* keep walking */
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the api7-ha checkout above ${__dirname}`);
    dir = up;
  }
}

export function defaultLabDir(): string {
  const env = process.env.API7HA_LAB_DIR;
  return env && env.trim() !== '' ? path.resolve(env) : path.join(repoRoot(), '.lab');
}

/** Shared artifact cache of the checkout (env API7HA_LAB_ARTIFACTS_DIR overrides, e.g. for a CI cache). */
export function defaultArtifactsDir(): string {
  const env = process.env.API7HA_LAB_ARTIFACTS_DIR;
  return env && env.trim() !== '' ? path.resolve(env) : path.join(repoRoot(), '.lab', 'artifacts');
}

/** realpath that tolerates a path that does not exist yet (resolves the nearest existing parent). */
export function realpathLoose(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return abs;
      rest.push(path.basename(cur));
      cur = up;
    }
  }
}

export function rmrf(p: string): void {
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
}
