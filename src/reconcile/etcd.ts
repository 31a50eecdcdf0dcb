// etcd members and the quorum check.
//
// Safety rules (field notes): no code path deletes or empties an etcd data dir; a member whose
// configuration changed is recreated one at a time, with ETCD_INITIAL_CLUSTER_STATE=existing and its
// own data dir, only while the rest of the cluster has quorum; a re-run leaves a converged member alone.
import { readFile } from 'node:fs/promises';
import * as docker from '../commands/docker';
import * as etcd from '../commands/etcd';
import * as maint from '../commands/etcd-maintenance';
import * as files from '../commands/files';
import type { FileSpec } from '../commands/types';
import type { SshTarget } from '../inventory/model';
import type { EtcdMemberStep, QuorumCheckInput, TlsFiles } from '../steps/inputs';
import type { HostExecutor } from '../remote/executor';
import { PermanentError, pollUntil, type StepContext } from './context';
import { ensureImage, type ImageResult } from './images';
import { configHash, inspectContainer } from './containers';

export { canonicalJson, configHash, inspectContainer, type ContainerState } from './containers';

export type MemberAction = 'created' | 'started' | 'unchanged' | 'needs-recreate' | 'recreated';

export interface MemberResult {
  host: string;
  member: string;
  action: MemberAction;
  image: ImageResult;
  reason?: string;
}

export const memberHash = (step: EtcdMemberStep, imageId: string | undefined) => configHash({ member: etcd.memberConfigForHash(step.member), imageId: imageId ?? step.image.name });

async function tlsFileSpecs(dir: string, tls: TlsFiles, withServer: boolean): Promise<FileSpec[]> {
  const read = (p: string) => readFile(p, 'utf8');
  const specs: FileSpec[] = [
    { path: `${dir}/ca.pem`, content: await read(tls.caFile), mode: 0o644, secrets: 'none', backup: true, describe: 'etcd CA certificate' },
    { path: `${dir}/client.pem`, content: await read(tls.clientCertFile), mode: 0o644, secrets: 'none', backup: true, describe: 'etcd client certificate' },
    { path: `${dir}/client-key.pem`, content: await read(tls.clientKeyFile), mode: 0o600, secrets: 'none', backup: true, describe: 'etcd client key' },
  ];
  if (withServer && tls.serverCertFile && tls.serverKeyFile) {
    specs.push(
      { path: `${dir}/server.pem`, content: await read(tls.serverCertFile), mode: 0o644, secrets: 'none', backup: true, describe: 'etcd member certificate' },
      { path: `${dir}/server-key.pem`, content: await read(tls.serverKeyFile), mode: 0o600, secrets: 'none', backup: true, describe: 'etcd member key' },
    );
  }
  return specs;
}

/** Files a member needs besides its data dir: the auth env file and TLS material. */
async function memberFiles(ctx: StepContext, step: EtcdMemberStep, stamp: string): Promise<void> {
  const x = ctx.exec;
  const m = step.member;
  if (m.auth.enabled)
    await x.ensureFile({ path: etcd.envFileOnHost(m.dataDir), content: etcd.authEnvFile(), mode: 0o600, secrets: 'raw', backup: true, describe: 'etcd root password (env file, mode 600)' }, stamp);
  if (m.tls && step.tlsFiles) {
    const dir = etcd.certsDirOnHost(m.dataDir);
    if ((await x.run(files.isDir(dir))).code !== 0) await x.run(files.mkdirP(dir, '700'));
    for (const f of await tlsFileSpecs(dir, step.tlsFiles, true)) await x.ensureFile(f, stamp);
  }
}

/**
 * Bring one member to its desired state without ever touching a running member whose configuration
 * changed: that one is reported as "needs-recreate" for the workflow's one-at-a-time pass.
 */
