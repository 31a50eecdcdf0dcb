// `api7-ha codec-server`: the Temporal codec server endpoint for the Web UI and the temporal CLI, so
// people who hold the key see decoded payloads (the server and everyone else see ciphertext).
//   api7-ha codec-server --codec-key file:/etc/api7-ha/codec-keys --cors-origin http://localhost:8233
//   temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8888
import { AesGcmCodec, KeyRingError, loadKeyRing } from '../codec';
import { parseSecretRef, readSecretRef } from '../codec/keys';
import { startCodecServer } from '../codec/server';
import { InputError } from './common';

export interface CodecServerFlags {
  codecKey?: string;
  listen?: string;
  corsOrigin?: string[];
  authorization?: string;
  namespace?: string[];
}

const LISTEN = /^(\d{1,3}(?:\.\d{1,3}){3}|localhost|\[[0-9a-fA-F:]+\]):(\d{1,5})$/;
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

export async function codecServerCommand(flags: CodecServerFlags): Promise<number> {
  const ref = flags.codecKey ?? process.env['API7HA_CODEC_KEY'];
  if (!ref) throw new InputError('codec-server needs the key ring: --codec-key file:PATH (or env:NAME, or $API7HA_CODEC_KEY); see README "Encrypted payloads"');
  const listen = flags.listen ?? '127.0.0.1:8888';
  const m = LISTEN.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new InputError(`--listen ${JSON.stringify(listen)}: expected ADDRESS:PORT, e.g. 127.0.0.1:8888`);
  const origins = flags.corsOrigin ?? [];
  for (const o of origins) if (!ORIGIN.test(o)) throw new InputError(`--cors-origin ${JSON.stringify(o)}: expected the Web UI's origin as the browser sends it, e.g. http://localhost:8233 (scheme, host, port; no path)`);
  let authorization: string | undefined;
  let codec: AesGcmCodec;
  try {
    codec = new AesGcmCodec(loadKeyRing(flags.codecKey !== undefined ? '--codec-key' : 'API7HA_CODEC_KEY', ref));
    if (flags.authorization !== undefined) authorization = readSecretRef('--authorization', parseSecretRef('--authorization', flags.authorization)).trim();
  } catch (e) {
    if (e instanceof KeyRingError) throw new InputError(e.message);
    throw e;
  }
  const host = m[1]!.replace(/^\[|\]$/g, '');
  const server = await startCodecServer({ codec, origins, host, port: Number(m[2]), ...(authorization ? { authorization } : {}), ...(flags.namespace?.length ? { namespaces: flags.namespace } : {}) });
  const addr = server.address();
  const port = addr && typeof addr === 'object' ? addr.port : Number(m[2]);
  process.stderr.write(
    `api7-ha codec server on http://${m[1]}:${port} (POST /encode, /decode)${origins.length ? `, CORS for ${origins.join(', ')}` : ', no browser origin allowed (--cors-origin)'}${authorization ? ', Authorization required' : ''}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
