// The codec's key ring, loaded by reference (a file or an environment variable, never a flag's value):
// one key per line as `<key-id>:<base64 of 32 bytes>`. The first key encrypts; every key decrypts, so
// keys rotate by putting the new one first and keeping the old ones until their histories are gone.
import { readFileSync } from 'node:fs';

export interface KeyRing {
  /** Encrypts new payloads. */
  encryptKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
  /** Where the ring came from (the reference, never the keys), for messages. */
  source: string;
}

/** A reference to a secret: `file:PATH` or `env:NAME`. */
export type SecretRef = { file: string } | { env: string };

/** Bad key material or reference: the CLI turns it into exit 2 with this message. */
export class KeyRingError extends Error {
  override name = 'KeyRingError';
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/; // exactly 32 bytes

export function parseSecretRef(what: string, ref: string): SecretRef {
  const m = /^(file|env):(.+)$/.exec(ref);
  // Not echoed: a user who pasted the secret itself would see it in a log.
  if (!m) throw new KeyRingError(`${what}: expected file:PATH or env:NAME (the secret itself never goes on the command line or in an environment variable's reference)`);
  if (m[1] === 'env') {
    if (!ENV_NAME.test(m[2]!)) throw new KeyRingError(`${what} env:${m[2]}: not an environment variable name`);
    return { env: m[2]! };
  }
  return { file: m[2]! };
}

/** The secret's text, from the file or the environment variable it names. */
export function readSecretRef(what: string, ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined || v === '') throw new KeyRingError(`${what} env:${ref.env}: the environment variable is not set`);
    return v;
  }
  try {
    return readFileSync(ref.file, 'utf8');
  } catch (e) {
    throw new KeyRingError(`${what} file:${ref.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

export function parseKeyRing(text: string, source: string): KeyRing {
  const keys = new Map<string, Buffer>();
  let first: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const at = line.indexOf(':');
    const id = at > 0 ? line.slice(0, at) : '';
    const b64 = at > 0 ? line.slice(at + 1).trim() : '';
    // Never echo the line: it holds a key.
    if (!KEY_ID.test(id)) throw new KeyRingError(`${source} line ${i + 1}: expected <key-id>:<base64 key>, the key ID of letters, digits, . _ - (at most 64)`);
    if (!BASE64.test(b64)) throw new KeyRingError(`${source} line ${i + 1} (key ${id}): the key must be 32 random bytes in base64 (make one with: openssl rand -base64 32)`);
    if (keys.has(id)) throw new KeyRingError(`${source} line ${i + 1}: key ID ${id} appears twice`);
    keys.set(id, Buffer.from(b64, 'base64'));
    first ??= id;
  });
  if (!first) throw new KeyRingError(`${source}: no key (one line <key-id>:<base64 key>; make a key with: openssl rand -base64 32)`);
  return { encryptKeyId: first, keys, source };
}

/** `--codec-key file:PATH | env:NAME` (or $API7HA_CODEC_KEY) to a key ring. */
export function loadKeyRing(what: string, ref: string, env: NodeJS.ProcessEnv = process.env): KeyRing {
  return parseKeyRing(readSecretRef(what, parseSecretRef(what, ref), env), `${what} ${ref}`);
}
