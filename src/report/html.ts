// The drill report: one self-contained HTML file rendered from a DrillJournal alone. Inline CSS and
// inline SVG, no script, no web font, no external link or image, so it opens offline, from a mail
// attachment or an artifact store, prints on white paper, and is byte-for-byte reproducible.
import type { DrillJournal, DrillThresholds, HypothesisResult, JournalAction, ProbeMetrics, ProbeSeries, ScenarioJournal, Verdict } from '../drills/journal';
import { count, esc, fmtMs, fmtP50P99, fmtRelS, fmtUtc, num } from './format';
import { hypothesisTally, scoreTone, statusTone, SUMMARY_COLUMNS, summaryRows, type Tone } from './summary';
import { timelineFrame, timelineSvg, type TimelineOptions } from './svg';

export interface ReportOptions {
  timeline?: TimelineOptions;
  /** The cluster's earlier drills, newest first (Temporal visibility): the history strip. */
  history?: { workflowId: string; start: string; verdict?: string; score?: number }[];
}

const ROLE_LABELS: Record<string, string> = { data_plane: 'data plane', control_plane: 'control plane', etcd: 'etcd member', host: 'host' };

const CSS = `
:root{--ok:#15803d;--ok-bg:#dcfce7;--bad:#b91c1c;--bad-bg:#fee2e2;--warn:#b45309;--warn-bg:#fef3c7;--muted:#6b7280;--line:#e5e7eb;--ink:#111827;--soft:#f9fafb}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:#fff;color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 32px 40px}
h1{font-size:26px;margin:2px 0 10px;line-height:1.2}
h2{font-size:19px;margin:0 0 10px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
h3{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:22px 0 8px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
.eyebrow{margin:0;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.08em;font-weight:600}
.report-head{display:flex;gap:32px;justify-content:space-between;align-items:flex-start;border-bottom:2px solid var(--ink);padding-bottom:18px}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;font-size:13px}
.meta dt{color:var(--muted)}.meta dd{margin:0;overflow-wrap:anywhere}
.outcome{min-width:250px;text-align:right}
.verdict{display:inline-block;font-size:34px;font-weight:800;letter-spacing:.05em;padding:6px 20px;border-radius:8px;border:2px solid currentColor}
.score{margin-top:12px;font-size:13px;color:var(--muted)}
.score b{font-size:30px;color:var(--ink)}
.meter{height:8px;background:var(--line);border-radius:4px;overflow:hidden;margin:6px 0 4px}
.meter span{display:block;height:100%}
.tally{margin:0;font-size:12.5px;color:var(--muted)}
.lead{font-size:15px;margin:16px 0 0;max-width:900px}
section{margin-top:30px}
.scenario{border-top:1px solid var(--line);padding-top:24px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:#374151;background:var(--soft);font-size:12px}
thead tr.groups th{text-align:center;border-bottom:1px solid #d1d5db}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.n{white-space:nowrap}
.summary-wrap{overflow-x:auto}
table.summary{font-size:12.5px}table.summary th,table.summary td{padding:5px 6px}table.summary tbody th{min-width:170px;font-weight:600;background:none}table.summary tr.failed>*{background:#fef2f2}table.summary thead th{vertical-align:bottom}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:11.5px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;white-space:nowrap}
.t-ok{color:var(--ok)}.t-bad{color:var(--bad);font-weight:700}.t-warn{color:var(--warn);font-weight:600}.t-muted{color:var(--muted)}
.b-ok{color:var(--ok);background:var(--ok-bg)}.b-bad{color:var(--bad);background:var(--bad-bg)}.b-warn{color:var(--warn);background:var(--warn-bg)}.b-muted{color:#374151;background:#f3f4f6}
.verdict.b-ok{background:var(--ok-bg)}.verdict.b-bad{background:var(--bad-bg)}.verdict.b-warn{background:var(--warn-bg)}
.k-fault{color:#92400e;background:#fef3c7}.k-rollback{color:#1d4ed8;background:#dbeafe}.k-recovery{color:#166534;background:#dcfce7}.k-action{color:#6d28d9;background:#ede9fe}.k-steady-state,.k-check{color:#374151;background:#f3f4f6}
.victim{margin:0 0 6px;color:#374151}
.abort{border:2px solid var(--bad);background:var(--bad-bg);color:#7f1d1d;padding:8px 12px;border-radius:6px;margin:10px 0}
.interrupted{border:1px solid #fcd34d;background:var(--warn-bg);padding:8px 12px;border-radius:6px;margin:10px 0}
.history .strip{display:flex;gap:3px;flex-wrap:wrap}.history .cell{width:14px;height:14px;border-radius:3px;background:currentColor;display:inline-block}.history .cell.current{outline:2px solid var(--ink);outline-offset:1px}
.error{border:1px solid #fca5a5;background:var(--bad-bg);color:#7f1d1d;padding:8px 12px;border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere;margin:10px 0}
.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0 4px}
.kpi{border:1px solid var(--line);border-left:4px solid #9ca3af;border-radius:6px;padding:6px 12px;min-width:150px}
.kpi.ok{border-left-color:#16a34a}.kpi.warn{border-left-color:#f59e0b}.kpi.bad{border-left-color:#dc2626}
.kpi .v{font-size:19px;font-weight:700;display:block;font-variant-numeric:tabular-nums}
.kpi .l{font-size:11.5px;color:var(--muted)}
.detail{white-space:pre-wrap;overflow-wrap:anywhere;color:#374151}td.target{min-width:260px}.victim-host{white-space:nowrap}
figure{margin:0}
figure svg{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px}
figcaption{font-size:12px;color:var(--muted);margin-top:6px}
.thresholds{font-size:12.5px;color:var(--muted);margin:8px 0 0}
nav.toc{margin-top:10px;font-size:13px}
nav.toc a{color:#1d4ed8;text-decoration:none;margin-right:14px}
a{color:#1d4ed8}
footer{margin-top:36px;padding-top:12px;border-top:1px solid var(--line);font-size:12px;color:var(--muted)}
@media (max-width:800px){.report-head{flex-direction:column}.outcome{text-align:left}}
@media print{main{padding:0;max-width:none}.scenario{break-before:page}figure,table{break-inside:avoid}nav.toc{display:none}.summary-wrap{overflow:visible}a{color:inherit;text-decoration:none}}
@page{size:A4 landscape;margin:12mm}
`;

