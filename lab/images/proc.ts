// Process, hashing and atomic-file helpers for the lab image builder. Only Node built-ins:
// the builder must run before anything else of the lab exists.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Write stdout to this file instead of collecting it. */
  stdoutFile?: string;
}

/** Runs a command without a shell; rejects with the command line and stderr tail on failure. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sink = opts.stdoutFile ? createWriteStream(opts.stdoutFile) : undefined;
    if (sink) child.stdout.pipe(sink);
    else child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const finish = (): void => {
        if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
        else reject(new Error(`${cmd} ${args.join(' ')} exited ${String(code)}: ${Buffer.concat(err).toString('utf8').slice(-2000)}`));
      };
      if (sink) sink.end(finish);
      else finish();
    });
  });
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/**
 * Hashes every file under dir (relative path + content), skipping names in `skip` at any depth.
 * The order is sorted so the digest does not depend on readdir order.
 */
export async function hashTree(dir: string, skip: ReadonlySet<string>): Promise<string> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      if (skip.has(e.name)) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) files.push(r);
    }
  };
  await walk('');
  files.sort();
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f).update('\0').update(await fs.readFile(path.join(dir, f))).update('\0');
  }
  return h.digest('hex');
}

/** A unique sibling name for building `final` before the atomic rename. */
export function tempName(final: string): string {
  return `${final}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Produces `final` atomically: `make` writes a temp sibling, which is renamed over `final` only
 * when `make` succeeded. A crash leaves at most a `.tmp-` file, never a half `final`.
 */
export async function atomically(final: string, make: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempName(final);
  try {
    await make(tmp);
    await fs.rename(tmp, final);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

export async function writeFileAtomic(final: string, data: string): Promise<void> {
  await atomically(final, (tmp) => fs.writeFile(tmp, data));
}

export async function fileSize(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return undefined;
  }
}

/**
 * The deterministic GNU tar flags: sorted names, root ownership by number, epoch mtimes, GNU
 * format (no pax headers carrying atime/ctime).
 */
export const TAR_DETERMINISTIC = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--format=gnu'] as const;

/** Tars `entries` (relative to cwd) deterministically into an uncompressed tar file. */
export async function tarTo(out: string, cwd: string, entries: readonly string[]): Promise<void> {
  await run('tar', [...TAR_DETERMINISTIC, '-C', cwd, '-cf', out, '--', ...entries]);
}

/**
 * Tars `entries` deterministically and gzips the stream with zlib (no file name, mtime 0 in the
 * gzip header), so the same inputs give byte-identical output.
 */
export async function tarGzTo(out: string, cwd: string, entries: readonly string[]): Promise<void> {
  const child = spawn('tar', [...TAR_DETERMINISTIC, '-C', cwd, '-cf', '-', '--', ...entries], { stdio: ['ignore', 'pipe', 'pipe'] });
  const err: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`tar exited ${String(code)}: ${Buffer.concat(err).toString('utf8').slice(-2000)}`));
    });
  });
  await Promise.all([pipeline(child.stdout, createGzip({ level: 6 }), createWriteStream(out)), exited]);
}

/** Hard-links src to dst when both are on one filesystem (no copy of big layers), else copies. */
export async function linkOrCopy(src: string, dst: string): Promise<void> {
  try {
    await fs.link(src, dst);
  } catch {
    await fs.copyFile(src, dst);
  }
}
