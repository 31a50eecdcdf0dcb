// Day 2: upgrade to the packages the inventory names, or roll back to the release each host ran before,
// with no failed request. The vendor runbook has no upgrade section; this is what a careful operator does
// by hand, written once:
//   1. which release runs where (and, for a rollback, whether the previous one is still on the host);
//   2. an etcd snapshot (etcdctl directly: the backup work is not merged yet);
//   3. the new packages to every host that changes (copy, extract, docker load, conf file): nothing
//      running is touched;
//   4. gateways one batch at a time, each: drain in HAProxy (runtime API), compose down the old release,
//      compose up the new one, health check on the host, back in rotation, seen taking traffic;
//      the first batch is the canary, proven by the DP drill scenarios (victim and survivor) first;
//   5. dashboards one at a time behind the control plane load balancer, the same way;
//   6. verification through both load balancers.
// Probes at 20/s through both load balancers run for the whole run. A failing host is rolled back at
// once; past the failure budget (or a failed canary drill) its whole batch is, and the run stops naming
// the host and the check. Every drain's undo is registered right after it: no host is left drained,
// whether a check fails or the run is cancelled.
import type { DrillControl } from '../contracts';
import type { ScenarioId, ProbeSeries } from '../drills/journal';
import { longestOutage } from '../drills/metrics';
import type { ProbePlan } from '../drills/probes';
import { batches, controlPlaneHosts, dataPlaneHosts, etcdMembers, loadBalancerHosts, type ClusterSpec, type HostSpec } from '../inventory/model';
import type { ProductFacts } from '../products/types';
import type { LbServer } from '../reconcile/drain';
import type { HostRelease, Release } from '../reconcile/release';
import type { SnapshotInput, SnapshotResult } from '../reconcile/upgrade-snapshot';
import {
  apiTarget,
  artifactPaths,
  componentStep,
  endpointsOf,
  etcdctlSettings,
  packageStep,
  probeSettings,
  type Component,
  type ComponentStep,
  type InspectedPackages,
  type PackageInfo,
  type PackageStep,
} from '../steps/inputs';
import { Compensations } from './compensations';
import { childId, messageOf, titleOf, type Runner, type Step, type StepDef } from './runner';
import type { DrillInput } from './types';

export type Direction = 'upgrade' | 'rollback';

export interface UpgradeOptions {
  /** Gateways in the first batch, proven by the canary drill before the rest (0: no canary). */
  canary: number;
  /** How long a swapped host may take to be healthy before it is rolled back. */
  healthDeadlineS: number;
  /** How long a drained host's current sessions may take to finish. */
  drainTimeoutS: number;
  /** Probes through both load balancers, per second. */
  probeRatePerS: number;
}

export const DEFAULT_UPGRADE_OPTIONS: UpgradeOptions = { canary: 1, healthDeadlineS: 60, drainTimeoutS: 30, probeRatePerS: 20 };

export interface UpgradeInput {
  spec: ClusterSpec;
  product: ProductFacts;
  direction: Direction;
  options: UpgradeOptions;
}

/** The DP drill scenarios a canary must pass: lost itself (victim), and serving while an etcd member is lost (survivor). */
export const CANARY_SCENARIOS: ScenarioId[] = ['dp-node-loss', 'etcd-member-loss'];

const verb = (d: Direction) => (d === 'upgrade' ? 'upgrade' : 'roll back');

