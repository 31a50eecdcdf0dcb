// The runbook's three failover checks need faults (stop a gateway, a dashboard, an etcd member), checks
// through the load balancers, and restores. Restores are written to be retried until they succeed.
import * as docker from '../commands/docker';
import type { SshTarget } from '../inventory/model';
import type { ApiTarget, Secrets } from '../plan/inputs';
import { pollUntil } from '../reconcile/context';
import { DashboardClient, http, looksLikeUpstream } from '../reconcile/http';
import { inspectContainer } from '../reconcile/containers';
import { probeRoute, type ProbeSettings } from '../reconcile/verify';
import { local, onHost, type ActivityDeps } from './runtime';

export interface EtcdMemberRef {
  target: SshTarget;
  secrets: Secrets;
  containerName: string;
}

export interface ServeCheck {
  requests: number;
  failures: number;
  statuses: Record<string, number>;
}

export function failoverActivities(deps: ActivityDeps) {
  const host = onHost(deps);
  return {
    /** The runbook: `docker stop <etcd container>` on one member. */
    async stopEtcdMember(ref: EtcdMemberRef): Promise<{ host: string; wasRunning: boolean }> {
      return host(ref.target, ref.secrets, async (ctx) => {
        const c = await inspectContainer(ctx.exec, ref.containerName);
        if (c?.running) await ctx.exec.run(docker.stop(ref.containerName));
        return { host: ref.target.host, wasRunning: c?.running ?? false };
      });
    },

    async startEtcdMember(ref: EtcdMemberRef): Promise<{ host: string; started: boolean }> {
      return host(ref.target, ref.secrets, async (ctx) => {
        const c = await inspectContainer(ctx.exec, ref.containerName);
        if (c && !c.running) await ctx.exec.run(docker.start(ref.containerName));
        return { host: ref.target.host, started: !!c && !c.running };
      });
    },

    /** Requests through the data plane load balancer; every one must come from the upstream. */
    async checkDataPlaneServes(dataPlaneUrl: string, probe: Pick<ProbeSettings, 'host' | 'path' | 'expectStatus'>, requests: number, intervalMs: number): Promise<ServeCheck> {
      return local(async (ctx) => {
        const statuses: Record<string, number> = {};
        let failures = 0;
        for (let i = 0; i < requests; i++) {
          const r = await http(`${dataPlaneUrl}${probe.path}`, { headers: { Host: probe.host }, timeoutMs: 3000 });
          const key = r.error ?? String(r.status);
          statuses[key] = (statuses[key] ?? 0) + 1;
          if (r.status !== probe.expectStatus || (probe.expectStatus === 200 && !looksLikeUpstream(r.body))) failures++;
          ctx.heartbeat({ sent: i + 1, failures });
          await new Promise((res) => setTimeout(res, intervalMs));
        }
        return { requests, failures, statuses };
      });
    },

    /**
     * Read and write through the control plane load balancer, retrying until `deadlineS`: during an
     * etcd leader election writes pause for about one election timeout. The login token stays in this
     * activity's memory: tokens never enter workflow history.
     */
    async checkControlPlaneReadWrite(api: ApiTarget, probe: ProbeSettings, opts: { write: boolean; deadlineS: number }): Promise<{ ms: number; attempts: number }> {
      return local(async (ctx) => {
        const client = new DashboardClient(api, { timeoutMs: 4000 });
        const started = Date.now();
        let attempts = 0;
        await pollUntil(ctx, `control plane reads${opts.write ? ' and writes' : ''} through ${api.baseUrl}`, opts.deadlineS * 1000, 250, async () => {
          attempts++;
          if (!client.hasToken) {
            const l = await client.login();
            if (l.status !== 200) return { done: false, reason: `login: ${l.error ?? l.status}` };
          }
          const read = await client.getRoute(probe.routeId);
          if (read.status !== 200) return { done: false, reason: `read: ${read.error ?? `${read.status} ${read.body.slice(0, 120)}`}` };
          if (opts.write) {
            const w = await client.putRoute(probe.routeId, probeRoute(probe));
            if (w.status !== 200 && w.status !== 201) return { done: false, reason: `write: ${w.error ?? `${w.status} ${w.body.slice(0, 120)}`}` };
          }
          return { done: true, value: true };
        });
        return { ms: Date.now() - started, attempts };
      });
    },

  };
}

export type FailoverActivities = ReturnType<typeof failoverActivities>;
