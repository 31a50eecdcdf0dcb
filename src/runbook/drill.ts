// The runbook's "verify the whole HA" section grown into a drill engine. Per scenario (Chaos Toolkit
// style): steady-state hypothesis, probes started, fault injected, actions while it holds, rollback
// (always, not cancellable), recovery, steady state again. While the fault holds, stop conditions are
// watched (AWS FIS, Gremlin): one that fires aborts the hold at once and the rollback runs. Probes
// report their samples every second (the probeReport signal) into a ProbeFeed, so a worker that dies
// loses at most a second: the gap is marked, and a scenario api7-ha could not finish measuring is
// run again once the estate is steady. The run returns a journal; people hear about it (webhooks)
// and dashboards read its figures (the worker's metrics). The deploy runs the runbook's three
// scenarios as its last step; `api7-ha drill` and the nightly schedule run any set.
import type { DrillControl, DrillLive } from '../contracts';
import {
  chooseVictim,
  faultTarget,
  gatewayToRestart,
  probePlan,
  propagationPlan,
  quorumRefusal,
  reachableGateways,
  recoveryInput,
  routesOf,
  steadyStateInput,
  stopPlan,
  victimOf,
  type DrillContext,
} from '../drills/inputs';
import type { SteadyState } from '../drills/faults';
import { ProbeFeed } from '../drills/feed';
import { memoOf, type DrillJournal, type JournalAction, type NotificationRecord, type ScenarioId, type ScenarioJournal } from '../drills/journal';
import { judgeHypotheses, scenarioMetrics } from '../drills/metrics';
import type { ProbeReport } from '../drills/probe-run';
import { SCENARIOS, isHostFault, isQuiet, type Scenario } from '../drills/scenarios';
import type { HostSpec } from '../inventory/model';
import { apiTarget, artifactPaths, endpointsOf, probeSettings, type ComponentStep } from '../steps/inputs';
import { Compensations } from './compensations';
import { drillFigures, drillJournal, drillSummary, drillVerdict, scenarioSummary, steadyStateAction } from './drill-result';
import { drillV1 } from './drill-v1';
import { notify } from './notify';
import { failureType, messageOf, type Runner, type Step } from './runner';
import type { DrillInput } from './types';

/** A drill ready to run: one step per scenario in the order asked for, and what it tells its probes. */
export interface DrillRun {
  steps: { id: ScenarioId; title: string }[];
  /** Probes ask for it while they run (on Temporal: the drillControl query). */
  control: DrillControl;
  /** Probes' reports (on Temporal: the probeReport signal). */
  receive(r: ProbeReport): void;
  /** What `watch` shows while a scenario runs. */
  live(): DrillLive | undefined;
  run(r: Runner<ScenarioId>): Promise<{ journal: DrillJournal; error?: unknown }>;
}

/** The scenario being run now and what it is doing (the live view). */
interface Now {
  key: string;
  scenario: ScenarioId;
  action: string;
  since: number;
  stopped?: string;
  rerun?: boolean;
}

export function drillRun(input: DrillInput): DrillRun {
  const control: DrillControl = { stopProbes: [], holding: {} };
  const feed = new ProbeFeed();
  let now: Now | undefined;
  const state = {
    control,
    feed,
    set: (n: Now | undefined) => {
      now = n;
    },
  };
  return {
    steps: input.scenarios.map((id) => ({ id, title: SCENARIOS[id].title })),
    control,
    receive: (r) => feed.receive(r),
    live: () => {
      if (!now) return undefined;
      const prop = feed.propagation(now.key);
      return {
        scenario: now.scenario,
        action: now.action,
        since: now.since,
        probes: feed.live(now.key),
        ...(prop.length
          ? {
              propagation: prop.map((p) => {
                const served = p.samples.filter(([, st]) => st === 200);
                return { gateway: p.gateway, served: served.length, ...(served.length ? { maxMs: Math.max(...served.map(([, , ms]) => ms)) } : {}), stale: p.samples.length - served.length };
              }),
            }
          : {}),
        ...(now.stopped ? { stopped: now.stopped } : {}),
        ...(now.rerun ? { rerun: true } : {}),
      };
    },
    run: async (r) => {
      // Runs recorded before stop conditions and resumable probes replay on the drill as it was.
      if (!r.patched('drill-v2')) return drillV1(r, input, control);
      return drill(r, input, state);
    },
  };
}