const toneClass = (t: Tone): string => (t === 'plain' ? '' : `t-${t}`);
const badgeClass = (t: Tone): string => `b-${t === 'plain' ? 'muted' : t}`;

function badge(text: string, tone: Tone, extra = ''): string {
  return `<span class="badge ${badgeClass(tone)}${extra ? ` ${extra}` : ''}">${esc(text)}</span>`;
}

/** A stable, unique anchor per scenario (an id may repeat if a drill runs a scenario twice). */
const anchorOf = (s: ScenarioJournal, i: number): string => `scenario-${i + 1}-${s.id}`;

function header(j: DrillJournal): string {
  const { held, total } = hypothesisTally(j);
  const vt = statusTone(j.verdict);
  const st = scoreTone(j.score);
  const meterColor = st === 'ok' ? '#16a34a' : st === 'warn' ? '#f59e0b' : '#dc2626';
  const score = Math.max(0, Math.min(100, j.score));
  const meta: [string, string][] = [
    ['Drill workflow', `<code>${esc(j.workflowId)}</code>`],
    ['Run', `<code>${esc(j.runId)}</code>`],
    ['Product', esc(j.product)],
    ['Kind', j.kind === 'drill' ? 'HA drill' : 'deploy failover verification'],
    ['Time range', `${esc(fmtUtc(j.startedAt))} → ${esc(fmtUtc(j.endedAt))} (${esc(fmtMs(j.endedAt - j.startedAt))})`],
    ['Probes', `${esc(num(j.probeRatePerS))} requests/s per probe`],
  ];
  return (
    `<header class="report-head"><div><p class="eyebrow">API7 HA drill report</p>` +
    `<h1>Cluster <span class="mono" style="font-size:24px">${esc(j.cluster)}</span></h1>` +
    `<dl class="meta">${meta.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl></div>` +
    `<div class="outcome"><div class="verdict ${badgeClass(vt)}" role="status">${esc(j.verdict.toUpperCase())}</div>` +
    `<div class="score">resilience score <b class="score-value">${esc(num(j.score, 0))}</b> / 100</div>` +
    `<div class="meter" role="img" aria-label="score ${esc(num(j.score, 0))} of 100"><span style="width:${num(score, 1)}%;background:${meterColor}"></span></div>` +
    `<p class="tally">${held} of ${total} hypotheses held</p></div></header>` +
    (j.summary ? `<p class="lead">${esc(j.summary)}</p>` : '') +
    `<nav class="toc" aria-label="Scenarios">${j.scenarios.map((s, i) => `<a href="#${esc(anchorOf(s, i))}">${i + 1}. ${esc(s.title)}</a>`).join('')}</nav>`
  );
}

