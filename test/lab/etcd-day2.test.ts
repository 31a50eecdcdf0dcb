// Day 2 for etcd on the lab, against real etcd members: backups verified in a throwaway etcd, NOSPACE
// on a tiny quota recovered with no data lost, a member whose host is gone replaced by a new host,
// and a restore after quorum loss. One lab (3 gateway hosts: ha6 is the spare that replaces ha3).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabInfo } from '../../lab/lab';
import { digestKvs, parseGet } from '../../src/backup/verify';
import * as maint from '../../src/commands/etcd-maintenance';
import { loadInventory } from '../../src/inventory/load';
import { etcdMembers, type ClusterSpec, type SshTarget } from '../../src/inventory/model';
import { apiTarget, endpointsOf, probeSettings, quorumCheckInput } from '../../src/steps/inputs';
import { factsOf, productProfile } from '../../src/products';
import { NOSPACE_FIX, readQuorum } from '../../src/reconcile/etcd';
import { DashboardClient, http, looksLikeUpstream } from '../../src/reconcile/http';
import { probeRoute } from '../../src/reconcile/verify';
import { HostExecutor } from '../../src/remote/executor';
import { SshPool } from '../../src/remote/ssh';
import { BACKUP_STEPS, backup, type BackupStepId } from '../../src/runbook/backup';
import { DISARM_STEPS, defrag, disarm, type DefragStepId, type DisarmStepId } from '../../src/runbook/etcd-upkeep';
import { REPLACE_MEMBER_STEPS, replaceMember, type ReplaceMemberStepId } from '../../src/runbook/replace-member';
import { RESTORE_STEPS, restore, type RestoreStepId } from '../../src/runbook/restore';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { directRunner } from '../support/day2-runner';
import { eventually, hostOf, labSkip, ssh, sshOk, testLab } from '../support/lab';

const lab = testLab('etcd');
const env = temporalEnv(`api7-ha-lab-etcd-${process.pid}`);

