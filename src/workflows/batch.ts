// runbookBatch: one group of child work (a fragment of a runbook for up to 50 hosts, all at once) in
// its own workflow, so a parent's history stays bounded at any scale. A host that fails (after its
// activities' retries) is reported, not thrown: the parent decides, against its failure budget.
import { ApplicationFailure } from '@temporalio/workflow';
import { FRAGMENTS } from '../runbook/rollout';
import { messageOf, type HostOutcome } from '../runbook/runner';
import { onTemporal, type BatchInput } from './runner';

export async function runbookBatch(input: BatchInput): Promise<HostOutcome[]> {
  const fragment = FRAGMENTS[input.fragment];
  if (!fragment) throw ApplicationFailure.nonRetryable(`no runbook fragment named ${input.fragment}`, 'Misconfigured');
  const { at } = input;
  const title = `${at.what[0]!.toUpperCase()}${at.what.slice(1)}: ${fragment.title}, batch ${at.index + 1} of ${at.of}`;
  return onTemporal({ kind: input.kind, cluster: input.cluster, listed: false, steps: [{ id: 'batch', title }], cancelled: 'batch cancelled' }, (r) =>
    r.step('batch', (s) =>
      Promise.all(
        input.items.map((item) =>
          fragment.run(s, item as never).catch((e: unknown): HostOutcome => {
            if (r.isCancellation(e)) throw e; // a cancelled run is not a failed host
            return { host: fragment.host(item as never), ok: false, error: messageOf(e) };
          }),
        ),
      ),
    ),
  );
}