function thresholdsLine(t: DrillThresholds): string {
  return (
    `<p class="thresholds">Thresholds: DP longest outage ≤ ${esc(fmtMs(t.dpMaxOutageMs))} · CP longest outage ≤ ${esc(fmtMs(t.cpMaxOutageMs))} · ` +
    `etcd scenarios: CP writes back within ${esc(fmtMs(t.etcdCpWriteRecoveryMs))}, DP failures ≤ ${esc(count(t.etcdDpMaxFailures))} · ` +
    `recovery deadline ${esc(num(t.recoveryDeadlineS))} s. Amber: failures within budget; red: over budget.</p>`
  );
}

function summaryTableHtml(j: DrillJournal): string {
  const rows = summaryRows(j);
  // Two header rows: the DP/CP groups span their three columns, the others span both rows.
  const top: string[] = [];
  for (let i = 0; i < SUMMARY_COLUMNS.length; i++) {
    const c = SUMMARY_COLUMNS[i]!;
    if (!c.group) {
      top.push(`<th rowspan="2" scope="col"${i >= 3 ? ' class="n"' : ''}>${esc(c.label)}</th>`);
    } else if (SUMMARY_COLUMNS[i - 1]?.group !== c.group) {
      const span = SUMMARY_COLUMNS.filter((x) => x.group === c.group).length;
      top.push(`<th colspan="${span}" scope="colgroup">${esc(c.group)}</th>`);
    }
  }
  const second = SUMMARY_COLUMNS.filter((c) => c.group).map((c) => `<th scope="col" class="n">${esc(c.label)}</th>`);
  const body = rows.map((r, ri) => {
    const tds = r.cells.map((c, i) => {
      const key = SUMMARY_COLUMNS[i]?.key ?? '';
      if (key === 'scenario') return `<th scope="row"><a href="#${esc(anchorOf(r.scenario, ri))}">${esc(r.scenario.title)}</a><br><code class="t-muted">${esc(c.text)}</code></th>`;
      if (key === 'status') return `<td>${badge(c.text, c.tone)}</td>`;
      if (key === 'victim') return `<td class="mono victim-host">${esc(c.text)}</td>`;
      return `<td class="n ${toneClass(c.tone)}" data-col="${esc(key)}">${esc(c.text)}</td>`;
    });
    return `<tr data-scenario="${esc(r.scenario.id)}" class="${statusTone(r.scenario.status) === 'bad' ? 'failed' : ''}">${tds.join('')}</tr>`;
  });
  return (
    `<section aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2><div class="summary-wrap"><table class="summary">` +
    `<thead><tr class="groups">${top.join('')}</tr><tr>${second.join('')}</tr></thead><tbody>${body.join('')}</tbody></table></div>` +
    thresholdsLine(j.thresholds) +
    `</section>`
  );
}

interface Kpi {
  label: string;
  value: string;
  tone: Tone;
  note?: string;
}

