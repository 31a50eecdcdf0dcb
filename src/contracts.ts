// What the CLI, the workflows and the activities agree on, by definition rather than by string: the
// task queue, the workflow IDs, and the queries and signals (Temporal's defineQuery/defineSignal,
// which are plain values outside a workflow too). Bundle-safe: workflows import it.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LiveProbe } from './drills/feed';
import type { ProbeReport } from './drills/probe-run';

export const TASK_QUEUE = 'api7-ha';

/** The cluster lock's workflow ID: one per cluster; starting it fails while a run holds it. */
export const lockWorkflowId = (cluster: string) => `lock-${cluster}`;

/** The deploy's workflow ID: a second deploy of the same cluster is refused while one runs. */
export const deployWorkflowId = (cluster: string) => `deploy-${cluster}`;

/** An upgrade's or rollback's workflow ID: one at a time per cluster (and the cluster lock besides). */
export const upgradeWorkflowId = (cluster: string, direction: 'upgrade' | 'rollback' | 'cleanup') => `${direction}-${cluster}`;

/** A drill's workflow ID: the cluster and when it started (UTC, the backup stamp's format). */
export const drillWorkflowId = (cluster: string, stamp: string) => `drill-${cluster}-${stamp}`;

/** The nightly drill's schedule ID (and the workflow ID of the drills it starts). */
export const scheduleId = (cluster: string) => `drill-${cluster}`;

/** A backup's workflow ID (its own UI page): the cluster and when it started. */
export const backupWorkflowId = (cluster: string, stamp: string) => `backup-${cluster}-${stamp}`;
/** The nightly backup's schedule ID (beside the drill's drill-<cluster>). */
export const backupScheduleId = (cluster: string) => `backup-${cluster}`;
export const restoreWorkflowId = (cluster: string, stamp: string) => `restore-${cluster}-${stamp}`;
export const replaceMemberWorkflowId = (cluster: string, stamp: string) => `replace-member-${cluster}-${stamp}`;
/** etcd upkeep: defrag, disarm, rotate-certs. */
export const etcdUpkeepWorkflowId = (action: 'defrag' | 'disarm' | 'rotate-certs', cluster: string, stamp: string) => `etcd-${action}-${cluster}-${stamp}`;

/** Runs that change a cluster, one at a time: each holds the cluster's lock while it runs. */
export type LockKind = 'deploy' | 'drill' | 'restore' | 'replace-member' | 'etcd-upkeep';

/** Who holds a cluster's lock: the running deploy, drill, restore, member replacement or upkeep. */
export interface LockHolder {
  workflowId: string;
  kind: LockKind;
}

/** What the drill tells its probes while they run. */
export interface DrillControl {
  /** Scenario runs (ids, or run keys) whose probes should stop now. */
  stopProbes: string[];
  /** Scenario runs whose fault holds now, since when (epoch ms): their stop conditions are watched. */
  holding?: Record<string, number>;
}

/** What a running drill shows in `watch`: the scenario's current action and live probe counts. */
export interface DrillLive {
  scenario: string;
  /** baseline, injecting, holding, rolling back, recovering, after, steady state, measuring. */
  action: string;
  since: number;
  probes: LiveProbe[];
  /** Gateways' propagation so far: versions served, the slowest so far (ms), stale versions. */
  propagation?: { gateway: string; served: number; maxMs?: number; stale: number }[];
  /** Set once a stop condition fired. */
  stopped?: string;
  /** The run was interrupted (a worker restart) and is being run again. */
  rerun?: boolean;
}

export type Status = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface HostProgress {
  status: Status;
  detail?: string;
  startedAt?: number;
  endedAt?: number;
}

export interface StepProgress {
  name: string;
  title: string;
  status: Status;
  startedAt?: number;
  endedAt?: number;
  summary?: string;
  error?: string;
  hosts: Record<string, HostProgress>;
  /** Child runs this step started (data plane batches, the failover checks): `watch` follows them. */
  children?: string[];
}

/** A run's step tree, kept in workflow state and read with progressQuery. */
export interface RunProgress {
  kind: 'deploy' | 'failover' | 'drill' | 'upgrade' | 'rollback' | 'cleanup' | 'backup' | 'restore' | 'replace-member' | 'etcd-upkeep';
  cluster: string;
  status: Status;
  phase: string;
  startedAt: number;
  endedAt?: number;
  steps: StepProgress[];
  error?: string;
  /** Drills: what the running scenario is doing now. */
  live?: DrillLive;
}

/** Every run's step tree (`watch`, `status`). */
export const progressQuery = defineQuery<RunProgress>('progress');
/** The lock's holder, for refusals that name it. */
export const holderQuery = defineQuery<LockHolder>('holder');
/** Sent by the holder when it is done. */
export const releaseSignal = defineSignal('release');
/** Read by the probes activity: stop when the drill lists its scenario. */
export const drillControlQuery = defineQuery<DrillControl>('drillControl');
/** Sent by the probes activity about every second: the samples since the last report, a stop condition that fired. */
export const probeReportSignal = defineSignal<[ProbeReport]>('probeReport');
