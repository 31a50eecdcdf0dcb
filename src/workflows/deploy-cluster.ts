// deployCluster: the vendor's HA runbook as one durable workflow. Each step below is a paragraph of
// the runbook; each host's part of a step is an activity that checks before it changes, so a re-run
// or a resume after a crash redoes nothing that is already done.
import { ApplicationFailure, CancellationScope, CancelledFailure, executeChild, isCancellation, proxyActivities, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { DeployActivities } from '../activities/deploy';
import {
  batches,
  controlPlaneHosts,
  dataPlaneHosts,
  etcdMembers,
  loadBalancerHosts,
  type ClusterSpec,
  type HostSpec,
} from '../inventory/model';
import {
  apiTarget,
  artifactPaths,
  componentStep,
  endpointsOf,
  etcdMemberInput,
  imageDelivery,
  loadBalancerInput,
  packageStep,
  preflightInput,
  probeSettings,
  quorumCheckInput,
  tlsFiles,
  type Component,
  type ComponentStep,
  type EtcdMemberStep,
  type ImageDelivery,
  type PackageInfo,
} from '../plan/inputs';
import type { ComposeVariant } from '../commands/compose';
import type { MemberResult } from '../reconcile/etcd';
import type { PreflightReport, Problem } from '../reconcile/preflight';
import { clockProblemsOf, preflightTable } from './preflight-table';
import { quick, transfer, waits, withSummary } from './profiles';
import { Progress, messageOf, progressQuery } from './progress';
import { searchAttributes } from './search-attributes';
import { failoverVerification } from './failover-verification';
import { acquireClusterLock, releaseClusterLock } from './cluster-lock';
import { RUNBOOK_SCENARIOS } from '../drills/scenarios';
import type { DrillJournal } from '../drills/journal';
import { activateHost, deliverHost, rolloutDataPlaneBatch } from './rollout';
import type { ComponentRollout, DeployInput, DeployResult, FailoverResult, HostRollout } from './types';

const act = proxyActivities<DeployActivities>(quick);

/** Gateways per child workflow: bounds each history (~15 events a gateway) far below 50K at any scale. */
export const MAX_BATCH = 50;

const STEPS: [string, string][] = [
  ['packages', 'Check the packages (sha256, image IDs)'],
  ['preflight', 'Preflight: SSH, Docker, compose, kernel, ports, firewall, clocks'],
  ['delivery', 'Packages and images to every host: copy, extract, docker load (during etcd)'],
  ['etcd-bootstrap', 'etcd: data dir, image, docker run on every member'],
  ['quorum-check', 'etcd: health, status, alarms, member list'],
  ['control-plane', 'Control plane: API7-Dashboard on each node'],
  ['data-plane', 'Data plane: API7-Gateway on each node'],
  ['load-balancers', 'Load balancers in front of the control and data planes'],
  ['verification', 'Verification: a route written through the CP is served through the DP'],
  ['failover-verification', 'Failover: stop a gateway, a dashboard, an etcd member'],
];

/** Backup suffix for files this run replaces: the run's start time, the same on every retry. */
function backupStamp(): string {
  return workflowInfo().startTime.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export async function deployCluster(input: DeployInput): Promise<DeployResult> {
  const { spec, product } = input;
  const progress = new Progress('deploy', spec.cluster.name, STEPS);
  setHandler(progressQuery, () => progress.state);
  upsertSearchAttributes([
    { key: searchAttributes.cluster, value: spec.cluster.name },
    { key: searchAttributes.kind, value: 'deploy' },
  ]);
  const stamp = backupStamp();
  let lock: Awaited<ReturnType<typeof acquireClusterLock>> | undefined;
  const durations: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>, summary?: (r: T) => string): Promise<T> => {
    const t0 = Date.now();
    try {
      return await progress.run(name, fn, summary);
    } finally {
      durations[name] = Date.now() - t0;
    }
  };

  try {
    // One deploy or drill at a time per cluster (the ID deploy-<cluster> already stops a second deploy).
    lock = await acquireClusterLock(spec.cluster.name, 'deploy');

    // 1. The packages the operator received from the vendor: checksums recorded in this run;
    // 2. at the same time, preflight on all hosts at once (every problem on every host, together).
    const [artifacts, reports] = await Promise.all([
      timed('packages', () => act.inspectArtifacts.executeWithOptions(withSummary(transfer, 'worker: sha256 and image IDs of the packages'), [artifactPaths(spec)]), (a) => `${a.controlPlane.fileName}, ${a.dataPlane.fileName}`),
      timed('preflight', () => preflight(progress, input), (r) => `${r.length} hosts checked`),
    ]);
    const compose = new Map(reports.map((r) => [r.host, r.facts.compose ?? 'plugin'] as const));

    const cpSteps = controlPlaneHosts(spec).map((h) => hostSteps(spec, h, 'control_plane', artifacts.controlPlane, compose.get(h.name) ?? 'plugin', stamp));
    const dpSteps = dataPlaneHosts(spec).map((h) => hostSteps(spec, h, 'data_plane', artifacts.dataPlane, compose.get(h.name) ?? 'plugin', stamp));
    const haproxyImage = spec.packages.haproxyImage ? imageDelivery(spec, spec.packages.haproxyImage, artifacts.haproxyImage) : undefined;

    // Meanwhile (nothing running is touched): the runbook's "copy the package to every node, extract,
    // docker load" for the dashboards and gateways, and the HAProxy image, all hosts at once.
    const delivery = timed('delivery', () => deliverAll(progress, spec, cpSteps, dpSteps, haproxyImage), (d) => `${d.delivered} hosts ready${d.failed.length ? `, ${d.failed.length} failed` : ''}`);
    delivery.catch(() => undefined); // awaited below, after etcd

    // 3. etcd: the runbook's `docker run` on every member in parallel (first boot needs them all).
    const etcdImage = imageDelivery(spec, spec.packages.etcdImage, artifacts.etcdImage);
    const memberSteps = etcdMembers(spec).map((h): EtcdMemberStep => {
      const tls = tlsFiles(spec, true);
      return { target: h.ssh, secrets: spec.secrets, member: etcdMemberInput(spec, h), image: etcdImage, ...(tls ? { tlsFiles: tls } : {}) };
    });
    const members = await timed('etcd-bootstrap', () => etcdBootstrap(progress, memberSteps, stamp), (m) => summarizeMembers(m));

    // 4. Quorum: health, status (one leader, one term), alarms, member list == inventory.
    const quorum = await timed('quorum-check', () =>
      act.checkQuorum.executeWithOptions(withSummary(waits, 'etcd: quorum check'), [quorumCheckInput(spec)]),
    (q) => `leader ${q.leaderName ?? q.leader}, term ${q.term}, ${q.members.length} members healthy`);
    const delivered = await delivery;

    // 7 (early). The load balancers can start now: their health checks keep a backend out of rotation
    // until it answers, so they come up beside the dashboards and gateways instead of after them.
    const endpoints = endpointsOf(spec);
    const lbDeploy = timed('load-balancers', () => loadBalancers(progress, spec, product, haproxyImage, stamp), (r) =>
      r.length ? r.map((x) => `${x.host}: ${x.action}`).join(', ') : `external: ${endpoints.controlPlane}, ${endpoints.dataPlane}`,
    );
    lbDeploy.catch(() => undefined); // awaited below

    // 5. Control plane: conf.yaml, docker compose up api7-dashboard -d, the log line and port 9000.
    const controlPlane = await timed('control-plane', () => controlPlaneRollout(progress, cpSteps, delivered), (r) => rolloutSummary(r));

    // The probe route (Host + path -> upstream) so each gateway can prove itself healthy.
    const probe = probeSettings(spec);
    const firstDashboard = `http://${cpSteps[0]!.comp.target.address}:${product.controlPlane.port}`;
    await act.ensureProbeRoute.executeWithOptions(withSummary(waits, `control plane: write the probe route ${probe.routeId}`), [apiTarget(spec, firstDashboard), probe]);

    // 6. Data plane: the same with gateway_conf/config.yaml, in batches with a failure budget.
    const dataPlane = await timed('data-plane', () => dataPlaneRollout(progress, spec, dpSteps, delivered), (r) => rolloutSummary(r));

    // 7. Both load balancer frontends answer: the dashboards' health path and the probe route.
    const lbs = await lbDeploy;
    await act.checkLoadBalancers.executeWithOptions(withSummary(waits, 'load balancers: both frontends answer'), [
      endpoints,
      { cpHealthPath: product.controlPlane.health.path, probe: { host: probe.host, path: probe.path, expectStatus: probe.expectStatus } },
      120,
    ]);

    // 8. Verification: a fresh route through the CP load balancer, served through the DP load balancer.
    const verification = await timed('verification', () =>
      act.verifyPropagation.executeWithOptions(withSummary(waits, 'verification: CP LB -> etcd -> gateways -> DP LB -> upstream'), [
        apiTarget(spec, endpoints.controlPlane),
        endpoints,
        probe,
        workflowInfo().runId.slice(0, 8),
        spec.verification.deadlineS,
      ]),
    (v) => `served ${v.propagationMs} ms after the write`);

    const changed =
      members.some((m) => m.action !== 'unchanged') ||
      [...controlPlane.hosts, ...dataPlane.hosts].some((h) => h.uploaded || (h.imagesLoaded ?? 0) > 0 || h.configChanged || (h.action && h.action !== 'unchanged')) ||
      lbs.some((l) => l.action !== 'unchanged' || l.configChanged);

    // 9. Failover verification: the runbook's three checks, in a child workflow (its own history and UI page).
    const runFailover = input.options.failover === 'always' || (input.options.failover === 'auto' && changed);
    const failoverId = `${workflowInfo().workflowId}-failover`;
    const failover = runFailover
      ? failoverResult(
          failoverId,
          await timed('failover-verification', () =>
            executeChild(failoverVerification, {
              workflowId: failoverId,
              args: [{ spec, product, scenarios: RUNBOOK_SCENARIOS, kind: 'deploy-failover', lock: false, timing: { baselineS: 1, holdS: Math.min(3, spec.drills.holdS), afterS: 1 } }],
              staticSummary: `Failover checks of ${spec.cluster.name}: stop a gateway, a dashboard, an etcd member`,
            }),
          (f) => f.scenarios.map((s) => `${s.id} (${s.victim?.host ?? '-'}): ${s.status}`).join(', ')),
        )
      : (progress.skip('failover-verification', input.options.failover === 'never' ? 'disabled (--failover never)' : 'nothing changed since the last verified deploy'), undefined);
    if (failover && !failover.passed)
      throw ApplicationFailure.nonRetryable(`failover verification failed: ${failover.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`).join('; ')}`, 'FailoverFailed');

    const result: DeployResult = {
      cluster: spec.cluster.name,
      product: spec.product,
      endpoints,
      packages: {
        controlPlane: { fileName: artifacts.controlPlane.fileName, sha256: artifacts.controlPlane.sha256 },
        dataPlane: { fileName: artifacts.dataPlane.fileName, sha256: artifacts.dataPlane.sha256 },
        ...(artifacts.etcdImage ? { etcdImage: artifacts.etcdImage } : {}),
        ...(artifacts.haproxyImage ? { haproxyImage: artifacts.haproxyImage } : {}),
      },
      preflight: { problems: reports.flatMap((r) => r.problems), hosts: reports.map((r) => ({ host: r.host, facts: r.facts })) },
      etcd: { members, quorum },
      controlPlane,
      dataPlane,
      loadBalancers: lbs,
      verification,
      ...(failover ? { failover } : {}),
      changed,
      durationsMs: durations,
    };
    upsertMemo({ endpoints, changed });
    progress.finish('done');
    return result;
  } catch (e) {
    progress.finish('failed', e);
    // Cancelled while a child or an activity ran: end as CANCELLED (after the child rolled back its faults).
    if (isCancellation(e) && !(e instanceof CancelledFailure)) throw new CancelledFailure(`deploy cancelled (${messageOf(e)})`);
    throw e;
  } finally {
    const held = lock;
    if (held) await CancellationScope.nonCancellable(() => releaseClusterLock(held));
  }
}

/** The runbook's checks as the deploy reports them; the child's journal has the full measurements. */
function failoverResult(workflowId: string, j: DrillJournal): FailoverResult {
  return {
    passed: j.verdict === 'passed',
    score: j.score,
    workflowId,
    checks: j.scenarios.map((s) => ({
      name: s.id,
      ...(s.victim ? { victim: s.victim.host } : {}),
      passed: s.status === 'passed' || s.status === 'refused',
      detail:
        s.status === 'refused'
          ? `skipped: ${s.error ?? ''}`
          : s.error ?? s.hypotheses.map((h) => `${h.ok ? 'ok' : 'FAILED'}: ${h.text} (${h.observed})`).join('; '),
      restored: s.actions.some((a) => a.kind === 'rollback' && a.ok) || s.status === 'refused',
      ...(s.metrics.probes.dp ? { dpOutageMs: s.metrics.probes.dp.longestOutageMs } : {}),
      ...(s.metrics.probes.cp ? { cpOutageMs: s.metrics.probes.cp.longestOutageMs } : {}),
      ...(s.metrics.recoverMs !== undefined ? { recoveryMs: s.metrics.recoverMs } : {}),
    })),
  };
}

// ---- steps --------------------------------------------------------------------------------------

async function preflight(progress: Progress, input: DeployInput): Promise<PreflightReport[]> {
  const { spec, product } = input;
  // Every host at once, in activities of up to MAX_BATCH hosts (history stays bounded at 1,000 hosts).
  const reports = (
    await Promise.all(
      batches(spec.hosts, MAX_BATCH).map((group) =>
        act.preflightHosts.executeWithOptions(withSummary(quick, `preflight: ${hostRange(group)}`), [group.map((h) => preflightInput(spec, h, product, input.options.fixFirewall))]),
      ),
    )
  ).flat();
  for (const r of reports) {
    const blocking = r.problems.filter((p) => p.severity === 'block').length;
    progress.step('preflight').hosts[r.host] = { status: blocking ? 'failed' : 'done', detail: `${blocking} blocking, ${r.problems.filter((p) => p.severity === 'warn').length} warnings` };
  }
  const problems: Problem[] = [...reports.flatMap((r) => r.problems), ...clockProblemsOf(reports)];
  if (problems.some((p) => p.severity === 'block'))
    throw ApplicationFailure.nonRetryable(`preflight found problems that block the deploy:\n${preflightTable(problems)}`, 'PreflightFailed', problems);
  return reports.map((r) => ({ ...r, problems: r.problems.filter((p) => p.severity !== 'info') }));
}

async function etcdBootstrap(progress: Progress, steps: EtcdMemberStep[], stamp: string): Promise<MemberResult[]> {
  const first = await Promise.all(
    steps.map((s) =>
      progress.host('etcd-bootstrap', s.target.host, () =>
        act.ensureEtcdMember.executeWithOptions(withSummary(transfer, `${s.target.host}: etcd member ${s.member.member.name}`), [s, stamp]),
      (r) => r.action),
    ),
  );
  // Members whose configuration changed: one at a time, each rejoining with its data dir, each
  // followed by a quorum check before the next (etcd runtime reconfiguration: one member at a time).
  const results = [...first];
  for (const [i, r] of first.entries()) {
    if (r.action !== 'needs-recreate') continue;
    const s = steps[i]!;
    // The recreation below ignores a cancel, so a cancel must stop the loop before the next member.
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('deploy cancelled between etcd member recreations');
    progress.hostNote('etcd-bootstrap', s.target.host, `recreating (${r.reason})`);
    // Not cancellable: a cancel waits for this member to be back (new or old). Half a recreation
    // (old container parked, new one not yet started) would leave the cluster a member short.
    results[i] = await CancellationScope.nonCancellable(() =>
      act.recreateEtcdMember.executeWithOptions(withSummary(waits, `${s.target.host}: recreate etcd member ${s.member.member.name} (existing cluster)`), [s, stamp]),
    );
    progress.hostNote('etcd-bootstrap', s.target.host, 'recreated');
  }
  return results;
}

interface HostSteps {
  pkg: ReturnType<typeof packageStep>;
  comp: ComponentStep;
}

function hostSteps(spec: ClusterSpec, h: HostSpec, component: Component, pkg: PackageInfo, compose: ComposeVariant, stamp: string): HostSteps {
  return { pkg: packageStep(spec, h, component, pkg), comp: componentStep(spec, h, component, pkg, compose, stamp) };
}

interface Delivered {
  delivered: number;
  /** Hosts whose package or image did not arrive: not activated, counted as failed. */
  failed: HostRollout[];
  byHost: Map<string, HostRollout>;
}

/** Deliver every package and image at once: parent activities for the few dashboards and load
 *  balancers, child workflows of up to MAX_BATCH for the gateways (history stays bounded). */
async function deliverAll(progress: Progress, spec: ClusterSpec, cp: HostSteps[], dp: HostSteps[], haproxyImage: ImageDelivery | undefined): Promise<Delivered> {
  const parentId = workflowInfo().workflowId;
  const groups = batches(dp, MAX_BATCH);
  const note = (r: HostRollout) => {
    progress.step('delivery').hosts[r.host] = { status: r.ok ? 'done' : 'failed', detail: r.ok ? describeHost(r) : (r.error ?? 'failed') };
    return r;
  };
  const [cpResults, dpResults] = await Promise.all([
    Promise.all(cp.map((s) => deliverHost(s.pkg).then(note))),
    Promise.all(
      groups.map((group, i) =>
        executeChild(rolloutDataPlaneBatch, {
          workflowId: `${parentId}-dp-deliver-${i + 1}`,
          args: [{ batch: i + 1, of: groups.length, phase: 'deliver', hosts: group }],
          staticSummary: `Deliver the gateway package, batch ${i + 1}/${groups.length}: ${hostRange(group.map((s) => s.comp.target))}`,
        }).then((rs) => rs.map(note)),
      ),
    ).then((x) => x.flat()),
    spec.loadBalancer.mode === 'managed' && haproxyImage
      ? Promise.all(
          loadBalancerHosts(spec).map((h) =>
            act.deliverImage.executeWithOptions(withSummary(transfer, `${h.name}: deliver the HAProxy image`), [{ target: h.ssh, secrets: spec.secrets, image: haproxyImage }]),
          ),
        )
      : Promise.resolve([]),
  ]);
  const all = [...cpResults, ...dpResults];
  return { delivered: all.filter((r) => r.ok).length, failed: all.filter((r) => !r.ok), byHost: new Map(all.map((r) => [r.host, r])) };
}

const merge = (delivered: Delivered, r: HostRollout): HostRollout => ({ ...delivered.byHost.get(r.host), ...r, ms: (delivered.byHost.get(r.host)?.ms ?? 0) + (r.ms ?? 0) });

/** First install: every dashboard at once. A running control plane: one host at a time. */
async function controlPlaneRollout(progress: Progress, steps: HostSteps[], delivered: Delivered): Promise<ComponentRollout> {
  const failedDelivery = steps.map((s) => delivered.byHost.get(s.comp.target.host)).find((r) => r && !r.ok);
  if (failedDelivery) throw ApplicationFailure.nonRetryable(`the control plane package did not reach ${failedDelivery.host}: ${failedDelivery.error}`, 'DeliveryFailed');
  const rolling = await anyRunning(steps, 'dashboard');
  const activate = (s: HostSteps) => progress.host('control-plane', s.comp.target.host, () => activateHost(s.comp), describeHost).then((r) => merge(delivered, r));
  const hosts: HostRollout[] = [];
  if (rolling) for (const s of steps) hosts.push(await activate(s));
  else hosts.push(...(await Promise.all(steps.map(activate))));
  return { mode: rolling ? 'rolling' : 'parallel', hosts, failures: 0 };
}

/**
 * First install: all gateways at once (in child workflows of at most MAX_BATCH hosts). A running data
 * plane: batches of data_plane.batch_size, one after another, stopping once failures exceed the budget.
 * A gateway whose package did not arrive is not activated and counts against the budget.
 */
async function dataPlaneRollout(progress: Progress, spec: ClusterSpec, all: HostSteps[], delivered: Delivered): Promise<ComponentRollout> {
  const undelivered = all.map((s) => delivered.byHost.get(s.comp.target.host)).filter((r): r is HostRollout => !!r && !r.ok);
  const steps = all.filter((s) => delivered.byHost.get(s.comp.target.host)?.ok !== false);
  const rolling = await anyRunning(steps, 'gateway');
  const budget = spec.dataPlane.failureBudget;
  const size = rolling ? Math.min(spec.dataPlane.batchSize, MAX_BATCH) : MAX_BATCH;
  const groups = batches(steps, size);
  const parentId = workflowInfo().workflowId;
  const runBatch = (group: HostSteps[], i: number) => {
    for (const s of group) progress.hostNote('data-plane', s.comp.target.host, `batch ${i + 1}/${groups.length}`);
    return executeChild(rolloutDataPlaneBatch, {
      workflowId: `${parentId}-dp-batch-${i + 1}`,
      args: [{ batch: i + 1, of: groups.length, phase: 'activate', hosts: group }],
      staticSummary: `Data plane batch ${i + 1}/${groups.length}: ${hostRange(group.map((s) => s.comp.target))}`,
    });
  };
  const hosts: HostRollout[] = [...undelivered];
  const record = (rs: HostRollout[]) => {
    for (const r0 of rs) {
      const r = merge(delivered, r0);
      hosts.push(r);
      const h = progress.step('data-plane').hosts[r.host] ?? { status: 'pending' as const };
      h.status = r.ok ? 'done' : 'failed';
      h.detail = r.ok ? describeHost(r) : r.error;
      progress.step('data-plane').hosts[r.host] = h;
    }
  };
  if (undelivered.length <= budget) {
    if (!rolling) {
      (await Promise.all(groups.map(runBatch))).forEach(record);
    } else {
      for (const [i, g] of groups.entries()) {
        record(await runBatch(g, i));
        if (hosts.filter((h) => !h.ok).length > budget) break;
      }
    }
  }
  const failures = hosts.filter((h) => !h.ok);
  if (failures.length > budget)
    throw ApplicationFailure.nonRetryable(
      `${failures.length} gateway(s) failed, above the failure budget of ${budget}: ${failures.map((f) => `${f.host}: ${f.error}`).join('; ')}` +
        (hosts.length < all.length ? ` (stopped before ${all.length - hosts.length} more)` : ''),
      'FailureBudgetExceeded',
    );
  return { mode: rolling ? 'rolling' : 'parallel', hosts, failures: failures.length };
}

/** The managed HAProxy pair of frontends on every load_balancer host (or nothing: external). */
async function loadBalancers(progress: Progress, spec: ClusterSpec, product: DeployInput['product'], image: ImageDelivery | undefined, stamp: string) {
  if (spec.loadBalancer.mode !== 'managed' || !image) return [];
  return Promise.all(
    loadBalancerHosts(spec).map((h) =>
      progress.host('load-balancers', h.name, () =>
        act.ensureLoadBalancer.executeWithOptions(withSummary(quick, `${h.name}: HAProxy for the control and data planes`), [loadBalancerInput(spec, h, image, product, stamp)]),
      (r) => r.action),
    ),
  );
}

/** Is the component already running anywhere? (A first install rolls out in parallel.) */
async function anyRunning(steps: HostSteps[], what: string): Promise<boolean> {
  const answers = await Promise.all(
    batches(steps, MAX_BATCH).map((group) => act.componentsRunning.executeWithOptions(withSummary(quick, `is the ${what} running on ${hostRange(group.map((s) => s.comp.target))}?`), [group.map((s) => s.comp)])),
  );
  return answers.flat().some(Boolean);
}

const hostRange = (hosts: { name?: string; host?: string }[]) => {
  const names = hosts.map((h) => h.name ?? h.host ?? '?');
  return names.length <= 3 ? names.join(', ') : `${names[0]} … ${names[names.length - 1]} (${names.length} hosts)`;
};

// ---- helpers ------------------------------------------------------------------------------------

function summarizeMembers(m: MemberResult[]): string {
  const counts = new Map<string, number>();
  for (const r of m) counts.set(r.action, (counts.get(r.action) ?? 0) + 1);
  return [...counts].map(([a, n]) => `${n} ${a}`).join(', ');
}

function describeHost(r: HostRollout): string {
  if (!r.ok) return r.error ?? 'failed';
  const parts = [r.uploaded ? 'uploaded' : 'package present', r.imagesLoaded ? `${r.imagesLoaded} image(s) loaded` : 'images present', r.configChanged ? 'config changed' : 'config unchanged', r.action ?? ''];
  return parts.filter(Boolean).join(', ');
}

function rolloutSummary(r: ComponentRollout): string {
  return `${r.mode}: ${r.hosts.filter((h) => h.ok).length}/${r.hosts.length} healthy${r.failures ? `, ${r.failures} failed` : ''}`;
}