function outageKpi(label: string, p: ProbeMetrics | undefined, budget: number): Kpi | undefined {
  if (!p) return undefined;
  const tone: Tone = p.longestOutageMs > budget ? 'bad' : p.failures > 0 ? 'warn' : 'ok';
  return { label, value: fmtMs(p.longestOutageMs), tone, note: `${count(p.failures)} failed · budget ${fmtMs(budget)}` };
}

function kpis(s: ScenarioJournal, t: DrillThresholds): string {
  const m = s.metrics;
  const list: (Kpi | undefined)[] = [
    outageKpi('DP longest outage', m.probes.dp, t.dpMaxOutageMs),
    outageKpi('CP longest outage', m.probes.cp, t.cpMaxOutageMs),
    m.detectMs !== undefined ? { label: 'Time to detect', value: fmtMs(m.detectMs), tone: 'plain' } : undefined,
    m.recoverMs !== undefined
      ? { label: 'Time to recover', value: fmtMs(m.recoverMs), tone: m.recoverMs > t.recoveryDeadlineS * 1000 ? 'bad' : 'ok', note: `deadline ${num(t.recoveryDeadlineS)} s` }
      : undefined,
    m.cpWriteRecoveryMs !== undefined
      ? { label: 'CP write recovery', value: fmtMs(m.cpWriteRecoveryMs), tone: m.cpWriteRecoveryMs > t.etcdCpWriteRecoveryMs ? 'bad' : 'ok', note: `budget ${fmtMs(t.etcdCpWriteRecoveryMs)}` }
      : undefined,
  ];
  const cards = list
    .filter((k): k is Kpi => k !== undefined)
    .map((k) => `<div class="kpi ${k.tone}"><span class="l">${esc(k.label)}</span><span class="v ${toneClass(k.tone)}">${esc(k.value)}</span>${k.note ? `<span class="l">${esc(k.note)}</span>` : ''}</div>`);
  return cards.length > 0 ? `<div class="kpis">${cards.join('')}</div>` : '';
}

