// A synthetic but realistic drill journal: four scenarios, 20 req/s probes over ~20 s each, one
// broken hypothesis. The report tests use it, and it lets anyone preview the report's look without
// a cluster. Fully deterministic (a seeded generator, a fixed epoch) so renders can be compared.
import type { DrillJournal, HypothesisResult, JournalAction, ProbeName, ProbeSeries, Sample, ScenarioJournal, ScenarioMetrics, ScenarioStatus, Victim } from '../drills/journal';

/** A tiny seeded PRNG (mulberry32): the same seed gives the same journal on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A failure window in a probe series: [from ms, to ms) since the series start, and what it returned. */
export interface FailSpan {
  from: number;
  to: number;
  status: number;
  ms: number;
}

export interface SeriesSpec {
  name: ProbeName;
  target: string;
  startedAt: number;
  durationMs: number;
  ratePerS: number;
  /** Typical latency (ms) outside and inside the slow window. */
  baseMs: number;
  slow?: { from: number; to: number; factor: number };
  fails?: FailSpan[];
  okStatus?: number[];
}

export function series(spec: SeriesSpec, rnd: () => number): ProbeSeries {
  const step = 1000 / spec.ratePerS;
  const samples: Sample[] = [];
  for (let i = 0; i * step < spec.durationMs; i++) {
    const t = Math.round(i * step);
    const fail = spec.fails?.find((f) => t >= f.from && t < f.to);
    if (fail) {
      samples.push([t, fail.status, fail.ms]);
      continue;
    }
    const slow = spec.slow && t >= spec.slow.from && t < spec.slow.to ? spec.slow.factor : 1;
    // A long-tailed latency: mostly near the base, now and then a few times slower.
    const jitter = 0.7 + rnd() * 0.6 + (rnd() < 0.03 ? rnd() * 6 : 0);
    samples.push([t, 200, Math.round(spec.baseMs * slow * jitter * 10) / 10]);
  }
  return { name: spec.name, target: spec.target, startedAt: spec.startedAt, ratePerS: spec.ratePerS, okStatus: spec.okStatus ?? [200], samples };
}

/** Metrics as the workflow would compute them from a series and the fault window. */
export function metricsOf(p: ProbeSeries, fault: { start: number; end: number }): ScenarioMetrics['probes'][ProbeName] {
  const ok = new Set(p.okStatus);
  let failures = 0;
  let duringFault = 0;
  let longest = 0;
  let from: number | undefined;
  const lat = { before: [] as number[], during: [] as number[], after: [] as number[] };
  for (const [t, status, ms] of p.samples) {
    const at = p.startedAt + t;
    const phase = at < fault.start ? 'before' : at <= fault.end ? 'during' : 'after';
    if (!ok.has(status)) {
      failures++;
      if (phase === 'during') duringFault++;
      from ??= t;
    } else {
      if (from !== undefined) longest = Math.max(longest, t - from);
      from = undefined;
      lat[phase].push(ms);
    }
  }
  const stats = (xs: number[]): { p50?: number; p99?: number; count: number } => {
    if (xs.length === 0) return { count: 0 };
    const s = [...xs].sort((a, b) => a - b);
    const q = (f: number): number => s[Math.min(s.length - 1, Math.floor(f * s.length))] ?? 0;
    return { p50: q(0.5), p99: q(0.99), count: s.length };
  };
  const last = p.samples[p.samples.length - 1];
  return {
    requests: p.samples.length,
    failures,
    longestOutageMs: longest,
    failuresDuringFault: duringFault,
    achievedRatePerS: last ? Math.round((p.samples.length / ((last[0] + 1000 / p.ratePerS) / 1000)) * 10) / 10 : 0,
    latency: { before: stats(lat.before), during: stats(lat.during), after: stats(lat.after) },
  };
}

interface ScenarioPlan {
  id: ScenarioJournal['id'];
  title: string;
  victim: Victim;
  faultName: string;
  rollbackName: string;
  /** Probe failures, ms since the probe start. */
  dpFails?: FailSpan[];
  cpFails?: FailSpan[];
  victimTarget: string;
  /** When the victim answers again after the rollback started (ms after rollback start). */
  victimBackAfterMs: number;
  extraActions?: (p0: number) => JournalAction[];
  cpWriteRecoveryMs?: number;
  hypotheses: HypothesisResult[];
  status: ScenarioStatus;
}

// Every scenario has the same rhythm (ms after the first probe sample): steady state, fault at 6 s,
// rollback at 14 s, probes stop at 20 s.
const FAULT_AT = 6000;
const FAULT_TOOK = 400;
const ROLLBACK_AT = 14000;
const ROLLBACK_TOOK = 1200;
const PROBE_MS = 20000;

