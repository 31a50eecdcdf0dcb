// The payload codec, its key ring and the codec server, as the Web UI and the temporal CLI call it;
// the Temporal settings (TLS, API key, codec key) as flags and TEMPORAL_* variables give them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { connectionOptions, temporalSettings } from '../../src/client';
import { AesGcmCodec, KEY_ID_METADATA, KeyRingError, loadKeyRing, parseKeyRing } from '../../src/codec';
import { failureConverter } from '../../src/codec/failure-converter';
import { startCodecServer } from '../../src/codec/server';
import { cliBin } from '../support/paths';
import { run } from '../support/lab';

const key = () => randomBytes(32).toString('base64');
const secret = { address: '10.1.2.3', user: 'deploy', path: '/etc/api7-ha/admin-password' };
const payload = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('latin1');

void describe('AES-256-GCM payload codec', () => {
  const k1 = key();
  const k2 = key();

  void it('encrypts every payload with the first key, its ID in the metadata, and decrypts it back', async () => {
    const codec = new AesGcmCodec(parseKeyRing(`k1:${k1}\n`, 'test'));
    const [a, b] = await codec.encode([payload(secret), payload(secret)]);
    assert.equal(text(a!.metadata!['encoding']), 'binary/encrypted');
    assert.equal(text(a!.metadata![KEY_ID_METADATA]), 'k1');
    for (const v of Object.values(secret)) assert.ok(!text(a!.data).includes(v), `ciphertext shows ${v}`);
    assert.notEqual(text(a!.data), text(b!.data), 'a fresh IV each time');
    const [back] = await codec.decode([a!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(back!), secret);
  });

  void it('rotates: the new key encrypts, the old one still decrypts; a missing key is named', async () => {
    const old = new AesGcmCodec(parseKeyRing(`k1:${k1}`, 'old ring'));
    const rotated = new AesGcmCodec(parseKeyRing(`# new first\nk2:${k2}\nk1:${k1}\n`, 'rotated ring'));
    const [byOld] = await old.encode([payload('before rotation')]);
    const [byNew] = await rotated.encode([payload('after rotation')]);
    assert.equal(text(byNew!.metadata![KEY_ID_METADATA]), 'k2');
    assert.deepEqual((await rotated.decode([byOld!, byNew!])).map((p) => defaultPayloadConverter.fromPayload(p)), ['before rotation', 'after rotation']);
    const newOnly = new AesGcmCodec(parseKeyRing(`k2:${k2}`, 'new-only ring'));
    await assert.rejects(newOnly.decode([byOld!]), /encrypted with key "k1", which is not in the codec key ring \(new-only ring\)/);
  });

  void it('refuses altered ciphertext and a wrong key under the right ID; passes unencrypted payloads through', async () => {
    const codec = new AesGcmCodec(parseKeyRing(`k1:${k1}`, 'ring'));
    const [p] = await codec.encode([payload('x')]);
    const altered = { ...p!, data: Uint8Array.from(p!.data!, (b, i) => (i === 20 ? b ^ 1 : b)) };
    await assert.rejects(codec.decode([altered]), /does not authenticate with key k1/);
    await assert.rejects(new AesGcmCodec(parseKeyRing(`k1:${k2}`, 'impostor')).decode([p!]), /does not authenticate/);
    const plain = payload({ recorded: 'before the codec was on' });
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });

  void it('loads the key ring by reference only, and never echoes a key in its errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'api7ha-codec-'));
    const file = join(dir, 'keys');
    writeFileSync(file, `k1:${k1}\n`);
    assert.equal(loadKeyRing('--codec-key', `file:${file}`).encryptKeyId, 'k1');
    assert.equal(loadKeyRing('--codec-key', 'env:MY_KEYS', { MY_KEYS: `k9:${k2}` }).encryptKeyId, 'k9');
    const bad: [string, RegExp][] = [
      [k1, /expected file:PATH or env:NAME/],
      ['env:NOPE', /env:NOPE: the environment variable is not set/],
      [`file:${join(dir, 'missing')}`, /no such file/],
    ];
    for (const [ref, re] of bad) assert.throws(() => loadKeyRing('--codec-key', ref, {}), (e: Error) => e instanceof KeyRingError && re.test(e.message) && !e.message.includes(k1));
    const short = randomBytes(16).toString('base64');
    for (const [ring, re] of [
      [`k1 ${k1}`, /line 1: expected <key-id>:<base64 key>/],
      [`k1:${short}`, /key k1\): the key must be 32 random bytes in base64 \(make one with: openssl rand -base64 32\)/],
      [`k1:${k1}\nk1:${k2}`, /key ID k1 appears twice/],
      ['# nothing\n', /no key/],
    ] as const) {
      assert.throws(() => parseKeyRing(ring, 'ring'), (e: Error) => re.test(e.message) && !e.message.includes(k1) && !e.message.includes(short));
    }
  });
});

