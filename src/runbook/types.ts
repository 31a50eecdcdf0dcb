// The runbooks' inputs and results: what the CLI sends and prints. Only references to secrets, never values.
import type { ClusterSpec } from '../inventory/model';
import type { ProductFacts } from '../products/types';
import type { Endpoints, PackageInfo } from '../steps/inputs';
import type { Problem, PreflightReport } from '../reconcile/preflight';
import type { MemberResult, QuorumReport } from '../reconcile/etcd';
import type { PropagationResult } from '../reconcile/verify';
import type { LoadBalancerResult } from '../reconcile/loadbalancer';
import type { ImageFacts } from '../artifacts/inspect';
import type { DrillJournal, ScenarioId } from '../drills/journal';

export type FailoverPolicy = 'auto' | 'always' | 'never';

export interface DeployInput {
  spec: ClusterSpec;
  product: ProductFacts;
  options: {
    fixFirewall: boolean;
    /**
     * auto: run the runbook's three failover checks when the deploy changed anything (and the
     * inventory's failover.enabled is not false); always: run them; never: skip them.
     */
    failover: FailoverPolicy;
  };
}

export interface HostRollout {
  host: string;
  ok: boolean;
  uploaded?: boolean;
  imagesLoaded?: number;
  configChanged?: boolean;
  action?: 'unchanged' | 'started' | 'recreated';
  error?: string;
  ms?: number;
}

export interface ComponentRollout {
  mode: 'parallel' | 'rolling';
  hosts: HostRollout[];
  failures: number;
}

/** One of the runbook's checks, as the deploy reports it (the full journal is the child's result). */
export interface FailoverCheck {
  name: string;
  victim?: string;
  passed: boolean;
  detail: string;
  restored: boolean;
  dpOutageMs?: number;
  cpOutageMs?: number;
  recoveryMs?: number;
}

export interface FailoverResult {
  passed: boolean;
  score: number;
  /** The failover child workflow; `api7-ha report <id>` renders its journal. */
  workflowId: string;
  checks: FailoverCheck[];
}

export interface DeployResult {
  cluster: string;
  product: string;
  endpoints: Endpoints;
  packages: { controlPlane: Pick<PackageInfo, 'fileName' | 'sha256'>; dataPlane: Pick<PackageInfo, 'fileName' | 'sha256'>; etcdImage?: ImageFacts; haproxyImage?: ImageFacts };
  preflight: { problems: Problem[]; hosts: Pick<PreflightReport, 'host' | 'facts'>[] };
  etcd: {
    members: MemberResult[];
    quorum: QuorumReport;
    /** The inventory changed the member list of a running cluster: the replacement this run made. */
    membership?: { removed?: string; added?: string };
    /** The snapshot taken before this run changed etcd (a member replaced or recreated), in the backup folder. */
    snapshotBefore?: string;
  };
  controlPlane: ComponentRollout;
  dataPlane: ComponentRollout;
  loadBalancers: LoadBalancerResult[];
  verification: PropagationResult;
  failover?: FailoverResult;
  /** Whether this run changed anything on any host. */
  changed: boolean;
  durationsMs: Record<string, number>;
}

export interface DrillInput {
  spec: ClusterSpec;
  product: ProductFacts;
  scenarios: ScenarioId[];
  /** A named victim host, used by every scenario it can be a victim of. */
  victim?: string;
  kind: DrillJournal['kind'];
  /** Take the cluster lock (a drill on its own); the deploy's check runs under the deploy's lock. */
  lock: boolean;
  timing?: { baselineS: number; holdS: number; afterS: number };
}

/** Runbooks that run as children of others (Step.child), by kind. */
export interface ChildRuns {
  drill: { input: DrillInput; result: DrillJournal };
}