function scenario(plan: ScenarioPlan, p0: number, rate: number, rnd: () => number): ScenarioJournal {
  const fault = { start: p0 + FAULT_AT, end: p0 + ROLLBACK_AT + ROLLBACK_TOOK };
  const slow = { from: FAULT_AT, to: ROLLBACK_AT + ROLLBACK_TOOK + 1500, factor: 1.6 };
  const victimDown: FailSpan = { from: FAULT_AT + 40, to: ROLLBACK_AT + plan.victimBackAfterMs, status: 0, ms: 1.2 };
  const probes = [
    series({ name: 'dp', target: 'GET http://lb.lab:9080/get Host: test.com', startedAt: p0, durationMs: PROBE_MS, ratePerS: rate, baseMs: 4, slow, fails: plan.dpFails ?? [] }, rnd),
    series({ name: 'cp', target: 'GET https://lb.lab:7443/api/status (dashboard)', startedAt: p0 + 3, durationMs: PROBE_MS, ratePerS: rate, baseMs: 11, slow, fails: plan.cpFails ?? [] }, rnd),
    series({ name: 'victim', target: plan.victimTarget, startedAt: p0 + 7, durationMs: PROBE_MS, ratePerS: rate, baseMs: 2, fails: [victimDown] }, rnd),
  ];
  const host = plan.victim.host;
  const actions: JournalAction[] = [
    { kind: 'steady-state', name: 'probes healthy, quorum 3/3', startedAt: p0 + 200, endedAt: p0 + 1900, ok: true, detail: 'dp 0/34 failed, cp 0/34 failed; etcd quorum 3/3' },
    { kind: 'fault', name: plan.faultName, host, startedAt: fault.start, endedAt: fault.start + FAULT_TOOK, ok: true, detail: `docker stop on ${host}` },
    ...(plan.extraActions?.(p0) ?? []),
    { kind: 'rollback', name: plan.rollbackName, host, startedAt: p0 + ROLLBACK_AT, endedAt: fault.end, ok: true, detail: `docker start on ${host}` },
    {
      kind: 'recovery',
      name: 'victim healthy and back in rotation',
      host,
      startedAt: fault.end,
      endedAt: p0 + ROLLBACK_AT + plan.victimBackAfterMs + 400,
      ok: true,
      detail: 'health check passed 2 times in a row',
    },
  ];
  const dp = metricsOf(probes[0]!, fault);
  const cp = metricsOf(probes[1]!, fault);
  const victim = metricsOf(probes[2]!, fault);
  return {
    id: plan.id,
    title: plan.title,
    victim: plan.victim,
    status: plan.status,
    actions,
    faultWindow: fault,
    probes,
    metrics: {
      probes: { ...(dp ? { dp } : {}), ...(cp ? { cp } : {}), ...(victim ? { victim } : {}) },
      detectMs: 40,
      recoverMs: plan.victimBackAfterMs + 400,
      ...(plan.cpWriteRecoveryMs !== undefined ? { cpWriteRecoveryMs: plan.cpWriteRecoveryMs } : {}),
    },
    hypotheses: plan.hypotheses,
  };
}

const held = (id: string, text: string, observed: string, threshold: string): HypothesisResult => ({ id, text, ok: true, observed, threshold });

export interface DemoOptions {
  seed?: number;
  /** Epoch ms of the drill start. Default 2025-11-25 17:02:00 UTC. */
  startedAt?: number;
  ratePerS?: number;
}

