// failoverVerification: the drill engine (src/runbook/drill.ts) as a workflow. Its journal is the
// result, its verdict and key figures the memo and search attributes; probes ask it when to stop.
import { setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { drillControlQuery } from '../contracts';
import { memoOf, type DrillJournal } from '../drills/journal';
import { drillRun } from '../runbook/drill';
import type { DrillInput } from '../runbook/types';
import { onTemporal } from './runner';
import { searchAttributes } from './search-attributes';

export async function failoverVerification(input: DrillInput): Promise<DrillJournal> {
  const drill = drillRun(input);
  setHandler(drillControlQuery, () => drill.control);
  const run = {
    kind: input.kind === 'drill' ? 'drill' : 'failover',
    cluster: input.spec.cluster.name,
    steps: drill.steps,
    ...(input.lock ? { lock: 'drill' as const } : {}),
    cancelled: 'drill cancelled; every fault was rolled back',
    outcome: (j: DrillJournal) => (j.verdict === 'passed' ? { ok: true } : { ok: false, error: j.summary }),
  } as const;
  return onTemporal(run, async (r) => {
    const { journal, error } = await drill.run(r);
    upsertMemo({ drill: memoOf(journal) });
    upsertSearchAttributes([
      { key: searchAttributes.verdict, value: journal.verdict },
      { key: searchAttributes.score, value: journal.score },
    ]);
    if (error !== undefined) throw error;
    return journal;
  });
}
