// Compensations (the saga pattern of temporalio/samples-typescript): each fault registers its restore
// before it is injected; restores run last-in first-out where a cancel cannot stop them, so a failed
// check or an operator's `cancel` can never leave a gateway, dashboard or etcd member stopped.
// Chaos Toolkit once skipped rollbacks when an experiment deviated (chaostoolkit#176): not here.
import { messageOf, type Runner } from './runner';

export class Compensations {
  private readonly stack: { name: string; fn: () => Promise<void> }[] = [];
  readonly failures: { name: string; error: string }[] = [];

  constructor(private readonly r: Pick<Runner, 'critical' | 'log'>) {}

  add(name: string, fn: () => Promise<void>): void {
    this.stack.push({ name, fn });
  }

  /** Run every registered restore (newest first); keep going past a failing one, report them all. */
  async runAll(): Promise<void> {
    await this.r.critical(async () => {
      while (this.stack.length) {
        const c = this.stack.pop()!;
        try {
          await c.fn();
        } catch (e) {
          this.r.log('restore failed', { restore: c.name, error: messageOf(e) });
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
      await this.r.critical(inject);
      return await check();
    } finally {
      await this.runAll();
    }
  }
}
