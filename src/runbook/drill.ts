// The runbook's "verify the whole HA" section grown into a drill engine. Per scenario (Chaos Toolkit
// style): steady-state hypothesis, probes started, fault injected, actions while it holds, rollback
// (always, not cancellable), recovery, steady state again. The run returns a journal. The deploy runs
// the runbook's three scenarios as its last step; `api7-ha drill` and the nightly schedule run any set.
import type { DrillControl } from '../contracts';
import {
  chooseVictim,
  faultTarget,
  gatewayToRestart,
  probePlan,
  quorumRefusal,
  reachableGateways,
  recoveryInput,
  routesOf,
  steadyStateInput,
  victimOf,
  type DrillContext,
} from '../drills/inputs';
import type { SteadyState } from '../drills/faults';
import type { DrillJournal, JournalAction, ScenarioId, ScenarioJournal } from '../drills/journal';
import { judgeHypotheses, scenarioMetrics } from '../drills/metrics';
import { SCENARIOS, isHostFault, type Scenario } from '../drills/scenarios';
import { apiTarget, artifactPaths, endpointsOf, probeSettings, type ComponentStep } from '../steps/inputs';
import { Compensations } from './compensations';
import { drillJournal, drillSummary, drillVerdict, scenarioSummary, steadyStateAction } from './drill-result';
import { failureType, messageOf, type Runner, type Step } from './runner';
import type { DrillInput } from './types';

/** A drill ready to run: one step per scenario in the order asked for, and what it tells its probes. */
export interface DrillRun {
  steps: { id: ScenarioId; title: string }[];
  /** Probes ask for it while they run (on Temporal: the drillControl query). */
  control: DrillControl;
  run(r: Runner<ScenarioId>): Promise<{ journal: DrillJournal; error?: unknown }>;
}

export function drillRun(input: DrillInput): DrillRun {
  const control: DrillControl = { stopProbes: [] };
  return { steps: input.scenarios.map((id) => ({ id, title: SCENARIOS[id].title })), control, run: (r) => drill(r, input, control) };
}

interface Scene {
  d: DrillContext;
  scenario: Scenario;
  /** The steady state already checked just before (the first scenario's). */
  known: SteadyState | undefined;
  rotation: number;
  control: DrillControl;
}

/** The journal, and the failure that ended the drill early (refused, cancelled), if any. */
async function drill(r: Runner<ScenarioId>, input: DrillInput, control: DrillControl): Promise<{ journal: DrillJournal; error?: unknown }> {
  const { spec } = input;
  const started = Date.now();
  const scenarios: ScenarioJournal[] = [];
  try {
    const artifacts = await r.inspectArtifacts(artifactPaths(spec));
    const d: DrillContext = { spec, product: input.product, packages: { controlPlane: artifacts.controlPlane, dataPlane: artifacts.dataPlane }, stamp: r.stamp };
    const rotation = input.kind === 'drill' && !input.victim ? await r.pastDrillCount(spec.cluster.name) : 0;

    // Steady state first: never inject into an estate that is already degraded.
    const first = await r.steadyState(steadyStateInput(d), spec.secrets);
    if (!first.ok) r.block(`refused: the estate is not in its steady state, so no fault was injected: ${first.problems.join('; ')}`, 'SteadyStateViolated', first.problems);

    let known: SteadyState | undefined = first;
    for (const [i, id] of input.scenarios.entries()) {
      const j = await r.step(id, (s) => scenario(r, s, input, { d, scenario: SCENARIOS[id], known, rotation: rotation + i, control }), scenarioSummary);
      scenarios.push(j);
      known = undefined;
      if (j.status === 'refused' && j.error?.startsWith('steady state')) break;
    }
    return { journal: drillJournal(r, input, started, scenarios, drillVerdict(scenarios), drillSummary(scenarios)) };
  } catch (e) {
    const verdict = r.isCancellation(e) ? 'cancelled' : failureType(e) === 'SteadyStateViolated' ? 'refused' : 'failed';
    return { journal: drillJournal(r, input, started, scenarios, verdict, messageOf(e)), error: e };
  }
}

