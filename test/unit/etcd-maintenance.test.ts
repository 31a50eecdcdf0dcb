// The day-2 etcdctl commands, exactly: snapshots in a throwaway container of the member image,
// membership by hex ID, upkeep one endpoint at a time; secrets only on stdin; probes vs changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EtcdctlTarget } from '../../src/commands/etcd';
import * as maint from '../../src/commands/etcd-maintenance';
import { shellLine } from '../../src/commands/shell';
import { planMembershipChange, parseMemberList } from '../../src/reconcile/membership';
import { defragOrder } from '../../src/reconcile/maintenance';
import { parseSnapshotStatus } from '../../src/reconcile/snapshot';
import { backupFileName, BACKUP_FILE, restoreToken } from '../../src/steps/etcd-inputs';

const tool: maint.ToolImage = { cluster: 'lab', image: 'bitnami/etcd:3.4.13', dataDir: '/usr/local/etcd/etcd_data', tls: false };
const settings = (auth: boolean, tls = false) => ({ endpoints: ['10.0.0.11:2379', '10.0.0.12:2379', '10.0.0.13:2379'], auth: { enabled: auth, user: 'root' }, tls });
const target = (auth: boolean, tls = false): EtcdctlTarget => ({ containerName: 'etcd', ...settings(auth, tls) });
const LABELS = ['--label', 'io.api7-ha.managed-by=api7-ha', '--label', 'io.api7-ha.cluster=lab', '--label', 'io.api7-ha.role=etcd-tool'];

void describe('snapshots beside the member, in a throwaway container of its image', () => {
  void it('save: one endpoint, the host\'s snapshot folder mounted, a long command timeout', () => {
    const cmd = maint.snapshotSave(tool, settings(false), '10.0.0.12:2379', 'lab-20250101T000000Z-manual.db');
    assert.deepEqual(cmd.argv, [
      'docker', 'run', '--rm', '--network', 'host', '-u', 'root', ...LABELS,
      '-v', '/usr/local/etcd/api7-ha-snapshots:/snapshots',
      '--entrypoint', 'etcdctl', 'bitnami/etcd:3.4.13',
      '--endpoints', 'http://10.0.0.12:2379', '--dial-timeout', '2s', '--command-timeout', '600s',
      'snapshot', 'save', '/snapshots/lab-20250101T000000Z-manual.db',
    ]);
    assert.equal(cmd.mutates, true);
    assert.equal(cmd.sudo, true);
    assert.equal(cmd.stdin, undefined);
  });

  void it('save with auth and mTLS: credentials on stdin, certificates mounted read-only, https', () => {
    const cmd = maint.snapshotSave({ ...tool, tls: true }, settings(true, true), '10.0.0.12:2379', 'f.db');
    assert.deepEqual(cmd.argv.slice(0, 4), ['docker', 'run', '--rm', '-i']);
    assert.ok(cmd.argv.includes('/usr/local/etcd/api7-ha-etcd-certs:/etcd_certs:ro'));
    const e = cmd.argv.indexOf('--entrypoint');
    assert.deepEqual(cmd.argv.slice(e, e + 5), ['--entrypoint', 'sh', 'bitnami/etcd:3.4.13', '-c', 'IFS= read -r ETCDCTL_USER && export ETCDCTL_USER && exec etcdctl "$@"']);
    assert.ok(cmd.argv.includes('https://10.0.0.12:2379'));
    assert.deepEqual(cmd.argv.slice(-9, -3), ['--cacert', '/etcd_certs/ca.pem', '--cert', '/etcd_certs/client.pem', '--key', '/etcd_certs/client-key.pem']);
    assert.equal(cmd.stdin, 'root:__SECRET_etcd_password__\n');
    assert.ok(!cmd.argv.some((a) => a.includes('__SECRET_')));
  });

  void it('status: a read-only probe with no network and the folder read-only', () => {
    const cmd = maint.snapshotStatus({ ...tool, tls: true }, 'f.db');
    assert.equal(
      shellLine(cmd.argv),
      'docker run --rm --network none -u root --label io.api7-ha.managed-by=api7-ha --label io.api7-ha.cluster=lab --label io.api7-ha.role=etcd-tool -v /usr/local/etcd/api7-ha-snapshots:/snapshots:ro --entrypoint etcdctl bitnami/etcd:3.4.13 snapshot status /snapshots/f.db -w json',
    );
    assert.equal(cmd.mutates, false);
  });

  void it('restore: name, initial cluster, a new token, the peer URL, into a staging folder of the new data dir; no network', () => {
    const cmd = maint.snapshotRestore(tool, 'f.db', { name: 'api7-etcd-2', initialCluster: 'api7-etcd-1=http://10.0.0.11:2380,api7-etcd-2=http://10.0.0.12:2380', clusterToken: 'etcd-cluster-restore-x', peerUrl: 'http://10.0.0.12:2380' });
    assert.equal(
      shellLine(cmd.argv),
      'docker run --rm --network none -u root --label io.api7-ha.managed-by=api7-ha --label io.api7-ha.cluster=lab --label io.api7-ha.role=etcd-tool ' +
        '-v /usr/local/etcd/etcd_data:/etcd_data -v /usr/local/etcd/api7-ha-snapshots:/snapshots:ro --entrypoint etcdctl bitnami/etcd:3.4.13 ' +
        'snapshot restore /snapshots/f.db --name api7-etcd-2 --initial-cluster api7-etcd-1=http://10.0.0.11:2380,api7-etcd-2=http://10.0.0.12:2380 ' +
        '--initial-cluster-token etcd-cluster-restore-x --initial-advertise-peer-urls http://10.0.0.12:2380 --data-dir /etcd_data/.api7-ha-restore',
    );
    assert.equal(cmd.mutates, true);
  });

  void it('the data dir is moved aside (no clobber, never into it), never removed', () => {
    assert.equal(maint.asideDir('/usr/local/etcd/etcd_data/', 'restore', '20250101T000000Z'), '/usr/local/etcd/etcd_data.before-restore-20250101T000000Z');
    assert.deepEqual(maint.moveAside('/a', '/b').argv, ['mv', '-n', '-T', '/a', '/b']);
    assert.deepEqual(maint.removeEmptyDir('/d/.api7-ha-restore').argv, ['rmdir', '--', '/d/.api7-ha-restore']);
    assert.deepEqual(maint.removeSnapshotCopy('/usr/local/etcd/etcd_data', 'f.db').argv, ['rm', '-f', '--', '/usr/local/etcd/api7-ha-snapshots/f.db']);
  });

  void it('parses snapshot status', () => {
    assert.deepEqual(parseSnapshotStatus('{"hash":3787460013,"revision":17,"totalKey":9,"totalSize":20480}\n'), { hash: 3787460013, revision: 17, totalKey: 9, totalSize: 20480 });
    assert.throws(() => parseSnapshotStatus('Error: snapshot file has wrong size'), /printed no JSON/);
  });

  void it('names backups by cluster, time and reason, sortable and matched back', () => {
    const n = backupFileName('prod-eu', '20250102T030405Z', 'before-recreate');
    assert.equal(n, 'prod-eu-20250102T030405Z-before-recreate.db');
    assert.deepEqual(BACKUP_FILE.exec(n)?.slice(1), ['prod-eu', '20250102T030405Z', 'before-recreate']);
    assert.equal(BACKUP_FILE.exec('prod-eu-20250102T030405Z-manual.db.json'), null);
  });
});

