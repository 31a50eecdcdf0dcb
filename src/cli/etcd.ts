// Day 2 for etcd on the command line:
//   api7-ha backup -i INV [--wait] [--json]
//   api7-ha restore -i INV --snapshot FILE [--force] [--wait] [--json]
//   api7-ha replace-member -i INV --member ha3 --with ha6 [--wait] [--json]
//   api7-ha etcd status|defrag|disarm|rotate-certs -i INV    (status also as `api7-ha status -i INV`)
// status reads the estate directly (read-only probes, no Temporal); the others start a workflow.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type Workflow } from '@temporalio/client';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { fileSha256, readManifest } from '../backup/store';
import { createClient, workflowUrl, type TemporalSettings } from '../client';
import { backupWorkflowId, etcdUpkeepWorkflowId, replaceMemberWorkflowId, restoreWorkflowId } from '../contracts';
import { parseInventory } from '../inventory/load';
import type { ClusterSpec } from '../inventory/model';
import { patterns } from '../inventory/patterns';
import { factsOf, productProfile } from '../products';
import { readEtcdStatus } from '../reconcile/etcd-status';
import { HostExecutor } from '../remote/executor';
import { SshPool } from '../remote/ssh';
import { renderEtcdStatus } from '../report/etcd-status';
import type { BackupResult } from '../runbook/backup';
import type { DefragRunResult, DisarmResult, RotateResult } from '../runbook/etcd-upkeep';
import type { ReplaceMemberResult } from '../runbook/replace-member';
import type { RestoreResult } from '../runbook/restore';
import { messageOf } from '../runbook/runner';
import { etcdStatusInput } from '../steps/etcd-inputs';
import { stampOf } from '../steps/inputs';
import { backupCluster, defragEtcd, disarmEtcd, replaceEtcdMember, restoreCluster, rotateEtcdCertificates } from '../workflows/etcd';
import { searchAttributes } from '../workflows/search-attributes';
import { EXIT, InputError, RunError, print, readInventory, refuseIfBusy, settingsFrom, withTemporalFlags, type TemporalCliFlags } from './common';
import { follow } from './follow';

interface RunFlags extends TemporalCliFlags {
  inventory?: string;
  wait?: boolean;
  json?: boolean;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Exit 0 when etcd is healthy, 1 when it is not (a script can alert on it); warnings do not fail it. */
export async function etcdStatusCommand(flags: { inventory?: string; json?: boolean }): Promise<number> {
  const { spec } = readInventory(flags.inventory);
  const pool = new SshPool({ recordNewHostKeys: false });
  try {
    const report = await readEtcdStatus((t) => new HostExecutor(t, pool, 'plan', spec.secrets), etcdStatusInput(spec));
    print(!!flags.json, report, () => renderEtcdStatus(report));
    return report.quorum.healthy ? EXIT.ok : EXIT.failed;
  } finally {
    await pool.closeAll();
  }
}

interface Start<A> {
  workflow: Workflow;
  workflowId: string;
  input: A;
  kind: string;
  summary: string;
  /** Refuse while another change holds the cluster (backups do not need to). */
  exclusive: boolean;
}

/** Start a day-2 workflow; with --wait follow it and print its result (exit code from `ok`). */
async function startRun<A, R>(flags: RunFlags, spec: ClusterSpec, s: Start<A>, render: (r: R) => string, ok: (r: R) => boolean = () => true): Promise<number> {
  const settings: TemporalSettings = settingsFrom(flags);
  const client: Client = await createClient(settings);
  if (s.exclusive) await refuseIfBusy(client, spec.cluster.name);
  let handle;
  try {
    handle = await client.workflow.start(s.workflow, {
      taskQueue: settings.taskQueue,
      workflowId: s.workflowId,
      args: [s.input],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [
        { key: searchAttributes.cluster, value: spec.cluster.name },
        { key: searchAttributes.kind, value: s.kind },
      ],
      memo: { inventory: spec.inventoryPath },
      staticSummary: s.summary,
    });
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) throw new RunError(`${s.workflowId} is already running; watch it with \`api7-ha watch ${s.workflowId}\``);
    throw e;
  }
  const url = workflowUrl(settings, s.workflowId, handle.firstExecutionRunId);
  if (!flags.json) process.stderr.write(`started ${s.workflowId} (run ${handle.firstExecutionRunId})\n  Temporal UI: ${url}\n`);
  if (!flags.wait) {
    print(!!flags.json, { workflowId: s.workflowId, runId: handle.firstExecutionRunId, url }, () => `follow it with: api7-ha watch ${s.workflowId}`);
    return EXIT.ok;
  }
  if (!flags.json) await follow(client, handle, { tty: process.stdout.isTTY === true });
  try {
    const result = (await handle.result()) as R;
    print(!!flags.json, { workflowId: s.workflowId, runId: handle.firstExecutionRunId, url, ...(result as object) }, () => render(result));
    return ok(result) ? EXIT.ok : EXIT.failed;
  } catch (e) {
    if (e instanceof WorkflowFailedError) {
      if (flags.json) print(true, { workflowId: s.workflowId, runId: handle.firstExecutionRunId, url, error: messageOf(e) }, () => '');
      throw new RunError(`${s.workflowId} failed: ${messageOf(e)}\n  Temporal UI: ${url}`);
    }
    throw e;
  }
}

