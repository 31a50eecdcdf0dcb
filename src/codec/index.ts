// The data converter every client and worker of api7-ha uses: the default one, or, with a codec key
// ring, AES-256-GCM payloads and failures whose messages are encrypted too.
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './aes-gcm';
import { failureConverter } from './failure-converter';
import type { KeyRing } from './keys';

export { AesGcmCodec, ENCODING, KEY_ID_METADATA, isEncrypted } from './aes-gcm';
export { KeyRingError, loadKeyRing, parseKeyRing, type KeyRing } from './keys';

/** For Worker.create and replay: the failure converter by path (the workflow sandbox loads it). */
export function workerDataConverter(ring: KeyRing | undefined): DataConverter | undefined {
  return ring ? { payloadCodecs: [new AesGcmCodec(ring)], failureConverterPath: require.resolve('./failure-converter') } : undefined;
}

/** For a Client: the same codec, the failure converter as an object. */
export function clientDataConverter(ring: KeyRing | undefined) {
  return ring ? { payloadCodecs: [new AesGcmCodec(ring)], failureConverter } : undefined;
}
