// `api7-ha drill -i INV [--scenarios a,b] [--victim HOST] [--wait] [--json]`: a measured HA drill.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { createClient, workflowUrl, type TemporalSettings } from '../client';
import { drillWorkflowId } from '../contracts';
import type { ClusterSpec } from '../inventory/model';
import type { ScenarioId } from '../drills/journal';
import { DEFAULT_SCENARIOS, SCENARIOS, isHostFault, parseScenarioList } from '../drills/scenarios';
import { factsOf, productProfile } from '../products';
import { summaryTable } from '../report/text';
import { messageOf } from '../runbook/runner';
import type { DrillInput } from '../runbook/types';
import { stampOf } from '../steps/inputs';
import { failoverVerification } from '../workflows/failover-verification';
import { searchAttributes } from '../workflows/search-attributes';
import { InputError, RunError, print, readInventory, refuseIfBusy, settingsFrom } from './common';
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
  const driver = spec.drills.hostFaultDriver;
  const hostFaults = ids.filter((id) => isHostFault(SCENARIOS[id].fault));
  if (hostFaults.length && !driver)
    throw new InputError(`--scenarios: ${hostFaults.join(', ')} power hosts off or cut them off the network, which this inventory does not allow; set drills.host_faults (the lab sets "lab"), or leave them out`);
  const cuts = ids.filter((id) => SCENARIOS[id].fault === 'disconnect');
  if (cuts.length && driver?.type === 'commands' && !(driver.commands.disconnect && driver.commands.reconnect))
    throw new InputError(`--scenarios: ${cuts.join(', ')} cut a host off the network: add drills.host_faults.commands.disconnect and reconnect, or leave them out`);
  return ids;
}

export function drillInput(spec: ClusterSpec, scenarios: ScenarioId[], victim?: string): DrillInput {
  if (victim !== undefined && !spec.hosts.some((h) => h.name === victim)) throw new InputError(`--victim ${victim}: no such host in the inventory (hosts: ${spec.hosts.map((h) => h.name).join(', ')})`);
  return { spec, product: factsOf(productProfile(spec.product)), scenarios, ...(victim ? { victim } : {}), kind: 'drill', lock: true };
}

export async function startDrill(client: Client, settings: TemporalSettings, input: DrillInput, workflowId = drillWorkflowId(input.spec.cluster.name, stampOf(new Date()))) {
  return client.workflow.start(failoverVerification, {
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
    const journal = await handle.result();
    print(!!flags.json, journal, () => `${summaryTable(journal)}\nreport: api7-ha report ${handle.workflowId} -o report.html`);
    return journal.verdict === 'passed' ? 0 : 1;
  } catch (e) {
    if (e instanceof WorkflowFailedError) throw new RunError(`drill ${handle.workflowId} ended without a verdict: ${messageOf(e)}\n  Temporal UI: ${url}`);
    throw e;
  }
}
