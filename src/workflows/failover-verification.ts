// failoverVerification: the runbook's "verify the whole HA" section grown into a drill engine.
// Per scenario (Chaos Toolkit style): steady-state hypothesis, probes started, fault injected, actions
// while it holds, rollback (always, non-cancellable), recovery, steady state again; the run returns a
// journal. The deploy runs the runbook's three scenarios as its last step; `api7-ha drill` and the
// nightly schedule run any set of them.
import { ApplicationFailure, CancellationScope, CancelledFailure, isCancellation, proxyActivities, setHandler, sleep, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { DeployActivities } from '../activities/deploy';
import type { DrillActivities, DrillControl } from '../activities/drill';
import { dataPlaneHosts, etcdMembers, hostByName, type ClusterSpec } from '../inventory/model';
import { artifactPaths, apiTarget, endpointsOf, type ComponentStep } from '../plan/inputs';
import type { ProductFacts } from '../products/types';
import type { DrillJournal, JournalAction, ScenarioId, ScenarioJournal, Verdict } from '../drills/journal';
import { memoOf } from '../drills/journal';
import { judgeHypotheses, resilienceScore, scenarioMetrics } from '../drills/metrics';
import { chooseVictim, componentOf, faultTarget, gatewayUrl, probePlan, probeSettings, recoveryInput, routesOf, steadyStateInput, victimOf, type DrillContext } from '../drills/plan';
import { SCENARIOS, type Scenario } from '../drills/scenarios';
import type { SteadyState } from '../drills/faults';
import { acquireClusterLock, releaseClusterLock } from './cluster-lock';
import { Compensations } from './compensations';
import { quick, restores, transfer, waits, withSummary } from './profiles';
import { Progress, messageOf, progressQuery } from './progress';
import { searchAttributes } from './search-attributes';
import { defineQuery } from '@temporalio/workflow';

const deploy = proxyActivities<DeployActivities>(quick);
const drill = proxyActivities<DrillActivities>(quick);

/** Probes are not retried (a retry would lose the samples); they heartbeat and stop on request. */
const probing = { startToCloseTimeout: '2 hours', heartbeatTimeout: '15 seconds', retry: { maximumAttempts: 1 } } as const;

export const drillControlQuery = defineQuery<DrillControl>('drillControl');

export interface DrillInput {
  spec: ClusterSpec;
  product: ProductFacts;
  scenarios: ScenarioId[];
  /** A named victim host, used by every scenario it can be a victim of. */
  victim?: string;
  kind: DrillJournal['kind'];
  /** Take the cluster lock (a drill on its own); the deploy's check runs under the deploy's lock. */
  lock: boolean;
  timing?: { baselineS: number; holdS: number; afterS: number };
}

export async function failoverVerification(input: DrillInput): Promise<DrillJournal> {
  const { spec } = input;
  const started = Date.now();
  const control: DrillControl = { stopProbes: [] };
  const progress = new Progress(input.kind === 'drill' ? 'drill' : 'failover', spec.cluster.name, input.scenarios.map((id) => [id, SCENARIOS[id].title]));
  setHandler(progressQuery, () => progress.state);
  setHandler(drillControlQuery, () => control);
  upsertSearchAttributes([
    { key: searchAttributes.cluster, value: spec.cluster.name },
    { key: searchAttributes.kind, value: input.kind === 'drill' ? 'drill' : 'failover' },
  ]);
  const timing = input.timing ?? { baselineS: 2, holdS: spec.drills.holdS, afterS: 2 };
  const scenarios: ScenarioJournal[] = [];
  const journal = (verdict: Verdict, summary: string): DrillJournal => ({
    workflowId: workflowInfo().workflowId,
    runId: workflowInfo().runId,
    cluster: spec.cluster.name,
    product: spec.product,
    kind: input.kind,
    startedAt: started,
    endedAt: Date.now(),
    thresholds: spec.drills.thresholds,
    probeRatePerS: spec.drills.probeRatePerS,
    scenarios,
    verdict,
    score: resilienceScore(scenarios),
    summary,
  });
  const finish = (j: DrillJournal) => {
    upsertMemo({ drill: memoOf(j) });
    upsertSearchAttributes([
      { key: searchAttributes.verdict, value: j.verdict },
      { key: searchAttributes.score, value: j.score },
    ]);
    progress.finish(j.verdict === 'passed' ? 'done' : 'failed', j.verdict === 'passed' ? undefined : j.summary);
    return j;
  };

  let lock: Awaited<ReturnType<typeof acquireClusterLock>> | undefined;
  try {
    if (input.lock) lock = await acquireClusterLock(spec.cluster.name, 'drill');
    const artifacts = await deploy.inspectArtifacts.executeWithOptions(withSummary(transfer, 'worker: the packages (installed package folders)'), [artifactPaths(spec)]);
    const d: DrillContext = { spec, product: input.product, packages: { controlPlane: artifacts.controlPlane, dataPlane: artifacts.dataPlane }, stamp: workflowInfo().startTime.toISOString() };
    const rotation = input.kind === 'drill' && !input.victim ? await drill.pastDrillCount.executeWithOptions(withSummary(quick, 'rotation: drills so far'), [spec.cluster.name]) : 0;

    // Steady state first: never inject into an estate that is already degraded.
    const first = await steadyState(d);
    if (!first.ok)
      throw ApplicationFailure.nonRetryable(`refused: the estate is not in its steady state, so no fault was injected: ${first.problems.join('; ')}`, 'SteadyStateViolated', first.problems);

    let steady: SteadyState | undefined = first;
    for (const id of input.scenarios) {
      const s = SCENARIOS[id];
      const j = await progress.run(id, () => runScenario(d, s, steady, rotation), (r) => `${r.status}${r.victim ? ` (${r.victim.host})` : ''}`);
      scenarios.push(j);
      steady = undefined;
      if (j.status === 'refused' && j.error?.startsWith('steady state')) break;
    }
    const failed = scenarios.filter((s) => s.status !== 'passed' && s.status !== 'refused');
    const verdict: Verdict = failed.length === 0 && scenarios.some((s) => s.status === 'passed') ? 'passed' : 'failed';
    const summary = scenarios.map((s) => `${s.id}: ${s.status}${s.victim ? ` (${s.victim.host})` : ''}`).join(', ');
    return finish(journal(verdict, summary));
  } catch (e) {
    const verdict: Verdict = isCancellation(e) ? 'cancelled' : e instanceof ApplicationFailure && e.type === 'SteadyStateViolated' ? 'refused' : 'failed';
    finish(journal(verdict, messageOf(e)));
    // A cancellation that reached us through an activity or timer still ends the run as CANCELLED.
    if (isCancellation(e) && !(e instanceof CancelledFailure)) throw new CancelledFailure(`drill cancelled; every fault was rolled back (${messageOf(e)})`);
    throw e;
  } finally {
    const held = lock;
    if (held) await CancellationScope.nonCancellable(() => releaseClusterLock(held));
  }

  async function steadyState(d: DrillContext): Promise<SteadyState> {
    return drill.steadyState.executeWithOptions(withSummary(quick, 'steady state: etcd, gateways, dashboards, load balancers'), [steadyStateInput(d), spec.secrets]);
  }

  async function runScenario(d: DrillContext, s: Scenario, known: SteadyState | undefined, rotation: number): Promise<ScenarioJournal> {
    const actions: JournalAction[] = [];
    const j: ScenarioJournal = { id: s.id, title: s.title, status: 'passed', actions, probes: [], metrics: { probes: {} }, hypotheses: [] };
    const refuse = (why: string) => ({ ...j, status: 'refused' as const, error: why });

    if (s.hostFault && !spec.drills.hostFaultDriver) return refuse('needs a host fault driver (drills.host_faults); none is configured for this estate');
    const before = known ?? (await steadyState(d));
    actions.push({ kind: 'steady-state', name: 'steady state before', startedAt: before.checkedAt, endedAt: before.checkedAt, ok: before.ok, detail: before.ok ? 'every component healthy' : before.problems.join('; ') });
    if (!before.ok) return refuse(`steady state violated: ${before.problems.join('; ')}`);

    const pick = chooseVictim(s, spec, before.quorum, rotation + input.scenarios.indexOf(s.id), input.victim);
    if (!pick.host) return refuse(pick.why);
    const victim = pick.host;
    j.victim = victimOf(s, victim);

    // Never take etcd below quorum: the victim may be the only member down.
    const losesEtcd = s.fault === 'etcd-stop' || ((s.fault === 'power-off' || s.fault === 'disconnect') && victim.roles.includes('etcd'));
    const healthy = before.quorum.members.filter((m) => m.healthy).length;
    const quorum = Math.floor(etcdMembers(spec).length / 2) + 1;
    if (losesEtcd && healthy - 1 < quorum) return refuse(`taking ${victim.name} would leave ${healthy - 1} of ${etcdMembers(spec).length} etcd members, below quorum (${quorum})`);

    const maxS = timing.baselineS + timing.holdS + timing.afterS + spec.drills.thresholds.recoveryDeadlineS + 120;
    const probes = drill.runProbes.executeWithOptions({ ...probing, summary: `${s.id}: probes at ${spec.drills.probeRatePerS}/s` }, [s.id, probePlan(d, s, victim, maxS)]);
    probes.catch(() => undefined); // awaited below; a cancellation must not surface as unhandled
    const fault = faultTarget(d, s, victim);
    const extraRecovery: ComponentStep[] = [];
    const saga = new Compensations();
    try {
      await sleep(timing.baselineS * 1000);
      await saga.withFault(
        s.id,
        async () => {
          const t = await drill.injectFault.executeWithOptions(withSummary(quick, `${victim.name}: ${s.fault}`), [fault]);
          actions.push({ kind: 'fault', name: s.fault, host: victim.name, ...t, ok: true });
          j.faultWindow = { start: t.startedAt, end: t.endedAt };
        },
        async () => {
          const r = await drill.rollbackFault.executeWithOptions(withSummary(restores, `${victim.name}: roll back ${s.fault}`), [fault]);
          actions.push({ kind: 'rollback', name: `undo ${s.fault}`, host: victim.name, ...r, ok: true });
          if (j.faultWindow) j.faultWindow.end = r.endedAt;
          try {
            const rec = await drill.waitRecovered.executeWithOptions(withSummary(waits, `${victim.name}: healthy and back in rotation`), [recoveryInput(d, s, victim, extraRecovery), spec.secrets]);
            actions.push({ kind: 'recovery', name: 'recovered', host: victim.name, ...rec, ok: true });
          } catch (e) {
            actions.push({ kind: 'recovery', name: 'recovered', host: victim.name, startedAt: r.endedAt, endedAt: Date.now(), ok: false, detail: messageOf(e) });
            throw e;
          }
        },
        async () => {
          for (const action of s.during) actions.push(await during(d, s, action, victim.name, extraRecovery));
          await sleep(timing.holdS * 1000);
        },
      );
      await sleep(timing.afterS * 1000);
    } catch (e) {
      if (isCancellation(e)) throw e;
      j.status = 'error';
      j.error = messageOf(e);
    } finally {
      control.stopProbes.push(s.id);
    }
    try {
      j.probes = await probes;
    } catch (e) {
      if (isCancellation(e)) throw e;
      j.status = 'error';
      j.error = `${j.error ? `${j.error}; ` : ''}probes: ${messageOf(e)}`;
    }
    j.metrics = scenarioMetrics(j.probes, actions, j.faultWindow);
    j.hypotheses = judgeHypotheses(s, j.metrics, actions, spec.drills.thresholds);
    if (j.status === 'passed' && j.hypotheses.some((h) => !h.ok)) j.status = 'failed';
    if (saga.failures.length) {
      j.status = 'error';
      j.error = `ROLLBACK FAILED: ${saga.failures.map((f) => f.error).join('; ')}`;
    }
    const after = await steadyState(d);
    actions.push({ kind: 'steady-state', name: 'steady state after', startedAt: after.checkedAt, endedAt: after.checkedAt, ok: after.ok, detail: after.ok ? 'every component healthy again' : after.problems.join('; ') });
    if (!after.ok && j.status === 'passed') j.status = 'failed';
    return j;
  }

  async function during(d: DrillContext, s: Scenario, action: Scenario['during'][number], victim: string, extraRecovery: ComponentStep[]): Promise<JournalAction> {
    if (action === 'write-route-reaches-gateways') {
      // A partitioned or powered-off victim cannot be asked; every other gateway must serve the route.
      const gateways = dataPlaneHosts(spec)
        .filter((h) => !((s.fault === 'power-off' || s.fault === 'disconnect') && h.name === victim))
        .map((h) => ({ host: h.name, url: gatewayUrl(d, h) }));
      const r = await drill.writeRouteReachesGateways.executeWithOptions(withSummary(waits, `${s.id}: write a route during the fault`), [
        { api: apiTarget(spec, endpointsOf(spec).controlPlane), gateways, probe: probeSettings(spec), nonce: `${workflowInfo().runId.slice(0, 8)}-${s.id}`, deadlineS: 30, ...routesOf(spec) },
      ]);
      return { kind: 'action', name: action, ...r };
    }
    // restart-gateway: the first gateway that is not the victim host.
    const gw = dataPlaneHosts(spec).find((h) => h.name !== victim) ?? hostByName(spec, dataPlaneHosts(spec)[0]!.name);
    const step = componentOf(d, gw, 'data_plane');
    extraRecovery.push(step);
    const r = await drill.restartGateway.executeWithOptions(withSummary(waits, `${gw.name}: restart the gateway during the fault`), [step, 60]);
    return { kind: 'action', name: action, host: gw.name, ...r };
  }
}
