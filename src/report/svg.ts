// The timeline plot of one scenario: what each probe saw, request by request, against the fault
// window and the actions of the drill. Plain SVG with presentation attributes (no CSS, no script,
// no ids), so the same string works inline in the HTML report and as a standalone .svg file.
//
// Layout, top to bottom: an action strip (one bar per fault/action/rollback/recovery, labels stacked
// on rows so they never overlap), one lane per probe series (a status strip of ok/failed runs and a
// latency scatter), the x axis (seconds since the scenario's first probe sample) and a legend.
import type { JournalAction, ProbeName, ProbeSeries, Sample, ScenarioJournal } from '../drills/journal';
import { coord, esc, fmtMs, fmtRelS, num, truncate } from './format';
import { longestOutage } from '../drills/metrics';

export interface TimelineOptions {
  /** Width in px of the viewBox (the SVG scales down to its container). Default 1100. */
  width?: number;
  /** A series with more samples than this is drawn per time bucket. Default 1500. */
  maxSamples?: number;
  /** The smallest bucket when bucketing (ms); grows so a series never yields more than maxSamples buckets. Default 100. */
  bucketMs?: number;
  /** Latency axis. Log (default) keeps 2 ms answers and 5 s timeouts readable on one axis. */
  latencyScale?: 'log' | 'linear';
}

/** The palette: green means ok, red failed, amber degraded, everywhere in the report. */
export const COLORS = {
  ok: '#16a34a',
  fail: '#dc2626',
  partial: '#f59e0b',
  faultFill: '#fde68a',
  faultEdge: '#d97706',
  axis: '#6b7280',
  grid: '#e5e7eb',
  text: '#111827',
  muted: '#6b7280',
} as const;

const MARKER_COLORS: Record<MarkerKind, string> = {
  fault: '#b45309',
  action: '#7c3aed',
  rollback: '#2563eb',
  recovery: '#15803d',
};

type MarkerKind = 'fault' | 'action' | 'rollback' | 'recovery';
const MARKER_KINDS: readonly string[] = ['fault', 'action', 'rollback', 'recovery'];

const PROBE_ORDER: ProbeName[] = ['dp', 'cp', 'victim'];
const PROBE_LABELS: Record<ProbeName, string> = { dp: 'Data plane', cp: 'Control plane', victim: 'Victim' };

const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif';
/** A white outline behind text that sits over grid lines, markers or the fault shading, so it stays legible. */
const HALO = 'stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"';
const M_LEFT = 70;
const M_RIGHT = 20;
const ROW_H = 22;
const LANE_HEAD = 18;
const STRIP_H = 12;
const LAT_TOP = LANE_HEAD + STRIP_H + 9;
const LAT_H = 64;
const LANE_H = LAT_TOP + LAT_H + 16;

// ---------------------------------------------------------------------------------------------
// Time frame and scales

/** Times in the plot are ms since `origin` (epoch ms of the scenario's first probe sample). */
export interface Frame {
  origin: number;
  t0: number;
  t1: number;
}

const isMarker = (a: JournalAction): boolean => MARKER_KINDS.includes(a.kind);

function sortedSamples(p: ProbeSeries): Sample[] {
  // Probes append in order, but a journal is data from elsewhere: sort a copy rather than trust it.
  return p.samples.length < 2 ? p.samples : [...p.samples].sort((a, b) => a[0] - b[0]);
}

function intervalMs(p: ProbeSeries): number {
  return p.ratePerS > 0 ? 1000 / p.ratePerS : 100;
}

/**
 * The frame: 0 at the first probe sample (the spec's reference), wide enough for every sample, the
 * fault window and every marker, so nothing is clipped and negative times (an injection that
 * started before the probes) stay honest instead of being hidden.
 */
