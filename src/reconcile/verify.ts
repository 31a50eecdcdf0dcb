// Verification through the control plane and data plane, as an operator would check by hand:
// write a route through the dashboards' API and see a gateway serve it from the upstream.
import type { ProbeRoute } from '../products';
import type { ApiTarget, Endpoints, ProbeSettings } from '../steps/inputs';
import { PermanentError, pollUntil, type StepContext } from './context';
import { DashboardClient, http, looksLikeUpstream } from './http';

export const probeRoute = (p: ProbeSettings, desc = 'api7-ha probe route (verification and drills)'): ProbeRoute => ({
  uri: p.path,
  host: p.host,
  methods: ['GET', 'HEAD'],
  upstreamNodes: { [p.upstream]: 1 },
  desc,
});

/**
 * The probe route (Host + path -> upstream), written through one dashboard before the gateways start,
 * so each gateway can prove it is healthy by answering it. Idempotent (PUT by id).
 */
export async function ensureProbeRoute(ctx: Pick<StepContext, 'heartbeat' | 'signal'>, api: ApiTarget, probe: ProbeSettings, deadlineS = 60): Promise<{ written: boolean }> {
  const client = new DashboardClient(api);
  return pollUntil(ctx, `probe route written through ${api.baseUrl}`, deadlineS * 1000, 1000, async () => {
    if (!client.hasToken) {
      const login = await client.login();
      if (login.status !== 200) return { done: false, reason: `login: ${login.error ?? login.status}` };
    }
    const res = await client.putRoute(probe.routeId, probeRoute(probe));
    if (res.status === 200 || res.status === 201) return { done: true, value: { written: true } };
    if (res.status === 400) throw new PermanentError(`the dashboard refused the probe route: ${res.body.slice(0, 300)}`);
    return { done: false, reason: `PUT route: ${res.error ?? `${res.status} ${res.body.slice(0, 200)}`}` };
  });
}

export interface PropagationResult {
  routeId: string;
  /** From the write acknowledged by the control plane to the first upstream answer through the data plane. */
  propagationMs: number;
  writeMs: number;
}

/**
 * Write a route with a host name no one else uses through the control plane load balancer; before it
 * reaches the gateways the data plane answers 404, after it the upstream answers. That proves the whole
 * path: CP LB -> dashboard -> etcd -> gateway watch -> DP LB -> upstream.
 */
export async function verifyPropagation(
  ctx: Pick<StepContext, 'heartbeat' | 'signal'>,
  api: ApiTarget,
  endpoints: Endpoints,
  probe: ProbeSettings,
  nonce: string,
  deadlineS: number,
): Promise<PropagationResult> {
  const client = new DashboardClient({ ...api, baseUrl: endpoints.controlPlane });
  const routeId = `api7-ha-verify-${nonce}`;
  const host = `${nonce}.verify.api7-ha.invalid`;
  await pollUntil(ctx, 'log in through the control plane load balancer', 30_000, 1000, async () => {
    const r = await client.login();
    return r.status === 200 ? { done: true, value: true } : { done: false, reason: `${r.error ?? r.status}` };
  });
  const before = await http(`${endpoints.dataPlane}${probe.path}`, { headers: { Host: host }, timeoutMs: 3000 });
  if (before.status === probe.expectStatus && looksLikeUpstream(before.body))
    throw new Error(`the data plane already serves ${host} before the route was written: the check would prove nothing`);
  const t0 = Date.now();
  const put = await client.putRoute(routeId, { ...probeRoute(probe, `api7-ha verification ${nonce}`), host });
  if (put.status !== 200 && put.status !== 201) throw new Error(`writing the verification route through ${endpoints.controlPlane} failed: ${put.error ?? `${put.status} ${put.body.slice(0, 200)}`}`);
  const writeMs = Date.now() - t0;
  try {
    await pollUntil(ctx, `route ${routeId} served through the data plane load balancer`, deadlineS * 1000, 100, async () => {
      const res = await http(`${endpoints.dataPlane}${probe.path}`, { headers: { Host: host }, timeoutMs: 2000 });
      return res.status === probe.expectStatus && (probe.expectStatus !== 200 || looksLikeUpstream(res.body))
        ? { done: true, value: true }
        : { done: false, reason: `answered ${res.error ?? res.status}` };
    });
    return { routeId, propagationMs: Date.now() - t0, writeMs };
  } finally {
    // The verification route is scaffolding: remove it whatever happened.
    await client.deleteRoute(routeId).catch(() => undefined);
  }
}
