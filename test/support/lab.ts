// What lab tests share: a lab of their own, the system ssh/scp clients with host-key checking on,
// and polling. Everything here talks only to addresses inside namespaces the lab created.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, type LabHost, type LabInfo } from '../../lab/lab';
import { repoRoot } from './paths';

export const canRunLab = process.getuid?.() === 0 && existsSync('/usr/sbin/dockerd') && existsSync('/usr/sbin/sshd');
export const labSkip = canRunLab ? false : 'needs root with docker.io and openssh-server (npm test provisions them)';

export function testLab(name: string): Lab {
  return new Lab({ dir: join(repoRoot(), `.lab-test-${name}`), log: process.env['API7HA_TEST_VERBOSE'] ? (l) => console.log(l) : () => undefined });
}

export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Out> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, env: opts.env ?? process.env, cwd: opts.cwd }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 255) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    // A command that exits without reading its stdin closes the pipe: not an error of the test.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

const baseOpts = (info: LabInfo) => [
  '-i', info.sshKey,
  '-o', 'IdentitiesOnly=yes',
  '-o', 'StrictHostKeyChecking=yes',
  '-o', `UserKnownHostsFile=${info.knownHosts}`,
  '-o', 'GlobalKnownHostsFile=/dev/null',
  '-o', 'BatchMode=yes',
  '-o', 'ConnectTimeout=5',
];

/** The options for one host: its port, and behind the bastion a ProxyCommand through it (host key pinned too). */
const sshOpts = (info: LabInfo, h: LabHost, portFlag = '-p') => [
  ...baseOpts(info),
  ...(h.jump ? ['-o', `ProxyCommand=ssh ${baseOpts(info).join(' ')} -p ${h.jump.port} -W %h:%p root@${h.jump.address}`] : []),
  portFlag, String(h.sshPort),
];

/** `ssh root@host command`, as an operator runs the runbook; host keys are verified. */
export function ssh(info: LabInfo, h: LabHost, command: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<Out> {
  return run('ssh', [...sshOpts(info, h), `root@${h.address}`, command], opts);
}

export async function sshOk(info: LabInfo, h: LabHost, command: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<string> {
  const r = await ssh(info, h, command, opts);
  if (r.code !== 0) throw new Error(`ssh ${h.name} ${command}: exit ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function scp(info: LabInfo, local: string, h: LabHost, remote: string): Promise<void> {
  const r = await run('scp', ['-q', ...sshOpts(info, h, '-P'), local, `root@${h.address}:${remote}`], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`scp ${local} to ${h.name}: ${r.stderr}`);
}

export function hostOf(info: LabInfo, name: string): LabHost {
  const h = [...info.hosts, info.upstream].find((x) => x.name === name);
  if (!h) throw new Error(`no lab host ${name}`);
  return h;
}

/** Poll until `check` returns a value (not undefined), or fail with the last reason. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
