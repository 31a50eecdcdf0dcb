// What every reconcile function gets: the host's executor, and hooks into the activity that runs it
// (heartbeats carry progress and resume points; the signal carries cancellation). --plan passes
// no-op hooks and a plan-mode executor.
import type { HostExecutor } from '../remote/executor';

export interface StepContext {
  exec: HostExecutor;
  heartbeat: (details?: unknown) => void;
  signal?: AbortSignal;
  log: (message: string) => void;
  /** Heartbeat details of the previous attempt (resume point), if any. */
  resumeFrom?: unknown;
}

/** Errors that retrying cannot fix: bad configuration, refused host keys, a blocked preflight. */
export class PermanentError extends Error {
  override name = 'PermanentError';
  constructor(
    message: string,
    readonly kind = 'ConfigurationError',
  ) {
    super(message);
  }
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Poll `check` until it returns a value or the deadline passes, heartbeating each round. The last
 * reason it gave is in the timeout error, so an operator sees why a wait failed.
 */
export async function pollUntil<T>(
  ctx: Pick<StepContext, 'heartbeat' | 'signal'>,
  what: string,
  deadlineMs: number,
  intervalMs: number,
  check: () => Promise<{ done: true; value: T } | { done: false; reason: string }>,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  let reason = 'not checked yet';
  for (;;) {
    try {
      const r = await check();
      if (r.done) return r.value;
      reason = r.reason;
    } catch (e) {
      if (ctx.signal?.aborted) throw e;
      if (e instanceof PermanentError) throw e;
      reason = (e as Error).message;
    }
    ctx.heartbeat({ waiting: what, reason });
    if (Date.now() + intervalMs > end) throw new Error(`${what}: not reached within ${Math.round(deadlineMs / 1000)} s; last: ${reason}`);
    await sleep(intervalMs, ctx.signal);
  }
}
