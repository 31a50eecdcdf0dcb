// Day 2 for etcd on the lab, against real etcd members, as an operator runs it: every action a workflow
// on the worker, started from the CLI. Backups (by hand and from the schedule) verified in a throwaway
// etcd; NOSPACE on a tiny quota recovered with no data lost; defrag; a member whose host is powered off
// for good replaced by a new host, and a drill after it; a restore after quorum loss, measured, with
// the data plane probed throughout. One lab (3 gateway hosts: ha6 is the spare that replaces ha3).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabInfo } from '../../lab/lab';
import { digestKvs, parseGet } from '../../src/reconcile/verify-backup';
import * as maint from '../../src/commands/etcd-maintenance';
import { loadInventory } from '../../src/inventory/load';
import { controlPlaneHosts, dataPlaneHosts, etcdMembers, type ClusterSpec, type SshTarget } from '../../src/inventory/model';
import { apiTarget, endpointsOf, probeSettings, quorumCheckInput } from '../../src/steps/inputs';
import { NOSPACE_FIX, readQuorum } from '../../src/reconcile/etcd';
import { DashboardClient, http, looksLikeUpstream } from '../../src/reconcile/http';
import { probeRoute } from '../../src/reconcile/verify';
import { HostExecutor } from '../../src/remote/executor';
import { SshPool } from '../../src/remote/ssh';
import type { Client } from '@temporalio/client';
import { createClient, temporalSettings } from '../../src/client';
import type { DrillJournal } from '../../src/drills/journal';
import type { DeployResult } from '../../src/runbook/types';
import type { BackupResult } from '../../src/runbook/backup';
import type { DefragRunResult, DisarmResult } from '../../src/runbook/etcd-upkeep';
import type { ReplaceMemberResult } from '../../src/runbook/replace-member';
import type { RestoreResult } from '../../src/runbook/restore';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { eventually, hostOf, labSkip, ssh, sshOk, testLab } from '../support/lab';

const lab = testLab('etcd');
const env = temporalEnv(`api7-ha-lab-etcd-${process.pid}`);

