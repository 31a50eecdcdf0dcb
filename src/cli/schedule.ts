// `api7-ha schedule create|list|describe|pause|unpause|trigger|delete`: nightly drills as Temporal
// Schedules (one per cluster, ID drill-<cluster>), overlap SKIP and an explicit catch-up window. Each
// action is a commander subcommand; cron expressions are checked here (cron-parser), not by the server.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { CronExpressionParser } from 'cron-parser';
import { createClient } from '../client';
import { backupScheduleId, scheduleId } from '../contracts';
import type { ClusterSpec } from '../inventory/model';
import { backupCluster } from '../workflows/etcd';
import { patterns } from '../inventory/patterns';
import { failoverVerification } from '../workflows/failover-verification';
import { searchAttributes } from '../workflows/search-attributes';
import { InputError, RunError, print, readInventory, settingsFrom, withTemporalFlags } from './common';
import { drillInput, selectScenarios } from './drill';

interface Flags {
  json?: boolean;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

interface CreateFlags extends Flags {
  inventory?: string;
  cron?: string;
  timezone?: string;
  jitter?: string;
  catchup?: string;
  scenarios?: string;
  backup?: boolean;
}

const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const CRON_NAMES = /^[A-Za-z]{3}(-[A-Za-z]{3})?$/;
const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DAY_MS = UNIT_MS.d;

/** Five cron fields with values in range (checked here: the server's own message is not for operators). */
export function checkCron(cron: string | undefined, timezone?: string): string {
  const fields = (cron ?? '').trim().split(/\s+/);
  if (!cron || fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f) || CRON_NAMES.test(f)))
    throw new InputError(`--cron ${cron ?? '(missing)'}: expected five cron fields "minute hour day month weekday", e.g. --cron '0 3 * * *' for 03:00 every night`);
  try {
    CronExpressionParser.parse(fields.join(' '), timezone ? { tz: timezone } : {});
  } catch (e) {
    const which = ['minute (0-59)', 'hour (0-23)', 'day of month (1-31)', 'month (1-12)', 'weekday (0-7)'];
    throw new InputError(`--cron ${cron}: ${(e as Error).message}; the fields are ${which.join(', ')}, e.g. --cron '0 3 * * *'`);
  }
  return fields.join(' ');
}

/** The shortest gap between the schedule's next runs (what a jitter must stay under). */
function runGapMs(cron: string, timezone: string | undefined): number {
  const it = CronExpressionParser.parse(cron, timezone ? { tz: timezone } : {});
  const times = it.take(8).map((d) => d.getTime());
  return Math.min(...times.slice(1).map((t, i) => t - times[i]!));
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

function durationMs(flag: string, v: string): number {
  const m = DURATION.exec(v);
  if (!m) throw new InputError(`${flag} ${v}: expected a duration such as 30s, 15m or 2h`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

const human = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`);

/** A random delay before each drill: under a day, and under the time between two runs (or drills would pile up). */
export function checkJitter(v: string | undefined, cron: string, timezone: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const max = Math.min(DAY_MS, runGapMs(cron, timezone));
  if (durationMs('--jitter', v) >= max) throw new InputError(`--jitter ${v}: must be shorter than ${human(max)} (${max === DAY_MS ? 'a day' : `the time between two runs of '${cron}'`}), e.g. --jitter 10m`);
  return v;
}

function idFrom(arg: string | undefined): string {
  if (!arg) throw new InputError('name the schedule: drill-<cluster>, backup-<cluster> or the cluster name (its drills)');
  const prefix = arg.startsWith('backup-') ? 'backup-' : 'drill-';
  const id = arg.startsWith(prefix) ? arg : scheduleId(arg);
  if (!patterns.clusterName.re.test(id.slice(prefix.length))) throw new InputError(`${arg}: not a schedule ID (drill-<cluster> or backup-<cluster>)`);
  return id;
}

async function existing(client: Client, id: string) {
  const h = client.schedule.getHandle(id);
  try {
    return { h, desc: await h.describe() };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw new InputError(`no schedule ${id}; create it with \`api7-ha schedule create -i INVENTORY --cron '0 3 * * *'\``);
    throw e;
  }
}

