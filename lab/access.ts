/** Reaching a lab host: by name, inside its namespaces (no ssh), or with the system ssh client. */
import * as path from 'node:path';
import { nsenter, sshClient } from './commands';
import { baseEnv, run, type RunResult } from './exec';
import { nsPaths } from './hosts';
import { nsFileId } from './procs';
import { loadState, lockHolder, type HostState, type LabState } from './state';
import { assertHostName } from './topology';
import { LabUsageError, type LabHost } from './types';

export function readyState(dir: string): LabState {
  const s = loadState(dir);
  if (!s || s.phase !== 'ready') throw new Error(`no lab is up in ${dir}; run \`lab up\` first`);
  const holder = lockHolder(path.join(dir, 'lab.lock'));
  if (holder !== undefined && holder !== process.pid) {
    throw new Error(`lab ${dir} is busy (\`up\` or \`down\` running as process ${holder}); try again when it finishes`);
  }
  return s;
}

export function hostByName(s: LabState, name: string): HostState {
  try {
    assertHostName(name);
  } catch (e) {
    throw new LabUsageError((e as Error).message);
  }
  const h = s.hosts.find((x) => x.name === name);
  if (!h) throw new LabUsageError(`unknown host ${name}; the lab's hosts are ${s.hosts.map((x) => x.name).join(', ')}`);
  return h;
}

/** Run argv inside a host's namespaces (no ssh), with DOCKER_HOST set to the host's engine. */
export async function hostExec(dir: string, name: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const s = loadState(dir);
  if (!s) throw new Error(`no lab in ${dir}; run \`lab up\` first`);
  const h = hostByName(s, name);
  if (argv.length === 0 || argv[0] === '') throw new LabUsageError('hostExec needs a command');
  if (!nsFileId(h.netnsPath, 'net') || !nsFileId(h.mountNs, 'mnt')) throw new Error(`host ${name} does not exist (lab down?)`);
  return run(nsenter(nsPaths(h), argv), {
    env: baseEnv({ DOCKER_HOST: `unix://${h.dockerSocket}` }),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
}

/** argv for the system ssh client with the lab key and pinned host keys. */
export function sshArgv(dir: string, name: string, remote: string[] = [], opts: { batch?: boolean } = {}): string[] {
  const s = loadState(dir);
  if (!s || s.phase !== 'ready') throw new Error(`no lab is up in ${dir}; run \`lab up\` first`);
  const h = hostByName(s, name);
  const jump = toLabHost(h, s).jump;
  return [...sshClient({ identityFile: s.files.sshKey, knownHosts: s.files.knownHosts, address: h.address, port: h.sshPort, ...(jump ? { jump } : {}), batch: opts.batch ?? false }, remote)];
}

export function toLabHost(h: HostState, s: LabState): LabHost {
  const bastion = s.hosts.find((x) => x.roles.includes('bastion'));
  return {
    name: h.name,
    address: h.address,
    roles: [...h.roles],
    netns: h.netns,
    mountNs: h.mountNs,
    dockerSocket: h.dockerSocket,
    sshPort: h.sshPort,
    ...(!h.routed && bastion ? { jump: { address: bastion.address, port: bastion.sshPort } } : {}),
    ...(h.inner ? { innerAddress: h.inner.address } : {}),
  };
}