export const UPGRADE_STEPS = [
  { id: 'packages', title: 'Check the packages the inventory names (sha256, image IDs)' },
  { id: 'releases', title: ({ direction }) => (direction === 'upgrade' ? 'Which release runs on each dashboard and gateway' : 'Which release runs on each host, and is the previous one still there') },
  { id: 'snapshot', title: 'etcd: snapshot save (before anything changes)' },
  { id: 'delivery', title: 'New packages to the hosts that change: copy, extract, docker load, conf file (nothing running is touched)' },
  { id: 'canary', title: ({ options }) => `Canary: ${options.canary} gateway(s) drained, swapped, checked, back in rotation` },
  { id: 'canary-drill', title: `Canary drill: ${CANARY_SCENARIOS.join(', ')} with the canary as victim and as survivor` },
  { id: 'data-plane', title: ({ direction, spec }) => `Gateways: ${verb(direction)} in batches of ${spec.dataPlane.batchSize} (failure budget ${spec.dataPlane.failureBudget}), each drained first` },
  { id: 'control-plane', title: ({ direction }) => `Dashboards: ${verb(direction)} one at a time behind the control plane load balancer, each drained first` },
  { id: 'verification', title: 'Verification: both load balancers answer; a route written through the CP is served through the DP' },
] as const satisfies readonly StepDef<UpgradeInput>[];

export type UpgradeStepId = (typeof UPGRADE_STEPS)[number]['id'];

/** One host's swap, as planned and as done. */
export interface HostSwap {
  host: string;
  component: Component;
  from?: string;
  to: string;
  ok: boolean;
  /** The check that failed: drain, switch, health check, takes traffic. */
  check?: string;
  error?: string;
  rolledBack?: boolean;
  ms?: number;
  drainMs?: number;
  readyMs?: number;
}

export interface ProbeSummary {
  name: string;
  target: string;
  requests: number;
  failures: number;
  longestOutageMs: number;
  /** Which build answered: per version, how many answers, the first and the last (ms from the start). */
  versions: { version: string; fromMs: number; toMs: number; count: number }[];
}

export interface UpgradeResult {
  cluster: string;
  direction: Direction;
  snapshot?: SnapshotResult;
  /** Every planned host, in order: batches of gateways (the canary first), then dashboards. */
  hosts: HostSwap[];
  unchanged: { host: string; component: Component; version?: string }[];
  canaryDrill?: { workflowId: string; verdict: string; summary: string; ms: number };
  probes: ProbeSummary[];
  /** Why there are no probe figures (the worker running them was lost), if there are none. */
  probesLost?: string;
  /** The samples themselves: [t, status, ms, version]. */
  series: ProbeSeries[];
  durationsMs: Record<string, number>;
}

// ---- the order, written once: the runbook runs it, `--plan` prints it -----------------------------

/** A host that changes: where it goes, where it comes from, how the LB takes it out. */
export interface SwapItem {
  host: string;
  component: Component;
  to: ComponentStep;
  toImage: string;
  toVersion: string;
  from?: Release;
  /** The recorded previous release before this run (restored if the swap is undone). */
  priorPrevious: Release | null;
  lb: LbServer;
  /** Upgrades: the package to deliver first. */
  pkg?: PackageStep;
}

export interface UpgradeOrder {
  canary: SwapItem[];
  dataPlane: SwapItem[][];
  controlPlane: SwapItem[];
  unchanged: UpgradeResult['unchanged'];
  /** Why the run cannot go ahead (a rollback target gone, nothing to do...). */
  refusals: string[];
}

const imageOf = (pkg: PackageInfo) => pkg.images[0]?.tags[0] ?? '';
const versionOfImage = (image: string) => image.slice(image.lastIndexOf(':') + 1);

function lbServer(spec: ClusterSpec, product: ProductFacts, h: HostSpec, c: Component): LbServer {
  const e = endpointsOf(spec);
  const p = probeSettings(spec);
  const managed = spec.loadBalancer.mode === 'managed';
  return {
    target: h.ssh,
    secrets: spec.secrets,
    lbs: managed ? loadBalancerHosts(spec).map((l) => l.ssh) : [],
    runtimeApiPort: spec.loadBalancer.runtimeApiPort,
    backend: c === 'data_plane' ? 'gateways' : 'dashboards',
    server: h.name,
    frontend: c === 'data_plane' ? { url: `${e.dataPlane}${p.path}`, headers: { Host: p.host } } : { url: `${e.controlPlane}${product.controlPlane.health.path}` },
  };
}

