// `api7-ha report ID [-o FILE]`: the drill's journal as one self-contained HTML file.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createClient } from '../client';
import type { DrillJournal } from '../drills/journal';
import { renderReport } from '../report/html';
import { clusterLock } from '../workflows/cluster-lock';
import { deployCluster } from '../workflows/deploy-cluster';
import { failoverVerification } from '../workflows/failover-verification';
import { InputError, RunError, settingsFrom } from './common';

export async function reportCommand(id: string, flags: { output?: string; address?: string; namespace?: string; taskQueue?: string }): Promise<number> {
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(id)) throw new InputError(`${id}: not a workflow ID (e.g. drill-lab-20261125T030000Z or deploy-lab)`);
  const client = await createClient(settingsFrom(flags));
  const type = await client.workflow
    .getHandle(id)
    .describe()
    .then((d) => d.type)
    .catch((e: unknown) => {
      if (e instanceof WorkflowNotFoundError) throw new InputError(`no run with workflow ID ${id}`);
      throw e;
    });
  const journalOf = async (drillId: string): Promise<DrillJournal> => {
    try {
      return await client.workflow.getHandle<typeof failoverVerification>(drillId).result();
    } catch (e) {
      throw new RunError(`${drillId} has no journal to report: ${(e as Error).message}`);
    }
  };
  let journal: DrillJournal;
  if (type === failoverVerification.name) journal = await journalOf(id);
  else if (type === deployCluster.name) {
    const result = await client.workflow
      .getHandle<typeof deployCluster>(id)
      .result()
      .catch((e: unknown) => {
        throw new RunError(`${id} has no journal to report: ${(e as Error).message}`);
      });
    if (!result.failover) throw new RunError(`${id} is a deploy that ran no failover checks (nothing changed); drill it with \`api7-ha drill\``);
    journal = await journalOf(result.failover.workflowId);
  } else {
    const what = type === clusterLock.name ? 'a cluster lock (it is held while a deploy or drill runs)' : `a ${type} workflow`;
    throw new InputError(`${id} is ${what}, not a drill or a deploy: report takes a drill's ID (list them with \`api7-ha drills -c CLUSTER\`) or a deploy's`);
  }
  const out = resolve(flags.output ?? `${journal.workflowId}.html`);
  writeFileSync(out, renderReport(journal));
  process.stdout.write(`${out}\n`);
  return 0;
}