/** The demo journal: dp-node-loss (clean), cp-node-loss (600 ms CP outage, over budget), etcd-member-loss, gateway-restart-during-etcd-degradation. */
export function demoJournal(o: DemoOptions = {}): DrillJournal {
  const rnd = prng(o.seed ?? 7);
  const rate = o.ratePerS ?? 20;
  const t0 = o.startedAt ?? Date.UTC(2025, 10, 25, 17, 2, 0);
  const gap = 45_000; // between scenario starts: settle time after each recovery
  const plans: ScenarioPlan[] = [
    {
      id: 'dp-node-loss',
      title: 'Data plane node loss',
      victim: { host: 'dp-2', role: 'data_plane', detail: 'api7-gateway container' },
      faultName: 'stop gateway',
      rollbackName: 'start gateway',
      victimTarget: 'GET http://dp-2:9080/healthz',
      victimBackAfterMs: 2600,
      status: 'passed',
      hypotheses: [
        held('dp-outage', 'Requests through the load balancer keep succeeding', 'longest outage 0 ms, 0 failures', '≤ 1 000 ms'),
        held('victim-detected', 'The load balancer takes the victim out of rotation', 'victim probe down after 40 ms', 'detected'),
        held('recovery', 'The victim is back in rotation after the rollback', '3.00 s', '≤ 60 s'),
      ],
    },
    {
      id: 'cp-node-loss',
      title: 'Control plane node loss',
      victim: { host: 'cp-1', role: 'control_plane', detail: 'api7-dashboard container' },
      faultName: 'stop dashboard',
      rollbackName: 'start dashboard',
      cpFails: [
        { from: FAULT_AT + 200, to: FAULT_AT + 600, status: 0, ms: 1000 },
        { from: FAULT_AT + 600, to: FAULT_AT + 800, status: 503, ms: 2.1 },
      ],
      victimTarget: 'GET https://cp-1:7443/api/status',
      victimBackAfterMs: 5200,
      status: 'failed',
      hypotheses: [
        held('dp-outage', 'Data plane traffic is unaffected by a control plane loss', 'longest outage 0 ms, 0 failures', '≤ 1 000 ms'),
        { id: 'cp-outage', text: 'The dashboard stays reachable through the load balancer', ok: false, observed: 'longest outage 600 ms (12 failures)', threshold: '≤ 500 ms' },
        held('recovery', 'The victim is back in rotation after the rollback', '5.60 s', '≤ 60 s'),
      ],
    },
    {
      id: 'etcd-member-loss',
      title: 'etcd member loss',
      victim: { host: 'etcd-3', role: 'etcd', detail: 'follower; quorum 2/3 during the fault' },
      faultName: 'stop etcd member',
      rollbackName: 'start etcd member',
      victimTarget: 'GET http://etcd-3:2379/health',
      victimBackAfterMs: 1900,
      cpWriteRecoveryMs: 0,
      status: 'passed',
      hypotheses: [
        held('dp-failures', 'Data plane keeps serving with one etcd member down', '0 failures', '≤ 5 failures'),
        held('cp-writes', 'Control plane writes keep working (quorum holds)', 'never failed', '≤ 5 000 ms'),
        held('recovery', 'The member rejoins and catches up', '2.30 s', '≤ 60 s'),
      ],
    },
    {
      id: 'gateway-restart-during-etcd-degradation',
      title: 'Gateway restart during etcd degradation',
      victim: { host: 'etcd-2', role: 'etcd', detail: 'leader; a new leader is elected' },
      faultName: 'stop etcd leader',
      rollbackName: 'start etcd member',
      dpFails: [{ from: 9300, to: 9450, status: 502, ms: 3.4 }],
      victimTarget: 'GET http://etcd-2:2379/health',
      victimBackAfterMs: 2400,
      cpWriteRecoveryMs: 1800,
      extraActions: (p0) => [
        { kind: 'action', name: 'restart gateway', host: 'dp-1', startedAt: p0 + 9000, endedAt: p0 + 11600, ok: true, detail: 'docker restart; config reloaded from etcd' },
        { kind: 'check', name: 'gateway serves the route', host: 'dp-1', startedAt: p0 + 11600, endedAt: p0 + 11900, ok: true, detail: 'GET /get Host: test.com -> 200' },
      ],
      status: 'passed',
      hypotheses: [
        held('dp-failures', 'A gateway restarted while etcd is degraded gets its configuration', '3 failures (HTTP 502)', '≤ 5 failures'),
        held('cp-writes', 'Control plane writes resume after the leader election', '1.80 s', '≤ 5 000 ms'),
        held('recovery', 'The old leader rejoins as a follower', '2.80 s', '≤ 60 s'),
      ],
    },
  ];
  const scenarios = plans.map((p, i) => scenario(p, t0 + 2000 + i * gap, rate, rnd));
  const all = scenarios.flatMap((s) => s.hypotheses);
  const ok = all.filter((h) => h.ok).length;
  const total = all.length;
  const last = scenarios[scenarios.length - 1];
  return {
    workflowId: 'drill-prod-eu-1-20251125-170200',
    runId: '0d6c1f7e-5a3b-4f7e-9c1a-2b8e4d6f0a11',
    cluster: 'prod-eu-1',
    product: 'API7 Enterprise 3.2.13',
    kind: 'drill',
    startedAt: t0,
    endedAt: (last?.actions[last.actions.length - 1]?.endedAt ?? t0) + 1500,
    thresholds: { dpMaxOutageMs: 1000, cpMaxOutageMs: 500, etcdCpWriteRecoveryMs: 5000, etcdDpMaxFailures: 5, recoveryDeadlineS: 60 },
    probeRatePerS: rate,
    scenarios,
    verdict: scenarios.every((s) => s.status === 'passed') ? 'passed' : 'failed',
    score: Math.round((ok / Math.max(1, total)) * 100),
    summary: `${scenarios.filter((s) => s.status === 'passed').length} of ${scenarios.length} scenarios passed; the control plane was unreachable for 600 ms when cp-1 stopped (budget 500 ms).`,
  };
}
