// The runbooks on Temporal. Each operation is an activity with its named profile and a summary for
// the UI; each step and each host's part of it is tracked in the run's step tree automatically;
// groups of child work are child workflows (runbookBatch), the deploy's failover checks the drill
// workflow; critical sections are non-cancellable scopes. Workflow code: deterministic, no I/O.
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  executeChild,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { progressQuery, type LockHolder, type RunProgress } from '../contracts';
import { OPERATION_META, OP_NAMES, hostRange } from '../runbook/operations';
import { childId, messageOf, type BatchAt, type Fragment, type HostOutcome, type OpName, type Ops, type Runner, type Step } from '../runbook/runner';
import type { ChildRuns } from '../runbook/types';
import { stampOf } from '../steps/inputs';
import { acquireClusterLock, releaseClusterLock } from './cluster-lock';
import { PROFILES } from './profiles';
import { Progress } from './progress';
import { searchAttributes } from './search-attributes';

const act = proxyActivities<Activities>(PROFILES.quick);

/** The first argument's host, for operations on one host (their input carries its SSH target). */
const hostOf = (args: unknown[]): string | undefined => (args[0] as { target?: { host?: unknown } } | undefined)?.target?.host as string | undefined;

/** The workflows a run starts as children, passed in by the workflow that runs it (no import circle). */
export interface ChildWorkflows {
  batch?: (input: BatchInput) => Promise<HostOutcome[]>;
  drill?: (input: ChildRuns['drill']['input']) => Promise<ChildRuns['drill']['result']>;
}

export interface BatchInput {
  fragment: string;
  kind: RunProgress['kind'];
  cluster: string;
  at: BatchAt;
  items: unknown[];
}

export class TemporalRunner<Id extends string> {
  readonly id = workflowInfo().workflowId;
  readonly runId = workflowInfo().runId;
  readonly stamp = stampOf(workflowInfo().startTime);

  constructor(
    readonly progress: Progress,
    private readonly children: ChildWorkflows = {},
  ) {}

  /** The runner a runbook gets: itself plus every operation, called outside any step. */
  runner(): Runner<Id> {
    return Object.assign(Object.create(null) as object, this.ops(undefined), {
      id: this.id,
      runId: this.runId,
      stamp: this.stamp,
      step: <T>(id: Id, fn: (s: Step) => Promise<T>, summary?: (r: T) => string) => this.progress.track(id, () => fn(this.stepHandle(id)), summary),
      skip: (id: Id, why: string) => this.progress.skip(id, why),
      critical: <T>(fn: () => Promise<T>) => CancellationScope.nonCancellable(fn),
      stopIfCancelled: (why: string) => {
        if (CancellationScope.current().consideredCancelled) throw new CancelledFailure(why);
      },
      isCancellation: (e: unknown) => isCancellation(e),
      block: (message: string, type: string, details?: unknown) => {
        throw ApplicationFailure.nonRetryable(message, type, ...(details === undefined ? [] : [details]));
      },
      sleep: (ms: number) => sleep(ms),
      abortable: <T>(fn: () => Promise<T>, when: () => boolean) => abortable(fn, when),
      patched: (changeId: string) => patched(changeId),
      log: (message: string, attrs?: Record<string, unknown>) => log.error(message, attrs),
      durations: () => this.progress.durations(),
    }) as Runner<Id>;
  }

  stepHandle(stepId: string): Step {
    return Object.assign(Object.create(null) as object, this.ops(stepId), {
      id: stepId,
      batch: <I, R extends HostOutcome>(f: Fragment<I, R>, items: I[], at: BatchAt) => this.batch(stepId, f, items, at),
      child: <K extends keyof ChildRuns>(kind: K, input: ChildRuns[K]['input'], at: { id: string; summary: string }) => this.child(stepId, kind, input, at),
      critical: <T>(fn: () => Promise<T>) => CancellationScope.nonCancellable(fn),
    }) as Step;
  }

