// The production-shaped Temporal of temporal-docker-compose.yml, without Docker: PostgreSQL 15 from
// Debian on a private port and data dir, the schema set up by the compose file's own script (with the
// SQL tool built from go.temporal.io/server), the server built from the same module rendering the same
// config template as the temporalio/server image (config/docker.yaml) from the compose file's own
// environment, then the compose file's setup script (namespace, api7-ha's search attributes).
// Visibility is SQL on PostgreSQL (advanced visibility: custom search attributes, list filters).
//
//   npm run temporal -- --postgres      (foreground; Ctrl-C stops the server and PostgreSQL)
//   node dist/scripts/temporal-cluster.js [--dir DIR] [--port 7233]
//   node dist/scripts/temporal-cluster.js --stop [DIR]   (stops a cluster a crashed process left)
//
// Tests use the class (test/lab/temporal-cluster.test.ts): start, restart the server, stop.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const ROOT = resolve(__dirname, '..', '..');
const TOOLS = join(ROOT, '.data', 'tools');
const SERVER_DIR = join(TOOLS, 'temporal-server');
export const COMPOSE_FILE = join(ROOT, 'temporal-docker-compose.yml');

/** Server-side TLS: the frontend (and internode) certificate, the CA that signs client certificates. */
export interface ClusterTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** mTLS: clients must present a certificate signed by caFile. */
  requireClientAuth: boolean;
  /** The name in the server certificate (default localhost). */
  serverName?: string;
}

export interface ClusterOptions {
  /** Everything lives here: PostgreSQL's data dir, logs, the ports file. */
  dir: string;
  /** gRPC frontend port (default: a free one, kept across restarts). */
  port?: number;
  tls?: ClusterTls;
  /** Tests: PostgreSQL without fsync (a throwaway database on a busy machine). */
  fast?: boolean;
  /**
   * Authorization on (the template's default JWT claim mapper and authorizer): tokens are checked
   * against the JWKS at this URL, and the server's own services use the internal frontend.
   * adminToken (temporal-system:admin) is what this launcher uses for its health check and setup.
   */
  auth?: { jwksUri: string; adminToken: string };
  log?: (line: string) => void;
  /** Interpolates the compose file (POSTGRES_USER, POSTGRES_PASSWORD), as Compose does. */
  env?: NodeJS.ProcessEnv;
}

interface Ports {
  postgres: number;
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  internalFrontend?: number;
  internalFrontendHttp?: number;
  internalFrontendMembership?: number;
}

interface ComposeService {
  environment?: Record<string, string | number>;
  command?: string[] | string;
}

/** Compose's interpolation: `$$` is a literal `$`, `${NAME:-default}` and `${NAME}` come from the env. */
export function interpolate(s: string, env: NodeJS.ProcessEnv): string {
  return s.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (all, name: string | undefined, def: string | undefined) => {
    if (all === '$$') return '$';
    const v = env[name!];
    return v !== undefined && v !== '' ? v : (def ?? '');
  });
}

/** The compose file's services, interpolated (merge keys resolved), as `docker compose config` gives them. */
export function composeServices(env: NodeJS.ProcessEnv = process.env, file = COMPOSE_FILE): Record<string, ComposeService> {
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  const walk = (v: unknown): unknown => (typeof v === 'string' ? interpolate(v, env) : Array.isArray(v) ? v.map(walk) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)])) : v);
  return walk(doc.services) as Record<string, ComposeService>;
}

const stringEnv = (e: Record<string, string | number> | undefined) => Object.fromEntries(Object.entries(e ?? {}).map(([k, v]) => [k, String(v)]));
const script = (s: ComposeService | undefined, name: string) => {
  const c = [s?.command ?? []].flat();
  if (!c.length) throw new Error(`${COMPOSE_FILE}: service ${name} has no command`);
  return c.join('\n');
};

/**
 * What differs from the compose file, and only this: addresses and ports (loopback, private ports
 * instead of container names and 5432/7233), where the schema and dynamic config are, and TLS.
 */
export const LOCAL_OVERRIDES = ['POSTGRES_SEEDS', 'DB_PORT', 'POSTGRES_PORT', 'BIND_ON_IP', 'TEMPORAL_BROADCAST_ADDRESS', 'TEMPORAL_ADDRESS'] as const;

const canListen = (port: number) =>
  new Promise<boolean>((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });

