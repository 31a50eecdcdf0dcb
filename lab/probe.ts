/**
 * Readiness probes from the machine into the lab: an SSH banner over TCP, and the Docker Engine
 * API over a host's unix socket (what `docker info` / `docker ps` call), without spawning clients.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';

/** Resolves true when a TCP connection is accepted (and, if `expect` is set, its greeting starts so). */
export function tcpProbe(host: string, port: number, timeoutMs: number, expect?: string): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let got = '';
    const sock = net.connect({ host, port });
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('connect', () => {
      if (!expect) finish(true);
    });
    sock.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      if (got.length >= expect!.length) finish(got.startsWith(expect!));
    });
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
  });
}

export function sshBanner(address: string, port = 22, timeoutMs = 1000): Promise<boolean> {
  return tcpProbe(address, port, timeoutMs, 'SSH-2.0-');
}

/**
 * Whether a TCP port is listening in the network namespace of process `pid` (its /proc/<pid>/net/tcp),
 * for hosts the machine has no route to (behind the lab's bastion), where a connection cannot be tried.
 */
export function listensIn(pid: number | undefined, port: number): boolean {
  if (pid === undefined) return false;
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const f of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${f}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && cols[1]?.endsWith(hex)) return true;
    }
  }
  return false;
}

export class DockerApiError extends Error {}

/** GET a Docker Engine API path over a unix socket and parse the JSON (or text) answer. */
export function dockerGet<T = unknown>(socketPath: string, apiPath: string, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: apiPath, timeout: timeoutMs, headers: { Host: 'docker' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 400) {
          reject(new DockerApiError(`${apiPath}: HTTP ${res.statusCode}: ${body.trim()}`));
          return;
        }
        try {
          resolve((res.headers['content-type'] ?? '').includes('json') ? (JSON.parse(body) as T) : (body as T));
        } catch (e) {
          reject(new DockerApiError(`${apiPath}: bad JSON: ${(e as Error).message}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new DockerApiError(`${apiPath}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export interface EngineInfo {
  ID: string;
  Name: string;
  ServerVersion: string;
  Driver: string;
  DockerRootDir: string;
  CgroupDriver: string;
  ContainersRunning: number;
}

export async function engineInfo(socketPath: string, timeoutMs = 3000): Promise<EngineInfo | undefined> {
  try {
    return await dockerGet<EngineInfo>(socketPath, '/info', timeoutMs);
  } catch {
    return undefined;
  }
}

export interface ContainerSummary {
  name: string;
  image: string;
  state: string;
  status: string;
}

export async function engineContainers(socketPath: string, timeoutMs = 3000): Promise<ContainerSummary[]> {
  const list = await dockerGet<{ Names?: string[]; Image: string; State: string; Status: string }[]>(
    socketPath,
    '/containers/json?all=1',
    timeoutMs,
  );
  return list.map((c) => ({
    name: (c.Names?.[0] ?? '').replace(/^\//, ''),
    image: c.Image,
    state: c.State,
    status: c.Status,
  }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `check` until it returns true or the deadline passes. `whyNot` (called once, at the deadline)
 * supplies the explanation for the error, e.g. the tail of a daemon's log.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; whyNot?: () => string; abort?: () => string | undefined },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await check()) return;
    const aborted = opts.abort?.();
    if (aborted) throw new Error(`${what}: ${aborted}${opts.whyNot ? `\n${opts.whyNot()}` : ''}`);
    if (Date.now() >= deadline) {
      throw new Error(`${what}: not ready after ${opts.timeoutMs} ms${opts.whyNot ? `\n${opts.whyNot()}` : ''}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}