  /** Every operation as a method; inside a step, the host it works on gets a line in the step tree. */
  private ops(stepId: string | undefined): Ops {
    const ops: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const name of OP_NAMES) ops[name] = (...args) => this.call(stepId, name, args);
    return ops as unknown as Ops;
  }

  private async call(stepId: string | undefined, name: OpName, args: unknown[]): Promise<unknown> {
    const meta = OPERATION_META[name] as { profile: keyof typeof PROFILES; summary: (...a: unknown[]) => string; detail?: (r: unknown) => string; hosts?: (r: unknown) => { host: string; ok: boolean; detail: string }[] };
    const host = stepId ? hostOf(args) : undefined;
    const entry = host ? this.progress.hostRunning(stepId!, host) : undefined;
    try {
      const result = await (act[name].executeWithOptions as (o: object, a: unknown[]) => Promise<unknown>)({ ...PROFILES[meta.profile], summary: meta.summary(...args) }, args);
      if (entry) this.progress.hostEnded(entry, true, meta.detail?.(result));
      if (stepId && meta.hosts) for (const h of meta.hosts(result)) this.progress.hostEnded(this.progress.hostRunning(stepId, h.host), h.ok, h.detail, true);
      return result;
    } catch (e) {
      if (entry) this.progress.hostEnded(entry, false, messageOf(e), true);
      throw e;
    }
  }

  private async batch<I, R extends HostOutcome>(stepId: string, f: Fragment<I, R>, items: I[], at: BatchAt): Promise<R[]> {
    const workflowId = childId(this.id, at.id, at.index);
    const entries = items.map((i) => this.progress.hostRunning(stepId, f.host(i), `batch ${at.index + 1}/${at.of}`));
    this.progress.child(stepId, workflowId);
    const input: BatchInput = { fragment: f.name, kind: this.progress.state.kind, cluster: this.progress.state.cluster, at, items };
    const results = (await executeChild(this.workflow('batch'), {
      workflowId,
      args: [input],
      staticSummary: `${at.what}: ${f.title}, batch ${at.index + 1}/${at.of}: ${hostRange(items.map((i) => ({ host: f.host(i) })))}`,
    })) as R[];
    results.forEach((r, k) => this.progress.hostEnded(entries[k]!, r.ok, r.ok ? f.describe(r) : (r.error ?? 'failed'), true));
    return results;
  }

  private async child<K extends keyof ChildRuns>(stepId: string, kind: K, input: ChildRuns[K]['input'], at: { id: string; summary: string }): Promise<ChildRuns[K]['result']> {
    const workflowId = childId(this.id, at.id);
    this.progress.child(stepId, workflowId);
    return executeChild(this.workflow(kind) as NonNullable<ChildWorkflows['drill']>, { workflowId, args: [input], staticSummary: at.summary });
  }

  private workflow<K extends keyof ChildWorkflows>(kind: K): NonNullable<ChildWorkflows[K]> {
    const w = this.children[kind];
    if (!w) throw ApplicationFailure.nonRetryable(`this workflow starts no ${kind} children`, 'Misconfigured');
    return w;
  }
}

/** See Runner.abortable: a scope of its own, cancelled when `when()` turns true. */
async function abortable<T>(fn: () => Promise<T>, when: () => boolean): Promise<{ aborted: boolean; value?: T }> {
  const scope = new CancellationScope();
  let done = false;
  const work = scope.run(fn).finally(() => (done = true));
  // Wakes up on the signal that makes `when` true (or when the work ends on its own).
  void condition(() => done || when())
    .then(() => {
      if (!done) scope.cancel();
    })
    .catch(() => undefined); // the whole run was cancelled: the work sees it too
  try {
    return { aborted: false, value: await work };
  } catch (e) {
    if (isCancellation(e) && when() && !CancellationScope.current().consideredCancelled) return { aborted: true };
    throw e;
  }
}

export interface Run<Id extends string, T> {
  kind: RunProgress['kind'];
  cluster: string;
  /** Set the cluster and kind search attributes (runs an operator lists; not batches). */
  listed?: boolean;
  steps: { id: Id; title: string }[];
  /** Hold the cluster's lock for the whole run (one deploy or drill per cluster). */
  lock?: LockHolder['kind'];
  /** How the run ends in its step tree when it returns (a drill can return a failed verdict). */
  outcome?: (result: T) => { ok: boolean; error?: string };
  /** The message a cancel ends the run with. */
  cancelled: string;
  children?: ChildWorkflows;
  /** What `watch` shows of the run right now besides its steps (a drill's current scenario). */
  live?: () => RunProgress['live'];
}

/** A runbook as a workflow: the step tree and its query, search attributes, the lock, the end state. */
export async function onTemporal<Id extends string, T>(run: Run<Id, T>, body: (r: Runner<Id>) => Promise<T>): Promise<T> {
  const progress = new Progress(run.kind, run.cluster, run.steps);
  setHandler(progressQuery, () => {
    const live = run.live?.();
    return live ? { ...progress.state, live } : progress.state;
  });
  if (run.listed !== false)
    upsertSearchAttributes([
      { key: searchAttributes.cluster, value: run.cluster },
      { key: searchAttributes.kind, value: run.kind },
    ]);
  const runner = new TemporalRunner<Id>(progress, run.children).runner();
  let lock: Awaited<ReturnType<typeof acquireClusterLock>> | undefined;
  try {
    // One deploy or drill at a time per cluster (the ID deploy-<cluster> already stops a second deploy).
    if (run.lock) lock = await acquireClusterLock(run.cluster, run.lock);
    const result = await body(runner);
    const end = run.outcome?.(result) ?? { ok: true };
    progress.finish(end.ok ? 'done' : 'failed', end.error);
    return result;
  } catch (e) {
    progress.finish('failed', e);
    // Cancelled while a child or an activity ran: end as CANCELLED (after every restore ran).
    if (isCancellation(e) && !(e instanceof CancelledFailure)) throw new CancelledFailure(`${run.cancelled} (${messageOf(e)})`);
    throw e;
  } finally {
    const held = lock;
    if (held) await CancellationScope.nonCancellable(() => releaseClusterLock(held));
  }
}
