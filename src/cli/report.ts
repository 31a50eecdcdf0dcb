// `api7-ha report ID [-o FILE]`: the drill's journal as one self-contained HTML file.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createClient } from '../client';
import type { DrillJournal } from '../drills/journal';
import { renderReport } from '../report/html';
import type { DeployResult } from '../workflows/types';
import { InputError, RunError, settingsFrom } from './common';

export async function reportCommand(id: string, flags: { output?: string; address?: string; namespace?: string; taskQueue?: string }): Promise<number> {
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(id)) throw new InputError(`${id}: not a workflow ID (e.g. drill-lab-20261125T030000Z or deploy-lab)`);
  const client = await createClient(settingsFrom(flags));
  let journal: DrillJournal;
  try {
    const result = (await client.workflow.getHandle(id).result()) as DrillJournal | DeployResult;
    if ('scenarios' in result) journal = result;
    else if (result.failover) journal = (await client.workflow.getHandle(result.failover.workflowId).result()) as DrillJournal;
    else throw new RunError(`${id} is a deploy that ran no failover checks (nothing changed); drill it with \`api7-ha drill\``);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new InputError(`no run with workflow ID ${id}`);
    if (e instanceof RunError) throw e;
    throw new RunError(`${id} has no journal to report: ${(e as Error).message}`);
  }
  const out = resolve(flags.output ?? `${journal.workflowId}.html`);
  writeFileSync(out, renderReport(journal));
  process.stdout.write(`${out}\n`);
  return 0;
}
