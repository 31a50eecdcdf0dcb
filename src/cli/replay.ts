// `api7-ha replay ID | --file history.json`: replay a run's history against the current workflow code
// and say whether it is deterministic (safe to deploy this code while such runs are in flight). Exit
// 0 deterministic, 1 a real divergence (nondeterminism) or a replay that failed, 2 a run that does not
// exist or a file that is not a history.
import { readFileSync } from 'node:fs';
import { isGrpcServiceError } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { createClient } from '../client';
import { replayOptions } from '../worker';
import { InputError, print, settingsFrom } from './common';

type History = ReturnType<typeof historyFromJSON>;

const GRPC_NOT_FOUND = 5;
const EXPORT_HINT = 'export one with: temporal workflow show -w ID --output json > history.json';

/** A history exported as JSON, checked before replay: malformed input is bad input, not nondeterminism. */
export function parseHistory(text: string, file: string): History {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`--file ${file}: not JSON (${(e as Error).message}); ${EXPORT_HINT}`);
  }
  const events = (json as { events?: unknown } | null)?.events;
  if (!Array.isArray(events) || events.length === 0) throw new InputError(`--file ${file}: not a workflow history (no "events" list, or an empty one); ${EXPORT_HINT}`);
  let history: History;
  try {
    history = historyFromJSON(json);
  } catch (e) {
    throw new InputError(`--file ${file}: not a workflow history (${(e as Error).message}); ${EXPORT_HINT}`);
  }
  const first = history.events?.[0];
  if (!first?.workflowExecutionStartedEventAttributes) throw new InputError(`--file ${file}: a history starts with WorkflowExecutionStarted, this one does not; ${EXPORT_HINT}`);
  return history;
}

export async function replayCommand(id: string | undefined, flags: { file?: string; workflowId?: string; json?: boolean; address?: string; namespace?: string; taskQueue?: string }): Promise<number> {
  if (!id === !flags.file) throw new InputError('give a workflow ID or --file history.json (one of them)');
  // With the codec key, encrypted histories decode (a file exported with `temporal workflow show` too).
  const settings = settingsFrom(flags);
  let history: History;
  let workflowId = id ?? 'replayed';
  if (flags.file) {
    let text: string;
    try {
      text = readFileSync(flags.file, 'utf8');
    } catch (e) {
      throw new InputError(`--file ${flags.file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ${EXPORT_HINT}`);
    }
    history = parseHistory(text, flags.file);
    // The ID is not in an exported history, and workflows derive child IDs from it.
    workflowId = flags.workflowId ?? 'replayed';
  } else {
    const client = await createClient(settings);
    try {
      history = await client.workflow.getHandle(id!).fetchHistory();
    } catch (e) {
      if (isGrpcServiceError(e) && e.code === GRPC_NOT_FOUND) throw new InputError(`no run with workflow ID ${id} in namespace ${settings.namespace}`);
      throw e;
    }
  }
  // The replay worker's start/stop chatter is not what the operator asked for.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  try {
    await Worker.runReplayHistory(replayOptions(settings), history, workflowId);
    print(!!flags.json, { workflowId, deterministic: true }, () => `${workflowId}: replays deterministically against the current code`);
    return 0;
  } catch (e) {
    const divergent = e instanceof DeterminismViolationError;
    const message = (e as Error).message;
    print(!!flags.json, divergent ? { workflowId, deterministic: false, error: message } : { workflowId, replayFailed: true, error: message }, () =>
      divergent ? `${workflowId}: NOT deterministic against the current code: ${message}` : `${workflowId}: the replay failed (not a determinism verdict): ${message}`,
    );
    return 1;
  }
}
