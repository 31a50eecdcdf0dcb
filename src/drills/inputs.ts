// From a cluster, a scenario and a victim to the inputs of the drill's operations. Pure: the drill's
// runbook calls these, and tests read them.
import type { FaultTarget, RecoveryInput, SteadyStateInput } from './faults';
import type { ProbePlan, VictimCheck } from './probes';
import { controlPlaneHosts, dataPlaneHosts, etcdMembers, loadBalancerHosts, type ClusterSpec, type HostSpec } from '../inventory/model';
import { apiTarget, componentStep, endpointsOf, probeSettings, quorumCheckInput, type ComponentStep, type PackageInfo } from '../steps/inputs';
import type { ProductFacts } from '../products/types';
import { httpRoutes, type HttpRoute } from '../remote/routes';
import type { Victim } from './journal';
import { isHostFault, pickVictim, type Scenario } from './scenarios';

export interface DrillContext {
  spec: ClusterSpec;
  product: ProductFacts;
  packages: { controlPlane: PackageInfo; dataPlane: PackageInfo };
  stamp: string;
}

export const gatewayUrl = (d: DrillContext, h: HostSpec) => `http://${h.address}${d.product.dataPlane.httpPort === 80 ? '' : `:${d.product.dataPlane.httpPort}`}`;
export const dashboardUrl = (d: DrillContext, h: HostSpec) => `http://${h.address}:${d.product.controlPlane.port}`;

export function componentOf(d: DrillContext, h: HostSpec, c: 'control_plane' | 'data_plane'): ComponentStep {
  return componentStep(d.spec, h, c, c === 'control_plane' ? d.packages.controlPlane : d.packages.dataPlane, 'auto', d.stamp);
}

/** Hosts behind a jump host, for activities that speak HTTP to hosts (absent when there are none). */
export function routesOf(spec: ClusterSpec): { routes?: HttpRoute[] } {
  const routes = httpRoutes(spec.hosts);
  return routes.length ? { routes } : {};
}

export function steadyStateInput(d: DrillContext): SteadyStateInput {
  const p = probeSettings(d.spec);
  return {
    ...routesOf(d.spec),
    quorum: quorumCheckInput(d.spec, 30),
    gateways: dataPlaneHosts(d.spec).map((h) => ({ host: h.name, url: gatewayUrl(d, h) })),
    dashboards: controlPlaneHosts(d.spec).map((h) => ({ host: h.name, url: dashboardUrl(d, h) })),
    endpoints: endpointsOf(d.spec),
    probe: { host: p.host, path: p.path, expectStatus: p.expectStatus },
    cpHealthPath: d.product.controlPlane.health.path,
    dashboardHealthPath: d.product.controlPlane.health.path,
  };
}

export interface EtcdView {
  leaderName?: string;
  members: { name: string; healthy: boolean; isLeader: boolean }[];
}

/** The hosts a scenario may take as its victim, in inventory order. */
export function candidates(s: Scenario, spec: ClusterSpec, etcd: EtcdView): HostSpec[] {
  const byEtcdName = (names: string[]) => etcdMembers(spec).filter((h) => names.includes(h.etcdName ?? ''));
  switch (s.victim) {
    case 'data_plane':
      return dataPlaneHosts(spec);
    case 'control_plane':
      return controlPlaneHosts(spec).length > 1 ? controlPlaneHosts(spec) : [];
    case 'etcd-leader':
      return byEtcdName(etcd.members.filter((m) => m.isLeader).map((m) => m.name));
    case 'etcd-follower':
      return byEtcdName(etcd.members.filter((m) => !m.isLeader).map((m) => m.name));
    case 'etcd-any':
      return etcdMembers(spec);
    case 'any-host': {
      // Never the load balancer: it is the one single point of failure the runbook accepts.
      const lbs = new Set(loadBalancerHosts(spec).map((h) => h.name));
      return spec.hosts.filter((h) => !lbs.has(h.name));
    }
  }
}

export function chooseVictim(s: Scenario, spec: ClusterSpec, etcd: EtcdView, rotation: number, named?: string): { host?: HostSpec; why: string } {
  const list = candidates(s, spec, etcd);
  if (list.length === 0) return { why: s.victim === 'control_plane' ? 'only one control plane host: the runbook makes control plane HA optional' : `no ${s.victim} host to take` };
  const name = pickVictim(list.map((h) => h.name), rotation, named && list.some((h) => h.name === named) ? named : undefined);
  const host = list.find((h) => h.name === name);
  return host ? { host, why: named === name ? 'named' : `rotation ${rotation} of ${list.length}` } : { why: 'no candidate' };
}

export function victimOf(s: Scenario, h: HostSpec): Victim {
  const role = s.victim === 'data_plane' ? 'data_plane' : s.victim === 'control_plane' ? 'control_plane' : s.victim === 'any-host' ? 'host' : 'etcd';
  return { host: h.name, role, detail: `${h.address} (${h.roles.join(', ')})` };
}