export async function ensureMember(ctx: StepContext, step: EtcdMemberStep, stamp: string): Promise<MemberResult> {
  const x = ctx.exec;
  const m = step.member;
  const result = (action: MemberAction, image: ImageResult, reason?: string): MemberResult => ({ host: x.host, member: m.member.name, action, image, ...(reason ? { reason } : {}) });

  if ((await x.run(files.isDir(m.dataDir))).code !== 0) await x.run(files.mkdirP(m.dataDir));
  await memberFiles(ctx, step, stamp);
  const image = await ensureImage(ctx, step.image);
  const hash = memberHash(step, image.id);
  const current = await inspectContainer(x, m.containerName);

  if (!current) {
    // A data dir that already holds a member (container removed by hand, host restored) rejoins as
    // "existing"; bootstrapping it again would fail ("member has already been bootstrapped").
    let bootstrapped = (await x.run(files.isDir(`${m.dataDir}/member`))).code === 0;
    if (bootstrapped && step.joining) {
      // A host joining a running cluster (member add) starts empty: whatever member data it holds is
      // from another cluster or an earlier life. Kept aside, never deleted.
      const aside = `${etcd.withoutTrailingSlash(m.dataDir)}.before-join-${stamp}`;
      await x.run(maint.moveAside(m.dataDir, aside));
      await x.run(files.mkdirP(m.dataDir));
      bootstrapped = false;
    }
    await x.run(etcd.runMember(m, bootstrapped || step.joining ? 'existing' : 'new', hash));
    // No wait here: a member that crash-loops is caught by the quorum check (crashLoops below).
    return result('created', image, step.joining ? 'joined the running cluster (member add, state existing)' : bootstrapped ? 'rejoined with its existing data dir' : undefined);
  }
  if (current.labels[docker.LABELS.configHash] !== hash) {
    const why = current.labels[docker.LABELS.managedBy] ? 'its configuration changed' : 'it was not created by api7-ha (adopting it)';
    return result('needs-recreate', image, why);
  }
  if (!current.running) {
    await x.run(docker.start(m.containerName));
    return result('started', image);
  }
  return result('unchanged', image);
}

/**
 * Recreate one member with its data dir and ETCD_INITIAL_CLUSTER_STATE=existing. The old container is
 * renamed, not removed, until the new one is healthy; if it never gets healthy the old one comes back.
 * Safe to retry: a member already running with the desired hash only has leftovers cleaned up.
 */
export async function recreateMember(ctx: StepContext, step: EtcdMemberStep, stamp: string): Promise<MemberResult> {
  const x = ctx.exec;
  const m = step.member;
  const { image, parked } = await replaceContainer(ctx, step, stamp);
  if (x.planning) return { host: x.host, member: m.member.name, action: 'recreated', image };

  const own: etcd.EtcdctlTarget = { containerName: m.containerName, endpoints: [`${m.member.address}:${m.clientPort}`], auth: m.auth, tls: m.tls };
  try {
    await pollUntil(ctx, `etcd member ${m.member.name} healthy after recreation`, 60_000, 1000, async () => {
      const res = await x.run(etcd.endpointHealth(own));
      const healthy = parseHealth(res.stdout).every((h) => h.health) && res.code === 0;
      return healthy ? { done: true, value: true } : { done: false, reason: res.stderr.trim() || res.stdout.trim() };
    });
  } catch (e) {
    // Put the old member back rather than leave the cluster a member short.
    const parkedState = await inspectContainer(x, parked);
    if (parkedState) {
      await x.run(docker.stop(m.containerName)).catch(() => undefined);
      await x.run(docker.rename(m.containerName, `${m.containerName}-failed-${stamp}`)).catch(() => undefined);
      await x.run(docker.rename(parked, m.containerName));
      await x.run(docker.start(m.containerName));
    }
    throw e;
  }
  if (await inspectContainer(x, parked)) await x.run(docker.remove(parked));
  return { host: x.host, member: m.member.name, action: 'recreated', image };
}

/**
 * The first half of a recreation: the old container stopped and renamed (kept), a new one started with
 * its data dir and ETCD_INITIAL_CLUSTER_STATE=existing. No wait: a restore starts every member at once.
 */
export async function replaceContainer(ctx: StepContext, step: EtcdMemberStep, stamp: string): Promise<{ image: ImageResult; parked: string; replaced: boolean }> {
  const x = ctx.exec;
  const m = step.member;
  const image = await ensureImage(ctx, step.image);
  const hash = memberHash(step, image.id);
  const parked = `${m.containerName}-replaced-${stamp}`;
  const current = await inspectContainer(x, m.containerName);
  if (current && current.labels[docker.LABELS.configHash] === hash) return { image, parked, replaced: false };
  if (current) {
    const dataMount = current.mounts.find((mt) => mt.destination === '/etcd_data');
    if (dataMount && dataMount.source !== m.dataDir)
      throw new PermanentError(`${x.host}: the running etcd container keeps its data in ${dataMount.source}, not ${m.dataDir}; recreating it would start an empty member. Set etcd.data_dir: ${dataMount.source}`);
    if (current.running) await x.run(docker.stop(m.containerName));
    await x.run(docker.rename(m.containerName, parked));
  }
  await memberFiles(ctx, step, stamp);
  await x.run(etcd.runMember(m, 'existing', hash));
  return { image, parked, replaced: true };
}

// ---- quorum check -------------------------------------------------------------------------------

/** etcd prints 64-bit IDs as JSON numbers; keep them exact by reading them as strings. */
export const parseJsonBigInts = <T>(text: string): T => JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"')) as T;

export interface HealthEntry {
  endpoint: string;
  health: boolean;
  error?: string;
}
export function parseHealth(text: string): HealthEntry[] {
  try {
    return JSON.parse(text.trim() || '[]') as HealthEntry[];
  } catch {
    return [];
  }
}

