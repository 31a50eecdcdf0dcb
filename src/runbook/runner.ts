// What a runbook is written against. A runbook (deploy.ts, drill.ts) is a plain async function that
// says what runs, in which order, on which hosts, with which inputs; a Runner says how: on Temporal
// (src/workflows/runner.ts: activities, child workflows, non-cancellable scopes, the watch tree), in
// this process with read-only probes (`deploy --plan`) or for real without Temporal (the bench's
// direct lower bound), both src/plan/runner.ts. Pure: no Node built-ins, no @temporalio imports.
import type { Activities } from '../activities';
import type { ChildRuns } from './types';

/** Every operation by name, as a runbook calls it: `s.ensureEtcdMember(step, stamp)`. */
export type Ops = Activities;
export type OpName = keyof Ops;

/** One step of a runbook: the watch tree's line, the plan's section, the bench's phase. */
export interface StepDef<I, Id extends string = string> {
  id: Id;
  title: string | ((input: I) => string);
  /** What a plan says about this step besides its hosts' changes (work it does not run, such as checks). */
  plan?: (input: I) => string[];
}

export const titleOf = <I>(d: StepDef<I>, input: I): string => (typeof d.title === 'function' ? d.title(input) : d.title);

/** A host's part of some child work: what it did, or why it failed (a failed item is reported, not thrown). */
export interface HostOutcome {
  host: string;
  ok: boolean;
  error?: string;
}

/**
 * A piece of a runbook for one host that can also run in a child workflow, a group of hosts at once
 * (bounded histories at any scale). The child finds it by `name` in the runbook's FRAGMENTS.
 */
export interface Fragment<I, R extends HostOutcome> {
  name: string;
  title: string;
  host(item: I): string;
  run(s: Step, item: I): Promise<R>;
  /** The host's line in the watch tree once done. */
  describe(r: R): string;
}

/** A child run's ID: the parent's, then what it is (`deploy-lab-failover`, `deploy-lab-dp-batch-2`). */
export const childId = (parentId: string, id: string, index?: number) => `${parentId}-${id}${index === undefined ? '' : `-${index + 1}`}`;

/** Where a group of child work sits: `childId(run, id, index)` is the child's workflow ID. */
export interface BatchAt {
  id: string;
  index: number;
  of: number;
  /** What the group is made of, for titles: "gateways". */
  what: string;
}

/** Inside a step: its operations (hosts' parts are tracked by the first argument's target), child work. */
export interface Step extends Ops {
  readonly id: string;
  /** Run a fragment for each item of one group, all at once; failed items come back with ok: false. */
  batch<I, R extends HostOutcome>(fragment: Fragment<I, R>, items: I[], at: BatchAt): Promise<R[]>;
  /** See Runner.critical (fragments in child runs get only their step). */
  critical<T>(fn: () => Promise<T>): Promise<T>;
  /** Another runbook as a child run (the deploy's failover checks). Undefined where children do not run: plans. */
  child<K extends keyof ChildRuns>(kind: K, input: ChildRuns[K]['input'], at: { id: string; summary: string }): Promise<ChildRuns[K]['result'] | undefined>;
}

export interface Runner<Id extends string = string> extends Ops {
  /** The run's ID (children's IDs derive from it). */
  readonly id: string;
  readonly runId: string;
  /** The run's start as a stamp (backup suffixes: the same on every retry). */
  readonly stamp: string;
  /** Run a step: the watch tree shows it running, done (with the summary) or failed; a plan records it. */
  step<T>(id: Id, fn: (s: Step) => Promise<T>, summary?: (result: T) => string): Promise<T>;
  skip(id: Id, why: string): void;
  /** Work a cancel must let finish (half of it would leave a host broken): it completes, then the cancel lands. */
  critical<T>(fn: () => Promise<T>): Promise<T>;
  /** End the run here if it was cancelled (before work that a cancel must not start). */
  stopIfCancelled(why: string): void;
  isCancellation(e: unknown): boolean;
  /**
   * A failure no retry can fix (a blocked preflight, a failure budget exceeded). Throws on Temporal and
   * in a direct run; a plan records it as a blocker and goes on, so it shows everything at once.
   */
  block(message: string, type: string, details?: unknown): void;
  sleep(ms: number): Promise<void>;
  /**
   * Has this run taken the code path added under `id`? True for new runs; false when a Temporal
   * history from before the change is replayed (workflow versioning: patched()).
   */
  patched(id: string): boolean;
  log(message: string, attrs?: Record<string, unknown>): void;
  /** Each finished step's duration (ms), from the step tree. */
  durations(): Record<string, number>;
}

/** A failure's type (ApplicationFailure.type on Temporal), read without importing the SDK. */
export const failureType = (e: unknown): string | undefined => (e && typeof e === 'object' && 'type' in e && typeof e.type === 'string' ? e.type : undefined);

/** The innermost message of a failure chain (ActivityFailure -> ApplicationFailure). */
export function messageOf(e: unknown): string {
  let cur = e as { message?: string; cause?: unknown } | undefined;
  let msg = cur?.message ?? String(e);
  while (cur && typeof cur === 'object' && cur.cause) {
    cur = cur.cause as { message?: string; cause?: unknown };
    if (cur?.message) msg = cur.message;
  }
  return msg;
}
