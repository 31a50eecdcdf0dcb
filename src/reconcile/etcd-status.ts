// `api7-ha etcd status`: what an operator checks on an etcd estate in one read: members, leader,
// revision, backend sizes, alarms, the last backup and its verification, and when each certificate on
// the member hosts expires. Read-only: probes only.
import { X509Certificate } from 'node:crypto';
import * as etcd from '../commands/etcd';
import * as files from '../commands/files';
import type { SshTarget } from '../inventory/model';
import type { EtcdStatusInput } from '../steps/etcd-inputs';

export type { EtcdStatusInput } from '../steps/etcd-inputs';
import type { HostExecutor } from '../remote/executor';
import { latestBackup, type BackupRecord } from '../backup/store';
import { readQuorum, type QuorumReport } from './etcd';

export interface CertificateFacts {
  host: string;
  address?: string;
  file: string;
  subject: string;
  notAfter: string;
  daysLeft: number;
  /** Within the warning window (or expired). */
  warn: boolean;
}


export interface EtcdStatusReport {
  cluster: string;
  checkedAt: string;
  quorum: QuorumReport;
  lastBackup?: Pick<BackupRecord, 'fileName' | 'path' | 'takenAt' | 'revision' | 'totalKeys' | 'sizeBytes' | 'sha256' | 'member' | 'reason' | 'verification'>;
  certificates: CertificateFacts[];
  warnings: string[];
}

/** Every certificate of a PEM file (a CA bundle holds several). */
export function certificatesIn(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

export function certificateFacts(host: string, file: string, pem: string, warningDays: number, now = Date.now()): CertificateFacts[] {
  return certificatesIn(pem).map((c) => {
    const daysLeft = Math.floor((Date.parse(c.validTo) - now) / 86_400_000);
    return { host, file, subject: c.subject.replace(/\n/g, ', ') || '(no subject)', notAfter: new Date(c.validTo).toISOString(), daysLeft, warn: daysLeft < warningDays };
  });
}

const CERT_FILES = ['ca.pem', 'server.pem', 'client.pem'];

export async function readEtcdStatus(execFor: (t: SshTarget) => HostExecutor, input: EtcdStatusInput): Promise<EtcdStatusReport> {
  const warnings: string[] = [];
  const [quorum, backup, certificates] = await Promise.all([
    readQuorum(execFor, input.sources.quorum),
    latestBackup(input.store),
    (async () => {
      const c = input.certificates;
      if (!c) return [];
      const dir = etcd.certsDirOnHost(c.dataDir);
      const per = await Promise.all(
        c.hosts.map(async (h) => {
          const out: CertificateFacts[] = [];
          for (const f of CERT_FILES) {
            const pem = await execFor(h.target)
              .output(files.read(`${dir}/${f}`))
              .catch(() => undefined);
            if (pem) out.push(...certificateFacts(h.host, f, pem, c.warningDays).map((x) => ({ ...x, address: h.address })));
          }
          return out;
        }),
      );
      return per.flat();
    })(),
  ]);
  warnings.push(...(quorum.warnings ?? []));
  for (const c of certificates) if (c.warn) warnings.push(`${c.host}: ${c.file} (${c.subject}) ${c.daysLeft < 0 ? 'expired' : `expires in ${c.daysLeft} days`} (${c.notAfter.slice(0, 10)}): rotate it (api7-ha etcd rotate-certs)`);
  if (!backup) warnings.push(`no backup of ${input.cluster} in ${input.store.dir}: run api7-ha backup (or schedule create --backup)`);
  else if (backup.verification?.verdict !== 'verified') warnings.push(`the last backup ${backup.fileName} is ${backup.verification ? `not verified (${backup.verification.verdict}: ${backup.verification.reason ?? ''})` : 'not verified yet'}`);
  return {
    cluster: input.cluster,
    checkedAt: new Date().toISOString(),
    quorum,
    ...(backup
      ? {
          lastBackup: {
            fileName: backup.fileName,
            path: backup.path,
            takenAt: backup.takenAt,
            revision: backup.revision,
            totalKeys: backup.totalKeys,
            sizeBytes: backup.sizeBytes,
            sha256: backup.sha256,
            member: backup.member,
            reason: backup.reason,
            ...(backup.verification ? { verification: backup.verification } : {}),
          },
        }
      : {}),
    certificates,
    warnings,
  };
}
