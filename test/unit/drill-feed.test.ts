// Drills that survive their worker and stop themselves, checked on their pure parts: the probe feed
// (reports once each, gaps between attempts, never an outage across a gap), the stop conditions'
// rules, the verdict when api7-ha itself stopped measuring, the notifications' payloads (no secret),
// and the Grafana dashboard (valid JSON, every query names a metric that exists).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ProbeFeed } from '../../src/drills/feed';
import type { ScenarioJournal } from '../../src/drills/journal';
import { longestOutage, propagationMetrics } from '../../src/drills/metrics';
import type { ProbeReport } from '../../src/drills/probe-run';
import { overBudget, promValues } from '../../src/drills/stop-conditions';
import { METRICS, SDK_METRICS } from '../../src/metrics/definitions';
import { genericPayload, slackPayload, type NotificationMessage } from '../../src/notifications/messages';
import { drillVerdict } from '../../src/runbook/drill-result';
import { repoRoot } from '../support/paths';

const rep = (attempt: number, seq: number, startedAt: number, samples: [number, number, number][], extra: Partial<ProbeReport> = {}): ProbeReport => ({
  key: '1:dp-node-loss',
  attempt,
  seq,
  startedAt,
  series: [{ name: 'dp', target: 'GET lb', okStatus: [200], samples }],
  propagation: [],
  final: false,
  ...extra,
});

void describe('the probe feed', () => {
  void it('keeps each report once, on the first attempt\'s clock, and marks the time no worker probed as a gap', () => {
    const f = new ProbeFeed();
    f.open('1:dp-node-loss', 20);
    f.receive(rep(1, 1, 10_000, [[0, 200, 1], [50, 200, 1]]));
    f.receive(rep(1, 1, 10_000, [[0, 200, 1], [50, 200, 1]])); // a signal delivered twice
    f.receive(rep(1, 2, 10_000, [[100, 0, 2000]]));
    // The worker died at ~10.1 s; the retried attempt started at 16 s on another worker.
    f.receive(rep(2, 1, 16_000, [[0, 200, 1], [50, 200, 1]]));
    const [dp] = f.series('1:dp-node-loss');
    assert.deepEqual(dp!.samples.map(([t]) => t), [0, 50, 100, 6000, 6050]);
    assert.deepEqual(f.gaps('1:dp-node-loss'), [{ from: 100, to: 6000 }]);
    assert.deepEqual(dp!.gaps, [{ from: 100, to: 6000 }]);
    assert.equal(f.attempts('1:dp-node-loss'), 2);
    // The failed request just before the crash is an outage of its own, not one lasting through the gap.
    assert.equal(longestOutage(dp!.samples, (s) => s === 200, dp!.gaps).ms, 1);
    assert.equal(longestOutage(dp!.samples, (s) => s === 200).ms, 5900, 'without the gap it would read as ~6 s');
    assert.deepEqual(f.live('1:dp-node-loss'), [{ name: 'dp', requests: 5, failures: 1, longestOutageMs: 1 }]);
  });

  void it('keeps the first stop condition that fired', () => {
    const f = new ProbeFeed();
    f.receive(rep(1, 1, 0, [], { fired: { condition: 'peer-unhealthy:ha5', kind: 'peers', detail: 'down', firedAt: 5 } }));
    f.receive(rep(1, 2, 0, [], { fired: { condition: 'dp-budget', kind: 'budget', detail: 'x', firedAt: 9 } }));
    assert.equal(f.fired('1:dp-node-loss')?.condition, 'peer-unhealthy:ha5');
  });
});

void describe('stop conditions', () => {
  void it('fire on the probes\' budget counted only while the fault holds', () => {
    const samples: [number, number, number][] = [[0, 0, 1], [50, 0, 1], [1000, 200, 1], [1050, 0, 1], [1100, 0, 1], [3300, 0, 1]];
    assert.equal(overBudget({ probe: 'dp', maxFailures: 3 }, samples, [200], 1000), undefined);
    assert.match(overBudget({ probe: 'dp', maxFailures: 2 }, samples, [200], 1000)!, /^3 failed dp requests while the fault held \(budget 2\)$/);
    assert.match(overBudget({ probe: 'dp', maxOutageMs: 2000 }, samples, [200], 1000)!, /^dp outage of 2251 ms through the load balancer/);
  });

  void it('read Prometheus vectors and scalars, and refuse what cannot be evaluated', () => {
    assert.deepEqual(promValues('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]},{"metric":{},"value":[1,"0.5"]}]}}'), [2, 0.5]);
    assert.deepEqual(promValues('{"status":"success","data":{"resultType":"scalar","result":[1,"7"]}}'), [7]);
    assert.throws(() => promValues('{"status":"error","error":"parse error"}'), /refused the query: parse error/);
    assert.throws(() => promValues('<html>'), /not JSON/);
  });
});

