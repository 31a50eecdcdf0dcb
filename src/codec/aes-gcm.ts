// The payload codec: every payload a client or worker sends (workflow and activity inputs and results,
// heartbeat details, memo, queries, signals, failure messages, summaries) is encrypted with AES-256-GCM
// before it reaches the server; search attributes are not payloads of this kind and stay readable.
// The format is the Temporal samples' encryption codec: metadata `encoding: binary/encrypted` and
// `encryption-key-id`, data = 12-byte IV || ciphertext || 16-byte tag of the whole encoded Payload.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { KeyRing } from './keys';

export const ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export function isEncrypted(p: Payload): boolean {
  return text(p.metadata?.[METADATA_ENCODING_KEY]) === ENCODING;
}

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.ring.encryptKeyId;
    const key = this.ring.keys.get(keyId)!;
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(CIPHER, key, iv);
      const sealed = Buffer.concat([iv, cipher.update(temporal.api.common.v1.Payload.encode(p).finish()), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { [METADATA_ENCODING_KEY]: utf8(ENCODING), [KEY_ID_METADATA]: utf8(keyId) }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      // Payloads written before the codec was turned on (or by a client without it) pass through.
      if (!isEncrypted(p)) return p;
      const keyId = text(p.metadata?.[KEY_ID_METADATA]) ?? '';
      const key = this.ring.keys.get(keyId);
      if (!key) throw new ValueError(`a payload is encrypted with key ${JSON.stringify(keyId)}, which is not in the codec key ring (${this.ring.source}); add that key (decrypt-only keys follow the first line)`);
      const data = Buffer.from(p.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('an encrypted payload is truncated');
      const decipher = createDecipheriv(CIPHER, key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new ValueError(`an encrypted payload does not authenticate with key ${keyId} (wrong key under that ID, or altered data)`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
