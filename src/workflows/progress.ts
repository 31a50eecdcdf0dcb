// The run's step tree: what `api7-ha watch` and the Temporal UI show. Kept in workflow state, read with
// a query, mirrored into the Api7Phase search attribute so lists and filters show the current step.
import { defineQuery, upsertSearchAttributes } from '@temporalio/workflow';
import { searchAttributes } from './search-attributes';

export type Status = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface HostProgress {
  status: Status;
  detail?: string;
  startedAt?: number;
  endedAt?: number;
}

export interface StepProgress {
  name: string;
  title: string;
  status: Status;
  startedAt?: number;
  endedAt?: number;
  summary?: string;
  error?: string;
  hosts: Record<string, HostProgress>;
}

export interface RunProgress {
  kind: 'deploy' | 'failover' | 'drill';
  cluster: string;
  status: Status;
  phase: string;
  startedAt: number;
  endedAt?: number;
  steps: StepProgress[];
  error?: string;
}

export const progressQuery = defineQuery<RunProgress>('progress');

export class Progress {
  readonly state: RunProgress;

  constructor(kind: RunProgress['kind'], cluster: string, steps: [name: string, title: string][]) {
    this.state = {
      kind,
      cluster,
      status: 'running',
      phase: 'starting',
      startedAt: Date.now(),
      steps: steps.map(([name, title]) => ({ name, title, status: 'pending', hosts: {} })),
    };
  }

  step(name: string): StepProgress {
    const s = this.state.steps.find((x) => x.name === name);
    if (!s) throw new Error(`unknown step ${name}`);
    return s;
  }

  /** Run one named step: marks it running, done or failed, and keeps the phase attribute current. */
  async run<T>(name: string, fn: () => Promise<T>, summarize?: (result: T) => string): Promise<T> {
    const s = this.step(name);
    s.status = 'running';
    s.startedAt = Date.now();
    this.state.phase = name;
    upsertSearchAttributes([{ key: searchAttributes.phase, value: name }]);
    try {
      const result = await fn();
      s.status = 'done';
      if (summarize) s.summary = summarize(result);
      return result;
    } catch (e) {
      s.status = 'failed';
      s.error = messageOf(e);
      throw e;
    } finally {
      s.endedAt = Date.now();
    }
  }

  skip(name: string, why: string): void {
    const s = this.step(name);
    s.status = 'skipped';
    s.summary = why;
  }

  /** Track one host's part of the current step. */
  async host<T>(stepName: string, host: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
    const h: HostProgress = { status: 'running', startedAt: Date.now() };
    this.step(stepName).hosts[host] = h;
    try {
      const r = await fn();
      h.status = 'done';
      if (detail) h.detail = detail(r);
      return r;
    } catch (e) {
      h.status = 'failed';
      h.detail = messageOf(e);
      throw e;
    } finally {
      h.endedAt = Date.now();
    }
  }

  hostNote(stepName: string, host: string, detail: string): void {
    const h = (this.step(stepName).hosts[host] ??= { status: 'running', startedAt: Date.now() });
    h.detail = detail;
  }

  finish(status: 'done' | 'failed', error?: unknown): void {
    this.state.status = status;
    this.state.phase = status === 'done' ? 'completed' : 'failed';
    this.state.endedAt = Date.now();
    if (error !== undefined) this.state.error = messageOf(error);
    upsertSearchAttributes([{ key: searchAttributes.phase, value: this.state.phase }]);
  }
}

/** The innermost message of a Temporal failure chain (ActivityFailure -> ApplicationFailure). */
export function messageOf(e: unknown): string {
  let cur = e as { message?: string; cause?: unknown } | undefined;
  let msg = cur?.message ?? String(e);
  while (cur && typeof cur === 'object' && cur.cause) {
    cur = cur.cause as { message?: string; cause?: unknown };
    if (cur?.message) msg = cur.message;
  }
  return msg;
}
