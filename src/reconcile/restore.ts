// Restoring a cluster from a snapshot, one member host at a time (etcd op-guide, recovery): the member
// stopped, its data dir moved aside as `<dir>.before-restore-<stamp>` (never deleted), the snapshot
// copied to the host (sha256 checked) and `etcdctl snapshot restore` run with the member's name, the
// initial cluster and a new cluster token; then every member is started at once (a restored cluster
// needs a majority to elect a leader). A retry finds a member already restored and leaves it alone.
import * as docker from '../commands/docker';
import * as etcdCmd from '../commands/etcd';
import * as maint from '../commands/etcd-maintenance';
import * as files from '../commands/files';
import type { RestoreMemberStep } from '../steps/etcd-inputs';
import { inspectContainer } from './containers';
import type { StepContext } from './context';
import { ensureMember, replaceContainer, type MemberResult } from './etcd';

export interface RestoredMember {
  host: string;
  member: string;
  /** Where the data dir before the restore is kept (absent: the host had none). */
  aside?: string;
  /** false: a previous attempt of this run had restored it already. */
  restored: boolean;
  ms: number;
}

export async function stopMember(ctx: StepContext, containerName: string): Promise<{ host: string; wasRunning: boolean }> {
  const c = await inspectContainer(ctx.exec, containerName);
  if (c?.running) await ctx.exec.run(docker.stop(containerName));
  return { host: ctx.exec.host, wasRunning: c?.running ?? false };
}

export async function restoreMemberData(ctx: StepContext, step: RestoreMemberStep): Promise<RestoredMember> {
  const x = ctx.exec;
  const t0 = Date.now();
  const dataDir = etcdCmd.withoutTrailingSlash(step.member.dataDir);
  const aside = maint.asideDir(dataDir, 'restore', step.stamp);
  const staging = `${dataDir}/${maint.RESTORE_STAGING}`;
  const done = (restored: boolean, kept: boolean): RestoredMember => ({ host: x.host, member: step.restore.name, ...(kept ? { aside } : {}), restored, ms: Date.now() - t0 });
  const has = async (p: string, dir = true) => (await x.run(dir ? files.isDir(p) : files.exists(p))).code === 0;

  // etcd must not run on a data dir being replaced.
  await stopMember(ctx, step.member.containerName);
  const asideExists = await has(aside);
  if (asideExists && (await has(`${dataDir}/member`))) return done(false, true);
  if (!asideExists && (await has(dataDir, false))) await x.run(maint.moveAside(dataDir, aside));
  const kept = asideExists || (await has(aside));
  if (await has(staging)) await x.run(maint.moveAside(staging, `${staging}.partial-${Date.now()}`));
  if (!(await has(dataDir))) await x.run(files.mkdirP(dataDir, '700'));

  const snapDir = maint.snapshotsDirOnHost(dataDir);
  if (!(await has(snapDir))) await x.run(files.mkdirP(snapDir, '711'));
  await x.upload(step.snapshot.localPath, `${snapDir}/${step.snapshot.fileName}`, step.snapshot.sha256, { onProgress: (sent, total) => ctx.heartbeat({ uploading: step.snapshot.fileName, sent, total }), ...(ctx.signal ? { signal: ctx.signal } : {}) });
  await x.run(maint.snapshotRestore(step.tool, step.snapshot.fileName, step.restore));
  await x.run(maint.moveAside(`${staging}/member`, `${dataDir}/member`));
  await x.run(maint.removeEmptyDir(staging));
  await x.run(maint.removeSnapshotCopy(dataDir, step.snapshot.fileName));
  return done(true, kept);
}

/**
 * Start a restored member without waiting for it: its container as it was, or (configuration changed
 * since) a new one with state existing, the old one kept under another name.
 */
export async function startRestoredMember(ctx: StepContext, step: RestoreMemberStep): Promise<MemberResult> {
  const memberStep = { target: step.target, secrets: step.secrets, member: step.member, image: step.image, ...(step.tlsFiles ? { tlsFiles: step.tlsFiles } : {}) };
  const r = await ensureMember(ctx, memberStep, step.stamp);
  if (r.action !== 'needs-recreate') return r;
  await replaceContainer(ctx, memberStep, step.stamp);
  return { ...r, action: 'recreated' };
}
