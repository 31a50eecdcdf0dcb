// The summary table as fixed-width text, for `api7-ha drill --wait` and logs. Same figures as the
// HTML report (both come from summary.ts); ASCII headers, no colour codes (the caller may add some),
// and journal strings cleaned of control characters so they cannot rewrite the terminal.
import type { DrillJournal } from '../drills/journal';
import { sanitizeText, truncate } from './format';
import { hypothesisTally, SUMMARY_COLUMNS, summaryRows } from './summary';

/** Widest a free-text column may get, so one long hostname does not push the figures off screen. */
const MAX_TEXT_COL = 40;

function pad(s: string, w: number, right: boolean): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

/** A fixed-width table: left-aligned text columns, right-aligned numbers, two spaces between. */
export function fixedWidthTable(header: string[], rows: { text: string; numeric: boolean }[][]): string[] {
  const numericCol = header.map((_, i) => rows.length > 0 && rows.every((r) => r[i]?.numeric ?? false));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.text.length ?? 0)));
  const line = (cells: string[]): string => cells.map((c, i) => pad(c, widths[i] ?? c.length, numericCol[i] ?? false)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(r.map((c) => c.text)))];
}

/** Missing figures print as "-" (the HTML's em dash can be double width in some terminals). */
const asciiDash = (s: string): string => (s === '—' ? '-' : s);

export function verdictLine(j: DrillJournal): string {
  const { held, total } = hypothesisTally(j);
  return `verdict: ${j.verdict.toUpperCase()}   resilience score: ${j.score}/100   (${held} of ${total} hypotheses held, ${j.scenarios.length} scenario${j.scenarios.length === 1 ? '' : 's'})`;
}

/** The summary table plus one verdict/score line; lines end without trailing spaces. */
export function summaryTable(j: DrillJournal): string {
  const rows = summaryRows(j).map((r) =>
    r.cells.map((c) => ({ text: asciiDash(c.numeric ? c.text : truncate(sanitizeText(c.text), MAX_TEXT_COL)), numeric: c.numeric })),
  );
  const lines = fixedWidthTable(
    SUMMARY_COLUMNS.map((c) => c.short),
    rows,
  ).map((l) => l.trimEnd());
  return `${[...lines, '', verdictLine(j)].join('\n')}\n`;
}
