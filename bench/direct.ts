// The direct lower bound: the deploy's runbook itself (src/runbook/deploy.ts), its operations called
// in this process over the same pooled SSH connections, with the same order and parallelism as
// deployCluster, but without Temporal: no history, no task queues, no heartbeats. What is left
// between this and api7-ha is what durability costs. Child runs (the failover checks) do not run.
import { deployWorkflowId } from '../src/contracts';
import type { ClusterSpec } from '../src/inventory/model';
import { InProcessRunner } from '../src/plan/runner';
import type { ProductFacts } from '../src/products/types';
import { SshPool } from '../src/remote/ssh';
import { deployRun } from '../src/runbook/deploy';
import type { DeployInput } from '../src/runbook/types';
import { stampOf } from '../src/steps/inputs';

export async function directDeploy(spec: ClusterSpec, product: ProductFacts): Promise<{ totalMs: number; phases: Record<string, number> }> {
  const pool = new SshPool();
  const input: DeployInput = { spec, product, options: { fixFirewall: false, failover: 'never' } };
  const deployment = deployRun(input);
  const run = new InProcessRunner({ mode: 'apply', pool, steps: deployment.steps, id: deployWorkflowId(spec.cluster.name), stamp: stampOf(new Date()) });
  const start = performance.now();
  try {
    const result = await deployment.run(run.runner());
    return { totalMs: Math.round(performance.now() - start), phases: result.durationsMs };
  } finally {
    await pool.closeAll();
  }
}
