// `api7-ha etcd status -i INV` (also `api7-ha status -i INV`): the estate's etcd in one table, read
// directly over SSH (read-only probes; no workflow, no Temporal server needed).
import { etcdStatusInput } from '../steps/etcd-inputs';
import { readEtcdStatus } from '../reconcile/etcd-status';
import { HostExecutor } from '../remote/executor';
import { SshPool } from '../remote/ssh';
import { renderEtcdStatus } from '../report/etcd-status';
import { print, readInventory } from './common';

export interface EtcdStatusFlags {
  inventory?: string;
  json?: boolean;
}

/** Exit 0 when etcd is healthy, 1 when it is not (a script can alert on it); warnings do not fail it. */
export async function etcdStatusCommand(flags: EtcdStatusFlags): Promise<number> {
  const { spec } = readInventory(flags.inventory);
  const pool = new SshPool();
  try {
    const report = await readEtcdStatus((t) => new HostExecutor(t, pool, 'plan', spec.secrets), etcdStatusInput(spec));
    print(!!flags.json, report, () => renderEtcdStatus(report));
    return report.quorum.healthy ? 0 : 1;
  } finally {
    await pool.closeAll();
  }
}
