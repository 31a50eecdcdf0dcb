// `status ID`, `watch ID`, `cancel ID`: look at or stop a run by its workflow ID.
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { createClient, workflowUrl } from '../client';
import { progressQuery } from '../contracts';
import { messageOf } from '../runbook/runner';
import type { DeployResult } from '../runbook/types';
import { InputError, RunError, print, settingsFrom } from './common';
import { follow } from './follow';
import { renderDeployResult, renderProgress } from './render';
import { summaryTable } from '../report/text';
import type { DrillJournal } from '../drills/journal';

interface Flags {
  json?: boolean;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

async function handleFor(id: string, flags: Flags) {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(id)) throw new InputError(`${id}: not a workflow ID (e.g. deploy-lab)`);
  const settings = settingsFrom(flags);
  const client = await createClient(settings);
  const handle = client.workflow.getHandle(id);
  try {
    const desc = await handle.describe();
    return { settings, client, handle, desc };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new InputError(`no run with workflow ID ${id} in namespace ${settings.namespace}`);
    throw e;
  }
}

export async function statusCommand(id: string, flags: Flags): Promise<number> {
  const { settings, handle, desc } = await handleFor(id, flags);
  const progress = await handle.query(progressQuery).catch(() => undefined);
  const url = workflowUrl(settings, id, desc.runId);
  let result: unknown;
  let error: string | undefined;
  if (desc.status.name === 'COMPLETED') result = await handle.result();
  else if (desc.status.name === 'FAILED') error = await handle.result().then(() => undefined, (e: unknown) => messageOf(e));
  print(!!flags.json, { workflowId: id, runId: desc.runId, status: desc.status.name, url, progress, result, error }, () =>
    [
      `${id} (run ${desc.runId}): ${desc.status.name}`,
      `  Temporal UI: ${url}`,
      progress ? renderProgress(progress) : '',
      result && typeof result === 'object' && 'scenarios' in result ? summaryTable(result as DrillJournal) : result && id.startsWith('deploy-') ? renderDeployResult(result as DeployResult) : '',
      error ? `  error: ${error}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return desc.status.name === 'FAILED' || desc.status.name === 'TERMINATED' || desc.status.name === 'TIMED_OUT' ? 1 : 0;
}

export async function watchCommand(id: string, flags: Flags): Promise<number> {
  const { settings, client, handle, desc } = await handleFor(id, flags);
  process.stderr.write(`Temporal UI: ${workflowUrl(settings, id, desc.runId)}\n`);
  await follow(client, handle, { tty: process.stdout.isTTY === true });
  try {
    await handle.result();
    return 0;
  } catch (e) {
    if (e instanceof WorkflowFailedError) {
      process.stderr.write(`${id} failed: ${messageOf(e)}\n`);
      return 1;
    }
    throw e;
  }
}

/** Cancel and wait: the run restores whatever a check had stopped before it ends. */
export async function cancelCommand(id: string, flags: Flags & { timeout?: string }): Promise<number> {
  const { handle, desc } = await handleFor(id, flags);
  if (desc.status.name !== 'RUNNING') throw new RunError(`${id} is not running (${desc.status.name})`);
  await handle.cancel();
  process.stderr.write(`cancellation requested for ${id}; waiting for it to restore what it stopped...\n`);
  const timeoutMs = Number(flags.timeout ?? '600') * 1000;
  const outcome = await Promise.race([
    handle.result().then(
      () => 'completed',
      (e: unknown) => messageOf(e),
    ),
    new Promise<string>((r) => setTimeout(() => r('timeout'), timeoutMs)),
  ]);
  if (outcome === 'timeout') throw new RunError(`${id} did not stop within ${timeoutMs / 1000} s`);
  const after = await handle.describe();
  print(!!flags.json, { workflowId: id, status: after.status.name }, () => `${id}: ${after.status.name}${outcome === 'completed' ? ' (it finished before the cancellation arrived)' : ''}`);
  return 0;
}