/** Per host: what it runs now, what it goes to, in which batch. Pure: the plan and the run share it. */
export function upgradeOrder(input: UpgradeInput, packages: Pick<InspectedPackages, 'controlPlane' | 'dataPlane'>, releases: HostRelease[], stamp: string): UpgradeOrder {
  const { spec, options, direction } = input;
  const unchanged: UpgradeResult['unchanged'] = [];
  const refusals: string[] = [];
  const releaseOf = (h: string, c: Component) => releases.find((r) => r.host === h && r.component === c);
  const items = (c: Component, hosts: HostSpec[]): SwapItem[] =>
    hosts.flatMap((h): SwapItem[] => {
      const pkg = c === 'control_plane' ? packages.controlPlane : packages.dataPlane;
      const rel = releaseOf(h.name, c);
      const base = { ...componentStep(spec, h, c, pkg, 'auto', stamp), healthDeadlineS: options.healthDeadlineS };
      const common = { host: h.name, component: c, ...(rel?.running ? { from: rel.running } : {}), priorPrevious: rel?.previous ?? null, lb: lbServer(spec, input.product, h, c) };
      if (direction === 'upgrade') {
        if (rel?.running?.dir === base.packageDir) {
          unchanged.push({ host: h.name, component: c, version: rel.running.version });
          return [];
        }
        return [{ ...common, to: base, toImage: imageOf(pkg), toVersion: versionOfImage(imageOf(pkg)), pkg: packageStep(spec, h, c, pkg) }];
      }
      if (!rel?.previous || rel.previous.dir === rel.running?.dir) {
        unchanged.push({ host: h.name, component: c, ...(rel?.running ? { version: rel.running.version } : {}) });
        return [];
      }
      if (rel.previousMissing) {
        refusals.push(`${h.name}: cannot roll back to ${rel.previous.version}: ${rel.previousMissing}`);
        return [];
      }
      return [{ ...common, to: { ...base, packageDir: rel.previous.dir }, toImage: rel.previous.image, toVersion: rel.previous.version }];
    });
  const gateways = items('data_plane', dataPlaneHosts(spec));
  const dashboards = items('control_plane', controlPlaneHosts(spec));
  if (direction === 'rollback' && !gateways.length && !dashboards.length && !refusals.length) refusals.push('nothing to roll back: no host has a previous release recorded by an upgrade');
  // Never drain every gateway at once: a batch leaves at least one in rotation.
  const all = dataPlaneHosts(spec).length;
  const size = Math.max(1, Math.min(spec.dataPlane.batchSize, all - 1));
  const canaryCount = direction === 'upgrade' ? Math.min(options.canary, size, gateways.length) : 0;
  return { canary: gateways.slice(0, canaryCount), dataPlane: batches(gateways.slice(canaryCount), size), controlPlane: dashboards, unchanged, refusals };
}

// ---- the run -----------------------------------------------------------------------------------

export interface UpgradeRun {
  steps: { id: UpgradeStepId; title: string }[];
  /** The probes ask it when to stop (on Temporal: the drillControl query). */
  control: DrillControl;
  run(r: Runner<UpgradeStepId>): Promise<UpgradeResult>;
}

export function upgradeRun(input: UpgradeInput): UpgradeRun {
  const control: DrillControl = { stopProbes: [] };
  return { steps: UPGRADE_STEPS.map((d) => ({ id: d.id, title: titleOf(d, input) })), control, run: (r) => upgrade(r, input, control) };
}

const PROBES = 'upgrade';

