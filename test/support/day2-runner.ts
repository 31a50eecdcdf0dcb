// The day-2 runbooks run in this process, for real, without Temporal: every operation is its reconcile
// function with an executor from one SSH pool. Steps and their results are recorded for assertions.
import { inspectArtifacts } from '../../src/artifacts/inspect';
import type { SshTarget } from '../../src/inventory/model';
import { ETCD_OPERATIONS, type EtcdOpContext } from '../../src/operations/etcd';
import type { HostStep, Secrets } from '../../src/steps/inputs';
import * as component from '../../src/reconcile/component';
import * as etcd from '../../src/reconcile/etcd';
import { waitLoadBalancersServing } from '../../src/reconcile/loadbalancer';
import { verifyPropagation } from '../../src/reconcile/verify';
import { HostExecutor } from '../../src/remote/executor';
import type { SshPool } from '../../src/remote/ssh';
import type { DayTwoOps, DayTwoRunner, DayTwoStep } from '../../src/runbook/day2-runner';

export interface DirectRun<Id extends string> extends DayTwoRunner<Id> {
  steps: { id: Id; status: 'done' | 'failed' | 'skipped'; summary?: string; error?: string; ms: number }[];
}

export function directRunner<Id extends string>(pool: SshPool, id: string, stamp: string): DirectRun<Id> {
  const base = { heartbeat: () => undefined, log: () => undefined };
  const ctx: EtcdOpContext = { ...base, executor: (t: SshTarget, secrets: Secrets) => new HostExecutor(t, pool, 'apply', secrets) };
  const onHost = (step: HostStep) => ({ ...ctx, exec: ctx.executor(step.target, step.secrets) });
  const ops: Record<string, (...a: unknown[]) => Promise<unknown>> = {};
  for (const [name, op] of Object.entries(ETCD_OPERATIONS)) {
    const run = op.run as (c: unknown, ...a: unknown[]) => Promise<unknown>;
    ops[name] = (...args) => run(op.on === 'host' ? onHost(args[0] as HostStep) : ctx, ...args);
  }
  const shared: Pick<DayTwoOps, 'inspectArtifacts' | 'checkQuorum' | 'ensureEtcdMember' | 'recreateEtcdMember' | 'configureComponent' | 'startComponent' | 'waitComponentHealthy' | 'checkLoadBalancers' | 'verifyPropagation'> = {
    inspectArtifacts: (p) => inspectArtifacts(p),
    checkQuorum: (input) => etcd.waitForQuorum(base, (t) => ctx.executor(t, input.secrets), input),
    ensureEtcdMember: (step, stamp2) => etcd.ensureMember(onHost(step), step, stamp2),
    recreateEtcdMember: (step, stamp2) => etcd.recreateMember(onHost(step), step, stamp2),
    configureComponent: (step) => component.configureComponent(onHost(step), step),
    startComponent: (step, changed) => component.startComponent(onHost(step), step, changed),
    waitComponentHealthy: (step) => component.waitComponentHealthy(onHost(step), step),
    checkLoadBalancers: (endpoints, checks, deadlineS) => waitLoadBalancersServing(base, endpoints, checks, deadlineS),
    verifyPropagation: (api, endpoints, probe, nonce, deadlineS) => verifyPropagation(base, api, endpoints, probe, nonce, deadlineS),
  };
  const all = { ...ops, ...shared } as unknown as DayTwoOps;
  const steps: DirectRun<Id>['steps'] = [];
  const stepHandle = (sid: string): DayTwoStep => Object.assign(Object.create(null) as object, all, { id: sid, critical: <T>(fn: () => Promise<T>) => fn() }) as DayTwoStep;
  return Object.assign(Object.create(null) as object, all, {
    id,
    runId: `${id}-run`,
    stamp,
    steps,
    async step<T>(sid: Id, fn: (s: DayTwoStep) => Promise<T>, summary?: (r: T) => string): Promise<T> {
      const t0 = Date.now();
      try {
        const r = await fn(stepHandle(sid));
        steps.push({ id: sid, status: 'done', ...(summary ? { summary: summary(r) } : {}), ms: Date.now() - t0 });
        return r;
      } catch (e) {
        steps.push({ id: sid, status: 'failed', error: (e as Error).message, ms: Date.now() - t0 });
        throw e;
      }
    },
    skip: (sid: Id, why: string) => void steps.push({ id: sid, status: 'skipped', summary: why, ms: 0 }),
    critical: <T>(fn: () => Promise<T>) => fn(),
    stopIfCancelled: () => undefined,
    isCancellation: () => false,
    block: (message: string) => {
      throw new Error(message);
    },
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  }) as DirectRun<Id>;
}
