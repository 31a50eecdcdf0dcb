// What every command shares: exit codes, input errors, inventory loading, Temporal settings.
import type { Command } from 'commander';
import { packageIssues } from '../artifacts/layout';
import { loadInventory, InventoryError } from '../inventory/load';
import { printable } from '../inventory/patterns';
import type { Validated } from '../inventory/validate';
import { temporalSettings, type TemporalSettings } from '../client';

export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

/** Bad input: a flag, a file, an inventory. Exit 2; nothing touched a host. */
export class InputError extends Error {
  override name = 'InputError';
}

/** The run itself failed or was refused. Exit 1. */
export class RunError extends Error {
  override name = 'RunError';
}

/** The inventory and the packages it names, checked before anything starts (exit 2 on a problem). */
export function readInventory(path: string | undefined): Validated {
  if (!path) throw new InputError('no inventory: pass -i PATH (e.g. -i .lab/inventory.yaml after `npm run lab -- up`)');
  const v = loadInventory(path);
  // A package that is not the vendor's gzip'd tar, or lacks its layout, is bad input too: found
  // here, not minutes later in the deploy's first activity.
  const packages = packageIssues(v.spec);
  if (packages.length) throw new InventoryError(packages, v.spec.inventoryPath);
  for (const w of v.warnings) process.stderr.write(`warning: ${w}\n`);
  return v;
}

/** Temporal flags shared by every command that talks to the server. */
export function withTemporalFlags(cmd: Command): Command {
  return cmd
    .option('--address <host:port>', 'Temporal frontend (default: $TEMPORAL_ADDRESS or localhost:7233)')
    .option('--namespace <name>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or default)')
    .option('--task-queue <name>', 'task queue (default: $TEMPORAL_TASK_QUEUE or api7-ha)');
}

export function settingsFrom(opts: { address?: string; namespace?: string; taskQueue?: string }): TemporalSettings {
  if (opts.address !== undefined && !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(opts.address)) throw new InputError(`--address ${opts.address}: expected host:port (e.g. localhost:7233)`);
  return temporalSettings({
    ...(opts.address ? { address: opts.address } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.taskQueue ? { taskQueue: opts.taskQueue } : {}),
  });
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof InventoryError || e instanceof InputError) return EXIT.badInput;
  return EXIT.failed;
}

/** The message an operator reads: an InventoryError escapes its values itself; any other message may
 *  carry a value from a flag or a file, so its control characters (but its own line breaks) are escaped. */
export function describeError(e: unknown): string {
  if (e instanceof InventoryError) return e.message;
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n').map(printable).join('\n');
}

export const workflowIdFor = (kind: 'deploy', cluster: string) => `${kind}-${cluster}`;

export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
