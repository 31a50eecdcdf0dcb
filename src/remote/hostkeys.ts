// Host key verification against a known_hosts file: plain and hashed (|1|salt|hmac) entries,
// "[addr]:port" for non-22 ports, @revoked markers. Policy "strict" refuses unknown hosts;
// "accept-new" records a key on first use. A changed key is always fatal, naming the host.
import { createHash, createHmac } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';

export interface KnownKey {
  type: string;
  blob: Buffer;
  revoked: boolean;
}

export class HostKeyError extends Error {
  override name = 'HostKeyError';
}

export const hostField = (address: string, port: number) => (port === 22 ? address : `[${address}]:${port}`);

function hostMatches(pattern: string, field: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(field).digest('base64');
    return mac === hash;
  }
  return pattern.split(',').some((p) => p === field);
}

export function parseKnownHosts(text: string, address: string, port: number): KnownKey[] {
  const field = hostField(address, port);
  const keys: KnownKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let revoked = false;
    if (parts[0]?.startsWith('@')) {
      const marker = parts.shift();
      if (marker === '@cert-authority') continue; // certificate authorities are not supported; such lines are skipped
      revoked = marker === '@revoked';
    }
    const [hosts, type, b64] = parts;
    if (!hosts || !type || !b64) continue;
    if (!hostMatches(hosts, field)) continue;
    keys.push({ type, blob: Buffer.from(b64, 'base64'), revoked });
  }
  return keys;
}

/** The key type named inside an SSH public key blob (uint32 length + name). */
export function blobType(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('ascii');
}

/** ssh2's algorithm names for a known_hosts key type, so the server offers the pinned key. */
export function hostKeyAlgorithms(types: string[]): string[] {
  const out: string[] = [];
  for (const t of types) {
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(t);
  }
  return [...new Set(out)];
}

export interface HostKeyCheck {
  /** The algorithms to negotiate (undefined: any). */
  algorithms?: string[];
  /** Called by ssh2 with the server's key; returns whether to continue. */
  verify(key: Buffer): boolean;
  /** After the connection: the error to report if verify refused, and the key to record (accept-new). */
  failure(): HostKeyError | undefined;
  /** The known_hosts line accept-new would record for a key seen the first time, and its fingerprint. */
  newKey(): { line: string; fingerprint: string } | undefined;
  recordIfNew(): Promise<void>;
}

/** OpenSSH's fingerprint of a key: SHA256:<base64, no padding>. */
export const fingerprintOf = (blob: Buffer) => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/={1,2}$/, '')}`;

export async function hostKeyCheck(opts: { host: string; address: string; port: number; knownHostsFile: string; policy: 'strict' | 'accept-new' }): Promise<HostKeyCheck> {
  let text = '';
  try {
    text = await readFile(opts.knownHostsFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || opts.policy === 'strict')
      throw new HostKeyError(`${opts.host}: cannot read known_hosts file ${opts.knownHostsFile}`);
  }
  const known = parseKnownHosts(text, opts.address, opts.port);
  const trusted = known.filter((k) => !k.revoked);
  let failure: HostKeyError | undefined;
  let toRecord: Buffer | undefined;
  return {
    algorithms: trusted.length ? hostKeyAlgorithms(trusted.map((k) => k.type)) : undefined,
    verify(key: Buffer): boolean {
      if (known.some((k) => k.revoked && k.blob.equals(key))) {
        failure = new HostKeyError(`${opts.host} (${opts.address}) presented a REVOKED host key; refusing to connect`);
        return false;
      }
      if (trusted.some((k) => k.blob.equals(key))) return true;
      if (trusted.length > 0) {
        failure = new HostKeyError(
          `${opts.host} (${opts.address}:${opts.port}): HOST KEY CHANGED. The key it presented (${blobType(key)}) differs from the one pinned in ${opts.knownHostsFile}. ` +
            'This can be a machine-in-the-middle. If the host was reinstalled, verify the new key out of band and replace its line in known_hosts.',
        );
        return false;
      }
      if (opts.policy === 'accept-new') {
        toRecord = key;
        return true;
      }
      failure = new HostKeyError(
        `${opts.host} (${opts.address}:${opts.port}) is not in ${opts.knownHostsFile}; add its verified key (ssh-keyscan -p ${opts.port} ${opts.address}, then check the fingerprint) or set ssh.host_key_policy: accept-new`,
      );
      return false;
    },
    failure: () => failure,
    newKey: () => (toRecord ? { line: `${hostField(opts.address, opts.port)} ${blobType(toRecord)} ${toRecord.toString('base64')}`, fingerprint: fingerprintOf(toRecord) } : undefined),
    async recordIfNew() {
      if (!toRecord) return;
      await appendFile(opts.knownHostsFile, `${hostField(opts.address, opts.port)} ${blobType(toRecord)} ${toRecord.toString('base64')}\n`, { mode: 0o600 });
      toRecord = undefined;
    },
  };
}
