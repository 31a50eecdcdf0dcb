// One SSH connection per host, reused by every activity a worker runs on that host (connection setup
// costs a key exchange; a deploy runs dozens of commands per host). Channels on one connection are
// bounded: OpenSSH's MaxSessions defaults to 10.
import { readFile } from 'node:fs/promises';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import type { SshTarget } from '../inventory/model';
import { hostKeyCheck, HostKeyError } from './hostkeys';
import { resolveSecret } from './secrets';

export interface ExecOptions {
  stdin?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with output as it arrives (progress for long commands). */
  onOutput?: (chunk: string) => void;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** A failure to reach or authenticate to a host; `permanent` ones are configuration problems. */
export class ConnectError extends Error {
  override name = 'ConnectError';
  constructor(
    message: string,
    public readonly permanent: boolean,
  ) {
    super(message);
  }
}

export class CommandTimeout extends Error {
  override name = 'CommandTimeout';
}

const MAX_CHANNELS = 8;
const MAX_OUTPUT = 8 * 1024 * 1024;

class Semaphore {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiters.push(r));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    };
  }
}

export class SshConnection {
  private readonly channels = new Semaphore(MAX_CHANNELS);
  private sftpSession?: Promise<SFTPWrapper>;
  closed = false;

  constructor(
    readonly target: SshTarget,
    private readonly client: Client,
    private readonly jump?: Client,
  ) {
    client.on('close', () => {
      this.closed = true;
    });
    client.on('error', () => {
      this.closed = true;
    });
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const release = await this.channels.acquire();
    const started = Date.now();
    try {
      return await new Promise<ExecResult>((resolve, reject) => {
        this.client.exec(command, (err, stream) => {
          if (err) {
            this.closed = this.closed || /not connected|No response from server/i.test(err.message);
            reject(new ConnectError(`${this.target.host}: cannot open an SSH channel: ${err.message}`, false));
            return;
          }
          let stdout = '';
          let stderr = '';
          let timer: NodeJS.Timeout | undefined;
          const finish = (fn: () => void) => {
            if (timer) clearTimeout(timer);
            opts.signal?.removeEventListener('abort', onAbort);
            fn();
          };
          const kill = () => {
            try {
              stream.signal('KILL');
            } catch {
              /* the server may not support signals; closing the channel is enough */
            }
            stream.close();
          };
          const onAbort = () => {
            kill();
            finish(() => reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('cancelled')));
          };
          if (opts.signal?.aborted) return onAbort();
          opts.signal?.addEventListener('abort', onAbort, { once: true });
          if (opts.timeoutMs)
            timer = setTimeout(() => {
              kill();
              finish(() => reject(new CommandTimeout(`${this.target.host}: command did not finish within ${Math.round(opts.timeoutMs! / 1000)} s`)));
            }, opts.timeoutMs);
          stream.on('data', (d: Buffer) => {
            const s = d.toString('utf8');
            if (stdout.length < MAX_OUTPUT) stdout += s;
            opts.onOutput?.(s);
          });
          stream.stderr.on('data', (d: Buffer) => {
            const s = d.toString('utf8');
            if (stderr.length < MAX_OUTPUT) stderr += s;
            opts.onOutput?.(s);
          });
          stream.on('close', (code: number | null, signal?: string) =>
            finish(() => resolve({ code: code ?? (signal ? 128 : 255), stdout, stderr, durationMs: Date.now() - started })),
          );
          stream.on('error', (e: Error) => finish(() => reject(e)));
          if (opts.stdin !== undefined) stream.end(opts.stdin);
          else stream.end();
        });
      });
    } finally {
      release();
    }
  }

  sftp(): Promise<SFTPWrapper> {
    if (!this.sftpSession) {
      this.sftpSession = new Promise<SFTPWrapper>((resolve, reject) => {
        this.client.sftp((err, sftp) => {
          if (err) {
            this.sftpSession = undefined;
            reject(new ConnectError(`${this.target.host}: cannot start SFTP: ${err.message}`, false));
            return;
          }
          sftp.on('close', () => {
            this.sftpSession = undefined;
          });
          resolve(sftp);
        });
      });
    }
    return this.sftpSession;
  }

  close(): void {
    this.closed = true;
    this.client.end();
    this.jump?.end();
  }
}

