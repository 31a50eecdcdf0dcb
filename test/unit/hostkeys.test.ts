// Host key verification against known_hosts: plain, [addr]:port, hashed and @revoked entries, and the
// strict / accept-new policies an operator chooses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { blobType, HostKeyError, hostField, hostKeyAlgorithms, hostKeyCheck, parseKnownHosts } from '../../src/remote/hostkeys';

/** An SSH wire-format ed25519 public key blob (string "ssh-ed25519", string key). */
function ed25519Blob(): Buffer {
  const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  const raw = der.subarray(der.length - 32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
}

/** A hashed known_hosts host field, as `ssh-keygen -H` writes it. */
function hashed(field: string, salt = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(field).digest('base64')}`;
}

const KEY_A = ed25519Blob();
const KEY_B = ed25519Blob();
const KEY_C = ed25519Blob();
const line = (hosts: string, key: Buffer) => `${hosts} ssh-ed25519 ${key.toString('base64')}`;

const tmp = mkdtempSync(path.join(tmpdir(), 'api7-ha-hostkeys-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function knownHostsFile(lines: string[]): string {
  const file = path.join(tmp, `known_hosts_${++n}`);
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

void describe('parsing known_hosts', () => {
  void it('matches a plain entry by address, and a comma list of names', () => {
    const text = [line('10.0.0.11', KEY_A), line('ha2,10.0.0.12', KEY_B)].join('\n');
    assert.deepEqual(parseKnownHosts(text, '10.0.0.11', 22), [{ type: 'ssh-ed25519', blob: KEY_A, revoked: false }]);
    assert.deepEqual(parseKnownHosts(text, '10.0.0.12', 22), [{ type: 'ssh-ed25519', blob: KEY_B, revoked: false }]);
    assert.deepEqual(parseKnownHosts(text, 'ha2', 22).map((k) => k.blob), [KEY_B]);
    assert.deepEqual(parseKnownHosts(text, '10.0.0.13', 22), []);
  });

  void it('writes and matches [addr]:port for a port other than 22, and not the plain address', () => {
    assert.equal(hostField('10.0.0.11', 22), '10.0.0.11');
    assert.equal(hostField('10.0.0.11', 2222), '[10.0.0.11]:2222');
    const text = line('[10.0.0.11]:2222', KEY_A);
    assert.deepEqual(parseKnownHosts(text, '10.0.0.11', 2222).map((k) => k.blob), [KEY_A]);
    assert.deepEqual(parseKnownHosts(text, '10.0.0.11', 22), []);
    assert.deepEqual(parseKnownHosts(line('10.0.0.11', KEY_A), '10.0.0.11', 2222), []);
  });

  void it('matches hashed |1|salt|hmac entries, for port 22 and [addr]:port', () => {
    const text = [line(hashed('10.0.0.11'), KEY_A), line(hashed('[10.0.0.12]:2222'), KEY_B), line(hashed('10.0.0.99'), KEY_C)].join('\n');
    assert.deepEqual(parseKnownHosts(text, '10.0.0.11', 22).map((k) => k.blob), [KEY_A]);
    assert.deepEqual(parseKnownHosts(text, '10.0.0.12', 2222).map((k) => k.blob), [KEY_B]);
    assert.deepEqual(parseKnownHosts(text, '10.0.0.12', 22), []);
  });

  void it('marks @revoked entries and skips @cert-authority lines, comments and blank lines', () => {
    const text = ['# a comment', '', `@revoked ${line('10.0.0.11', KEY_B)}`, `@cert-authority ${line('10.0.0.11', KEY_C)}`, `  ${line('10.0.0.11', KEY_A)} root@ha1  `].join('\n');
    assert.deepEqual(parseKnownHosts(text, '10.0.0.11', 22), [
      { type: 'ssh-ed25519', blob: KEY_B, revoked: true },
      { type: 'ssh-ed25519', blob: KEY_A, revoked: false },
    ]);
  });

  void it('reads the key type from the blob and offers the rsa-sha2 algorithms for a pinned ssh-rsa key', () => {
    assert.equal(blobType(KEY_A), 'ssh-ed25519');
    assert.deepEqual(hostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519', 'ssh-rsa']), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
    assert.deepEqual(hostKeyAlgorithms(['ecdsa-sha2-nistp256']), ['ecdsa-sha2-nistp256']);
  });

  const keygen = spawnSync('ssh-keygen', ['-?'], { encoding: 'utf8' });
  const haveKeygen = keygen.error === undefined;
  void it('matches entries hashed by the real ssh-keygen -H', { skip: haveKeygen ? false : 'ssh-keygen is not installed' }, () => {
    const file = knownHostsFile([line('10.0.0.11', KEY_A), line('[10.0.0.12]:2222', KEY_B)]);
    const r = spawnSync('ssh-keygen', ['-H', '-f', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('10.0.0.11') && !text.includes('10.0.0.12'), 'ssh-keygen left a plain host name');
    assert.equal(text.split('\n').filter((l) => l.startsWith('|1|')).length, 2);
    assert.deepEqual(parseKnownHosts(text, '10.0.0.11', 22).map((k) => k.blob), [KEY_A]);
    assert.deepEqual(parseKnownHosts(text, '10.0.0.12', 2222).map((k) => k.blob), [KEY_B]);
  });
});

void describe('hostKeyCheck policies', () => {
  const target = (knownHostsFile: string, policy: 'strict' | 'accept-new', port = 22) => ({ host: 'ha1', address: '10.0.0.11', port, knownHostsFile, policy });

  void it('trusts the pinned key and negotiates its algorithm', async () => {
    const check = await hostKeyCheck(target(knownHostsFile([line('10.0.0.11', KEY_A)]), 'strict'));
    assert.deepEqual(check.algorithms, ['ssh-ed25519']);
    assert.equal(check.verify(KEY_A), true);
    assert.equal(check.failure(), undefined);
  });

  void it('strict: refuses an unknown host, naming the host and the fix (ssh-keyscan or accept-new)', async () => {
    const file = knownHostsFile([line('10.0.0.99', KEY_A)]);
    const check = await hostKeyCheck(target(file, 'strict'));
    assert.equal(check.algorithms, undefined);
    assert.equal(check.verify(KEY_A), false);
    const err = check.failure();
    assert.ok(err instanceof HostKeyError);
    assert.equal(
      err.message,
      `ha1 (10.0.0.11:22) is not in ${file}; add its verified key (ssh-keyscan -p 22 10.0.0.11, then check the fingerprint) or set ssh.host_key_policy: accept-new`,
    );
    await check.recordIfNew();
    assert.equal(readFileSync(file, 'utf8'), `${line('10.0.0.99', KEY_A)}\n`, 'strict must not record anything');
  });

  void it('strict: a missing known_hosts file is an error naming it', async () => {
    const missing = path.join(tmp, 'missing_known_hosts');
    await assert.rejects(hostKeyCheck(target(missing, 'strict')), (e: unknown) => e instanceof HostKeyError && e.message === `ha1: cannot read known_hosts file ${missing}`);
  });

  void it('refuses a changed key with HOST KEY CHANGED, the host and the file', async () => {
    const file = knownHostsFile([line('10.0.0.11', KEY_A)]);
    const check = await hostKeyCheck(target(file, 'strict'));
    assert.equal(check.verify(KEY_B), false);
    const msg = check.failure()?.message ?? '';
    assert.match(msg, /^ha1 \(10\.0\.0\.11:22\): HOST KEY CHANGED\./);
    assert.ok(msg.includes(file));
    assert.match(msg, /machine-in-the-middle/);
  });

  void it('accept-new never accepts a changed key', async () => {
    const file = knownHostsFile([line('10.0.0.11', KEY_A)]);
    const check = await hostKeyCheck(target(file, 'accept-new'));
    assert.equal(check.verify(KEY_B), false);
    assert.match(check.failure()?.message ?? '', /HOST KEY CHANGED/);
    await check.recordIfNew();
    assert.equal(readFileSync(file, 'utf8'), `${line('10.0.0.11', KEY_A)}\n`);
  });

  void it('refuses a revoked key, even with accept-new', async () => {
    const check = await hostKeyCheck(target(knownHostsFile([`@revoked ${line('10.0.0.11', KEY_B)}`, line('10.0.0.11', KEY_A)]), 'accept-new'));
    assert.deepEqual(check.algorithms, ['ssh-ed25519']);
    assert.equal(check.verify(KEY_B), false);
    assert.equal(check.failure()?.message, 'ha1 (10.0.0.11) presented a REVOKED host key; refusing to connect');
    const again = await hostKeyCheck(target(knownHostsFile([`@revoked ${line('10.0.0.11', KEY_B)}`]), 'accept-new'));
    assert.equal(again.verify(KEY_B), false);
  });

  void it('accept-new records an unknown host\'s key (file created, mode 600) and a second check trusts it', async () => {
    const file = path.join(tmp, 'accept_new_known_hosts');
    const first = await hostKeyCheck(target(file, 'accept-new'));
    assert.equal(first.verify(KEY_A), true);
    await first.recordIfNew();
    await first.recordIfNew(); // recorded once
    assert.equal(readFileSync(file, 'utf8'), `10.0.0.11 ssh-ed25519 ${KEY_A.toString('base64')}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const second = await hostKeyCheck(target(file, 'strict'));
    assert.equal(second.verify(KEY_A), true);
    assert.equal(second.verify(KEY_B), false);
    assert.match(second.failure()?.message ?? '', /HOST KEY CHANGED/);
  });

  void it('accept-new on port 2222 records [addr]:2222', async () => {
    const file = knownHostsFile([line('10.0.0.11', KEY_A)]);
    const check = await hostKeyCheck(target(file, 'accept-new', 2222));
    assert.equal(check.verify(KEY_B), true, 'port 2222 is a different host entry');
    await check.recordIfNew();
    assert.equal(readFileSync(file, 'utf8').split('\n')[1], `[10.0.0.11]:2222 ssh-ed25519 ${KEY_B.toString('base64')}`);
  });

  void it('trusts a hashed entry for the host', async () => {
    const check = await hostKeyCheck(target(knownHostsFile([line(hashed('10.0.0.11'), KEY_A)]), 'strict'));
    assert.equal(check.verify(KEY_A), true);
  });
});
