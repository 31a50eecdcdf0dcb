// `api7-ha upgrade -i INV [--plan] [--wait] [--json] [--canary N] [--health-deadline S] [--drain-timeout S]`
// and `api7-ha rollback -i INV ...`: validate, then print the plan (per host old -> new, the order, the
// batches; read-only probes only) or start the upgradeCluster workflow.
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { inspectArtifacts } from '../artifacts/inspect';
import { createClient, workflowUrl } from '../client';
import { upgradeWorkflowId } from '../contracts';
import { controlPlaneHosts, dataPlaneHosts, type ClusterSpec, type HostSpec } from '../inventory/model';
import { factsOf, productProfile } from '../products';
import { readRelease, type HostRelease } from '../reconcile/release';
import { HostExecutor } from '../remote/executor';
import { SshPool } from '../remote/ssh';
import { messageOf } from '../runbook/runner';
import { DEFAULT_UPGRADE_OPTIONS, upgradeOrder, type CleanupResultAll, type Direction, type SwapItem, type UpgradeInput, type UpgradeOptions, type UpgradeOrder, type UpgradeResult } from '../runbook/upgrade';
import { artifactPaths, componentStep, type Component, type PackageInfo } from '../steps/inputs';
import { cleanupCluster, upgradeCluster } from '../workflows/upgrade-cluster';
import { searchAttributes } from '../workflows/search-attributes';
import { InputError, RunError, print, readInventory, refuseIfBusy, settingsFrom } from './common';
import { follow } from './follow';

export interface UpgradeFlags {
  inventory?: string;
  plan?: boolean;
  wait?: boolean;
  json?: boolean;
  canary?: string;
  healthDeadline?: string;
  drainTimeout?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

function intFlag(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,6}$/.test(value) || Number(value) < min || Number(value) > max) throw new InputError(`--${name} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`);
  return Number(value);
}

export function upgradeOptions(flags: UpgradeFlags): UpgradeOptions {
  const d = DEFAULT_UPGRADE_OPTIONS;
  return {
    ...d,
    canary: intFlag('canary', flags.canary, d.canary, 0, 1000),
    healthDeadlineS: intFlag('health-deadline', flags.healthDeadline, d.healthDeadlineS, 5, 3600),
    drainTimeoutS: intFlag('drain-timeout', flags.drainTimeout, d.drainTimeoutS, 1, 3600),
  };
}

/** What runs where now, read-only (the plan's probe). */
async function currentReleases(input: UpgradeInput, pkgs: { controlPlane: PackageInfo; dataPlane: PackageInfo }, pool: SshPool): Promise<HostRelease[]> {
  const read = (c: Component, hosts: HostSpec[], pkg: PackageInfo) =>
    hosts.map((h) => readRelease({ exec: new HostExecutor(h.ssh, pool, 'plan', input.spec.secrets), heartbeat: () => undefined, log: () => undefined }, componentStep(input.spec, h, c, pkg, 'auto', '')));
  return Promise.all([...read('control_plane', controlPlaneHosts(input.spec), pkgs.controlPlane), ...read('data_plane', dataPlaneHosts(input.spec), pkgs.dataPlane)]);
}

export function renderUpgradePlan(direction: Direction, order: UpgradeOrder): string {
  const line = (i: SwapItem) => `    ${i.host.padEnd(12)} ${(i.from?.version ?? 'not running').padEnd(22)} -> ${i.toVersion}`;
  const out = [`${direction === 'upgrade' ? 'Upgrade' : 'Rollback'} plan (each host drained in HAProxy first, health-checked, back in rotation):`];
  out.push('  1. etcd snapshot save');
  let n = 2;
  if (order.canary.length) {
    out.push(`  ${n++}. canary (gateways):`, ...order.canary.map(line), `  ${n++}. canary drill: dp-node-loss (canary as victim), etcd-member-loss (canary as survivor)`);
  }
  order.dataPlane.forEach((b, k) => out.push(`  ${n++}. gateways, batch ${k + 1}/${order.dataPlane.length}:`, ...b.map(line)));
  order.controlPlane.forEach((i) => out.push(`  ${n++}. dashboard:`, line(i)));
  out.push(`  ${n}. verification through both load balancers`);
  if (order.unchanged.length) out.push('Unchanged:', ...order.unchanged.map((u) => `    ${u.host.padEnd(12)} ${u.version ?? 'not running'}`));
  if (order.refusals.length) out.push('REFUSED:', ...order.refusals.map((r) => `    ${r}`));
  return out.join('\n');
}