export function faultTarget(d: DrillContext, s: Scenario, h: HostSpec): FaultTarget {
  const base = { kind: s.fault, host: h.name, address: h.address, target: h.ssh, secrets: d.spec.secrets };
  switch (s.fault) {
    case 'compose-down':
      return { ...base, component: componentOf(d, h, s.victim === 'control_plane' ? 'control_plane' : 'data_plane') };
    case 'etcd-stop':
      return { ...base, etcdContainer: d.spec.etcd.containerName };
    case 'power-off':
    case 'disconnect':
      return { ...base, ...(d.spec.drills.hostFaultDriver ? { driver: d.spec.drills.hostFaultDriver } : {}) };
  }
}

/** Why a scenario may not take this victim now, or undefined: never take etcd below quorum. */
export function quorumRefusal(s: Scenario, spec: ClusterSpec, victim: HostSpec, etcd: EtcdView): string | undefined {
  const losesEtcd = s.fault === 'etcd-stop' || (isHostFault(s.fault) && victim.roles.includes('etcd'));
  const members = etcdMembers(spec).length;
  const healthy = etcd.members.filter((m) => m.healthy).length;
  const quorum = Math.floor(members / 2) + 1;
  return losesEtcd && healthy - 1 < quorum ? `taking ${victim.name} would leave ${healthy - 1} of ${members} etcd members, below quorum (${quorum})` : undefined;
}

/** The gateways a route written during the fault must reach: all but a victim that is gone whole. */
export function reachableGateways(d: DrillContext, s: Scenario, victim: string): { host: string; url: string }[] {
  return dataPlaneHosts(d.spec)
    .filter((h) => !(isHostFault(s.fault) && h.name === victim))
    .map((h) => ({ host: h.name, url: gatewayUrl(d, h) }));
}

/** The gateway a scenario restarts while the fault holds: the first that is not the victim host. */
export function gatewayToRestart(d: DrillContext, victim: string): ComponentStep {
  const all = dataPlaneHosts(d.spec);
  return componentOf(d, all.find((h) => h.name !== victim) ?? all[0]!, 'data_plane');
}

/** What must be healthy again after the rollback: everything the victim host runs. */
export function recoveryInput(d: DrillContext, s: Scenario, h: HostSpec, extra: ComponentStep[] = []): RecoveryInput {
  const comps: ComponentStep[] = [];
  const whole = isHostFault(s.fault);
  if (h.roles.includes('control_plane') && (whole || s.victim === 'control_plane')) comps.push(componentOf(d, h, 'control_plane'));
  if (h.roles.includes('data_plane') && (whole || s.victim === 'data_plane')) comps.push(componentOf(d, h, 'data_plane'));
  const statsHost = loadBalancerHosts(d.spec)[0];
  return {
    ...routesOf(d.spec),
    components: [...comps, ...extra],
    ...(h.roles.includes('etcd') && (whole || s.fault === 'etcd-stop') ? { etcd: quorumCheckInput(d.spec, d.spec.drills.thresholds.recoveryDeadlineS) } : {}),
    ...(d.spec.loadBalancer.mode === 'managed' && statsHost ? { lbStatsUrl: `http://${statsHost.address}:${d.spec.loadBalancer.statsPort}/stats;csv` } : {}),
    host: h.name,
    deadlineS: d.spec.drills.thresholds.recoveryDeadlineS,
  };
}

function victimCheck(d: DrillContext, s: Scenario, h: HostSpec): VictimCheck {
  const p = probeSettings(d.spec);
  if (s.victim === 'data_plane' || (s.victim === 'any-host' && h.roles.includes('data_plane'))) return { kind: 'http', url: `${gatewayUrl(d, h)}${p.path}`, headers: { Host: p.host }, okStatus: [p.expectStatus] };
  if (s.victim === 'control_plane' || (s.victim === 'any-host' && h.roles.includes('control_plane') && !h.roles.includes('etcd')))
    return { kind: 'http', url: `${dashboardUrl(d, h)}${d.product.controlPlane.health.path}`, okStatus: [200] };
  const t = d.spec.etcd.tls;
  return {
    kind: 'etcd-health',
    url: `${t.enabled ? 'https' : 'http'}://${h.address}:${d.spec.etcd.clientPort}/health`,
    ...(t.enabled && t.caFile && t.clientCertFile && t.clientKeyFile ? { tls: { caFile: t.caFile, certFile: t.clientCertFile, keyFile: t.clientKeyFile } } : {}),
  };
}

export function probePlan(d: DrillContext, s: Scenario, h: HostSpec, maxDurationS: number): ProbePlan {
  const e = endpointsOf(d.spec);
  const p = probeSettings(d.spec);
  return {
    ...routesOf(d.spec),
    ratePerS: d.spec.drills.probeRatePerS,
    maxDurationS,
    ...(s.probes.includes('dp') ? { dp: { url: e.dataPlane, host: p.host, path: p.path, expectStatus: p.expectStatus } } : {}),
    ...(s.probes.includes('cp') ? { cp: { api: apiTarget(d.spec, e.controlPlane), probe: p } } : {}),
    victim: victimCheck(d, s, h),
  };
}
