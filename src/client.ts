// Builds the Temporal client from flags or the usual TEMPORAL_* environment variables (the names the
// `temporal` CLI reads), for a dev server or a production cluster: TLS (server CA, client certificate
// and key), an API key (Temporal Cloud), and the payload codec. Secrets are given by reference (a file,
// an environment variable) and only read here, into memory.
import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { clientDataConverter, loadKeyRing, type KeyRing } from './codec';
import { parseSecretRef, readSecretRef } from './codec/keys';
import { TASK_QUEUE } from './contracts';

export interface TlsSettings {
  /** The server's CA (PEM), when it is not one the system trusts. */
  caPath?: string;
  /** Client certificate and key (PEM), for mTLS. */
  certPath?: string;
  keyPath?: string;
  /** The name the server's certificate is checked against, when it is not the address's host. */
  serverName?: string;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Web UI base URL, for links. */
  uiUrl: string;
  /** Present: TLS on (also implied by an API key). */
  tls?: TlsSettings;
  /** Resolved from its reference: memory only, never printed. */
  apiKey?: string;
  /** The payload codec's keys (--codec-key / $API7HA_CODEC_KEY). */
  codec?: KeyRing;
}

/** What a user can pass: flags (names as the `temporal` CLI's) or their environment variables. */
export interface TemporalFlags {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  uiUrl?: string;
  tls?: boolean;
  tlsCaPath?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsServerName?: string;
  /** A reference: file:PATH or env:NAME ($TEMPORAL_API_KEY holds the key itself, as for the temporal CLI). */
  apiKey?: string;
  /** A reference to the codec key ring: file:PATH or env:NAME. */
  codecKey?: string;
}

/** A setting that cannot work (a missing file, half a key pair): the CLI exits 2 with this message. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes)$/i.test(v);

export function temporalSettings(flags: TemporalFlags = {}, env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = flags.address ?? env['TEMPORAL_ADDRESS'] ?? 'localhost:7233';
  const host = address.split(':')[0] ?? 'localhost';
  const tls: TlsSettings = {};
  const caPath = flags.tlsCaPath ?? env['TEMPORAL_TLS_SERVER_CA_CERT_PATH'];
  const certPath = flags.tlsCertPath ?? env['TEMPORAL_TLS_CLIENT_CERT_PATH'];
  const keyPath = flags.tlsKeyPath ?? env['TEMPORAL_TLS_CLIENT_KEY_PATH'];
  const serverName = flags.tlsServerName ?? env['TEMPORAL_TLS_SERVER_NAME'];
  if (caPath) tls.caPath = caPath;
  if (certPath) tls.certPath = certPath;
  if (keyPath) tls.keyPath = keyPath;
  if (serverName) tls.serverName = serverName;
  if (!certPath !== !keyPath) throw new SettingsError(`TLS: a client certificate needs its key and the key its certificate (--tls-cert-path and --tls-key-path, or TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH); got only the ${certPath ? 'certificate' : 'key'}`);
  let apiKey: string | undefined;
  if (flags.apiKey !== undefined) apiKey = readSecretRef('--api-key', parseSecretRef('--api-key', flags.apiKey), env).trim();
  else if (env['TEMPORAL_API_KEY']) apiKey = env['TEMPORAL_API_KEY'];
  const tlsOn = flags.tls ?? (truthy(env['TEMPORAL_TLS']) || Object.keys(tls).length > 0 || apiKey !== undefined);
  const codecRef = flags.codecKey ?? env['API7HA_CODEC_KEY'];
  return {
    address,
    namespace: flags.namespace ?? env['TEMPORAL_NAMESPACE'] ?? 'default',
    taskQueue: flags.taskQueue ?? env['TEMPORAL_TASK_QUEUE'] ?? TASK_QUEUE,
    uiUrl: (flags.uiUrl ?? env['TEMPORAL_UI_URL'] ?? `http://${host}:8233`).replace(/\/$/, ''),
    ...(tlsOn ? { tls } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(codecRef ? { codec: loadKeyRing(flags.codecKey !== undefined ? '--codec-key' : 'API7HA_CODEC_KEY', codecRef, env) } : {}),
  };
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new SettingsError(`TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

export function connectionOptions(s: TemporalSettings): ConnectionOptions & { apiKey?: string } {
  const t = s.tls;
  return {
    address: s.address,
    ...(t
      ? {
          tls: {
            ...(t.caPath ? { serverRootCACertificate: readPem('server CA', t.caPath) } : {}),
            ...(t.certPath && t.keyPath ? { clientCertPair: { crt: readPem('client certificate', t.certPath), key: readPem('client key', t.keyPath) } } : {}),
            ...(t.serverName ? { serverNameOverride: t.serverName } : {}),
          },
        }
      : {}),
    ...(s.apiKey ? { apiKey: s.apiKey } : {}),
  };
}

/**
 * The server could not be reached (closed port, TLS refused, wrong name): say where we tried and what
 * to do, not only the gRPC library's "Failed to connect before the deadline".
 */
export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

/** The gRPC status behind an SDK error (its cause chain), if any. */
function grpcStatus(e: unknown): { code: number; details: string } | undefined {
  for (let c: unknown = e, i = 0; c && typeof c === 'object' && i < 5; c = (c as { cause?: unknown }).cause, i++) {
    const g = c as { code?: unknown; details?: unknown };
    if (typeof g.code === 'number' && typeof g.details === 'string') return { code: g.code, details: g.details };
  }
  return undefined;
}

/** PERMISSION_DENIED (7) or UNAUTHENTICATED (16): the server answered, and refused these credentials. */
export function refusedCredentials(e: unknown, where = ''): string | undefined {
  const g = grpcStatus(e);
  if (!g || (g.code !== 7 && g.code !== 16)) return undefined;
  return `the Temporal server${where} refused this client's credentials (${g.details || 'permission denied'}): check the API key (--api-key file:PATH or env:NAME, TEMPORAL_API_KEY), the client certificate, and the namespace's permissions`;
}

export function unreachable(s: TemporalSettings, e: unknown): TemporalUnreachableError {
  const refused = refusedCredentials(e, ` at ${s.address} (namespace ${s.namespace})`);
  if (refused) return new TemporalUnreachableError(refused);
  const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  const how = s.tls ? `with TLS${s.tls.certPath ? ' (client certificate)' : ''}` : 'without TLS';
  return new TemporalUnreachableError(
    `cannot reach the Temporal server at ${s.address} (${how}, namespace ${s.namespace}): ${reason}. ` +
      `Is a server running? Start one with \`npm run temporal\`, or point api7-ha at yours with --address / TEMPORAL_ADDRESS` +
      `${s.tls ? ' and check --tls-ca-path, --tls-cert-path, --tls-key-path, --tls-server-name' : ' (add --tls or TEMPORAL_TLS=true if it requires TLS)'}.`,
  );
}

export async function createClient(s: TemporalSettings): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(s), connectTimeout: '5s' });
  } catch (e) {
    if (e instanceof SettingsError) throw e;
    throw unreachable(s, e);
  }
  const dataConverter = clientDataConverter(s.codec);
  return new Client({ connection, namespace: s.namespace, ...(dataConverter ? { dataConverter } : {}) });
}

export const workflowUrl = (s: TemporalSettings, workflowId: string, runId?: string) =>
  `${s.uiUrl}/namespaces/${encodeURIComponent(s.namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}/history`;
