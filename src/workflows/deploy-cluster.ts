// deployCluster: the vendor's HA runbook (src/runbook/deploy.ts) as one durable workflow, under the
// cluster's lock; its gateways in child workflows of at most 50, its failover checks the drill workflow.
import { upsertMemo } from '@temporalio/workflow';
import { deployRun } from '../runbook/deploy';
import type { DeployInput, DeployResult } from '../runbook/types';
import { runbookBatch } from './batch';
import { failoverVerification } from './failover-verification';
import { onTemporal } from './runner';

export async function deployCluster(input: DeployInput): Promise<DeployResult> {
  const deployment = deployRun(input);
  const run = { kind: 'deploy', cluster: input.spec.cluster.name, steps: deployment.steps, lock: 'deploy', cancelled: 'deploy cancelled' } as const;
  const result = await onTemporal({ ...run, children: { batch: runbookBatch, drill: failoverVerification } }, (r) => deployment.run(r));
  upsertMemo({ endpoints: result.endpoints, changed: result.changed });
  return result;
}