export function timelineFrame(s: ScenarioJournal): Frame {
  const spans = s.probes.filter((p) => p.samples.length > 0).map((p) => ({ p, ...sampleSpan(p.samples) }));
  const markers = s.actions.filter(isMarker);
  const firsts = spans.map((x) => x.p.startedAt + x.min);
  const origin = firsts.length > 0 ? Math.min(...firsts) : s.faultWindow?.start ?? markers[0]?.startedAt ?? s.actions[0]?.startedAt ?? 0;
  const times: number[] = [0];
  for (const { p, min, max } of spans) times.push(p.startedAt + min - origin, p.startedAt + max + intervalMs(p) - origin);
  if (s.faultWindow) times.push(s.faultWindow.start - origin, s.faultWindow.end - origin);
  for (const a of markers) times.push(a.startedAt - origin, a.endedAt - origin);
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t1 - t0 < 1000) t1 = t0 + 1000;
  // A little air on both sides so a marker at the very edge is not glued to the axis.
  const pad = (t1 - t0) * 0.01;
  t0 -= pad;
  t1 += pad;
  return { origin, t0, t1 };
}

/** First and last sample time (a loop: spreading 20 000 samples into Math.min is asking for trouble). */
function sampleSpan(samples: Sample[]): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const [t] of samples) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  return { min, max };
}

type Scale = (v: number) => number;

function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** 1, 2, 5 x 10^n: the step a person would choose for axis ticks. */
export function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

// ---------------------------------------------------------------------------------------------
// Cells: one per sample, or one per time bucket for big series

type CellClass = 'ok' | 'partial' | 'fail';

interface Cell {
  t0: number;
  t1: number;
  n: number;
  fails: number;
  /** Failed requests by status (0 = no answer), for tooltips. */
  statuses: Map<number, number>;
  okMaxMs?: number;
  failMaxMs?: number;
  /** Where the latency dots go (the sample time, or the bucket centre). */
  at: number;
}

const cellClass = (c: Cell): CellClass => (c.fails === 0 ? 'ok' : c.fails === c.n ? 'fail' : 'partial');

function rawCells(samples: Sample[], offset: number, interval: number, okSet: Set<number>): Cell[] {
  return samples.map(([t, status, ms], i) => {
    const start = offset + t;
    const next = samples[i + 1];
    // A sample stands for the time until the next one, as the outage metric counts it (first failure
    // to next success); a stall in the prober longer than twice the request shows as a gap.
    const end = next === undefined ? start + interval : Math.min(offset + next[0], start + Math.max(ms, interval) * 2);
    const ok = okSet.has(status);
    return {
      t0: start,
      t1: Math.max(end, start),
      n: 1,
      fails: ok ? 0 : 1,
      statuses: ok ? new Map() : new Map([[status, 1]]),
      ...(ok ? { okMaxMs: ms } : { failMaxMs: ms }),
      at: start,
    };
  });
}

function bucketCells(samples: Sample[], offset: number, frame: Frame, bucketMs: number, okSet: Set<number>): Cell[] {
  const buckets: (Cell | undefined)[] = [];
  for (const [t, status, ms] of samples) {
    const i = Math.max(0, Math.floor((offset + t - frame.t0) / bucketMs));
    const start = frame.t0 + i * bucketMs;
    let c = buckets[i];
    if (!c) {
      c = { t0: start, t1: start + bucketMs, n: 0, fails: 0, statuses: new Map<number, number>(), at: start + bucketMs / 2 };
      buckets[i] = c;
    }
    c.n++;
    if (okSet.has(status)) {
      c.okMaxMs = Math.max(c.okMaxMs ?? 0, ms);
    } else {
      c.fails++;
      c.statuses.set(status, (c.statuses.get(status) ?? 0) + 1);
      c.failMaxMs = Math.max(c.failMaxMs ?? 0, ms);
    }
  }
  return buckets.filter((c): c is Cell => c !== undefined);
}

