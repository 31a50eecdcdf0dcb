// Faults and their rollbacks, the steady-state check, recovery waits and the actions a scenario takes
// while a fault holds. Activity-side (I/O); the workflow decides when, these decide how.
import * as docker from '../commands/docker';
import type { HostFaultDriverSpec, SshTarget } from '../inventory/model';
import type { ApiTarget, ComponentStep, Endpoints, ProbeSettings, QuorumCheckInput, Secrets } from '../steps/inputs';
import { inspectContainer } from '../reconcile/containers';
import * as component from '../reconcile/component';
import { PermanentError, pollUntil, sleep, type StepContext } from '../reconcile/context';
import { readQuorum, waitForQuorum, type QuorumReport } from '../reconcile/etcd';
import { DashboardClient, http, looksLikeUpstream } from '../reconcile/http';
import { probeRoute } from '../reconcile/verify';
import type { HostExecutor } from '../remote/executor';
import type { HttpRoute } from '../remote/routes';
import { addHttpRoutes } from '../remote/ssh';
import type { FaultDrivers } from './drivers';
import type { FaultKind } from './scenarios';

export interface FaultTarget {
  kind: FaultKind;
  host: string;
  target: SshTarget;
  secrets: Secrets;
  /** compose-down: the victim's component. */
  component?: ComponentStep;
  /** etcd-stop: the member's container. */
  etcdContainer?: string;
  /** power-off / disconnect: the inventory's host-fault driver. */
  driver?: HostFaultDriverSpec;
  address: string;
}

export interface Timed {
  startedAt: number;
  endedAt: number;
  detail: string;
}

/** What a fault needs besides the victim: executors for its hosts, and the worker's host-fault drivers. */
export interface FaultTools {
  exec: (t: SshTarget) => HostExecutor;
  drivers: FaultDrivers;
}

/** A whole-host fault or its undo, through the inventory's driver. */
async function hostFault(tools: FaultTools, f: FaultTarget, action: 'power-off' | 'power-on' | 'disconnect' | 'reconnect', signal?: AbortSignal): Promise<string> {
  if (!f.driver) throw new PermanentError(`${f.host}: ${f.kind} needs a host-fault driver (drills.host_faults); none is configured`, 'NoFaultDriver');
  return tools.drivers.create(f.driver).run(action, { name: f.host, address: f.address }, signal);
}

export async function injectFault(tools: FaultTools, ctx: Omit<StepContext, 'exec'>, f: FaultTarget): Promise<Timed> {
  const startedAt = Date.now();
  let detail: string;
  switch (f.kind) {
    case 'compose-down': {
      const step = f.component!;
      await component.stopComponent({ ...ctx, exec: tools.exec(f.target) }, step);
      detail = `docker compose down in ${step.packageDir}`;
      break;
    }
    case 'etcd-stop': {
      const x = tools.exec(f.target);
      await x.run(docker.stop(f.etcdContainer!));
      detail = `docker stop ${f.etcdContainer}`;
      break;
    }
    case 'power-off':
    case 'disconnect':
      detail = await hostFault(tools, f, f.kind, ctx.signal);
      break;
  }
  return { startedAt, endedAt: Date.now(), detail };
}

export async function rollbackFault(tools: FaultTools, ctx: Omit<StepContext, 'exec'>, f: FaultTarget): Promise<Timed> {
  const startedAt = Date.now();
  let detail: string;
  switch (f.kind) {
    case 'compose-down':
      await component.startComponent({ ...ctx, exec: tools.exec(f.target) }, f.component!, false);
      detail = `docker compose up -d in ${f.component!.packageDir}`;
      break;
    case 'etcd-stop': {
      const x = tools.exec(f.target);
      const c = await inspectContainer(x, f.etcdContainer!);
      if (c && !c.running) await x.run(docker.start(f.etcdContainer!));
      detail = `docker start ${f.etcdContainer}`;
      break;
    }
    case 'power-off':
      detail = await hostFault(tools, f, 'power-on', ctx.signal);
      break;
    case 'disconnect':
      detail = await hostFault(tools, f, 'reconnect', ctx.signal);
      break;
  }
  return { startedAt, endedAt: Date.now(), detail };
}

// ---- steady state -----------------------------------------------------------------------------

