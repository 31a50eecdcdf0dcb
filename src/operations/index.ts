// The runbook's named operations: each is one reconcile function, run on one host, on each host of a
// list, or on the worker. This table is the only place an operation is defined: the Temporal
// activities (src/activities), `deploy --plan` and the bench's direct run (src/plan/runner.ts) are all
// built from it, so what a step does cannot differ between them. What the workflows need to know of
// an operation (profile, summary, watch-tree detail) is in src/runbook/operations.ts, keyed by the
// same names and checked against this table's types.
import { inspectArtifacts, type ArtifactPaths } from '../artifacts/inspect';
import type { SshTarget } from '../inventory/model';
import * as component from '../reconcile/component';
import { PermanentError, type StepContext } from '../reconcile/context';
import * as etcd from '../reconcile/etcd';
import { ensureImage } from '../reconcile/images';
import { ensureLoadBalancer, waitLoadBalancersServing } from '../reconcile/loadbalancer';
import { preflightHost, type PreflightReport } from '../reconcile/preflight';
import { ensureProbeRoute, verifyPropagation } from '../reconcile/verify';
import type { HostExecutor, Mode } from '../remote/executor';
import type { FaultDrivers } from '../drills/drivers';
import * as faults from '../drills/faults';
import type { WebhookSpec } from '../inventory/model';
import type { MetricsRecord } from '../metrics/definitions';
import { record as recordMetrics } from '../metrics/exporter';
import type { NotificationMessage } from '../notifications/messages';
import { sendNotification } from '../notifications/send';
import * as release from '../reconcile/release';
import * as drain from '../reconcile/drain';
import { snapshotEtcd, type SnapshotInput } from '../reconcile/upgrade-snapshot';
import { ETCD_OPERATIONS } from './etcd';
import type {
  ApiTarget,
  ComponentStep,
  Endpoints,
  EtcdMemberStep,
  HostStep,
  ImageDelivery,
  LoadBalancerStep,
  PackageStep,
  PreflightInput,
  ProbeSettings,
  QuorumCheckInput,
  Secrets,
} from '../steps/inputs';

/** What an operation gets besides its arguments, whoever runs it. */
export interface OpContext extends Omit<StepContext, 'exec'> {
  mode: Mode;
  /** An executor for any host, in this run's mode (for operations that reach several hosts). */
  executor(target: SshTarget, secrets: Secrets): HostExecutor;
  /** The worker's host-fault drivers (drills). */
  faultDrivers: FaultDrivers;
  /** A line for the plan about what this operation found or would do (ignored outside plans). */
  note(text: string): void;
}

/** A one-host operation also gets the executor of its host (its first argument's target). */
export type HostOpContext = OpContext & StepContext;

export interface HostOp<A extends [HostStep, ...unknown[]], R> {
  on: 'host';
  run(ctx: HostOpContext, ...args: A): Promise<R>;
}
/** One call for a list of hosts (each its own executor): one activity per batch keeps history small. */
export interface EachHostOp<I extends HostStep, R> {
  on: 'each';
  run(ctx: HostOpContext, item: I): Promise<R>;
  /** In a plan (read-only probes) or an offline plan (nothing probed), if not `run`. */
  plan?(ctx: HostOpContext, item: I): Promise<R>;
}
/** On the worker: local files, HTTP through the load balancers, several hosts at once. */
export interface WorkerOp<A extends unknown[], R> {
  on: 'worker';
  run(ctx: OpContext, ...args: A): Promise<R>;
  /** In a plan: read-only, or a stand-in and a note. Without one, a plan refuses the operation. */
  plan?(ctx: OpContext, ...args: A): Promise<R>;
}

const onHost = <A extends [HostStep, ...unknown[]], R>(run: HostOp<A, R>['run']): HostOp<A, R> => ({ on: 'host', run });
const eachHost = <I extends HostStep, R>(run: EachHostOp<I, R>['run'], plan?: NoInfer<EachHostOp<I, R>['plan']>): EachHostOp<I, R> => ({ on: 'each', run, ...(plan ? { plan } : {}) });
const onWorker = <A extends unknown[], R>(run: WorkerOp<A, R>['run'], plan?: NoInfer<WorkerOp<A, R>['plan']>): WorkerOp<A, R> => ({ on: 'worker', run, ...(plan ? { plan } : {}) });

/** A fresh host as an offline plan assumes it: reachable, nothing found. */
const freshHost = (input: PreflightInput): Promise<PreflightReport> => Promise.resolve({ host: input.target.host, reachable: true, facts: {}, problems: [] });