void describe('membership and upkeep', () => {
  void it('member add/remove and move-leader take hex IDs from etcd\'s decimal ones', () => {
    assert.equal(maint.memberIdHex('10501334649042878790'), '91bc3c398fb3c146');
    assert.deepEqual(maint.memberRemove(target(false), '10501334649042878790', 'api7-etcd-3').argv.slice(-3), ['member', 'remove', '91bc3c398fb3c146']);
    assert.deepEqual(maint.memberAdd(target(false), 'api7-etcd-3', 'http://10.0.0.16:2380').argv.slice(-6), ['member', 'add', 'api7-etcd-3', '--peer-urls=http://10.0.0.16:2380', '-w', 'json']);
    assert.deepEqual(maint.moveLeader(target(false), '10501334649042878790', 'x').argv.slice(-2), ['move-leader', '91bc3c398fb3c146']);
    for (const c of [maint.memberRemove(target(true), '1', 'a'), maint.memberAdd(target(true), 'a', 'http://x:2380'), maint.moveLeader(target(true), '1', 'a')]) {
      assert.equal(c.mutates, true);
      assert.equal(c.stdin, 'root:__SECRET_etcd_password__\n');
    }
  });

  void it('defrag targets one endpoint; compaction waits for the physical compaction; get reads at a revision', () => {
    const d = maint.defrag(target(false), '10.0.0.12:2379');
    assert.deepEqual(d.argv, ['docker', 'exec', 'etcd', 'etcdctl', '--endpoints', 'http://10.0.0.12:2379', '--dial-timeout', '2s', '--command-timeout', '300s', 'defrag']);
    assert.equal(d.mutates, true);
    assert.deepEqual(maint.compact(target(false), '1234').argv.slice(-3), ['compaction', '1234', '--physical']);
    const g = maint.getPrefix(target(false), '/api7', '42');
    assert.deepEqual(g.argv.slice(-6), ['get', '/api7', '--prefix', '--rev=42', '-w', 'json']);
    assert.equal(g.mutates, false);
    assert.deepEqual(maint.alarmDisarm(target(false)).argv.slice(-2), ['alarm', 'disarm']);
    assert.deepEqual(maint.endpointStatusOf(target(false), ['10.0.0.13:2379']).argv.slice(4, 6), ['--endpoints', 'http://10.0.0.13:2379']);
  });

  void it('defragments followers first and the leader last', () => {
    const m = (name: string, isLeader: boolean) => ({ name, id: name, peerUrl: '', healthy: true, isLeader });
    assert.deepEqual(defragOrder({ members: [m('a', true), m('b', false), m('c', false)] }).map((x) => x.name), ['b', 'c', 'a']);
  });

  void it('the throwaway etcd listens on 127.0.0.1 only, with the snapshot restored under its own name', () => {
    const s = { dataDir: '/tmp/v/data', clientPort: 40001, peerPort: 40002 };
    assert.deepEqual(maint.scratchRestoreArgv('/b/f.db', s), ['snapshot', 'restore', '/b/f.db', '--name', 'api7-ha-verify', '--initial-cluster', 'api7-ha-verify=http://127.0.0.1:40002', '--initial-cluster-token', 'api7-ha-verify', '--initial-advertise-peer-urls', 'http://127.0.0.1:40002', '--data-dir', '/tmp/v/data']);
    const argv = maint.scratchEtcdArgv(s);
    assert.ok(argv.filter((a) => a.startsWith('http')).every((u) => u.startsWith('http://127.0.0.1:')));
  });

  void it('a restore token is new, valid for etcd, and derived from the run', () => {
    const spec = { etcd: { clusterToken: 'etcd-cluster' } } as Parameters<typeof restoreToken>[0];
    assert.equal(restoreToken(spec, '20250101T000000Z'), 'etcd-cluster-restore-20250101t000000z');
    assert.match(restoreToken({ etcd: { clusterToken: 'x'.repeat(64) } } as Parameters<typeof restoreToken>[0], '20250101T000000Z'), /^[A-Za-z0-9_-]{1,64}$/);
  });
});

