// Preflight on one host: the runbook's prerequisites (kernel, Docker 20.10.7+, compose, 2C4G, ports,
// SELinux, firewalld) and facts later steps need (compose variant, clock). Problems are collected,
// not thrown, so the workflow can report every problem on every host at once.
//
// Two gates first (SSH works, sudo works: without them nothing else can be read), then the table of
// checks: every check's read-only probe runs at once (the connection bounds how many channels run
// together, so the slowest probe sets the pace, not the sum of them all), then each check judges
// what its probe saw, in table order. The clock is read last, alone, so no other probe skews it.
import * as docker from '../commands/docker';
import * as fw from '../commands/firewall';
import * as pre from '../commands/preflight';
import type { ComposeVariant } from '../commands/compose';
import type { PreflightInput } from '../steps/inputs';
import type { ExecResult } from '../remote/ssh';
import { ConnectError } from '../remote/ssh';
import { sleep, type StepContext } from './context';

export type Severity = 'block' | 'warn' | 'info';

export interface Problem {
  host: string;
  severity: Severity;
  check: string;
  message: string;
  fix?: string;
}

export interface HostFacts {
  os?: string;
  kernel?: string;
  docker?: string;
  compose?: ComposeVariant;
  composeVersion?: string;
  cpus?: number;
  memoryMiB?: number;
  /** Remote clock minus worker clock, in ms (round-trip corrected). */
  clockOffsetMs?: number;
  firewalld?: 'running' | 'not running' | 'absent';
  selinux?: string;
}

export interface PreflightReport {
  host: string;
  reachable: boolean;
  facts: HostFacts;
  problems: Problem[];
}

/** Compare dotted versions with an optional -release suffix numerically: 3.10.0-1160 vs 3.10.0-927. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.-]/).map((x) => parseInt(x, 10)).map((n) => (Number.isNaN(n) ? 0 : n));
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Listening ports from /proc/net/tcp{,6} (state 0A = LISTEN). */
export function listeningPorts(procNetTcp: string): Set<number> {
  const ports = new Set<number>();
  for (const line of procNetTcp.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || cols[3] !== '0A') continue;
    const port = parseInt(cols[1]?.split(':').pop() ?? '', 16);
    if (!Number.isNaN(port)) ports.add(port);
  }
  return ports;
}

function osRelease(text: string): { id: string; version: string; pretty: string } {
  const get = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?`, 'm').exec(text)?.[1] ?? '';
  return { id: get('ID'), version: get('VERSION_ID'), pretty: get('PRETTY_NAME') };
}

const MIN_DOCKER = '20.10.7';
const MIN_EL7_KERNEL = '3.10.0-927';

/** What a check gets: the host, its input, the facts so far and where problems go. */
export interface CheckEnv {
  ctx: StepContext;
  input: PreflightInput;
  facts: HostFacts;
  add: (severity: Severity, check: string, message: string, fix?: string) => void;
}

/**
 * One row of the table: a read-only probe (run together with every other row's) and a judgement of
 * what it saw. A probe that fails throws out of the preflight (the activity retries it), unless the
 * row says what a failure means for the host (`onError`).
 */
export interface PreflightCheck<T = unknown> {
  name: string;
  probe: (env: CheckEnv) => Promise<T>;
  judge: (seen: T, env: CheckEnv) => void | Promise<void>;
  onError?: (e: Error, env: CheckEnv) => void;
}

const check = <T>(c: PreflightCheck<T>): PreflightCheck => c as unknown as PreflightCheck;

const system = check({
  name: 'system',
  probe: ({ ctx: { exec: x } }) => Promise.all([x.output(pre.kernel()), x.output(pre.osRelease()), x.output(pre.cpus()), x.output(pre.memInfo())]),
  judge: ([kernel, os, cpus, mem], { facts, add }) => {
    facts.kernel = kernel;
    const rel = osRelease(os ?? '');
    facts.os = rel.pretty || rel.id || 'unknown';
    if (['centos', 'rhel', 'ol', 'rocky', 'almalinux'].includes(rel.id) && rel.version.startsWith('7')) {
      if (kernel && compareVersions(kernel, MIN_EL7_KERNEL) < 0)
        add('block', 'kernel', `kernel ${kernel} is older than ${MIN_EL7_KERNEL} (CentOS 7.6): Docker 20.10 is known to fail on it`, 'yum update -y kernel && reboot');
    } else {
      add('info', 'kernel', `${facts.os}, kernel ${kernel ?? 'unknown'} (the runbook's kernel floor applies to CentOS/RHEL 7 only)`);
    }
    facts.cpus = cpus ? parseInt(cpus, 10) : undefined;
    const memKb = /MemTotal:\s+(\d+)/.exec(mem ?? '')?.[1];
    facts.memoryMiB = memKb ? Math.round(parseInt(memKb, 10) / 1024) : undefined;
    if ((facts.cpus ?? 0) < 2 || (facts.memoryMiB ?? 0) < 3500)
      add('warn', 'size', `${facts.cpus ?? '?'} CPU, ${facts.memoryMiB ?? '?'} MiB: below the runbook's 2C4G per node`, 'use nodes with at least 2 CPUs and 4 GB of memory in production');
  },
});

