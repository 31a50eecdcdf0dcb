// Following a run from the terminal: the progress query every half second, children included, until
// the run closes. Used by `deploy --wait` and `watch`.
import { type Client, type WorkflowHandle } from '@temporalio/client';
import { progressQuery, type RunProgress } from '../contracts';
import { renderProgress } from './render';

async function queryProgress(client: Client, id: string): Promise<RunProgress | undefined> {
  try {
    return await client.workflow.getHandle(id).query(progressQuery);
  } catch {
    return undefined;
  }
}

/** The child runs of the steps running now (data plane batches, the failover checks), as the steps list them. */
async function childProgress(client: Client, p: RunProgress): Promise<Record<string, RunProgress>> {
  const out: Record<string, RunProgress> = {};
  const ids = p.steps.filter((s) => s.status === 'running').flatMap((s) => s.children ?? []);
  await Promise.all(
    ids.map(async (id) => {
      const c = await queryProgress(client, id);
      if (c) out[id] = c;
    }),
  );
  return out;
}

/** A line without its running durations ("[12.3s]", " 4.5s"), to tell real changes from time passing. */
const withoutTimers = (line: string) => line.replace(/(?<!\s)\s*\[\d+(\.\d+)?s\]/g, '').replace(/ \d+(\.\d+)?s\b/g, '');

export async function follow(client: Client, handle: WorkflowHandle, opts: { tty: boolean; intervalMs?: number; onUpdate?: (text: string) => void }): Promise<void> {
  let last = '';
  let lastLines = 0;
  let closed = false;
  void handle
    .result()
    .catch(() => undefined)
    .finally(() => {
      closed = true;
    });
  for (;;) {
    const p = await queryProgress(client, handle.workflowId);
    if (p) {
      const children = await childProgress(client, p);
      const text = renderProgress(p, children);
      if (text !== last) {
        if (opts.onUpdate) opts.onUpdate(text);
        else if (opts.tty) {
          // Redraw in place: move up over the previous frame and clear it.
          if (lastLines) process.stdout.write(`\x1b[${lastLines}A\x1b[J`);
          process.stdout.write(`${text}\n`);
          lastLines = text.split('\n').length;
        } else {
          // Logs and pipes: print a line when it changes for a reason other than a ticking timer.
          const prev = new Set(last.split('\n').map(withoutTimers));
          for (const line of text.split('\n')) if (!prev.has(withoutTimers(line)) && !/^\S/.test(line)) process.stdout.write(`${line}\n`);
        }
        last = text;
      }
    }
    if (closed) return;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}
