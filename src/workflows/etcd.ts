// Day 2 for etcd as workflows, each a runbook (src/runbook) on Temporal with its own UI page: backup
// (no lock: a snapshot changes nothing and may run beside a deploy), restore, member replacement and
// upkeep (each under the cluster's lock: one change at a time).
import { upsertMemo } from '@temporalio/workflow';
import { BACKUP_STEPS, backup, type BackupInput, type BackupResult } from '../runbook/backup';
import { DEFRAG_STEPS, DISARM_STEPS, ROTATE_STEPS, defrag, disarm, rotateCertificates, type DefragRunResult, type DisarmResult, type RotateInput, type RotateResult, type UpkeepInput } from '../runbook/etcd-upkeep';
import { REPLACE_MEMBER_STEPS, replaceMember, type ReplaceMemberInput, type ReplaceMemberResult } from '../runbook/replace-member';
import { RESTORE_STEPS, restore, type RestoreInput, type RestoreResult } from '../runbook/restore';
import { stepsOf } from '../runbook/day2-runner';
import { onTemporal } from './runner';

export async function backupCluster(input: BackupInput): Promise<BackupResult> {
  const run = { kind: 'backup', cluster: input.spec.cluster.name, steps: stepsOf(BACKUP_STEPS, input), cancelled: 'backup cancelled', outcome: (b: BackupResult) => (b.verdict === 'verified' || b.verdict === 'skipped' ? { ok: true } : { ok: false, error: `the backup is ${b.verdict}: ${b.verification?.reason ?? ''}` }) } as const;
  const result = await onTemporal(run, (r) => backup(r, input));
  upsertMemo({ backup: { file: result.backup.fileName, revision: result.backup.revision, keys: result.backup.totalKeys, verdict: result.verdict } });
  return result;
}

export async function restoreCluster(input: RestoreInput): Promise<RestoreResult> {
  const run = { kind: 'restore', cluster: input.spec.cluster.name, steps: stepsOf(RESTORE_STEPS, input), lock: 'restore', cancelled: 'restore cancelled' } as const;
  return onTemporal(run, (r) => restore(r, input));
}

export async function replaceEtcdMember(input: ReplaceMemberInput): Promise<ReplaceMemberResult> {
  const run = { kind: 'replace-member', cluster: input.spec.cluster.name, steps: stepsOf(REPLACE_MEMBER_STEPS, input), lock: 'replace-member', cancelled: 'replace-member cancelled' } as const;
  return onTemporal(run, (r) => replaceMember(r, input));
}

export async function defragEtcd(input: UpkeepInput): Promise<DefragRunResult> {
  const run = { kind: 'etcd-upkeep', cluster: input.spec.cluster.name, steps: stepsOf(DEFRAG_STEPS, input), lock: 'etcd-upkeep', cancelled: 'defrag cancelled between members' } as const;
  return onTemporal(run, (r) => defrag(r, input));
}

export async function disarmEtcd(input: UpkeepInput): Promise<DisarmResult> {
  const run = { kind: 'etcd-upkeep', cluster: input.spec.cluster.name, steps: stepsOf(DISARM_STEPS, input), lock: 'etcd-upkeep', cancelled: 'disarm cancelled' } as const;
  return onTemporal(run, (r) => disarm(r, input));
}

export async function rotateEtcdCertificates(input: RotateInput): Promise<RotateResult> {
  const run = { kind: 'etcd-upkeep', cluster: input.spec.cluster.name, steps: stepsOf(ROTATE_STEPS, input), lock: 'etcd-upkeep', cancelled: 'certificate rotation cancelled between hosts' } as const;
  return onTemporal(run, (r) => rotateCertificates(r, input));
}