const dockerEngine = check({
  name: 'docker',
  probe: ({ ctx }) => ctx.exec.run(docker.version()),
  judge: (dv: ExecResult, { facts, add }) => {
    try {
      const v = JSON.parse(dv.stdout) as { Server?: { Version?: string } };
      facts.docker = v.Server?.Version;
    } catch {
      facts.docker = undefined;
    }
    if (!facts.docker) add('block', 'docker', 'the Docker engine did not report a version (is the daemon running?)', 'systemctl enable --now docker');
    else if (compareVersions((/^[\d.]*/.exec(facts.docker)?.[0] ?? ''), MIN_DOCKER) < 0)
      add('block', 'docker', `Docker ${facts.docker} is older than ${MIN_DOCKER}`, `upgrade Docker to ${MIN_DOCKER} or later`);
  },
  onError: (e, { add }) => add('block', 'docker', `Docker does not answer: ${e.message}`, `install Docker ${MIN_DOCKER} or later and start it (systemctl enable --now docker)`),
});

const compose = check({
  name: 'compose',
  probe: ({ ctx: { exec: x } }) => Promise.all([x.run(pre.composePlugin()), x.run(pre.composeStandalone())]),
  judge: ([plugin, standalone], { input, facts, add }) => {
    if (plugin.code === 0 && /\d/.test(plugin.stdout)) {
      facts.compose = 'plugin';
      facts.composeVersion = plugin.stdout.trim();
    } else if (standalone.code === 0 && standalone.stdout.trim()) {
      facts.compose = 'standalone';
      facts.composeVersion = `v1 (${standalone.stdout.trim()})`;
    } else if (input.roles.some((r) => r === 'control_plane' || r === 'data_plane')) {
      add('block', 'compose', 'neither `docker compose` (v2 plugin) nor `docker-compose` (v1) is installed', 'install the docker compose plugin (or docker-compose)');
    }
  },
});

/** Ports: free, or held by this tool's own containers from an earlier run. */
const ports = check({
  name: 'ports',
  probe: ({ ctx }) => ctx.exec.run(pre.listeningSockets()),
  judge: async (sockets: ExecResult, { ctx, input, add }) => {
    const listening = listeningPorts(sockets.stdout);
    const busy = input.ports.filter((p) => listening.has(p.port));
    if (!busy.length) return;
    const running = await runningContainers(ctx);
    for (const p of busy) {
      const owner = input.owners[p.role];
      const own = running.find(
        (c) => (owner?.container !== undefined && c.name === owner.container && c.labels[docker.LABELS.cluster] === input.cluster) ||
          (owner?.composeService !== undefined && c.labels['com.docker.compose.service'] === owner.composeService),
      );
      if (own) add('info', 'ports', `port ${p.port} (${p.role}) is held by api7-ha's own container ${own.name} from an earlier run`);
      else add('block', 'ports', `port ${p.port} (${p.role}) is already in use by another process`, `stop what listens on ${p.port} (ss -ltnp 'sport = :${p.port}') or move the role to another host`);
    }
  },
});

/** Free disk where the data and packages go. */
const disk = check({
  name: 'disk',
  probe: ({ ctx, input }) => Promise.all(input.paths.map((p) => ctx.exec.output(pre.freeDisk(p)).catch(() => undefined))),
  judge: (disks, { input, add }) => {
    for (const [i, path] of input.paths.entries()) {
      const df = disks[i];
      const availKb = df ? parseInt(df.split('\n').pop()?.trim().split(/\s+/)[3] ?? '', 10) : NaN;
      if (Number.isNaN(availKb)) continue;
      const gib = availKb / 1024 / 1024;
      if (gib < 2) add('block', 'disk', `${gib.toFixed(1)} GiB free for ${path}`, 'free at least 2 GiB (images, packages and etcd data)');
      else if (gib < 10) add('warn', 'disk', `${gib.toFixed(1)} GiB free for ${path}`, 'keep 10 GiB or more free for etcd data and image upgrades');
    }
  },
});

