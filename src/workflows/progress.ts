// The run's step tree: what `api7-ha watch` and the Temporal UI show. Kept in workflow state, read with
// progressQuery, mirrored into the Api7Phase search attribute so lists and filters show the current
// step. The Temporal runner keeps it: steps from the runbook's definitions, hosts from the operations.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { HostProgress, RunProgress, StepProgress } from '../contracts';
import { messageOf } from '../runbook/runner';
import { searchAttributes } from './search-attributes';

export type { HostProgress, RunProgress, Status, StepProgress } from '../contracts';

export class Progress {
  readonly state: RunProgress;

  constructor(kind: RunProgress['kind'], cluster: string, steps: { id: string; title: string }[]) {
    this.state = {
      kind,
      cluster,
      status: 'running',
      phase: 'starting',
      startedAt: Date.now(),
      steps: steps.map((s) => ({ name: s.id, title: s.title, status: 'pending', hosts: {} })),
    };
  }

  stepNamed(id: string): StepProgress {
    const s = this.state.steps.find((x) => x.name === id);
    if (!s) throw new Error(`unknown step ${id}`);
    return s;
  }

  /** Track one step: running, then done (with its summary) or failed; the phase attribute follows. */
  async track<T>(id: string, fn: () => Promise<T>, summarize?: (result: T) => string): Promise<T> {
    const s = this.stepNamed(id);
    s.status = 'running';
    s.startedAt = Date.now();
    this.state.phase = id;
    upsertSearchAttributes([{ key: searchAttributes.phase, value: id }]);
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

  skip(id: string, why: string): void {
    const s = this.stepNamed(id);
    s.status = 'skipped';
    s.summary = why;
  }

  /** A host's part of a step starts (again): running, with its first start kept. */
  hostRunning(id: string, host: string, note?: string): HostProgress {
    const h = (this.stepNamed(id).hosts[host] ??= { status: 'running', startedAt: Date.now() });
    h.status = 'running';
    delete h.endedAt;
    if (note !== undefined) h.detail = note;
    return h;
  }

  /** A host's part ends: done with what it did (added to what earlier calls did), or failed with why. */
  hostEnded(h: HostProgress, ok: boolean, detail?: string, replace = false): void {
    h.status = ok ? 'done' : 'failed';
    h.endedAt = Date.now();
    if (detail) h.detail = replace || !h.detail ? detail : `${h.detail}, ${detail}`;
  }

  child(id: string, workflowId: string): void {
    const s = this.stepNamed(id);
    (s.children ??= []).push(workflowId);
  }

  finish(status: 'done' | 'failed', error?: unknown): void {
    this.state.status = status;
    this.state.phase = status === 'done' ? 'completed' : 'failed';
    this.state.endedAt = Date.now();
    if (error !== undefined) this.state.error = typeof error === 'string' ? error : messageOf(error);
    upsertSearchAttributes([{ key: searchAttributes.phase, value: this.state.phase }]);
  }

  /** Each finished step's duration (ms). */
  durations(): Record<string, number> {
    return Object.fromEntries(this.state.steps.filter((s) => s.startedAt !== undefined && s.endedAt !== undefined).map((s) => [s.name, s.endedAt! - s.startedAt!]));
  }
}
