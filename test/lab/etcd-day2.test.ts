// Day 2 for etcd on the lab, against real etcd members: backups verified in a throwaway etcd, NOSPACE
// on a tiny quota recovered with no data lost, a member whose host is gone replaced by a new host,
// and a restore after quorum loss. One lab (3 gateway hosts: ha6 is the spare that replaces ha3).
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabInfo } from '../../lab/lab';
import { verifySnapshot } from '../../src/backup/verify';
import { recordVerification } from '../../src/backup/store';
import { loadInventory } from '../../src/inventory/load';
import { etcdMembers, type ClusterSpec, type SshTarget } from '../../src/inventory/model';
import { backupFileName, backupStore, snapshotSources, snapshotStep, verifyInput } from '../../src/plan/etcd-inputs';
import { NOSPACE_FIX, ensureMember, readQuorum, recreateMember, waitForQuorum } from '../../src/reconcile/etcd';
import * as component from '../../src/reconcile/component';
import { compactToCurrent, defragMember, defragOrder, disarmAlarms, moveLeaderTo } from '../../src/reconcile/maintenance';
import { addMember, readMembershipPlan, removeMember } from '../../src/reconcile/membership';
import { restoreMemberData, startRestoredMember, stopMember } from '../../src/reconcile/restore';
import { DashboardClient, http, looksLikeUpstream } from '../../src/reconcile/http';
import { probeRoute, verifyPropagation } from '../../src/reconcile/verify';
import { inspectArtifacts } from '../../src/artifacts/inspect';
import { apiTarget, artifactPaths, componentStep, endpointsOf, etcdMemberInput, imageDelivery, probeSettings, quorumCheckInput, type ComponentStep } from '../../src/plan/inputs';
import { maintenanceInput, membershipInput, restoreMemberStep } from '../../src/plan/etcd-inputs';
import { controlPlaneHosts, dataPlaneHosts, hostByName } from '../../src/inventory/model';
import * as maint from '../../src/commands/etcd-maintenance';
import { digestKvs, parseGet } from '../../src/backup/verify';
import { fetchSnapshot, takeSnapshot } from '../../src/reconcile/snapshot';
import type { StepContext } from '../../src/reconcile/context';
import { HostExecutor } from '../../src/remote/executor';
import { SshPool } from '../../src/remote/ssh';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
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
  const ctxOn = (t: SshTarget): StepContext => ({ exec: execFor(t), heartbeat: () => undefined, log: () => undefined });
  const quiet = { heartbeat: () => undefined };

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
  /** One at a time behind the load balancer: conf rewritten (kept as .bak), restarted, healthy. */
  const rollComponents = async (s: ClusterSpec, stamp: string) => {
    const artifacts = await inspectArtifacts(artifactPaths(s));
    const steps: ComponentStep[] = [
      ...controlPlaneHosts(s).map((h) => componentStep(s, h, 'control_plane', artifacts.controlPlane, 'auto', stamp)),
      ...dataPlaneHosts(s).map((h) => componentStep(s, h, 'data_plane', artifacts.dataPlane, 'auto', stamp)),
    ];
    for (const st of steps) {
      const c = ctxOn(st.target);
      await component.configureComponent(c, st);
      await component.startComponent(c, st, true);
      await component.waitComponentHealthy(c, st);
    }
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

  void it('backs up from a follower, copies it off the host, and verifies it restores to the estate\'s keys', async () => {
    const q = await readQuorum(execFor, snapshotSources(spec).quorum);
    assert.equal(q.healthy, true, q.problems.join('; '));
    const follower = etcdMembers(spec).find((h) => (h.etcdName ?? h.name) !== q.leaderName)!;
    const step = snapshotStep(spec, follower, backupFileName('lab', '20250101T000000Z', 'manual'));
    const facts = await takeSnapshot(ctxOn(follower.ssh), step);
    assert.ok(Number(facts.revision) > 1);
    const { record } = await fetchSnapshot(ctxOn(follower.ssh), step, facts, backupStore(spec), { reason: 'manual' });
    const v = await verifySnapshot({ heartbeat: () => undefined }, execFor, verifyInput(spec, record.path, facts.revision));
    assert.equal(v.verdict, 'verified', JSON.stringify(v));
    assert.ok((v.snapshot?.keys ?? 0) >= 1);
    console.log(`# backup: save ${facts.saveMs} ms, ${facts.sizeBytes} bytes, ${v.snapshot?.keys} keys; verify ${v.ms.total} ms`);
    await recordVerification(record.path, v);
    // The operator's one table: members, leader, revision, sizes, the last backup and its verdict.
    const st = await cli(['etcd', 'status', '-i', inventory], env);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^etcd of lab: HEALTHY {3}leader api7-etcd-\d {3}revision \d+/);
    for (const m of ['api7-etcd-1', 'api7-etcd-2', 'api7-etcd-3']) assert.match(st.stdout, new RegExp(`\\n${m} .* (leader|follower) +healthy +3\\.4\\.\\d+ +\\d+\\.\\d MiB`));
    assert.match(st.stdout, /last backup: lab-20250101T000000Z-manual\.db \(manual, .*\) from api7-etcd-\d: revision \d+/);
    assert.match(st.stdout, /verification: VERIFIED at /);
    // The host's copy is gone (it lives in the backup folder).
    const left = await sshOk(info, hostOf(info, follower.name), 'ls -A /usr/local/etcd/api7-ha-snapshots');
    assert.equal(left.trim(), '');
  });

  void it('fills a tiny quota until NOSPACE: the quorum check says so with the fix; compaction, defrag and disarm recover it with no data lost', async () => {
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
    // What an operator sees meanwhile: CP writes fail, the DP keeps serving.
    const w = await writeRoute(client, 'during-nospace', 'during-nospace.test');
    assert.ok(w.status >= 400 || w.status === 0, `a write during NOSPACE is refused (${w.status})`);
    assert.equal(await served('before-nospace.test'), true);
    // The fix: the junk deleted (deletes are allowed under NOSPACE), compaction, defrag one at a time, disarm.
    await sshOk(info, ha1, 'docker exec etcd etcdctl del /lab-filler/blob');
    const m = maintenanceInput(spec);
    await compactToCurrent(execFor, m);
    const order = defragOrder(await readQuorum(execFor, quorumCheckInput(spec)));
    assert.equal(order[order.length - 1]!.isLeader, true, 'the leader goes last');
    const sizes = [];
    for (const [i, member] of order.entries()) {
      if (member.isLeader) await moveLeaderTo(execFor, m, order[0]!);
      sizes.push(await defragMember(execFor, m, { ...member, isLeader: member.isLeader && i === order.length - 1 }));
    }
    for (const d of sizes) assert.ok(d.after.dbSize < d.before.dbSize, `${d.member}: ${d.before.dbSize} -> ${d.after.dbSize}`);
    const disarmed = await disarmAlarms(execFor, m);
    assert.deepEqual(disarmed.remaining, []);
    assert.ok(disarmed.disarmed.some((a) => a.startsWith('NOSPACE')));
    await waitForQuorum(quiet, execFor, quorumCheckInput(spec, 30));
    assert.deepEqual(await estateDigest(), before, 'every key and value under /api7 is as before');
    await eventually('CP writes work again', async () => ((await writeRoute(client, 'after-nospace', 'after-nospace.test')).status < 300 ? true : undefined), 30_000);
    await eventually('and reach the gateways', async () => ((await served('after-nospace.test')) ? true : undefined), 30_000);
    console.log(`# nospace: defrag ${sizes.map((d) => `${d.member} ${Math.round(d.before.dbSize / 2 ** 20)}->${Math.round(d.after.dbSize / 2 ** 20)} MiB in ${d.ms} ms`).join(', ')}`);
  });

  void it('replaces ha3, powered off for good, by ha6: member remove, member add, ha6 joins; the estate serves', async () => {
    await lab.powerOff('ha3');
    const text = readFileSync(inventory, 'utf8');
    const ha3 = hostOf(info, 'ha3');
    const ha6 = hostOf(info, 'ha6');
    const replaced = join(info.dir, 'inventory-etcd-ha6.yaml');
    writeFileSync(replaced, text.replace(`{ name: ha3, address: ${ha3.address}, roles: [etcd] }`, `{ name: ha6, address: ${ha6.address}, roles: [etcd] }`));
    const next = loadInventory(replaced).spec;
    const mi = membershipInput(next);
    const plan = await readMembershipPlan(execFor, mi);
    assert.deepEqual(plan.problems, []);
    assert.equal(plan.change.remove?.name, 'api7-etcd-3');
    assert.equal(plan.change.add?.host, 'ha6');
    assert.equal(plan.quorum, true);
    assert.deepEqual(await removeMember(execFor, mi, plan.change.remove!), { removed: true });
    assert.deepEqual(await removeMember(execFor, mi, plan.change.remove!), { removed: false }, 'a retry finds it done');
    assert.equal((await addMember(execFor, mi, plan.change.add!)).added, true);
    const artifacts = await inspectArtifacts(artifactPaths(next));
    const h6 = hostByName(next, 'ha6');
    const step = { target: h6.ssh, secrets: next.secrets, member: etcdMemberInput(next, h6), image: imageDelivery(next, next.packages.etcdImage, artifacts.etcdImage), joining: true };
    const joined = await ensureMember(ctxOn(h6.ssh), step, '20250101T000000Z');
    assert.equal(joined.action, 'created');
    await waitForQuorum(quiet, execFor, quorumCheckInput(next, 60));
    // The survivors' ETCD_INITIAL_CLUSTER changed: recreated one at a time (existing), quorum between.
    for (const h of etcdMembers(next).filter((x) => x.name !== 'ha6')) {
      const st = { target: h.ssh, secrets: next.secrets, member: etcdMemberInput(next, h), image: imageDelivery(next, next.packages.etcdImage, artifacts.etcdImage) };
      if ((await ensureMember(ctxOn(h.ssh), st, '20250101T000001Z')).action === 'needs-recreate') await recreateMember(ctxOn(h.ssh), st, '20250101T000001Z');
      await waitForQuorum(quiet, execFor, quorumCheckInput(next, 60));
    }
    await rollComponents(next, '20250101T000002Z');
    const conf = await sshOk(info, hostOf(info, 'ha4'), 'cat /opt/api7/api7-2.13.2304-dp/gateway_conf/config.yaml');
    assert.ok(conf.includes(ha6.address) && !conf.includes(ha3.address), conf);
    spec = next;
    inventory = replaced;
    const v = await verifyPropagation(quiet, apiTarget(spec, endpointsOf(spec).controlPlane), endpointsOf(spec), probeSettings(spec), 'replaced', 60);
    assert.ok(v.propagationMs >= 0);
  });

  void it('restores after quorum loss: the DP serves from memory, CP writes fail; every member restored, writes back, no route lost', async () => {
    const client = dashboard();
    assert.ok((await writeRoute(client, 'before-snapshot', 'before-snapshot.test')).status < 300);
    await eventually('the route is served', async () => ((await served('before-snapshot.test')) ? true : undefined), 30_000);
    // A fresh snapshot (from a follower), in the backup folder.
    const q = await readQuorum(execFor, quorumCheckInput(spec));
    const follower = etcdMembers(spec).find((h) => (h.etcdName ?? h.name) !== q.leaderName)!;
    const sstep = snapshotStep(spec, follower, backupFileName('lab', '20250101T000100Z', 'drill'));
    const facts = await takeSnapshot(ctxOn(follower.ssh), sstep);
    const { record } = await fetchSnapshot(ctxOn(follower.ssh), sstep, facts, backupStore(spec), { reason: 'drill' });
    const digest = await estateDigest();
    // Quorum loss: two of three members stopped.
    const members = etcdMembers(spec);
    const t0 = Date.now();
    for (const h of members.slice(0, 2)) await stopMember(ctxOn(h.ssh), 'etcd');
    assert.equal(await served('before-snapshot.test'), true, 'gateways keep serving from memory');
    const w = await writeRoute(client, 'during-loss', 'during-loss.test');
    assert.ok(w.status >= 400 || w.status === 0, `a CP write without quorum fails (${w.status})`);
    // The restore: every member stopped, data dirs aside, snapshot restored with a new token, all started.
    const artifacts = await inspectArtifacts(artifactPaths(spec));
    const image = imageDelivery(spec, spec.packages.etcdImage, artifacts.etcdImage);
    const steps = members.map((h) => restoreMemberStep(spec, h, image, { localPath: record.path, fileName: record.fileName, sha256: record.sha256 }, '20250101T000200Z'));
    const restored = await Promise.all(steps.map((st) => restoreMemberData(ctxOn(st.target), st)));
    assert.ok(restored.every((r) => r.restored && r.aside?.endsWith('.before-restore-20250101T000200Z')));
    assert.ok((await Promise.all(steps.map((st) => restoreMemberData(ctxOn(st.target), st)))).every((r) => !r.restored), 'a retry finds them restored');
    await Promise.all(steps.map((st) => startRestoredMember(ctxOn(st.target), st)));
    await waitForQuorum(quiet, execFor, quorumCheckInput(spec, 120));
    const quorumMs = Date.now() - t0;
    assert.deepEqual(await estateDigest(), digest, 'the estate holds exactly the snapshot');
    for (const h of members) assert.match(await sshOk(info, hostOf(info, h.name), 'ls -d /usr/local/etcd/etcd_data.before-restore-*'), /before-restore-20250101T000200Z/);
    await rollComponents(spec, '20250101T000201Z');
    await eventually('CP writes are back', async () => ((await writeRoute(dashboard(), 'after-restore', 'after-restore.test')).status < 300 ? true : undefined), 60_000);
    const writesMs = Date.now() - t0;
    await eventually('the new route is served', async () => ((await served('after-restore.test')) ? true : undefined), 30_000);
    assert.equal(await served('before-snapshot.test'), true, 'no route written before the snapshot is lost');
    console.log(`# restore: quorum ${quorumMs} ms, CP writes ${writesMs} ms after the loss`);
  });
});
