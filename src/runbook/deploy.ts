// The vendor's high-availability runbook (API7 EE 2.13), written once. Each step is a paragraph of the
// runbook; each host's part of a step is an operation that checks before it changes, so a re-run or
// a resume after a crash redoes nothing that is already done. deployCluster runs it on Temporal,
// `deploy --plan` with read-only probes, the bench without Temporal: same order, same parallelism.
import { RUNBOOK_SCENARIOS, SCENARIOS } from '../drills/scenarios';
import { batches } from '../inventory/model';
import type { MemberResult } from '../reconcile/etcd';
import type { PreflightReport, Problem } from '../reconcile/preflight';
import { deployInputs, type DeployHosts, type DeployInputs, type EtcdMemberStep, type RolloutItem } from '../steps/inputs';
import {
  changedAnything,
  delivered,
  deliverySummary,
  deployResult,
  failoverChoice,
  failoverFailure,
  failoverResult,
  failoverSkipped,
  journalSummary,
  loadBalancersSummary,
  membersSummary,
  merge,
  packagesSummary,
  quorumSummary,
  rolloutSummary,
  type Delivered,
  type FailoverChoice,
} from './deploy-result';
import { membershipInput, snapshotPlan, type MembershipInput, type SnapshotPlan } from '../steps/etcd-inputs';
import { snapshotAndCopy } from './backup';
import { clockProblemsOf, preflightTable } from './problems';
import { membershipLine, membershipRefusal, replaceMembership } from './replace-member';
import { activate, deliver } from './rollout';
import { childId, titleOf, type Fragment, type HostOutcome, type Runner, type Step, type StepDef } from './runner';
import type { ComponentRollout, DeployInput, DeployResult, FailoverResult, HostRollout } from './types';

/** Gateways per child run: bounds each history (~15 events a gateway) far below 50K at any scale. */
export const MAX_BATCH = 50;

export const DEPLOY_STEPS = [
  { id: 'packages', title: 'Check the packages (sha256, image IDs)' },
  { id: 'preflight', title: 'Preflight: SSH, Docker, compose, kernel, ports, firewall, clocks' },
  { id: 'delivery', title: 'Packages and images to every host: copy, extract, docker load (during etcd)' },
  { id: 'etcd-bootstrap', title: 'etcd: data dir, image, docker run on every member' },
  { id: 'quorum-check', title: 'etcd: health, status, alarms, member list' },
  { id: 'control-plane', title: 'Control plane: API7-Dashboard on each node' },
  {
    id: 'data-plane',
    title: ({ dataPlane }) => `Data plane: API7-Gateway on each node (batches of ${dataPlane.batchSize} when changing a running estate, failure budget ${dataPlane.failureBudget})`,
  },
  {
    id: 'load-balancers',
    title: ({ managedLoadBalancers }) => (managedLoadBalancers ? 'Load balancers: managed HAProxy in front of the dashboards and gateways' : 'External load balancers'),
    plan: ({ managedLoadBalancers, endpoints: e }) => (managedLoadBalancers ? [`control plane: ${e.controlPlane}`, `data plane: ${e.dataPlane}`] : [`would check ${e.controlPlane} and ${e.dataPlane}`]),
  },
  {
    id: 'verification',
    title: 'Verification: both load balancers answer; a route written through the CP is served through the DP',
    plan: ({ endpoints: e }) => [`would write a verification route through ${e.controlPlane}, wait for it at ${e.dataPlane}, then delete it`],
  },
  {
    id: 'failover-verification',
    title: 'Failover: stop a gateway, a dashboard, an etcd member',
    plan: () => [`would run the runbook's checks (${RUNBOOK_SCENARIOS.map((id) => SCENARIOS[id].title.toLowerCase()).join('; ')}), each restored after, probing the load balancers meanwhile`],
  },
] as const satisfies readonly StepDef<DeployInputs>[];

export type DeployStepId = (typeof DEPLOY_STEPS)[number]['id'];

/** A deploy ready to run: its steps as the watch tree and the plan show them, and the run itself. */
export interface DeployRun {
  steps: { id: DeployStepId; title: string; plan: string[] }[];
  run(r: Runner<DeployStepId>): Promise<DeployResult>;
}

