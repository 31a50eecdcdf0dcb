// Runs the command builders' values on one host. Two modes share every code path above them:
// "apply" runs everything; "plan" runs read-only probes and records what would change (commands,
// file diffs, uploads), which is how `deploy --plan` reuses the deploy's own logic.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { shellLine } from '../commands/shell';
import type { FileSpec, RemoteCommand } from '../commands/types';
import * as files from '../commands/files';
import * as staging from '../commands/staging';
import type { SecretName, SecretRef, SshTarget } from '../inventory/model';
import { lineDiff, maskByField } from './plan-diff';
import { maskSecrets, resolveSecret, substituteSecrets } from './secrets';
import type { ExecResult, SshConnection, SshPool } from './ssh';

/**
 * apply: run everything. plan: run read-only probes, record changes. simulate: record changes and
 * answer probes as a fresh host would ("missing"), with no connection at all (offline plans, benchmarks).
 */
export type Mode = 'apply' | 'plan' | 'simulate';

export interface PlannedAction {
  host: string;
  kind: 'command' | 'file' | 'upload';
  describe: string;
  /** The exact shell line (commands) or the target path (files, uploads). */
  detail: string;
  /** For files: a unified-style diff with secrets masked. */
  diff?: string;
}

export class CommandFailed extends Error {
  override name = 'CommandFailed';
  constructor(
    readonly host: string,
    readonly describe: string,
    readonly code: number,
    readonly stderrTail: string,
  ) {
    super(`${host}: ${describe} failed (exit ${code})${stderrTail ? `: ${stderrTail}` : ''}`);
  }
}

const tail = (s: string, lines = 12, chars = 1500) => {
  const t = s.trim().split('\n').slice(-lines).join('\n');
  return t.length > chars ? `…${t.slice(-chars)}` : t;
};

/** Where an executor gets its host's connection: the worker's SSH pool, or a plan's view of it. */
export type Connections = Pick<SshPool, 'get'>;

export interface RunOptions {
  signal?: AbortSignal;
  onOutput?: (chunk: string) => void;
}

export class HostExecutor {
  readonly planned: PlannedAction[] = [];
  private readonly secretValues = new Set<string>();

  constructor(
    readonly target: SshTarget,
    private readonly pool: Connections,
    readonly mode: Mode,
    private readonly secrets: Partial<Record<SecretName, SecretRef>> = {},
  ) {}

  get host(): string {
    return this.target.host;
  }

  /** Whether changes are recorded instead of made. */
  get planning(): boolean {
    return this.mode !== 'apply';
  }

  private conn(): Promise<SshConnection> {
    return this.pool.get(this.target);
  }

  /** Copy a remote file into a new local one (never overwriting); see downloadFile. Apply mode only. */
  async download(remotePath: string, localPath: string, opts: { onProgress?: (bytes: number) => void; signal?: AbortSignal } = {}): Promise<{ bytes: number; sha256: string }> {
    if (this.planning) throw new Error(`${this.host}: a plan does not copy files off hosts`);
    return downloadFile(this, await this.conn(), remotePath, localPath, opts);
  }

  /** Mask every secret value this executor has resolved, in text bound for errors and logs. */
  private mask(text: string): string {
    let out = text;
    for (const v of this.secretValues) if (v.length >= 4) out = out.split(v).join('***');
    return out;
  }

  private async wrap(cmd: RemoteCommand): Promise<{ line: string; stdin?: string }> {
    let stdin = cmd.stdin !== undefined ? await substituteSecrets(cmd.stdin, this.secrets, 'raw') : undefined;
    if (stdin !== undefined && stdin !== cmd.stdin) this.rememberSecretsIn(cmd.stdin ?? '', stdin);
    let line = shellLine(cmd.argv);
    if (cmd.sudo && this.target.sudo) {
      if (this.target.sudoPassword) {
        const pw = await resolveSecret(this.target.sudoPassword);
        this.secretValues.add(pw);
        // -S reads the password from stdin's first line; -p '' keeps the prompt out of stderr; -k
        // ignores cached credentials, so sudo always reads that line (else it reached the command).
        line = `sudo -S -k -p '' -- ${line}`;
        stdin = `${pw}\n${stdin ?? ''}`;
      } else {
        line = `sudo -n -- ${line}`;
      }
    }
    return stdin === undefined ? { line } : { line, stdin };
  }