async function upgrade(r: Runner<UpgradeStepId>, input: UpgradeInput, control: DrillControl): Promise<UpgradeResult> {
  const { spec, direction } = input;
  const packages = await r.step('packages', (s) => s.inspectArtifacts(artifactPaths(spec)), (a) => `${a.controlPlane.fileName}, ${a.dataPlane.fileName}`);
  const releases = await r.step('releases', (s) => readReleases(s, input, packages), (rs) => rs.map((x) => `${x.host} ${x.running?.version ?? 'not running'}`).join(', '));
  const order = upgradeOrder(input, packages, releases, r.stamp);
  if (order.refusals.length) r.block(`${direction} refused: ${order.refusals.join('; ')}`, direction === 'rollback' ? 'RollbackRefused' : 'UpgradeRefused', order.refusals);

  // Probes through both load balancers for the whole run; stopped (and their samples kept) however it ends.
  const probes = r.runProbes(PROBES, probePlan(input));
  probes.catch(() => undefined);
  const hosts: HostSwap[] = [];
  let snapshot: SnapshotResult | undefined;
  let canaryDrill: UpgradeResult['canaryDrill'];
  try {
    snapshot = await r.step('snapshot', (s) => s.snapshotEtcd(snapshotInput(spec, r.stamp, direction)), (x) => `${x.path} on ${x.host}`);
    const changing = [...order.canary, ...order.dataPlane.flat(), ...order.controlPlane];
    if (direction === 'upgrade') await r.step('delivery', (s) => deliver(s, changing), () => `${changing.length} host(s)`);
    else r.skip('delivery', 'the previous releases are on the hosts already');

    if (order.canary.length) {
      const canary = await r.step('canary', (s) => runBatch(r, s, order.canary, input.options), (b) => describeBatch(b.results));
      hosts.push(...canary.results);
      if (canary.failed) {
        await canary.undoAll();
        r.block(failureMessage(direction, canary.results, true), 'CanaryFailed');
      }
      canaryDrill = await r.step('canary-drill', (s) => canaryProof(r, s, input, order.canary.map((c) => c.host)), (d) => `${d.verdict} in ${Math.round(d.ms / 1000)} s`);
      if (canaryDrill && canaryDrill.verdict !== 'passed') {
        await canary.undoAll();
        for (const h of canary.results) h.rolledBack = true;
        r.block(`canary drill ${canaryDrill.verdict} with ${order.canary.map((c) => c.host).join(', ')} on ${order.canary[0]!.toVersion}: ${canaryDrill.summary}; the canary was rolled back and no other host was touched (${canaryDrill.workflowId})`, 'CanaryDrillFailed');
      }
    } else {
      r.skip('canary', direction === 'rollback' ? 'a rollback goes back to releases that ran before' : 'no gateway to upgrade, or --canary 0');
      r.skip('canary-drill', 'no canary');
    }

    if (order.dataPlane.length) await r.step('data-plane', (s) => rollingBatches(r, s, input, order.dataPlane, hosts), () => describeBatch(hosts.filter((h) => h.component === 'data_plane')));
    else r.skip('data-plane', 'no other gateway changes');
    if (order.controlPlane.length) await r.step('control-plane', (s) => rollingBatches(r, s, input, order.controlPlane.map((i) => [i]), hosts), () => describeBatch(hosts.filter((h) => h.component === 'control_plane')));
    else r.skip('control-plane', 'no dashboard changes');

    await r.step('verification', (s) => verify(s, input, r.runId.slice(0, 8)), (v) => `served ${v.propagationMs} ms after the write`);
  } finally {
    control.stopProbes.push(PROBES);
  }
  // Probes die with a worker (their samples live in its memory): the upgrade itself resumed, so it is
  // not failed for that; the result says the figures are missing and why.
  let probesLost: string | undefined;
  const series = await probes.catch((e: unknown) => {
    if (r.isCancellation(e)) throw e;
    probesLost = messageOf(e);
    return [] as ProbeSeries[];
  });
  return {
    cluster: spec.cluster.name,
    direction,
    ...(snapshot ? { snapshot } : {}),
    hosts,
    unchanged: order.unchanged,
    ...(canaryDrill ? { canaryDrill } : {}),
    probes: series.map(summarizeProbe),
    ...(probesLost ? { probesLost } : {}),
    series,
    durationsMs: r.durations(),
  };
}

