// The drill report, checked the way a reader would check it: one timeline per scenario, the fault
// window and the failures drawn where the journal says they happened, the summary figures, the
// verdict, and nothing in the file that could run or fetch anything.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DrillJournal, ProbeSeries, ScenarioJournal } from '../../src/drills/journal';
import { demoJournal, prng, series } from '../fixtures/report/demo-journal';
import { esc, fmtMs, sanitizeText } from '../../src/report/format';
import { renderReport } from '../../src/report/html';
import { COLORS, niceStep, timelineSvg } from '../../src/report/svg';
import { summaryTable } from '../../src/report/text';
import { probeMetrics } from '../../src/drills/metrics';

// ---------------------------------------------------------------------------------------------
// The journal: the demo journal (4 scenarios, 20 req/s for 20 s, one failed hypothesis) with the
// figures this test relies on asserted first, so a change to the demo cannot silently weaken a test.

const journal = (): DrillJournal => demoJournal();

function scenarioOf(j: DrillJournal, id: string): ScenarioJournal {
  const s = j.scenarios.find((x) => x.id === id);
  assert.ok(s, `scenario ${id} missing`);
  return s;
}

function probeOf(s: ScenarioJournal, name: string): ProbeSeries {
  const p = s.probes.find((x) => x.name === name);
  assert.ok(p, `probe ${name} missing in ${s.id}`);
  return p;
}

/** Epoch ms of the scenario's first probe sample: the plot's 0. */
function originOf(s: ScenarioJournal): number {
  return Math.min(...s.probes.filter((p) => p.samples.length > 0).map((p) => p.startedAt + p.samples[0]![0]));
}

