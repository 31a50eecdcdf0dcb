// The runbooks in this process, without Temporal: every operation straight from the table
// (src/operations) with executors of one mode. `plan`: read-only probes, every change recorded per
// step and host (`deploy --plan`); `simulate`: fresh hosts, no connection at all (`--plan --offline`,
// the planning benchmark); `apply`: for real, the bench's direct lower bound (what durability costs).
// Child runs (the failover checks) are not started here; groups of child work run inline.
import { FaultDrivers } from '../drills/drivers';
import type { SshTarget } from '../inventory/model';
import { OPERATIONS, type HostOpContext, type OpContext } from '../operations';
import { sleep } from '../reconcile/context';
import { HostExecutor, type Connections, type Mode, type PlannedAction } from '../remote/executor';
import { ConnectError } from '../remote/ssh';
import { OPERATION_META } from '../runbook/operations';
import { messageOf, type BatchAt, type Fragment, type HostOutcome, type OpName, type Ops, type Runner, type Step } from '../runbook/runner';
import type { HostStep, Secrets } from '../steps/inputs';

export interface HostRecord {
  host: string;
  actions: PlannedAction[];
  notes: string[];
}

export interface StepRecord {
  id: string;
  title: string;
  hosts: Map<string, HostRecord>;
  notes: string[];
  skipped?: string;
  startedAt?: number;
  endedAt?: number;
}

export interface InProcessOptions {
  mode: Mode;
  /** SSH connections (none for simulate). */
  pool?: Connections;
  steps: { id: string; title: string }[];
  /** The run's identity: children's IDs and nonces derive from it. */
  id: string;
  stamp: string;
  faultDrivers?: FaultDrivers;
  /** Answers known beforehand, in place of an operation (the packages a plan was given). */
  overrides?: Partial<Ops>;
}

type AnyRun = (ctx: unknown, ...args: unknown[]) => Promise<unknown>;
const noop = () => undefined;

export class InProcessRunner<Id extends string = string> {
  readonly steps: StepRecord[];
  readonly blockers: { type: string; message: string }[] = [];
  /** Hosts that could not be reached: planned no further. */
  readonly unreachable = new Set<string>();
  private readonly planning: boolean;
  private readonly pool: Connections;

  constructor(private readonly opts: InProcessOptions) {
    this.steps = opts.steps.map((s) => ({ id: s.id, title: s.title, hosts: new Map(), notes: [] }));
    this.planning = opts.mode !== 'apply';
    const pool = opts.pool;
    // A host whose SSH connection fails is unreachable: later steps do not probe it again.
    this.pool = {
      get: (t) => {
        if (!pool) return Promise.reject(new Error('this run has no SSH connections (simulate)'));
        return pool.get(t).catch((e: unknown) => {
          if (e instanceof ConnectError) this.unreachable.add(t.host);
          throw e;
        });
      },
    };
  }

  runner(): Runner<Id> {
    const runner: Omit<Runner<Id>, OpName> = {
      id: this.opts.id,
      runId: this.opts.mode,
      stamp: this.opts.stamp,
      step: async <T>(id: Id, fn: (s: Step) => Promise<T>) => {
        const rec = this.record(id);
        rec.startedAt = Date.now();
        try {
          return await fn(this.stepHandle(rec));
        } finally {
          rec.endedAt = Date.now();
        }
      },
      skip: (id: Id, why: string) => {
        this.record(id).skipped = why;
      },
      critical: (fn) => fn(),
      stopIfCancelled: noop,
      isCancellation: () => false,
      block: (message: string, type: string) => {
        if (!this.planning) throw Object.assign(new Error(message), { type });
        this.blockers.push({ type, message });
      },
      // A plan never waits.
      sleep: (ms: number) => (this.planning ? Promise.resolve() : sleep(ms)),
      patched: () => true,
      log: noop,
      durations: () => Object.fromEntries(this.steps.filter((s) => s.startedAt !== undefined && s.endedAt !== undefined).map((s) => [s.id, s.endedAt! - s.startedAt!])),
    };
    return Object.assign(this.ops(undefined), runner) as Runner<Id>;
  }