export async function createSchedule(flags: CreateFlags): Promise<number> {
  const settings = settingsFrom(flags);
  const { spec } = readInventory(flags.inventory);
  const timezone = checkTimezone(flags.timezone);
  const cron = checkCron(flags.cron, timezone);
  const jitter = checkJitter(flags.jitter, cron, timezone);
  const catchup = flags.catchup ?? '1h';
  durationMs('--catchup', catchup);
  if (flags.backup && flags.scenarios) throw new InputError('--backup schedules backups: it takes no --scenarios');
  const client = await createClient(settings);
  if (flags.backup) return createBackupSchedule(client, settings.taskQueue, spec, { cron, timezone, jitter, catchup }, !!flags.json);
  const input = drillInput(spec, selectScenarios(spec, flags.scenarios));
  const id = scheduleId(spec.cluster.name);
  await client.schedule
    .create({
      scheduleId: id,
      spec: { cronExpressions: [cron], ...(timezone ? { timezone } : {}), ...(jitter ? { jitter } : {}) },
      action: {
        type: 'startWorkflow',
        workflowType: failoverVerification,
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
    })
    .catch((e: Error) => {
      if (/already/i.test(e.message)) throw new RunError(`schedule ${id} exists; delete it first (api7-ha schedule delete ${id}) to change it`);
      throw e;
    });
  print(!!flags.json, { scheduleId: id, cron, timezone, jitter, catchupWindow: catchup, scenarios: input.scenarios }, () => `created schedule ${id}: ${cron}${timezone ? ` (${timezone})` : ' (UTC)'}${jitter ? `, jitter ${jitter}` : ''}, overlap SKIP, catch-up ${catchup}; scenarios ${input.scenarios.join(', ')}`);
  return 0;
}

/** Nightly backups (backup-<cluster>): each run is a backup workflow backup-<cluster>-<time>, verified. */
async function createBackupSchedule(client: Client, taskQueue: string, spec: ClusterSpec, when: { cron: string; timezone: string | undefined; jitter: string | undefined; catchup: string }, json: boolean): Promise<number> {
  const id = backupScheduleId(spec.cluster.name);
  await client.schedule
    .create({
      scheduleId: id,
      spec: { cronExpressions: [when.cron], ...(when.timezone ? { timezone: when.timezone } : {}), ...(when.jitter ? { jitter: when.jitter } : {}) },
      action: {
        type: 'startWorkflow',
        workflowType: backupCluster,
        workflowId: id,
        taskQueue,
        args: [{ spec, reason: 'scheduled' as const }],
        typedSearchAttributes: [
          { key: searchAttributes.cluster, value: spec.cluster.name },
          { key: searchAttributes.kind, value: 'backup' },
        ],
        staticSummary: `Nightly backup of ${spec.cluster.name}'s etcd, verified`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: when.catchup, pauseOnFailure: false },
      memo: { inventory: spec.inventoryPath },
      state: { note: `api7-ha backups of ${spec.cluster.name} (keep ${spec.backup.retention}, in ${spec.backup.dir})` },
    })
    .catch((e: Error) => {
      if (/already/i.test(e.message)) throw new RunError(`schedule ${id} exists; delete it first (api7-ha schedule delete ${id}) to change it`);
      throw e;
    });
  print(json, { scheduleId: id, cron: when.cron, timezone: when.timezone, jitter: when.jitter, catchupWindow: when.catchup, backup: true }, () => `created schedule ${id}: ${when.cron}${when.timezone ? ` (${when.timezone})` : ' (UTC)'}${when.jitter ? `, jitter ${when.jitter}` : ''}, overlap SKIP, catch-up ${when.catchup}; a verified backup each run, the newest ${spec.backup.retention} kept`);
  return 0;
}

export async function listSchedules(flags: Flags): Promise<number> {
  const client = await createClient(settingsFrom(flags));
  const rows: { scheduleId: string; paused: boolean; cron: string[]; next?: string; note?: string }[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith('drill-') && !s.scheduleId.startsWith('backup-')) continue;
    rows.push({
      scheduleId: s.scheduleId,
      paused: s.state.paused,
      cron: (s.spec as { cronExpressions?: string[] } | undefined)?.cronExpressions ?? [],
      ...(s.info.nextActionTimes[0] ? { next: s.info.nextActionTimes[0].toISOString() } : {}),
      ...(s.state.note ? { note: s.state.note } : {}),
    });
  }
  print(!!flags.json, rows, () => (rows.length ? rows.map((r) => `${r.scheduleId}  ${r.paused ? 'PAUSED' : 'active'}  next ${r.next ?? '-'}  ${r.note ?? ''}`).join('\n') : 'no drill or backup schedules'));
  return 0;
}

