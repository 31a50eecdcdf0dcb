// The preflight report as a table (every problem on every host at once, with the fix), and the one
// problem no single host can see: clock skew across hosts. Pure: the runbook uses both.
import type { PreflightReport, Problem } from '../reconcile/preflight';

export function preflightTable(problems: Problem[]): string {
  const rows = [...problems].sort((a, b) => rank(a.severity) - rank(b.severity) || a.host.localeCompare(b.host));
  const header = ['HOST', 'SEVERITY', 'CHECK', 'PROBLEM', 'FIX'];
  const cells = rows.map((p) => [p.host, p.severity.toUpperCase(), p.check, p.message, p.fix ?? '']);
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length))));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [fmt(header), ...cells.map(fmt)].join('\n');
}

const rank = (s: Problem['severity']) => (s === 'block' ? 0 : s === 'warn' ? 1 : 2);

/** Clock skew across hosts (etcd and TLS want clocks within a second); pure, so workflows can use it. */
export function clockProblemsOf(reports: PreflightReport[], maxSkewMs = 1000): Problem[] {
  const offsets = reports.filter((r) => r.facts.clockOffsetMs !== undefined).map((r) => ({ host: r.host, off: r.facts.clockOffsetMs! }));
  if (offsets.length < 2) return [];
  const min = offsets.reduce((a, b) => (b.off < a.off ? b : a));
  const max = offsets.reduce((a, b) => (b.off > a.off ? b : a));
  const skew = max.off - min.off;
  if (skew <= maxSkewMs) return [];
  return [
    {
      host: max.host,
      severity: skew > 5 * maxSkewMs ? 'block' : 'warn',
      check: 'clock',
      message: `clock is ${skew} ms ahead of ${min.host}`,
      fix: 'synchronise clocks with NTP (chronyd or systemd-timesyncd) on every host',
    },
  ];
}
