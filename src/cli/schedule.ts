// `api7-ha schedule create|list|describe|pause|unpause|trigger|delete`: nightly drills as Temporal
// Schedules (one per cluster, ID drill-<cluster>), overlap SKIP and an explicit catch-up window.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { createClient } from '../client';
import { patterns } from '../inventory/patterns';
import { searchAttributes } from '../workflows/search-attributes';
import { InputError, RunError, print, readInventory, settingsFrom } from './common';
import { drillInput, selectScenarios } from './drill';

interface Flags {
  inventory?: string;
  cron?: string;
  timezone?: string;
  jitter?: string;
  catchup?: string;
  scenarios?: string;
  json?: boolean;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const DURATION = /^\d+(ms|s|m|h|d)$/;

export function checkCron(cron: string | undefined): string {
  const fields = (cron ?? '').trim().split(/\s+/);
  if (!cron || fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f) || /^[A-Za-z]{3}(-[A-Za-z]{3})?$/.test(f)))
    throw new InputError(`--cron ${cron ?? '(missing)'}: expected five cron fields "minute hour day month weekday", e.g. --cron '0 3 * * *' for 03:00 every night`);
  return fields.join(' ');
}

export function checkTimezone(tz: string | undefined): string | undefined {
  if (tz === undefined) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new InputError(`--timezone ${tz}: not an IANA time zone (e.g. Europe/Berlin, Asia/Shanghai, UTC)`);
  }
  return tz;
}

function checkDuration(flag: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!DURATION.test(v)) throw new InputError(`${flag} ${v}: expected a duration such as 30s, 15m or 2h`);
  return v;
}

const scheduleIdOf = (cluster: string) => `drill-${cluster}`;

function idFrom(arg: string | undefined): string {
  if (!arg) throw new InputError('name the schedule: drill-<cluster> or the cluster name');
  const id = arg.startsWith('drill-') ? arg : scheduleIdOf(arg);
  if (!patterns.clusterName.re.test(id.slice('drill-'.length))) throw new InputError(`${arg}: not a schedule ID (drill-<cluster>)`);
  return id;
}

async function handle(client: Client, id: string) {
  const h = client.schedule.getHandle(id);
  try {
    return { h, desc: await h.describe() };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw new InputError(`no schedule ${id}; create it with \`api7-ha schedule create -i INVENTORY --cron '0 3 * * *'\``);
    throw e;
  }
}

export async function scheduleCommand(action: string, arg: string | undefined, flags: Flags): Promise<number> {
  const settings = settingsFrom(flags);
  if (action === 'create') {
    const { spec } = readInventory(flags.inventory);
    const cron = checkCron(flags.cron);
    const timezone = checkTimezone(flags.timezone);
    const jitter = checkDuration('--jitter', flags.jitter);
    const catchup = checkDuration('--catchup', flags.catchup) ?? '1h';
    const input = drillInput(spec, selectScenarios(spec, flags.scenarios));
    const client = await createClient(settings);
    const id = scheduleIdOf(spec.cluster.name);
    await client.schedule.create({
      scheduleId: id,
      spec: { cronExpressions: [cron], ...(timezone ? { timezone } : {}), ...(jitter ? { jitter } : {}) },
      action: {
        type: 'startWorkflow',
        workflowType: 'failoverVerification',
        workflowId: id,
        taskQueue: settings.taskQueue,
        args: [input],
        typedSearchAttributes: [
          { key: searchAttributes.cluster, value: spec.cluster.name },
          { key: searchAttributes.kind, value: 'drill' },
        ],
        staticSummary: `Nightly HA drill of ${spec.cluster.name}: ${input.scenarios.join(', ')}`,
      },
      // A drill still running when the next is due is skipped (never two at once); a missed run
      // (server down) is caught up only within this window.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: catchup, pauseOnFailure: false },
      memo: { inventory: spec.inventoryPath },
      state: { note: `api7-ha drills of ${spec.cluster.name} (${input.scenarios.join(', ')})` },
    }).catch((e: Error) => {
      if (/already/i.test(e.message)) throw new RunError(`schedule ${id} exists; delete it first (api7-ha schedule delete ${id}) to change it`);
      throw e;
    });
    print(!!flags.json, { scheduleId: id, cron, timezone, jitter, catchupWindow: catchup, scenarios: input.scenarios }, () => `created schedule ${id}: ${cron}${timezone ? ` (${timezone})` : ' (UTC)'}${jitter ? `, jitter ${jitter}` : ''}, overlap SKIP, catch-up ${catchup}; scenarios ${input.scenarios.join(', ')}`);
    return 0;
  }
  const client = await createClient(settings);
  if (action === 'list') {
    const rows: { scheduleId: string; paused: boolean; cron: string[]; next?: string; note?: string }[] = [];
    for await (const s of client.schedule.list()) {
      if (!s.scheduleId.startsWith('drill-')) continue;
      rows.push({
        scheduleId: s.scheduleId,
        paused: s.state.paused,
        cron: (s.spec as { cronExpressions?: string[] } | undefined)?.cronExpressions ?? [],
        ...(s.info.nextActionTimes[0] ? { next: s.info.nextActionTimes[0].toISOString() } : {}),
        ...(s.state.note ? { note: s.state.note } : {}),
      });
    }
    print(!!flags.json, rows, () => (rows.length ? rows.map((r) => `${r.scheduleId}  ${r.paused ? 'PAUSED' : 'active'}  next ${r.next ?? '-'}  ${r.note ?? ''}`).join('\n') : 'no drill schedules'));
    return 0;
  }
  const id = idFrom(arg);
  const { h, desc } = await handle(client, id);
  switch (action) {
    case 'describe': {
      const recent = desc.info.recentActions.map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId }));
      print(!!flags.json, { scheduleId: id, paused: desc.state.paused, note: desc.state.note, spec: desc.spec, policies: desc.policies, next: desc.info.nextActionTimes.map((t) => t.toISOString()), recent, running: desc.info.runningActions.map((a) => a.workflow.workflowId) }, () =>
        [
          `${id}: ${desc.state.paused ? 'PAUSED' : 'active'}${desc.state.note ? ` — ${desc.state.note}` : ''}`,
          `  overlap ${desc.policies.overlap}, catch-up ${desc.policies.catchupWindow}ms`,
          `  next: ${desc.info.nextActionTimes.map((t) => t.toISOString()).join(', ') || '-'}`,
          `  recent: ${recent.map((r) => `${r.at} ${r.workflowId}`).join(', ') || '-'}`,
        ].join('\n'),
      );
      return 0;
    }
    case 'pause':
      await h.pause('paused with api7-ha schedule pause');
      break;
    case 'unpause':
      await h.unpause('unpaused with api7-ha schedule unpause');
      break;
    case 'trigger':
      // Overlap SKIP applies: a drill already running from this schedule means no second one.
      await h.trigger(ScheduleOverlapPolicy.SKIP);
      break;
    case 'delete':
      await h.delete();
      break;
    default:
      throw new InputError(`schedule ${action}: expected create, list, describe, pause, unpause, trigger or delete`);
  }
  print(!!flags.json, { scheduleId: id, action }, () => `${id}: ${action} done`);
  return 0;
}
