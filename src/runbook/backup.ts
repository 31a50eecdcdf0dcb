// A backup of the estate's etcd, proved: snapshot from a healthy member (a follower when one is
// healthy), copied off the host into the backup folder with its sha256 and etcd's status, restored
// into a throwaway etcd and compared with the estate at its revision, then retention. The same
// pieces take the automatic snapshot before any change to etcd (restore, member replacement,
// member recreation, the quorum-loss drill), named in that run's result.
import type { BackupRecord, RetentionResult } from '../backup/store';
import type { Verification } from '../backup/store';
import { hostByName, type ClusterSpec } from '../inventory/model';
import type { SnapshotSource } from '../operations/etcd';
import { backupFileName, backupStore, snapshotSources, snapshotStep, verifyInput, type BackupReason, type SnapshotPlan } from '../steps/etcd-inputs';
import type { DayTwoOps, DayTwoRunner, DayTwoStepDef } from './day2-runner';

export interface BackupInput {
  spec: ClusterSpec;
  reason: BackupReason;
}

export interface BackupResult {
  cluster: string;
  workflowId: string;
  source: SnapshotSource;
  backup: BackupRecord;
  verification?: Verification;
  /** verified | mismatch | unrestorable | unverifiable | skipped (backup.verify: false). */
  verdict: Verification['verdict'] | 'skipped';
  retention: RetentionResult;
  ms: { snapshot: number; copy: number; verify: number; total: number };
}

export const BACKUP_STEPS = [
  { id: 'source', title: 'Choose the member to stream the snapshot from (a healthy follower; the leader only if alone)' },
  { id: 'snapshot', title: 'etcdctl snapshot save beside the member; sha256 and snapshot status' },
  { id: 'copy', title: 'Copy it off the host into the backup folder (a new file, sha256 checked)' },
  { id: 'verify', title: 'Restore it into a throwaway etcd on the worker; compare keys and values with the estate at its revision' },
  { id: 'retention', title: ({ spec }) => `Keep the newest ${spec.backup.retention} snapshots` },
] as const satisfies readonly DayTwoStepDef<BackupInput>[];

export type BackupStepId = (typeof BACKUP_STEPS)[number]['id'];

/** A snapshot taken and copied into the folder: what a change to etcd names as its safety net. */
export interface TakenSnapshot {
  source: SnapshotSource;
  record: BackupRecord;
  ms: { snapshot: number; copy: number };
}

/** Source, snapshot and copy, on whatever runs them (a step of another runbook, or the backup's own steps). */
export async function snapshotAndCopy(
  ops: Pick<DayTwoOps, 'chooseSnapshotSource' | 'takeSnapshot' | 'fetchSnapshot'>,
  plan: SnapshotPlan,
  at: { stamp: string; workflowId: string; reason: BackupReason; withoutQuorum?: boolean },
): Promise<TakenSnapshot> {
  const source = await ops.chooseSnapshotSource(plan.sources, { withoutQuorum: at.withoutQuorum ?? false });
  const step = plan.step(source.host, backupFileName(plan.cluster, at.stamp, at.reason));
  const facts = await ops.takeSnapshot(step);
  const fetched = await ops.fetchSnapshot(step, facts, plan.store, { reason: at.reason, workflowId: at.workflowId });
  return { source, record: fetched.record, ms: { snapshot: facts.saveMs, copy: fetched.copyMs } };
}

export const snapshotSummary = (t: TakenSnapshot) => `${t.record.fileName}: revision ${t.record.revision}, ${t.record.totalKeys} keys, ${Math.round(t.record.sizeBytes / 1024)} KiB from ${t.record.member}`;
export const verificationSummary = (v: Verification) =>
  `${v.verdict}${v.snapshot ? `: ${v.snapshot.keys} keys under ${v.prefix}${v.live ? ` (live ${v.live.keys})` : ''}` : ''}${v.reason ? ` (${v.reason})` : ''}`;

export async function backup(r: DayTwoRunner<BackupStepId>, input: BackupInput): Promise<BackupResult> {
  const { spec } = input;
  const t0 = Date.now();
  const source = await r.step('source', (s) => s.chooseSnapshotSource(snapshotSources(spec), { withoutQuorum: false }), (x) => `${x.member ?? x.host}: ${x.why}`);
  const step = snapshotStep(spec, hostByName(spec, source.host), backupFileName(spec.cluster.name, r.stamp, input.reason));
  const facts = await r.step('snapshot', (s) => s.takeSnapshot(step), (f) => `revision ${f.revision}, ${f.totalKeys} keys, ${Math.round(f.sizeBytes / 1024)} KiB in ${f.saveMs} ms`);
  const fetched = await r.step('copy', (s) => s.fetchSnapshot(step, facts, backupStore(spec), { reason: input.reason, workflowId: r.id }), (f) => `${f.record.path} (sha256 ${f.record.sha256.slice(0, 12)}…)`);
  let verification: Verification | undefined;
  const tv = Date.now();
  if (spec.backup.verify) verification = await r.step('verify', (s) => s.verifyBackup(verifyInput(spec, fetched.record.path, facts.revision)), verificationSummary);
  else r.skip('verify', 'backup.verify is false');
  const verifyMs = Date.now() - tv;
  const retention = await r.step('retention', (s) => s.applyBackupRetention(backupStore(spec), [fetched.record.fileName]), (x) => `${x.kept.length} kept${x.removed.length ? `, removed ${x.removed.join(', ')}` : ''}`);
  return {
    cluster: spec.cluster.name,
    workflowId: r.id,
    source,
    backup: { ...fetched.record, ...(verification ? { verification } : {}) },
    ...(verification ? { verification } : {}),
    verdict: verification?.verdict ?? 'skipped',
    retention,
    ms: { snapshot: facts.saveMs, copy: fetched.copyMs, verify: verifyMs, total: Date.now() - t0 },
  };
}
