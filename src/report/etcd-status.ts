// `api7-ha etcd status` as one fixed-width table (a row per member) plus the backup and warning lines.
import type { EtcdStatusReport } from '../reconcile/etcd-status';
import { sanitizeText } from './format';
import { fixedWidthTable } from './text';

const mib = (b: number | undefined) => (b === undefined ? '-' : `${(b / 2 ** 20).toFixed(1)} MiB`);

export function renderEtcdStatus(r: EtcdStatusReport): string {
  const q = r.quorum;
  const rows = q.members.map((m) => {
    const cert = r.certificates.find((c) => c.file === 'server.pem' && c.address !== undefined && m.peerUrl.includes(`//${c.address}:`));
    const alarms = (q.alarms ?? []).filter((a) => a.memberId === m.id).map((a) => a.alarm);
    return [
      { text: m.name || '(not started)', numeric: false },
      { text: m.endpoint?.replace(/^https?:\/\//, '') ?? m.peerUrl, numeric: false },
      { text: m.isLeader ? 'leader' : 'follower', numeric: false },
      { text: m.healthy ? 'healthy' : 'DOWN', numeric: false },
      { text: m.version ?? '-', numeric: false },
      { text: mib(m.dbSize), numeric: true },
      { text: mib(m.dbSizeInUse), numeric: true },
      { text: alarms.join(',') || '-', numeric: false },
      { text: cert ? `${cert.notAfter.slice(0, 10)} (${cert.daysLeft} d)` : '-', numeric: false },
    ];
  });
  const lines = [
    `etcd of ${r.cluster}: ${q.healthy ? 'HEALTHY' : 'UNHEALTHY'}   leader ${q.leaderName ?? '-'}   revision ${q.revision ?? '-'}   raft term ${q.term ?? '-'}   (checked ${r.checkedAt})`,
    '',
    ...fixedWidthTable(['member', 'endpoint', 'role', 'health', 'version', 'db size', 'in use', 'alarms', 'certificate expires'], rows).map((l) => l.trimEnd()),
    '',
  ];
  const b = r.lastBackup;
  if (b) {
    const v = b.verification;
    lines.push(
      `last backup: ${b.fileName} (${b.reason}, ${b.takenAt}) from ${b.member}: revision ${b.revision}, ${b.totalKeys} keys, ${mib(b.sizeBytes)}, sha256 ${b.sha256.slice(0, 16)}…`,
      `  verification: ${v ? `${v.verdict.toUpperCase()} at ${v.verifiedAt}${v.snapshot ? ` (${v.snapshot.keys} keys under ${v.prefix}${v.live ? `, live ${v.live.keys}` : ''})` : ''}${v.reason ? `: ${v.reason}` : ''}` : 'not verified'}`,
    );
  } else lines.push('last backup: none');
  for (const p of q.problems) lines.push(`problem: ${sanitizeText(p)}`);
  for (const w of r.warnings) lines.push(`warning: ${sanitizeText(w)}`);
  return `${lines.join('\n')}\n`;
}