// ---------------------------------------------------------------------------------------------
// Reading the output back (plain regexes: the markup is ours and regular)

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/(?<![\w:-])([\w:-]+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

function decode(s: string): string {
  return s
    .replace(/<[^<>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

/** Every timeline SVG in a document, with its data-scenario. */
function timelines(html: string): { scenario: string; svg: string; root: Record<string, string> }[] {
  return [...html.matchAll(/<svg\b[^>]*>[\s\S]*?<\/svg>/g)]
    .map((m) => ({ svg: m[0], root: attrs(/^<svg\b[^>]*>/.exec(m[0])![0]) }))
    .filter((x) => (x.root.class ?? '').split(' ').includes('timeline'))
    .map((x) => ({ ...x, scenario: x.root['data-scenario'] ?? '' }));
}

function timelineOf(html: string, id: string): string {
  const t = timelines(html).filter((x) => x.scenario === id);
  assert.equal(t.length, 1, `expected one timeline for ${id}`);
  return t[0]!.svg;
}

/**
 * The x scale as a reader gets it: from the positions and labels of the axis ticks ("6 s" at
 * x = 412.3...). Returns ms-since-origin -> px.
 */
function axisScale(svg: string): (ms: number) => number {
  const ticks = [...svg.matchAll(/<g class="x-tick"><line x1="([-\d.]+)"[\s\S]*?<text[^>]*>([^<]+)<\/text><\/g>/g)].map((m) => ({
    x: Number(m[1]),
    s: Number(m[2]!.replace(/(?<!\s)\s*s$/, '').replace('−', '-')),
  }));
  assert.ok(ticks.length >= 3, 'the x axis has at least three labelled ticks');
  const a = ticks[0]!;
  const b = ticks[ticks.length - 1]!;
  const pxPerMs = (b.x - a.x) / ((b.s - a.s) * 1000);
  assert.ok(pxPerMs > 0, 'the x axis grows to the right');
  return (ms) => a.x + (ms - a.s * 1000) * pxPerMs;
}

function laneOf(svg: string, probe: string): string {
  const m = new RegExp(`<g class="lane" data-probe="${probe}">([\\s\\S]*?)</g>`).exec(svg);
  assert.ok(m, `lane ${probe} missing`);
  return m[1]!;
}

function rects(fragment: string, cls: string): Record<string, string>[] {
  return [...fragment.matchAll(/<rect\b[^>]*>/g)].map((m) => attrs(m[0])).filter((a) => a.class === cls);
}

/** The dots of a latency path ("M12.3 45.6h0M..."): their x positions. */
function dotXs(fragment: string, cls: string): number[] {
  const d = new RegExp(`<path class="${cls}" d="([^"]*)"`).exec(fragment)?.[1] ?? '';
  return [...d.matchAll(/M([-\d.]+) [-\d.]+h0/g)].map((m) => Number(m[1]));
}

function isRed(hex: string): boolean {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return false;
  const [r, g, b] = [m[1]!, m[2]!, m[3]!].map((h) => parseInt(h, 16));
  return r! > 180 && g! < 90 && b! < 90;
}

function summaryCell(html: string, scenario: string, col: string): string {
  const row = new RegExp(`<tr data-scenario="${scenario}"[^>]*>([\\s\\S]*?)</tr>`).exec(html);
  assert.ok(row, `summary row ${scenario} missing`);
  const cell = new RegExp(`<td[^>]*data-col="${col}"[^>]*>([\\s\\S]*?)</td>`).exec(row[1]!);
  assert.ok(cell, `summary cell ${col} missing for ${scenario}`);
  return decode(cell[1]!);
}

// ---------------------------------------------------------------------------------------------

void describe('the demo journal (the test data)', () => {
  void it('has four scenarios, 20 req/s probes over 20 s, one failed hypothesis and a 600 ms CP outage', () => {
    const j = journal();
    assert.deepEqual(
      j.scenarios.map((s) => s.id),
      ['dp-node-loss', 'cp-node-loss', 'etcd-member-loss', 'gateway-restart-during-etcd-degradation'],
    );
    for (const s of j.scenarios) for (const p of s.probes) assert.equal(p.samples.length, 400, `${s.id}/${p.name}`);
    assert.equal(j.scenarios.flatMap((s) => s.hypotheses).filter((h) => !h.ok).length, 1);
    const cp = scenarioOf(j, 'cp-node-loss').metrics.probes.cp!;
    assert.equal(cp.failures, 12);
    assert.equal(cp.longestOutageMs, 600);
    assert.equal(scenarioOf(j, 'dp-node-loss').metrics.probes.dp!.failures, 0);
    assert.equal(j.verdict, 'failed');
    assert.equal(j.score, 92);
  });
});

void describe('renderReport', () => {
  const j = journal();
  const html = renderReport(j);

  void it('is one HTML document with a title naming the cluster, the workflow and the time range', () => {
    assert.match(html, /^<!doctype html>/i);
    assert.equal((html.match(/<html\b/g) ?? []).length, 1);
    assert.match(html, /<title>HA drill FAILED · prod-eu-1 · drill-prod-eu-1-20251125-170200<\/title>/);
    assert.ok(html.includes('<code>drill-prod-eu-1-20251125-170200</code>'));
    assert.ok(html.includes('2025-11-25 17:02:00 UTC → 2025-11-25 17:04:35 UTC'), 'the time range, in UTC');
  });

  void it('shows the verdict, big and coloured, and the resilience score', () => {
    const v = /<div class="verdict ([^"]*)"[^>]*>([^<]*)<\/div>/.exec(html);
    assert.ok(v, 'verdict element');
    assert.equal(v[2], 'FAILED');
    assert.equal(v[1], 'b-bad', 'a failed drill is red');
    assert.match(html, /<b class="score-value">92<\/b> \/ 100/);
    assert.ok(html.includes('11 of 12 hypotheses held'));
    const passed = renderReport({ ...j, verdict: 'passed', score: 100 });
    assert.match(passed, /<div class="verdict b-ok"[^>]*>PASSED<\/div>/);
  });

  void it('draws one timeline per scenario, tagged with its scenario id, accessible', () => {
    const t = timelines(html);
    assert.deepEqual(
      t.map((x) => x.scenario),
      j.scenarios.map((s) => s.id),
    );
    for (const x of t) {
      assert.equal(x.root.role, 'img');
      assert.ok((x.root['aria-label'] ?? '').includes(x.scenario), 'aria-label names the scenario');
      assert.match(x.svg, /^<svg\b[^>]*><title>[^<]+<\/title><desc>[^<]+<\/desc>/, 'a <title> and a <desc> come first');
    }
  });

  void it('shades the fault window over the right x range', () => {
    for (const s of j.scenarios) {
      const svg = timelineOf(html, s.id);
      const x = axisScale(svg);
      const fw = rects(svg, 'fault-window');
      assert.equal(fw.length, 1, `${s.id}: one fault window`);
      const r = fw[0]!;
      const origin = originOf(s);
      const x0 = Number(r.x);
      const x1 = x0 + Number(r.width);
      assert.ok(Math.abs(x0 - x(s.faultWindow!.start - origin)) <= 1, `${s.id}: fault window starts at ${x0}, axis says ${x(s.faultWindow!.start - origin)}`);
      assert.ok(Math.abs(x1 - x(s.faultWindow!.end - origin)) <= 1, `${s.id}: fault window ends at ${x1}, axis says ${x(s.faultWindow!.end - origin)}`);
      // The demo's fault starts 6 s after the first sample and its rollback ends at 15.2 s.
      assert.ok(Math.abs(x0 - x(6000)) <= 1 && Math.abs(x1 - x(15200)) <= 1);
    }
  });

  void it('draws the 600 ms control plane outage in red, at the right time, and nothing red where nothing failed', () => {
    const s = scenarioOf(j, 'cp-node-loss');
    const svg = timelineOf(html, s.id);
    const x = axisScale(svg);
    const cp = probeOf(s, 'cp');
    const origin = originOf(s);
    const failed = cp.samples.filter(([, st]) => !cp.okStatus.includes(st));
    const firstFail = cp.startedAt + failed[0]![0] - origin;
    const nextOk = cp.startedAt + cp.samples.find(([t, st]) => t > failed[failed.length - 1]![0] && cp.okStatus.includes(st))![0] - origin;
    assert.equal(nextOk - firstFail, 600);

    const lane = laneOf(svg, 'cp');
    const fails = rects(lane, 'fail');
    assert.equal(fails.length, 1, 'one outage, one red run');
    const r = fails[0]!;
    assert.ok(isRed(r.fill ?? ''), `fill ${r.fill} is red`);
    assert.equal(r.fill, COLORS.fail);
    assert.ok(Math.abs(Number(r.x) - x(firstFail)) <= 1, `outage starts at x=${r.x}, expected ${x(firstFail)}`);
    assert.ok(Math.abs(Number(r.x) + Number(r.width) - x(nextOk)) <= 1, 'outage ends at the next success');
    assert.match(lane, /12 failed of 12 requests \(no answer ×8, HTTP 503 ×4\)/, 'the tooltip counts the failures');
    // Every failed request's latency dot sits inside the outage, and there is one per failure.
    const red = dotXs(lane, 'latency-fail');
    assert.equal(red.length, 12);
    for (const px of red) assert.ok(px >= x(firstFail) - 0.5 && px <= x(nextOk) + 0.5, `red dot at ${px} outside the outage`);
    assert.match(lane, /<path class="latency-fail" [^>]*stroke="#dc2626"/);

    // The data plane never failed in this scenario: green only.
    const dpLane = laneOf(svg, 'dp');
    assert.equal(rects(dpLane, 'fail').length, 0);
    assert.equal(dotXs(dpLane, 'latency-fail').length, 0);
    assert.ok(rects(dpLane, 'ok').every((a) => a.fill === COLORS.ok));
  });

  void it('draws the three 502s of the gateway restart where they happened', () => {
    const s = scenarioOf(j, 'gateway-restart-during-etcd-degradation');
    const svg = timelineOf(html, s.id);
    const x = axisScale(svg);
    const dp = probeOf(s, 'dp');
    const origin = originOf(s);
    const fails = rects(laneOf(svg, 'dp'), 'fail');
    assert.equal(fails.length, 1);
    const first = dp.samples.find(([, st]) => st === 502)!;
    assert.ok(Math.abs(Number(fails[0]!.x) - x(dp.startedAt + first[0] - origin)) <= 1);
    assert.match(svg, /class="marker" data-kind="action"><title>action: restart gateway on dp-1/, 'the restart is marked');
  });

  void it('marks the fault, rollback and recovery with labels that do not overlap', () => {
    for (const s of j.scenarios) {
      const svg = timelineOf(html, s.id);
      const kinds = [...svg.matchAll(/<line class="marker-line" data-kind="([^"]+)"/g)].map((m) => m[1]);
      for (const k of ['fault', 'rollback', 'recovery']) assert.ok(kinds.includes(k), `${s.id}: ${k} marker`);
      // Labels on the same row (same y) must not overlap (estimated width, as the layout does).
      const labels = [...svg.matchAll(/<g class="marker"[^>]*><title>[^<]*<\/title><text ([^>]*)>([^<]*)<\/text>/g)].map((m) => {
        const a = attrs(m[1]!);
        const w = decode(m[2]!).length * 11 * 0.58;
        const x0 = a['text-anchor'] === 'end' ? Number(a.x) - w : Number(a.x);
        return { y: a.y, x0, x1: x0 + w };
      });
      assert.ok(labels.length >= 3, `${s.id}: marker labels found`);
      for (const a of labels) {
        for (const b of labels) {
          if (a === b || a.y !== b.y) continue;
          assert.ok(a.x1 <= b.x0 || b.x1 <= a.x0, `${s.id}: labels overlap at y=${a.y}`);
        }
      }
    }
  });

  void it('lists every scenario in the summary table with its figures', () => {
    assert.match(html, /<table class="summary">/);
    for (const s of j.scenarios) {
      const dp = s.metrics.probes.dp!;
      const cp = s.metrics.probes.cp!;
      assert.equal(summaryCell(html, s.id, 'dpReq'), String(dp.requests));
      assert.equal(summaryCell(html, s.id, 'dpFail'), String(dp.failures));
      assert.equal(summaryCell(html, s.id, 'dpOutage'), fmtMs(dp.longestOutageMs));
      assert.equal(summaryCell(html, s.id, 'cpFail'), String(cp.failures));
      assert.equal(summaryCell(html, s.id, 'cpOutage'), fmtMs(cp.longestOutageMs));
      assert.equal(summaryCell(html, s.id, 'recover'), fmtMs(s.metrics.recoverMs));
      assert.ok(new RegExp(`<tr data-scenario="${s.id}"[^>]*>[\\s\\S]*?${s.victim!.host}[\\s\\S]*?${s.status}`).test(html), `${s.id}: victim and status`);
    }
    assert.equal(summaryCell(html, 'cp-node-loss', 'cpOutage'), '600 ms');
    assert.match(html, /data-col="cpOutage">600 ms</);
    assert.match(html, /<td class="n t-bad" data-col="cpOutage">600 ms<\/td>/, 'over the 500 ms budget: red');
    assert.equal(summaryCell(html, 'gateway-restart-during-etcd-degradation', 'cpWrite'), '1.80 s');
    assert.equal(summaryCell(html, 'etcd-member-loss', 'cpWrite'), '0 ms');
    assert.equal(summaryCell(html, 'dp-node-loss', 'cpWrite'), '—');
  });

  void it('shows each hypothesis with observed and threshold, and the failed one as failed', () => {
    const failed = /<tr class="broken">([\s\S]*?)<\/tr>/g;
    const rows = [...html.matchAll(failed)].map((m) => decode(m[1]!));
    assert.equal(rows.length, 1);
    assert.match(rows[0]!, /✗ failed\s*The dashboard stays reachable through the load balancer\s*cp-outage\s*longest outage 600 ms \(12 failures\)\s*≤ 500 ms/);
    assert.equal((html.match(/<tr class="held">/g) ?? []).length, 11);
  });

  void it('shows the action timeline relative to the first probe sample, with durations and results', () => {
    const s = scenarioOf(j, 'gateway-restart-during-etcd-degradation');
    const section = new RegExp(`<section class="scenario" id="scenario-4-${s.id}"[\\s\\S]*?</section>`).exec(html)![0];
    const rows = [...section.matchAll(/<table class="actions">[\s\S]*?<\/table>/g)][0]![0];
    const cells = [...rows.matchAll(/<tr class="(ok|failed)">([\s\S]*?)<\/tr>/g)].map((m) => [...m[2]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => decode(c[1]!)));
    assert.deepEqual(
      cells.map((c) => [c[0], c[1], c[2], c[3], c[5]]),
      [
        ['+0.20 s', '1.70 s', 'steady-state', 'probes healthy, quorum 3/3', 'ok'],
        ['+6.00 s', '400 ms', 'fault', 'stop etcd leader', 'ok'],
        ['+9.00 s', '2.60 s', 'action', 'restart gateway', 'ok'],
        ['+11.60 s', '300 ms', 'check', 'gateway serves the route', 'ok'],
        ['+14.00 s', '1.20 s', 'rollback', 'start etcd member', 'ok'],
        ['+15.20 s', '1.60 s', 'recovery', 'victim healthy and back in rotation', 'ok'],
      ],
    );
  });

  void it('escapes every string from the journal', () => {
    const h = journal();
    const s = scenarioOf(h, 'cp-node-loss');
    const evil = `cp-1"><script>alert(1)</script>&'`;
    s.victim = { host: evil, role: 'control_plane', detail: `<img src=x onerror=alert(1)> & "quoted"` };
    s.actions[1]!.host = evil;
    s.actions[1]!.detail = `</td><script>alert(2)</script> & 'single' "double"`;
    s.actions[1]!.ok = false;
    s.hypotheses[0]!.observed = '<b>bold</b> & <svg onload=alert(3)>';
    s.error = 'ssh: <script>alert(4)</script> & "boom"';
    probeOf(s, 'victim').target = `GET http://${evil}/health`;
    h.cluster = `prod & "eu" <1>`;
    h.summary = `</p><script>alert(5)</script>`;
    const out = renderReport(h);

    assert.doesNotMatch(out, /<script/i, 'no script tag, from anywhere');
    assert.doesNotMatch(out, /<img/i);
    assert.doesNotMatch(out, /<svg onload/i);
    assert.doesNotMatch(out, /<[^<>]*\son\w+\s*=/i, 'no event handler attribute in any tag');
    assert.ok(out.includes('cp-1&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;'), 'the victim host is escaped');
    assert.ok(out.includes('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;'));
    assert.ok(out.includes('prod &amp; &quot;eu&quot; &lt;1&gt;'));
    assert.ok(out.includes('ssh: &lt;script&gt;alert(4)&lt;/script&gt; &amp; &quot;boom&quot;'));
    // The structure survived: still one timeline per scenario, attributes intact.
    assert.deepEqual(
      timelines(out).map((x) => x.scenario),
      h.scenarios.map((x) => x.id),
    );
    for (const t of timelines(out)) assert.ok(!/[<>]/.test(t.root['aria-label'] ?? ''));
    // The failed action is marked failed in the plot (red label) and in the table.
    assert.match(timelineOf(out, 'cp-node-loss'), /<text [^>]*fill="#dc2626"[^>]*>✗ fault: stop dashboard/);
  });

  void it('references nothing outside the file: no script, no link, no external URL in any attribute or style', () => {
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<(link|img|iframe|object|embed|base|audio|video|source)\b/i);
    assert.doesNotMatch(html, /@import|url\(/i);
    assert.doesNotMatch(html, /javascript:/i);
    for (const m of html.matchAll(/\s(?:href|src|xlink:href|action|srcset|poster)="([^"]*)"/g)) assert.match(m[1]!, /^#/, `only in-page links: ${m[1]}`);
    // "http://" may appear as text (a probe target) and as the SVG namespace, never inside any other tag.
    for (const m of html.matchAll(/https?:\/\//g)) {
      const before = html.slice(0, m.index);
      const inTag = before.lastIndexOf('<') > before.lastIndexOf('>');
      if (inTag) assert.ok(before.endsWith('xmlns="'), `an http(s) URL inside a tag: ${html.slice(m.index - 40, m.index + 40)}`);
    }
  });

  void it('is deterministic: the same journal renders to the same bytes', () => {
    assert.equal(renderReport(j), html);
    assert.equal(renderReport(structuredClone(j)), html);
    assert.equal(renderReport(journal()), html);
  });

  void it('is print-friendly: light background, colours kept when printing', () => {
    assert.match(html, /body\{[^}]*background:#fff/);
    assert.match(html, /print-color-adjust:exact/);
    assert.match(html, /@media print/);
  });
});

void describe('timelineSvg with big series', () => {
  /** cp-node-loss with a 20 000-sample data plane series (1 000 s at 20 req/s) and two failure spots. */
  function bigScenario(): ScenarioJournal {
    const s = structuredClone(scenarioOf(journal(), 'cp-node-loss'));
    const p0 = s.probes[0]!.startedAt;
    s.probes[0] = series(
      {
        name: 'dp',
        target: 'GET http://lb/get',
        startedAt: p0,
        durationMs: 1_000_000,
        ratePerS: 20,
        baseMs: 4,
        fails: [
          { from: 300_000, to: 300_050, status: 502, ms: 3 }, // one lone 502
          { from: 500_000, to: 503_000, status: 0, ms: 1000 }, // a 3 s outage
        ],
      },
      prng(3),
    );
    return s;
  }

  void it('renders a 20 000-sample series compactly (report < 2 MB) and keeps a lone failure visible', () => {
    const s = bigScenario();
    assert.equal(s.probes[0]!.samples.length, 20_000);
    const svg = timelineSvg(s);
    assert.ok(svg.length < 300_000, `svg is ${svg.length} bytes`);
    const j = journal();
    j.scenarios[1] = s;
    const html = renderReport(j);
    assert.ok(html.length < 2_000_000, `report is ${html.length} bytes`);

    const lane = laneOf(svg, 'dp');
    assert.match(lane, /20000 requests · 61 failed · longest outage 3\.00 s · bucketed per 1\.00 s/);
    const x = axisScale(svg);
    const origin = originOf(s);
    const at = (ms: number): number => x(s.probes[0]!.startedAt + ms - origin);
    // The lone 502 is one bucket with 1 failure in 20: amber, at least 2 px wide, at 300 s.
    const lone = rects(lane, 'partial').filter((r) => Math.abs(Number(r.x) - at(300_000)) <= x(1000) - x(0) + 1);
    assert.equal(lone.length, 1, 'the lone failure is drawn');
    assert.ok(Number(lone[0]!.width) >= 2);
    assert.equal(lone[0]!.fill, COLORS.partial);
    // The 3 s outage is red from 500 s to 503 s.
    const out = rects(lane, 'fail').find((r) => Math.abs(Number(r.x) - at(500_000)) <= 1);
    assert.ok(out, 'the outage is drawn in red');
    assert.ok(Math.abs(Number(out.x) + Number(out.width) - at(503_000)) <= 1);
    assert.ok(dotXs(lane, 'latency-ok').length <= 1500, 'one latency dot per bucket at most');
  });

  void it('draws every sample up to the threshold, buckets above it', () => {
    const s = structuredClone(scenarioOf(journal(), 'dp-node-loss'));
    assert.doesNotMatch(timelineSvg(s), /bucketed per/);
    assert.equal(dotXs(laneOf(timelineSvg(s), 'dp'), 'latency-ok').length, 400);
    assert.match(laneOf(timelineSvg(s, { maxSamples: 399 }), 'dp'), /bucketed per 100 ms/);
  });

  void it('renders a scenario without probe samples as a placeholder that still names its scenario', () => {
    const s: ScenarioJournal = {
      id: 'etcd-partition',
      title: 'etcd partition',
      status: 'refused',
      actions: [],
      probes: [],
      metrics: { probes: {} },
      hypotheses: [],
      error: 'refused: quorum 1/3 <too low> & "unsafe"',
    };
    const svg = timelineSvg(s);
    assert.match(svg, /^<svg [^>]*class="timeline" data-scenario="etcd-partition" role="img"/);
    assert.ok(svg.includes('quorum 1/3 &lt;too low&gt; &amp; &quot;unsafe&quot;'));
    const j = journal();
    j.scenarios.push(s);
    const html = renderReport(j);
    assert.equal(timelines(html).length, 5);
    assert.match(html, /<span class="badge b-warn scenario-status">refused<\/span>/);
  });

  void it('copes with odd journals: one sample, all failed, zero latency, unsorted samples, an injection before the probes', () => {
    const base = structuredClone(scenarioOf(journal(), 'dp-node-loss'));
    const p = base.probes[0]!;
    const odd: ScenarioJournal[] = [
      { ...base, probes: [{ ...p, samples: [[0, 200, 3]] }], faultWindow: undefined, actions: [] },
      { ...base, probes: [{ ...p, samples: p.samples.map(([t]) => [t, 0, 0]) }] },
      { ...base, probes: [{ ...p, samples: [...p.samples].reverse() }] },
      { ...base, probes: [{ ...p, ratePerS: 0 }], faultWindow: { start: p.startedAt - 5000, end: p.startedAt + 2000 } },
    ];
    for (const s of odd) {
      for (const scale of ['log', 'linear'] as const) {
        const svg = timelineSvg(s, { latencyScale: scale });
        assert.doesNotMatch(svg, /NaN|Infinity|undefined/, `${scale}: ${svg.slice(0, 200)}`);
        assert.match(svg, /^<svg [^>]*class="timeline"/);
      }
    }
    // The injection 5 s before the first sample is on the axis, not clipped.
    assert.match(timelineSvg(odd[3]!), />-5 s<\/text>/);
    // Reversed samples draw the same picture as sorted ones.
    assert.ok(timelineSvg(odd[2]!) === timelineSvg({ ...base, probes: [p] }), 'sorted and reversed samples differ');
  });

  void it('supports a linear latency axis', () => {
    const svg = timelineSvg(scenarioOf(journal(), 'cp-node-loss'), { latencyScale: 'linear' });
    assert.match(svg, />latency<\/text>/);
    assert.match(svg, />0 ms<\/text>/);
  });
});

void describe('summaryTable (CLI text)', () => {
  const j = journal();
  const text = summaryTable(j);
  const lines = text.trimEnd().split('\n');

  void it('lists every scenario with its figures in aligned columns', () => {
    const header = lines[0]!;
    assert.match(header, /^SCENARIO\s+VICTIM\s+STATUS\s+DP REQ\s+DP FAIL\s+DP OUTAGE\s+CP REQ\s+CP FAIL\s+CP OUTAGE\s+DETECT\s+RECOVER\s+CP WRITE REC\s+DP P50\/P99 DURING$/);
    const table = lines.slice(0, 2 + j.scenarios.length);
    assert.equal(new Set(table.map((l) => l.length)).size, 1, 'every table line has the same width');
    for (const s of j.scenarios) {
      const row = lines.find((l) => l.startsWith(`${s.id} `));
      assert.ok(row, `row for ${s.id}`);
      const dp = s.metrics.probes.dp!;
      const cp = s.metrics.probes.cp!;
      const cells = row.trim().split(/\s{2,}/);
      assert.deepEqual(cells.slice(0, 9), [s.id, s.victim!.host, s.status, String(dp.requests), String(dp.failures), fmtMs(dp.longestOutageMs), String(cp.requests), String(cp.failures), fmtMs(cp.longestOutageMs)]);
    }
    // Columns line up: the CP OUTAGE figure of each row ends where its header ends.
    const end = header.indexOf('CP OUTAGE') + 'CP OUTAGE'.length;
    const cpRow = lines.find((l) => l.startsWith('cp-node-loss'))!;
    assert.equal(cpRow.slice(end - '600 ms'.length, end), '600 ms');
  });

  void it('ends with the verdict and the score', () => {
    assert.equal(lines[lines.length - 1], 'verdict: FAILED   resilience score: 92/100   (11 of 12 hypotheses held, 4 scenarios)');
  });

  void it('cannot be used to write escape sequences to the terminal', () => {
    const h = journal();
    scenarioOf(h, 'dp-node-loss').victim!.host = 'dp-2\u001b[31m\u001b]0;pwned\u0007\r';
    const out = summaryTable(h);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'only newlines as control characters');
    assert.match(out, /^dp-node-loss\s+dp-2\?\[31m\?\]0;pwned\?\? /m);
  });
});

void describe('report formatting helpers', () => {
  void it('formats durations for people', () => {
    assert.deepEqual([0, 40, 600, 999, 1000, 1800, 10_600, 125_000, 7_500_000].map(fmtMs), ['0 ms', '40 ms', '600 ms', '999 ms', '1.00 s', '1.80 s', '10.6 s', '2 m 05 s', '2 h 05 m']);
    assert.equal(fmtMs(undefined), '—');
  });

  void it('escapes the five HTML specials and strips control characters for terminals', () => {
    assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.equal(sanitizeText('a\u001b[0mb\tc'), 'a?[0mb c');
  });

  void it('picks 1-2-5 axis steps', () => {
    assert.deepEqual([0.7, 1, 1.5, 3, 7, 12, 4000].map(niceStep), [1, 1, 2, 5, 10, 20, 5000]);
  });
});

void describe('one longest outage for the journal and the chart', () => {
  void it('an outage that lasts to the end of the series reads the same in the metrics and on the timeline', () => {
    const s = structuredClone(scenarioOf(journal(), 'dp-node-loss'));
    const dp = probeOf(s, 'dp');
    // The last 14 requests (700 ms at 20/s) fail: no success closes the outage.
    dp.samples = dp.samples.map(([t, status, ms], i): [number, number, number] => (i >= dp.samples.length - 14 ? [t, 0, ms] : [t, status === 0 ? 200 : status, ms]));
    const metric = probeMetrics(dp, s.faultWindow).longestOutageMs;
    assert.ok(metric >= 600, `${metric} ms`);
    assert.match(laneOf(timelineSvg(s), 'dp'), new RegExp(`longest outage ${fmtMs(metric).replace('.', '\\.')}`));
  });
});