/** The bucket width for a series: the smallest nice width that keeps it under maxSamples buckets. */
function bucketWidthMs(spanMs: number, minBucketMs: number, maxSamples: number): number {
  return Math.max(minBucketMs, niceStep(spanMs / Math.max(1, maxSamples)));
}

interface Run {
  cls: CellClass;
  t0: number;
  t1: number;
  n: number;
  fails: number;
  statuses: Map<number, number>;
}

/** Merges touching cells of the same class: one rect per ok stretch or outage, not per request. */
function runsOf(cells: Cell[]): Run[] {
  const runs: Run[] = [];
  for (const c of cells) {
    const cls = cellClass(c);
    const last = runs[runs.length - 1];
    if (last && last.cls === cls && c.t0 <= last.t1 + 1e-6) {
      last.t1 = Math.max(last.t1, c.t1);
      last.n += c.n;
      last.fails += c.fails;
      for (const [k, v] of c.statuses) last.statuses.set(k, (last.statuses.get(k) ?? 0) + v);
    } else {
      runs.push({ cls, t0: c.t0, t1: c.t1, n: c.n, fails: c.fails, statuses: new Map(c.statuses) });
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Latency axis

interface LatencyAxis {
  y: Scale;
  ticks: { v: number; label: string }[];
  title: string;
}

function fmtLatencyTick(ms: number): string {
  return ms >= 1000 ? `${num(ms / 1000, 1)} s` : `${num(ms, 1)} ms`;
}

/** One axis for every lane of a scenario, so heights compare across lanes. */
function latencyAxis(maxMs: number, minMs: number, kind: 'log' | 'linear', top: number, bottom: number): LatencyAxis {
  if (kind === 'linear') {
    const step = niceStep(Math.max(maxMs, 1) / 3);
    const hi = Math.max(step, Math.ceil(Math.max(maxMs, 1) / step) * step);
    const y = linearScale(0, hi, bottom, top);
    const ticks = [];
    for (let v = 0; v <= hi + 1e-9; v += step) ticks.push({ v, label: fmtLatencyTick(v) });
    return { y: (v) => y(Math.min(hi, Math.max(0, v))), ticks, title: 'latency' };
  }
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.1, minMs)));
  const hi = Math.max(lo * 100, 10 ** Math.ceil(Math.log10(Math.max(maxMs, 1))));
  const l = linearScale(Math.log10(lo), Math.log10(hi), bottom, top);
  const decades = Math.round(Math.log10(hi / lo));
  // Label every decade while they fit (>= 14 px apart), else every other one.
  const every = (bottom - top) / decades >= 14 ? 1 : 2;
  const ticks = [];
  for (let d = 0; d <= decades; d += every) {
    const v = lo * 10 ** d;
    ticks.push({ v, label: fmtLatencyTick(v) });
  }
  return { y: (v) => l(Math.log10(Math.min(hi, Math.max(lo, v)))), ticks, title: 'latency (log)' };
}

// ---------------------------------------------------------------------------------------------
// Rendering pieces (each returns an SVG fragment)

/** Rough text width for layout (the browser's font is unknown; err on the wide side). */
function textW(s: string, size: number): number {
  return s.length * size * 0.58;
}

function xAxis(frame: Frame, x: Scale, top: number, bottom: number, plotW: number): string {
  const step = niceStep((frame.t1 - frame.t0) / Math.max(2, Math.floor(plotW / 90)));
  const digits = step >= 1000 ? 0 : step >= 100 ? 1 : 2;
  const parts: string[] = [];
  for (let t = Math.ceil(frame.t0 / step) * step; t <= frame.t1; t += step) {
    const px = coord(x(t));
    const label = `${num(t / 1000, digits)} s`;
    parts.push(
      `<g class="x-tick"><line x1="${px}" x2="${px}" y1="${coord(top)}" y2="${coord(bottom)}" stroke="${COLORS.grid}"/>` +
        `<line x1="${px}" x2="${px}" y1="${coord(bottom)}" y2="${coord(bottom + 5)}" stroke="${COLORS.axis}"/>` +
        `<text x="${px}" y="${coord(bottom + 17)}" text-anchor="middle" font-size="11" fill="${COLORS.muted}">${esc(label)}</text></g>`,
    );
  }
  return `<g class="x-axis">${parts.join('')}<line x1="${coord(x(frame.t0))}" x2="${coord(x(frame.t1))}" y1="${coord(bottom)}" y2="${coord(bottom)}" stroke="${COLORS.axis}"/></g>`;
}