async function scenario(r: Runner<ScenarioId>, s: Step, input: DrillInput, { d, scenario: sc, known, rotation, control }: Scene): Promise<ScenarioJournal> {
  const { spec } = d;
  const timing = input.timing ?? { baselineS: 2, holdS: spec.drills.holdS, afterS: 2 };
  const actions: JournalAction[] = [];
  const j: ScenarioJournal = { id: sc.id, title: sc.title, status: 'passed', actions, probes: [], metrics: { probes: {} }, hypotheses: [] };
  const refuse = (why: string): ScenarioJournal => ({ ...j, status: 'refused', error: why });

  if (isHostFault(sc.fault) && !spec.drills.hostFaultDriver) return refuse('needs a host fault driver (drills.host_faults); none is configured for this estate');
  const before = known ?? (await s.steadyState(steadyStateInput(d), spec.secrets));
  actions.push(steadyStateAction('steady state before', before, 'every component healthy'));
  if (!before.ok) return refuse(`steady state violated: ${before.problems.join('; ')}`);

  const pick = chooseVictim(sc, spec, before.quorum, rotation, input.victim);
  if (!pick.host) return refuse(pick.why);
  const victim = pick.host;
  j.victim = victimOf(sc, victim);
  const belowQuorum = quorumRefusal(sc, spec, victim, before.quorum);
  if (belowQuorum) return refuse(belowQuorum);

  const maxS = timing.baselineS + timing.holdS + timing.afterS + spec.drills.thresholds.recoveryDeadlineS + 120;
  const probes = s.runProbes(sc.id, probePlan(d, sc, victim, maxS));
  probes.catch(() => undefined); // awaited below; a cancellation must not surface as unhandled
  const fault = faultTarget(d, sc, victim);
  const extraRecovery: ComponentStep[] = [];
  const saga = new Compensations(r);
  try {
    await r.sleep(timing.baselineS * 1000);
    await saga.withFault(
      sc.id,
      async () => {
        const t = await s.injectFault(fault);
        actions.push({ kind: 'fault', name: sc.fault, host: victim.name, ...t, ok: true });
        j.faultWindow = { start: t.startedAt, end: t.endedAt };
      },
      async () => {
        const t = await s.rollbackFault(fault);
        actions.push({ kind: 'rollback', name: `undo ${sc.fault}`, host: victim.name, ...t, ok: true });
        if (j.faultWindow) j.faultWindow.end = t.endedAt;
        try {
          const rec = await s.waitRecovered(recoveryInput(d, sc, victim, extraRecovery), spec.secrets);
          actions.push({ kind: 'recovery', name: 'recovered', host: victim.name, ...rec, ok: true });
        } catch (e) {
          actions.push({ kind: 'recovery', name: 'recovered', host: victim.name, startedAt: t.endedAt, endedAt: Date.now(), ok: false, detail: messageOf(e) });
          throw e;
        }
      },
      async () => {
        for (const action of sc.during) actions.push(await during(s, d, sc, action, victim.name, extraRecovery, r.runId.slice(0, 8)));
        await r.sleep(timing.holdS * 1000);
      },
    );
    await r.sleep(timing.afterS * 1000);
  } catch (e) {
    if (r.isCancellation(e)) throw e;
    j.status = 'error';
    j.error = messageOf(e);
  } finally {
    control.stopProbes.push(sc.id);
  }
  try {
    j.probes = await probes;
  } catch (e) {
    if (r.isCancellation(e)) throw e;
    j.status = 'error';
    j.error = `${j.error ? `${j.error}; ` : ''}probes: ${messageOf(e)}`;
  }
  j.metrics = scenarioMetrics(j.probes, actions, j.faultWindow);
  j.hypotheses = judgeHypotheses(sc, j.metrics, actions, spec.drills.thresholds);
  if (j.status === 'passed' && j.hypotheses.some((h) => !h.ok)) j.status = 'failed';
  if (saga.failures.length) {
    j.status = 'error';
    j.error = `ROLLBACK FAILED: ${saga.failures.map((f) => f.error).join('; ')}`;
  }
  const after = await s.steadyState(steadyStateInput(d), spec.secrets);
  actions.push(steadyStateAction('steady state after', after, 'every component healthy again'));
  if (!after.ok && j.status === 'passed') j.status = 'failed';
  return j;
}

/** What a scenario does while its fault holds. */
async function during(s: Step, d: DrillContext, sc: Scenario, action: Scenario['during'][number], victim: string, extraRecovery: ComponentStep[], nonce: string): Promise<JournalAction> {
  if (action === 'write-route-reaches-gateways') {
    // A powered-off or partitioned victim cannot be asked; every other gateway must serve the route.
    const api = apiTarget(d.spec, endpointsOf(d.spec).controlPlane);
    const r = await s.writeRouteReachesGateways({ api, gateways: reachableGateways(d, sc, victim), probe: probeSettings(d.spec), nonce: `${nonce}-${sc.id}`, deadlineS: 30, ...routesOf(d.spec) });
    return { kind: 'action', name: action, ...r };
  }
  const gateway = gatewayToRestart(d, victim);
  extraRecovery.push(gateway);
  const r = await s.restartGateway(gateway, 60);
  return { kind: 'action', name: action, host: gateway.target.host, ...r };
}