async function readReleases(s: Step, input: UpgradeInput, packages: Pick<InspectedPackages, 'controlPlane' | 'dataPlane'>): Promise<HostRelease[]> {
  const steps = (c: Component, hosts: HostSpec[], pkg: PackageInfo) => hosts.map((h) => componentStep(input.spec, h, c, pkg, 'auto', ''));
  const [cp, dp] = await Promise.all([s.readReleases(steps('control_plane', controlPlaneHosts(input.spec), packages.controlPlane)), s.readReleases(steps('data_plane', dataPlaneHosts(input.spec), packages.dataPlane))]);
  return [...cp, ...dp];
}

/** The runbook's "copy, tar -zxvf, docker load", and the conf file in the new folder: all hosts at once. */
async function deliver(s: Step, items: SwapItem[]): Promise<void> {
  await Promise.all(
    items.map(async (i) => {
      if (!i.pkg) return;
      await s.uploadPackage(i.pkg);
      await s.installPackage(i.pkg);
      await s.configureComponent(i.to);
    }),
  );
}

interface BatchOutcome {
  results: HostSwap[];
  failed: boolean;
  /** Roll every host of the batch back (a failed canary drill, a batch past the failure budget). */
  undoAll(): Promise<void>;
}

/** Every host of one batch at once; each failed host is rolled back when the batch has settled. */
async function runBatch(r: Runner<UpgradeStepId>, s: Step, items: SwapItem[], options: UpgradeOptions): Promise<BatchOutcome> {
  const sagas = items.map(() => new Compensations(r));
  // allSettled: a cancel must not run the undos while a sibling's swap is still finishing.
  const settled = await Promise.allSettled(items.map((item, k) => swap(r, s, item, options, sagas[k]!)));
  const cancelled = settled.find((x) => x.status === 'rejected');
  if (cancelled) {
    for (const saga of sagas) await saga.runAll();
    throw (cancelled as PromiseRejectedResult).reason;
  }
  const results = settled.map((x) => (x as PromiseFulfilledResult<HostSwap>).value);
  for (const [k, h] of results.entries())
    if (!h.ok) {
      await sagas[k]!.runAll();
      h.rolledBack = sagas[k]!.failures.length === 0;
      if (sagas[k]!.failures.length) h.error = `${h.error}; ROLLBACK FAILED: ${sagas[k]!.failures.map((f) => `${f.name}: ${f.error}`).join('; ')}`;
    }
  return {
    results,
    failed: results.some((h) => !h.ok),
    undoAll: async () => {
      for (const saga of sagas) await saga.runAll();
    },
  };
}

/** One host: out of rotation, swapped, checked, back in, each undo registered right after its step. */
async function swap(r: Runner<UpgradeStepId>, s: Step, item: SwapItem, options: UpgradeOptions, saga: Compensations): Promise<HostSwap> {
  const started = Date.now();
  const out: HostSwap = { host: item.host, component: item.component, ...(item.from ? { from: item.from.version } : {}), to: item.toVersion, ok: false };
  let check = 'drain';
  try {
    // A drain that timed out may still hold: its undo is registered before it runs, and is safe on a ready server.
    saga.add(`${item.host}: state ready`, async () => {
      await s.undrainServer(item.lb);
    });
    out.drainMs = (await s.drainServer(item.lb, options.drainTimeoutS)).ms;
    check = 'switch';
    const from = item.from;
    if (from)
      saga.add(`${item.host}: back on ${from.version}`, async () => {
        const back = { ...item.to, packageDir: from.dir };
        await s.switchRelease(back, { dir: item.to.packageDir, image: item.toImage, version: item.toVersion }, from.image, item.priorPrevious);
        await s.waitComponentHealthy(back);
      });
    // Not cancellable: compose down without the up would leave the host with nothing running.
    await s.critical(() => s.switchRelease(item.to, item.from, item.toImage, 'running'));
    check = 'health check';
    await s.waitReleaseHealthy(item.to);
    check = 'takes traffic';
    out.readyMs = (await s.readyServer(item.lb, options.healthDeadlineS)).ms;
    return { ...out, ok: true, ms: Date.now() - started };
  } catch (e) {
    if (r.isCancellation(e)) throw e;
    return { ...out, check, error: messageOf(e), ms: Date.now() - started };
  }
}

