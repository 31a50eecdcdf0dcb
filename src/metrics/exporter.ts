// The worker's metrics: the Temporal SDK's runtime telemetry and api7-ha's own gauges on one
// Prometheus endpoint, served by the SDK's core (Runtime.install telemetryOptions). api7-ha's are set
// through the runtime's metric meter by the recordMetrics activity (at the end of a drill; deploy and
// backup records have their shape here) and by the probes (a fault holding). A restarted worker
// starts empty until the next run: Prometheus keeps the history, and `api7-ha drills` reads it from
// Temporal visibility. With several workers, each reports what it ran: aggregate with max by
// (cluster) (the Grafana dashboard does).
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { MetricGauge, MetricHistogram, MetricMeter } from '@temporalio/common';
import { DEPLOY_DURATION_BUCKETS_S, METRICS, VERDICTS, type MetricDef, type MetricsRecord } from './definitions';

/** Telemetry options for Runtime.install: the SDK's metrics and ours on `bindAddress` (/metrics). */
export function metricsTelemetry(bindAddress: string): NonNullable<RuntimeOptions['telemetryOptions']>['metrics'] {
  return { prometheus: { bindAddress, histogramBucketOverrides: { [METRICS.deployDuration.name]: DEPLOY_DURATION_BUCKETS_S } } };
}

type Instruments = { [K in keyof typeof METRICS]: (typeof METRICS)[K]['type'] extends 'histogram' ? MetricHistogram : MetricGauge };

let instruments: Instruments | undefined;

function meter(): MetricMeter {
  return Runtime.instance().metricMeter;
}

function make(): Instruments {
  const m = meter();
  const out: Record<string, MetricGauge | MetricHistogram> = {};
  for (const [k, d] of Object.entries(METRICS) as [string, MetricDef][]) {
    out[k] = d.type === 'histogram' ? m.createHistogram(d.name, 'float', d.unit ?? '', d.help) : m.createGauge(d.name, 'float', d.unit ?? '', d.help);
  }
  return out as Instruments;
}

const get = (): Instruments => (instruments ??= make());

const seconds = (ms: number) => Math.round(ms / 100) / 10;

export function record(r: MetricsRecord): void {
  const i = get();
  const cluster = r.cluster;
  switch (r.kind) {
    case 'drill': {
      for (const v of VERDICTS) i.drillVerdict.set(v === r.verdict ? 1 : 0, { cluster, verdict: v });
      i.drillPassed.set(r.verdict === 'passed' ? 1 : 0, { cluster });
      i.drillScore.set(r.score, { cluster });
      i.drillTime.set(seconds(r.endedAt), { cluster });
      if (r.verdict === 'passed') i.drillSuccessTime.set(seconds(r.endedAt), { cluster });
      for (const s of r.scenarios) {
        if (s.status === 'refused' || s.status === 'interrupted') continue;
        const scenario = s.id;
        i.scenarioPassed.set(s.status === 'passed' ? 1 : 0, { cluster, scenario });
        i.scenarioAborted.set(s.status === 'aborted' ? 1 : 0, { cluster, scenario });
        if (s.dpOutageMs !== undefined) i.scenarioOutage.set(s.dpOutageMs, { cluster, scenario, probe: 'dp' });
        if (s.cpOutageMs !== undefined) i.scenarioOutage.set(s.cpOutageMs, { cluster, scenario, probe: 'cp' });
        if (s.recoverMs !== undefined) i.scenarioRecovery.set(s.recoverMs, { cluster, scenario });
        if (s.propagationP99Ms !== undefined) i.scenarioPropagation.set(s.propagationP99Ms, { cluster, scenario });
      }
      return;
    }
    case 'deploy': {
      const outcome = r.ok ? 'passed' : 'failed';
      i.deployDuration.record(r.durationS, { cluster, outcome });
      i.deployLastDuration.set(r.durationS, { cluster, outcome });
      i.deployTime.set(seconds(r.endedAt), { cluster, outcome });
      for (const [step, ms] of Object.entries(r.steps)) i.deployStepDuration.set(seconds(ms), { cluster, step });
      return;
    }
    case 'backup': {
      i.backupFailed.set(r.ok ? 0 : 1, { cluster });
      if (r.ok) {
        i.backupTime.set(seconds(r.endedAt), { cluster });
        if (r.sizeBytes !== undefined) i.backupSize.set(r.sizeBytes, { cluster });
      }
      return;
    }
  }
}

/** A fault started or stopped holding (the probes see it): Grafana draws these windows as annotations. */
export function faultActive(cluster: string, scenario: string, active: boolean): void {
  get().faultActive.set(active ? 1 : 0, { cluster, scenario });
}
