// Stop conditions: what aborts a fault while it holds (as AWS FIS stops an experiment on an alarm and
// Gremlin halts on a failed health check). Built in: the probes through a load balancer over the
// scenario's budget, the victim's peers unhealthy, etcd below quorum. From the inventory: HTTP checks
// and Prometheus queries. The probes activity evaluates them (src/drills/probe-run.ts); this module
// holds the rules and the checks, each a small function that answers { ok, detail }.
import { readFile } from 'node:fs/promises';
import { http, type ClientTls } from '../reconcile/http';
import type { Sample, StopConditionRecord, StopFired } from './journal';
import { longestOutage } from './metrics';
import type { VictimCheck } from './probes';

/** A probe's budget while the fault holds: over it, customers are failing beyond what the scenario allows. */
export interface ProbeBudget {
  probe: 'dp' | 'cp';
  /** The longest run of failed requests allowed (ms). */
  maxOutageMs?: number;
  /** The failed requests allowed while the fault holds. */
  maxFailures?: number;
}

export interface HttpStopCondition {
  name: string;
  url: string;
  expectStatus: number;
  timeoutMs: number;
  /** Failed checks in a row before it fires (a single lost packet is not an alarm). */
  consecutive: number;
}

export interface PrometheusStopCondition {
  name: string;
  /** Prometheus' base URL (http://prometheus:9090). */
  url: string;
  query: string;
  threshold: number;
  /** Fires when any series of the result is above (default) or below the threshold. */
  when: 'above' | 'below';
}

/** Everything the probes check while a fault holds, besides their own samples. */
export interface StopPlan {
  budgets: ProbeBudget[];
  /** The hosts doing the victim's job (other gateways, other dashboards), checked directly. */
  peers: { host: string; what: string; check: VictimCheck }[];
  /**
   * etcd: every member's /health; fewer healthy than the quorum for `consecutive` checks in a row
   * fires (an election makes members report unhealthy for a second or two: that is not quorum loss).
   */
  etcd?: { members: { name: string; check: VictimCheck }[]; quorum: number; consecutive: number };
  http: HttpStopCondition[];
  prometheus: PrometheusStopCondition[];
  /** How often the checks run while the fault holds (ms). */
  pollMs: number;
  /** Failed peer or quorum checks in a row before they fire. */
  consecutive: number;
}

export const STOP_POLL_MS = 250;

// ---- budgets (from the probes' own samples) ---------------------------------------------------

/**
 * Has a probe gone over its budget since the fault started (`since`, ms on the series clock)? The
 * outage is counted as the journal counts it (longestOutage), over the samples taken while it holds.
 */
export function overBudget(b: ProbeBudget, samples: readonly Sample[], okStatus: number[], since: number): string | undefined {
  const held = samples.filter(([t]) => t >= since).sort((x, y) => x[0] - y[0]);
  const ok = (st: number) => okStatus.includes(st);
  const failures = held.filter(([, st]) => !ok(st)).length;
  if (b.maxFailures !== undefined && failures > b.maxFailures) return `${failures} failed ${b.probe} request${failures === 1 ? '' : 's'} while the fault held (budget ${b.maxFailures})`;
  if (b.maxOutageMs !== undefined) {
    const outage = longestOutage(held, ok).ms;
    if (outage > b.maxOutageMs) return `${b.probe} outage of ${outage} ms through the load balancer while the fault held (budget ${b.maxOutageMs} ms)`;
  }
  return undefined;
}

// ---- checks -------------------------------------------------------------------------------------

export interface CheckResult {
  ok: boolean;
  detail: string;
  /** The HTTP status seen (0: no answer), where there was one. */
  status?: number;
}

/** A victim-style check (an HTTP URL, or etcd's /health with its client certificate) as a function. */
export async function healthCheck(v: VictimCheck, timeoutMs = 1000): Promise<() => Promise<CheckResult>> {
  let tls: ClientTls | undefined;
  if (v.kind === 'etcd-health' && v.tls) tls = { ca: await readFile(v.tls.caFile, 'utf8'), cert: await readFile(v.tls.certFile, 'utf8'), key: await readFile(v.tls.keyFile, 'utf8') };
  return async () => {
    const r = await http(v.url, { ...(v.kind === 'http' && v.headers ? { headers: v.headers } : {}), ...(tls ? { tls } : {}), timeoutMs });
    const okStatus = v.kind === 'http' ? v.okStatus : [200];
    if (!okStatus.includes(r.status)) return { ok: false, status: r.status, detail: `${v.url} answered ${r.error ?? r.status}` };
    // etcd's /health answers {"health":"true"} only on a member that is part of a quorum.
    if (v.kind === 'etcd-health' && !/"health":\s*"true"/.test(r.body)) return { ok: false, status: 503, detail: `${v.url} reports the member unhealthy` };
    return { ok: true, status: r.status, detail: 'healthy' };
  };
}

export async function httpCondition(c: HttpStopCondition): Promise<CheckResult> {
  const r = await http(c.url, { timeoutMs: c.timeoutMs });
  return r.status === c.expectStatus ? { ok: true, detail: `${r.status}` } : { ok: false, detail: `${c.url} answered ${r.error ?? r.status}, expected ${c.expectStatus}` };
}

/** Thrown when a Prometheus query cannot be evaluated: recorded, never taken for a firing. */
export class NotEvaluated extends Error {}

