// Small pure formatting helpers shared by the HTML, SVG and text renderers. Everything here is
// deterministic (no clock, no locale): the same journal must always render to the same bytes, so a
// report can be diffed, cached and attached to a ticket without churn.

/** Escapes a string for HTML/SVG text and for double- or single-quoted attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Removes control characters (ESC sequences, CR, NUL...) from a string printed on a terminal: a
 * hostname or an error message must not be able to recolour or rewrite the operator's screen.
 */
export function sanitizeText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\t' || c === '\n' ? ' ' : '?'));
}

/** Cuts a string to max characters with an ellipsis (labels must not run into each other). */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/** A number with at most `digits` decimals and no trailing zeros ("1.5", "2", "0.25"). */
export function num(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n);
  const f = 10 ** digits;
  const r = Math.round(n * f) / f;
  return String(Object.is(r, -0) ? 0 : r);
}

/** An SVG coordinate: one decimal is sub-pixel precise and keeps big series small. */
export const coord = (n: number): string => num(n, 1);

/**
 * A duration for people: "0 ms", "600 ms", "1.80 s", "12.3 s", "4 m 05 s". Milliseconds stay exact below a
 * second because that is the range HA thresholds are written in (e.g. "CP outage <= 500 ms").
 */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  const sign = ms < 0 ? '−' : '';
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(a < 10_000 ? 2 : 1)} s`;
  const totalS = Math.round(a / 1000);
  const m = Math.floor(totalS / 60);
  const s = totalS % 60;
  if (m < 60) return `${sign}${m} m ${String(s).padStart(2, '0')} s`;
  return `${sign}${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

/** Seconds relative to a reference, signed: "+8.20 s", "−1.05 s" (action timelines). */
export function fmtRelS(ms: number): string {
  const sign = ms < 0 ? '−' : '+';
  return `${sign}${(Math.abs(ms) / 1000).toFixed(2)} s`;
}

/** Epoch ms as UTC ("2025-11-25 17:02:03 UTC"): no locale or time zone so output is deterministic. */
export function fmtUtc(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '—';
  return `${new Date(epochMs).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '')} UTC`;
}

/** An integer count with thin grouping ("20 000"): en-US grouping with its commas as spaces, the same on every machine. */
export function count(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
}

/** A latency pair "p50 / p99" ("3 / 48 ms"), or "—" when nothing was measured. */
export function fmtP50P99(l: { p50?: number; p99?: number } | undefined): string {
  if (!l || (l.p50 === undefined && l.p99 === undefined)) return '—';
  const p = (v: number | undefined): string => (v === undefined ? '—' : num(v, v < 10 ? 1 : 0));
  return `${p(l.p50)} / ${p(l.p99)} ms`;
}