/** Batches one after the other; a failed host is rolled back; past the budget, its batch too, and the run stops. */
async function rollingBatches(r: Runner<UpgradeStepId>, s: Step, input: UpgradeInput, groups: SwapItem[][], hosts: HostSwap[]): Promise<void> {
  const budget = input.spec.dataPlane.failureBudget;
  for (const group of groups) {
    r.stopIfCancelled(`${input.direction} cancelled between batches`);
    const b = await runBatch(r, s, group, input.options);
    hosts.push(...b.results);
    if (hosts.filter((h) => !h.ok).length > budget) {
      await b.undoAll();
      for (const h of b.results) h.rolledBack = true;
      r.block(failureMessage(input.direction, b.results, false, budget), 'FailureBudgetExceeded');
    }
  }
}

function failureMessage(direction: Direction, results: HostSwap[], canary: boolean, budget = 0): string {
  const failed = results.filter((h) => !h.ok);
  const what = failed.map((h) => `${h.host} failed its ${h.check} on ${h.to}: ${h.error}`).join('; ');
  return `${canary ? 'canary ' : ''}${direction} stopped: ${what}${canary ? '' : ` (failure budget ${budget})`}; ${failed.every((h) => h.rolledBack) ? `rolled back to ${failed.map((h) => `${h.host} ${h.from ?? '?'}`).join(', ')}` : 'NOT every host could be rolled back'}; no further host was touched`;
}

const describeBatch = (hs: HostSwap[]) => hs.map((h) => (h.ok ? `${h.host} ${h.from ?? '-'} -> ${h.to} in ${h.ms} ms` : `${h.host} failed (${h.check})${h.rolledBack ? ', rolled back' : ''}`)).join('; ');

/** The DP drill scenarios with the canary as the victim (dp-node-loss) and as a survivor (etcd-member-loss). */
async function canaryProof(r: Runner<UpgradeStepId>, s: Step, input: UpgradeInput, canary: string[]): Promise<NonNullable<UpgradeResult['canaryDrill']>> {
  const started = Date.now();
  const drill: DrillInput = { spec: input.spec, product: input.product, scenarios: CANARY_SCENARIOS, victim: canary[0]!, kind: 'deploy-failover', lock: false, timing: { baselineS: 1, holdS: input.spec.drills.holdS, afterS: 1 } };
  const workflowId = childId(r.id, 'canary-drill');
  try {
    const j = await s.child('drill', drill, { id: 'canary-drill', summary: `Canary drill of ${canary.join(', ')}: ${CANARY_SCENARIOS.join(', ')}` });
    if (!j) return { workflowId, verdict: 'passed', summary: 'not run (plan)', ms: 0 };
    const failed = j.scenarios.filter((x) => x.status !== 'passed');
    const summary = failed.length
      ? failed.map((x) => `${x.id}: ${x.status}${x.error ? ` (${x.error})` : ''}; ${x.hypotheses.filter((h) => !h.ok).map((h) => h.text).join('; ')}`).join(' | ')
      : j.summary;
    return { workflowId, verdict: j.verdict, summary, ms: Date.now() - started };
  } catch (e) {
    if (r.isCancellation(e)) throw e;
    return { workflowId, verdict: 'failed', summary: messageOf(e), ms: Date.now() - started };
  }
}

async function verify(s: Step, input: UpgradeInput, nonce: string) {
  const e = endpointsOf(input.spec);
  const p = probeSettings(input.spec);
  await s.checkLoadBalancers(e, { cpHealthPath: input.product.controlPlane.health.path, probe: { host: p.host, path: p.path, expectStatus: p.expectStatus } }, 60);
  return s.verifyPropagation(apiTarget(input.spec, e.controlPlane), e, p, `up-${nonce}`, input.spec.verification.deadlineS);
}