void describe('codec server (the Temporal codec server protocol)', () => {
  let server: Server;
  let url: string;
  const codec = new AesGcmCodec(parseKeyRing(`k1:${key()}`, 'ring'));
  const origin = 'http://localhost:8233';
  const token = 'Bearer s3cr3t-token';

  before(async () => {
    server = await startCodecServer({ codec, origins: [origin], authorization: token, namespaces: ['default'], host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const toJson = (p: Payload) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Authorization: token, Origin: origin, ...headers }, body: JSON.stringify(body) });

  void it('encodes and decodes payloads in proto JSON, at /encode, /decode and /{namespace}/decode', async () => {
    const enc = await post('/encode', { payloads: [toJson(payload(secret))] });
    assert.equal(enc.status, 200);
    const encoded = (await enc.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata['encoding']!, 'base64').toString(), 'binary/encrypted');
    for (const path of ['/decode', '/default/decode']) {
      const dec = await post(path, encoded);
      assert.equal(dec.status, 200, path);
      const [p] = ((await dec.json()) as { payloads: { data: string }[] }).payloads;
      assert.deepEqual(JSON.parse(Buffer.from(p!.data, 'base64').toString()), secret, path);
    }
  });

  void it("answers the Web UI's CORS preflight for its origin only", async () => {
    const pre = await fetch(`${url}/decode`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace,authorization' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), origin);
    assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    for (const h of ['Content-Type', 'X-Namespace', 'Authorization']) assert.match(pre.headers.get('access-control-allow-headers') ?? '', new RegExp(h));
    const other = await fetch(`${url}/decode`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example:8233', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  void it('refuses a missing or wrong Authorization header, another namespace, bad bodies and other routes', async () => {
    assert.equal((await post('/decode', { payloads: [] }, { Authorization: '' })).status, 401);
    assert.equal((await post('/decode', { payloads: [] }, { Authorization: 'Bearer guess' })).status, 401);
    assert.equal((await post('/decode', { payloads: [] }, { 'X-Namespace': 'other' })).status, 403);
    assert.equal((await post('/other/decode', { payloads: [] })).status, 403);
    assert.equal((await post('/decode', { nope: 1 })).status, 400);
    assert.equal((await post('/decode', { payloads: [{ metadata: { encoding: '!!!' }, data: '' }] })).status, 400);
    assert.equal((await post('/metrics', {})).status, 404);
    assert.equal((await fetch(`${url}/decode`)).status, 405);
  });
});

void describe('Temporal connection settings', () => {
  void it('reads TLS and the API key as the temporal CLI names them, and the codec key by reference', () => {
    const dir = mkdtempSync(join(tmpdir(), 'api7ha-tls-'));
    for (const f of ['ca.pem', 'c.pem', 'k.pem']) writeFileSync(join(dir, f), `-----BEGIN ${f}-----\n`);
    const s = temporalSettings(
      {},
      {
        TEMPORAL_ADDRESS: 'temporal.example:7233',
        TEMPORAL_NAMESPACE: 'ops',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
        TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'c.pem'),
        TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'k.pem'),
        TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
        TEMPORAL_API_KEY: 'the-key',
        API7HA_CODEC_KEY: 'env:RING',
        RING: `k1:${key()}`,
      },
    );
    assert.equal(s.namespace, 'ops');
    assert.equal(s.apiKey, 'the-key');
    assert.equal(s.codec?.encryptKeyId, 'k1');
    const o = connectionOptions(s);
    assert.equal(o.apiKey, 'the-key');
    const tls = o.tls as { serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer }; serverNameOverride?: string };
    assert.match(String(tls.serverRootCACertificate), /ca\.pem/);
    assert.match(String(tls.clientCertPair?.crt), /c\.pem/);
    assert.equal(tls.serverNameOverride, 'frontend.internal');
    // An API key alone means TLS (Temporal Cloud); plain by default.
    assert.deepEqual(connectionOptions(temporalSettings({}, { TEMPORAL_API_KEY: 'k' })).tls, {});
    assert.equal(connectionOptions(temporalSettings({}, {})).tls, undefined);
    // --api-key takes a reference, never the key itself.
    writeFileSync(join(dir, 'api-key'), 'from-file\n');
    assert.equal(temporalSettings({ apiKey: `file:${join(dir, 'api-key')}` }, {}).apiKey, 'from-file');
    assert.throws(() => temporalSettings({ apiKey: 'the-key-itself' }, {}), /expected file:PATH or env:NAME/);
    assert.throws(() => temporalSettings({}, { TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'c.pem') }), /needs its key/);
  });

  void it('a closed port: names the address and the fix, exit 1; a bad codec key: exit 2, named', async () => {
    const r = await run(process.execPath, [cliBin(), 'drills', '-c', 'lab', '--address', '127.0.0.1:1'], { timeoutMs: 30_000, env: { ...process.env, TEMPORAL_ADDRESS: '' } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot reach the Temporal server at 127\.0\.0\.1:1 \(without TLS, namespace default\)/);
    assert.match(r.stderr, /Is a server running\? Start one with `npm run temporal`/);
    const k = await run(process.execPath, [cliBin(), 'drills', '-c', 'lab', '--codec-key', 'env:API7HA_NO_SUCH_RING'], { timeoutMs: 30_000 });
    assert.equal(k.code, 2, k.stderr);
    assert.match(k.stderr, /--codec-key env:API7HA_NO_SUCH_RING: the environment variable is not set/);
    const c = await run(process.execPath, [cliBin(), 'codec-server', '--codec-key', 'env:RING', '--cors-origin', 'http://localhost:8233/path'], { timeoutMs: 30_000, env: { ...process.env, RING: `k1:${key()}` } });
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr, /--cors-origin "http:\/\/localhost:8233\/path": expected the Web UI's origin/);
  });
});

void describe('failures with the codec on', () => {
  void it("move a failure's message and stack into attributes that the codec encrypts", async () => {
    const f = failureConverter.errorToFailure(ApplicationFailure.nonRetryable(`ssh ${secret.user}@${secret.address}: ${secret.path}: permission denied`, 'SshFailed'), defaultPayloadConverter);
    assert.equal(f.message, 'Encoded failure');
    assert.ok(!JSON.stringify({ ...f, encodedAttributes: undefined }).includes(secret.address), 'nothing readable outside the encoded attributes');
    // The SDK runs the encoded attributes through the payload codec like any payload.
    const codec = new AesGcmCodec(parseKeyRing(`k1:${key()}`, 'ring'));
    const [sealed] = await codec.encode([f.encodedAttributes!]);
    for (const v of Object.values(secret)) assert.ok(!text(sealed!.data).includes(v));
    const [opened] = await codec.decode([sealed!]);
    assert.match(failureConverter.failureToError({ ...f, encodedAttributes: opened! }, defaultPayloadConverter).message, /ssh deploy@10\.1\.2\.3/);
  });
});