interface StatusEntry {
  Endpoint: string;
  Status: {
    header: { member_id: string; raft_term: string | number; revision: string | number };
    leader?: string;
    raftTerm?: string | number;
    dbSize?: number;
    dbSizeInUse?: number;
    version?: string;
  };
}

/** `etcdctl alarm list` lines: "memberID:8211f1d0f64f3269 alarm:NOSPACE" (the ID in decimal on 3.4). */
export function parseAlarms(text: string): { memberId: string; alarm: string }[] {
  return text
    .split('\n')
    .map((l) => /memberID:(\w+)\s+alarm:(\w+)/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ memberId: m[1]!, alarm: m[2]! }));
}

/** What an operator does about a NOSPACE alarm, exactly. */
export const NOSPACE_FIX =
  'etcd is out of space (NOSPACE alarm): the cluster serves reads and deletes but refuses every write until the alarm is disarmed. ' +
  'Fix: `api7-ha etcd disarm -i INVENTORY` (compacts to the current revision, defragments one member at a time, followers first, then disarms); ' +
  'by hand: `etcdctl compaction <revision> --physical`, `etcdctl defrag --endpoints <each member, one at a time>`, `etcdctl alarm disarm`. ' +
  'If the live data itself is near the quota, raise etcd.quota_backend_bytes and deploy first.';
interface MemberEntry {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs?: string[];
}

export interface QuorumMember {
  name: string;
  id: string;
  peerUrl: string;
  healthy: boolean;
  endpoint?: string;
  isLeader: boolean;
  /** From endpoint status: the backend's size on disk and in use (after a defrag they meet), version. */
  dbSize?: number;
  dbSizeInUse?: number;
  version?: string;
}

export interface QuorumReport {
  healthy: boolean;
  problems: string[];
  leader?: string;
  leaderName?: string;
  term?: string;
  revision?: string;
  members: QuorumMember[];
  alarms?: { memberId: string; alarm: string }[];
  /** Not (yet) a failure: a backend close to its quota. */
  warnings?: string[];
  checkedVia?: string;
}