// ---- backup ---------------------------------------------------------------------------------------

export function renderBackup(b: BackupResult): string {
  const v = b.verification;
  return [
    `backup ${b.backup.fileName}: ${b.verdict.toUpperCase()}`,
    `  from ${b.source.member ?? b.source.host} (${b.source.why}): revision ${b.backup.revision}, ${b.backup.totalKeys} keys, ${mib(b.backup.sizeBytes)}`,
    `  file ${b.backup.path} (sha256 ${b.backup.sha256})`,
    v ? `  verification: ${v.snapshot ? `${v.snapshot.keys} keys under ${v.prefix} restored` : 'not restored'}${v.live ? `, ${v.live.keys} live at revision ${v.revision}` : ''}${v.reason ? ` — ${v.reason}` : ''}${v.differences.length ? `\n    ${v.differences.join('\n    ')}` : ''}` : '  verification: skipped (backup.verify: false)',
    `  kept ${b.retention.kept.length}${b.retention.removed.length ? `, removed ${b.retention.removed.join(', ')}` : ''}`,
    `  took ${b.ms.total} ms (snapshot ${b.ms.snapshot}, copy ${b.ms.copy}, verify ${b.ms.verify})`,
  ].join('\n');
}

export async function backupCommand(flags: RunFlags): Promise<number> {
  const { spec } = readInventory(flags.inventory);
  const workflowId = backupWorkflowId(spec.cluster.name, stampOf(new Date()));
  return startRun<Parameters<typeof backupCluster>[0], BackupResult>(
    flags,
    spec,
    { workflow: backupCluster, workflowId, input: { spec, reason: 'manual' }, kind: 'backup', summary: `Backup of ${spec.cluster.name}'s etcd, verified`, exclusive: false },
    renderBackup,
    (b) => b.verdict === 'verified' || b.verdict === 'skipped',
  );
}

// ---- restore --------------------------------------------------------------------------------------

export function renderRestore(r: RestoreResult): string {
  return [
    `restored ${r.cluster} from ${r.snapshot.fileName} (new cluster token ${r.clusterToken})`,
    `  before: ${r.before ? `${r.before.record.fileName} (from ${r.before.record.member ?? r.before.source.host})` : `no snapshot (${r.beforeError ?? 'no member running'})`}`,
    ...r.members.map((m) => `  ${m.host}: ${m.member}${m.aside ? `, previous data dir kept as ${m.aside}` : ''}`),
    `  quorum: leader ${r.quorum.leaderName ?? r.quorum.leader} ${r.ms.toQuorum} ms after the members were stopped`,
    `  restarted one at a time: ${r.restarted.map((x) => x.host).join(', ')}`,
    `  verification: a route through both load balancers, served ${r.verification.propagationMs} ms after the write (${r.ms.toWrites} ms after the members were stopped)`,
  ].join('\n');
}