void describe('verdicts', () => {
  const sc = (status: ScenarioJournal['status']) => ({ status }) as ScenarioJournal;
  void it('an aborted scenario fails the drill; one api7-ha could not measure never does', () => {
    assert.equal(drillVerdict([sc('passed'), sc('aborted')]), 'failed');
    assert.equal(drillVerdict([sc('passed'), sc('interrupted')]), 'interrupted');
    assert.equal(drillVerdict([sc('failed'), sc('interrupted')]), 'failed');
    assert.equal(drillVerdict([sc('passed'), sc('refused')]), 'passed');
  });

  void it('propagation: p50/p99 per gateway, and versions never served counted as stale', () => {
    const m = propagationMetrics([
      { gateway: 'ha4', target: '', startedAt: 0, writeFailures: 0, samples: [[0, 200, 20], [1000, 200, 40], [2000, 200, 30]] },
      { gateway: 'ha5', target: '', startedAt: 0, writeFailures: 0, samples: [[0, 200, 25], [1000, 0, 5000]] },
    ]);
    assert.deepEqual(m.ha4, { count: 3, p50: 30, p99: 40, maxMs: 40, stale: 0 });
    assert.equal(m.ha5!.stale, 1);
  });
});

void describe('notifications', () => {
  const m: NotificationMessage = {
    type: 'drill.aborted',
    summary: 'dp-node-loss: aborted (ha4)',
    verdict: 'failed',
    score: 50,
    figures: { 'dp-node-loss': 'ABORTED; aborted by peer-unhealthy:ha5' },
    id: 'drill-lab-1/run/drill.aborted',
    cluster: 'lab',
    kind: 'drill',
    workflowId: 'drill-lab-1',
    runId: 'run',
    at: 0,
    report: { command: 'api7-ha report drill-lab-1 -o report.html', url: 'http://ui/x' },
  };
  void it('a generic JSON document and a Slack message with the verdict, figures and report', () => {
    assert.equal(genericPayload(m).type, 'drill.aborted');
    const text = String(slackPayload(m).text);
    assert.match(text, /^:x: \*drill lab\*: ABORTED \(verdict FAILED, score 50\/100\)\ndp-node-loss: aborted \(ha4\)\n• dp-node-loss: ABORTED; aborted by peer-unhealthy:ha5\n<http:\/\/ui\/x\|report>/);
  });
});

void describe('the Grafana dashboard', () => {
  void it('is valid JSON, and every query names a metric api7-ha or the Temporal SDK exports', () => {
    const d = JSON.parse(readFileSync(join(repoRoot(), 'grafana', 'api7-ha-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      annotations: { list: { expr?: string }[] };
      templating: { list: { query?: string }[] };
    };
    const known = new Set<string>([...SDK_METRICS]);
    for (const def of Object.values(METRICS)) {
      known.add(def.name);
      if (def.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) known.add(`${def.name}${suffix}`);
    }
    for (const n of SDK_METRICS) for (const suffix of ['_bucket', '_sum', '_count']) known.add(`${n}${suffix}`);
    const exprs = [...d.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...d.annotations.list.map((a) => a.expr ?? ''), ...d.templating.list.map((t) => t.query ?? '')];
    let names = 0;
    for (const e of exprs) {
      for (const name of e.match(/\b(?:api7ha|temporal)_\w+/g) ?? []) {
        names++;
        assert.ok(known.has(name), `${name} (in ${e}) is a metric that exists`);
      }
    }
    assert.ok(names >= 12, 'the dashboard queries the metrics');
    assert.ok(d.annotations.list.some((a) => a.expr?.includes(METRICS.faultActive.name)), 'fault windows are annotations');
  });
});
