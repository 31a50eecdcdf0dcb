// What every command shares: exit codes, input errors, inventory loading, Temporal settings.
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadInventory, InventoryError } from '../inventory/load';
import type { Validated } from '../inventory/validate';
import { temporalSettings, type TemporalSettings } from '../client';
import { holderQuery, lockWorkflowId } from '../contracts';

/** 0 success; 1 the run failed, was refused, or a plan found a blocker; 2 bad input; 3 a plan with --detailed-exitcode found changes. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, changesPending: 3 } as const;

/** Bad input: a flag, a file, an inventory. Exit 2; nothing touched a host. */
export class InputError extends Error {
  override name = 'InputError';
}

/** The run itself failed or was refused. Exit 1. */
export class RunError extends Error {
  override name = 'RunError';
}

export function readInventory(path: string | undefined): Validated {
  if (!path) throw new InputError('no inventory: pass -i PATH (e.g. -i .lab/inventory.yaml after `npm run lab -- up`)');
  const v = loadInventory(path);
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

export function describeError(e: unknown): string {
  if (e instanceof InventoryError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A deploy or drill already holding the cluster: refuse at once, naming it (the workflow checks again). */
export async function refuseIfBusy(client: Client, cluster: string): Promise<void> {
  const lock = client.workflow.getHandle(lockWorkflowId(cluster));
  const desc = await lock.describe().catch(() => undefined);
  if (desc?.status.name !== 'RUNNING') return;
  const holder = await lock.query(holderQuery).catch(() => undefined);
  throw new RunError(`refused: ${holder ? `${holder.kind} ${holder.workflowId} is running` : 'a deploy or drill is running'} on cluster ${cluster}; one deploy or drill at a time per cluster`);
}

export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