export async function restoreCommand(flags: RunFlags & { snapshot?: string; force?: boolean }): Promise<number> {
  const { spec } = readInventory(flags.inventory);
  const file = flags.snapshot;
  if (!file) throw new InputError('--snapshot FILE: name the snapshot to restore (a file in the backup folder, e.g. from `api7-ha status -i INV`)');
  if (!existsSync(file) || !statSync(file).isFile()) throw new InputError(`--snapshot ${file}: no such file`);
  const fileName = basename(file);
  // The name reaches remote commands (the host's copy): the same strict pattern as package files.
  if (!patterns.fileName.re.test(fileName)) throw new InputError(`--snapshot ${file}: the file name must be ${patterns.fileName.describe}`);
  const manifest = await readManifest(file);
  if (manifest && manifest.cluster !== spec.cluster.name && !flags.force)
    throw new InputError(`--snapshot ${file} is a snapshot of cluster ${manifest.cluster}, not ${spec.cluster.name}; pass --force to restore it into ${spec.cluster.name} anyway`);
  const sha256 = await fileSha256(file);
  if (manifest && manifest.sha256 !== sha256) throw new InputError(`--snapshot ${file}: its sha256 is ${sha256}, its manifest says ${manifest.sha256}: the file changed since it was taken`);
  const input = { spec, product: factsOf(productProfile(spec.product)), snapshot: { localPath: file, fileName, sha256 }, force: flags.force ?? false };
  return startRun<typeof input, RestoreResult>(
    flags,
    spec,
    { workflow: restoreCluster, workflowId: restoreWorkflowId(spec.cluster.name, stampOf(new Date())), input, kind: 'restore', summary: `Restore ${spec.cluster.name}'s etcd from ${fileName}`, exclusive: true },
    renderRestore,
  );
}

// ---- replace-member -------------------------------------------------------------------------------

/**
 * The inventory as the replacement needs it. Either the operator has already swapped the hosts (the
 * new host has the etcd role, the old one not), or both are etcd hosts in the file: then the old one
 * loses the role here (in memory only) and the new one takes its member name, every member name
 * pinned as it is, so no other member is renamed by the shift.
 */
export function replacementInventory(path: string, member: string, withHost: string): { spec: ClusterSpec; note?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // A folder, a device, a missing file: the inventory reader names it (exit 2).
    readInventory(path);
    throw new InputError(`-i ${path}: cannot read it`);
  }
  const doc = parseDocument(text);
  const js = doc.toJS() as { hosts?: unknown } | null;
  const hosts = (js && typeof js === 'object' && Array.isArray(js.hosts) ? js.hosts : []) as { name: string; roles?: string[]; etcd_name?: string }[];
  const newHost = hosts.find((h) => h?.name === withHost);
  const old = hosts.find((h) => h?.name === member);
  if (!old?.roles?.includes('etcd') || !newHost?.roles?.includes('etcd')) {
    // The inventory as it is: a bad one is named field by field before anything else.
    const { spec } = readInventory(path);
    if (!newHost) throw new InputError(`--with ${withHost}: no such host in ${path}; add it (with roles: [etcd]) first`);
    if (!spec.hosts.find((h) => h.name === withHost)?.roles.includes('etcd')) throw new InputError(`--with ${withHost}: give it the etcd role in the inventory (roles: [etcd])`);
    return { spec };
  }
  const etcdHosts = hosts.filter((h) => h.roles?.includes('etcd') && h.name !== withHost);
  // Both in the file with an odd count beside the new one: the inventory already has its members,
  // and the one named is among those it keeps.
  if (etcdHosts.length % 2 === 0)
    throw new InputError(`--member ${member}: ${member} is an etcd host the inventory keeps beside ${withHost}; name the member whose host is gone (the one the inventory no longer has), or take the etcd role off ${member} first`);
  const names = new Map(etcdHosts.map((h, i) => [h.name, h.etcd_name ?? `api7-etcd-${i + 1}`] as const));
  const raw = doc.toJS() as { hosts: { name: string; roles: string[]; etcd_name?: string }[] };
  raw.hosts = raw.hosts
    .map((h) => {
      if (h.name === member) return { ...h, roles: h.roles.filter((r) => r !== 'etcd'), etcd_name: undefined };
      if (h.name === withHost) return { ...h, etcd_name: names.get(member)! };
      return names.has(h.name) ? { ...h, etcd_name: names.get(h.name)! } : h;
    })
    .filter((h) => h.roles.length > 0)
    .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as typeof h);
  const { spec } = parseInventory(JSON.stringify(raw), path);
  return { spec, note: `${withHost} takes ${member}'s place as ${names.get(member)}; change the inventory the same way (${member} without the etcd role, ${withHost} with it) so the next deploy agrees` };
}

