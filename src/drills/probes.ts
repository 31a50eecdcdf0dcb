// Probes: requests at a fixed rate (open loop: an outage does not slow the sender down, so a stall shows
// as failures, not as missing samples) through the load balancers and at the victim, recording every
// sample. They run until the drill says stop (a workflow query) or a safety deadline.
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import type { ApiTarget } from '../steps/inputs';
import { sleep } from '../reconcile/context';
import { DashboardClient, http, looksLikeUpstream, type HttpResult } from '../reconcile/http';
import { probeRoute } from '../reconcile/verify';
import type { HttpRoute } from '../remote/routes';
import { addHttpRoutes } from '../remote/ssh';
import type { ProbeSettings } from '../steps/inputs';
import type { ProbeName, ProbeSeries, Sample } from './journal';

export type VictimCheck =
  | { kind: 'http'; url: string; headers?: Record<string, string>; okStatus: number[] }
  /** etcd's /health answers {"health":"true"} only on a member that is part of a quorum. */
  | { kind: 'etcd-health'; url: string; tls?: { caFile: string; certFile: string; keyFile: string } };

export interface ProbePlan {
  /** Hosts behind a jump host (the victim's probes go through it). */
  routes?: HttpRoute[];
  ratePerS: number;
  maxDurationS: number;
  dp?: { url: string; host: string; path: string; expectStatus: number };
  /** Authenticated reads and writes of the probe route, with one login before the fault. */
  cp?: { api: ApiTarget; probe: ProbeSettings; /** Reads only (upgrades: writes are not what a dashboard swap may break). */ readOnly?: boolean };
  victim?: VictimCheck;
}

interface Runner {
  name: ProbeName;
  target: string;
  okStatus: number[];
  send: () => Promise<HttpResult>;
}

/** The login happens here, before any fault, and the token is reused throughout (never returned). */
async function runners(plan: ProbePlan, agent: Agent): Promise<Runner[]> {
  const out: Runner[] = [];
  if (plan.dp) {
    const dp = plan.dp;
    out.push({
      name: 'dp',
      target: `GET ${dp.url}${dp.path} (Host: ${dp.host})`,
      okStatus: [dp.expectStatus],
      send: async () => {
        const r = await http(`${dp.url}${dp.path}`, { headers: { Host: dp.host }, timeoutMs: 2000, agent });
        // A 200 that is not the upstream's answer (an error page) is not a success.
        return r.status === 200 && dp.expectStatus === 200 && !looksLikeUpstream(r.body) ? { ...r, status: 502 } : r;
      },
    });
  }
  if (plan.cp) {
    const client = new DashboardClient(plan.cp.api, { timeoutMs: 2000, agent });
    for (let i = 0; i < 20 && !client.hasToken; i++) {
      const r = await client.login().catch(() => undefined);
      if (r?.status === 200) break;
      await sleep(250);
    }
    if (!client.hasToken) throw new Error(`cannot log in to the control plane at ${plan.cp.api.baseUrl} before the drill`);
    const probe = plan.cp.probe;
    let n = 0;
    out.push({
      name: 'cp',
      target: `GET/PUT ${plan.cp.api.baseUrl} route ${probe.routeId} (token from before the fault)`,
      okStatus: [200, 201],
      // Alternate reads and writes: both must keep working behind the load balancer.
      send: () => (plan.cp!.readOnly || n++ % 2 === 0 ? client.getRoute(probe.routeId) : client.putRoute(probe.routeId, probeRoute(probe))),
    });
  }
  if (plan.victim) {
    const v = plan.victim;
    // etcd with mTLS: the worker asks /health with the client certificate the dashboards use.
    const tls =
      v.kind === 'etcd-health' && v.tls
        ? { ca: await readFile(v.tls.caFile, 'utf8'), cert: await readFile(v.tls.certFile, 'utf8'), key: await readFile(v.tls.keyFile, 'utf8') }
        : undefined;
    out.push({
      name: 'victim',
      target: `GET ${v.url}`,
      okStatus: v.kind === 'http' ? v.okStatus : [200],
      send: async () => {
        const r = await http(v.url, { ...(v.kind === 'http' && v.headers ? { headers: v.headers } : {}), ...(tls ? { tls } : {}), timeoutMs: 1000 });
        if (v.kind === 'etcd-health' && r.status === 200 && !/"health":\s*"true"/.test(r.body)) return { ...r, status: 503 };
        return r;
      },
    });
  }
  return out;
}

export interface ProbeHooks {
  /** Returns true when the drill wants the probes to stop. */
  shouldStop: () => Promise<boolean>;
  heartbeat: (details: unknown) => void;
  signal?: AbortSignal;
}

export async function runProbes(plan: ProbePlan, hooks: ProbeHooks): Promise<ProbeSeries[]> {
  addHttpRoutes(plan.routes);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const rs = await runners(plan, agent);
    const startedAt = Date.now();
    const series = rs.map((r) => ({ runner: r, samples: [] as Sample[], inFlight: new Set<Promise<void>>() }));
    const interval = 1000 / plan.ratePerS;
    const deadline = startedAt + plan.maxDurationS * 1000;
    let tick = 0;
    let stop = false;
    let lastPoll = 0;
    while (!stop) {
      // Schedule by the clock, not by sleeping a fixed interval, so the rate holds under load.
      const due = startedAt + tick * interval;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait, hooks.signal);
      tick++;
      for (const s of series) {
        const sentAt = Date.now();
        const p = s.runner
          .send()
          .then((r) => {
            // "API7/2.13.2305": the build that answered.
            const version = r.server?.includes('/') ? r.server.slice(r.server.lastIndexOf('/') + 1) : undefined;
            s.samples.push(version ? [sentAt - startedAt, r.status, Math.round(r.ms * 10) / 10, version] : [sentAt - startedAt, r.status, Math.round(r.ms * 10) / 10]);
          })
          .catch(() => {
            s.samples.push([sentAt - startedAt, 0, Date.now() - sentAt]);
          })
          .finally(() => s.inFlight.delete(p));
        s.inFlight.add(p);
      }
      const now = Date.now();
      if (now - lastPoll >= 250) {
        lastPoll = now;
        hooks.heartbeat({ samples: series.map((s) => [s.runner.name, s.samples.length]) });
        stop = now > deadline || (await hooks.shouldStop().catch(() => false));
      }
    }
    await Promise.all(series.flatMap((s) => [...s.inFlight]));
    return series.map((s) => ({
      name: s.runner.name,
      target: s.runner.target,
      startedAt,
      ratePerS: plan.ratePerS,
      okStatus: s.runner.okStatus,
      samples: s.samples.sort((a, b) => a[0] - b[0]),
    }));
  } finally {
    agent.destroy();
  }
}