interface PromResponse {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** The numbers an instant query returned (a vector's samples, or a scalar). */
export function promValues(body: string): number[] {
  let j: PromResponse;
  try {
    j = JSON.parse(body) as PromResponse;
  } catch {
    throw new NotEvaluated('Prometheus answered something that is not JSON');
  }
  if (j.status !== 'success') throw new NotEvaluated(`Prometheus refused the query: ${j.error ?? j.status ?? 'no status'}`);
  const { resultType, result } = j.data ?? {};
  if (resultType === 'scalar' && Array.isArray(result)) return [Number(result[1])];
  if (resultType === 'vector' && Array.isArray(result)) return (result as { value?: [number, string] }[]).map((s) => Number(s.value?.[1]));
  throw new NotEvaluated(`the query returned a ${resultType ?? 'result'} (an instant vector or a scalar is needed)`);
}

export async function prometheusCondition(c: PrometheusStopCondition): Promise<CheckResult> {
  const url = `${c.url.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(c.query)}`;
  const r = await http(url, { timeoutMs: 2000 });
  if (r.status === 0) throw new NotEvaluated(`Prometheus at ${c.url} did not answer: ${r.error ?? 'no answer'}`);
  if (r.status !== 200 && r.status !== 400 && r.status !== 422) throw new NotEvaluated(`Prometheus at ${c.url} answered ${r.status}`);
  const values = promValues(r.body).filter((v) => !Number.isNaN(v));
  const hit = values.find((v) => (c.when === 'below' ? v < c.threshold : v > c.threshold));
  return hit === undefined
    ? { ok: true, detail: values.length ? `${values.join(', ')}` : 'empty result' }
    : { ok: false, detail: `${c.query} = ${hit}, ${c.when} ${c.threshold}` };
}

// ---- the watcher ------------------------------------------------------------------------------

interface Watched {
  condition: string;
  kind: StopFired['kind'];
  run: () => Promise<CheckResult>;
  /** Failures in a row before firing. */
  consecutive: number;
  record: StopConditionRecord;
  failedInRow: number;
  busy: boolean;
}

/**
 * The checks of a stop plan (peers, etcd quorum, HTTP, Prometheus), polled while the fault holds.
 * `poll` starts each check that is not still running and calls `fire` once with the first that fails
 * often enough; records say how often each ran and its last evaluation problem.
 */
export class StopWatcher {
  private readonly watched: Watched[] = [];

  private constructor() {}

  static async of(plan: StopPlan): Promise<StopWatcher> {
    const w = new StopWatcher();
    const add = (condition: string, kind: StopFired['kind'], run: () => Promise<CheckResult>, consecutive: number) =>
      w.watched.push({ condition, kind, run, consecutive, record: { condition, kind, checks: 0, fired: false }, failedInRow: 0, busy: false });
    for (const b of plan.budgets) w.budgetRecords.push({ condition: `${b.probe}-budget`, kind: 'budget', checks: 0, fired: false });
    for (const p of plan.peers) {
      const check = await healthCheck(p.check);
      add(`peer-unhealthy:${p.host}`, 'peers', async () => {
        const r = await check();
        return r.ok ? r : { ok: false, detail: `${p.what} ${p.host}, a peer of the victim, is unhealthy: ${r.detail}` };
      }, plan.consecutive);
    }
    if (plan.etcd) {
      const { members, quorum } = plan.etcd;
      const checks = await Promise.all(members.map(async (m) => ({ name: m.name, check: await healthCheck(m.check) })));
      add('etcd-quorum', 'etcd-quorum', async () => {
        const results = await Promise.all(checks.map(async (c) => ({ name: c.name, r: await c.check() })));
        const healthy = results.filter((x) => x.r.ok).map((x) => x.name);
        return healthy.length >= quorum
          ? { ok: true, detail: `${healthy.length} of ${members.length} healthy` }
          : { ok: false, detail: `etcd lost quorum: ${healthy.length} of ${members.length} members healthy (${healthy.join(', ') || 'none'}), ${quorum} needed` };
      }, plan.etcd.consecutive);
    }
    for (const c of plan.http) add(c.name, 'http', () => httpCondition(c), c.consecutive);
    for (const c of plan.prometheus) add(c.name, 'prometheus', () => prometheusCondition(c), 1);
    return w;
  }

  /** Budgets are evaluated on the probes' samples; they have records too. */
  readonly budgetRecords: StopConditionRecord[] = [];

  /** Start every check not still in flight; `fire` is called for a check that failed often enough. */
  poll(fire: (f: StopFired) => void): void {
    for (const w of this.watched) {
      if (w.busy) continue;
      w.busy = true;
      void w
        .run()
        .then((r) => {
          w.record.checks++;
          w.failedInRow = r.ok ? 0 : w.failedInRow + 1;
          if (!r.ok && w.failedInRow >= w.consecutive) {
            w.record.fired = true;
            fire({ condition: w.condition, kind: w.kind, detail: r.detail, firedAt: Date.now() });
          }
        })
        .catch((e: unknown) => {
          w.record.checks++;
          w.record.lastError = e instanceof Error ? e.message : String(e);
        })
        .finally(() => {
          w.busy = false;
        });
    }
  }

  records(): StopConditionRecord[] {
    return [...this.budgetRecords, ...this.watched.map((w) => w.record)];
  }
}
