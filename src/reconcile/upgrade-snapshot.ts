// The pre-upgrade etcd snapshot (kept beside the member; a verified backup is `api7-ha backup`): `etcdctl snapshot save` on the first member that answers, against
// that member alone, copied out of its container into a folder beside the data dir.
import * as snap from '../commands/etcd-snapshot';
import * as files from '../commands/files';
import type { EtcdctlTarget } from '../commands/etcd';
import type { SshTarget } from '../inventory/model';
import type { HostExecutor } from '../remote/executor';
import type { Secrets } from '../steps/inputs';

export interface SnapshotInput {
  members: { target: SshTarget; endpoint: string }[];
  etcdctl: Omit<EtcdctlTarget, 'endpoints'>;
  /** Folder on the member's host. */
  dir: string;
  name: string;
  secrets: Secrets;
}

export interface SnapshotResult {
  host: string;
  path: string;
  revision?: number;
  totalKeys?: number;
  hash?: number;
  bytes?: number;
}

export const SNAPSHOT_NAME = /^[A-Za-z0-9_.-]{1,100}\.db$/;

export async function snapshotEtcd(exec: (t: SshTarget) => HostExecutor, input: SnapshotInput): Promise<SnapshotResult> {
  if (!SNAPSHOT_NAME.test(input.name)) throw new Error(`snapshot name ${input.name} is not a plain file name`);
  const errors: string[] = [];
  for (const m of input.members) {
    const x = exec(m.target);
    const t = { ...input.etcdctl, endpoints: [m.endpoint] };
    try {
      if ((await x.run(files.isDir(input.dir))).code !== 0) await x.run(files.mkdirP(input.dir, '700'));
      await x.run(snap.snapshotSave(t, input.name));
      const status = x.planning ? undefined : ((JSON.parse((await x.run(snap.snapshotStatus(t, input.name))).stdout) as { hash?: number; revision?: number; totalKey?: number; totalSize?: number }) ?? undefined);
      await x.run(snap.copyOut(input.etcdctl.containerName, input.name, input.dir));
      await x.run(snap.removeInContainer(input.etcdctl.containerName, input.name));
      const path = `${input.dir}/${input.name}`;
      const size = await x.output(snap.sizeOf(path));
      return {
        host: x.host,
        path,
        ...(status?.revision !== undefined ? { revision: status.revision } : {}),
        ...(status?.totalKey !== undefined ? { totalKeys: status.totalKey } : {}),
        ...(status?.hash !== undefined ? { hash: status.hash } : {}),
        ...(size ? { bytes: Number(size) } : {}),
      };
    } catch (e) {
      errors.push(`${x.host}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new Error(`no etcd member took the snapshot: ${errors.join('; ')}`);
}