/**
 * What the live member to remove must match: a member name as given, or, for a host name, its address
 * (live members know only their names and peer URLs). A host no longer in the file cannot be checked:
 * the member the inventory no longer has is the one removed, and the refusal names it if it is not that.
 */
const withDefined = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));

export function removalHint(path: string, member: string): string | undefined {
  const hosts = (parseDocument(readFileSync(path, 'utf8')).toJS() as { hosts?: { name: string; address?: string; etcd_name?: string }[] }).hosts ?? [];
  const h = hosts.find((x) => x.name === member);
  if (h?.address) return h.address;
  return hosts.some((x) => x.etcd_name === member) || /^api7-etcd-\d+$/.test(member) ? member : undefined;
}

export function renderReplace(r: ReplaceMemberResult): string {
  return [
    `replaced ${r.removed?.name ?? '(nothing removed)'} by ${r.added ? `${r.added.host} (${r.added.name})` : '(nothing added)'} in ${r.cluster}`,
    `  snapshot before: ${r.before.record.fileName}`,
    `  quorum: leader ${r.quorum.leaderName ?? r.quorum.leader}, members ${r.quorum.members.map((m) => m.name).join(', ')}`,
    `  other members: ${r.recreated.map((m) => `${m.member} ${m.action}`).join(', ')}`,
    `  etcd endpoints rewritten and restarted one at a time: ${r.restarted.map((x) => x.host).join(', ')}`,
    `  verification: served ${r.verification.propagationMs} ms after the write`,
  ].join('\n');
}

export async function replaceMemberCommand(flags: RunFlags & { member?: string; with?: string }): Promise<number> {
  if (!flags.inventory) throw new InputError('no inventory: pass -i PATH');
  if (!flags.member || !flags.with) throw new InputError('replace-member needs --member (the member or host that is gone) and --with (the new host, in the inventory)');
  for (const [flag, v] of [['--member', flags.member], ['--with', flags.with]] as const)
    if (!patterns.hostName.re.test(v) && !patterns.etcdMemberName.re.test(v)) throw new InputError(`${flag} ${v}: expected a host or member name (${patterns.hostName.describe})`);
  const { spec, note } = replacementInventory(flags.inventory, flags.member, flags.with);
  if (note && !flags.json) process.stderr.write(`note: ${note}\n`);
  const input = { spec, product: factsOf(productProfile(spec.product)), add: flags.with, ...withDefined('remove', removalHint(flags.inventory, flags.member)) };
  return startRun<typeof input, ReplaceMemberResult>(
    flags,
    spec,
    { workflow: replaceEtcdMember, workflowId: replaceMemberWorkflowId(spec.cluster.name, stampOf(new Date())), input, kind: 'replace-member', summary: `Replace etcd member ${flags.member} of ${spec.cluster.name} by ${flags.with}`, exclusive: true },
    renderReplace,
  );
}

// ---- etcd defrag | disarm | rotate-certs -----------------------------------------------------------

const renderDefragRows = (members: DefragRunResult['members']) => members.map((d) => `  ${d.member}${d.wasLeader ? ' (leader, last)' : ''}: ${mib(d.before.dbSize)} -> ${mib(d.after.dbSize)} in ${d.ms} ms`);

