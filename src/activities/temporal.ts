// Activities that only exist on Temporal: they read the run itself or its neighbours through a client.
import { Context } from '@temporalio/activity';
import { drillControlQuery, holderQuery, lockWorkflowId, type LockHolder } from '../contracts';
import type { ProbeSeries } from '../drills/journal';
import { runProbes as probe, type ProbePlan } from '../drills/probes';
import { local, type ActivityDeps } from './runtime';

export function temporalActivities(deps: Pick<ActivityDeps, 'client'>) {
  return {
    /** Probes run until the drill's control query lists this scenario (or the safety deadline). */
    async runProbes(scenario: string, plan: ProbePlan): Promise<ProbeSeries[]> {
      const wf = Context.current().info.workflowExecution;
      if (!wf) throw new Error('probes run inside a drill workflow');
      const client = await deps.client();
      const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
      return local((ctx) =>
        probe(plan, {
          heartbeat: ctx.heartbeat,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          shouldStop: async () => (await handle.query(drillControlQuery)).stopProbes.includes(scenario),
        }),
      );
    },

    /** How many drills this cluster has had: victims rotate by it, deterministically across runs. */
    async pastDrillCount(cluster: string): Promise<number> {
      const client = await deps.client();
      const { count } = await client.workflow.count(`Api7Cluster = "${cluster.replace(/"/g, '')}" AND Api7Kind = "drill" AND ExecutionStatus != "Running"`);
      return count;
    },

    /** Who holds a cluster's lock (the running deploy or drill), for the refusal message. */
    async lockHolder(cluster: string): Promise<LockHolder | undefined> {
      const client = await deps.client();
      try {
        return await client.workflow.getHandle(lockWorkflowId(cluster)).query(holderQuery);
      } catch {
        return undefined;
      }
    },
  };
}

export type TemporalActivities = ReturnType<typeof temporalActivities>;