/** Judge the cluster from etcdctl's answers: all healthy, one leader, one term, no alarm, the right members. */
export function judgeQuorum(input: Pick<QuorumCheckInput, 'expectedMembers'> & { quotaBytes?: number }, raw: { health: string; status: string; alarms: string; members: string }): QuorumReport {
  const problems: string[] = [];
  const health = parseHealth(raw.health);
  let status: StatusEntry[] = [];
  let members: MemberEntry[] = [];
  try {
    status = parseJsonBigInts<StatusEntry[]>(raw.status.trim() || '[]');
  } catch {
    problems.push('endpoint status did not answer');
  }
  try {
    members = parseJsonBigInts<{ members?: MemberEntry[] }>(raw.members.trim() || '{}').members ?? [];
  } catch {
    problems.push('member list did not answer');
  }
  for (const h of health) if (!h.health) problems.push(`${h.endpoint} is unhealthy${h.error ? `: ${h.error}` : ''}`);
  if (health.length < input.expectedMembers.length) problems.push(`${health.length} of ${input.expectedMembers.length} endpoints answered the health check`);

  // etcd omits "leader" when it is 0 (json omitempty): a member without a leader.
  const leaders = new Set(status.map((s) => String(s.Status.leader ?? 0)));
  const terms = new Set(status.map((s) => String(s.Status.raftTerm ?? s.Status.header.raft_term)));
  if (status.length < input.expectedMembers.length) problems.push(`${status.length} of ${input.expectedMembers.length} members answered endpoint status`);
  if (leaders.size > 1) problems.push(`members disagree on the leader (${[...leaders].join(', ')})`);
  if (leaders.has('0')) problems.push('a member has no leader');
  if (terms.size > 1) problems.push(`members are in different raft terms (${[...terms].join(', ')})`);
  const alarms = raw.alarms.trim();
  const parsedAlarms = parseAlarms(alarms);
  if (alarms) problems.push(`alarms raised: ${alarms.replace(/\n/g, '; ')}`);
  if (parsedAlarms.some((a) => a.alarm === 'NOSPACE')) problems.push(NOSPACE_FIX);
  const warnings: string[] = [];
  if (input.quotaBytes)
    for (const st of status) {
      const size = st.Status.dbSize ?? 0;
      if (size > 0.8 * input.quotaBytes)
        warnings.push(`${st.Endpoint}: backend ${Math.round(size / 2 ** 20)} MiB is ${Math.round((100 * size) / input.quotaBytes)} % of the quota (${Math.round(input.quotaBytes / 2 ** 20)} MiB): run \`api7-ha etcd defrag\` or raise etcd.quota_backend_bytes before NOSPACE`);
    }

  const expectedNames = input.expectedMembers.map((m) => m.name).sort();
  const actualNames = members.map((m) => m.name).sort();
  if (members.length && JSON.stringify(expectedNames) !== JSON.stringify(actualNames))
    problems.push(`member list is [${actualNames.join(', ')}], the inventory says [${expectedNames.join(', ')}]`);
  for (const e of input.expectedMembers) {
    const m = members.find((x) => x.name === e.name);
    if (m && !m.peerURLs.includes(e.peerUrl)) problems.push(`member ${e.name} advertises ${m.peerURLs.join(', ')}, expected ${e.peerUrl}`);
  }

  const leader = leaders.size === 1 && !leaders.has('0') ? [...leaders][0] : undefined;
  const leaderMember = members.find((m) => String(m.ID) === leader);
  const healthyEndpoints = new Set(health.filter((h) => h.health).map((h) => h.endpoint));
  return {
    healthy: problems.length === 0,
    problems,
    ...(leader ? { leader } : {}),
    ...(leaderMember ? { leaderName: leaderMember.name } : {}),
    ...(terms.size === 1 ? { term: [...terms][0] } : {}),
    ...(status[0] ? { revision: String(status[0].Status.header.revision) } : {}),
    members: members.map((m) => {
      const endpoint = m.clientURLs?.[0];
      const st = status.find((x) => String(x.Status.header.member_id) === String(m.ID));
      return {
        name: m.name,
        id: String(m.ID),
        peerUrl: m.peerURLs[0] ?? '',
        healthy: endpoint ? healthyEndpoints.has(endpoint) : false,
        ...(endpoint ? { endpoint } : {}),
        isLeader: String(m.ID) === leader,
        ...(st?.Status.dbSize !== undefined ? { dbSize: st.Status.dbSize } : {}),
        ...(st?.Status.dbSizeInUse !== undefined ? { dbSizeInUse: st.Status.dbSizeInUse } : {}),
        ...(st?.Status.version ? { version: st.Status.version } : {}),
      };
    }),
    ...(parsedAlarms.length ? { alarms: parsedAlarms } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

/** One round of etcdctl checks, run in the first member container that answers. */
export async function readQuorum(execFor: (t: SshTarget) => HostExecutor, input: QuorumCheckInput): Promise<QuorumReport> {
  const errors: string[] = [];
  for (const via of input.via) {
    const x = execFor(via.target);
    const t: etcd.EtcdctlTarget = { ...input.etcdctl, containerName: via.containerName };
    try {
      const [health, status, alarms, members] = await Promise.all([
        x.run(etcd.endpointHealth(t)),
        x.run(etcd.endpointStatus(t)),
        x.run({ ...etcd.alarmList(t), okExit: [0, 1] }),
        x.run({ ...etcd.memberList(t), okExit: [0, 1] }),
      ]);
      const report = judgeQuorum(input, { health: health.stdout, status: status.stdout, alarms: alarms.code === 0 ? alarms.stdout : '', members: members.stdout });
      if (alarms.code !== 0) {
        report.problems.push('alarm list did not answer');
        report.healthy = false;
      }
      return { ...report, checkedVia: via.target.host };
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { healthy: false, problems: [`no member container answered: ${errors.join('; ')}`], members: [] };
}

/** A member container that keeps restarting will not join by waiting: report it with its logs. */
async function crashLoops(execFor: (t: SshTarget) => HostExecutor, input: QuorumCheckInput): Promise<void> {
  for (const via of input.via) {
    const x = execFor(via.target);
    const c = await inspectContainer(x, via.containerName).catch(() => undefined);
    if (c && !c.running && c.restartCount >= 3) {
      const logs = await x.run({ ...docker.logs(via.containerName, 10), okExit: [0, 1] });
      throw new PermanentError(`${x.host}: etcd member container keeps restarting (${c.restartCount} restarts): ${`${logs.stdout}\n${logs.stderr}`.trim().split('\n').slice(-5).join(' | ')}`, 'ContainerCrashLoop');
    }
  }
}

export async function waitForQuorum(ctx: Pick<StepContext, 'heartbeat' | 'signal'>, execFor: (t: SshTarget) => HostExecutor, input: QuorumCheckInput): Promise<QuorumReport> {
  let last: QuorumReport | undefined;
  let rounds = 0;
  try {
    return await pollUntil(ctx, 'etcd quorum', input.deadlineS * 1000, 500, async () => {
      last = await readQuorum(execFor, input);
      if (!last.healthy && ++rounds % 4 === 0) await crashLoops(execFor, input);
      return last.healthy ? { done: true, value: last } : { done: false, reason: last.problems.join('; ') };
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}${last ? ` (members: ${last.members.map((m) => `${m.name}${m.isLeader ? '*' : ''}:${m.healthy ? 'ok' : 'down'}`).join(', ')})` : ''}`);
  }
}
