// The runbook's "verify the whole HA" section: stop one gateway, one dashboard, one etcd member; each
// time the service behind the load balancer must keep working (for etcd: reads and writes through the
// control plane). Each fault is restored right after its check, in a non-cancellable scope.
import { proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { DeployActivities } from '../activities/deploy';
import type { EtcdMemberRef, FailoverActivities } from '../activities/failover';
import { controlPlaneHosts, dataPlaneHosts, etcdMembers, type ClusterSpec } from '../inventory/model';
import { apiTarget, quorumCheckInput, type ApiTarget, type ComponentStep, type Endpoints, type QuorumCheckInput } from '../plan/inputs';
import type { ProductFacts } from '../products/types';
import type { ProbeSettings } from '../reconcile/verify';
import { Compensations } from './compensations';
import { quick, restores, waits, withSummary } from './profiles';
import { Progress, messageOf, progressQuery } from './progress';
import { searchAttributes } from './search-attributes';
import type { FailoverCheck, FailoverResult } from './types';

const deploy = proxyActivities<DeployActivities>(quick);
const fault = proxyActivities<FailoverActivities>(quick);

export interface FailoverInput {
  cluster: string;
  endpoints: Endpoints;
  api: ApiTarget;
  probe: ProbeSettings;
  gateway?: ComponentStep;
  dashboard?: ComponentStep;
  etcd: { member: EtcdMemberRef; quorum: QuorumCheckInput };
}

/** Victims as in the runbook: the first gateway, the first dashboard (when there are two), the first etcd member. */
export function failoverInput(spec: ClusterSpec, _product: ProductFacts, endpoints: Endpoints, probe: ProbeSettings, cp: ComponentStep[], dp: ComponentStep[]): FailoverInput {
  const member = etcdMembers(spec)[0]!;
  const gateway = dp.find((s) => s.target.host === dataPlaneHosts(spec)[0]?.name);
  const dashboard = controlPlaneHosts(spec).length > 1 ? cp.find((s) => s.target.host === controlPlaneHosts(spec)[0]?.name) : undefined;
  return {
    cluster: spec.cluster.name,
    endpoints,
    api: apiTarget(spec, endpoints.controlPlane),
    probe,
    ...(gateway ? { gateway } : {}),
    ...(dashboard ? { dashboard } : {}),
    etcd: { member: { target: member.ssh, secrets: spec.secrets, containerName: spec.etcd.containerName }, quorum: quorumCheckInput(spec, 120) },
  };
}

const STEPS: [string, string][] = [
  ['gateway', 'Stop one API7-Gateway: the data plane LB keeps serving'],
  ['dashboard', 'Stop one API7-Dashboard: the control plane LB keeps serving'],
  ['etcd', 'Stop one etcd member: reads and writes through the control plane'],
];

export async function failoverVerification(input: FailoverInput): Promise<FailoverResult> {
  const progress = new Progress('failover', input.cluster, STEPS);
  setHandler(progressQuery, () => progress.state);
  upsertSearchAttributes([
    { key: searchAttributes.cluster, value: input.cluster },
    { key: searchAttributes.kind, value: 'failover' },
  ]);
  const checks: FailoverCheck[] = [];
  const dpProbe = { host: input.probe.host, path: input.probe.path, expectStatus: input.probe.expectStatus };

  const check = async (name: FailoverCheck['name'], victim: string, inject: () => Promise<void>, restore: () => Promise<void>, verify: () => Promise<string>) => {
    const saga = new Compensations();
    let restoredAt = 0;
    let result: FailoverCheck;
    try {
      const detail = await progress.run(name, () =>
        saga.withFault(name, inject, async () => {
          const t0 = Date.now();
          await restore();
          restoredAt = Date.now() - t0;
        }, verify),
      (d) => d);
      result = { name, victim, passed: true, detail, restored: saga.failures.length === 0, recoveryMs: restoredAt };
    } catch (e) {
      result = { name, victim, passed: false, detail: messageOf(e), restored: saga.failures.length === 0 };
    }
    if (saga.failures.length) result = { ...result, passed: false, detail: `${result.detail}; RESTORE FAILED: ${saga.failures.map((f) => f.error).join('; ')}` };
    checks.push(result);
    return result;
  };

  // 1. `docker compose down` on one gateway; the data plane load balancer keeps answering the probe.
  if (input.gateway) {
    const g = input.gateway;
    await check(
      'gateway',
      g.target.host,
      async () => void (await deploy.stopComponent.executeWithOptions(withSummary(quick, `${g.target.host}: docker compose down (gateway)`), [g])),
      () => restoreComponent(g),
      async () => {
        const r = await fault.checkDataPlaneServes.executeWithOptions(withSummary(quick, 'data plane LB: 20 probe requests'), [input.endpoints.dataPlane, dpProbe, 20, 100]);
        if (r.failures > 0) throw new Error(`${r.failures} of ${r.requests} requests failed (${JSON.stringify(r.statuses)})`);
        return `${r.requests}/${r.requests} requests served with ${g.target.host} down`;
      },
    );
  } else progress.skip('gateway', 'no gateway in the inventory');

  // 2. `docker compose down` on one dashboard; the control plane load balancer keeps reading and writing.
  if (input.dashboard) {
    const d = input.dashboard;
    await check(
      'dashboard',
      d.target.host,
      async () => void (await deploy.stopComponent.executeWithOptions(withSummary(quick, `${d.target.host}: docker compose down (dashboard)`), [d])),
      () => restoreComponent(d),
      async () => {
        const r = await fault.checkControlPlaneReadWrite.executeWithOptions(withSummary(waits, 'control plane LB: read and write a route'), [input.api, input.probe, { write: true, deadlineS: 15 }]);
        return `read and write through the control plane LB ${r.ms} ms after the stop`;
      },
    );
  } else progress.skip('dashboard', 'one control plane host: the runbook makes control plane HA optional');

  // 3. `docker stop etcd` on one member; reads and writes through the control plane succeed.
  const m = input.etcd.member;
  await check(
    'etcd',
    m.target.host,
    async () => void (await fault.stopEtcdMember.executeWithOptions(withSummary(quick, `${m.target.host}: docker stop ${m.containerName}`), [m])),
    async () => {
      await fault.startEtcdMember.executeWithOptions(withSummary(restores, `${m.target.host}: docker start ${m.containerName}`), [m]);
      await deploy.checkQuorum.executeWithOptions(withSummary(waits, 'etcd: every member back and healthy'), [input.etcd.quorum]);
    },
    async () => {
      const cp = await fault.checkControlPlaneReadWrite.executeWithOptions(withSummary(waits, 'control plane LB: read and write during the etcd fault'), [input.api, input.probe, { write: true, deadlineS: 20 }]);
      const dp = await fault.checkDataPlaneServes.executeWithOptions(withSummary(quick, 'data plane LB: 10 probe requests during the etcd fault'), [input.endpoints.dataPlane, dpProbe, 10, 100]);
      if (dp.failures > 0) throw new Error(`the data plane failed ${dp.failures} of ${dp.requests} requests with one etcd member down`);
      return `control plane read+write in ${cp.ms} ms; data plane ${dp.requests}/${dp.requests} with ${m.target.host}'s etcd down`;
    },
  );

  const passed = checks.every((c) => c.passed);
  progress.finish(passed ? 'done' : 'failed');
  return { passed, checks };

  async function restoreComponent(step: ComponentStep): Promise<void> {
    await deploy.startComponent.executeWithOptions(withSummary(restores, `${step.target.host}: docker compose up (restore)`), [step, false]);
    await deploy.waitComponentHealthy.executeWithOptions(withSummary(restores, `${step.target.host}: healthy again`), [step]);
  }
}
