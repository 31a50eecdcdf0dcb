// The summary table's figures, computed once and rendered twice (HTML report and CLI text), so the
// two views can never disagree on a number.
import type { DrillJournal, DrillThresholds, ProbeMetrics, ScenarioJournal, ScenarioStatus, Verdict } from '../drills/journal';
import { count, fmtMs, fmtP50P99 } from './format';

/** How a figure should be read: fine, degraded (worth a look), broken, or not applicable. */
export type Tone = 'ok' | 'warn' | 'bad' | 'muted' | 'plain';

export interface Cell {
  text: string;
  tone: Tone;
  /** Right-aligned in fixed-width text (numbers). */
  numeric: boolean;
}

export interface Column {
  key: string;
  /** Header in the HTML table. */
  label: string;
  /** Header in the CLI table (upper case, short). */
  short: string;
  /** The HTML header groups (data plane / control plane) columns under one caption. */
  group?: 'Data plane' | 'Control plane';
}

export const SUMMARY_COLUMNS: Column[] = [
  { key: 'scenario', label: 'Scenario', short: 'SCENARIO' },
  { key: 'victim', label: 'Victim', short: 'VICTIM' },
  { key: 'status', label: 'Status', short: 'STATUS' },
  { key: 'dpReq', label: 'Requests', short: 'DP REQ', group: 'Data plane' },
  { key: 'dpFail', label: 'Failures', short: 'DP FAIL', group: 'Data plane' },
  { key: 'dpOutage', label: 'Longest outage', short: 'DP OUTAGE', group: 'Data plane' },
  { key: 'cpReq', label: 'Requests', short: 'CP REQ', group: 'Control plane' },
  { key: 'cpFail', label: 'Failures', short: 'CP FAIL', group: 'Control plane' },
  { key: 'cpOutage', label: 'Longest outage', short: 'CP OUTAGE', group: 'Control plane' },
  { key: 'detect', label: 'Time to detect', short: 'DETECT' },
  { key: 'recover', label: 'Time to recover', short: 'RECOVER' },
  { key: 'cpWrite', label: 'CP write recovery', short: 'CP WRITE REC' },
  { key: 'latency', label: 'DP p50 / p99 during fault', short: 'DP P50/P99 DURING' },
];

export interface SummaryRow {
  scenario: ScenarioJournal;
  cells: Cell[];
}

const cell = (text: string, tone: Tone = 'plain', numeric = true): Cell => ({ text, tone, numeric });
const none = (): Cell => cell('—', 'muted');

export function statusTone(s: ScenarioStatus | Verdict): Tone {
  switch (s) {
    case 'passed':
      return 'ok';
    case 'failed':
    case 'error':
    case 'aborted':
      return 'bad';
    case 'refused':
    case 'interrupted':
      return 'warn';
    case 'cancelled':
      return 'muted';
  }
}

/**
 * Failure count: any failure is worth a look (amber), a failure run longer than the outage budget is
 * a broken promise (red). The hypotheses carry the real verdict; this only guides the eye.
 */
function failuresCell(p: ProbeMetrics, maxOutageMs: number): Cell {
  if (p.failures === 0) return cell('0', 'ok');
  return cell(count(p.failures), p.longestOutageMs > maxOutageMs ? 'bad' : 'warn');
}

function outageCell(p: ProbeMetrics, maxOutageMs: number): Cell {
  if (p.longestOutageMs <= 0) return cell(fmtMs(0), 'ok');
  return cell(fmtMs(p.longestOutageMs), p.longestOutageMs > maxOutageMs ? 'bad' : 'warn');
}

function probeCells(p: ProbeMetrics | undefined, maxOutageMs: number): Cell[] {
  if (!p) return [none(), none(), none()];
  return [cell(count(p.requests)), failuresCell(p, maxOutageMs), outageCell(p, maxOutageMs)];
}

function durationCell(ms: number | undefined, budgetMs?: number): Cell {
  if (ms === undefined) return none();
  return cell(fmtMs(ms), budgetMs !== undefined && ms > budgetMs ? 'bad' : 'plain');
}

export function summaryRow(s: ScenarioJournal, t: DrillThresholds): SummaryRow {
  const m = s.metrics;
  const dp = m.probes.dp;
  return {
    scenario: s,
    cells: [
      cell(s.id, 'plain', false),
      s.victim ? cell(s.victim.host, 'plain', false) : none(),
      cell(s.status, statusTone(s.status), false),
      ...probeCells(dp, t.dpMaxOutageMs),
      ...probeCells(m.probes.cp, t.cpMaxOutageMs),
      durationCell(m.detectMs),
      durationCell(m.recoverMs, t.recoveryDeadlineS * 1000),
      durationCell(m.cpWriteRecoveryMs, t.etcdCpWriteRecoveryMs),
      dp && dp.latency.during.count > 0 ? cell(fmtP50P99(dp.latency.during)) : none(),
    ],
  };
}

export function summaryRows(j: DrillJournal): SummaryRow[] {
  return j.scenarios.map((s) => summaryRow(s, j.thresholds));
}

/** Hypotheses that held over all that were evaluated (the score's basis, shown next to it). */
export function hypothesisTally(j: DrillJournal): { held: number; total: number } {
  let held = 0;
  let total = 0;
  for (const s of j.scenarios) {
    for (const h of s.hypotheses) {
      total++;
      if (h.ok) held++;
    }
  }
  return { held, total };
}

/** The score's colour: only 100 is green (any broken hypothesis is a finding), under half is red. */
export function scoreTone(score: number): Tone {
  if (score >= 100) return 'ok';
  return score >= 50 ? 'warn' : 'bad';
}
