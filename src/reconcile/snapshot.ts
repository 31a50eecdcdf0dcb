// Snapshots on a member's host: `etcdctl snapshot save` beside the member (in a throwaway container
// of its own image), its sha256 and `snapshot status`, then the copy off the host into the operator's
// backup folder. A retry finds finished work: a snapshot already saved is not saved again, a copy
// already in the folder (same sha256) is not copied again, and a file there is never replaced.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as maint from '../commands/etcd-maintenance';
import * as files from '../commands/files';
import type { BackupStore, SnapshotStep } from '../steps/etcd-inputs';
import { fileSha256, writeManifest, type BackupRecord, type SnapshotFacts } from '../backup/store';

export type { SnapshotFacts } from '../backup/store';
import { PermanentError, type StepContext } from './context';

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}


export function parseSnapshotStatus(text: string): SnapshotStatus {
  const line = text.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`etcdctl snapshot status printed no JSON: ${text.trim().slice(0, 200)}`);
  const s = JSON.parse(line) as Partial<SnapshotStatus>;
  if (typeof s.revision !== 'number' || typeof s.totalKey !== 'number' || typeof s.totalSize !== 'number') throw new Error(`unexpected snapshot status: ${line.slice(0, 200)}`);
  return { hash: s.hash ?? 0, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize };
}

/** Save a snapshot of this host's member next to its data dir (or find the one a previous attempt saved). */
export async function takeSnapshot(ctx: StepContext, step: SnapshotStep): Promise<SnapshotFacts> {
  const x = ctx.exec;
  const dir = maint.snapshotsDirOnHost(step.tool.dataDir);
  const remotePath = `${dir}/${step.fileName}`;
  // 711: root's folder, which a non-root SSH user can pass through to read the one file handed to it.
  if ((await x.run(files.isDir(dir))).code !== 0) await x.run(files.mkdirP(dir, '711'));
  const t0 = Date.now();
  // etcdctl writes <file>.part and renames it when complete: the final name means a whole snapshot.
  if ((await x.run(files.exists(remotePath))).code !== 0) await x.run(maint.snapshotSave(step.tool, step.etcdctl, step.endpoint, step.fileName));
  const saveMs = Date.now() - t0;
  if (x.planning) return { cluster: step.cluster, host: x.host, member: step.member, endpoint: step.endpoint, fileName: step.fileName, remotePath, sha256: '', revision: '0', totalKeys: 0, sizeBytes: 0, etcdHash: 0, takenAt: new Date().toISOString(), saveMs: 0 };
  const sha = (await x.output(files.sha256(remotePath)))?.split(/\s+/)[0];
  if (!sha) throw new Error(`${x.host}: the snapshot ${remotePath} is not there after etcdctl snapshot save`);
  const status = parseSnapshotStatus((await x.run(maint.snapshotStatus(step.tool, step.fileName))).stdout);
  const size = Number(await x.output(files.size(remotePath)));
  return {
    cluster: step.cluster,
    host: x.host,
    member: step.member,
    endpoint: step.endpoint,
    fileName: step.fileName,
    remotePath,
    sha256: sha,
    revision: String(status.revision),
    totalKeys: status.totalKey,
    sizeBytes: Number.isFinite(size) ? size : status.totalSize,
    etcdHash: status.hash,
    takenAt: new Date().toISOString(),
    saveMs,
  };
}

export interface FetchResult {
  record: BackupRecord;
  copied: boolean;
  copyMs: number;
}

/**
 * Copy the snapshot into the backup folder as a new file (never replacing one), check its sha256
 * against the host's, write its manifest, then remove the host's copy (it lives in the folder now).
 */
export async function fetchSnapshot(ctx: StepContext, step: SnapshotStep, facts: SnapshotFacts, store: BackupStore, extra: Pick<BackupRecord, 'reason' | 'workflowId'>): Promise<FetchResult> {
  const x = ctx.exec;
  const local = join(store.dir, facts.fileName);
  const t0 = Date.now();
  // A plan copies nothing off a host and writes nothing on the worker.
  if (x.planning) return { record: { ...facts, path: local, ...extra }, copied: false, copyMs: 0 };
  await mkdir(store.dir, { recursive: true, mode: 0o700 });
  let copied = false;
  if (existsSync(local)) {
    const have = await fileSha256(local);
    if (have !== facts.sha256)
      throw new PermanentError(`${local} already exists with another content (sha256 ${have.slice(0, 12)}…, the snapshot is ${facts.sha256.slice(0, 12)}…); a backup is never overwritten: move it away or choose another backup.dir`);
  } else {
    // A private partial name: a crash leaves a .part that no one mistakes for a backup.
    const part = `${local}.${randomBytes(4).toString('hex')}.part`;
    if (x.target.sudo && x.target.user !== 'root') await x.run(maint.chown(x.target.user, facts.remotePath));
    try {
      const got = await x.download(facts.remotePath, part, { onProgress: (bytes) => ctx.heartbeat({ copying: facts.fileName, bytes }), ...(ctx.signal ? { signal: ctx.signal } : {}) });
      if (got.sha256 !== facts.sha256) throw new Error(`${facts.fileName} arrived with sha256 ${got.sha256}, the host has ${facts.sha256}: not kept`);
      // link() fails if the name exists: the no-clobber rename.
      await link(part, local);
      copied = true;
    } finally {
      await unlink(part).catch(() => undefined);
    }
  }
  const record: BackupRecord = { ...facts, path: local, ...extra };
  await writeManifest(record);
  await x.run(maint.removeSnapshotCopy(step.tool.dataDir, facts.fileName));
  return { record, copied, copyMs: Date.now() - t0 };
}