/** The only place a deploy reads the inventory: every step's input is derived here, once. */
export function deployRun(input: DeployInput): DeployRun {
  const inputs = deployInputs(input.spec, input.product, input.options.fixFirewall);
  const failover = failoverChoice(input);
  return {
    steps: DEPLOY_STEPS.map((d) => ({ id: d.id, title: titleOf(d, inputs), plan: 'plan' in d ? d.plan(inputs) : [] })),
    run: (r) => deploy(r, inputs, { membership: membershipInput(input.spec), snapshot: snapshotPlan(input.spec) }, failover),
  };
}

async function deploy(r: Runner<DeployStepId>, inputs: DeployInputs, etcd: EtcdChangeInputs, failover: FailoverChoice): Promise<DeployResult> {
  // 1. The packages the operator received from the vendor: checksums recorded in this run;
  // 2. at the same time, preflight on every host at once (every problem on every host, together).
  const [artifacts, preflight] = await Promise.all([
    r.step('packages', (s) => s.inspectArtifacts(inputs.artifacts), packagesSummary),
    r.step('preflight', (s) => preflightAll(r, s, inputs), (p) => `${p.reports.length} hosts checked`),
  ]);
  const compose = new Map(preflight.reports.map((h) => [h.host, h.facts.compose ?? 'plugin'] as const));
  const hosts = inputs.hosts(artifacts, (h) => compose.get(h) ?? 'plugin', r.stamp);

  // Meanwhile (nothing running is touched): the runbook's "copy the package to every node, extract,
  // docker load" for the dashboards and gateways, and the HAProxy image, all hosts at once.
  const delivery = r.step('delivery', (s) => deliverAll(s, hosts), deliverySummary);
  delivery.catch(() => undefined); // awaited after etcd

  // 3. etcd: the runbook's `docker run` on every member at once (a first boot needs them all).
  let etcdChange: EtcdChange = {};
  const members = await r.step(
    'etcd-bootstrap',
    async (s) => {
      const b = await etcdBootstrap(r, s, etcd, hosts.members);
      etcdChange = b.change;
      return b.members;
    },
    membersSummary,
  );

  // 4. Quorum: health, status (one leader, one term), alarms, member list equal to the inventory.
  const quorum = await r.step('quorum-check', (s) => s.checkQuorum(inputs.quorum), quorumSummary);
  const packages = await delivery;

  // 7 (early). The load balancers can start now: their health checks keep a backend out of rotation
  // until it answers, so they come up beside the dashboards and gateways instead of after them.
  const lbs = r.step('load-balancers', (s) => Promise.all(hosts.loadBalancers.map((lb) => s.ensureLoadBalancer(lb))), loadBalancersSummary(inputs.endpoints));
  lbs.catch(() => undefined); // awaited after the data plane

  // 5. Control plane: conf.yaml, docker compose up api7-dashboard -d, the log line and port 9000.
  const controlPlane = await r.step('control-plane', (s) => controlPlaneRollout(r, s, hosts.controlPlane, packages), rolloutSummary);

  // 6. Data plane: the probe route, then gateway_conf/config.yaml and docker compose up -d, in
  //    batches with a failure budget.
  const dataPlane = await r.step('data-plane', (s) => dataPlaneRollout(r, s, inputs, hosts.dataPlane, packages), rolloutSummary);
  const loadBalancers = await lbs;

  // 8. Verification: both load balancer frontends answer; a fresh route written through the CP load
  //    balancer is served through the DP load balancer.
  const verification = await r.step('verification', (s) => verify(s, inputs, r.runId.slice(0, 8)), (v) => `served ${v.propagationMs} ms after the write`);

  // 9. Failover verification: the runbook's three checks, in a child run (its own history and UI page).
  const changed = changedAnything(members, controlPlane, dataPlane, loadBalancers) || !!etcdChange.membership;
  const checks = await failoverChecks(r, inputs, failover, changed);

  return deployResult({ inputs, artifacts, preflight, members, etcdChange, quorum, controlPlane, dataPlane, loadBalancers, verification, ...(checks ? { failover: checks } : {}), changed, durationsMs: r.durations() });
}

// ---- the steps -----------------------------------------------------------------------------------

async function preflightAll(r: Runner<DeployStepId>, s: Step, inputs: DeployInputs): Promise<{ reports: PreflightReport[]; problems: Problem[] }> {
  // Every host at once, in calls of up to MAX_BATCH hosts (history stays bounded at 1,000 hosts).
  const reports = (await Promise.all(batches(inputs.preflight, MAX_BATCH).map((group) => s.preflightHosts(group)))).flat();
  const problems = [...reports.flatMap((h) => h.problems), ...clockProblemsOf(reports)];
  if (problems.some((p) => p.severity === 'block')) r.block(`preflight found problems that block the deploy:\n${preflightTable(problems)}`, 'PreflightFailed', problems);
  return { reports, problems };
}

