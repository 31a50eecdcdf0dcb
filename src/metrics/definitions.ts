// api7-ha's own Prometheus metrics, as data: what the worker exposes beside the Temporal SDK's runtime
// metrics (one endpoint, `api7-ha worker --metrics ADDRESS`). The Grafana dashboard in grafana/ may
// only name metrics listed here or the SDK's (a test checks it). Pure: runbooks build the records.
import type { DrillMemo } from '../drills/journal';

export interface MetricDef {
  name: string;
  type: 'gauge' | 'histogram';
  help: string;
  labels: string[];
  unit?: string;
}

export const METRICS = {
  drillVerdict: { name: 'api7ha_drill_last_verdict', type: 'gauge', help: 'The last drill of a cluster: 1 for its verdict (passed, failed, refused, cancelled, interrupted), 0 for the others', labels: ['cluster', 'verdict'] },
  drillPassed: { name: 'api7ha_drill_last_passed', type: 'gauge', help: '1 if the last drill of the cluster passed, else 0', labels: ['cluster'] },
  drillScore: { name: 'api7ha_drill_last_score', type: 'gauge', help: 'Resilience score of the last drill (share of hypotheses that held, 0-100)', labels: ['cluster'] },
  drillTime: { name: 'api7ha_drill_last_timestamp_seconds', type: 'gauge', help: 'When the last drill of the cluster ended (Unix time)', labels: ['cluster'] },
  drillSuccessTime: { name: 'api7ha_drill_last_success_timestamp_seconds', type: 'gauge', help: 'When a drill of the cluster last passed (Unix time)', labels: ['cluster'] },
  scenarioPassed: { name: 'api7ha_drill_scenario_passed', type: 'gauge', help: '1 if the scenario passed in the last drill that ran it', labels: ['cluster', 'scenario'] },
  scenarioOutage: { name: 'api7ha_drill_scenario_longest_outage_ms', type: 'gauge', help: 'Longest outage through a load balancer in the last run of the scenario (ms)', labels: ['cluster', 'scenario', 'probe'], unit: 'ms' },
  scenarioRecovery: { name: 'api7ha_drill_scenario_time_to_recover_ms', type: 'gauge', help: 'From the rollback to the victim healthy and back in rotation, last run (ms)', labels: ['cluster', 'scenario'], unit: 'ms' },
  scenarioPropagation: { name: 'api7ha_drill_scenario_propagation_p99_ms', type: 'gauge', help: "The slowest gateway's p99 from a config write to it served, last run (ms)", labels: ['cluster', 'scenario'], unit: 'ms' },
  scenarioAborted: { name: 'api7ha_drill_scenario_aborted', type: 'gauge', help: '1 if a stop condition aborted the scenario in the last drill that ran it', labels: ['cluster', 'scenario'] },
  faultActive: { name: 'api7ha_drill_fault_active', type: 'gauge', help: '1 while a drill holds a fault in the cluster (fault windows for dashboards)', labels: ['cluster', 'scenario'] },
  deployDuration: { name: 'api7ha_deploy_duration_seconds', type: 'histogram', help: 'Duration of deploys', labels: ['cluster', 'outcome'], unit: 's' },
  deployLastDuration: { name: 'api7ha_deploy_last_duration_seconds', type: 'gauge', help: 'Duration of the last deploy of the cluster', labels: ['cluster', 'outcome'], unit: 's' },
  deployStepDuration: { name: 'api7ha_deploy_step_duration_seconds', type: 'gauge', help: 'Duration of each step of the last deploy', labels: ['cluster', 'step'], unit: 's' },
  deployTime: { name: 'api7ha_deploy_last_timestamp_seconds', type: 'gauge', help: 'When the last deploy of the cluster ended (Unix time)', labels: ['cluster', 'outcome'] },
  backupTime: { name: 'api7ha_backup_last_success_timestamp_seconds', type: 'gauge', help: 'When a backup of the cluster last succeeded (Unix time)', labels: ['cluster'] },
  backupSize: { name: 'api7ha_backup_last_size_bytes', type: 'gauge', help: 'Size of the last successful backup', labels: ['cluster'], unit: 'bytes' },
  backupFailed: { name: 'api7ha_backup_last_failed', type: 'gauge', help: '1 if the last backup of the cluster failed', labels: ['cluster'] },
} as const satisfies Record<string, MetricDef>;

/**
 * The Temporal SDK's own metrics the dashboard reads (the worker's runtime telemetry, prefixed
 * temporal_); the lab test checks they are on the worker's endpoint.
 */
export const SDK_METRICS = ['temporal_activity_execution_latency', 'temporal_workflow_task_execution_latency'] as const;

export const DEPLOY_DURATION_BUCKETS_S = [5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];

export const VERDICTS = ['passed', 'failed', 'refused', 'cancelled', 'interrupted'] as const;

/** What a run records in the worker's metrics at its end (the recordMetrics activity). */
export type MetricsRecord =
  | ({ kind: 'drill'; cluster: string; endedAt: number } & DrillMemo)
  | { kind: 'deploy'; cluster: string; ok: boolean; durationS: number; steps: Record<string, number>; endedAt: number }
  | { kind: 'backup'; cluster: string; ok: boolean; endedAt: number; sizeBytes?: number };
