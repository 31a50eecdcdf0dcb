// `etcd status`: certificate expiry read from PEM files (bundles too) with the warning window, and the
// one-table rendering an operator reads.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { certificateFacts, type EtcdStatusReport } from '../../src/reconcile/etcd-status';
import { renderEtcdStatus } from '../../src/report/etcd-status';
import { certificatesIn } from '../../src/reconcile/etcd-status';
import { bundleOf } from '../../src/runbook/etcd-upkeep';

const fingerprints = (pem: string) => certificatesIn(pem).map((c) => c.fingerprint256);

const dir = mkdtempSync(join(tmpdir(), 'api7-ha-status-'));
const cert = (name: string, days: number) => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', String(days), '-subj', `/CN=${name}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)], { stdio: 'pipe' });
  return readFileSync(join(dir, `${name}.pem`), 'utf8');
};

after(() => rmSync(dir, { recursive: true, force: true }));

void describe('certificate expiry', () => {
  void it('reads every certificate of a bundle, with days left and a warning inside the window', () => {
    const facts = certificateFacts('ha1', 'ca.pem', cert('old-ca', 10) + cert('new-ca', 400), 30);
    assert.deepEqual(facts.map((f) => [f.subject, f.daysLeft >= 9 && f.daysLeft <= 10, f.warn]), [
      ['CN=old-ca', true, true],
      ['CN=new-ca', false, false],
    ]);
    assert.match(facts[1]!.notAfter, /^\d{4}-\d\d-\d\dT/);
  });
});

void describe('a rotation\'s CA bundle', () => {
  void it('trusts the old and the new CA, each once, whatever the host already had', () => {
    const oldCa = cert('ca-2024', 30);
    const newCa = cert('ca-2025', 400);
    const bundle = bundleOf(oldCa, newCa);
    assert.deepEqual(fingerprints(bundle), [...fingerprints(oldCa), ...fingerprints(newCa)]);
    assert.deepEqual(fingerprints(bundleOf(bundle, newCa)), fingerprints(bundle), 'a retry adds nothing');
    assert.deepEqual(fingerprints(bundleOf('', newCa)), fingerprints(newCa));
  });
});

void describe('the status table', () => {
  const report: EtcdStatusReport = {
    cluster: 'lab',
    checkedAt: '2025-01-01T00:00:00.000Z',
    quorum: {
      healthy: false,
      problems: ['alarms raised: memberID:2 alarm:NOSPACE'],
      leader: '1',
      leaderName: 'api7-etcd-1',
      term: '3',
      revision: '42',
      members: [
        { name: 'api7-etcd-1', id: '1', peerUrl: 'https://10.0.0.11:2380', healthy: true, endpoint: 'https://10.0.0.11:2379', isLeader: true, dbSize: 2 ** 21, dbSizeInUse: 2 ** 20, version: '3.4.23' },
        { name: 'api7-etcd-2', id: '2', peerUrl: 'https://10.0.0.12:2380', healthy: false, isLeader: false },
      ],
      alarms: [{ memberId: '2', alarm: 'NOSPACE' }],
    },
    lastBackup: { fileName: 'lab-20250101T000000Z-manual.db', path: '/b/x', takenAt: '2025-01-01T00:00:00Z', revision: '40', totalKeys: 9, sizeBytes: 2 ** 20, sha256: 'ab'.repeat(32), member: 'api7-etcd-2', reason: 'manual', verification: { verdict: 'verified', revision: '40', prefix: '/api7', snapshot: { keys: 3, sha256: 'x' }, live: { keys: 3, sha256: 'x' }, differences: [], verifier: { etcd: 'etcd', version: '3.4.23' }, ms: { restore: 1, read: 1, live: 1, total: 3 }, verifiedAt: '2025-01-01T00:00:05Z' } },
    certificates: [{ host: 'ha1', address: '10.0.0.11', file: 'server.pem', subject: 'CN=etcd', notAfter: '2025-01-20T00:00:00.000Z', daysLeft: 19, warn: true }],
    warnings: ['ha1: server.pem (CN=etcd) expires in 19 days (2025-01-20): rotate it (api7-ha etcd rotate-certs)'],
  };

  void it('one row per member: role, health, version, sizes, alarms, certificate; then the backup and warnings', () => {
    const out = renderEtcdStatus(report);
    const lines = out.split('\n');
    assert.equal(lines[0], 'etcd of lab: UNHEALTHY   leader api7-etcd-1   revision 42   raft term 3   (checked 2025-01-01T00:00:00.000Z)');
    assert.match(lines[2]!, /^member +endpoint +role +health +version +db size +in use +alarms +certificate expires$/);
    assert.match(lines[4]!, /^api7-etcd-1 +10\.0\.0\.11:2379 +leader +healthy +3\.4\.23 +2\.0 MiB +1\.0 MiB +- +2025-01-20 \(19 d\)$/);
    assert.match(lines[5]!, /^api7-etcd-2 +https:\/\/10\.0\.0\.12:2380 +follower +DOWN +- +- +- +NOSPACE +-$/);
    assert.match(out, /last backup: lab-20250101T000000Z-manual\.db \(manual, 2025-01-01T00:00:00Z\) from api7-etcd-2: revision 40, 9 keys, 1\.0 MiB, sha256 abababababababab…/);
    assert.match(out, /verification: VERIFIED at 2025-01-01T00:00:05Z \(3 keys under \/api7, live 3\)/);
    assert.match(out, /problem: alarms raised: memberID:2 alarm:NOSPACE/);
    assert.match(out, /warning: ha1: server\.pem \(CN=etcd\) expires in 19 days/);
  });
});
