// Proof that a backup restores: the snapshot is restored into a throwaway single-member etcd on the
// worker's machine (127.0.0.1, private ports, a private temporary folder), and what it holds under the
// product's prefix is compared with the live estate at the snapshot's revision (`get --rev`): the
// same keys, the same count, the same hash of keys and values.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import * as maint from '../commands/etcd-maintenance';
import type { SshTarget } from '../inventory/model';
import type { VerifyInput } from '../steps/etcd-inputs';
import { pollUntil, type StepContext } from './context';
import { parseJsonBigInts } from './etcd';
import type { HostExecutor } from '../remote/executor';
import { resolveSecret } from '../remote/secrets';

import type { KvDigest, Verification } from '../backup/store';

export type { KvDigest, Verification } from '../backup/store';

interface Kv {
  key: string;
  value: string;
}

/** `etcdctl get -w json`: keys and values in base64. */
export function parseGet(text: string): Kv[] {
  const body = parseJsonBigInts<{ kvs?: { key: string; value?: string }[] }>(text.trim() || '{}');
  return (body.kvs ?? []).map((kv) => ({ key: kv.key, value: kv.value ?? '' }));
}

export function digestKvs(kvs: Kv[]): KvDigest {
  const h = createHash('sha256');
  const sorted = kvs.map((kv) => ({ key: Buffer.from(kv.key, 'base64'), value: Buffer.from(kv.value, 'base64') })).sort((a, b) => Buffer.compare(a.key, b.key));
  const len = Buffer.alloc(8);
  for (const kv of sorted) {
    len.writeBigUInt64BE(BigInt(kv.key.length));
    h.update(len).update(kv.key);
    len.writeBigUInt64BE(BigInt(kv.value.length));
    h.update(len).update(kv.value);
  }
  return { keys: sorted.length, sha256: h.digest('hex') };
}

export function diffKvs(snapshot: Kv[], live: Kv[], max = 10): string[] {
  const a = new Map(snapshot.map((kv) => [Buffer.from(kv.key, 'base64').toString('utf8'), kv.value]));
  const b = new Map(live.map((kv) => [Buffer.from(kv.key, 'base64').toString('utf8'), kv.value]));
  const out: string[] = [];
  for (const [k, v] of a) {
    if (out.length >= max) break;
    if (!b.has(k)) out.push(`${k}: only in the snapshot`);
    else if (b.get(k) !== v) out.push(`${k}: another value live`);
  }
  for (const k of b.keys()) {
    if (out.length >= max) break;
    if (!a.has(k)) out.push(`${k}: only live`);
  }
  return out;
}

/** etcd and etcdctl from the inventory's backup.verify_tools_dir, or from PATH. */
export function verifierTools(toolsDir?: string): { etcd: string; etcdctl: string } {
  const find = (name: string) => {
    const dirs = toolsDir ? [toolsDir, join(toolsDir, 'bin')] : (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
    for (const d of dirs) if (existsSync(join(d, name))) return join(d, name);
    throw new Error(
      toolsDir
        ? `no ${name} in ${toolsDir} (backup.verify_tools_dir): put etcd and etcdctl of the estate's version there`
        : `no ${name} on the worker's PATH: install etcd (Debian: apt-get install etcd-server etcd-client) or set backup.verify_tools_dir`,
    );
  };
  return { etcd: find('etcd'), etcdctl: find('etcdctl') };
}

const run = (file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ stdout: string; stderr: string }> =>
  new Promise((resolve, reject) =>
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 1 << 30 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${file} ${args.slice(0, 2).join(' ')}: ${String(stderr).trim().split('\n').slice(-3).join(' | ') || err.message}`)) : resolve({ stdout: String(stdout), stderr: String(stderr) }),
    ),
  );

/** A port nothing listens on now (the kernel picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

export interface ScratchRead {
  kvs: Kv[];
  restoreMs: number;
  readMs: number;
  version: string;
  etcd: string;
}

/** Restore into a throwaway etcd on 127.0.0.1 and read the prefix from it; everything is removed after. */
export async function readSnapshotInScratchEtcd(ctx: Pick<StepContext, 'heartbeat' | 'signal'>, file: string, prefix: string, opts: { toolsDir?: string; credentials?: string }): Promise<ScratchRead> {
  const tools = verifierTools(opts.toolsDir);
  const version = /etcd Version:\s*(\S+)/.exec((await run(tools.etcd, ['--version'], process.env)).stdout)?.[1] ?? 'unknown';
  const dir = await mkdtemp(join(tmpdir(), 'api7-ha-verify-'));
  const s: maint.ScratchEtcd = { dataDir: join(dir, 'data'), clientPort: await freePort(), peerPort: await freePort() };
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ETCDCTL_API: '3', ...(opts.credentials ? { ETCDCTL_USER: opts.credentials } : {}) };
  let child: ChildProcess | undefined;
  try {
    const t0 = Date.now();
    await run(tools.etcdctl, maint.scratchRestoreArgv(file, s), { PATH: env['PATH'], ETCDCTL_API: '3' });
    child = spawn(tools.etcd, maint.scratchEtcdArgv(s), { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: env['PATH'] } });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const proc = child;
    await pollUntil(ctx, 'the throwaway etcd answers', 30_000, 200, async () => {
      if (proc.exitCode !== null) throw new Error(`the throwaway etcd exited (${proc.exitCode}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      await run(tools.etcdctl, maint.scratchHealthArgv(s), env, 5000);
      return { done: true, value: true };
    });
    const restoreMs = Date.now() - t0;
    const t1 = Date.now();
    const kvs = parseGet((await run(tools.etcdctl, maint.scratchGetArgv(s, prefix), env)).stdout);
    return { kvs, restoreMs, readMs: Date.now() - t1, version, etcd: tools.etcd };
  } finally {
    if (child) await stop(child);
    // Our own temporary copy, never an estate's data dir.
    await rm(dir, { recursive: true, force: true });
  }
}