void describe('day 2 for etcd on the lab', { skip: labSkip }, () => {
  let info: LabInfo;
  let worker: WorkerProcess;
  let inventory: string;
  let spec: ClusterSpec;
  let client: Client;
  const pool = new SshPool();
  const execFor = (t: SshTarget) => new HostExecutor(t, pool, 'apply', spec.secrets);

  /** Every key and value under /api7, as etcd holds them now (through ha1's member). */
  const estateDigest = async (s: ClusterSpec = spec) => {
    const via = etcdMembers(s)[0]!;
    const out = await execFor(via.ssh).run(maint.getPrefix({ ...quorumCheckInput(s).etcdctl, containerName: 'etcd' }, '/api7'));
    return digestKvs(parseGet(out.stdout));
  };
  const dashboard = (s: ClusterSpec = spec) => new DashboardClient(apiTarget(s, endpointsOf(s).controlPlane));
  const writeRoute = async (client: DashboardClient, id: string, host: string, s: ClusterSpec = spec) => {
    if (!client.hasToken) await client.login();
    return client.putRoute(id, { ...probeRoute(probeSettings(s), id), host });
  };
  /** A day-2 command with --wait --json: its result (the workflow's), or the failure with the worker's log. */
  const runJson = async <R>(args: string[], expectCode = 0): Promise<R & { workflowId: string; error?: string }> => {
    const r = await cli([...args, '--wait', '--json'], env);
    assert.equal(r.code, expectCode, `${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}\n${worker.output().slice(-3000)}`);
    return JSON.parse(r.stdout) as R & { workflowId: string; error?: string };
  };
  const served = async (host: string, s: ClusterSpec = spec) => {
    const r = await http(`${endpointsOf(s).dataPlane}/get`, { headers: { Host: host }, timeoutMs: 2000 });
    return r.status === 200 && looksLikeUpstream(r.body);
  };

  before(async () => {
    info = await lab.up({ gateways: 4 });
    const base = readFileSync(info.inventoryPath, 'utf8');
    const spares = [hostOf(info, 'ha6'), hostOf(info, 'ha7')];
    // ha6 and ha7 are the spares: not in the estate until ha6 replaces ha3 (replace-member) and ha7 replaces ha6 (deploy).
    inventory = join(info.dir, 'inventory-etcd.yaml');
    writeFileSync(inventory, base.split('\n').filter((l) => !spares.some((h) => l.includes(`address: ${h.address},`))).join('\n').concat('etcd:\n  quota_backend_bytes: 16777216\n'));
    spec = loadInventory(inventory).spec;
    client = await createClient(temporalSettings({ address: env.TEMPORAL_ADDRESS }));
    worker = await startWorker(env);
    const d = await cli(['deploy', '-i', inventory, '--wait', '--failover', 'never'], env);
    assert.equal(d.code, 0, d.stderr);
  });
  after(async () => {
    await pool.closeAll();
    await client?.connection.close();
    await worker?.kill('SIGTERM');
    await lab.down();
    rmSync(info.dir, { recursive: true, force: true });
  });

  void it('backs up from the CLI (a follower, off the host, verified against the estate) and from the schedule; status shows the last one', async () => {
    const res = await runJson<BackupResult>(['backup', '-i', inventory]);
    assert.match(res.workflowId, /^backup-lab-\d{8}T\d{6}Z$/);
    assert.equal(res.verdict, 'verified', JSON.stringify(res.verification));
    assert.match(res.source.why, /a healthy follower/);
    const q = await readQuorum(execFor, quorumCheckInput(spec));
    assert.notEqual(res.source.member, q.leaderName, 'the leader is left alone');
    assert.match(res.backup.fileName, /^lab-\d{8}T\d{6}Z-manual\.db$/);
    assert.equal(res.backup.sha256, createHash('sha256').update(readFileSync(res.backup.path)).digest('hex'));
    // The verdict compares the same thing an operator would: every key under /api7 at the snapshot's revision.
    assert.equal(res.verification?.prefix, '/api7');
    assert.deepEqual(res.verification?.snapshot, res.verification?.live);
    assert.ok((res.verification?.snapshot?.keys ?? 0) > 0);
    console.log(`# backup (CLI): ${res.ms.total} ms (snapshot ${res.ms.snapshot}, copy ${res.ms.copy}, verify ${res.ms.verify}), ${res.backup.sizeBytes} bytes, ${res.verification?.snapshot?.keys} keys`);
    // The host's copy is gone (it lives in the backup folder).
    assert.equal((await sshOk(info, hostOf(info, res.source.host), 'ls -A /usr/local/etcd/api7-ha-snapshots')).trim(), '');

    // Nightly: a schedule of verified backups beside the drills', triggered now.
    assert.ok((await writeRoute(dashboard(), 'after-backup', 'after-backup.test')).status < 300);
    const created = await cli(['schedule', 'create', '-i', inventory, '--cron', '0 3 * * *', '--backup'], env);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /backup-lab: 0 3 \* \* \*/);
    assert.equal((await cli(['schedule', 'trigger', 'backup-lab'], env)).code, 0);
    const id = await eventually('the scheduled backup starts', async () => (await client.schedule.getHandle('backup-lab').describe()).info.recentActions[0]?.action.workflow.workflowId, 30_000);
    const nightly = (await client.workflow.getHandle(id).result()) as BackupResult;
    assert.equal(nightly.verdict, 'verified', JSON.stringify(nightly.verification));
    assert.match(nightly.backup.fileName, /^lab-\d{8}T\d{6}Z-scheduled\.db$/);
    assert.ok((nightly.verification?.snapshot?.keys ?? 0) > (res.verification?.snapshot?.keys ?? 0), 'the route written since is in the nightly backup');
    assert.ok(readFileSync(res.backup.path).length > 0, 'the earlier backup is kept');
    assert.equal((await cli(['schedule', 'delete', 'backup-lab'], env)).code, 0);

    // The operator's one table: members, leader, revision, sizes, the last backup and its verdict.
    const st = await cli(['etcd', 'status', '-i', inventory], env);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^etcd of lab: HEALTHY {3}leader api7-etcd-\d {3}revision \d+/);
    for (const m of ['api7-etcd-1', 'api7-etcd-2', 'api7-etcd-3']) assert.match(st.stdout, new RegExp(`\\n${m} .* (leader|follower) +healthy +3\\.4\\.\\d+ +\\d+\\.\\d MiB`));
    assert.match(st.stdout, new RegExp(`last backup: ${nightly.backup.fileName.replace(/\./g, '\\.')} \\(scheduled, .*\\) from api7-etcd-\\d: revision \\d+`));
    assert.match(st.stdout, /verification: VERIFIED at /);
  });

  void it('fills a tiny quota until NOSPACE: the quorum check says so with the fix; `etcd disarm` (compaction, defrag one at a time, disarm) recovers it with no data lost; `etcd defrag` leaves the leader last', async () => {
    const client = dashboard();
    assert.equal((await writeRoute(client, 'before-nospace', 'before-nospace.test')).status < 300, true);
    await eventually('the route is served', async () => ((await served('before-nospace.test')) ? true : undefined), 30_000);
    const before = await estateDigest();
    const ha1 = hostOf(info, 'ha1');
    // Overwrite one key outside the product's prefix with 1 MB values until etcd refuses.
    let refused = '';
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await ssh(info, ha1, 'head -c 1000000 /dev/urandom | base64 -w0 | docker exec -i etcd etcdctl put /lab-filler/blob');
      if (r.code !== 0) refused = r.stderr;
    }
    assert.match(refused, /database space exceeded/);
    const q = await readQuorum(execFor, quorumCheckInput(spec));
    assert.equal(q.healthy, false);
    assert.ok(q.problems.includes(NOSPACE_FIX), q.problems.join('\n'));
    const st = await cli(['etcd', 'status', '-i', inventory], env);
    assert.equal(st.code, 1, 'status exits 1 when etcd is unhealthy');
    assert.match(st.stdout, /NOSPACE/);
    assert.match(st.stdout, /problem: etcd is out of space .*api7-ha etcd disarm -i INVENTORY/);
    // What an operator sees meanwhile: CP writes fail, the DP keeps serving.
    const w = await writeRoute(client, 'during-nospace', 'during-nospace.test');
    assert.ok(w.status >= 400 || w.status === 0, `a write during NOSPACE is refused (${w.status})`);
    assert.equal(await served('before-nospace.test'), true);
    // The compaction alone cannot free what the newest revision holds: the junk is deleted first (deletes pass under NOSPACE).
    await sshOk(info, ha1, 'docker exec etcd etcdctl del /lab-filler/blob');
    const res = await runJson<DisarmResult>(['etcd', 'disarm', '-i', inventory]);
    assert.match(res.workflowId, /^etcd-disarm-lab-/);
    assert.equal(res.members.at(-1)!.wasLeader, true, 'the leader is defragmented last');
    for (const d of res.members) assert.ok(d.after.dbSize < d.before.dbSize, `${d.member}: ${d.before.dbSize} -> ${d.after.dbSize}`);
    assert.ok(res.disarmed.some((a) => a.startsWith('NOSPACE')));
    assert.equal(res.quorum.healthy, true);
    assert.deepEqual(await estateDigest(), before, 'every key and value under /api7 is as before');
    await eventually('CP writes work again', async () => ((await writeRoute(client, 'after-nospace', 'after-nospace.test')).status < 300 ? true : undefined), 30_000);
    await eventually('and reach the gateways', async () => ((await served('after-nospace.test')) ? true : undefined), 30_000);
    console.log(`# nospace: ${res.members.map((d) => `${d.member} ${Math.round(d.before.dbSize / 2 ** 20)}->${Math.round(d.after.dbSize / 2 ** 20)} MiB in ${d.ms} ms`).join(', ')}`);

    const q2 = await readQuorum(execFor, quorumCheckInput(spec));
    const df = await runJson<DefragRunResult>(['etcd', 'defrag', '-i', inventory]);
    assert.deepEqual(df.members.map((d) => d.member), [...q2.members.filter((m) => !m.isLeader).map((m) => m.name), q2.leaderName]);
    assert.equal(df.leaderMoved?.from, q2.leaderName);
    assert.equal(df.quorum.healthy, true);
    assert.notEqual((await readQuorum(execFor, quorumCheckInput(spec))).leaderName, q2.leaderName, 'the old leader was defragmented as a follower');
  });

  void it('replaces ha3, powered off for good, by ha6 from the CLI: member remove, member add, ha6 joins; endpoints rewritten', async () => {
    await lab.powerOff('ha3');
    const text = readFileSync(inventory, 'utf8');
    const ha3 = hostOf(info, 'ha3');
    const ha6 = hostOf(info, 'ha6');
    const replaced = join(info.dir, 'inventory-etcd-ha6.yaml');
    writeFileSync(replaced, text.replace(`{ name: ha3, address: ${ha3.address}, roles: [etcd] }`, `{ name: ha6, address: ${ha6.address}, roles: [etcd] }`));
    const next = loadInventory(replaced).spec;
    // The wrong member named: refused before anything starts (a host the inventory keeps), or by the
    // workflow's check against the live member list (a member name): nothing changed either way.
    const wrong = await cli(['replace-member', '-i', replaced, '--member', 'ha2', '--with', 'ha6'], env);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /--member ha2: ha2 is an etcd host the inventory keeps beside ha6/);
    const wrongMember = await runJson<ReplaceMemberResult>(['replace-member', '-i', replaced, '--member', 'api7-etcd-2', '--with', 'ha6'], 1);
    assert.match(wrongMember.error ?? '', /refused: the member the inventory no longer has is api7-etcd-3 .*, not api7-etcd-2/);
    const t0 = Date.now();
    const res = await runJson<ReplaceMemberResult>(['replace-member', '-i', replaced, '--member', 'ha3', '--with', 'ha6']);
    console.log(`# replace-member (CLI): ${Date.now() - t0} ms`);
    assert.equal(res.removed?.name, 'api7-etcd-3');
    assert.equal(res.added?.host, 'ha6');
    assert.equal(res.joined?.action, 'created');
    assert.match(res.before.record.fileName, /^lab-\d{8}T\d{6}Z-before-replace\.db$/);
    assert.equal(res.quorum.healthy, true);
    assert.deepEqual(res.quorum.members.map((m) => m.peerUrl).sort(), etcdMembers(next).map((h) => `http://${h.address}:2380`).sort());
    assert.deepEqual(res.recreated.map((m) => m.action), ['unchanged', 'unchanged'], 'the healthy members are not restarted: the initial cluster only matters at bootstrap');
    const conf = await sshOk(info, hostOf(info, 'ha4'), 'cat /opt/api7/api7-2.13.2304-dp/gateway_conf/config.yaml');
    assert.ok(conf.includes(ha6.address) && !conf.includes(ha3.address), conf);
    assert.match(await sshOk(info, hostOf(info, 'ha4'), 'ls /opt/api7/api7-2.13.2304-dp/gateway_conf/'), /config\.yaml\.bak-\d{8}T\d{6}Z/);
    spec = next;
    inventory = replaced;
  });

  void it('replaces ha6, powered off for good, by ha7 with the inventory change alone and `deploy`: the same path (snapshot, remove, add as existing), no fresh bootstrap; a drill passes after', async () => {
    await lab.powerOff('ha6');
    const ha6 = hostOf(info, 'ha6');
    const ha7 = hostOf(info, 'ha7');
    const replaced = join(info.dir, 'inventory-etcd-ha7.yaml');
    writeFileSync(replaced, readFileSync(inventory, 'utf8').replace(`{ name: ha6, address: ${ha6.address}, roles: [etcd] }`, `{ name: ha7, address: ${ha7.address}, roles: [etcd] }`));
    const next = loadInventory(replaced).spec;
    const plan = await cli(['deploy', '-i', replaced, '--plan'], env);
    assert.equal(plan.code, 0, `${plan.stdout}\n${plan.stderr}`);
    assert.match(plan.stdout, /would run etcdctl member remove api7-etcd-3 \(http:\/\/[\d.]+:2380\)/);
    assert.match(plan.stdout, new RegExp(`would run etcdctl member add api7-etcd-3 --peer-urls=http://${ha7.address.replace(/\./g, '\\.')}:2380, then start ha7 with state existing`));
    const t0 = Date.now();
    const d = await runJson<DeployResult>(['deploy', '-i', replaced, '--failover', 'never']);
    console.log(`# replace by deploy: ${Date.now() - t0} ms`);
    assert.deepEqual(d.etcd.membership, { removed: 'api7-etcd-3', added: 'ha7' });
    assert.match(d.etcd.snapshotBefore ?? '', /^lab-\d{8}T\d{6}Z-before-replace\.db$/);
    assert.equal(d.etcd.quorum.healthy, true);
    assert.deepEqual(d.etcd.quorum.members.map((m) => m.peerUrl).sort(), etcdMembers(next).map((h) => `http://${h.address}:2380`).sort());
    assert.ok((await sshOk(info, ha7, 'docker inspect etcd --format "{{range .Config.Env}}{{println .}}{{end}}"')).includes('ETCD_INITIAL_CLUSTER_STATE=existing'), 'ha7 joined as existing, not bootstrapped');
    const conf = await sshOk(info, hostOf(info, 'ha5'), 'cat /opt/api7/api7-2.13.2304-dp/gateway_conf/config.yaml');
    assert.ok(conf.includes(ha7.address) && !conf.includes(ha6.address), conf);
    spec = next;
    inventory = replaced;
    // The estate is whole again: the runbook's etcd check passes with the new member as the one lost
    // (a voting member: the cluster keeps quorum without it, and it rejoins).
    const drill = await runJson<DrillJournal>(['drill', '-i', inventory, '--scenarios', 'etcd-member-loss', '--victim', 'ha7']);
    assert.equal(drill.verdict, 'passed', drill.scenarios.map((x) => `${x.id}: ${x.status} ${x.error ?? ''}`).join('\n'));
  });

  void it('restores after quorum loss from the CLI: refused while it has quorum; the DP serves from memory throughout, CP writes fail; every member restored, writes back, no route lost', async () => {
    const cp = dashboard();
    assert.ok((await writeRoute(cp, 'before-snapshot', 'before-snapshot.test')).status < 300);
    await eventually('the route is served', async () => ((await served('before-snapshot.test')) ? true : undefined), 30_000);
    const b = await runJson<BackupResult>(['backup', '-i', inventory]);
    assert.equal(b.verdict, 'verified');
    const digest = await estateDigest();
    const refusedRun = await runJson<RestoreResult>(['restore', '-i', inventory, '--snapshot', b.backup.path], 1);
    assert.match(refusedRun.error ?? '', /refused: the cluster has quorum .* use --force/);
    assert.deepEqual(await estateDigest(), digest, 'the refused restore touched nothing');

    // The data plane probed the whole time, as a client would: every request counted.
    const probes = { total: 0, failedAt: [] as number[] };
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        probes.total++;
        const at = Date.now();
        if (!(await served('before-snapshot.test').catch(() => false))) probes.failedAt.push(at);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const members = etcdMembers(spec);
    let res: RestoreResult & { workflowId: string };
    let tLoss = 0;
    let tRestore = 0;
    let tWrite = 0;
    try {
      // Quorum loss: two of three members stopped.
      tLoss = Date.now();
      for (const h of members.slice(0, 2)) await sshOk(info, hostOf(info, h.name), 'docker stop etcd');
      const w = await writeRoute(cp, 'during-loss', 'during-loss.test');
      assert.ok(w.status >= 400 || w.status === 0, `a CP write without quorum fails (${w.status})`);
      const st = await cli(['etcd', 'status', '-i', inventory], env);
      assert.equal(st.code, 1, 'status says the cluster is unhealthy');
      tRestore = Date.now();
      res = await runJson<RestoreResult>(['restore', '-i', inventory, '--snapshot', b.backup.path]);
      await eventually('CP writes are back', async () => ((await writeRoute(dashboard(), 'after-restore', 'after-restore.test')).status < 300 ? (tWrite = Date.now()) : undefined), 60_000);
    } finally {
      probing = false;
      await probeLoop;
    }
    assert.match(res.workflowId, /^restore-lab-/);
    assert.match(res.before?.record.fileName ?? res.beforeError ?? '', /lab-\d{8}T\d{6}Z-before-restore\.db/, 'the one member still running was snapshotted first');
    assert.ok(res.members.every((m) => m.restored && /\.before-restore-\d{8}T\d{6}Z$/.test(m.aside ?? '')), JSON.stringify(res.members));
    assert.match(res.clusterToken, /^etcd-cluster-restore-\d{8}t\d{6}z$/);
    assert.equal(res.quorum.healthy, true);
    assert.deepEqual(res.restarted.map((x) => x.host), [...controlPlaneHosts(spec), ...dataPlaneHosts(spec)].map((h) => h.name), 'dashboards, then gateways, one at a time');
    for (const h of members) assert.match(await sshOk(info, hostOf(info, h.name), 'ls -d /usr/local/etcd/etcd_data.before-restore-*'), /before-restore-\d{8}T\d{6}Z/);
    await eventually('the new route is served', async () => ((await served('after-restore.test')) ? true : undefined), 30_000);
    assert.equal(await served('before-snapshot.test'), true, 'no route written before the snapshot is lost');
    const after = await estateDigest();
    assert.ok(after.keys >= digest.keys, 'every key of the snapshot is back');
    const duringLoss = probes.failedAt.filter((t) => t < tRestore);
    const duringRestore = probes.failedAt.filter((t) => t >= tRestore);
    console.log(
      `# restore (CLI): quorum ${res.ms.toQuorum} ms and the verification route served ${res.ms.toWrites} ms after the members were stopped (workflow ${res.ms.total} ms); ` +
        `CP writes back ${tWrite - tLoss} ms after quorum was lost; DP probes ${probes.failedAt.length} failed of ${probes.total}: ${duringLoss.length} during the quorum loss (${tRestore - tLoss} ms), ` +
        `${duringRestore.length} during the restore (at ${duringRestore.map((t) => `+${t - tRestore} ms`).join(', ') || '-'}; gateways restarted one at a time: ${res.restarted.map((x) => `${x.host} ${x.ms} ms`).join(', ')})`,
    );
    // Without quorum the gateways serve from memory: not one request fails.
    assert.deepEqual(duringLoss, [], `the gateways kept serving from memory while etcd had no quorum (${duringLoss.length} failed)`);
  });
});