interface PlacedMarker {
  a: JournalAction;
  kind: MarkerKind;
  row: number;
  xs: number;
  xe: number;
  labelX: number;
  anchor: 'start' | 'end';
  label: string;
}

/**
 * Stacks action labels on rows, first fit in time order: a label never overlaps another one, and a
 * fault, its rollback and the recovery a few hundred ms later stay legible.
 */
function placeMarkers(actions: JournalAction[], x: Scale, left: number, right: number): PlacedMarker[] {
  const rowsEnd: number[] = [];
  const out: PlacedMarker[] = [];
  const sorted = actions.filter(isMarker).sort((a, b) => a.startedAt - b.startedAt || a.endedAt - b.endedAt);
  for (const a of sorted) {
    const kind = a.kind as MarkerKind;
    const xs = x(a.startedAt);
    const xe = Math.max(x(a.endedAt), xs + 3);
    const label = truncate(`${a.ok ? '' : '✗ '}${kind}: ${a.name}${a.host ? ` · ${a.host}` : ''}`, 64);
    const w = textW(label, 11);
    // Left-aligned at the start of the bar; pushed left (right-aligned) near the right edge.
    const anchor: 'start' | 'end' = xs + w <= right ? 'start' : 'end';
    const labelX = anchor === 'start' ? xs : Math.max(left + w, Math.min(right, xe));
    const spanL = Math.min(xs, anchor === 'start' ? labelX : labelX - w);
    const spanR = Math.max(xe, anchor === 'start' ? labelX + w : labelX);
    let row = rowsEnd.findIndex((end) => spanL > end + 10);
    if (row < 0) {
      row = rowsEnd.length;
      rowsEnd.push(spanR);
    } else {
      rowsEnd[row] = spanR;
    }
    out.push({ a, kind, row, xs, xe, labelX, anchor, label });
  }
  return out;
}

function actionStrip(markers: PlacedMarker[], origin: number, top: number): string {
  return markers
    .map((m) => {
      const color = m.a.ok ? MARKER_COLORS[m.kind] : COLORS.fail;
      const y = top + m.row * ROW_H;
      const tip = `${m.kind}: ${m.a.name}${m.a.host ? ` on ${m.a.host}` : ''} · ${fmtRelS(m.a.startedAt - origin)} for ${fmtMs(m.a.endedAt - m.a.startedAt)} · ${m.a.ok ? 'ok' : 'FAILED'}${m.a.detail ? ` · ${m.a.detail}` : ''}`;
      return (
        `<g class="marker" data-kind="${m.kind}"><title>${esc(tip)}</title>` +
        `<text x="${coord(m.labelX)}" y="${coord(y + 11)}" text-anchor="${m.anchor}" font-size="11" fill="${color}" font-weight="600" ${HALO}>${esc(m.label)}</text>` +
        `<rect x="${coord(m.xs)}" y="${coord(y + 14)}" width="${coord(m.xe - m.xs)}" height="4" rx="1" fill="${color}"/></g>`
      );
    })
    .join('');
}

function markerLines(markers: PlacedMarker[], top: number, bottom: number): string {
  return markers
    .map((m) => {
      const color = m.a.ok ? MARKER_COLORS[m.kind] : COLORS.fail;
      const px = coord(m.xs);
      return `<line class="marker-line" data-kind="${m.kind}" x1="${px}" x2="${px}" y1="${coord(top)}" y2="${coord(bottom)}" stroke="${color}" stroke-width="1.2" stroke-dasharray="4 3"/>`;
    })
    .join('');
}

