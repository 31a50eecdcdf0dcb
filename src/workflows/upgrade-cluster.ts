// upgradeCluster: an upgrade or a rollback (src/runbook/upgrade.ts) as one durable workflow, under the
// cluster's lock; the canary drill is the drill workflow as a child; the probes ask it when to stop.
import { setHandler, upsertMemo } from '@temporalio/workflow';
import { drillControlQuery } from '../contracts';
import { cleanupRun, upgradeRun, type CleanupInput, type CleanupResultAll, type UpgradeInput, type UpgradeResult } from '../runbook/upgrade';
import { failoverVerification } from './failover-verification';
import { onTemporal } from './runner';

export async function upgradeCluster(input: UpgradeInput): Promise<UpgradeResult> {
  const run = upgradeRun(input);
  setHandler(drillControlQuery, () => run.control);
  const result = await onTemporal(
    { kind: input.direction, cluster: input.spec.cluster.name, steps: run.steps, lock: 'deploy', cancelled: `${input.direction} cancelled; every host in flight was rolled back and put back in rotation`, children: { drill: failoverVerification } },
    (r) => run.run(r),
  );
  upsertMemo({ upgrade: { direction: result.direction, hosts: result.hosts.length, probes: result.probes.map((p) => ({ name: p.name, requests: p.requests, failures: p.failures, longestOutageMs: p.longestOutageMs })) } });
  return result;
}

/** cleanupCluster: old releases off the hosts (never the running or the previous one), under the lock. */
export async function cleanupCluster(input: CleanupInput): Promise<CleanupResultAll> {
  const run = cleanupRun(input);
  return onTemporal({ kind: 'cleanup', cluster: input.spec.cluster.name, steps: run.steps, lock: 'deploy', cancelled: 'cleanup cancelled' }, (r) => run.run(r));
}