/** The live side: the prefix as of the snapshot's revision, through the first member that answers. */
export async function readLiveAtRevision(execFor: (t: SshTarget) => HostExecutor, input: VerifyInput): Promise<Kv[]> {
  const errors: string[] = [];
  for (const via of input.live.via) {
    try {
      const res = await execFor(via.target).run(maint.getPrefix({ ...input.live.etcdctl, containerName: via.containerName }, input.prefix, input.revision));
      return parseGet(res.stdout);
    } catch (e) {
      const msg = (e as Error).message;
      // Compacted away: no member has that revision any more; trying the others changes nothing.
      if (/required revision has been compacted/.test(msg)) throw new Error(`the estate has compacted revision ${input.revision} away (auto compaction): verify sooner after the snapshot`);
      errors.push(msg);
    }
  }
  throw new Error(`no member answered get ${input.prefix} --rev=${input.revision}: ${errors.join('; ')}`);
}

export async function verifySnapshot(ctx: Pick<StepContext, 'heartbeat' | 'signal'>, execFor: (t: SshTarget) => HostExecutor, input: VerifyInput): Promise<Verification> {
  const t0 = Date.now();
  const base = { revision: input.revision, prefix: input.prefix, differences: [] as string[], verifiedAt: new Date().toISOString() };
  const credentials = input.auth.enabled && input.secrets.etcd_password ? `${input.auth.user}:${await resolveSecret(input.secrets.etcd_password)}` : undefined;
  try {
    verifierTools(input.toolsDir);
  } catch (e) {
    return { ...base, verdict: 'unverifiable', reason: (e as Error).message, verifier: { etcd: 'none', version: 'none' }, ms: { restore: 0, read: 0, live: 0, total: 0 } };
  }
  let scratch: ScratchRead;
  try {
    scratch = await readSnapshotInScratchEtcd(ctx, input.file, input.prefix, { ...(input.toolsDir ? { toolsDir: input.toolsDir } : {}), ...(credentials ? { credentials } : {}) });
  } catch (e) {
    // The snapshot did not restore: that is the verdict a backup exists to catch.
    return { ...base, verdict: 'unrestorable', reason: `the snapshot did not restore into a throwaway etcd: ${(e as Error).message}`, verifier: { etcd: 'etcd', version: 'unknown' }, ms: { restore: Date.now() - t0, read: 0, live: 0, total: Date.now() - t0 } };
  }
  const verifier = { etcd: scratch.etcd, version: scratch.version };
  const snapshot = digestKvs(scratch.kvs);
  const t2 = Date.now();
  let liveKvs: Kv[];
  try {
    liveKvs = await readLiveAtRevision(execFor, input);
  } catch (e) {
    return { ...base, verdict: 'unverifiable', snapshot, reason: `restored (${snapshot.keys} keys), but the live side could not be read: ${(e as Error).message}`, verifier, ms: { restore: scratch.restoreMs, read: scratch.readMs, live: Date.now() - t2, total: Date.now() - t0 } };
  }
  const live = digestKvs(liveKvs);
  const same = live.sha256 === snapshot.sha256 && live.keys === snapshot.keys;
  return {
    ...base,
    verdict: same ? 'verified' : 'mismatch',
    snapshot,
    live,
    differences: same ? [] : diffKvs(scratch.kvs, liveKvs),
    ...(same ? {} : { reason: `the restored snapshot holds ${snapshot.keys} keys under ${input.prefix}, the estate ${live.keys} at revision ${input.revision}` }),
    verifier,
    ms: { restore: scratch.restoreMs, read: scratch.readMs, live: Date.now() - t2, total: Date.now() - t0 },
  };
}