/** Every package and image at once: the few dashboards and load balancers here, gateways in child runs. */
async function deliverAll(s: Step, hosts: DeployHosts): Promise<Delivered> {
  const [cp, dp] = await Promise.all([
    Promise.all(hosts.controlPlane.map((h) => deliver.run(s, h))),
    inChildRuns(s, deliver, hosts.dataPlane, 'dp-deliver'),
    Promise.all(hosts.loadBalancerImages.map((lb) => s.deliverImage(lb))),
  ]);
  return delivered([...cp, ...dp]);
}

/** What a change to a running cluster's membership needs (the replace-member runbook's inputs). */
interface EtcdChangeInputs {
  membership: MembershipInput;
  snapshot: SnapshotPlan;
}

type EtcdChange = Pick<DeployResult['etcd'], 'membership' | 'snapshotBefore'>;

async function etcdBootstrap(r: Runner<DeployStepId>, s: Step, etcd: EtcdChangeInputs, members: EtcdMemberStep[]): Promise<{ members: MemberResult[]; change: EtcdChange }> {
  const change: EtcdChange = {};
  const snapshotBefore = async (reason: 'before-replace' | 'before-recreate') => {
    change.snapshotBefore = (await snapshotAndCopy(s, etcd.snapshot, { stamp: r.stamp, workflowId: r.id, reason })).record.fileName;
  };
  // A running cluster whose member list the inventory changed (a lost host replaced by a new one):
  // the replace-member path (snapshot, member remove, member add, the new member started as
  // existing), never a fresh bootstrap of the new host. A first deploy finds no cluster.
  if (r.patched('etcd-membership-change')) {
    const live = await s.etcdMembershipPlan(etcd.membership);
    if (live.exists && (live.change.remove || live.change.add || live.pendingStart)) {
      const why = membershipRefusal(live);
      if (why) r.block(`etcd: the inventory changes the member list (${membershipLine(live)}), ${why}`, 'MembershipRefused');
      await snapshotBefore('before-replace');
      const byHost = new Map(members.map((m) => [m.target.host, m] as const));
      // Not cancellable: a member removed and its replacement never added would leave two members.
      const m = await r.critical(() => replaceMembership(s, etcd.membership, (h) => byHost.get(h)!, live, r.stamp));
      change.membership = { ...(m.removed ? { removed: m.removed.name } : {}), ...(m.added ? { added: m.added.host } : {}) };
    }
  }
  const results = await Promise.all(members.map((m) => s.ensureEtcdMember(m, r.stamp)));
  // kubespray's rule: a snapshot before any member of a running cluster is recreated.
  if (!change.snapshotBefore && results.some((m) => m.action === 'needs-recreate') && r.patched('etcd-snapshot-before-recreate')) await snapshotBefore('before-recreate');
  // Members whose configuration changed: one at a time, each rejoining with its data dir and healthy
  // before the next (etcd runtime reconfiguration: one member at a time).
  for (const [i, m] of results.entries()) {
    if (m.action !== 'needs-recreate') continue;
    // The recreation ignores a cancel, so a cancel must stop the loop before the next member.
    r.stopIfCancelled('deploy cancelled between etcd member recreations');
    // Not cancellable: a cancel waits for this member to be back (new or old). Half a recreation
    // (old container parked, new one not yet started) would leave the cluster a member short.
    results[i] = await r.critical(() => s.recreateEtcdMember(members[i]!, r.stamp));
  }
  return { members: results, change };
}

/** First install: every dashboard at once. A running control plane: one host at a time. */
async function controlPlaneRollout(r: Runner<DeployStepId>, s: Step, items: RolloutItem[], packages: Delivered): Promise<ComponentRollout> {
  const failed = items.map((i) => packages.byHost.get(i.comp.target.host)).find((h) => h && !h.ok);
  if (failed) r.block(`the control plane package did not reach ${failed.host}: ${failed.error}`, 'DeliveryFailed');
  const rolling = await anyRunning(s, items);
  const one = (i: RolloutItem) => activate.run(s, i).then((h) => merge(packages, h));
  const hosts = rolling ? await oneAtATime(items, one) : await Promise.all(items.map(one));
  return { mode: rolling ? 'rolling' : 'parallel', hosts, failures: 0 };
}

