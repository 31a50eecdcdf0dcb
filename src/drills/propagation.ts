// Configuration propagation, measured: a canary route is rewritten through the control plane load
// balancer again and again, each version under a host name of its own, and every gateway is asked
// directly for the newest version until it serves it. Per gateway: how long from the control plane's
// acknowledgement to the gateway serving it, and which versions it never served (a gateway whose etcd
// watch silently stopped, as APISIX users report after etcd trouble, keeps serving the old config).
import { Agent } from 'node:http';
import { sleep } from '../reconcile/context';
import { DashboardClient, http, looksLikeUpstream } from '../reconcile/http';
import { probeRoute } from '../reconcile/verify';
import type { ApiTarget, ProbeSettings } from '../steps/inputs';
import type { Sample } from './journal';

export interface PropagationPlan {
  /** The control plane load balancer. */
  api: ApiTarget;
  probe: ProbeSettings;
  /** The canary route's ID (one route, rewritten; deleted at the end). */
  routeId: string;
  /** Makes the canary's host names unique to this run. */
  nonce: string;
  gateways: { host: string; url: string }[];
  /** A new version every intervalMs. */
  intervalMs: number;
  /** A version a gateway has not served this long after it was acknowledged: the gateway is stale. */
  staleMs: number;
}

interface Version {
  n: number;
  host: string;
  /** Epoch ms of the acknowledgement. */
  ackAt: number;
}

interface GatewayState {
  host: string;
  url: string;
  /** Versions acknowledged and not yet seen served, oldest first. */
  pending: Version[];
  busy: boolean;
}

export interface PropagationOutput {
  gateway: string;
  target: string;
  samples: Sample[];
  writeFailures: number;
}

const POLL_MS = 25;
const canaryHost = (nonce: string, n: number) => `v${n}-${nonce}.canary.api7-ha.invalid`;

/**
 * Runs until `stopped()` says so. `emit` gets each sample as it is known (a version served: status 200
 * and its latency; never served within staleMs: status 0). Samples are on the caller's clock (`t0`).
 */
export async function measurePropagation(
  plan: PropagationPlan,
  t0: number,
  stopped: () => boolean,
  emit: (gateway: string, s: Sample) => void,
  signal?: AbortSignal,
): Promise<{ writeFailures: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const client = new DashboardClient(plan.api, { timeoutMs: 2000, agent });
  const gateways: GatewayState[] = plan.gateways.map((g) => ({ ...g, pending: [], busy: false }));
  let writeFailures = 0;
  let n = 0;
  const settle = (g: GatewayState, servedUpTo: number, at: number) => {
    // etcd's watch delivers changes in order: serving version k means every version before it arrived.
    while (g.pending.length && g.pending[0]!.n <= servedUpTo) {
      const v = g.pending.shift()!;
      emit(g.host, [v.ackAt - t0, 200, at - v.ackAt]);
    }
  };
  const expire = (g: GatewayState, now: number, limit: number) => {
    while (g.pending.length && now - g.pending[0]!.ackAt > limit) emit(g.host, [g.pending.shift()!.ackAt - t0, 0, limit]);
  };
  const poll = (g: GatewayState) => {
    const newest = g.pending[g.pending.length - 1];
    if (!newest || g.busy) return;
    g.busy = true;
    void http(`${g.url}${plan.probe.path}`, { headers: { Host: newest.host }, timeoutMs: 1000, agent })
      .then((r) => {
        if (r.status === plan.probe.expectStatus && (plan.probe.expectStatus !== 200 || looksLikeUpstream(r.body))) settle(g, newest.n, Date.now());
      })
      .finally(() => {
        g.busy = false;
      });
  };
  const write = async () => {
    if (!client.hasToken) {
      const login = await client.login().catch(() => undefined);
      if (login?.status !== 200) {
        writeFailures++;
        return;
      }
    }
    const v = ++n;
    const host = canaryHost(plan.nonce, v);
    const r = await client.putRoute(plan.routeId, { ...probeRoute(plan.probe, `api7-ha canary ${plan.nonce} v${v}`), host });
    if (r.status === 200 || r.status === 201) for (const g of gateways) g.pending.push({ n: v, host, ackAt: Date.now() });
    else writeFailures++;
  };
  try {
    let nextWrite = Date.now();
    let writing: Promise<void> | undefined;
    while (!stopped() && !signal?.aborted) {
      const now = Date.now();
      if (now >= nextWrite && !writing) {
        nextWrite = now + plan.intervalMs;
        writing = write().finally(() => (writing = undefined));
      }
      for (const g of gateways) {
        expire(g, now, plan.staleMs);
        poll(g);
      }
      await sleep(POLL_MS);
    }
    await writing;
    // The last versions get a moment to arrive; younger than the stale limit and still missing after
    // it, they are not counted either way.
    const end = Date.now() + Math.min(1000, plan.staleMs);
    while (gateways.some((g) => g.pending.length) && Date.now() < end) {
      for (const g of gateways) poll(g);
      await sleep(POLL_MS);
    }
    for (const g of gateways) expire(g, Date.now(), plan.staleMs);
    return { writeFailures };
  } finally {
    // The canary is scaffolding: remove it whatever happened.
    if (client.hasToken) await client.deleteRoute(plan.routeId).catch(() => undefined);
    agent.destroy();
  }
}