void describe('day 2 for etcd on the lab', { skip: labSkip }, () => {
  let info: LabInfo;
  let worker: WorkerProcess;
  let inventory: string;
  let spec: ClusterSpec;
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
  const served = async (host: string, s: ClusterSpec = spec) => {
    const r = await http(`${endpointsOf(s).dataPlane}/get`, { headers: { Host: host }, timeoutMs: 2000 });
    return r.status === 200 && looksLikeUpstream(r.body);
  };

  before(async () => {
    info = await lab.up({ gateways: 3 });
    const base = readFileSync(info.inventoryPath, 'utf8');
    const ha6 = hostOf(info, 'ha6');
    // ha6 is the spare: not in the estate until it replaces ha3.
    inventory = join(info.dir, 'inventory-etcd.yaml');
    writeFileSync(inventory, base.split('\n').filter((l) => !l.includes(`address: ${ha6.address},`)).join('\n').concat('etcd:\n  quota_backend_bytes: 16777216\n'));
    spec = loadInventory(inventory).spec;
    worker = await startWorker(env);
    const d = await cli(['deploy', '-i', inventory, '--wait', '--failover', 'never'], env);
    assert.equal(d.code, 0, d.stderr);
  });
  after(async () => {
    await pool.closeAll();
    await worker?.kill('SIGTERM');
    await lab.down();
    rmSync(info.dir, { recursive: true, force: true });
  });

  void it('backs up from a follower, copies it off the host, verifies it restores to the estate\'s keys; status shows it', async () => {
    const r = directRunner<BackupStepId>(pool, 'backup-lab-1', '20250101T000000Z');
    const res = await backup(r, { spec, reason: 'manual' });
    assert.equal(res.verdict, 'verified', JSON.stringify(res.verification));
    assert.match(res.source.why, /a healthy follower/);
    const q = await readQuorum(execFor, quorumCheckInput(spec));
    assert.notEqual(res.source.member, q.leaderName, 'the leader is left alone');
    assert.equal(res.backup.fileName, 'lab-20250101T000000Z-manual.db');
    assert.equal(res.backup.sha256, createHash('sha256').update(readFileSync(res.backup.path)).digest('hex'));
    assert.deepEqual(r.steps.map((x) => [x.id, x.status]), BACKUP_STEPS.map((x) => [x.id, 'done']));
    console.log(`# backup: snapshot ${res.ms.snapshot} ms, copy ${res.ms.copy} ms, verify ${res.ms.verify} ms, ${res.backup.sizeBytes} bytes, ${res.verification?.snapshot?.keys} keys`);
    // The host's copy is gone (it lives in the backup folder).
    assert.equal((await sshOk(info, hostOf(info, res.source.host), 'ls -A /usr/local/etcd/api7-ha-snapshots')).trim(), '');
    // A second backup under the same name never replaces the first (once etcd holds anything new).
    assert.ok((await writeRoute(dashboard(), 'after-backup', 'after-backup.test')).status < 300);
    const again = directRunner<BackupStepId>(pool, 'backup-lab-1', '20250101T000000Z');
    await assert.rejects(backup(again, { spec, reason: 'manual' }), /never overwritten|already exists/);
    // The operator's one table: members, leader, revision, sizes, the last backup and its verdict.
    const st = await cli(['etcd', 'status', '-i', inventory], env);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^etcd of lab: HEALTHY {3}leader api7-etcd-\d {3}revision \d+/);
    for (const m of ['api7-etcd-1', 'api7-etcd-2', 'api7-etcd-3']) assert.match(st.stdout, new RegExp(`\\n${m} .* (leader|follower) +healthy +3\\.4\\.\\d+ +\\d+\\.\\d MiB`));
    assert.match(st.stdout, /last backup: lab-20250101T000000Z-manual\.db \(manual, .*\) from api7-etcd-\d: revision \d+/);
    assert.match(st.stdout, /verification: VERIFIED at /);
  });

  void it('fills a tiny quota until NOSPACE: the quorum check says so with the fix; etcd disarm (compaction, defrag one at a time, disarm) recovers it with no data lost', async () => {
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
    const r = directRunner<DisarmStepId>(pool, 'etcd-disarm-lab', '20250101T000010Z');
    const res = await disarm(r, { spec, product: factsOf(productProfile(spec.product)) });
    assert.deepEqual(r.steps.map((x) => [x.id, x.status]), DISARM_STEPS.map((x) => [x.id, 'done']));
    assert.equal(res.members.at(-1)!.wasLeader, true, 'the leader is defragmented last');
    for (const d of res.members) assert.ok(d.after.dbSize < d.before.dbSize, `${d.member}: ${d.before.dbSize} -> ${d.after.dbSize}`);
    assert.ok(res.disarmed.some((a) => a.startsWith('NOSPACE')));
    assert.equal(res.quorum.healthy, true);
    assert.deepEqual(await estateDigest(), before, 'every key and value under /api7 is as before');
    await eventually('CP writes work again', async () => ((await writeRoute(client, 'after-nospace', 'after-nospace.test')).status < 300 ? true : undefined), 30_000);
    await eventually('and reach the gateways', async () => ((await served('after-nospace.test')) ? true : undefined), 30_000);
    console.log(`# nospace: ${res.members.map((d) => `${d.member} ${Math.round(d.before.dbSize / 2 ** 20)}->${Math.round(d.after.dbSize / 2 ** 20)} MiB in ${d.ms} ms`).join(', ')}`);
  });

  void it('defragments one member at a time, followers first, handing leadership over before the leader', async () => {
    const q = await readQuorum(execFor, quorumCheckInput(spec));
    const r = directRunner<DefragStepId>(pool, 'etcd-defrag-lab', '20250101T000020Z');
    const res = await defrag(r, { spec, product: factsOf(productProfile(spec.product)) });
    assert.deepEqual(res.members.map((d) => d.member), [...q.members.filter((m) => !m.isLeader).map((m) => m.name), q.leaderName]);
    assert.equal(res.leaderMoved?.from, q.leaderName);
    assert.equal(res.quorum.healthy, true);
    assert.notEqual((await readQuorum(execFor, quorumCheckInput(spec))).leaderName, q.leaderName, 'the old leader was defragmented as a follower');
  });

  void it('replaces ha3, powered off for good, by ha6: member remove, member add, ha6 joins; the estate serves', async () => {
    await lab.powerOff('ha3');
    const text = readFileSync(inventory, 'utf8');
    const ha3 = hostOf(info, 'ha3');
    const ha6 = hostOf(info, 'ha6');
    const replaced = join(info.dir, 'inventory-etcd-ha6.yaml');
    writeFileSync(replaced, text.replace(`{ name: ha3, address: ${ha3.address}, roles: [etcd] }`, `{ name: ha6, address: ${ha6.address}, roles: [etcd] }`));
    const next = loadInventory(replaced).spec;
    const r = directRunner<ReplaceMemberStepId>(pool, 'replace-member-lab', '20250101T000030Z');
    const res = await replaceMember(r, { spec: next, product: factsOf(productProfile(next.product)), remove: 'api7-etcd-3', add: 'ha6' });
    console.log(`# replace-member: ${r.steps.map((x) => `${x.id} ${x.ms} ms`).join(', ')}`);
    assert.deepEqual(r.steps.map((x) => [x.id, x.status]), REPLACE_MEMBER_STEPS.map((x) => [x.id, 'done']));
    assert.equal(res.removed?.name, 'api7-etcd-3');
    assert.equal(res.added?.host, 'ha6');
    assert.equal(res.joined?.action, 'created');
    assert.match(res.before.record.fileName, /^lab-20250101T000030Z-before-replace\.db$/);
    assert.equal(res.quorum.healthy, true);
    assert.deepEqual(res.quorum.members.map((m) => m.peerUrl).sort(), etcdMembers(next).map((h) => `http://${h.address}:2380`).sort());
    assert.deepEqual(res.recreated.map((m) => m.action), ['unchanged', 'unchanged'], 'the healthy members are not restarted: the initial cluster only matters at bootstrap');
    const conf = await sshOk(info, hostOf(info, 'ha4'), 'cat /opt/api7/api7-2.13.2304-dp/gateway_conf/config.yaml');
    assert.ok(conf.includes(ha6.address) && !conf.includes(ha3.address), conf);
    assert.match(await sshOk(info, hostOf(info, 'ha4'), 'ls /opt/api7/api7-2.13.2304-dp/gateway_conf/'), /config\.yaml\.bak-20250101T000030Z/);
    // The same inventory deployed again changes nothing: the membership is what it says.
    spec = next;
    inventory = replaced;
    const d = await cli(['deploy', '-i', inventory, '--plan', '--json'], env);
    assert.equal(d.code, 0, d.stderr);
  });

  void it('restores after quorum loss: refused while it has quorum; the DP serves from memory, CP writes fail; every member restored, writes back, no route lost', async () => {
    const client = dashboard();
    assert.ok((await writeRoute(client, 'before-snapshot', 'before-snapshot.test')).status < 300);
    await eventually('the route is served', async () => ((await served('before-snapshot.test')) ? true : undefined), 30_000);
    const b = await backup(directRunner<BackupStepId>(pool, 'backup-lab-2', '20250101T000100Z'), { spec, reason: 'manual' });
    assert.equal(b.verdict, 'verified');
    const digest = await estateDigest();
    const input = { spec, product: factsOf(productProfile(spec.product)), snapshot: { localPath: b.backup.path, fileName: b.backup.fileName, sha256: b.backup.sha256 }, force: false };
    await assert.rejects(restore(directRunner<RestoreStepId>(pool, 'restore-lab-0', '20250101T000150Z'), input), /refused: the cluster has quorum .* use --force/);
    // Quorum loss: two of three members stopped.
    const members = etcdMembers(spec);
    for (const h of members.slice(0, 2)) await sshOk(info, hostOf(info, h.name), 'docker stop etcd');
    assert.equal(await served('before-snapshot.test'), true, 'gateways keep serving from memory');
    const w = await writeRoute(client, 'during-loss', 'during-loss.test');
    assert.ok(w.status >= 400 || w.status === 0, `a CP write without quorum fails (${w.status})`);
    const r = directRunner<RestoreStepId>(pool, 'restore-lab', '20250101T000200Z');
    const res = await restore(r, input);
    console.log(`# restore: ${r.steps.map((x) => `${x.id} ${x.ms} ms`).join(', ')}`);
    assert.deepEqual(r.steps.map((x) => [x.id, x.status]), RESTORE_STEPS.map((x) => [x.id, 'done']));
    assert.match(res.before?.record.fileName ?? res.beforeError ?? '', /lab-20250101T000200Z-before-restore\.db/, 'the one member still running was snapshotted first');
    assert.ok(res.members.every((m) => m.restored && m.aside?.endsWith('.before-restore-20250101T000200Z')));
    assert.equal(res.clusterToken, 'etcd-cluster-restore-20250101t000200z');
    assert.deepEqual(await estateDigest(), digest, 'the estate holds exactly the snapshot');
    for (const h of members) assert.match(await sshOk(info, hostOf(info, h.name), 'ls -d /usr/local/etcd/etcd_data.before-restore-*'), /before-restore-20250101T000200Z/);
    await eventually('CP writes are back', async () => ((await writeRoute(dashboard(), 'after-restore', 'after-restore.test')).status < 300 ? true : undefined), 60_000);
    await eventually('the new route is served', async () => ((await served('after-restore.test')) ? true : undefined), 30_000);
    assert.equal(await served('before-snapshot.test'), true, 'no route written before the snapshot is lost');
    console.log(`# restore: quorum ${res.ms.toQuorum} ms, verification route served ${res.ms.toWrites} ms after the members were stopped`);
  });
});