/**
 * First install: all gateways at once (in child runs of at most MAX_BATCH hosts). A running data
 * plane: batches of data_plane.batch_size, one after another, stopping once failures exceed the budget.
 * A gateway whose package did not arrive is not activated and counts against the budget.
 */
async function dataPlaneRollout(r: Runner<DeployStepId>, s: Step, inputs: DeployInputs, all: RolloutItem[], packages: Delivered): Promise<ComponentRollout> {
  // The probe route (Host + path -> upstream) through a dashboard, so each gateway can prove itself healthy.
  await s.ensureProbeRoute(inputs.firstDashboard, inputs.probe);
  const undelivered = packages.failed.filter((h) => all.some((i) => i.comp.target.host === h.host));
  const items = all.filter((i) => packages.byHost.get(i.comp.target.host)?.ok !== false);
  const rolling = await anyRunning(s, items);
  const budget = inputs.dataPlane.failureBudget;
  const groups = batches(items, rolling ? Math.min(inputs.dataPlane.batchSize, MAX_BATCH) : MAX_BATCH);
  const runGroup = (group: RolloutItem[], index: number) =>
    s.batch(activate, group, { id: 'dp-batch', index, of: groups.length, what: 'gateways' }).then((rs) => rs.map((h) => merge(packages, h)));
  const hosts: HostRollout[] = [...undelivered];
  const failures = () => hosts.filter((h) => !h.ok);
  if (undelivered.length <= budget) {
    if (!rolling) hosts.push(...(await Promise.all(groups.map(runGroup))).flat());
    else
      for (const [i, group] of groups.entries()) {
        hosts.push(...(await runGroup(group, i)));
        if (failures().length > budget) break;
      }
  }
  if (failures().length > budget)
    r.block(
      `${failures().length} gateway(s) failed, above the failure budget of ${budget}: ${failures().map((f) => `${f.host}: ${f.error}`).join('; ')}` +
        (hosts.length < all.length ? ` (stopped before ${all.length - hosts.length} more)` : ''),
      'FailureBudgetExceeded',
    );
  return { mode: rolling ? 'rolling' : 'parallel', hosts, failures: failures().length };
}

async function verify(s: Step, inputs: DeployInputs, nonce: string) {
  await s.checkLoadBalancers(inputs.endpoints, inputs.loadBalancerChecks, 120);
  return s.verifyPropagation(inputs.controlPlane, inputs.endpoints, inputs.probe, nonce, inputs.verificationDeadlineS);
}

/** The runbook's three checks, as the drill engine runs them, when the deploy changed anything. */
async function failoverChecks(r: Runner<DeployStepId>, inputs: DeployInputs, failover: FailoverChoice, changed: boolean): Promise<FailoverResult | undefined> {
  const skipped = failoverSkipped(failover, changed);
  if (skipped) {
    r.skip('failover-verification', skipped);
    return undefined;
  }
  const summary = `Failover checks of ${inputs.cluster}: stop a gateway, a dashboard, an etcd member`;
  const journal = await r.step('failover-verification', (s) => s.child('drill', failover.drill, { id: 'failover', summary }), journalSummary);
  if (!journal) return undefined; // a plan does not run them
  const result = failoverResult(childId(r.id, 'failover'), journal);
  if (!result.passed) r.block(failoverFailure(result), 'FailoverFailed');
  return result;
}

// ---- helpers -------------------------------------------------------------------------------------

/** Is the component already running anywhere? (A first install rolls out in parallel.) */
async function anyRunning(s: Step, items: RolloutItem[]): Promise<boolean> {
  const answers = await Promise.all(batches(items, MAX_BATCH).map((group) => s.componentsRunning(group.map((i) => i.comp))));
  return answers.flat().some(Boolean);
}

async function oneAtATime<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

/** A fragment for many hosts in child runs of at most MAX_BATCH, all at once. */
async function inChildRuns<I, R extends HostOutcome>(s: Step, fragment: Fragment<I, R>, items: I[], id: string): Promise<R[]> {
  const groups = batches(items, MAX_BATCH);
  return (await Promise.all(groups.map((group, index) => s.batch(fragment, group, { id, index, of: groups.length, what: 'gateways' })))).flat();
}