export interface SteadyStateInput {
  /** Hosts behind a jump host (HTTP to them goes through it). */
  routes?: HttpRoute[];
  quorum: QuorumCheckInput;
  gateways: { host: string; url: string }[];
  dashboards: { host: string; url: string }[];
  endpoints: Endpoints;
  probe: Pick<ProbeSettings, 'host' | 'path' | 'expectStatus'>;
  cpHealthPath: string;
  dashboardHealthPath: string;
}

export interface SteadyState {
  ok: boolean;
  problems: string[];
  quorum: Pick<QuorumReport, 'healthy' | 'leaderName' | 'term'> & { members: { name: string; healthy: boolean; isLeader: boolean }[] };
  checkedAt: number;
}

/** The estate as an operator expects it before (and after) a fault: every piece healthy. */
export async function steadyState(exec: (t: SshTarget) => HostExecutor, input: SteadyStateInput): Promise<SteadyState> {
  addHttpRoutes(input.routes);
  const problems: string[] = [];
  const q = await readQuorum(exec, input.quorum).catch((e: Error) => ({ healthy: false, problems: [e.message], members: [] }) as QuorumReport);
  if (!q.healthy) problems.push(`etcd: ${q.problems.join('; ')}`);
  const probe = (url: string) => http(`${url}${input.probe.path}`, { headers: { Host: input.probe.host }, timeoutMs: 2000 });
  await Promise.all([
    ...input.gateways.map(async (g) => {
      const r = await probe(g.url);
      if (r.status !== input.probe.expectStatus) problems.push(`gateway ${g.host} answers the probe with ${r.error ?? r.status}`);
    }),
    ...input.dashboards.map(async (d) => {
      const r = await http(`${d.url}${input.dashboardHealthPath}`, { timeoutMs: 2000 });
      if (r.status !== 200) problems.push(`dashboard ${d.host}: ${r.error ?? r.status}`);
    }),
    (async () => {
      const r = await probe(input.endpoints.dataPlane);
      if (r.status !== input.probe.expectStatus || (input.probe.expectStatus === 200 && !looksLikeUpstream(r.body))) problems.push(`data plane LB: ${r.error ?? r.status}`);
    })(),
    (async () => {
      const r = await http(`${input.endpoints.controlPlane}${input.cpHealthPath}`, { timeoutMs: 2000 });
      if (r.status !== 200) problems.push(`control plane LB: ${r.error ?? r.status}`);
    })(),
  ]);
  return {
    ok: problems.length === 0,
    problems,
    quorum: {
      healthy: q.healthy,
      ...(q.leaderName ? { leaderName: q.leaderName } : {}),
      ...(q.term ? { term: q.term } : {}),
      members: q.members.map((m) => ({ name: m.name, healthy: m.healthy, isLeader: m.isLeader })),
    },
    checkedAt: Date.now(),
  };
}

// ---- recovery ----------------------------------------------------------------------------------

export interface RecoveryInput {
  routes?: HttpRoute[];
  /** Everything the victim host runs that must be healthy again. */
  components: ComponentStep[];
  etcd?: QuorumCheckInput;
  /** HAProxy's stats CSV, to see the victim back in rotation (managed load balancers). */
  lbStatsUrl?: string;
  host: string;
  deadlineS: number;
}

/** HAProxy says the server named `host` is UP in every backend that lists it. */
export async function inRotation(statsUrl: string, host: string): Promise<boolean> {
  const r = await http(statsUrl, { timeoutMs: 2000 });
  if (r.status !== 200) return false;
  const rows = r.body.split('\n').map((l) => l.split(','));
  const header = rows[0] ?? [];
  const status = header.indexOf('status');
  const mine = rows.filter((c) => c[1] === host);
  return mine.length > 0 && mine.every((c) => (c[status] ?? '').startsWith('UP'));
}

