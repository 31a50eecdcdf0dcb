/**
 * The one place that starts programs: argv arrays only (no shell), a fixed PATH, bounded output,
 * timeouts, and errors that say which command failed and why.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { LAB_PATH, type Argv } from './commands';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  cwd?: string;
}

const MAX_CAPTURE = 8 * 1024 * 1024;

export class CommandError extends Error {
  constructor(
    readonly argv: Argv,
    readonly result: RunResult,
    context?: string,
  ) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-8).join('\n');
    super(`${context ? `${context}: ` : ''}\`${argv.join(' ')}\` exited with ${result.code}${tail ? `: ${tail}` : ''}`);
    this.name = 'CommandError';
  }
}

export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: LAB_PATH, LANG: 'C.UTF-8', HOME: '/root', ...extra };
}

/** Run argv to completion and capture its output; never throws for a non-zero exit. */
export function run(argv: Argv, opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error('empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? baseEnv(),
      cwd: opts.cwd ?? '/',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (outBytes < MAX_CAPTURE) out.push(b);
      outBytes += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes < MAX_CAPTURE) err.push(b);
      errBytes += b.length;
    });
    let timedOut = false;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs)
        : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        // Shell convention for a signal death: 128 + signal number.
        code: code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: timedOut ? `${stderr}\n(timed out after ${opts.timeoutMs} ms)` : stderr,
      });
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

/** Run argv and throw a CommandError (with the stderr tail) unless it exits 0. */
export async function runOk(argv: Argv, opts: RunOptions & { context?: string } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new CommandError(argv, r, opts.context);
  return r.stdout;
}

/**
 * Start a long-lived daemon detached from us (own session, output appended to `logFile`), so it
 * outlives the CLI process. Returns its PID; the caller records it and later stops it by PID.
 */
export function spawnDaemon(argv: Argv, logFile: string, env: Record<string, string>): number {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('empty argv');
  const fd = fs.openSync(logFile, 'a', 0o600);
  try {
    fs.writeSync(fd, `\n--- ${new Date().toISOString()} starting: ${argv.join(' ')}\n`);
    const child = spawn(cmd, args, { env, cwd: '/', detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`cannot start ${cmd} (see ${logFile})`);
    // A failure to exec shows up as an 'error' event; the readiness wait reports it with the log.
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

/** Last lines of a log file, for error messages. */
export function tailFile(file: string, lines = 15): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
