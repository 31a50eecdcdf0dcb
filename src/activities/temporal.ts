// Activities that only exist on Temporal: they read the run itself or its neighbours through a client.
import { Context } from '@temporalio/activity';
import { drillControlQuery, holderQuery, lockWorkflowId, probeReportSignal, type LockHolder } from '../contracts';
import type { ProbeSeries } from '../drills/journal';
import { probeScenario as probeRun, type ProbeReport, type ScenarioProbePlan } from '../drills/probe-run';
import { runProbes as probe, type ProbePlan } from '../drills/probes';
import { faultActive } from '../metrics/exporter';
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

    /**
     * The probes of one scenario run (`key`): samples go back to the drill as signals about every
     * second, so a retry after a worker crash loses at most the last second; the drill also reads
     * from its control query when the fault holds (stop conditions) and when to stop.
     */
    async probeScenario(key: string, plan: ScenarioProbePlan & { cluster?: string }): Promise<ProbeReport> {
      const info = Context.current().info;
      const wf = info.workflowExecution;
      if (!wf) throw new Error('probes run inside a drill workflow');
      const client = await deps.client();
      const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
      const scenario = key.split(':')[1] ?? key;
      return local((ctx) =>
        probeRun(key, plan, {
          attempt: info.attempt,
          heartbeat: ctx.heartbeat,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          control: async () => {
            const c = await handle.query(drillControlQuery);
            return { stop: c.stopProbes.includes(key), ...(c.holding?.[key] !== undefined ? { holdingSince: c.holding[key] } : {}) };
          },
          report: (r) => handle.signal(probeReportSignal, r),
          onHolding: (holding) => {
            if (plan.cluster) faultActive(plan.cluster, scenario, holding);
          },
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