void describe('planning a membership change from the live member list', () => {
  const ID = ['10501334649042878790', '9372538179322589801', '17013689112286221834', '12345678901234567890'];
  const live = parseMemberList(
    `{"header":{"cluster_id":1,"member_id":${ID[0]}},"members":[` +
      `{"ID":${ID[0]},"name":"api7-etcd-1","peerURLs":["http://10.0.0.11:2380"],"clientURLs":["http://10.0.0.11:2379"]},` +
      `{"ID":${ID[1]},"name":"api7-etcd-2","peerURLs":["http://10.0.0.12:2380"],"clientURLs":["http://10.0.0.12:2379"]},` +
      `{"ID":${ID[2]},"name":"api7-etcd-3","peerURLs":["http://10.0.0.13:2380"],"clientURLs":["http://10.0.0.13:2379"]}]}`,
  );
  const inv = (addrs: string[]) => addrs.map((a, i) => ({ host: `h${a.split('.').pop()}`, name: `api7-etcd-${i + 1}`, peerUrl: `http://${a}:2380`, target: {} as never }));
  const report = (healthy: string[]) => ({ members: live.map((m) => ({ ...m, healthy: healthy.includes(m.id), isLeader: m.id === ID[0] })), leaderName: 'api7-etcd-1' });

  void it('sees ha3 replaced by a new host (by peer URL, though the name stays api7-etcd-3), with quorum', () => {
    const p = planMembershipChange(live, inv(['10.0.0.11', '10.0.0.12', '10.0.0.16']), report([ID[0]!, ID[1]!]));
    assert.deepEqual(p.change, { remove: { id: ID[2], name: 'api7-etcd-3', peerUrl: 'http://10.0.0.13:2380' }, add: { host: 'h16', name: 'api7-etcd-3', peerUrl: 'http://10.0.0.16:2380' } });
    assert.equal(p.quorum, true);
    assert.equal(p.healthy, 2);
    assert.deepEqual(p.problems, []);
  });

  void it('no change when the inventory matches; no quorum with one of three healthy', () => {
    const p = planMembershipChange(live, inv(['10.0.0.11', '10.0.0.12', '10.0.0.13']), report([ID[0]!]));
    assert.deepEqual(p.change, {});
    assert.equal(p.quorum, false);
  });

  void it('refuses two changes at once, naming the order', () => {
    const p = planMembershipChange(live, inv(['10.0.0.11', '10.0.0.16', '10.0.0.17']), report(ID));
    assert.match(p.problems[0]!, /one membership change at a time: replace one member, deploy, then the next/);
  });

  void it('finds a member added but never started (a run that stopped half-way)', () => {
    const withPending = [...live.slice(0, 2), { id: ID[3]!, name: '', peerUrl: 'http://10.0.0.16:2380' }];
    const p = planMembershipChange(withPending, inv(['10.0.0.11', '10.0.0.12', '10.0.0.16']), report([ID[0]!, ID[1]!]));
    assert.deepEqual(p.change, {});
    assert.deepEqual(p.pendingStart, { host: 'h16', name: 'api7-etcd-3', peerUrl: 'http://10.0.0.16:2380' });
  });

  void it('names a member whose etcd name differs from the inventory\'s', () => {
    const renamed = inv(['10.0.0.11', '10.0.0.12', '10.0.0.13']).map((i, k) => (k === 1 ? { ...i, name: 'etcd-b' } : i));
    assert.match(planMembershipChange(live, renamed, report(ID)).problems[0]!, /named api7-etcd-2 in etcd, etcd-b in the inventory: set etcd_name: api7-etcd-2 on host h12/);
  });
});
