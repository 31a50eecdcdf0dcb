// One SSH connection per host, reused by every activity a worker runs on that host (connection setup
// costs a key exchange; a deploy runs dozens of commands per host). Channels on one connection are
// bounded: OpenSSH's MaxSessions defaults to 10. Hosts behind a jump host share one connection to it.
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { Client, utils, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import type { SshTarget } from '../inventory/model';
import { hostKeyCheck, HostKeyError } from './hostkeys';
import { jumpTargetOf, type HttpRoute } from './routes';
import { describeRef, resolveSecret } from './secrets';

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
  }
}

/** A key that cannot be used is a configuration problem: say which, for which host, and how to fix it. */
function keyProblem(who: string, target: SshTarget, reason: string): ConnectError {
  const encrypted = /no passphrase given/.test(reason);
  const wrong = /bad passphrase|decrypt/i.test(reason);
  const what = encrypted
    ? `the private key ${target.identityFile} is encrypted and no passphrase is set; set ssh.passphrase: { env: VARIABLE } or { file: /path }`
    : wrong
      ? `the passphrase${target.passphrase ? ` in ${describeRef(target.passphrase)}` : ''} does not decrypt the private key ${target.identityFile} (wrong passphrase?)`
      : `cannot use the private key ${target.identityFile}: ${reason}; check ssh.identity_file and ssh.passphrase`;
  return new ConnectError(`${who}: ${what}`, true);
}