function classify(host: string, err: Error & { level?: string; code?: string }): ConnectError {
  if (err instanceof HostKeyError) return new ConnectError(err.message, true);
  if (err.level === 'client-authentication')
    return new ConnectError(`${host}: SSH authentication failed (${err.message}); check ssh.user and ssh.identity_file, or that the key is in the host's authorized_keys`, true);
  if (/privateKey|Cannot parse privateKey|Encrypted private OpenSSH key detected/.test(err.message))
    return new ConnectError(`${host}: cannot use the private key: ${err.message}; check ssh.identity_file and ssh.passphrase`, true);
  return new ConnectError(`${host}: cannot connect over SSH: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '), false);
}

/** A host key seen for the first time under accept-new. */
export interface NewHostKey {
  host: string;
  line: string;
  fingerprint: string;
}

/** record: append new keys to known_hosts (accept-new); report: only list them (plans write nothing). */
type NewKeys = { record: true } | { record: false; seen: NewHostKey[] };

async function connectClient(target: SshTarget, cfg: { address: string; port: number; user: string }, newKeys: NewKeys, sock?: ClientChannel): Promise<Client> {
  const check = await hostKeyCheck({ host: target.host, address: cfg.address, port: cfg.port, knownHostsFile: target.knownHosts, policy: target.hostKeyPolicy });
  const config: ConnectConfig = {
    host: cfg.address,
    port: cfg.port,
    username: cfg.user,
    readyTimeout: target.connectTimeoutS * 1000,
    keepaliveInterval: 10_000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => check.verify(key),
    ...(check.algorithms ? { algorithms: { serverHostKey: check.algorithms as never } } : {}),
    ...(sock ? { sock } : {}),
  };
  if (target.identityFile) {
    try {
      config.privateKey = await readFile(target.identityFile);
    } catch (e) {
      throw new ConnectError(`${target.host}: cannot read ssh identity file ${target.identityFile}: ${(e as NodeJS.ErrnoException).code}`, true);
    }
    if (target.passphrase) config.passphrase = await resolveSecret(target.passphrase);
  }
  if (target.agent) {
    if (!process.env['SSH_AUTH_SOCK']) throw new ConnectError(`${target.host}: ssh.agent is set but SSH_AUTH_SOCK is not set where the worker runs`, true);
    config.agent = process.env['SSH_AUTH_SOCK'];
  }
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      client.removeListener('ready', onReady);
      reject(classify(target.host, Object.assign(err, { message: check.failure()?.message ?? err.message }) as never));
    };
    const onReady = () => {
      client.removeListener('error', onError);
      resolve();
    };
    client.once('ready', onReady);
    client.once('error', onError);
    client.connect(config);
  });
  const failure = check.failure();
  if (failure) {
    client.end();
    throw new ConnectError(failure.message, true);
  }
  const key = check.newKey();
  if (newKeys.record) await check.recordIfNew();
  else if (key) newKeys.seen.push({ host: target.host, ...key });
  // Commands are small request/response exchanges: with Nagle's algorithm on, each one waits for a
  // delayed ACK (~40 ms). Off, a pooled command takes a few milliseconds.
  client.setNoDelay(true);
  // Late errors (after ready) close the connection; the pool reconnects on next use.
  client.on('error', () => undefined);
  return client;
}

export class SshPool {
  private readonly connections = new Map<string, Promise<SshConnection>>();
  /** Host keys seen for the first time (accept-new) that this pool did not record (see recordNewHostKeys). */
  readonly newHostKeys: NewHostKey[] = [];

  /** recordNewHostKeys: false for plans, which must not write known_hosts: new keys are only listed. */
  constructor(private readonly opts: { recordNewHostKeys?: boolean } = {}) {}

  private get newKeys(): NewKeys {
    return this.opts.recordNewHostKeys === false ? { record: false, seen: this.newHostKeys } : { record: true };
  }

  private key(t: SshTarget): string {
    return `${t.user}@${t.address}:${t.port}${t.jump ? ` via ${t.jump.user}@${t.jump.address}:${t.jump.port}` : ''}`;
  }

  async get(target: SshTarget): Promise<SshConnection> {
    const key = this.key(target);
    const existing = this.connections.get(key);
    if (existing) {
      const conn = await existing.catch(() => undefined);
      if (conn && !conn.closed) return conn;
      this.connections.delete(key);
    }
    const fresh = this.open(target);
    this.connections.set(key, fresh);
    fresh.catch(() => this.connections.delete(key));
    return fresh;
  }

  private async open(target: SshTarget): Promise<SshConnection> {
    if (!target.jump) return new SshConnection(target, await connectClient(target, { address: target.address, port: target.port, user: target.user }, this.newKeys));
    const jumpTarget: SshTarget = { ...target, host: `${target.host} (jump host ${target.jump.address})` };
    const jump = await connectClient(jumpTarget, target.jump, this.newKeys);
    const sock = await new Promise<ClientChannel>((resolve, reject) =>
      jump.forwardOut('127.0.0.1', 0, target.address, target.port, (err, stream) => (err ? reject(classify(target.host, err)) : resolve(stream))),
    );
    const client = await connectClient(target, { address: target.address, port: target.port, user: target.user }, this.newKeys, sock);
    return new SshConnection(target, client, jump);
  }

  /** Drop a host's connection (after a fault made it unusable). */
  forget(target: SshTarget): void {
    const key = this.key(target);
    const c = this.connections.get(key);
    this.connections.delete(key);
    c?.then((conn) => conn.close()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    for (const c of all) {
      const conn = await c.catch(() => undefined);
      conn?.close();
    }
  }
}
