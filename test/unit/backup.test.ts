// Backups on the worker's side, against a real etcd (Debian's, as the worker runs it): a snapshot
// restored into the throwaway etcd reads back key for key; a damaged snapshot is "unrestorable";
// digests and differences; the backup folder never overwrites and keeps N.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyRetention, latestBackup, listBackups, recordVerification, writeManifest, type BackupRecord } from '../../src/backup/store';
import { diffKvs, digestKvs, parseGet, readSnapshotInScratchEtcd, verifySnapshot } from '../../src/reconcile/verify-backup';
import { backupFileName } from '../../src/steps/etcd-inputs';

const haveEtcd = existsSync('/usr/bin/etcd') && existsSync('/usr/bin/etcdctl');
const ctx = { heartbeat: () => undefined };
const b64 = (s: string) => Buffer.from(s).toString('base64');

void describe('digests of keys and values', () => {
  const kvs = [
    { key: b64('/api7/routes/2'), value: b64('{"uri":"/b"}') },
    { key: b64('/api7/routes/1'), value: b64('{"uri":"/a"}') },
  ];
  void it('do not depend on the order etcd returned them in', () => {
    assert.deepEqual(digestKvs(kvs), digestKvs([...kvs].reverse()));
    assert.equal(digestKvs(kvs).keys, 2);
  });
  void it('change with a value, a key, or a key moved into a value', () => {
    const d = digestKvs(kvs).sha256;
    assert.notEqual(digestKvs([kvs[0]!, { ...kvs[1]!, value: b64('{"uri":"/c"}') }]).sha256, d);
    assert.notEqual(digestKvs([{ key: b64('/api7/routes/1{'), value: b64('"uri":"/a"}') }, kvs[0]!]).sha256, d);
  });
  void it('name the keys that differ', () => {
    const live = [kvs[0]!, { key: b64('/api7/routes/3'), value: b64('x') }];
    assert.deepEqual(diffKvs(kvs, live), ['/api7/routes/1: only in the snapshot', '/api7/routes/3: only live']);
    assert.deepEqual(diffKvs(kvs, [{ ...kvs[0]!, value: b64('changed') }, kvs[1]!]), ['/api7/routes/2: another value live']);
  });
  void it('parse etcdctl get -w json, with 64-bit header IDs and keys without a value', () => {
    const out = `{"header":{"cluster_id":14841639068965178418,"member_id":10501334649042878790,"revision":7,"raft_term":2},"kvs":[{"key":"${b64('/a')}","create_revision":2,"mod_revision":2,"version":1,"value":"${b64('v')}"},{"key":"${b64('/b')}","create_revision":3,"mod_revision":3,"version":1}],"count":2}`;
    assert.deepEqual(parseGet(out), [
      { key: b64('/a'), value: b64('v') },
      { key: b64('/b'), value: '' },
    ]);
    assert.deepEqual(parseGet(''), []);
  });
});

