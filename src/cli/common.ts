// What every command shares: exit codes, input errors, inventory loading, Temporal settings.
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { packageIssues } from '../artifacts/layout';
import { loadInventory, InventoryError } from '../inventory/load';
import { printable } from '../inventory/patterns';
import type { Validated } from '../inventory/validate';
import { SettingsError, refusedCredentials, temporalSettings, type TemporalFlags, type TemporalSettings } from '../client';
import { KeyRingError } from '../codec';
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

/** Temporal flags shared by every command that talks to the server (names as the `temporal` CLI's). */
export function withTemporalFlags(cmd: Command): Command {
  return cmd
    .option('--address <host:port>', 'Temporal frontend (default: $TEMPORAL_ADDRESS or localhost:7233)')
    .option('--namespace <name>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or default)')
    .option('--task-queue <name>', 'task queue (default: $TEMPORAL_TASK_QUEUE or api7-ha)')
    .option('--tls', 'connect with TLS (implied by the other TLS options and by an API key; $TEMPORAL_TLS)')
    .option('--tls-ca-path <file>', "the server's CA certificate, PEM ($TEMPORAL_TLS_SERVER_CA_CERT_PATH)")
    .option('--tls-cert-path <file>', 'client certificate for mTLS, PEM ($TEMPORAL_TLS_CLIENT_CERT_PATH)')
    .option('--tls-key-path <file>', "the client certificate's key, PEM ($TEMPORAL_TLS_CLIENT_KEY_PATH)")
    .option('--tls-server-name <name>', "the name the server's certificate must carry ($TEMPORAL_TLS_SERVER_NAME)")
    .option('--api-key <ref>', 'API key (Temporal Cloud) by reference: file:PATH or env:NAME (default: $TEMPORAL_API_KEY)')
    .option('--codec-key <ref>', 'payload encryption key ring by reference: file:PATH or env:NAME (default: $API7HA_CODEC_KEY; see README)');
}

export interface TemporalCliFlags {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  tls?: boolean;
  tlsCaPath?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsServerName?: string;
  apiKey?: string;
  codecKey?: string;
}

const ADDRESS = /^[A-Za-z0-9.-]{1,253}:\d{1,5}$/;
const SERVER_NAME = /^[A-Za-z0-9.-]{1,253}$/;

export function settingsFrom(opts: TemporalCliFlags): TemporalSettings {
  const address = opts.address ?? process.env['TEMPORAL_ADDRESS'];
  if (address !== undefined && !ADDRESS.test(address)) throw new InputError(`${opts.address !== undefined ? '--address' : 'TEMPORAL_ADDRESS'} ${JSON.stringify(address)}: expected host:port (e.g. localhost:7233)`);
  if (opts.tlsServerName !== undefined && !SERVER_NAME.test(opts.tlsServerName)) throw new InputError(`--tls-server-name ${JSON.stringify(opts.tlsServerName)}: expected a host name`);
  const flags = Object.fromEntries(Object.entries(opts).filter(([k, v]) => v !== undefined && ['address', 'namespace', 'taskQueue', 'tls', 'tlsCaPath', 'tlsCertPath', 'tlsKeyPath', 'tlsServerName', 'apiKey', 'codecKey'].includes(k))) as TemporalFlags;
  try {
    return temporalSettings(flags);
  } catch (e) {
    // A half key pair, a missing key file, a malformed key ring: bad input, named, exit 2.
    if (e instanceof SettingsError || e instanceof KeyRingError) throw new InputError(e.message);
    throw e;
  }
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof InventoryError || e instanceof InputError) return EXIT.badInput;
  return EXIT.failed;
}

/** The message an operator reads: an InventoryError escapes its values itself; any other message may
 *  carry a value from a flag or a file, so its control characters (but its own line breaks) are escaped. */
export function describeError(e: unknown): string {
  if (e instanceof InventoryError) return e.message;
  const refused = refusedCredentials(e);
  const text = e instanceof Error ? (refused ? `${e.message}: ${refused}` : e.message) : String(e);
  return text.split('\n').map(printable).join('\n');
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