function hypothesesTable(hs: HypothesisResult[]): string {
  if (hs.length === 0) return '<p class="t-muted">No hypotheses were evaluated.</p>';
  const rows = hs.map(
    (h) =>
      `<tr class="${h.ok ? 'held' : 'broken'}"><td>${badge(h.ok ? '✓ held' : '✗ failed', h.ok ? 'ok' : 'bad')}</td>` +
      `<td>${esc(h.text)}<br><code class="t-muted">${esc(h.id)}</code></td><td class="${h.ok ? '' : 't-bad'}">${esc(h.observed)}</td><td>${esc(h.threshold ?? '—')}</td></tr>`,
  );
  return `<table class="hypotheses"><thead><tr><th scope="col">Result</th><th scope="col">Hypothesis</th><th scope="col">Observed</th><th scope="col">Threshold</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function actionsTable(actions: JournalAction[], origin: number): string {
  if (actions.length === 0) return '<p class="t-muted">No actions were recorded.</p>';
  // Stable sort by start: the journal's order breaks ties (steady-state before a same-ms fault).
  const sorted = actions.map((a, i) => ({ a, i })).sort((x, y) => x.a.startedAt - y.a.startedAt || x.i - y.i);
  const rows = sorted.map(
    ({ a }) =>
      `<tr class="${a.ok ? 'ok' : 'failed'}"><td class="n">${esc(fmtRelS(a.startedAt - origin))}</td><td class="n">${esc(fmtMs(a.endedAt - a.startedAt))}</td>` +
      `<td><span class="badge k-${esc(a.kind)}">${esc(a.kind)}</span></td><td>${esc(a.name)}</td><td class="mono">${esc(a.host ?? '—')}</td>` +
      `<td>${badge(a.ok ? 'ok' : 'failed', a.ok ? 'ok' : 'bad')}</td><td class="detail">${esc(a.detail)}</td></tr>`,
  );
  return (
    `<table class="actions"><thead><tr><th scope="col" class="n">Start</th><th scope="col" class="n">Duration</th><th scope="col">Kind</th>` +
    `<th scope="col">Action</th><th scope="col">Host</th><th scope="col">Result</th><th scope="col">Detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function probesTable(s: ScenarioJournal): string {
  const names = new Set<string>([...s.probes.map((p) => p.name), ...Object.keys(s.metrics.probes)]);
  if (names.size === 0) return '';
  const rows = [...names].map((n) => {
    const p: ProbeSeries | undefined = s.probes.find((x) => x.name === n);
    const m = s.metrics.probes[n as keyof typeof s.metrics.probes];
    const rate = m ? `${num(m.achievedRatePerS)}${p ? ` / ${num(p.ratePerS)}` : ''}` : '—';
    return (
      `<tr><th scope="row">${esc(n)}</th><td class="detail mono target">${esc(p?.target ?? '—')}</td><td class="n">${esc(count(m?.requests))}</td>` +
      `<td class="n ${m && m.failures > 0 ? 't-warn' : ''}">${esc(count(m?.failures))}</td><td class="n">${esc(count(m?.failuresDuringFault))}</td>` +
      `<td class="n">${esc(m ? fmtMs(m.longestOutageMs) : '—')}</td><td class="n">${esc(rate)}</td>` +
      `<td class="n">${esc(fmtP50P99(m?.latency.before))}</td><td class="n">${esc(fmtP50P99(m?.latency.during))}</td><td class="n">${esc(fmtP50P99(m?.latency.after))}</td></tr>`
    );
  });
  return (
    `<h3>Probes</h3><table class="probes"><thead><tr><th scope="col">Probe</th><th scope="col">Target</th><th scope="col" class="n">Requests</th>` +
    `<th scope="col" class="n">Failures</th><th scope="col" class="n">During fault</th><th scope="col" class="n">Longest outage</th>` +
    `<th scope="col" class="n">Rate achieved / set (req/s)</th><th scope="col" class="n">p50 / p99 before</th><th scope="col" class="n">during</th><th scope="col" class="n">after</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

/** Past drills as a strip of small cells, oldest left, this drill marked; colour by verdict. */
function historyStrip(j: DrillJournal, history: NonNullable<ReportOptions['history']>): string {
  const cells = [...history].reverse().map((h) => {
    const tone = h.verdict ? statusTone(h.verdict as Verdict) : 'muted';
    const me = h.workflowId === j.workflowId ? ' current' : '';
    return `<span class="cell ${toneClass(tone)}${me}" data-verdict="${esc(h.verdict ?? 'running')}" title="${esc(`${h.start.slice(0, 16).replace('T', ' ')} UTC · ${h.workflowId} · ${h.verdict ?? 'running'}${h.score !== undefined ? ` · score ${h.score}` : ''}`)}"></span>`;
  });
  return `<section class="history" aria-label="Drill history"><h3>History of ${esc(j.cluster)} (last ${history.length} drills, oldest first)</h3><div class="strip">${cells.join('')}</div></section>`;
}

function abortBox(s: ScenarioJournal): string {
  const a = s.abort;
  if (!a) return '';
  const times = [
    a.firingToRollbackStartMs !== undefined ? `rollback started ${fmtMs(a.firingToRollbackStartMs)} after it fired` : '',
    a.firingToRollbackDoneMs !== undefined ? `rollback and recovery done ${fmtMs(a.firingToRollbackDoneMs)} after` : '',
  ].filter(Boolean);
  return `<div class="abort" role="alert" data-abort="${esc(a.condition)}"><b>Aborted by stop condition <code>${esc(a.condition)}</code></b> (${esc(a.kind)}): ${esc(a.detail)}${times.length ? `. ${esc(times.join('; '))}.` : ''}</div>`;
}

function propagationTable(s: ScenarioJournal): string {
  const per = Object.entries(s.metrics.propagation ?? {});
  if (!per.length) return '';
  const writes = Math.max(0, ...(s.propagation ?? []).map((p) => p.writeFailures));
  const rows = per.map(
    ([gw, m]) =>
      `<tr class="${m.stale ? 'broken' : 'held'}"><th scope="row" class="mono">${esc(gw)}</th><td class="n">${esc(count(m.count))}</td><td class="n">${esc(m.p50 !== undefined ? fmtMs(m.p50) : '—')}</td>` +
      `<td class="n">${esc(m.p99 !== undefined ? fmtMs(m.p99) : '—')}</td><td class="n">${esc(m.maxMs !== undefined ? fmtMs(m.maxMs) : '—')}</td><td class="n ${m.stale ? 't-bad' : ''}">${esc(count(m.stale))}</td></tr>`,
  );
  return (
    `<h3>Configuration propagation</h3><table class="propagation"><thead><tr><th scope="col">Gateway</th><th scope="col" class="n">Versions served</th>` +
    `<th scope="col" class="n">p50</th><th scope="col" class="n">p99</th><th scope="col" class="n">Slowest</th><th scope="col" class="n">Never served (stale)</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    `<p class="t-muted">From the control plane acknowledging a write of the canary route to the gateway serving that version.${writes ? ` ${writes} write(s) through the control plane failed.` : ''}</p>`
  );
}

function scenarioSection(s: ScenarioJournal, i: number, j: DrillJournal, opts: ReportOptions): string {
  const origin = timelineFrame(s).origin;
  const v = s.victim;
  const victim = v
    ? `<p class="victim">Victim: <b class="mono">${esc(v.host)}</b> (${esc(ROLE_LABELS[v.role] ?? v.role)})${v.detail ? ` — ${esc(v.detail)}` : ''}</p>`
    : '';
  const hid = `${anchorOf(s, i)}-h`;
  return (
    `<section class="scenario" id="${esc(anchorOf(s, i))}" data-scenario="${esc(s.id)}" aria-labelledby="${esc(hid)}">` +
    `<h2 id="${esc(hid)}">${i + 1}. ${esc(s.title)} <code class="t-muted">${esc(s.id)}</code> ${badge(s.status, statusTone(s.status), 'scenario-status')}</h2>` +
    victim +
    (s.error && !s.abort ? `<div class="error" role="alert"><b>Error:</b> ${esc(s.error)}</div>` : '') +
    abortBox(s) +
    (s.interruption ? `<div class="interrupted">This is a re-run: an earlier attempt was interrupted (${esc(s.interruption.reason)}); it is kept in the journal.</div>` : '') +
    kpis(s, j.thresholds) +
    `<h3>Hypotheses</h3>${hypothesesTable(s.hypotheses)}` +
    `<h3>Timeline</h3><figure>${timelineSvg(s, opts.timeline)}` +
    `<figcaption>Seconds since the scenario's first probe sample (${esc(fmtUtc(origin))}). Each lane is one probe; the shaded band is the fault window, dashed lines mark the start of each action.</figcaption></figure>` +
    `<h3>Actions</h3>${actionsTable(s.actions, origin)}` +
    probesTable(s) +
    propagationTable(s) +
    `</section>`
  );
}

/** The whole report as one HTML document (UTF-8). Deterministic: same journal, same bytes. */
export function renderReport(j: DrillJournal, opts: ReportOptions = {}): string {
  const title = `HA drill ${j.verdict.toUpperCase()} · ${j.cluster} · ${j.workflowId}`;
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="generator" content="api7-ha"><title>${esc(title)}</title><style>${CSS}</style></head>\n<body><main>` +
    header(j) +
    (opts.history?.length ? historyStrip(j, opts.history) : '') +
    summaryTableHtml(j) +
    j.scenarios.map((s, i) => scenarioSection(s, i, j, opts)).join('\n') +
    `<footer>Rendered from drill journal <code>${esc(j.workflowId)}</code> (run <code>${esc(j.runId)}</code>). Times are the worker's clock, UTC. ` +
    `This file is self-contained: no scripts, no external resources.</footer>` +
    `</main></body></html>\n`
  );
}
