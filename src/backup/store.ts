// The operator's backup folder on the worker's machine: one snapshot file per backup
// (`<cluster>-<stamp>-<reason>.db`, mode 600, never replaced) and its manifest beside it
// (`<file>.json`: where it came from, sha256, etcd's status, the verification's verdict).
// Retention keeps the newest N snapshots of a cluster and removes only files of that naming.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKUP_FILE, type BackupReason, type BackupStore } from '../steps/etcd-inputs';

/** What a snapshot is, as recorded in the run's result and in the manifest beside the file. */
export interface SnapshotFacts {
  cluster: string;
  host: string;
  member: string;
  endpoint: string;
  fileName: string;
  remotePath: string;
  sha256: string;
  revision: string;
  totalKeys: number;
  sizeBytes: number;
  /** etcd's own hash of the snapshot's contents (snapshot status). */
  etcdHash: number;
  takenAt: string;
  saveMs: number;
}

export interface KvDigest {
  keys: number;
  /** sha256 over every (key, value) in key order, each length-prefixed. */
  sha256: string;
}

export interface Verification {
  /** verified: same keys and values; mismatch: they differ; unrestorable: the snapshot did not restore;
   *  unverifiable: no verdict (no etcd on the worker, the revision compacted away live). */
  verdict: 'verified' | 'mismatch' | 'unrestorable' | 'unverifiable';
  revision: string;
  prefix: string;
  snapshot?: KvDigest;
  live?: KvDigest;
  /** Up to 10 keys that differ: only in the snapshot, only live, or with another value. */
  differences: string[];
  reason?: string;
  verifier: { etcd: string; version: string };
  ms: { restore: number; read: number; live: number; total: number };
  verifiedAt: string;
}

export interface BackupRecord extends SnapshotFacts {
  /** The snapshot on the worker's machine. */
  path: string;
  reason: BackupReason;
  /** The run that took it (backup-<cluster>-<time>, a deploy, a restore, a drill). */
  workflowId?: string;
  verification?: Verification;
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export const manifestPath = (snapshotPath: string) => `${snapshotPath}.json`;

/** Written to a temporary name and renamed: a reader never sees half a manifest. */
export async function writeManifest(record: BackupRecord): Promise<void> {
  const path = manifestPath(record.path);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

export async function readManifest(snapshotPath: string): Promise<BackupRecord | undefined> {
  try {
    return JSON.parse(await readFile(manifestPath(snapshotPath), 'utf8')) as BackupRecord;
  } catch {
    return undefined;
  }
}

/** Record the verification's verdict in the snapshot's manifest. */
export async function recordVerification(snapshotPath: string, verification: Verification): Promise<BackupRecord> {
  const record = await readManifest(snapshotPath);
  if (!record) throw new Error(`no manifest beside ${snapshotPath}: was it taken by api7-ha backup?`);
  const next = { ...record, verification };
  await writeManifest(next);
  return next;
}

/** This cluster's snapshots in the folder, newest first (by the stamp in the name). */
export async function listBackups(store: Pick<BackupStore, 'dir' | 'cluster'>): Promise<{ fileName: string; path: string; stamp: string; reason: string }[]> {
  let names: string[];
  try {
    names = await readdir(store.dir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ n, m: BACKUP_FILE.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null && x.m[1] === store.cluster)
    .map(({ n, m }) => ({ fileName: n, path: join(store.dir, n), stamp: m[2]!, reason: m[3]! }))
    .sort((a, b) => (a.stamp === b.stamp ? b.fileName.localeCompare(a.fileName) : b.stamp.localeCompare(a.stamp)));
}

/** The newest backup with its manifest (for `status`), if any. */
export async function latestBackup(store: Pick<BackupStore, 'dir' | 'cluster'>): Promise<BackupRecord | undefined> {
  for (const b of await listBackups(store)) {
    const m = await readManifest(b.path);
    if (m) return m;
  }
  return undefined;
}

export interface RetentionResult {
  kept: string[];
  removed: string[];
}

/**
 * Keep the newest `retention` snapshots (and `keep`, whatever its age: the one just taken); remove the
 * others with their manifests. Only names of this cluster's pattern are ever touched.
 */
export async function applyRetention(store: BackupStore, keep: string[] = []): Promise<RetentionResult> {
  const all = await listBackups(store);
  const kept: string[] = [];
  const removed: string[] = [];
  for (const b of all) {
    if (kept.length < store.retention || keep.includes(b.fileName)) kept.push(b.fileName);
    else {
      await unlink(b.path);
      await unlink(manifestPath(b.path)).catch(() => undefined);
      removed.push(b.fileName);
    }
  }
  return { kept, removed };
}
