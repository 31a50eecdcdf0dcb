// `api7-ha drills -c CLUSTER`: past drills from Temporal visibility with verdicts and key figures,
// newest first, so a trend shows (memo written by each drill at its end).
import type { Client } from '@temporalio/client';
import { createClient } from '../client';
import type { DrillMemo } from '../drills/journal';
import { patterns } from '../inventory/patterns';
import { InputError, print, settingsFrom } from './common';

export interface PastDrill {
  workflowId: string;
  start: string;
  status: string;
  memo?: DrillMemo;
  kind: string;
}

/** A cluster's drills from Temporal visibility, newest first (the memo each drill wrote at its end). */
export async function pastDrills(client: Client, cluster: string, limit: number): Promise<PastDrill[]> {
  const rows: PastDrill[] = [];
  // No ORDER BY (SQL visibility, as in the dev server, refuses it): lists come newest first anyway,
  // and are sorted below to be sure.
  for await (const w of client.workflow.list({ query: `Api7Cluster = "${cluster}" AND Api7Kind IN ("drill", "failover")` })) {
    rows.push({
      workflowId: w.workflowId,
      start: w.startTime.toISOString(),
      status: w.status.name,
      kind: String((w.searchAttributes['Api7Kind'] as string[] | undefined)?.[0] ?? ''),
      ...(w.memo?.['drill'] ? { memo: w.memo['drill'] as DrillMemo } : {}),
    });
    if (rows.length >= limit) break;
  }
  return rows.sort((a, b) => b.start.localeCompare(a.start));
}

/** The trend over the drills listed, oldest to newest: score, worst DP outage, aborts. */
export function trend(rows: PastDrill[]): string[] {
  const done = rows.filter((r) => r.memo).reverse();
  if (done.length < 2) return [];
  const worst = (r: PastDrill) => Math.max(0, ...r.memo!.scenarios.map((s) => s.dpOutageMs ?? 0));
  return [
    '',
    `TREND over the last ${done.length} drills (oldest → newest):`,
    `  score            ${done.map((r) => r.memo!.score).join(' → ')}`,
    `  worst DP outage  ${done.map((r) => `${worst(r)}`).join(' → ')} ms`,
    `  aborted          ${done.map((r) => r.memo!.scenarios.filter((s) => s.status === 'aborted').length).join(' → ')}`,
  ];
}

export async function drillsCommand(flags: { cluster?: string; limit?: string; json?: boolean; address?: string; namespace?: string; taskQueue?: string }): Promise<number> {
  const cluster = flags.cluster;
  if (!cluster || !patterns.clusterName.re.test(cluster)) throw new InputError(`-c/--cluster: ${cluster ?? '(missing)'} is not a cluster name (${patterns.clusterName.describe})`);
  const limit = Number(flags.limit ?? '20');
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InputError(`--limit ${flags.limit}: a whole number from 1 to 1000`);
  const client = await createClient(settingsFrom(flags));
  const rows = await pastDrills(client, cluster, limit);
  print(!!flags.json, rows, () => {
    if (!rows.length) return `no drills for cluster ${cluster} yet (api7-ha drill -i INVENTORY)`;
    const cell = (r: (typeof rows)[number]) => {
      const m = r.memo;
      const figures = m?.scenarios.map((s) => `${s.id}${s.victim ? `@${s.victim}` : ''}:${s.status}${s.dpOutageMs !== undefined ? ` dp ${s.dpOutageMs}ms` : ''}${s.cpOutageMs !== undefined ? ` cp ${s.cpOutageMs}ms` : ''}${s.recoverMs !== undefined ? ` rec ${(s.recoverMs / 1000).toFixed(1)}s` : ''}`).join('; ');
      return [r.start.slice(0, 19).replace('T', ' '), r.workflowId, r.kind, m?.verdict ?? r.status.toLowerCase(), m ? `${m.score}`.padStart(5) : '    -', figures ?? ''];
    };
    const table = [['STARTED (UTC)', 'WORKFLOW', 'KIND', 'VERDICT', 'SCORE', 'SCENARIOS'], ...rows.map(cell)];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
    return [table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n'), ...trend(rows)].join('\n');
  });
  return 0;
}
