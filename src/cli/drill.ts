// `api7-ha drill -i INV [--scenarios a,b] [--victim HOST] [--wait] [--json]`: a measured HA drill.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { createClient, workflowUrl, type TemporalSettings } from '../client';
import type { ClusterSpec } from '../inventory/model';
import type { DrillJournal, ScenarioId } from '../drills/journal';
import { DEFAULT_SCENARIOS, SCENARIOS, parseScenarioList } from '../drills/scenarios';
import { factsOf, productProfile } from '../products';
import { summaryTable } from '../report/text';
import { messageOf } from '../workflows/progress';
import { searchAttributes } from '../workflows/search-attributes';
import type { DrillInput } from '../workflows/failover-verification';
import { InputError, RunError, print, readInventory, settingsFrom } from './common';
import { follow } from './follow';

export interface DrillFlags {
  inventory?: string;
  scenarios?: string;
  victim?: string;
  wait?: boolean;
  json?: boolean;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

/** Scenario selection, checked against the inventory (host faults need a driver). Exit 2 on bad input. */
export function selectScenarios(spec: ClusterSpec, list: string | undefined): ScenarioId[] {
  const requested = list ?? spec.drills.scenarios?.join(',');
  if (!requested) return DEFAULT_SCENARIOS;
  const { ids, unknown } = parseScenarioList(requested);
  if (unknown.length) throw new InputError(`--scenarios: unknown scenario ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
  if (ids.length === 0) throw new InputError('--scenarios: name at least one scenario');
  const hostFaults = ids.filter((id) => SCENARIOS[id].hostFault);
  if (hostFaults.length && !spec.drills.hostFaultDriver)
    throw new InputError(`--scenarios: ${hostFaults.join(', ')} power hosts off or cut them off the network, which this inventory does not allow; set drills.host_faults (the lab sets "lab"), or leave them out`);
  return ids;
}

export function drillInput(spec: ClusterSpec, scenarios: ScenarioId[], victim?: string): DrillInput {
  if (victim !== undefined && !spec.hosts.some((h) => h.name === victim)) throw new InputError(`--victim ${victim}: no such host in the inventory (hosts: ${spec.hosts.map((h) => h.name).join(', ')})`);
  return { spec, product: factsOf(productProfile(spec.product)), scenarios, ...(victim ? { victim } : {}), kind: 'drill', lock: true };
}

/** A deploy or drill already holding the cluster: refuse at once, naming it (the workflow checks again). */
export async function refuseIfBusy(client: Client, cluster: string): Promise<void> {
  const lock = client.workflow.getHandle(`lock-${cluster}`);
  const desc = await lock.describe().catch(() => undefined);
  if (desc?.status.name !== 'RUNNING') return;
  const holder = await lock.query<{ workflowId: string; kind: string }>('holder').catch(() => undefined);
  throw new RunError(`refused: ${holder ? `${holder.kind} ${holder.workflowId} is running` : 'a deploy or drill is running'} on cluster ${cluster}; one deploy or drill at a time per cluster`);
}

const stampNow = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export async function startDrill(client: Client, settings: TemporalSettings, input: DrillInput, workflowId = `drill-${input.spec.cluster.name}-${stampNow()}`) {
  return client.workflow.start('failoverVerification', {
    taskQueue: settings.taskQueue,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: 'FAIL',
    typedSearchAttributes: [
      { key: searchAttributes.cluster, value: input.spec.cluster.name },
      { key: searchAttributes.kind, value: 'drill' },
    ],
    staticSummary: `HA drill of ${input.spec.cluster.name}: ${input.scenarios.join(', ')}`,
  });
}

export async function drillCommand(flags: DrillFlags): Promise<number> {
  const { spec } = readInventory(flags.inventory);
  const input = drillInput(spec, selectScenarios(spec, flags.scenarios), flags.victim);
  const settings = settingsFrom(flags);
  const client = await createClient(settings);
  await refuseIfBusy(client, spec.cluster.name);
  const handle = await startDrill(client, settings, input);
  const url = workflowUrl(settings, handle.workflowId, handle.firstExecutionRunId);
  if (!flags.json) process.stderr.write(`started ${handle.workflowId}\n  Temporal UI: ${url}\n`);
  if (!flags.wait) {
    print(!!flags.json, { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, url }, () => `follow it with: api7-ha watch ${handle.workflowId}; report: api7-ha report ${handle.workflowId}`);
    return 0;
  }
  if (!flags.json) await follow(client, handle, { tty: process.stdout.isTTY === true });
  try {
    const journal = (await handle.result()) as DrillJournal;
    print(!!flags.json, journal, () => `${summaryTable(journal)}\nreport: api7-ha report ${handle.workflowId} -o report.html`);
    return journal.verdict === 'passed' ? 0 : 1;
  } catch (e) {
    if (e instanceof WorkflowFailedError) throw new RunError(`drill ${handle.workflowId} ended without a verdict: ${messageOf(e)}\n  Temporal UI: ${url}`);
    throw e;
  }
}
