// The upgrade's safety net: an etcd snapshot before anything changes (etcd op-guide: recovery). The
// backup work (its own snapshot, retention and restore) is another change; until it lands the upgrade
// calls etcdctl directly: `snapshot save` against ONE member (etcdctl refuses several endpoints), inside
// that member's container, then `docker cp` to a folder on its host, where it survives the container.
import { change, probe, type RemoteCommand } from './types';
import { etcdctl, type EtcdctlTarget } from './etcd';

/** Where the snapshot is written inside the container (then copied out and removed). */
export const snapshotInContainer = (name: string) => `/tmp/${name}`;

export const snapshotSave = (t: EtcdctlTarget, name: string): RemoteCommand => ({
  ...etcdctl(t, ['snapshot', 'save', snapshotInContainer(name)], `etcd snapshot save ${snapshotInContainer(name)}`, { timeoutMs: 5 * 60_000 }),
  mutates: true,
});

export const snapshotStatus = (t: EtcdctlTarget, name: string): RemoteCommand => etcdctl(t, ['snapshot', 'status', snapshotInContainer(name), '-w', 'json'], `etcd snapshot status ${snapshotInContainer(name)}`);

export const copyOut = (container: string, name: string, dir: string): RemoteCommand =>
  change(['docker', 'cp', `${container}:${snapshotInContainer(name)}`, `${dir}/${name}`], `copy the snapshot to ${dir}/${name}`, { timeoutMs: 5 * 60_000 });

export const removeInContainer = (container: string, name: string): RemoteCommand =>
  change(['docker', 'exec', container, 'rm', '-f', snapshotInContainer(name)], `remove ${snapshotInContainer(name)} from the container`);

export const sizeOf = (path: string): RemoteCommand => probe(['stat', '-c', '%s', path], `size of ${path}`, { sudo: true, okExit: [0, 1] });
