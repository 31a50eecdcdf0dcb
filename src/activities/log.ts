// The worker's structured log: one JSON line per activity start and end (run, step, host, attempt,
// duration, outcome), as operators ship worker logs to their log stack. Arguments are never written:
// only a host name is taken from them, so no secret can reach the log; a failure is logged by its
// type, not its message.
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** The host an activity works on, if its first argument names one (a step's target, a fault's host). */
export function hostOf(args: unknown[]): string | undefined {
  const a = args[0] as { target?: { host?: unknown }; host?: unknown } | undefined;
  const h = a?.target?.host ?? a?.host;
  return typeof h === 'string' && /^[\w.:-]{1,253}$/.test(h) ? h : undefined;
}

function failureTypeOf(e: unknown): string {
  if (e && typeof e === 'object') {
    const t = (e as { type?: unknown }).type;
    if (typeof t === 'string') return t;
    const n = (e as { name?: unknown }).name;
    if (typeof n === 'string') return n;
  }
  return 'Error';
}

export function activityLog(write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const i = ctx.info;
        const base = {
          run: i.workflowExecution?.workflowId,
          runId: i.workflowExecution?.runId,
          step: i.activityType,
          activityId: i.activityId,
          ...(hostOf(input.args) ? { host: hostOf(input.args) } : {}),
          attempt: i.attempt,
        };
        const started = performance.now();
        write(JSON.stringify({ ts: new Date().toISOString(), event: 'activity.start', ...base }));
        const end = (outcome: string, extra: Record<string, unknown> = {}) =>
          write(JSON.stringify({ ts: new Date().toISOString(), event: 'activity.end', ...base, durationMs: Math.round(performance.now() - started), outcome, ...extra }));
        try {
          const r = await next(input);
          end('ok');
          return r;
        } catch (e) {
          end(ctx.cancellationSignal.aborted ? 'cancelled' : 'failed', { error: failureTypeOf(e) });
          throw e;
        }
      },
    },
  });
}
