/**
 * What a client of the lab gets: the lab's SSH key (and the hosts' authorized_keys), the hosts' pinned
 * host keys (known_hosts), the estate's secrets, and the inventory that points at all of them.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { knownHostsLine, sshKeygen } from './commands';
import { runOk } from './exec';
import { renderInventory } from './inventory';
import { rmrf } from './locations';
import type { LabState } from './state';

function writeSecretFile(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

export async function ensureClientKey(s: LabState): Promise<void> {
  if (!fs.existsSync(s.files.sshKey) || !fs.existsSync(s.files.sshPublicKey)) {
    rmrf(s.files.sshKey);
    rmrf(s.files.sshPublicKey);
    await runOk(sshKeygen(s.files.sshKey, `api7-ha-lab@${s.prefix}`), { context: 'generating the lab key' });
  }
  fs.chmodSync(s.files.sshKey, 0o600);
  fs.mkdirSync(path.dirname(s.files.authorizedKeys), { recursive: true });
  fs.writeFileSync(s.files.authorizedKeys, fs.readFileSync(s.files.sshPublicKey, 'utf8'), { mode: 0o644 });
  fs.chmodSync(s.files.authorizedKeys, 0o644);
}

export function ensureSecrets(s: LabState): void {
  if (!fs.existsSync(s.files.dashboardSecret)) writeSecretFile(s.files.dashboardSecret, `${randomBytes(32).toString('hex')}\n`);
  if (!fs.existsSync(s.files.adminPassword)) writeSecretFile(s.files.adminPassword, `${randomBytes(18).toString('base64url')}\n`);
}

export function writeKnownHosts(s: LabState): void {
  const lines = s.hosts.map((h) => knownHostsLine(h.address, fs.readFileSync(h.files.hostPublicKey, 'utf8'), h.sshPort));
  fs.writeFileSync(s.files.knownHosts, `${lines.join('\n')}\n`, { mode: 0o644 });
}

export function writeInventory(s: LabState): void {
  if (!s.artifacts) throw new Error('internal error: inventory needs the artifacts');
  const up = s.hosts.find((h) => h.roles.includes('upstream'))!;
  const bastion = s.hosts.find((h) => h.roles.includes('bastion'));
  const text = renderInventory({
    inventoryPath: s.files.inventory,
    hosts: s.hosts
      .filter((h) => h.inInventory)
      .map((h) => ({ name: h.name, address: h.address, roles: h.roles, ...(!h.routed && bastion ? { jump: { address: bastion.address, port: bastion.sshPort } } : {}) })),
    upstream: { name: up.name, address: up.address, roles: up.roles },
    artifacts: s.artifacts,
    sshKey: s.files.sshKey,
    knownHosts: s.files.knownHosts,
    sshPort: s.shape.sshPort,
    network: s.shape.network,
    dashboardSecret: s.files.dashboardSecret,
    adminPassword: s.files.adminPassword,
  });
  const tmp = `${s.files.inventory}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, s.files.inventory);
}

/** Idempotent re-creation of files a `verified` up promises (someone may have deleted them). */
export function ensureClientFiles(s: LabState): void {
  if (!fs.existsSync(s.files.knownHosts)) writeKnownHosts(s);
  ensureSecrets(s);
  if (!fs.existsSync(s.files.inventory) && s.artifacts) writeInventory(s);
  if (!fs.existsSync(s.files.sshKey) || !fs.existsSync(s.files.authorizedKeys)) {
    throw new Error(`the lab key ${s.files.sshKey} or authorized_keys is missing; run \`lab down\` and \`lab up\``);
  }
}