function statusSummary(statuses: Map<number, number>): string {
  return [...statuses.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([st, n]) => `${st === 0 ? 'no answer' : `HTTP ${st}`} ×${n}`)
    .join(', ');
}

const RUN_FILL: Record<CellClass, string> = { ok: COLORS.ok, partial: COLORS.partial, fail: COLORS.fail };

function runRects(runs: Run[], x: Scale, y: number, latTop: number): string {
  const parts: string[] = [];
  for (const r of runs) {
    const x0 = x(r.t0);
    // Failures keep a visible minimum width however short: an isolated 502 must not vanish.
    const w = Math.max(x(r.t1) - x0, r.cls === 'ok' ? 0.5 : 2);
    if (r.cls === 'ok') {
      parts.push(`<rect class="ok" x="${coord(x0)}" y="${coord(y)}" width="${coord(w)}" height="${STRIP_H}" fill="${COLORS.ok}"/>`);
      continue;
    }
    const tip = `${r.fails} failed of ${r.n} request${r.n === 1 ? '' : 's'} (${statusSummary(r.statuses)}) · ${fmtRelS(r.t0)} → ${fmtRelS(r.t1)} (${fmtMs(r.t1 - r.t0)})`;
    // A faint band through the latency plot so the outage reads across the whole lane.
    parts.push(
      `<rect class="fail-band" x="${coord(x0)}" y="${coord(latTop)}" width="${coord(w)}" height="${LAT_H}" fill="${RUN_FILL[r.cls]}" fill-opacity="0.12"/>` +
        `<rect class="${r.cls}" x="${coord(x0)}" y="${coord(y)}" width="${coord(w)}" height="${STRIP_H}" fill="${RUN_FILL[r.cls]}"><title>${esc(tip)}</title></rect>`,
    );
  }
  return parts.join('');
}

/** Latency dots as one path of zero-length round-capped segments: ~15 bytes a dot. */
function dotPath(points: [number, number][], color: string, cls: string, width: number): string {
  if (points.length === 0) return '';
  const d = points.map(([px, py]) => `M${coord(px)} ${coord(py)}h0`).join('');
  return `<path class="${cls}" d="${d}" stroke="${color}" stroke-width="${width}" stroke-linecap="round" fill="none"/>`;
}

interface LaneData {
  p: ProbeSeries;
  samples: Sample[];
  cells: Cell[];
  bucketMs?: number;
  okSet: Set<number>;
  offset: number;
}

function laneData(p: ProbeSeries, frame: Frame, o: Required<TimelineOptions>): LaneData {
  const samples = sortedSamples(p);
  const offset = p.startedAt - frame.origin;
  const okSet = new Set(p.okStatus);
  if (samples.length > o.maxSamples) {
    const b = bucketWidthMs(frame.t1 - frame.t0, o.bucketMs, o.maxSamples);
    return { p, samples, cells: bucketCells(samples, offset, frame, b, okSet), bucketMs: b, okSet, offset };
  }
  return { p, samples, cells: rawCells(samples, offset, intervalMs(p), okSet), okSet, offset };
}

function laneFigures(d: LaneData): { failed: number; outage: { ms: number; from?: number } } {
  const failed = d.samples.reduce((n, [, st]) => n + (d.okSet.has(st) ? 0 : 1), 0);
  return { failed, outage: longestOutage(d.samples, (st) => d.okSet.has(st)) };
}