/**
 * A free port below the ephemeral range: the server stores membership ports in a smallint column
 * (a port above 32767 fails its start), and the kernel hands out ephemeral ports from 32768 up.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await canListen(port)) return port;
  }
}

function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', name))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error(`PostgreSQL's ${name} is not installed: apt-get install postgresql (scripts/provision.sh does)`);
  return join(base, versions[0]!, 'bin', name);
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      res({ code, out: `${stdout}${stderr}` });
    });
  });
}

async function runOk(what: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.out}`);
  return r.out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class TemporalCluster {
  readonly dir: string;
  private ports!: Ports;
  private server: ChildProcess | undefined;
  private serverExit: Promise<void> | undefined;
  private readonly log: (l: string) => void;
  private readonly env: NodeJS.ProcessEnv;
  /** Seconds each phase took on the last start (for reports and benchmarks). */
  readonly timings: Record<string, number> = {};

  constructor(private readonly opts: ClusterOptions) {
    this.dir = resolve(opts.dir);
    this.log = opts.log ?? (() => undefined);
    this.env = opts.env ?? process.env;
  }

  get address(): string {
    return `127.0.0.1:${this.ports.frontend}`;
  }

  /** TEMPORAL_* variables for the temporal CLI, api7-ha's CLI and workers (TLS as the CLI names them). */
  clientEnv(client?: { certFile: string; keyFile: string }): Record<string, string> {
    const t = this.opts.tls;
    return {
      TEMPORAL_ADDRESS: this.address,
      TEMPORAL_NAMESPACE: 'default',
      ...(t ? { TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_CA_CERT_PATH: t.caFile, TEMPORAL_TLS_SERVER_NAME: t.serverName ?? 'localhost' } : {}),
      ...(t && client ? { TEMPORAL_TLS_CLIENT_CERT_PATH: client.certFile, TEMPORAL_TLS_CLIENT_KEY_PATH: client.keyFile } : {}),
    };
  }

  /** What the launcher itself connects with: the admin client certificate and token. */
  private adminEnv(): Record<string, string> {
    return { ...this.clientEnv(this.adminClient), ...(this.opts.auth ? { TEMPORAL_API_KEY: this.opts.auth.adminToken } : {}) };
  }

  /** PostgreSQL (created on first start), schema, server, namespace and search attributes. */
  async start(opts: { adminClient?: { certFile: string; keyFile: string } } = {}): Promise<void> {
    for (const f of ['temporal-server', 'temporal-sql-tool']) {
      if (!existsSync(join(SERVER_DIR, f))) throw new Error(`${join(SERVER_DIR, f)} is missing: run scripts/provision.sh (it builds the Temporal server, ~5 min the first time)`);
    }
    mkdirSync(this.dir, { recursive: true });
    this.ports = await this.loadPorts();
    this.adminClient = opts.adminClient;
    await this.phase('postgres', () => this.startPostgres());
    await this.phase('schema', () => this.setupSchema());
    await this.phase('server', () => this.startServer());
    await this.phase('setup', () => this.setupNamespace());
  }

  private adminClient: { certFile: string; keyFile: string } | undefined;

  private async phase(name: string, fn: () => Promise<void>): Promise<void> {
    const t0 = Date.now();
    await fn();
    this.timings[name] = (Date.now() - t0) / 1000;
    this.log(`[temporal-cluster] ${name}: ${this.timings[name]!.toFixed(1)} s`);
  }

  private async loadPorts(): Promise<Ports> {
    const file = join(this.dir, 'ports.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Ports;
    const p: Ports = {
      postgres: await freePort(),
      frontend: this.opts.port ?? (await freePort()),
      frontendHttp: await freePort(),
      frontendMembership: await freePort(),
      history: await freePort(),
      historyMembership: await freePort(),
      matching: await freePort(),
      matchingMembership: await freePort(),
      worker: await freePort(),
      workerMembership: await freePort(),
      internalFrontend: await freePort(),
      internalFrontendHttp: await freePort(),
      internalFrontendMembership: await freePort(),
    };
    writeFileSync(file, JSON.stringify(p, null, 2));
    return p;
  }

  /** As root, PostgreSQL runs as the postgres user (it refuses root); otherwise as the caller. */
  private asPg(cmd: string, args: string[]): [string, string[]] {
    return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  }

  private owned(path: string, mode = 0o700): void {
    if (!existsSync(path)) mkdirSync(path, { recursive: true });
    chmodSync(path, mode);
    if (process.getuid?.() === 0) {
      const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
      if (!passwd) throw new Error('no postgres user: apt-get install postgresql (it creates one)');
      const [, , uid, gid] = passwd.split(':');
      chownSync(path, Number(uid), Number(gid));
    }
  }

  private get services() {
    return composeServices(this.env);
  }

  private dbEnv(service: string): NodeJS.ProcessEnv {
    return { ...stringEnv(this.services[service]?.environment), POSTGRES_SEEDS: '127.0.0.1', DB_PORT: String(this.ports.postgres), POSTGRES_PORT: String(this.ports.postgres) };
  }

  private async startPostgres(): Promise<void> {
    const data = join(this.dir, 'pg');
    const sock = join(this.dir, 'pg-run');
    const env = this.dbEnv('temporal');
    if (!existsSync(join(data, 'PG_VERSION'))) {
      this.owned(data);
      // The superuser is the compose file's POSTGRES_USER with its password, as the postgres image makes it.
      const pw = join(this.dir, 'pg-init-password');
      writeFileSync(pw, `${env['POSTGRES_PWD'] ?? ''}\n`, { mode: 0o600 });
      this.owned(pw, 0o600);
      try {
        const [c, a] = this.asPg(pgBin('initdb'), ['-D', data, '-U', env['POSTGRES_USER'] ?? 'temporal', `--pwfile=${pw}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', ...(this.opts.fast ? ['--no-sync'] : [])]);
        await runOk('initdb', c, a);
      } finally {
        rmSync(pw, { force: true });
      }
    }
    this.owned(sock, 0o755);
    const settings = [`-c listen_addresses=127.0.0.1`, `-c port=${this.ports.postgres}`, `-c unix_socket_directories=${sock}`, ...(this.opts.fast ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : [])];
    const [c, a] = this.asPg(pgBin('pg_ctl'), ['-D', data, '-l', join(data, 'postgres.log'), '-w', '-t', '60', '-o', settings.join(' '), 'start']);
    const r = await run(c, a);
    if (r.code !== 0 && !/another server might be running/.test(r.out)) throw new Error(`PostgreSQL did not start:\n${r.out}\n${readFileSync(join(data, 'postgres.log'), 'utf8').slice(-2000)}`);
  }

  /** The compose file's temporal-schema script, with this machine's SQL tool and schema. */
  private async setupSchema(): Promise<void> {
    const env = { ...this.dbEnv('temporal-schema'), TEMPORAL_SCHEMA_DIR: join(SERVER_DIR, 'schema'), PATH: `${SERVER_DIR}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
    const out = await runOk('schema setup (temporal-docker-compose.yml temporal-schema)', '/bin/sh', ['-ec', script(this.services['temporal-schema'], 'temporal-schema')], { env });
    writeFileSync(join(this.dir, 'schema.log'), out);
  }

  /** The server, rendering the image's config template from the compose file's environment. */
  async startServer(): Promise<void> {
    const t = this.opts.tls;
    const p = this.ports;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      ...this.dbEnv('temporal'),
      BIND_ON_IP: '127.0.0.1',
      TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
      DYNAMIC_CONFIG_FILE_PATH: join(SERVER_DIR, 'config', 'dynamicconfig', 'docker.yaml'),
      FRONTEND_GRPC_PORT: String(p.frontend),
      FRONTEND_HTTP_PORT: String(p.frontendHttp),
      FRONTEND_MEMBERSHIP_PORT: String(p.frontendMembership),
      HISTORY_GRPC_PORT: String(p.history),
      HISTORY_MEMBERSHIP_PORT: String(p.historyMembership),
      MATCHING_GRPC_PORT: String(p.matching),
      MATCHING_MEMBERSHIP_PORT: String(p.matchingMembership),
      WORKER_GRPC_PORT: String(p.worker),
      WORKER_MEMBERSHIP_PORT: String(p.workerMembership),
      LOG_LEVEL: this.env['TEMPORAL_LOG_LEVEL'] ?? 'warn',
      ...(t
        ? {
            // The template's TLS variables (as in Temporal's TLS samples): one certificate for the
            // frontend and between the services, client certificates checked against the CA.
            TEMPORAL_TLS_SERVER_CERT: t.certFile,
            TEMPORAL_TLS_SERVER_KEY: t.keyFile,
            TEMPORAL_TLS_SERVER_CA_CERT: t.caFile,
            TEMPORAL_TLS_FRONTEND_CERT: t.certFile,
            TEMPORAL_TLS_FRONTEND_KEY: t.keyFile,
            TEMPORAL_TLS_CLIENT1_CA_CERT: t.caFile,
            TEMPORAL_TLS_CLIENT2_CA_CERT: t.caFile,
            TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: String(t.requireClientAuth),
            TEMPORAL_TLS_INTERNODE_SERVER_NAME: t.serverName ?? 'localhost',
            TEMPORAL_TLS_FRONTEND_SERVER_NAME: t.serverName ?? 'localhost',
          }
        : {}),
      ...(this.opts.auth
        ? {
            TEMPORAL_AUTH_AUTHORIZER: 'default',
            TEMPORAL_AUTH_CLAIM_MAPPER: 'default',
            TEMPORAL_JWT_KEY_SOURCE1: this.opts.auth.jwksUri,
            USE_INTERNAL_FRONTEND: 'true',
            INTERNAL_FRONTEND_GRPC_PORT: String(p.internalFrontend ?? 0),
            INTERNAL_FRONTEND_HTTP_PORT: String(p.internalFrontendHttp ?? 0),
            INTERNAL_FRONTEND_MEMBERSHIP_PORT: String(p.internalFrontendMembership ?? 0),
          }
        : {}),
    };
    const services = ['frontend', ...(this.opts.auth ? ['internal-frontend'] : []), 'history', 'matching', 'worker'].flatMap((x) => ['--service', x]);
    const logFile = join(this.dir, 'server.log');
    const fd = openSync(logFile, 'a');
    const child = spawn(join(SERVER_DIR, 'temporal-server'), ['--config-file', join(SERVER_DIR, 'config', 'docker.yaml'), ...(this.opts.auth ? [] : ['--allow-no-auth']), 'start', ...services], { env, stdio: ['ignore', fd, fd], cwd: this.dir });
    closeSync(fd);
    this.server = child;
    writeFileSync(join(this.dir, 'server.pid'), String(child.pid));
    this.serverExit = new Promise((r) => child.once('exit', () => r()));
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the Temporal server exited (${child.exitCode}):\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
      const r = await run(join(TOOLS, 'bin', 'temporal'), ['operator', 'cluster', 'health', '--command-timeout', '2s'], { env: { ...process.env, ...this.adminEnv() }, timeoutMs: 5000 });
      if (/SERVING/.test(r.out)) break;
      if (Date.now() > deadline) throw new Error(`the Temporal server did not answer within 120 s: ${r.out}\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
      await sleep(250);
    }
  }

  get serverPid(): number | undefined {
    return this.server?.pid;
  }

  /** Stop the server only (PostgreSQL keeps its data): SIGKILL is a crash, SIGTERM a clean stop. */
  async stopServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await this.serverExit;
    this.server = undefined;
  }

  /** The compose file's temporal-setup script: the namespace and api7-ha's search attributes. */
  private async setupNamespace(): Promise<void> {
    const env = { ...stringEnv(this.services['temporal-setup']?.environment), ...this.adminEnv(), PATH: `${join(TOOLS, 'bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
    const out = await runOk('namespace setup (temporal-docker-compose.yml temporal-setup)', '/bin/sh', ['-ec', script(this.services['temporal-setup'], 'temporal-setup')], { env });
    writeFileSync(join(this.dir, 'setup.log'), out);
    // A new namespace reaches the frontend's cache a few seconds later: wait until it answers.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await run(join(TOOLS, 'bin', 'temporal'), ['workflow', 'count', '--query', 'Api7Kind = "drill"'], { env: { ...process.env, ...this.adminEnv() }, timeoutMs: 10_000 });
      if (r.code === 0) return;
      if (Date.now() > deadline) throw new Error(`the namespace is not usable: ${r.out}`);
      await sleep(500);
    }
  }

  /** Server, then PostgreSQL (fast shutdown: transactions are rolled back, data kept). */
  async stop(): Promise<void> {
    await this.stopServer('SIGTERM');
    // A server left by a process that died (a crashed test run): by its recorded PID, if it is ours.
    const pidFile = join(this.dir, 'server.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
      if (pid > 0 && cmdline.includes(join(SERVER_DIR, 'temporal-server'))) process.kill(pid, 'SIGTERM');
      rmSync(pidFile, { force: true });
    }
    const data = join(this.dir, 'pg');
    if (existsSync(join(data, 'postmaster.pid'))) {
      const [c, a] = this.asPg(pgBin('pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      await run(c, a);
    }
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args[0] === '--stop') {
    // Stops what a cluster folder still runs (scripts/test.sh cleans up after a crashed run with it).
    await new TemporalCluster({ dir: args[1] ?? join(ROOT, '.data', 'temporal-cluster') }).stop();
    return;
  }
  const port = Number(flag('--port') ?? process.env['TEMPORAL_PORT'] ?? 7233);
  const cluster = new TemporalCluster({ dir: flag('--dir') ?? join(ROOT, '.data', 'temporal-cluster'), port, log: (l) => console.error(l) });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.error('[temporal-cluster] stopping the server and PostgreSQL');
    cluster.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await cluster.start();
  } catch (e) {
    console.error(`[temporal-cluster] ${(e as Error).message}`);
    await cluster.stop();
    process.exit(1);
  }
  console.error(`[temporal-cluster] Temporal ${readFileSync(join(SERVER_DIR, 'VERSION'), 'utf8').trim()} on PostgreSQL: TEMPORAL_ADDRESS=${cluster.address} (data in ${cluster.dir}; Ctrl-C stops)`);
}

if (require.main === module) void main();
