// Drill activities: probes, faults and rollbacks, steady state, recovery, actions during a fault, and
// the cluster lock's bookkeeping. Each is one step the drill workflow journals.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { SshTarget } from '../inventory/model';
import * as faults from '../drills/faults';
import { runProbes as probe, type ProbePlan } from '../drills/probes';
import type { ProbeSeries } from '../drills/journal';
import type { ApiTarget, ComponentStep, Secrets } from '../plan/inputs';
import type { ProbeSettings } from '../reconcile/verify';
import { HostExecutor } from '../remote/executor';
import type { HttpRoute } from '../remote/routes';
import { local, type ActivityDeps } from './runtime';

export interface DrillDeps extends ActivityDeps {
  /** A Temporal client: probes ask their drill when to stop; lock holders are looked up. */
  client: () => Promise<Client>;
}

export interface DrillControl {
  /** Scenario ids whose probes should stop now. */
  stopProbes: string[];
}

export function drillActivities(deps: DrillDeps) {
  const execFor = (secrets: Secrets) => (t: SshTarget) => new HostExecutor(t, deps.pool, 'apply', secrets);
  return {
    /** Probes run until the drill's `drillControl` query lists this scenario (or the safety deadline). */
    async runProbes(scenario: string, plan: ProbePlan): Promise<ProbeSeries[]> {
      const wf = Context.current().info.workflowExecution;
      if (!wf) throw new Error('probes run inside a drill workflow');
      const client = await deps.client();
      const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
      return local((ctx) =>
        probe(plan, {
          heartbeat: ctx.heartbeat,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          shouldStop: async () => (await handle.query<DrillControl>('drillControl')).stopProbes.includes(scenario),
        }),
      );
    },

    async steadyState(input: faults.SteadyStateInput, secrets: Secrets) {
      return local(() => faults.steadyState(execFor(secrets), input));
    },

    async injectFault(f: faults.FaultTarget) {
      return local((ctx) => faults.injectFault(execFor(f.secrets), ctx, f));
    },

    async rollbackFault(f: faults.FaultTarget) {
      return local((ctx) => faults.rollbackFault(execFor(f.secrets), ctx, f));
    },

    async waitRecovered(input: faults.RecoveryInput, secrets: Secrets) {
      return local((ctx) => faults.waitRecovered(execFor(secrets), ctx, input));
    },

    async writeRouteReachesGateways(input: { api: ApiTarget; gateways: { host: string; url: string }[]; probe: ProbeSettings; nonce: string; deadlineS: number; routes?: HttpRoute[] }) {
      return local((ctx) => faults.writeRouteReachesGateways(ctx, input));
    },

    async restartGateway(step: ComponentStep, deadlineS: number) {
      return local((ctx) => faults.restartGateway(execFor(step.secrets), ctx, step, deadlineS));
    },

    /** How many drills this cluster has had: victims rotate by it, deterministically across runs. */
    async pastDrillCount(cluster: string): Promise<number> {
      const client = await deps.client();
      const { count } = await client.workflow.count(`Api7Cluster = "${cluster.replace(/"/g, '')}" AND Api7Kind = "drill" AND ExecutionStatus != "Running"`);
      return count;
    },

    /** Who holds a cluster's lock (the running deploy or drill), for the refusal message. */
    async lockHolder(cluster: string): Promise<{ workflowId: string; kind: string } | undefined> {
      const client = await deps.client();
      try {
        return await client.workflow.getHandle(`lock-${cluster}`).query<{ workflowId: string; kind: string }>('holder');
      } catch {
        return undefined;
      }
    },
  };
}

export type DrillActivities = ReturnType<typeof drillActivities>;