  private record(id: string): StepRecord {
    const rec = this.steps.find((s) => s.id === id);
    if (!rec) throw new Error(`unknown step ${id}`);
    return rec;
  }

  private stepHandle(rec: StepRecord): Step {
    const step = {
      id: rec.id,
      batch: <I, R extends HostOutcome>(f: Fragment<I, R>, items: I[], _at: BatchAt) =>
        Promise.all(items.map((i) => f.run(handle, i).catch((e: unknown) => ({ host: f.host(i), ok: false, error: messageOf(e) }) as R))),
      child: () => Promise.resolve(undefined),
      critical: <T>(fn: () => Promise<T>) => fn(),
    };
    const handle = Object.assign(this.ops(rec), step) as Step;
    return handle;
  }

  private ops(rec: StepRecord | undefined): Ops {
    const ops: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const name of Object.keys(OPERATION_META) as OpName[]) ops[name] = (...args) => this.call(rec, name, args);
    return ops as unknown as Ops;
  }

  private context(rec: StepRecord | undefined, mode: Mode): OpContext {
    return {
      heartbeat: noop,
      log: noop,
      mode,
      executor: (t: SshTarget, secrets: Secrets) => new HostExecutor(t, this.pool, mode, secrets),
      faultDrivers: this.opts.faultDrivers ?? new FaultDrivers(),
      note: (text) => {
        if (rec && !rec.notes.includes(text)) rec.notes.push(text);
      },
    };
  }

  private async call(rec: StepRecord | undefined, name: OpName, args: unknown[]): Promise<unknown> {
    const override = this.opts.overrides?.[name] as ((...a: unknown[]) => Promise<unknown>) | undefined;
    if (override) return override(...args);
    const op = (OPERATIONS as Record<string, (typeof OPERATIONS)[keyof typeof OPERATIONS]>)[name];
    if (!op) throw new Error(`${name} runs only on Temporal`);
    switch (op.on) {
      case 'host':
        return this.onHost(rec, name, op.run as AnyRun, args);
      case 'each': {
        const run = (this.planning && 'plan' in op && op.plan ? op.plan : op.run) as AnyRun;
        return Promise.all((args[0] as HostStep[]).map((item) => this.onHost(rec, name, run, [item])));
      }
      case 'worker': {
        if (this.planning && !('plan' in op && op.plan)) throw new Error(`${name} does not run in a plan`);
        const run = (this.planning ? (op as { plan: AnyRun }).plan : op.run) as AnyRun;
        return run(this.context(rec, this.opts.mode), ...args);
      }
    }
  }

  /** One host's part: its executor records what would change; in a plan a failure does not stop the plan. */
  private async onHost(rec: StepRecord | undefined, name: OpName, run: AnyRun, args: unknown[]): Promise<unknown> {
    const { target, secrets } = args[0] as HostStep;
    const host = rec ? this.hostRecord(rec, target.host) : undefined;
    const runOn = (exec: HostExecutor) => run({ ...this.context(rec, exec.mode), exec } satisfies HostOpContext, ...args);
    // Go on planning as if the host were fresh, without showing those made-up changes.
    const asFreshHost = (note: string) => {
      if (host && !host.notes.includes(note)) host.notes.push(note);
      return runOn(new HostExecutor(target, this.pool, 'simulate', secrets));
    };
    if (this.planning && this.unreachable.has(target.host)) return asFreshHost('unreachable: not probed');
    const exec = new HostExecutor(target, this.pool, this.opts.mode, secrets);
    try {
      const result = await runOn(exec);
      host?.actions.push(...exec.planned);
      const note = this.planning ? OPERATION_META[name].planNote?.(result as never) : undefined;
      if (note) host?.notes.push(note);
      return result;
    } catch (e) {
      if (!this.planning) throw e;
      host?.actions.push(...exec.planned);
      return asFreshHost(this.unreachable.has(target.host) ? 'unreachable: not probed' : `cannot plan: ${messageOf(e)}`);
    }
  }

  private hostRecord(rec: StepRecord, host: string): HostRecord {
    let h = rec.hosts.get(host);
    if (!h) rec.hosts.set(host, (h = { host, actions: [], notes: [] }));
    return h;
  }
}