export function renderUpgradeResult(r: UpgradeResult): string {
  const out = [`${r.direction} of ${r.cluster}: done`];
  if (r.snapshot) out.push(`  etcd snapshot: ${r.snapshot.path} on ${r.snapshot.host} (revision ${r.snapshot.revision ?? '?'}, ${r.snapshot.totalKeys ?? '?'} keys)`);
  for (const h of r.hosts) out.push(`  ${h.host.padEnd(12)} ${(h.from ?? '-').padEnd(22)} -> ${h.to.padEnd(22)} ${h.ok ? `ok in ${h.ms} ms (drain ${h.drainMs} ms, back in rotation ${h.readyMs} ms)` : `FAILED ${h.check}: ${h.error}`}`);
  if (r.canaryDrill) out.push(`  canary drill: ${r.canaryDrill.verdict} in ${Math.round(r.canaryDrill.ms / 1000)} s (${r.canaryDrill.workflowId})`);
  for (const p of r.probes)
    out.push(`  probes ${p.name}: ${p.requests} requests, ${p.failures} failed, longest outage ${p.longestOutageMs} ms; served by ${p.versions.map((v) => `${v.version} x${v.count} (${(v.fromMs / 1000).toFixed(1)}-${(v.toMs / 1000).toFixed(1)} s)`).join(', ')}`);
  return out.join('\n');
}

export async function upgradeCommand(direction: Direction, flags: UpgradeFlags): Promise<number> {
  const options = upgradeOptions(flags);
  const { spec } = readInventory(flags.inventory);
  const input: UpgradeInput = { spec, product: factsOf(productProfile(spec.product)), direction, options };

  if (flags.plan) {
    const pkgs = await inspectArtifacts(artifactPaths(spec));
    const pool = new SshPool({ recordNewHostKeys: false });
    try {
      const order = upgradeOrder(input, pkgs, await currentReleases(input, pkgs, pool), 'plan');
      print(!!flags.json, { direction, canary: order.canary.map(brief), dataPlane: order.dataPlane.map((b) => b.map(brief)), controlPlane: order.controlPlane.map(brief), unchanged: order.unchanged, refusals: order.refusals }, () => renderUpgradePlan(direction, order));
      return order.refusals.length ? 1 : 0;
    } finally {
      await pool.closeAll();
    }
  }

  return startAndFollow(direction, spec, upgradeCluster, input, flags, renderUpgradeResult);
}

type Kind = 'upgrade' | 'rollback' | 'cleanup';

/** Start the run under its ID (one per cluster and kind), then print its ID or follow it to its result. */
async function startAndFollow<I, R extends object>(kind: Kind, spec: ClusterSpec, workflow: (input: I) => Promise<R>, input: I, flags: UpgradeFlags, render: (r: R) => string): Promise<number> {
  const settings = settingsFrom(flags);
  const client = await createClient(settings);
  await refuseIfBusy(client, spec.cluster.name);
  const workflowId = upgradeWorkflowId(spec.cluster.name, kind);
  let handle;
  try {
    handle = await client.workflow.start(workflow, {
      taskQueue: settings.taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: searchAttributes.cluster, value: spec.cluster.name },
        { key: searchAttributes.kind, value: kind },
      ],
      memo: { inventory: spec.inventoryPath },
      staticSummary: `${kind[0]!.toUpperCase()}${kind.slice(1)} ${spec.cluster.name} (${spec.product})`,
    });
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) throw new RunError(`a ${kind} of cluster ${spec.cluster.name} is already running: ${workflowId}; watch it with \`api7-ha watch ${workflowId}\``);
    throw e;
  }
  const url = workflowUrl(settings, workflowId, handle.firstExecutionRunId);
  if (!flags.json) process.stderr.write(`started ${workflowId} (run ${handle.firstExecutionRunId})\n  Temporal UI: ${url}\n`);
  if (!flags.wait) {
    print(!!flags.json, { workflowId, runId: handle.firstExecutionRunId, url }, () => `follow it with: api7-ha watch ${workflowId}`);
    return 0;
  }
  if (!flags.json) await follow(client, handle, { tty: process.stdout.isTTY === true });
  try {
    const result = (await handle.result()) as R;
    print(!!flags.json, { workflowId, runId: handle.firstExecutionRunId, url, ...result }, () => render(result));
    return 0;
  } catch (e) {
    if (e instanceof WorkflowFailedError) {
      if (flags.json) print(true, { workflowId, runId: handle.firstExecutionRunId, url, error: messageOf(e) }, () => '');
      throw new RunError(`${kind} ${workflowId} failed: ${messageOf(e)}\n  Temporal UI: ${url}`);
    }
    throw e;
  }
}

/** `api7-ha cleanup -i INV [--keep N]`: old releases off the dashboards and gateways. */
export async function cleanupCommand(flags: UpgradeFlags & { keep?: string }): Promise<number> {
  const keep = intFlag('keep', flags.keep, 1, 0, 100);
  const { spec } = readInventory(flags.inventory);
  const render = (r: CleanupResultAll) => [`cleanup of ${r.cluster}: done`, ...r.hosts.map((h) => `  ${h.host.padEnd(12)} removed: ${h.removed.join(', ') || '-'}; kept: ${h.kept.join(', ')}`)].join('\n');
  return startAndFollow('cleanup', spec, cleanupCluster, { spec, keep }, flags, render);
}

const brief = (i: SwapItem) => ({ host: i.host, component: i.component, from: i.from?.version ?? null, to: i.toVersion });