export const OPERATIONS = {
  // ---- deploy ----------------------------------------------------------------------------------
  /** sha256 and image IDs of the operator's files, recorded in the run before anything is sent. */
  inspectArtifacts: onWorker((ctx, paths: ArtifactPaths) => inspectArtifacts(paths, (p) => ctx.heartbeat({ hashing: p }))),
  preflightHosts: eachHost(
    (ctx, input: PreflightInput) => preflightHost(ctx, input),
    (ctx, input) => (ctx.mode === 'simulate' ? freshHost(input) : preflightHost(ctx, input)),
  ),
  ensureEtcdMember: onHost((ctx, step: EtcdMemberStep, stamp: string) => etcd.ensureMember(ctx, step, stamp)),
  recreateEtcdMember: onHost((ctx, step: EtcdMemberStep, stamp: string) => etcd.recreateMember(ctx, step, stamp)),
  checkQuorum: onWorker(
    (ctx, input: QuorumCheckInput) => etcd.waitForQuorum(ctx, (t) => ctx.executor(t, input.secrets), input),
    async (ctx, input) => {
      // A plan never waits: it reads the quorum once, and says what the deploy would wait for.
      if (ctx.mode === 'simulate') {
        ctx.note('would wait until every member is healthy with one leader and no alarm');
        return { healthy: true, problems: [], members: [] };
      }
      const q = await etcd.readQuorum((t) => ctx.executor(t, input.secrets), input).catch((e: Error) => ({ healthy: false, problems: [e.message], members: [] }));
      ctx.note(q.healthy ? 'etcd is healthy now' : `etcd is not healthy now (${q.problems.join('; ')}); the deploy waits for quorum`);
      return q;
    },
  ),
  uploadPackage: onHost((ctx, step: PackageStep) => component.uploadPackage(ctx, step)),
  /** An image tarball to a host and `docker load`, unless the host has the image's ID already. */
  deliverImage: onHost((ctx, step: HostStep & { image: ImageDelivery }) => ensureImage(ctx, step.image)),
  installPackage: onHost((ctx, step: PackageStep) => component.installPackage(ctx, step)),
  configureComponent: onHost((ctx, step: ComponentStep) => component.configureComponent(ctx, step)),
  startComponent: onHost((ctx, step: ComponentStep, configChanged: boolean) => component.startComponent(ctx, step, configChanged)),
  waitComponentHealthy: onHost((ctx, step: ComponentStep) => component.waitComponentHealthy(ctx, step)),
  /** Which of these hosts already run the component (first install or a running estate?). */
  componentsRunning: eachHost(async (ctx, step: ComponentStep) => (await component.serviceState(ctx, step)).running),
  stopComponent: onHost((ctx, step: ComponentStep) => component.stopComponent(ctx, step)),
  ensureProbeRoute: onWorker(
    (ctx, api: ApiTarget, probe: ProbeSettings) => ensureProbeRoute(ctx, api, probe),
    (ctx, api, probe) => {
      ctx.note(`the probe route ${probe.routeId} (Host ${probe.host}, ${probe.path} -> ${probe.upstream}) is written through ${api.baseUrl} first`);
      return Promise.resolve({ written: false });
    },
  ),
  ensureLoadBalancer: onHost((ctx, step: LoadBalancerStep) => ensureLoadBalancer(ctx, step)),
  checkLoadBalancers: onWorker(
    (ctx, endpoints: Endpoints, checks: { cpHealthPath: string; probe: { host: string; path: string; expectStatus: number } }, deadlineS: number) => waitLoadBalancersServing(ctx, endpoints, checks, deadlineS),
    () => Promise.resolve({ ms: 0 }),
  ),
  verifyPropagation: onWorker(
    (ctx, api: ApiTarget, endpoints: Endpoints, probe: ProbeSettings, nonce: string, deadlineS: number) => verifyPropagation(ctx, api, endpoints, probe, nonce, deadlineS),
    (_ctx, _api, _endpoints, _probe, nonce) => Promise.resolve({ routeId: `api7-ha-verify-${nonce}`, propagationMs: 0, writeMs: 0 }),
  ),

  // ---- drills ----------------------------------------------------------------------------------
  steadyState: onWorker((ctx, input: faults.SteadyStateInput, secrets: Secrets) => faults.steadyState((t) => ctx.executor(t, secrets), input)),
  injectFault: onWorker((ctx, f: faults.FaultTarget) => faults.injectFault(faultTools(ctx, f.secrets), ctx, f)),
  rollbackFault: onWorker((ctx, f: faults.FaultTarget) => faults.rollbackFault(faultTools(ctx, f.secrets), ctx, f)),
  waitRecovered: onWorker((ctx, input: faults.RecoveryInput, secrets: Secrets) => faults.waitRecovered((t) => ctx.executor(t, secrets), ctx, input)),
  writeRouteReachesGateways: onWorker((ctx, input: faults.RouteDuringFault) => faults.writeRouteReachesGateways(ctx, input)),
  restartGateway: onWorker((ctx, step: ComponentStep, deadlineS: number) => faults.restartGateway((t) => ctx.executor(t, step.secrets), ctx, step, deadlineS)),

  // ---- cross-cutting: telling people, feeding dashboards ----------------------------------------
  /** One notification to one webhook (a plan sends nothing: it says what it would send). */
  sendNotification: onWorker(
    (ctx, message: NotificationMessage, webhook: WebhookSpec) => sendNotification(message, webhook, ctx.signal),
    (ctx, message, webhook) => {
      ctx.note(`would notify ${webhook.name} of ${message.type}`);
      return Promise.resolve({ webhook: webhook.name, status: 0, ms: 0 });
    },
  ),
  /** The run's figures into this worker's Prometheus metrics. */
  recordMetrics: onWorker(
    (_ctx, r: MetricsRecord) => Promise.resolve(recordMetrics(r)),
    () => Promise.resolve(),
  ),
  // ---- upgrades and rollbacks ------------------------------------------------------------------
  /** Which release of its component each host runs, and which one it ran before (the rollback target). */
  readReleases: eachHost((ctx, step: ComponentStep) => release.readRelease(ctx, step)),
  /** On a drained host: compose down the release that runs, compose up `step`'s, record the one before. */
  switchRelease: onHost((ctx, step: ComponentStep, from: release.Release | undefined, image: string, record: release.Release | null | 'running') => release.switchRelease(ctx, step, from, image, record)),
  /**
   * The upgrade's health gate: the same check as a deploy's. A build that fails it is not retried (it
   * does not get better: the failure is permanent); a lost worker is (the retry finds the host as it was).
   */
  waitReleaseHealthy: onHost((ctx, step: ComponentStep) =>
    component.waitComponentHealthy(ctx, step).catch((e: unknown) => {
      if (ctx.signal?.aborted) throw e;
      throw new PermanentError(e instanceof Error ? e.message : String(e), 'HealthCheckFailed');
    }),
  ),
  drainServer: onWorker((ctx, s: drain.LbServer, timeoutS: number) => drain.drainServer(ctx, (t) => ctx.executor(t, s.secrets), s, timeoutS)),
  readyServer: onWorker((ctx, s: drain.LbServer, deadlineS: number) => drain.readyServer(ctx, (t) => ctx.executor(t, s.secrets), s, deadlineS)),
  /** The compensation of a drain: `state ready` on every load balancer, retried until it is done. */
  undrainServer: onWorker((ctx, s: drain.LbServer) => drain.readyServer(ctx, (t) => ctx.executor(t, s.secrets), s, 0)),
  /** Old releases out: folders, tarballs and images beyond the running, the previous and `keep` more. */
  cleanupReleases: eachHost((ctx, item: ComponentStep & { keep: number }) => release.cleanupReleases(ctx, item, item.keep)),
  snapshotEtcd: onWorker((ctx, input: SnapshotInput) => snapshotEtcd((t) => ctx.executor(t, input.secrets), input)),
  // ---- day 2 for etcd: backups, restore, membership, upkeep (src/operations/etcd.ts) -------------
  ...ETCD_OPERATIONS,
};

const faultTools = (ctx: OpContext, secrets: Secrets): faults.FaultTools => ({ exec: (t) => ctx.executor(t, secrets), drivers: ctx.faultDrivers });

export type OpName = keyof typeof OPERATIONS;

/** How callers see an operation: its arguments and result (a list op takes and returns lists). */
type Signature<O> =
  O extends EachHostOp<infer I, infer R> ? (items: I[]) => Promise<R[]> : O extends HostOp<infer A, infer R> ? (...args: A) => Promise<R> : O extends WorkerOp<infer A, infer R> ? (...args: A) => Promise<R> : never;

export type Operations = { [K in OpName]: Signature<(typeof OPERATIONS)[K]> };
