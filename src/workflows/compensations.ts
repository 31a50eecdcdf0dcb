// Compensations (the saga pattern of temporalio/samples-typescript): each fault registers its restore
// as it is injected; restores run last-in first-out in a non-cancellable scope, so a failed
// check or an operator's `cancel` can never leave a gateway, dashboard or etcd member stopped.
// Chaos Toolkit once skipped rollbacks when an experiment deviated (chaostoolkit#176): not here.
import { CancellationScope, log } from '@temporalio/workflow';
import { messageOf } from './progress';

export class Compensations {
  private readonly stack: { name: string; fn: () => Promise<void> }[] = [];
  readonly failures: { name: string; error: string }[] = [];

  add(name: string, fn: () => Promise<void>): void {
    this.stack.push({ name, fn });
  }

  get pending(): number {
    return this.stack.length;
  }

  /** Run every registered restore (newest first); keep going past a failing one, report them all. */
  async runAll(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      while (this.stack.length) {
        const c = this.stack.pop()!;
        try {
          await c.fn();
        } catch (e) {
          log.error('restore failed', { restore: c.name, error: messageOf(e) });
          this.failures.push({ name: c.name, error: messageOf(e) });
        }
      }
    });
  }

  /**
   * Inject a fault, run `check` while it holds, and always restore — on success, failure or cancel.
   * The restore is registered before the injection starts: an injection that failed half-way (a
   * timeout after `docker stop` went through) may still have taken effect, so restores must be safe
   * to run on a healthy victim, and they are. The injection itself is not cancellable: a cancel
   * that only abandoned it could let the activity stop the victim after the restore had run.
   */
  async withFault<T>(name: string, inject: () => Promise<void>, restore: () => Promise<void>, check: () => Promise<T>): Promise<T> {
    this.add(name, restore);
    try {
      await CancellationScope.nonCancellable(inject);
      return await check();
    } finally {
      await this.runAll();
    }
  }
}