  private rememberSecretsIn(template: string, resolved: string) {
    // Record the substituted values so they can be masked in any output of this command.
    const parts = template.split(/__SECRET_[a-z_]+__/);
    let rest = resolved;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? '';
      if (!rest.startsWith(p)) return;
      rest = rest.slice(p.length);
      const next = parts[i + 1];
      if (next === undefined) return;
      const end = next === '' ? rest.length : rest.indexOf(next);
      if (end < 0) return;
      this.secretValues.add(rest.slice(0, end));
      rest = rest.slice(end);
    }
  }

  /** The shell line a command becomes on this host (for plans): sudo included, secrets not resolved. */
  lineFor(cmd: RemoteCommand): string {
    const line = shellLine(cmd.argv);
    return cmd.sudo && this.target.sudo ? `sudo -- ${line}` : line;
  }

  /**
   * Run a command. In plan mode a mutating command is recorded and reported as succeeded with empty
   * output; read-only probes run in both modes. A non-ok exit code throws CommandFailed.
   */
  async run(cmd: RemoteCommand, opts: RunOptions = {}): Promise<ExecResult> {
    if (cmd.mutates && this.planning) {
      this.planned.push({ host: this.host, kind: 'command', describe: cmd.describe, detail: this.lineFor(cmd) });
      return { code: 0, stdout: '', stderr: '', durationMs: 0 };
    }
    if (this.mode === 'simulate') {
      // A fresh host: every "is it there?" probe answers with its accepted "missing" code.
      return { code: cmd.okExit?.find((c) => c !== 0) ?? 0, stdout: '', stderr: '', durationMs: 0 };
    }
    const { line, stdin } = await this.wrap(cmd);
    const conn = await this.conn();
    const res = await conn.exec(line, {
      ...(stdin !== undefined ? { stdin } : {}),
      timeoutMs: cmd.timeoutMs ?? 120_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
    });
    const ok = cmd.okExit ?? [0];
    if (!ok.includes(res.code)) throw new CommandFailed(this.host, cmd.describe, res.code, this.mask(tail(res.stderr || res.stdout)));
    // Output is returned as is: callers parse it (and compare file contents with it). Only what
    // leaves as an error message is masked; reconcile functions return facts, never raw output.
    return res;
  }

  /** Run and return trimmed stdout, or undefined when the exit code was an accepted non-zero. */
  async output(cmd: RemoteCommand, opts: RunOptions = {}): Promise<string | undefined> {
    const res = await this.run(cmd, opts);
    return res.code === 0 ? res.stdout.trim() : undefined;
  }

  /**
   * Make a file hold exactly `spec.content` (secrets substituted). Unchanged: nothing happens.
   * Changed: the old file is kept as <path>.bak-<stamp> (mode preserved), the new one is written
   * to a temporary name and moved into place, so a reader never sees half a file.
   */
  async ensureFile(spec: FileSpec, stamp: string): Promise<{ changed: boolean; backup?: string }> {
    if (this.mode === 'simulate') {
      this.planned.push({ host: this.host, kind: 'file', describe: spec.describe, detail: spec.path, diff: lineDiff(undefined, spec.content) });
      return { changed: true };
    }
    const desired = spec.secrets === 'none' ? spec.content : await substituteSecrets(spec.content, this.secrets, spec.secrets);
    if (desired !== spec.content) this.rememberSecretsIn(spec.content, desired);
    const current = await this.output(files.read(spec.path));
    if (current !== undefined && current === desired.trim()) return { changed: false };
    const backup = current !== undefined && spec.backup ? `${spec.path}.bak-${stamp}` : undefined;
    if (this.planning) {
      // Masked by field (every secret-bearing line), then by value (a known secret anywhere else).
      const masked = current === undefined ? undefined : await maskSecrets(maskByField(current, spec.content, desired.trim()), this.secrets);
      this.planned.push({ host: this.host, kind: 'file', describe: spec.describe, detail: spec.path, diff: lineDiff(masked, spec.content) });
      return { changed: true, ...(backup ? { backup } : {}) };
    }
    if (backup) await this.run(files.copyPreserving(spec.path, backup));
    await this.writeAtomically(spec.path, desired, spec.mode);
    return { changed: true, ...(backup ? { backup } : {}) };
  }

  private async writeAtomically(path: string, content: string, mode: number): Promise<void> {
    const conn = await this.conn();
    const sftp = await conn.sftp();
    const dir = path.slice(0, path.lastIndexOf('/')) || '/';
    const name = path.slice(path.lastIndexOf('/') + 1);
    // Root writes next to the target (atomic rename); a sudo user stages in a private folder of its
    // own (mktemp -d, 0700) and root moves the file into place.
    const privateDir = this.target.sudo ? await this.makePrivateDir(staging.WRITE_STAGING_PREFIX) : undefined;
    const staged = privateDir ? `${privateDir}/${name}` : `${dir}/.${name}.api7-ha-tmp`;
    try {
      await new Promise<void>((resolve, reject) =>
        sftp.writeFile(staged, content, { mode }, (err) => (err ? reject(new Error(`${this.host}: cannot write ${staged} over SFTP as ${this.target.user}: ${err.message}`)) : resolve())),
      );
      await this.run({ ...files.chmod(mode.toString(8).padStart(3, '0'), staged), describe: `set the mode of ${path}` });
      if (privateDir) await this.run(staging.ownByRoot(staged));
      await this.run({ ...files.move(staged, path), describe: `write ${path}` });
    } finally {
      if (privateDir) await this.removePrivateDir(privateDir, staged);
    }
  }

  /** A new private staging folder (as the connecting user), checked to be what mktemp makes. */
  private async makePrivateDir(prefix: string): Promise<string> {
    const dir = (await this.output(staging.makePrivateDir(prefix))) ?? '';
    if (!staging.isPrivateDirOf(prefix, dir)) throw new Error(`${this.host}: mktemp -d printed ${JSON.stringify(dir.slice(0, 200))}, not a folder /tmp/${prefix}.XXXXXXXXXX`);
    return dir;
  }

  /** Best effort: a staging folder left behind is private and holds nothing root relies on. */
  private async removePrivateDir(dir: string, ...inside: string[]): Promise<void> {
    try {
      for (const f of inside) await this.run(staging.removeStagedFile(f));
      await this.run(staging.removePrivateDir(dir));
    } catch {
      // The connection may be the reason the step failed; the folder is harmless.
    }
  }

  /** The private folder an earlier attempt of this upload staged in (so it resumes), or a new one. */
  private async uploadDir(remotePath: string): Promise<string> {
    const prefix = staging.uploadStagingPrefix(remotePath);
    const found = (await this.output(staging.findPrivateDirs(prefix, this.target.user))) ?? '';
    return found.split('\n').find((d) => staging.isPrivateDirOf(prefix, d)) ?? (await this.makePrivateDir(prefix));
  }

  /**
   * Upload a local file unless the host already has it with the same sha256. Resumes a partial
   * upload (<remote>.part) from where it stopped, reporting progress so an activity can heartbeat it.
   */
  async upload(
    localPath: string,
    remotePath: string,
    sha256: string,
    opts: { onProgress?: (sent: number, total: number) => void; signal?: AbortSignal } = {},
  ): Promise<{ uploaded: boolean; bytes: number; resumedFrom: number }> {
    // An offline plan still reads the local file's size (it is on the worker, not on a host).
    const total = this.mode === 'simulate' ? await stat(localPath).then((st) => st.size, () => 0) : (await stat(localPath)).size;
    const existing = await this.output(files.sha256(remotePath));
    if (existing?.split(/\s+/)[0] === sha256) return { uploaded: false, bytes: 0, resumedFrom: 0 };
    if (this.planning) {
      this.planned.push({ host: this.host, kind: 'upload', describe: `upload ${localPath} (${total} bytes, sha256 ${sha256})`, detail: remotePath });
      return { uploaded: true, bytes: total, resumedFrom: 0 };
    }
    // Root: <remote>.part beside the target. A sudo user: a private folder of its own, found again
    // by a retry (never a fixed name in /tmp that another user could have created first).
    const privateDir = this.target.sudo ? await this.uploadDir(remotePath) : undefined;
    const part = privateDir ? `${privateDir}/${remotePath.slice(remotePath.lastIndexOf('/') + 1)}.part` : `${remotePath}.part`;
    const sizeOut = await this.output(files.size(part));
    let offset = sizeOut !== undefined ? Number(sizeOut) : 0;
    if (!Number.isFinite(offset) || offset > total) offset = 0;
    const conn = await this.conn();
    const sftp = await conn.sftp();
    await new Promise<void>((resolve, reject) => {
      const src = createReadStream(localPath, { start: offset });
      const dst = sftp.createWriteStream(part, { flags: offset > 0 ? 'r+' : 'w', start: offset, mode: 0o644 });
      let sent = offset;
      let lastReport = 0;
      const onAbort = () => {
        src.destroy();
        dst.destroy();
        reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('cancelled'));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      src.on('data', (chunk) => {
        sent += chunk.length;
        const now = Date.now();
        if (now - lastReport > 500) {
          lastReport = now;
          opts.onProgress?.(sent, total);
        }
      });
      src.on('error', reject);
      dst.on('error', (e: Error) => reject(new Error(`${this.host}: cannot write ${part} over SFTP as ${this.target.user}: ${e.message}`)));
      dst.on('close', () => {
        opts.signal?.removeEventListener('abort', onAbort);
        opts.onProgress?.(sent, total);
        resolve();
      });
      src.pipe(dst);
    });
    const got = (await this.output(files.sha256(part)))?.split(/\s+/)[0];
    if (got !== sha256) {
      // A corrupt partial file must not be resumed again: start over next time.
      await this.run({ ...files.move(part, `${part}.corrupt`), describe: `set aside a corrupt partial upload of ${remotePath}` });
      throw new Error(`${this.host}: upload of ${remotePath} arrived with sha256 ${got ?? 'unknown'}, expected ${sha256}`);
    }
    if (privateDir) await this.run(staging.ownByRoot(part));
    await this.run({ ...files.move(part, remotePath), describe: `move the upload into place at ${remotePath}` });
    if (privateDir) await this.removePrivateDir(privateDir);
    return { uploaded: true, bytes: total - offset, resumedFrom: offset };
  }
}