function classify(who: string, target: SshTarget, err: Error & { level?: string; code?: string }): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof HostKeyError) return new ConnectError(err.message, true);
  if (err.level === 'client-authentication') {
    const tried = [target.identityFile ? `the key ${target.identityFile}` : '', target.agent ? 'the keys of the ssh-agent at $SSH_AUTH_SOCK' : ''].filter(Boolean).join(' and ');
    return new ConnectError(
      `${who}: SSH authentication failed as ${target.user} with ${tried || 'no key'} (${err.message}); check ssh.user and ssh.identity_file${target.agent ? ' (or ssh-add the key to the agent)' : ''}, or that the key is in the host's authorized_keys`,
      true,
    );
  }
  if (/privateKey|Encrypted private OpenSSH key detected|bad passphrase/.test(err.message)) return keyProblem(who, target, err.message);
  return new ConnectError(`${who}: cannot connect over SSH: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '), false);
}

/** The private key, decrypted here once so that a wrong passphrase is reported as what it is. */
async function privateKeyOf(who: string, target: SshTarget): Promise<{ key: Buffer; passphrase?: string } | undefined> {
  if (!target.identityFile) return undefined;
  let key: Buffer;
  try {
    key = await readFile(target.identityFile);
  } catch (e) {
    throw new ConnectError(`${who}: cannot read ssh identity file ${target.identityFile}: ${(e as NodeJS.ErrnoException).code}`, true);
  }
  const passphrase = target.passphrase ? await resolveSecret(target.passphrase) : undefined;
  const parsed = utils.parseKey(key, passphrase);
  if (parsed instanceof Error) throw keyProblem(who, target, parsed.message);
  return { key, ...(passphrase !== undefined ? { passphrase } : {}) };
}

/** A host key seen for the first time under accept-new. */
export interface NewHostKey {
  host: string;
  line: string;
  fingerprint: string;
}

/** record: append new keys to known_hosts (accept-new); report: only list them (plans write nothing). */
type NewKeys = { record: true } | { record: false; seen: NewHostKey[] };

/**
 * One authenticated connection. `who` names the host in every error ("ha1", or "jump host
 * 10.0.0.2:22 for ha1"), so an operator knows which hop refused.
 */
async function connectClient(target: SshTarget, who: string, newKeys: NewKeys, sock?: ClientChannel): Promise<Client> {
  const check = await hostKeyCheck({ host: who, address: target.address, port: target.port, knownHostsFile: target.knownHosts, policy: target.hostKeyPolicy });
  const config: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: target.user,
    readyTimeout: target.connectTimeoutS * 1000,
    keepaliveInterval: 10_000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => check.verify(key),
    ...(check.algorithms ? { algorithms: { serverHostKey: check.algorithms as never } } : {}),
    ...(sock ? { sock } : {}),
  };
  const pk = await privateKeyOf(who, target);
  if (pk) {
    config.privateKey = pk.key;
    if (pk.passphrase !== undefined) config.passphrase = pk.passphrase;
  }
  if (target.agent) {
    if (!process.env['SSH_AUTH_SOCK']) throw new ConnectError(`${who}: ssh.agent is set but SSH_AUTH_SOCK is not set where the worker runs`, true);
    config.agent = process.env['SSH_AUTH_SOCK'];
  }
  const client = new Client();
  // Every error the client raises has a listener, for its whole life: a host that drops the
  // connection mid-handshake can raise two (a protocol error, then ECONNRESET), and an 'error' with
  // no listener is an uncaught exception that takes the worker down. The first one settles the
  // handshake; later ones only close the connection (SshConnection sees that; the pool reconnects).
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const fail = (err: Error) =>
      settle(() => {
        client.end();
        // A refused host key is the reason the handshake failed: report it as such (permanent).
        const refused = check.failure();
        reject(refused ? new ConnectError(refused.message, true) : classify(who, target, err));
      });
    client.on('error', fail);
    client.once('ready', () => settle(resolve));
    // ssh2 reports a connection lost before the handshake as an error first; this is the backstop.
    client.once('close', () => fail(new Error('the connection closed before the SSH handshake finished')));
    try {
      client.connect(config);
    } catch (e) {
      fail(e as Error);
    }
  });
  try {
    const failure = check.failure();
    if (failure) throw new ConnectError(failure.message, true);
    const key = check.newKey();
    if (newKeys.record) await check.recordIfNew();
    else if (key) newKeys.seen.push({ host: who, ...key });
  } catch (e) {
    client.end();
    throw e;
  }
  // Commands are small request/response exchanges: with Nagle's algorithm on, each one waits for a
  // delayed ACK (~40 ms). Off, a pooled command takes a few milliseconds.
  if (!sock) client.setNoDelay(true);
  return client;
}

/** A forwarded channel, looking enough like a net.Socket for node:http (as ssh2's own HTTP agents do). */
function asSocket(ch: ClientChannel): ClientChannel {
  const noop = () => ch;
  return Object.assign(ch, { setKeepAlive: noop, setNoDelay: noop, setTimeout: noop, ref: noop, unref: noop, destroySoon: () => ch.destroy() });
}

/**
 * One SSH connection per host, shared by every activity a worker runs on it. Hosts behind a jump
 * host are reached through ONE pooled connection to that jump host (its key checked first), each
 * host's connection a channel forwarded by it; HTTP to those hosts takes the same way (agentFor).
 */
export class SshPool {
  private readonly connections = new Map<string, Promise<SshConnection>>();
  private readonly jumps = new Map<string, Promise<Client>>();
  /** address -> the jump host that reaches it (learned from targets, or given as routes). */
  private readonly routes = new Map<string, SshTarget>();
  private readonly agents = new Map<string, HttpAgent>();
  /** Host keys seen for the first time (accept-new) that this pool did not record (see recordNewHostKeys). */
  readonly newHostKeys: NewHostKey[] = [];

  /** recordNewHostKeys: false for plans, which must not write known_hosts: new keys are only listed. */
  constructor(private readonly opts: { recordNewHostKeys?: boolean } = {}) {}

  private get newKeys(): NewKeys {
    return this.opts.recordNewHostKeys === false ? { record: false, seen: this.newHostKeys } : { record: true };
  }

  /** A connection is reused only for the same login AND the same trust: another key, agent or
   *  known_hosts file (an operator who re-pinned a host) means a new, newly verified connection. */
  private key(t: SshTarget): string {
    const trust = `${t.identityFile ?? '-'} ${t.agent ? 'agent' : '-'} ${t.knownHosts} ${t.hostKeyPolicy} ${t.passphrase ? JSON.stringify(t.passphrase) : '-'}`;
    return `${t.user}@${t.address}:${t.port}${t.jump ? ` via ${t.jump.user}@${t.jump.address}:${t.jump.port}` : ''} ${trust}`;
  }

  async get(target: SshTarget): Promise<SshConnection> {
    const via = jumpTargetOf(target);
    if (via) this.routes.set(target.address, via);
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

  /** The pooled connection to a jump host (opened on first use; a closed one is replaced). */
  private jumpClient(via: SshTarget): Promise<Client> {
    const key = this.key(via);
    const existing = this.jumps.get(key);
    if (existing) return existing;
    const fresh = connectClient(via, via.host, this.newKeys).then((c) => {
      c.on('close', () => {
        if (this.jumps.get(key) === fresh) this.jumps.delete(key);
      });
      return c;
    });
    this.jumps.set(key, fresh);
    fresh.catch(() => this.jumps.delete(key));
    return fresh;
  }

  /** A TCP channel to address:port, forwarded by the jump host (retried once on a jump connection that just closed). */
  async forward(via: SshTarget, address: string, port: number, forWhom: string): Promise<ClientChannel> {
    for (let attempt = 0; ; attempt++) {
      const jump = await this.jumpClient(via);
      try {
        return await new Promise<ClientChannel>((resolve, reject) => jump.forwardOut('127.0.0.1', 0, address, port, (err, ch) => (err ? reject(err) : resolve(ch))));
      } catch (e) {
        const msg = (e as Error).message;
        if (attempt === 0 && /not connected|No response|closed/i.test(msg)) {
          this.jumps.forEach((p, k) => void p.then((c) => (c === jump ? this.jumps.delete(k) : undefined), () => undefined));
          continue;
        }
        throw new ConnectError(`${forWhom}: the jump host ${via.address}:${via.port} cannot open a connection to ${address}:${port}: ${msg}`, false);
      }
    }
  }

  private async open(target: SshTarget): Promise<SshConnection> {
    const via = jumpTargetOf(target);
    if (!via) return new SshConnection(target, await connectClient(target, target.host, this.newKeys));
    // The jump host first (its key checked before anything reaches the host), then the host itself.
    const sock = await this.forward(via, target.address, target.port, target.host).catch((e: unknown) => {
      if (e instanceof ConnectError && !e.message.startsWith(`${target.host}:`)) throw new ConnectError(`${target.host}: through the ${e.message}`, e.permanent);
      throw e;
    });
    return new SshConnection(target, await connectClient(target, target.host, this.newKeys, sock));
  }

  /** Tell the pool which addresses sit behind which jump host (for HTTP before any SSH to them). */
  addRoutes(routes: readonly HttpRoute[] | undefined): void {
    for (const r of routes ?? []) this.routes.set(r.address, r.via);
  }

  /** A keep-alive HTTP(S) agent whose sockets are channels through the address's jump host, if it has one. */
  agentFor(address: string, secure: boolean): HttpAgent | undefined {
    const route = this.routes.get(address);
    if (!route) return undefined;
    const via: SshTarget = route;
    const key = `${secure ? 'https' : 'http'} ${address}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const dial = (port: number) => this.forward(via, address, port, address);
      const Base = secure ? HttpsAgent : HttpAgent;
      class TunnelAgent extends Base {
        override createConnection(options: Record<string, unknown>, cb: (err: Error | null, socket?: Duplex) => void): undefined {
          dial(Number(options['port'])).then(
            (ch) => cb(null, secure ? tlsConnect({ ...(options as object), socket: ch }) : asSocket(ch)),
            (e: Error) => cb(e),
          );
          return undefined;
        }
      }
      agent = new TunnelAgent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 8 });
      this.agents.set(key, agent);
    }
    return agent;
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
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
    for (const c of all) {
      const conn = await c.catch(() => undefined);
      conn?.close();
    }
    const jumps = [...this.jumps.values()];
    this.jumps.clear();
    for (const j of jumps) (await j.catch(() => undefined))?.end();
  }
}

// ---- HTTP to hosts behind jump hosts ----------------------------------------------------------

let httpPool: SshPool | undefined;

/** HTTP from this process to hosts behind a jump host goes through this pool's jump connections. */
export function routeHttpThrough(pool: SshPool): void {
  httpPool = pool;
}

/** The tunnel agent for a host behind a jump host, or undefined (a direct connection). */
export function tunnelAgentFor(hostname: string, secure: boolean): HttpAgent | undefined {
  return httpPool?.agentFor(hostname, secure);
}

/** Routes from an activity's input (hosts the worker may never have opened SSH to). */
export function addHttpRoutes(routes: readonly HttpRoute[] | undefined): void {
  httpPool?.addRoutes(routes);
}
