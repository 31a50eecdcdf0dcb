// `api7-ha deploy -i INV [--plan [--offline] [--detailed-exitcode]] [--wait] [--json]`: validate, then
// plan or start the deploy workflow.
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { inspectArtifacts } from '../artifacts/inspect';
import { createClient, workflowUrl } from '../client';
import { deployWorkflowId } from '../contracts';
import { planDeployment, renderPlan, type PlanReport } from '../plan/plan';
import { factsOf, productProfile } from '../products';
import { SshPool } from '../remote/ssh';
import { messageOf } from '../runbook/runner';
import type { DeployInput, FailoverPolicy } from '../runbook/types';
import { artifactPaths } from '../steps/inputs';
import { deployCluster } from '../workflows/deploy-cluster';
import { searchAttributes } from '../workflows/search-attributes';
import { EXIT, InputError, RunError, print, readInventory, refuseIfBusy, settingsFrom } from './common';
import { follow } from './follow';
import { renderDeployResult } from './render';

export interface DeployFlags {
  inventory?: string;
  plan?: boolean;
  offline?: boolean;
  detailedExitcode?: boolean;
  wait?: boolean;
  json?: boolean;
  fixFirewall?: boolean;
  failover?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

/** 1 when something would stop the deploy; else 0, or with --detailed-exitcode 3 for changes pending (as terraform's 2, which is bad input here). */
export function planExitCode(report: PlanReport, detailed: boolean): number {
  if (report.blockers.length || report.unreachable.length) return EXIT.failed;
  return detailed && report.changes > 0 ? EXIT.changesPending : EXIT.ok;
}

export async function deployCommand(flags: DeployFlags): Promise<number> {
  const failover = (flags.failover ?? 'auto') as FailoverPolicy;
  if (!['auto', 'always', 'never'].includes(failover)) throw new InputError(`--failover ${flags.failover}: expected auto, always or never`);
  if (flags.offline && !flags.plan) throw new InputError('--offline only goes with --plan');
  if (flags.detailedExitcode && !flags.plan) throw new InputError('--detailed-exitcode only goes with --plan');
  const { spec } = readInventory(flags.inventory);
  const product = factsOf(productProfile(spec.product));

  if (flags.plan) {
    const artifacts = await inspectArtifacts(artifactPaths(spec));
    // A plan writes nothing: host keys seen for the first time are listed, not recorded.
    const pool = new SshPool({ recordNewHostKeys: false });
    try {
      const report = await planDeployment(spec, product, { mode: flags.offline ? 'simulate' : 'plan', pool, fixFirewall: flags.fixFirewall ?? false, failover, artifacts });
      print(!!flags.json, report, () => renderPlan(report));
      return planExitCode(report, flags.detailedExitcode ?? false);
    } finally {
      await pool.closeAll();
    }
  }

  const settings = settingsFrom(flags);
  const client = await createClient(settings);
  await refuseIfBusy(client, spec.cluster.name);
  const input: DeployInput = { spec, product, options: { fixFirewall: flags.fixFirewall ?? false, failover } };
  const workflowId = deployWorkflowId(spec.cluster.name);
  let handle;
  try {
    handle = await client.workflow.start(deployCluster, {
      taskQueue: settings.taskQueue,
      workflowId,
      args: [input],
      // One run at a time per cluster: a second start fails while this one runs.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: searchAttributes.cluster, value: spec.cluster.name },
        { key: searchAttributes.kind, value: 'deploy' },
      ],
      memo: { inventory: spec.inventoryPath },
      staticSummary: `Deploy ${spec.cluster.name} (${spec.product}, ${spec.hosts.length} hosts)`,
    });
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) {
      const running = await client.workflow.getHandle(workflowId).describe().catch(() => undefined);
      throw new RunError(`a deploy of cluster ${spec.cluster.name} is already running: ${workflowId}${running ? ` (run ${running.runId})` : ''}; watch it with \`api7-ha watch ${workflowId}\` or stop it with \`api7-ha cancel ${workflowId}\``);
    }
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
    const result = await handle.result();
    print(!!flags.json, { workflowId, runId: handle.firstExecutionRunId, url, ...result }, () => renderDeployResult(result));
    return 0;
  } catch (e) {
    if (e instanceof WorkflowFailedError) {
      if (flags.json) print(true, { workflowId, runId: handle.firstExecutionRunId, url, error: messageOf(e) }, () => '');
      throw new RunError(`deploy ${workflowId} failed: ${messageOf(e)}\n  Temporal UI: ${url}`);
    }
    throw e;
  }
}