function lane(d: LaneData, x: Scale, lat: LatencyAxis, top: number, left: number, right: number): string {
  const { failed, outage } = laneFigures(d);
  const name = `${PROBE_LABELS[d.p.name]} (${d.p.name})`;
  const figures = `${d.samples.length} requests · ${failed} failed${failed > 0 ? ` · longest outage ${fmtMs(outage.ms)}` : ''}${d.bucketMs ? ` · bucketed per ${fmtMs(d.bucketMs)}` : ''}`;
  const room = Math.floor((right - left - textW(name, 12) - textW(figures, 11)) / (11 * 0.58)) - 6;
  const target = room > 8 ? ` · ${truncate(d.p.target, room)}` : '';
  const stripY = top + LANE_HEAD;
  const latTop = top + LAT_TOP;
  const latBottom = latTop + LAT_H;

  const grid = lat.ticks
    .map((t) => {
      const py = coord(lat.y(t.v));
      return (
        `<line x1="${coord(left)}" x2="${coord(right)}" y1="${py}" y2="${py}" stroke="${COLORS.grid}"/>` +
        `<text x="${coord(left - 6)}" y="${py}" dy="3.5" text-anchor="end" font-size="10" fill="${COLORS.muted}">${esc(t.label)}</text>`
      );
    })
    .join('');
  const okDots: [number, number][] = [];
  const failDots: [number, number][] = [];
  for (const c of d.cells) {
    if (c.okMaxMs !== undefined) okDots.push([x(c.at), lat.y(c.okMaxMs)]);
    // A request that got no answer is drawn at its time-out latency (or the top of the axis).
    if (c.failMaxMs !== undefined) failDots.push([x(c.at), lat.y(c.failMaxMs > 0 ? c.failMaxMs : Number.POSITIVE_INFINITY)]);
  }
  const dotW = d.bucketMs ? 2.2 : 2.6;
  const yTitle = coord(latTop + LAT_H / 2);
  return (
    `<g class="lane" data-probe="${esc(d.p.name)}"><title>${esc(`${name}: ${d.p.target}`)}</title>` +
    `<text x="${coord(left)}" y="${coord(top + 12)}" font-size="12" fill="${COLORS.text}" ${HALO}><tspan font-weight="700">${esc(name)}</tspan>` +
    `<tspan fill="${COLORS.muted}" font-size="11">${esc(target)} · ${esc(figures)}</tspan></text>` +
    `<text x="${coord(left - 6)}" y="${coord(stripY + STRIP_H - 2)}" text-anchor="end" font-size="10" fill="${COLORS.muted}">requests</text>` +
    `<rect x="${coord(left)}" y="${coord(stripY)}" width="${coord(right - left)}" height="${STRIP_H}" fill="#f9fafb"/>` +
    grid +
    `<text transform="translate(${coord(14)} ${yTitle}) rotate(-90)" text-anchor="middle" font-size="10" fill="${COLORS.muted}">${esc(lat.title)}</text>` +
    `<line x1="${coord(left)}" x2="${coord(left)}" y1="${coord(latTop)}" y2="${coord(latBottom)}" stroke="${COLORS.axis}"/>` +
    runRects(runsOf(d.cells), x, stripY, latTop) +
    dotPath(okDots, COLORS.ok, 'latency-ok', dotW) +
    dotPath(failDots, COLORS.fail, 'latency-fail', dotW + 0.6) +
    `</g>`
  );
}

interface LegendItem {
  swatch: (x: number, y: number) => string;
  label: string;
}

function legend(items: LegendItem[], left: number, right: number, top: number): { svg: string; height: number } {
  const parts: string[] = [];
  let px = left;
  let py = top;
  for (const it of items) {
    const w = 22 + textW(it.label, 11) + 18;
    if (px + w > right && px > left) {
      px = left;
      py += 18;
    }
    parts.push(`${it.swatch(px, py)}<text x="${coord(px + 22)}" y="${coord(py + 9)}" font-size="11" fill="${COLORS.text}">${esc(it.label)}</text>`);
    px += w;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, height: py - top + 16 };
}