export async function describeSchedule(arg: string | undefined, flags: Flags): Promise<number> {
  const id = idFrom(arg);
  const { desc } = await existing(await createClient(settingsFrom(flags)), id);
  const recent = desc.info.recentActions.map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId }));
  const next = desc.info.nextActionTimes.map((t) => t.toISOString());
  print(!!flags.json, { scheduleId: id, paused: desc.state.paused, note: desc.state.note, spec: desc.spec, policies: desc.policies, next, recent, running: desc.info.runningActions.map((a) => a.workflow.workflowId) }, () =>
    [
      `${id}: ${desc.state.paused ? 'PAUSED' : 'active'}${desc.state.note ? ` — ${desc.state.note}` : ''}`,
      `  overlap ${desc.policies.overlap}, catch-up ${desc.policies.catchupWindow}ms`,
      `  next: ${next.join(', ') || '-'}`,
      `  recent: ${recent.map((r) => `${r.at} ${r.workflowId}`).join(', ') || '-'}`,
    ].join('\n'),
  );
  return 0;
}

type Change = 'pause' | 'unpause' | 'trigger' | 'delete';

export async function changeSchedule(action: Change, arg: string | undefined, flags: Flags): Promise<number> {
  const id = idFrom(arg);
  const { h } = await existing(await createClient(settingsFrom(flags)), id);
  if (action === 'pause') await h.pause('paused with api7-ha schedule pause');
  else if (action === 'unpause') await h.unpause('unpaused with api7-ha schedule unpause');
  // Overlap SKIP applies: a drill already running from this schedule means no second one.
  else if (action === 'trigger') await h.trigger(ScheduleOverlapPolicy.SKIP);
  else await h.delete();
  print(!!flags.json, { scheduleId: id, action }, () => `${id}: ${action} done`);
  return 0;
}

/** `schedule` and its subcommands, wired to `run` (which maps results and errors to exit codes). */
export function addScheduleCommands(program: Command, run: (p: Promise<number>) => void): void {
  const schedule = program.command('schedule').description('nightly drills and backups as Temporal Schedules (one of each per cluster: drill-<cluster>, backup-<cluster>)');
  withTemporalFlags(
    schedule
      .command('create')
      .description('schedule a cluster\'s drills')
      .requiredOption('-i, --inventory <path>', 'inventory YAML')
      .requiredOption('--cron <expr>', "five cron fields, e.g. '0 3 * * *'")
      .option('--timezone <tz>', 'IANA time zone for the cron (default UTC)')
      .option('--jitter <duration>', 'random delay up to this, e.g. 10m (under a day and the time between runs)')
      .option('--catchup <duration>', 'run a missed drill only within this window (default 1h)')
      .option('--scenarios <list>', 'scenarios (default: the inventory\'s drills.scenarios, or the default set)')
      .option('--backup', 'schedule verified etcd backups (backup-<cluster>) instead of drills')
      .option('--json', 'print JSON'),
  ).action((opts: CreateFlags) => run(createSchedule(opts)));
  withTemporalFlags(schedule.command('list').description('every drill schedule').option('--json', 'print JSON')).action((opts: Flags) => run(listSchedules(opts)));
  withTemporalFlags(schedule.command('describe').description('a schedule: state, next and recent runs').argument('<id>', 'drill-<cluster> or the cluster name').option('--json', 'print JSON')).action((id: string, opts: Flags) =>
    run(describeSchedule(id, opts)),
  );
  const changes: [Change, string][] = [
    ['pause', 'pause a schedule'],
    ['unpause', 'resume a paused schedule'],
    ['trigger', 'start its drill now (skipped if one is running)'],
    ['delete', 'delete a schedule'],
  ];
  for (const [action, text] of changes)
    withTemporalFlags(schedule.command(action).description(text).argument('<id>', 'drill-<cluster> or the cluster name').option('--json', 'print JSON')).action((id: string, opts: Flags) => run(changeSchedule(action, id, opts)));
}
