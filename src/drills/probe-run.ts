// The probes of one scenario, made to survive the worker that runs them. Requests go out at a fixed
// rate (open loop) through the load balancers and at the victim; the canary route measures config
// propagation; while the fault holds, the stop conditions are watched. Every second the samples so far
// go back to the drill (on Temporal: a signal), so a worker that dies loses at most the last second:
// the retried activity starts a new attempt on another worker, and the drill marks the time between
// them as not measured. A stop condition that fires is reported at once, not at the next second.
import { Agent } from 'node:http';
import { sleep } from '../reconcile/context';
import { DashboardClient, http, looksLikeUpstream, type HttpResult } from '../reconcile/http';
import { probeRoute } from '../reconcile/verify';
import { addHttpRoutes } from '../remote/ssh';
import type { ProbeName, Sample, StopConditionRecord, StopFired } from './journal';
import type { ProbePlan as BasePlan } from './probes';
import { measurePropagation, type PropagationPlan } from './propagation';
import { STOP_POLL_MS, StopWatcher, healthCheck, overBudget, type StopPlan } from './stop-conditions';

export interface ScenarioProbePlan extends BasePlan {
  propagation?: PropagationPlan;
  /** Checked while the fault holds. */
  stop?: StopPlan;
  /** How often samples go back to the drill (ms). */
  reportEveryMs: number;
}

export interface ReportedSeries {
  name: ProbeName;
  target: string;
  okStatus: number[];
  samples: Sample[];
}

/** What the probes send back while they run (each report holds only what is new) and at the end. */
export interface ProbeReport {
  /** The scenario run these probes belong to. */
  key: string;
  /** The activity's attempt: a new attempt means a worker stopped in between. */
  attempt: number;
  /** Per attempt, from 1; the drill ignores a report it already has. */
  seq: number;
  /** Epoch ms of this attempt's t = 0. */
  startedAt: number;
  series: ReportedSeries[];
  propagation: { gateway: string; target: string; samples: Sample[]; writeFailures: number }[];
  fired?: StopFired;
  /** The last report of an attempt. */
  final: boolean;
  stopConditions?: StopConditionRecord[];
}

/** What the drill tells its probes: stop, and since when the fault holds (epoch ms). */
export interface ProbeControl {
  stop: boolean;
  holdingSince?: number;
}

export interface ScenarioProbeHooks {
  attempt: number;
  control: () => Promise<ProbeControl>;
  report: (r: ProbeReport) => Promise<void>;
  heartbeat: (details: unknown) => void;
  signal?: AbortSignal;
  /** The fault started or stopped holding (the worker's fault gauge). */
  onHolding?: (holding: boolean) => void;
}

interface Prober {
  name: ProbeName;
  target: string;
  okStatus: number[];
  send: () => Promise<HttpResult>;
}

async function probers(plan: BasePlan, agent: Agent): Promise<Prober[]> {
  const out: Prober[] = [];
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
      send: () => (n++ % 2 === 0 ? client.getRoute(probe.routeId) : client.putRoute(probe.routeId, probeRoute(probe))),
    });
  }
  if (plan.victim) {
    const v = plan.victim;
    const check = await healthCheck(v);
    out.push({
      name: 'victim',
      target: `GET ${v.url}`,
      okStatus: v.kind === 'http' ? v.okStatus : [200],
      send: async () => {
        const started = performance.now();
        const r = await check();
        return { status: r.status ?? 0, body: '', ms: performance.now() - started };
      },
    });
  }
  return out;
}

