// The drill's side of the probes: reports arrive while they run (signals) and at the end (the
// activity's result); this keeps them per scenario run, once each, on the first attempt's clock. A
// second attempt means a worker stopped in between: the time from the last sample that came back to
// the new attempt's start is a gap, not measured. Pure: the workflow holds it, queries read it.
import type { Gap, ProbeName, ProbeSeries, PropagationSeries, Sample, StopConditionRecord, StopFired } from './journal';
import { longestOutage } from './metrics';
import type { ProbeReport } from './probe-run';

interface Run {
  /** t = 0 of every series: the first attempt's start (epoch ms). */
  origin: number;
  ratePerS: number;
  seen: Set<string>;
  attempts: Map<number, { startedAt: number; lastT: number }>;
  series: Map<ProbeName, { target: string; okStatus: number[]; samples: Sample[] }>;
  propagation: Map<string, { target: string; samples: Sample[]; writeFailures: number }>;
  fired?: StopFired;
  stopConditions?: StopConditionRecord[];
}

/** Live figures of one probe, as `watch` shows them. */
export interface LiveProbe {
  name: ProbeName;
  requests: number;
  failures: number;
  longestOutageMs: number;
}

export class ProbeFeed {
  private readonly runs = new Map<string, Run>();

  /** Make the run known before any report (its origin then comes from its first report). */
  open(key: string, ratePerS: number): void {
    if (!this.runs.has(key)) this.runs.set(key, { origin: 0, ratePerS, seen: new Set(), attempts: new Map(), series: new Map(), propagation: new Map() });
  }

  receive(r: ProbeReport): void {
    this.open(r.key, 1);
    const run = this.runs.get(r.key)!;
    const id = `${r.attempt}:${r.seq}`;
    if (run.seen.has(id)) return;
    run.seen.add(id);
    if (!run.origin) run.origin = r.startedAt;
    const shift = r.startedAt - run.origin;
    const att = run.attempts.get(r.attempt) ?? { startedAt: r.startedAt, lastT: shift };
    run.attempts.set(r.attempt, att);
    for (const s of r.series) {
      const into = run.series.get(s.name) ?? { target: s.target, okStatus: s.okStatus, samples: [] };
      run.series.set(s.name, into);
      for (const [t, st, ms] of s.samples) {
        into.samples.push([t + shift, st, ms]);
        if (t + shift > att.lastT) att.lastT = t + shift;
      }
    }
    for (const p of r.propagation) {
      const into = run.propagation.get(p.gateway) ?? { target: p.target, samples: [], writeFailures: 0 };
      run.propagation.set(p.gateway, into);
      for (const [t, st, ms] of p.samples) into.samples.push([t + shift, st, ms]);
      into.writeFailures = Math.max(into.writeFailures, p.writeFailures);
    }
    if (r.fired && !run.fired) run.fired = r.fired;
    if (r.stopConditions) run.stopConditions = r.stopConditions;
  }

  fired(key: string): StopFired | undefined {
    return this.runs.get(key)?.fired;
  }

  /** How many attempts reported: more than one means the probes were interrupted. */
  attempts(key: string): number {
    return this.runs.get(key)?.attempts.size ?? 0;
  }

  stopConditions(key: string): StopConditionRecord[] | undefined {
    return this.runs.get(key)?.stopConditions;
  }

  /** Between attempts: from the last sample an attempt got back to the next attempt's start. */
  gaps(key: string): Gap[] {
    const run = this.runs.get(key);
    if (!run) return [];
    const atts = [...run.attempts.entries()].sort((a, b) => a[0] - b[0]);
    const out: Gap[] = [];
    for (let i = 1; i < atts.length; i++) {
      const from = Math.max(...atts.slice(0, i).map(([, a]) => a.lastT));
      const to = atts[i]![1].startedAt - run.origin;
      if (to > from) out.push({ from, to });
    }
    return out;
  }

  series(key: string): ProbeSeries[] {
    const run = this.runs.get(key);
    if (!run) return [];
    const gaps = this.gaps(key);
    return [...run.series].map(([name, s]) => ({
      name,
      target: s.target,
      startedAt: run.origin,
      ratePerS: run.ratePerS,
      okStatus: s.okStatus,
      samples: [...s.samples].sort((a, b) => a[0] - b[0]),
      ...(gaps.length ? { gaps } : {}),
    }));
  }

  propagation(key: string): PropagationSeries[] {
    const run = this.runs.get(key);
    if (!run) return [];
    const gaps = this.gaps(key);
    return [...run.propagation].map(([gateway, p]) => ({
      gateway,
      target: p.target,
      startedAt: run.origin,
      samples: [...p.samples].sort((a, b) => a[0] - b[0]),
      writeFailures: p.writeFailures,
      ...(gaps.length ? { gaps } : {}),
    }));
  }

  live(key: string): LiveProbe[] {
    const run = this.runs.get(key);
    if (!run) return [];
    const gaps = this.gaps(key);
    return [...run.series].map(([name, s]) => {
      const sorted = [...s.samples].sort((a, b) => a[0] - b[0]);
      const ok = (st: number) => s.okStatus.includes(st);
      return { name, requests: sorted.length, failures: sorted.filter(([, st]) => !ok(st)).length, longestOutageMs: longestOutage(sorted, ok, gaps).ms };
    });
  }
}
