// The glue between Temporal activities and the reconcile layer: one SSH pool per worker, a step
// context with heartbeats and cancellation, and failures classified as retryable or not.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { FaultDrivers } from '../drills/drivers';
import type { SecretName, SecretRef, SshTarget } from '../inventory/model';
import { PermanentError, type StepContext } from '../reconcile/context';
import { CommandFailed, HostExecutor } from '../remote/executor';
import { HostKeyError } from '../remote/hostkeys';
import { SecretError } from '../remote/secrets';
import { CommandTimeout, ConnectError, type SshPool } from '../remote/ssh';

export interface ActivityDeps {
  pool: SshPool;
  /** The host-fault drivers this worker has (commands, and those its driver modules register). */
  faultDrivers: FaultDrivers;
  /** A Temporal client: probes ask their drill when to stop; lock holders are looked up. */
  client: () => Promise<Client>;
}

/** A step context for the current activity (or a bare one outside activities, for tests and plans). */
export function stepContext(exec: HostExecutor): StepContext {
  let actx: Context | undefined;
  try {
    actx = Context.current();
  } catch {
    actx = undefined;
  }
  if (!actx) return { exec, heartbeat: () => undefined, log: () => undefined };
  const a = actx;
  return {
    exec,
    heartbeat: (d?: unknown) => a.heartbeat(d),
    signal: a.cancellationSignal,
    log: (m: string) => a.log.info(m),
    resumeFrom: a.info.heartbeatDetails,
  };
}

/**
 * Heartbeat every few seconds while an activity runs, repeating the last details. A live worker thus
 * always heartbeats, so the server notices a dead one within the heartbeat timeout (seconds, not the
 * start-to-close timeout) and cancellation reaches the activity promptly.
 */
export async function withAutoHeartbeat<T>(fn: (beat: (d?: unknown) => void) => Promise<T>, everyMs = 3000): Promise<T> {
  let actx: Context | undefined;
  try {
    actx = Context.current();
  } catch {
    actx = undefined;
  }
  if (!actx) return fn(() => undefined);
  const a = actx;
  let last: unknown = a.info.heartbeatDetails;
  const beat = (d?: unknown) => {
    if (d !== undefined) last = d;
    a.heartbeat(last);
  };
  const timer = setInterval(() => beat(), everyMs);
  try {
    beat();
    return await fn(beat);
  } finally {
    clearInterval(timer);
  }
}

/** Turn what went wrong into a failure the workflow can act on; nothing here carries a secret. */
export function toFailure(err: unknown, host?: string): Error {
  if (err instanceof ApplicationFailure) return err;
  const at = host ? { host } : {};
  if (err instanceof PermanentError) return ApplicationFailure.nonRetryable(err.message, err.kind, at);
  if (err instanceof HostKeyError) return ApplicationFailure.nonRetryable(err.message, 'HostKeyError', at);
  if (err instanceof SecretError) return ApplicationFailure.nonRetryable(err.message, 'SecretError', at);
  if (err instanceof ConnectError) return err.permanent ? ApplicationFailure.nonRetryable(err.message, 'SshConfigurationError', at) : ApplicationFailure.retryable(err.message, 'SshUnavailable', at);
  if (err instanceof CommandFailed) return ApplicationFailure.retryable(err.message, 'CommandFailed', { host: err.host, step: err.describe, exitCode: err.code, stderr: err.stderrTail });
  if (err instanceof CommandTimeout) return ApplicationFailure.retryable(err.message, 'CommandTimeout', at);
  if (err instanceof Error) return ApplicationFailure.retryable(err.message, err.name, at);
  return ApplicationFailure.retryable(String(err), 'Error', at);
}

export function onHost(deps: ActivityDeps) {
  return async <T>(target: SshTarget, secrets: Partial<Record<SecretName, SecretRef>>, fn: (ctx: StepContext) => Promise<T>): Promise<T> => {
    const exec = new HostExecutor(target, deps.pool, 'apply', secrets);
    try {
      return await withAutoHeartbeat((beat) => fn({ ...stepContext(exec), heartbeat: beat }));
    } catch (e) {
      // A broken connection is dropped so the retry reconnects instead of reusing it.
      if (e instanceof ConnectError || e instanceof CommandTimeout) deps.pool.forget(target);
      throw toFailure(e, target.host);
    }
  };
}

/** Run worker-local work (no host) with the same failure mapping. */
export async function local<T>(fn: (ctx: Omit<StepContext, 'exec'>) => Promise<T>): Promise<T> {
  let actx: Context | undefined;
  try {
    actx = Context.current();
  } catch {
    actx = undefined;
  }
  const base = actx ? { signal: actx.cancellationSignal, log: (m: string) => actx.log.info(m) } : { log: () => undefined };
  try {
    return await withAutoHeartbeat((beat) => fn({ ...base, heartbeat: beat }));
  } catch (e) {
    throw toFailure(e);
  }
}
