// Compensations (the saga pattern of temporalio/samples-typescript): each fault registers its restore
// right after it is injected; restores run last-in first-out in a non-cancellable scope, so a failed
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

  /** Inject a fault, run `check` while it holds, and always restore — on success, failure or cancel. */
  async withFault<T>(name: string, inject: () => Promise<void>, restore: () => Promise<void>, check: () => Promise<T>): Promise<T> {
    await inject();
    this.add(name, restore);
    try {
      return await check();
    } finally {
      await this.runAll();
    }
  }
}
