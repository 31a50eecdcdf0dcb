// `api7-ha replay ID | --file history.json`: replay a run's history against the current workflow code
// and say whether it is deterministic (safe to deploy this code while such runs are in flight).
import { readFileSync } from 'node:fs';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createClient } from '../client';
import { replayOptions } from '../worker';
import { InputError, print, settingsFrom } from './common';

export async function replayCommand(id: string | undefined, flags: { file?: string; workflowId?: string; json?: boolean; address?: string; namespace?: string; taskQueue?: string }): Promise<number> {
  if (!id === !flags.file) throw new InputError('give a workflow ID or --file history.json (one of them)');
  // With the codec key, encrypted histories decode (a file exported with `temporal workflow show` too).
  const settings = settingsFrom(flags);
  let history: unknown;
  let workflowId = id ?? 'replayed';
  if (flags.file) {
    try {
      history = JSON.parse(readFileSync(flags.file, 'utf8'));
    } catch (e) {
      throw new InputError(`--file ${flags.file}: ${(e as Error).message} (export one with: temporal workflow show -w ID --output json > history.json)`);
    }
    // The ID is not in an exported history, and workflows derive child IDs from it.
    workflowId = flags.workflowId ?? 'replayed';
  } else {
    const client = await createClient(settings);
    history = await client.workflow.getHandle(id!).fetchHistory();
  }
  // The replay worker's start/stop chatter is not what the operator asked for.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  try {
    await Worker.runReplayHistory(replayOptions(settings), history as never, workflowId);
    print(!!flags.json, { workflowId, deterministic: true }, () => `${workflowId}: replays deterministically against the current code`);
    return 0;
  } catch (e) {
    print(!!flags.json, { workflowId, deterministic: false, error: (e as Error).message }, () => `${workflowId}: NOT deterministic against the current code: ${(e as Error).message}`);
    return 1;
  }
}