export async function waitRecovered(exec: (t: SshTarget) => HostExecutor, ctx: Omit<StepContext, 'exec'>, input: RecoveryInput): Promise<Timed> {
  addHttpRoutes(input.routes);
  const startedAt = Date.now();
  const done: string[] = [];
  if (input.etcd) {
    await waitForQuorum(ctx, exec, { ...input.etcd, deadlineS: input.deadlineS });
    done.push('etcd quorum with every member healthy');
  }
  for (const c of input.components) {
    await component.waitComponentHealthy({ ...ctx, exec: exec(c.target) }, { ...c, healthDeadlineS: input.deadlineS });
    done.push(`${c.component === 'data_plane' ? 'gateway' : 'dashboard'} healthy`);
  }
  if (input.lbStatsUrl && input.components.length) {
    // Every host whose dashboard or gateway was waited on must be an UP backend again.
    const url = input.lbStatsUrl;
    const hosts = [...new Set(input.components.map((c) => c.target.host))];
    await pollUntil(ctx, `${hosts.join(', ')} back in the load balancer's rotation`, input.deadlineS * 1000, 100, async () => {
      const down: string[] = [];
      for (const h of hosts) if (!(await inRotation(url, h))) down.push(h);
      return down.length === 0 ? { done: true, value: true } : { done: false, reason: `${down.join(', ')} not UP in HAProxy yet` };
    });
    done.push('back in rotation');
  }
  return { startedAt, endedAt: Date.now(), detail: done.join(', ') || 'nothing to wait for' };
}

// ---- actions during a fault -----------------------------------------------------------------------

export interface ActionResult extends Timed {
  ok: boolean;
}

export interface RouteDuringFault {
  api: ApiTarget;
  gateways: { host: string; url: string }[];
  probe: ProbeSettings;
  nonce: string;
  deadlineS: number;
  routes?: HttpRoute[];
}

/** Write a route through the control plane LB; every reachable gateway must serve it. */
export async function writeRouteReachesGateways(ctx: Omit<StepContext, 'exec'>, input: RouteDuringFault): Promise<ActionResult> {
  addHttpRoutes(input.routes);
  const startedAt = Date.now();
  const client = new DashboardClient(input.api, { timeoutMs: 3000 });
  const id = `api7-ha-drill-${input.nonce}`;
  const host = `${input.nonce}.drill.api7-ha.invalid`;
  try {
    await pollUntil(ctx, 'write a route through the control plane LB', input.deadlineS * 1000, 200, async () => {
      if (!client.hasToken) {
        const l = await client.login();
        if (l.status !== 200) return { done: false, reason: `login: ${l.error ?? l.status}` };
      }
      const r = await client.putRoute(id, { ...probeRoute(input.probe, `api7-ha drill ${input.nonce}`), host });
      return r.status === 200 || r.status === 201 ? { done: true, value: true } : { done: false, reason: `${r.error ?? r.status} ${r.body.slice(0, 100)}` };
    });
    const written = Date.now();
    const missing = new Set(input.gateways.map((g) => g.host));
    await pollUntil(ctx, `route ${id} on every gateway`, input.deadlineS * 1000, 100, async () => {
      await Promise.all(
        input.gateways
          .filter((g) => missing.has(g.host))
          .map(async (g) => {
            const r = await http(`${g.url}${input.probe.path}`, { headers: { Host: host }, timeoutMs: 1500 });
            if (r.status === input.probe.expectStatus && looksLikeUpstream(r.body)) missing.delete(g.host);
          }),
      );
      return missing.size === 0 ? { done: true, value: true } : { done: false, reason: `not yet on ${[...missing].join(', ')}` };
    });
    return { ok: true, startedAt, endedAt: Date.now(), detail: `written after ${written - startedAt} ms, served by ${input.gateways.map((g) => g.host).join(', ')} ${Date.now() - written} ms later` };
  } catch (e) {
    return { ok: false, startedAt, endedAt: Date.now(), detail: (e as Error).message };
  } finally {
    await client.deleteRoute(id).catch(() => undefined);
  }
}

/** Restart a gateway (down, then up): it must come back and serve. */
export async function restartGateway(exec: (t: SshTarget) => HostExecutor, ctx: Omit<StepContext, 'exec'>, step: ComponentStep, deadlineS: number): Promise<ActionResult> {
  const startedAt = Date.now();
  const c = { ...ctx, exec: exec(step.target) };
  try {
    await component.stopComponent(c, step);
    await sleep(500, ctx.signal);
    await component.startComponent(c, step, false);
    const h = await component.waitComponentHealthy(c, { ...step, healthDeadlineS: deadlineS });
    return { ok: true, startedAt, endedAt: Date.now(), detail: `${step.target.host} restarted and served the probe again after ${Date.now() - startedAt} ms (healthy ${h.ms} ms after start)` };
  } catch (e) {
    // Leave it running if at all possible: the rollback of this scenario does not cover this gateway.
    await component.startComponent(c, step, false).catch(() => undefined);
    return { ok: false, startedAt, endedAt: Date.now(), detail: `${step.target.host}: ${(e as Error).message}` };
  }
}