export async function upkeepCommand(action: 'defrag' | 'disarm' | 'rotate-certs', flags: RunFlags): Promise<number> {
  const { spec } = readInventory(flags.inventory);
  const product = factsOf(productProfile(spec.product));
  const workflowId = etcdUpkeepWorkflowId(action, spec.cluster.name, stampOf(new Date()));
  const start = { workflowId, kind: 'etcd-upkeep', exclusive: true } as const;
  if (action === 'defrag')
    return startRun<{ spec: ClusterSpec; product: typeof product }, DefragRunResult>(flags, spec, { ...start, workflow: defragEtcd, input: { spec, product }, summary: `Defragment ${spec.cluster.name}'s etcd, one member at a time` }, (r) =>
      [`defragmented ${r.members.length} members, ${mib(r.freedBytes)} given back${r.leaderMoved ? `; leadership moved from ${r.leaderMoved.from ?? '?'} to ${r.leaderMoved.to} first` : ''}`, ...renderDefragRows(r.members)].join('\n'),
    );
  if (action === 'disarm')
    return startRun<{ spec: ClusterSpec; product: typeof product }, DisarmResult>(flags, spec, { ...start, workflow: disarmEtcd, input: { spec, product }, summary: `Recover ${spec.cluster.name}'s etcd from NOSPACE: compact, defrag, disarm` }, (r) =>
      r.alarms.length ? [`disarmed ${r.disarmed.join(', ')} after compaction to revision ${r.compactedTo} and defragmentation`, ...renderDefragRows(r.members)].join('\n') : 'no alarm was raised: nothing to do',
    );
  const t = spec.etcd.tls;
  if (!t.enabled || !t.caFile) throw new InputError('etcd.tls is not enabled in the inventory: there are no certificates to rotate');
  const newCaPem = readFileSync(t.caFile, 'utf8');
  return startRun<{ spec: ClusterSpec; product: typeof product; newCaPem: string }, RotateResult>(
    flags,
    spec,
    { ...start, workflow: rotateEtcdCertificates, input: { spec, product, newCaPem }, summary: `Rotate ${spec.cluster.name}'s etcd certificates, one host at a time` },
    (r) => [`rotated ${r.cluster}'s etcd certificates${r.caChanged ? ' and CA (old and new trusted first, the old one dropped last)' : ''}`, ...r.phases.map((p) => `  ${p.phase}: ${p.hosts.filter((h) => h.restarted).map((h) => h.host).join(', ') || 'nothing to change'}`)].join('\n'),
  );
}

/** `backup`, `restore`, `replace-member` and `etcd ...`, wired to `run`. */
export function addEtcdCommands(program: Command, run: (p: Promise<number>) => void): void {
  const common = (c: Command) => withTemporalFlags(c.requiredOption('-i, --inventory <path>', 'inventory YAML').option('--wait', 'follow the run until it ends').option('--json', 'print JSON'));
  common(program.command('backup').description('etcd snapshot from a healthy member (a follower), copied into the backup folder, verified in a throwaway etcd; retention (workflow backup-<cluster>-<time>)')).action(
    (opts: RunFlags) => run(backupCommand(opts)),
  );
  common(
    program
      .command('restore')
      .description('restore every etcd member from a snapshot after quorum (or data) loss: data dirs kept aside, a new cluster token, dashboards and gateways restarted one at a time')
      .requiredOption('--snapshot <file>', 'the snapshot (from the backup folder)')
      .option('--force', 'restore although the cluster has quorum (every change since the snapshot is lost)'),
  ).action((opts: RunFlags & { snapshot?: string; force?: boolean }) => run(restoreCommand(opts)));
  common(
    program
      .command('replace-member')
      .description('replace an etcd member whose host is gone by a new host: member remove, member add, the new member joins; endpoints rewritten one host at a time')
      .requiredOption('--member <name>', 'the member (or host) that is gone, e.g. ha3')
      .requiredOption('--with <host>', 'the new host, in the inventory with the etcd role, e.g. ha6'),
  ).action((opts: RunFlags & { member?: string; with?: string }) => run(replaceMemberCommand(opts)));
  const etcd = program.command('etcd').description('etcd upkeep: status, defrag, disarm, rotate-certs');
  etcd
    .command('status')
    .description('members, leader, revision, db size, alarms, last backup and its verification, certificate expiry: one table (exit 1 when unhealthy)')
    .requiredOption('-i, --inventory <path>', 'inventory YAML')
    .option('--json', 'print JSON')
    .action((opts: { inventory?: string; json?: boolean }) => run(etcdStatusCommand(opts)));
  common(etcd.command('defrag').description('defragment one member at a time, followers first, the leader last (after handing leadership over); db size before and after')).action((opts: RunFlags) => run(upkeepCommand('defrag', opts)));
  common(etcd.command('disarm').description('recover from NOSPACE: compaction to the current revision, defrag one member at a time, alarm disarm')).action((opts: RunFlags) => run(upkeepCommand('disarm', opts)));
  common(etcd.command('rotate-certs').description("rotate etcd's mTLS material to the inventory's files: the new CA trusted first, certificates one host at a time, the old CA dropped")).action((opts: RunFlags) =>
    run(upkeepCommand('rotate-certs', opts)),
  );
}
