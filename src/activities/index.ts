// The Temporal activities: every operation of the table (src/operations), each wrapped for its host
// (one pooled SSH connection, heartbeats, failures classified as retryable or not); plus the three
// that only exist on Temporal (probes that ask their drill when to stop, the drill count victims
// rotate by, the lock's holder).
import type { SshTarget } from '../inventory/model';
import { OPERATIONS, type EachHostOp, type HostOp, type OpContext, type Operations, type WorkerOp } from '../operations';
import type { StepContext } from '../reconcile/context';
import { HostExecutor } from '../remote/executor';
import type { HostStep } from '../steps/inputs';
import { local, onHost, type ActivityDeps } from './runtime';
import { temporalActivities, type TemporalActivities } from './temporal';

export type { ActivityDeps } from './runtime';

/** Every activity the worker registers; workflows proxy this type. */
export type Activities = Operations & TemporalActivities;

type AnyOp = HostOp<never, unknown> | EachHostOp<never, unknown> | WorkerOp<never, unknown>;
type Activity = (...args: unknown[]) => Promise<unknown>;

function activityOf(deps: ActivityDeps, op: AnyOp): Activity {
  const host = onHost(deps);
  const withOps = <C extends Omit<StepContext, 'exec'>>(ctx: C): C & OpContext => ({
    ...ctx,
    mode: 'apply',
    executor: (t: SshTarget, secrets) => new HostExecutor(t, deps.pool, 'apply', secrets),
    faultDrivers: deps.faultDrivers,
    note: () => undefined,
  });
  const run = op.run as (ctx: unknown, ...args: unknown[]) => Promise<unknown>;
  switch (op.on) {
    case 'host':
      return (...args) => {
        const step = args[0] as HostStep;
        return host(step.target, step.secrets, (ctx) => run(withOps(ctx), ...args));
      };
    case 'each':
      return (items) => Promise.all((items as HostStep[]).map((i) => host(i.target, i.secrets, (ctx) => run(withOps(ctx), i))));
    case 'worker':
      return (...args) => local((ctx) => run(withOps(ctx), ...args));
  }
}

export function createActivities(deps: ActivityDeps): Activities {
  const fromTable = Object.fromEntries(Object.entries(OPERATIONS).map(([name, op]) => [name, activityOf(deps, op as AnyOp)])) as unknown as Operations;
  return { ...fromTable, ...temporalActivities(deps) };
}