/** Runs the probes until the drill says stop (or the safety deadline); returns the last report. */
export async function probeScenario(key: string, plan: ScenarioProbePlan, hooks: ScenarioProbeHooks): Promise<ProbeReport> {
  addHttpRoutes(plan.routes);
  const startedAt = Date.now();
  let seq = 0;
  const base = () => ({ key, attempt: hooks.attempt, seq: ++seq, startedAt });
  // A retried attempt whose scenario is already over has nothing to measure.
  const first = await hooks.control().catch((): ProbeControl => ({ stop: false }));
  if (first.stop) return { ...base(), series: [], propagation: [], final: true };

  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const watcher = plan.stop ? await StopWatcher.of(plan.stop) : undefined;
  try {
    const rs = await probers(plan, agent);
    const series = rs.map((r) => ({ r, all: [] as Sample[], unsent: [] as Sample[], inFlight: new Set<Promise<void>>() }));
    const prop = new Map((plan.propagation?.gateways ?? []).map((g) => [g.host, { target: `${g.url}${plan.propagation!.probe.path} (canary route ${plan.propagation!.routeId})`, unsent: [] as Sample[] }]));
    let propWriteFailures = 0;
    let control: ProbeControl = first;
    let fired: StopFired | undefined;
    let firedUnsent = false;
    const fire = (f: StopFired) => {
      if (fired) return;
      fired = f;
      firedUnsent = true;
      flush();
    };

    // ---- reports: one in flight; what fails to go is sent with the next one -------------------
    let reporting: Promise<void> | undefined;
    const take = () => {
      const r: ProbeReport = {
        ...base(),
        series: series.map((s) => ({ name: s.r.name, target: s.r.target, okStatus: s.r.okStatus, samples: s.unsent.splice(0) })),
        propagation: [...prop].map(([gateway, p]) => ({ gateway, target: p.target, samples: p.unsent.splice(0), writeFailures: propWriteFailures })),
        final: false,
        ...(firedUnsent && fired ? { fired } : {}),
      };
      firedUnsent = false;
      return r;
    };
    const putBack = (r: ProbeReport) => {
      r.series.forEach((s, i) => series[i]!.unsent.unshift(...s.samples));
      for (const p of r.propagation) prop.get(p.gateway)?.unsent.unshift(...p.samples);
      if (r.fired) firedUnsent = true;
    };
    function flush() {
      if (reporting) return;
      const r = take();
      reporting = hooks
        .report(r)
        .catch(() => putBack(r))
        .finally(() => (reporting = undefined));
    }

    // ---- the drill's control, polled without ever blocking the senders ----------------------
    let polling = false;
    const pollControl = () => {
      if (polling) return;
      polling = true;
      void hooks
        .control()
        .then((c) => {
          if (!!c.holdingSince !== !!control.holdingSince) hooks.onHolding?.(!!c.holdingSince);
          control = c;
        })
        .catch(() => undefined)
        .finally(() => (polling = false));
    };

    const deadline = startedAt + plan.maxDurationS * 1000;
    const stopped = () => control.stop || Date.now() > deadline || !!hooks.signal?.aborted;
    const propagation = plan.propagation
      ? measurePropagation(plan.propagation, startedAt, stopped, (g, s) => prop.get(g)?.unsent.push(s), hooks.signal).then(
          (r) => void (propWriteFailures = r.writeFailures),
          () => undefined,
        )
      : Promise.resolve();

    const interval = 1000 / plan.ratePerS;
    let tick = 0;
    let lastPoll = 0;
    let lastReport = Date.now();
    let lastStopPoll = 0;
    while (!stopped()) {
      const due = startedAt + tick * interval;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait, hooks.signal).catch(() => undefined);
      tick++;
      for (const s of series) {
        const sentAt = Date.now();
        const p = s.r
          .send()
          .then(
            (r): Sample => [sentAt - startedAt, r.status, Math.round(r.ms * 10) / 10],
            (): Sample => [sentAt - startedAt, 0, Date.now() - sentAt],
          )
          .then((sample) => {
            s.all.push(sample);
            s.unsent.push(sample);
          })
          .finally(() => s.inFlight.delete(p));
        s.inFlight.add(p);
      }
      const now = Date.now();
      if (now - lastPoll >= 250) {
        lastPoll = now;
        hooks.heartbeat({ samples: series.map((s) => [s.r.name, s.all.length]) });
        pollControl();
      }
      if (control.holdingSince !== undefined && !fired) {
        const since = control.holdingSince - startedAt;
        for (const b of plan.stop?.budgets ?? []) {
          const s = series.find((x) => x.r.name === b.probe);
          const why = s ? overBudget(b, s.all, s.r.okStatus, since) : undefined;
          const rec = watcher?.budgetRecords.find((x) => x.condition === `${b.probe}-budget`);
          if (rec) rec.checks++;
          if (why) {
            if (rec) rec.fired = true;
            fire({ condition: `${b.probe}-budget`, kind: 'budget', detail: why, firedAt: now });
          }
        }
        if (watcher && now - lastStopPoll >= (plan.stop?.pollMs ?? STOP_POLL_MS)) {
          lastStopPoll = now;
          watcher.poll(fire);
        }
      }
      if (now - lastReport >= plan.reportEveryMs) {
        lastReport = now;
        flush();
      }
    }
    await Promise.all(series.flatMap((s) => [...s.inFlight]));
    await propagation;
    await reporting;
    if (control.holdingSince) hooks.onHolding?.(false);
    const last = take();
    return { ...last, final: true, ...(fired ? { fired } : {}), ...(watcher ? { stopConditions: watcher.records() } : {}) };
  } finally {
    agent.destroy();
  }
}