const rectSwatch =
  (fill: string, opacity = 1, stroke?: string) =>
  (x: number, y: number): string =>
    `<rect x="${coord(x)}" y="${coord(y)}" width="16" height="11" fill="${fill}" fill-opacity="${opacity}"${stroke ? ` stroke="${stroke}" stroke-dasharray="3 2"` : ''}/>`;

function legendItems(bucketed: boolean, markerKinds: Set<MarkerKind>): LegendItem[] {
  const items: LegendItem[] = [
    { swatch: rectSwatch(COLORS.ok), label: 'requests ok' },
    { swatch: rectSwatch(COLORS.fail), label: 'requests failed (no answer or bad status)' },
  ];
  if (bucketed) items.push({ swatch: rectSwatch(COLORS.partial), label: 'bucket with some failures' });
  items.push({
    swatch: (x, y) =>
      `<path d="M${coord(x + 4)} ${coord(y + 6)}h0M${coord(x + 12)} ${coord(y + 4)}h0" stroke="${COLORS.ok}" stroke-width="3" stroke-linecap="round"/>`,
    label: bucketed ? 'max latency per bucket (red: failed)' : 'latency per request (red: failed)',
  });
  items.push({ swatch: rectSwatch(COLORS.faultFill, 0.7, COLORS.faultEdge), label: 'fault window (injection → rollback end)' });
  for (const k of ['fault', 'action', 'rollback', 'recovery'] as const) {
    if (!markerKinds.has(k)) continue;
    items.push({
      swatch: (x, y) => `<line x1="${coord(x + 8)}" x2="${coord(x + 8)}" y1="${coord(y - 1)}" y2="${coord(y + 12)}" stroke="${MARKER_COLORS[k]}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
      label: `${k} start`,
    });
  }
  return items;
}

function placeholder(s: ScenarioJournal, width: number, title: string): string {
  const msg = s.error ? `No probe samples: ${truncate(s.error, 120)}` : 'No probe samples were recorded for this scenario.';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" data-scenario="${esc(s.id)}" role="img" aria-label="${esc(title)}" viewBox="0 0 ${width} 60" width="${width}" height="60" font-family="${FONT}">` +
    `<title>${esc(title)}</title><rect x="0.5" y="0.5" width="${width - 1}" height="59" rx="4" fill="#f9fafb" stroke="${COLORS.grid}"/>` +
    `<text x="${width / 2}" y="34" text-anchor="middle" font-size="13" fill="${COLORS.muted}">${esc(msg)}</text></svg>`
  );
}

/** A sentence per lane for screen readers (the <desc>): the plot's message without the picture. */
function describe(s: ScenarioJournal, lanes: LaneData[], frame: Frame): string {
  const parts = lanes.map((d) => {
    const { failed, outage } = laneFigures(d);
    const at = outage.from !== undefined ? ` starting ${fmtRelS(d.offset + outage.from)}` : '';
    return `${PROBE_LABELS[d.p.name]}: ${d.samples.length} requests, ${failed} failed${failed > 0 ? `, longest outage ${fmtMs(outage.ms)}${at}` : ''}.`;
  });
  if (s.faultWindow) parts.unshift(`Fault window ${fmtRelS(s.faultWindow.start - frame.origin)} to ${fmtRelS(s.faultWindow.end - frame.origin)}.`);
  return parts.join(' ');
}

/**
 * The timeline plot of one scenario. Root: `<svg class="timeline" data-scenario="<id>" role="img">`.
 * Deterministic: the output depends on the scenario and the options only.
 */
export function timelineSvg(s: ScenarioJournal, opts: TimelineOptions = {}): string {
  const o: Required<TimelineOptions> = { width: 1100, maxSamples: 1500, bucketMs: 100, latencyScale: 'log', ...opts };
  const W = o.width;
  const title = `${s.title} (${s.id}): probe timeline`;
  const series = PROBE_ORDER.flatMap((n) => s.probes.filter((p) => p.name === n));
  if (!series.some((p) => p.samples.length > 0)) return placeholder(s, W, title);

  const frame = timelineFrame(s);
  const left = M_LEFT;
  const right = W - M_RIGHT;
  const xRel = linearScale(frame.t0, frame.t1, left, right);
  const xAbs: Scale = (epoch) => xRel(epoch - frame.origin);
  const lanes = series.map((p) => laneData(p, frame, o));

  const markers = placeMarkers(s.actions, xAbs, left, right);
  const rows = markers.reduce((n, m) => Math.max(n, m.row + 1), 0);
  const stripTop = 8;
  const lanesTop = stripTop + rows * ROW_H + 6;
  const lanesBottom = lanesTop + lanes.length * LANE_H - 10;

  let maxMs = 1;
  let minMs = Number.POSITIVE_INFINITY;
  for (const d of lanes) {
    for (const c of d.cells) {
      for (const v of [c.okMaxMs, c.failMaxMs]) {
        if (v === undefined) continue;
        maxMs = Math.max(maxMs, v);
        if (v > 0) minMs = Math.min(minMs, v);
      }
    }
  }
  const laneSvgs = lanes.map((d, i) => {
    const top = lanesTop + i * LANE_H;
    const lat = latencyAxis(maxMs, Number.isFinite(minMs) ? minMs : 1, o.latencyScale, top + LAT_TOP, top + LAT_TOP + LAT_H);
    return lane(d, xRel, lat, top, left, right);
  });

  const fw = s.faultWindow;
  const fault = fw
    ? (() => {
        const x0 = xAbs(fw.start);
        const x1 = Math.max(xAbs(fw.end), x0 + 1);
        const tip = `fault window ${fmtRelS(fw.start - frame.origin)} → ${fmtRelS(fw.end - frame.origin)} (${fmtMs(fw.end - fw.start)})`;
        return (
          `<rect class="fault-window" x="${coord(x0)}" y="${coord(stripTop)}" width="${coord(x1 - x0)}" height="${coord(lanesBottom - stripTop)}" fill="${COLORS.faultFill}" fill-opacity="0.45"><title>${esc(tip)}</title></rect>` +
          `<line x1="${coord(x0)}" x2="${coord(x0)}" y1="${coord(stripTop)}" y2="${coord(lanesBottom)}" stroke="${COLORS.faultEdge}" stroke-opacity="0.6"/>` +
          `<line x1="${coord(x1)}" x2="${coord(x1)}" y1="${coord(stripTop)}" y2="${coord(lanesBottom)}" stroke="${COLORS.faultEdge}" stroke-opacity="0.6"/>`
        );
      })()
    : '';

  const axisTitleY = lanesBottom + 34;
  const leg = legend(
    legendItems(
      lanes.some((d) => d.bucketMs !== undefined),
      new Set(markers.map((m) => m.kind)),
    ),
    left,
    right,
    axisTitleY + 14,
  );
  const H = Math.ceil(axisTitleY + 14 + leg.height + 6);

  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" data-scenario="${esc(s.id)}" role="img" aria-label="${esc(title)}" ` +
    `viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="${FONT}">` +
    `<title>${esc(title)}</title><desc>${esc(describe(s, lanes, frame))}</desc>` +
    `<rect width="${W}" height="${H}" fill="#ffffff"/>` +
    xAxis(frame, xRel, lanesTop, lanesBottom, right - left) +
    fault +
    markerLines(markers, lanesTop, lanesBottom) +
    laneSvgs.join('') +
    actionStrip(markers, frame.origin, stripTop) +
    `<text x="${coord((left + right) / 2)}" y="${coord(axisTitleY)}" text-anchor="middle" font-size="11" fill="${COLORS.muted}">seconds since the scenario's first probe sample</text>` +
    leg.svg +
    `</svg>`
  );
}