interface DrillState {
  control: DrillControl;
  feed: ProbeFeed;
  set(n: Now | undefined): void;
}

interface Scene {
  d: DrillContext;
  scenario: Scenario;
  /** The steady state already checked just before (the first scenario's). */
  known: SteadyState | undefined;
  rotation: number;
  state: DrillState;
  /** Which run of this scenario (2: the re-run after an interruption). */
  attempt: number;
  notifications: NotificationRecord[];
}

/** The journal, and the failure that ended the drill early (refused, cancelled), if any. */
async function drill(r: Runner<ScenarioId>, input: DrillInput, state: DrillState): Promise<{ journal: DrillJournal; error?: unknown }> {
  const { spec } = input;
  const started = Date.now();
  const scenarios: ScenarioJournal[] = [];
  const notifications: NotificationRecord[] = [];
  const kind = input.kind === 'drill' ? 'drill' : 'failover';
  let result: { journal: DrillJournal; error?: unknown };
  notifications.push(...(await notify(r, spec, kind, { type: 'drill.started', summary: `${input.kind} of ${spec.cluster.name} started: ${input.scenarios.join(', ')}` })));
  try {
    const artifacts = await r.inspectArtifacts(artifactPaths(spec));
    const d: DrillContext = { spec, product: input.product, packages: { controlPlane: artifacts.controlPlane, dataPlane: artifacts.dataPlane }, stamp: r.stamp };
    const rotation = input.kind === 'drill' && !input.victim ? await r.pastDrillCount(spec.cluster.name) : 0;

    // Steady state first: never inject into an estate that is already degraded.
    const first = await r.steadyState(steadyStateInput(d), spec.secrets);
    if (!first.ok) r.block(`refused: the estate is not in its steady state, so no fault was injected: ${first.problems.join('; ')}`, 'SteadyStateViolated', first.problems);

    let known: SteadyState | undefined = first;
    for (const [i, id] of input.scenarios.entries()) {
      const j = await r.step(
        id,
        async (s) => {
          const scene = { d, scenario: SCENARIOS[id], known, rotation: rotation + i, state, attempt: 1, notifications };
          const once = await scenario(r, s, input, scene);
          if (once.status !== 'interrupted') return once;
          // api7-ha stopped measuring (a worker restart): run it again once the estate is steady.
          const again = await scenario(r, s, input, { ...scene, known: undefined, attempt: 2 });
          const { interruption: _, ...attempt } = once;
          return { ...again, interruption: { reason: once.error ?? 'interrupted', attempt } };
        },
        scenarioSummary,
      );
      scenarios.push(j);
      known = undefined;
      if (j.status === 'refused' && j.error?.startsWith('steady state')) break;
    }
    result = { journal: drillJournal(r, input, started, scenarios, drillVerdict(scenarios), drillSummary(scenarios)) };
  } catch (e) {
    const verdict = r.isCancellation(e) ? 'cancelled' : failureType(e) === 'SteadyStateViolated' ? 'refused' : 'failed';
    result = { journal: drillJournal(r, input, started, scenarios, verdict, messageOf(e)), error: e };
  } finally {
    state.set(undefined);
  }
  const j = result.journal;
  // Telling people and feeding dashboards never changes the verdict, and happens even after a cancel.
  await r.critical(async () => {
    const aborted = j.scenarios.some((s) => s.status === 'aborted');
    const type = j.verdict === 'passed' ? 'drill.passed' : aborted ? 'drill.aborted' : j.verdict === 'interrupted' ? 'drill.interrupted' : 'drill.failed';
    notifications.push(...(await notify(r, spec, kind, { type, summary: j.summary, verdict: j.verdict, score: j.score, figures: drillFigures(j) })));
    try {
      await r.recordMetrics({ kind: 'drill', cluster: spec.cluster.name, endedAt: j.endedAt, ...memoOf(j) });
    } catch (e) {
      r.log('metrics not recorded', { error: messageOf(e) });
    }
  });
  if (notifications.length) j.notifications = notifications;
  return result;
}