void describe('the throwaway etcd on the worker', { skip: haveEtcd ? false : 'needs Debian etcd-server and etcd-client' }, () => {
  let dir: string;
  let live: ChildProcess;
  let snapshot: string;
  const port = 23000 + (process.pid % 2000);
  const ep = `http://127.0.0.1:${port}`;
  const ctl = (...args: string[]) => execFileSync('/usr/bin/etcdctl', ['--endpoints', ep, ...args], { env: { ETCDCTL_API: '3', PATH: '/usr/bin:/bin' }, encoding: 'utf8' });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'api7-ha-backup-test-'));
    live = spawn('/usr/bin/etcd', ['--name', 'live', '--data-dir', join(dir, 'live'), '--listen-client-urls', ep, '--advertise-client-urls', ep, '--listen-peer-urls', `http://127.0.0.1:${port + 1}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${port + 1}`, '--initial-cluster', `live=http://127.0.0.1:${port + 1}`, '--log-level', 'error'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      try {
        ctl('endpoint', 'health');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    ctl('put', '/api7/routes/1', '{"uri":"/get","host":"test.com"}');
    ctl('put', '/api7/21322091/ssl/1', 'binary \u0001\u0002 value');
    ctl('put', '/other/key', 'not under the prefix');
    snapshot = join(dir, 'lab-20250101T000000Z-manual.db');
    ctl('snapshot', 'save', snapshot);
  });
  after(() => {
    live?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  void it('restores the snapshot on 127.0.0.1 and reads back exactly the keys under the prefix, then removes everything', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('api7-ha-verify-'));
    const r = await readSnapshotInScratchEtcd(ctx, snapshot, '/api7', {});
    const keys = r.kvs.map((kv) => Buffer.from(kv.key, 'base64').toString()).sort();
    assert.deepEqual(keys, ['/api7/21322091/ssl/1', '/api7/routes/1']);
    assert.equal(Buffer.from(r.kvs.find((kv) => Buffer.from(kv.key, 'base64').toString() === '/api7/routes/1')!.value, 'base64').toString(), '{"uri":"/get","host":"test.com"}');
    assert.match(r.version, /^3\.\d+\.\d+/);
    const liveKvs = parseGet(ctl('get', '/api7', '--prefix', '-w', 'json'));
    assert.deepEqual(digestKvs(r.kvs), digestKvs(liveKvs));
    assert.deepEqual(readdirSync(tmpdir()).filter((n) => n.startsWith('api7-ha-verify-')), before, 'the temporary folder is gone');
  });

  void it('calls a damaged snapshot unrestorable', async () => {
    const bad = join(dir, 'damaged.db');
    const bytes = readFileSync(snapshot);
    bytes.fill(0x55, 4096, 8192);
    writeFileSync(bad, bytes);
    const v = await verifySnapshot(ctx, () => {
      throw new Error('the live side is not read when the snapshot does not restore');
    }, { cluster: 'lab', file: bad, revision: '4', prefix: '/api7', live: { via: [], etcdctl: { endpoints: [], auth: { enabled: false, user: 'root' }, tls: false } }, auth: { enabled: false, user: 'root' }, secrets: {} });
    assert.equal(v.verdict, 'unrestorable');
    assert.match(v.reason ?? '', /did not restore/);
  });

  void it('says "unverifiable" and why when the worker has no etcd', async () => {
    const v = await verifySnapshot(ctx, () => {
      throw new Error('unused');
    }, { cluster: 'lab', file: snapshot, revision: '4', prefix: '/api7', toolsDir: join(dir, 'nothing-here'), live: { via: [], etcdctl: { endpoints: [], auth: { enabled: false, user: 'root' }, tls: false } }, auth: { enabled: false, user: 'root' }, secrets: {} });
    assert.equal(v.verdict, 'unverifiable');
    assert.match(v.reason ?? '', /no etcd in .*nothing-here \(backup\.verify_tools_dir\)/);
  });
});

void describe('the backup folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api7-ha-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const record = (stamp: string, cluster = 'lab'): BackupRecord => {
    const fileName = backupFileName(cluster, stamp, 'manual');
    const path = join(dir, fileName);
    writeFileSync(path, `snapshot ${stamp}`);
    return { cluster, host: 'ha2', member: 'api7-etcd-2', endpoint: '10.0.0.12:2379', fileName, remotePath: `/usr/local/etcd/api7-ha-snapshots/${fileName}`, sha256: 'x', revision: '5', totalKeys: 3, sizeBytes: 20, etcdHash: 1, takenAt: '', saveMs: 1, path, reason: 'manual' };
  };

  void it('lists a cluster\'s snapshots newest first, keeps N, and touches nothing else', async () => {
    for (const s of ['20250101T000000Z', '20250103T000000Z', '20250102T000000Z', '20250104T000000Z']) await writeManifest(record(s));
    await writeManifest(record('20240101T000000Z', 'other'));
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    assert.deepEqual((await listBackups({ dir, cluster: 'lab' })).map((b) => b.stamp), ['20250104T000000Z', '20250103T000000Z', '20250102T000000Z', '20250101T000000Z']);
    const r = await applyRetention({ dir, cluster: 'lab', retention: 2 });
    assert.deepEqual(r.removed, ['lab-20250102T000000Z-manual.db', 'lab-20250101T000000Z-manual.db']);
    assert.deepEqual(readdirSync(dir).sort(), [
      'lab-20250103T000000Z-manual.db',
      'lab-20250103T000000Z-manual.db.json',
      'lab-20250104T000000Z-manual.db',
      'lab-20250104T000000Z-manual.db.json',
      'notes.txt',
      'other-20240101T000000Z-manual.db',
      'other-20240101T000000Z-manual.db.json',
    ]);
  });

  void it('records the verification in the manifest; the newest backup carries it', async () => {
    const latest = await latestBackup({ dir, cluster: 'lab' });
    assert.equal(latest?.fileName, 'lab-20250104T000000Z-manual.db');
    await recordVerification(latest.path, { verdict: 'verified', revision: '5', prefix: '/api7', differences: [], verifier: { etcd: '/usr/bin/etcd', version: '3.4.23' }, ms: { restore: 1, read: 1, live: 1, total: 3 }, verifiedAt: '' });
    assert.equal((await latestBackup({ dir, cluster: 'lab' }))?.verification?.verdict, 'verified');
  });
});