/**
 * Copy a file off a host into a local file that must not exist yet (`wx`: never overwritten), over
 * SFTP as the connecting user. Returns the bytes copied and the sha256 of what arrived.
 */
export async function downloadFile(
  x: HostExecutor,
  conn: SshConnection,
  remotePath: string,
  localPath: string,
  opts: { onProgress?: (bytes: number) => void; signal?: AbortSignal } = {},
): Promise<{ bytes: number; sha256: string }> {
  const sftp = await conn.sftp();
  const hash = createHash('sha256');
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    const src = sftp.createReadStream(remotePath);
    const dst = createWriteStream(localPath, { flags: 'wx', mode: 0o600 });
    const onAbort = () => {
      src.destroy();
      dst.destroy();
      reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('cancelled'));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let last = 0;
    src.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      if (Date.now() - last > 500) {
        last = Date.now();
        opts.onProgress?.(bytes);
      }
    });
    src.on('error', (e: Error) => reject(new Error(`${x.host}: cannot read ${remotePath} over SFTP as ${x.target.user}: ${e.message}`)));
    dst.on('error', (e: Error) => reject(new Error(`cannot write ${localPath}: ${e.message}`)));
    dst.on('close', () => {
      opts.signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    src.pipe(dst);
  });
  return { bytes, sha256: hash.digest('hex') };
}