async function scenario(r: Runner<ScenarioId>, s: Step, input: DrillInput, { d, scenario: sc, known, rotation, state, attempt, notifications }: Scene): Promise<ScenarioJournal> {
  const { spec } = d;
  const { control, feed } = state;
  const timing = input.timing ?? { baselineS: 2, holdS: spec.drills.holdS, afterS: 2 };
  const actions: JournalAction[] = [];
  const j: ScenarioJournal = { id: sc.id, title: sc.title, status: 'passed', actions, probes: [], metrics: { probes: {} }, hypotheses: [] };
  const refuse = (why: string): ScenarioJournal => ({ ...j, status: 'refused', error: why });
  const key = `${attempt}:${sc.id}`;
  const doing = (action: string, extra: Partial<Now> = {}) => state.set({ key, scenario: sc.id, action, since: Date.now(), ...(attempt > 1 ? { rerun: true } : {}), ...extra });

  doing('steady state');
  if (isHostFault(sc.fault) && !spec.drills.hostFaultDriver) return refuse('needs a host fault driver (drills.host_faults); none is configured for this estate');
  const before = known ?? (await s.steadyState(steadyStateInput(d), spec.secrets));
  actions.push(steadyStateAction('steady state before', before, 'every component healthy'));
  if (!before.ok) return refuse(`steady state violated: ${before.problems.join('; ')}`);

  let victim: HostSpec | undefined;
  if (!isQuiet(sc)) {
    const pick = chooseVictim(sc, spec, before.quorum, rotation, input.victim);
    if (!pick.host) return refuse(pick.why);
    victim = pick.host;
    j.victim = victimOf(sc, victim);
    const belowQuorum = quorumRefusal(sc, spec, victim, before.quorum);
    if (belowQuorum) return refuse(belowQuorum);
  }

  const maxS = timing.baselineS + timing.holdS + timing.afterS + spec.drills.thresholds.recoveryDeadlineS + 120;
  const propagation = propagationPlan(d, sc, victim, `${r.runId.slice(0, 8)}-${attempt}`);
  const stop = stopPlan(d, sc, victim);
  feed.open(key, spec.drills.probeRatePerS);
  const probes = s.probeScenario(key, {
    ...probePlan(d, sc, victim, maxS),
    ...(propagation ? { propagation } : {}),
    ...(stop ? { stop } : {}),
    reportEveryMs: 1000,
    cluster: spec.cluster.name,
  });
  probes.catch(() => undefined); // awaited below; a cancellation must not surface as unhandled
  const extraRecovery: ComponentStep[] = [];
  const saga = new Compensations(r);
  let rollbackStartedAt: number | undefined;
  try {
    doing('baseline');
    await r.sleep(timing.baselineS * 1000);
    if (victim) {
      const v = victim;
      const fault = faultTarget(d, sc, v);
      await saga.withFault(
        sc.id,
        async () => {
          doing('injecting');
          const t = await s.injectFault(fault);
          actions.push({ kind: 'fault', name: sc.fault, host: v.name, ...t, ok: true });
          j.faultWindow = { start: t.startedAt, end: t.endedAt };
        },
        async () => {
          delete control.holding![key];
          doing('rolling back', feed.fired(key) ? { stopped: feed.fired(key)!.condition } : {});
          const t = await s.rollbackFault(fault);
          rollbackStartedAt = t.startedAt;
          actions.push({ kind: 'rollback', name: `undo ${sc.fault}`, host: v.name, ...t, ok: true });
          if (j.faultWindow) j.faultWindow.end = t.endedAt;
          doing('recovering');
          try {
            const rec = await s.waitRecovered(recoveryInput(d, sc, v, extraRecovery), spec.secrets);
            actions.push({ kind: 'recovery', name: 'recovered', host: v.name, ...rec, ok: true });
          } catch (e) {
            actions.push({ kind: 'recovery', name: 'recovered', host: v.name, startedAt: t.endedAt, endedAt: Date.now(), ok: false, detail: messageOf(e) });
            throw e;
          }
        },
        async () => {
          control.holding![key] = j.faultWindow?.start ?? Date.now();
          doing('holding');
          // A stop condition that fires (the probes' signal) cancels the hold at once; the rollback follows.
          const held = await r.abortable(async () => {
            for (const action of sc.during) actions.push(await during(s, d, sc, action, v.name, extraRecovery, r.runId.slice(0, 8)));
            await r.sleep(timing.holdS * 1000);
          }, () => feed.fired(key) !== undefined);
          if (held.aborted) actions.push({ kind: 'action', name: 'stop condition', startedAt: feed.fired(key)!.firedAt, endedAt: Date.now(), ok: false, detail: `${feed.fired(key)!.condition}: ${feed.fired(key)!.detail}` });
        },
      );
    } else {
      // A quiet period: nothing is broken, the probes and the canary route measure.
      doing('measuring');
      await r.sleep(timing.holdS * 1000);
    }
    doing('after');
    await r.sleep(timing.afterS * 1000);
  } catch (e) {
    if (r.isCancellation(e)) throw e;
    j.status = 'error';
    j.error = messageOf(e);
  } finally {
    delete control.holding![key];
    control.stopProbes.push(key);
  }
  let probesError: string | undefined;
  try {
    feed.receive(await probes);
  } catch (e) {
    if (r.isCancellation(e)) throw e;
    probesError = messageOf(e);
  }
  j.probes = feed.series(key);
  const prop = feed.propagation(key);
  if (prop.length) j.propagation = prop;
  const records = feed.stopConditions(key);
  if (records) j.stopConditions = records;
  j.metrics = scenarioMetrics(j.probes, actions, j.faultWindow, prop);
  j.hypotheses = judgeHypotheses(sc, j.metrics, actions, spec.drills.thresholds);
  if (j.status === 'passed' && j.hypotheses.some((h) => !h.ok)) j.status = 'failed';
  const fired = feed.fired(key);
  if (fired && j.status !== 'error') {
    const done = actions.filter((a) => a.kind === 'recovery' || a.kind === 'rollback').reduce((m, a) => Math.max(m, a.endedAt), 0);
    j.status = 'aborted';
    j.abort = {
      ...fired,
      ...(done ? { rollbackDoneAt: done, firingToRollbackDoneMs: done - fired.firedAt } : {}),
      ...(rollbackStartedAt !== undefined ? { firingToRollbackStartMs: rollbackStartedAt - fired.firedAt } : {}),
    };
    j.error = `aborted by stop condition ${fired.condition}: ${fired.detail}`;
  }
  // The tool, not the estate, stopped measuring: a worker died under the probes (they resumed, with a
  // gap) or they could not go on at all. Nothing can be said about the estate: run it again.
  const gaps = feed.gaps(key);
  const interrupted = probesError !== undefined || gaps.length > 0;
  if (interrupted && j.status !== 'aborted' && !saga.failures.length) {
    j.status = 'interrupted';
    j.error = probesError !== undefined ? `probes: ${probesError}` : `the probes stopped for ${gaps.map((g) => `${g.to - g.from} ms`).join(', ')} (a worker restart): not measured`;
  }
  if (saga.failures.length) {
    j.status = 'error';
    j.error = `ROLLBACK FAILED: ${saga.failures.map((f) => f.error).join('; ')}`;
    notifications.push(
      ...(await notify(r, spec, input.kind === 'drill' ? 'drill' : 'failover', {
        type: 'rollback.failed',
        key: key,
        summary: `${sc.id}: the rollback of ${sc.fault} on ${victim?.name ?? '-'} FAILED, the estate may be left degraded: ${saga.failures.map((f) => f.error).join('; ')}`,
      })),
    );
  }
  doing('steady state after');
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
