// What the day-2 etcd runbooks are written against: the runner's steps and the operations they call,
// by name. It is the part of the runbook Runner these runbooks use, so the Temporal runner (and any
// in-process one) runs them unchanged. Pure: no Node built-ins, no Temporal imports.
import type { ArtifactFacts, ArtifactPaths } from '../artifacts/inspect';
import type { EtcdOperations } from '../operations/etcd';
import type { ApiTarget, ComponentStep, Endpoints, EtcdMemberStep, ProbeSettings, QuorumCheckInput } from '../steps/inputs';
import type { ConfigureResult, HealthResult, StartResult } from '../reconcile/component';
import type { MemberResult, QuorumReport } from '../reconcile/etcd';
import type { PropagationResult } from '../reconcile/verify';
import type { Runner } from './runner';

/** Deploy operations the day-2 runbooks reuse, with the deploy's signatures. */
export interface SharedOps {
  inspectArtifacts(paths: ArtifactPaths): Promise<ArtifactFacts>;
  checkQuorum(input: QuorumCheckInput): Promise<QuorumReport>;
  ensureEtcdMember(step: EtcdMemberStep, stamp: string): Promise<MemberResult>;
  recreateEtcdMember(step: EtcdMemberStep, stamp: string): Promise<MemberResult>;
  configureComponent(step: ComponentStep): Promise<ConfigureResult>;
  startComponent(step: ComponentStep, configChanged: boolean): Promise<StartResult>;
  waitComponentHealthy(step: ComponentStep): Promise<HealthResult>;
  checkLoadBalancers(endpoints: Endpoints, checks: { cpHealthPath: string; probe: { host: string; path: string; expectStatus: number } }, deadlineS: number): Promise<unknown>;
  verifyPropagation(api: ApiTarget, endpoints: Endpoints, probe: ProbeSettings, nonce: string, deadlineS: number): Promise<PropagationResult>;
}

export type DayTwoOps = EtcdOperations & SharedOps;

export interface DayTwoStep extends DayTwoOps {
  readonly id: string;
  critical<T>(fn: () => Promise<T>): Promise<T>;
}

/** The runner's members these runbooks use, with the runner's own definitions; steps see DayTwoStep. */
export interface DayTwoRunner<Id extends string = string>
  extends DayTwoOps,
    Pick<Runner<Id>, 'id' | 'runId' | 'stamp' | 'skip' | 'critical' | 'stopIfCancelled' | 'isCancellation' | 'block' | 'sleep'> {
  step<T>(id: Id, fn: (s: DayTwoStep) => Promise<T>, summary?: (result: T) => string): Promise<T>;
}

export interface DayTwoStepDef<I, Id extends string = string> {
  id: Id;
  title: string | ((input: I) => string);
  plan?: (input: I) => string[];
}

/** Refuse: the runner's block, and a throw for runners whose block only records (plans). */
export function refuse(r: Pick<DayTwoRunner, 'block'>, message: string, type: string): never {
  r.block(message, type);
  throw new Error(message);
}

/** The step tree's steps from a runbook's definitions and its input. */
export const stepsOf = <I, Id extends string>(defs: readonly DayTwoStepDef<I, Id>[], input: I) => defs.map((d) => ({ id: d.id, title: typeof d.title === 'function' ? d.title(input) : d.title }));
