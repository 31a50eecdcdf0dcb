// `api7-ha deploy -i INV [--plan] [--wait] [--json]`: validate, then plan or start the deploy workflow.
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { inspectArtifacts } from '../artifacts/inspect';
import { createClient, workflowUrl } from '../client';
import { artifactPaths } from '../plan/inputs';
import { planDeployment, renderPlan } from '../plan/plan';
import { factsOf, productProfile } from '../products';
import { SshPool } from '../remote/ssh';
import { searchAttributes } from '../workflows/search-attributes';
import type { DeployInput, DeployResult, FailoverPolicy } from '../workflows/types';
import { InputError, RunError, print, readInventory, settingsFrom, workflowIdFor } from './common';
import { follow } from './follow';
import { refuseIfBusy } from './drill';
import { renderDeployResult } from './render';
import { messageOf } from '../workflows/progress';

export interface DeployFlags {
  inventory?: string;
  plan?: boolean;
  offline?: boolean;
  wait?: boolean;
  json?: boolean;
  fixFirewall?: boolean;
  failover?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export async function deployCommand(flags: DeployFlags): Promise<number> {
  const failover = (flags.failover ?? 'auto') as FailoverPolicy;
  if (!['auto', 'always', 'never'].includes(failover)) throw new InputError(`--failover ${flags.failover}: expected auto, always or never`);
  if (flags.offline && !flags.plan) throw new InputError('--offline only goes with --plan');
  const { spec } = readInventory(flags.inventory);
  const product = factsOf(productProfile(spec.product));

  if (flags.plan) {
    const artifacts = await inspectArtifacts(artifactPaths(spec));
    const pool = new SshPool();
    try {
      const report = await planDeployment(spec, product, { mode: flags.offline ? 'simulate' : 'plan', pool, fixFirewall: flags.fixFirewall ?? false, artifacts });
      print(!!flags.json, report, () => renderPlan(report));
      return 0;
    } finally {
      await pool.closeAll();
    }
  }

  const settings = settingsFrom(flags);
  const client = await createClient(settings);
  await refuseIfBusy(client, spec.cluster.name);
  const input: DeployInput = { spec, product, options: { fixFirewall: flags.fixFirewall ?? false, failover } };
  const workflowId = workflowIdFor('deploy', spec.cluster.name);
  let handle;
  try {
    handle = await client.workflow.start('deployCluster', {
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
    const result = (await handle.result()) as DeployResult;
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