/** SELinux (the runbook's security step). */
const selinux = check({
  name: 'selinux',
  probe: ({ ctx }) => ctx.exec.run(fw.selinuxState()),
  judge: (se: ExecResult, { input, facts, add }) => {
    facts.selinux = se.code === 0 ? se.stdout.trim() : 'absent';
    if (facts.selinux === 'Enforcing')
      add('warn', 'selinux', 'SELinux is enforcing: bind-mounted folders need a container label', `chcon -Rt container_file_t ${input.paths.join(' ')}  (or run setenforce 0 as the runbook's lab does)`);
  },
});

/** firewalld: the roles' ports must be open; the exact commands are printed, or run with --fix-firewall. */
const firewall = check({
  name: 'firewall',
  probe: ({ ctx }) => ctx.exec.run(fw.firewalldState()),
  judge: async (state: ExecResult, { ctx: { exec: x }, input, facts, add }) => {
    facts.firewalld = state.code === 127 ? 'absent' : state.stdout.trim() === 'running' ? 'running' : 'not running';
    if (facts.firewalld !== 'running' || !input.ports.length) return;
    const open = new Set(((await x.output(fw.firewalldListPorts())) ?? '').split(/\s+/));
    const closed = [...new Set(input.ports.map((p) => p.port))].filter((p) => !open.has(`${p}/tcp`));
    if (!closed.length) return;
    const cmds = fw.openPorts(closed);
    if (input.fixFirewall) {
      for (const c of cmds) await x.run(c);
      add('info', 'firewall', `opened ${closed.map((p) => `${p}/tcp`).join(', ')} in firewalld`);
    } else {
      add('block', 'firewall', `firewalld is running and does not open ${closed.map((p) => `${p}/tcp`).join(', ')}`, `${cmds.map((c) => x.lineFor(c)).join(' && ')}  (or pass --fix-firewall)`);
    }
  },
});

/** The table, in the order problems are judged (and reported). */
export const PREFLIGHT_CHECKS: readonly PreflightCheck[] = [system, dockerEngine, compose, ports, disk, selinux, firewall];

/** Remote clock against the worker's, corrected by half the round trip. */
async function readClock(x: StepContext['exec'], facts: HostFacts): Promise<void> {
  const t0 = Date.now();
  const remoteNs = await x.output(pre.clock());
  const t1 = Date.now();
  if (remoteNs && /^\d+$/.test(remoteNs)) facts.clockOffsetMs = Math.round(Number(BigInt(remoteNs) / 1_000_000n) - (t0 + t1) / 2);
}

/** SSH, with a few tries for transient failures; a refused key or host key is reported at once. */
async function sshGate(ctx: StepContext): Promise<Error | undefined> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await ctx.exec.run(pre.whoami());
      return undefined;
    } catch (e) {
      lastError = e as Error;
      if (e instanceof ConnectError && e.permanent) break;
      await sleep(1000 * (attempt + 1), ctx.signal);
    }
  }
  return lastError;
}

export async function preflightHost(ctx: StepContext, input: PreflightInput): Promise<PreflightReport> {
  const host = input.target.host;
  const problems: Problem[] = [];
  const facts: HostFacts = {};
  const add: CheckEnv['add'] = (severity, check, message, fix) => problems.push({ host, severity, check, message, ...(fix ? { fix } : {}) });

  const sshError = await sshGate(ctx);
  if (sshError) {
    add('block', 'ssh', sshError.message, 'check the address, ssh.port, ssh.user, the key and known_hosts');
    return { host, reachable: false, facts, problems };
  }
  if (input.target.sudo) {
    try {
      await ctx.exec.run(pre.sudoWorks());
    } catch (e) {
      add('block', 'sudo', `sudo does not work for ${input.target.user}: ${(e as Error).message}`, 'allow the user to run sudo (NOPASSWD, or set ssh.sudo_password)');
      return { host, reachable: true, facts, problems };
    }
  }

  const env: CheckEnv = { ctx, input, facts, add };
  const seen = PREFLIGHT_CHECKS.map((c) => c.probe(env).then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e: e instanceof Error ? e : new Error(String(e)) })));
  for (const [i, c] of PREFLIGHT_CHECKS.entries()) {
    ctx.heartbeat({ host, check: c.name });
    const r = await seen[i]!;
    if (r.ok) await c.judge(r.v, env);
    else if (c.onError) c.onError(r.e, env);
    else {
      await Promise.allSettled(seen); // no probe left running behind the error
      throw r.e;
    }
  }
  await readClock(ctx.exec, facts);
  return { host, reachable: true, facts, problems };
}

interface RunningContainer {
  name: string;
  labels: Record<string, string>;
}

async function runningContainers(ctx: StepContext): Promise<RunningContainer[]> {
  const res = await ctx.exec.run(docker.psRunning()).catch(() => undefined);
  return (res?.stdout ?? '')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as { Names: string; Labels: string })
    .map((c) => ({
      name: c.Names,
      labels: Object.fromEntries(c.Labels.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
    }));
}