export function probePlan(input: UpgradeInput): ProbePlan {
  const e = endpointsOf(input.spec);
  const p = probeSettings(input.spec);
  return {
    ratePerS: input.options.probeRatePerS,
    maxDurationS: 4 * 3600,
    dp: { url: e.dataPlane, host: p.host, path: p.path, expectStatus: p.expectStatus },
    cp: { api: apiTarget(input.spec, e.controlPlane), probe: p, readOnly: true },
  };
}

export function snapshotInput(spec: ClusterSpec, stamp: string, direction: Direction): SnapshotInput {
  const parent = `/${spec.etcd.dataDir.split('/').filter(Boolean).slice(0, -1).join('/')}`;
  return {
    members: etcdMembers(spec).map((h) => ({ target: h.ssh, endpoint: `${h.address}:${spec.etcd.clientPort}` })),
    etcdctl: { ...etcdctlSettings(spec), containerName: spec.etcd.containerName },
    dir: `${parent === '/' ? '' : parent}/api7-ha-snapshots`,
    name: `pre-${direction}-${stamp}.db`,
    secrets: spec.secrets,
  };
}

export function summarizeProbe(p: ProbeSeries): ProbeSummary {
  const ok = new Set(p.okStatus);
  const versions: ProbeSummary['versions'] = [];
  for (const [t, , , v] of p.samples) {
    const version = v ?? 'unknown';
    const known = versions.find((x) => x.version === version);
    if (known) {
      known.toMs = t;
      known.count++;
    } else versions.push({ version, fromMs: t, toMs: t, count: 1 });
  }
  return {
    name: p.name,
    target: p.target,
    requests: p.samples.length,
    failures: p.samples.filter(([, status]) => !ok.has(status)).length,
    longestOutageMs: longestOutage(p.samples, (st) => ok.has(st)).ms,
    versions,
  };
}

// ---- cleanup -------------------------------------------------------------------------------------

export interface CleanupInput {
  spec: ClusterSpec;
  /** Old releases kept besides the running and the previous one. */
  keep: number;
}

export const CLEANUP_STEPS = [
  { id: 'packages', title: 'Check the packages the inventory names' },
  { id: 'cleanup', title: ({ keep }) => `Old releases on each dashboard and gateway: keep the running one, the previous one and ${keep} more; remove the rest (folder, tarball, image)` },
] as const satisfies readonly StepDef<CleanupInput>[];

export type CleanupStepId = (typeof CLEANUP_STEPS)[number]['id'];

export interface CleanupResultAll {
  cluster: string;
  hosts: { host: string; component: Component; kept: string[]; removed: string[] }[];
}

export function cleanupRun(input: CleanupInput): { steps: { id: CleanupStepId; title: string }[]; run(r: Runner<CleanupStepId>): Promise<CleanupResultAll> } {
  return {
    steps: CLEANUP_STEPS.map((d) => ({ id: d.id, title: titleOf(d, input) })),
    run: async (r) => {
      const { spec } = input;
      const pkgs = await r.step('packages', (s) => s.inspectArtifacts(artifactPaths(spec)), (a) => `${a.controlPlane.fileName}, ${a.dataPlane.fileName}`);
      const items = [
        ...controlPlaneHosts(spec).map((h) => ({ ...componentStep(spec, h, 'control_plane', pkgs.controlPlane, 'auto', r.stamp), keep: input.keep })),
        ...dataPlaneHosts(spec).map((h) => ({ ...componentStep(spec, h, 'data_plane', pkgs.dataPlane, 'auto', r.stamp), keep: input.keep })),
      ];
      const hosts = await r.step('cleanup', (s) => s.cleanupReleases(items), (hs) => `${hs.reduce((n, h) => n + h.removed.length, 0)} old release(s) removed`);
      return { cluster: spec.cluster.name, hosts };
    },
  };
}
