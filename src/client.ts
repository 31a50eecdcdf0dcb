// Builds the Temporal client from flags or the usual TEMPORAL_* environment variables.
import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { TASK_QUEUE } from './contracts';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Web UI base URL, for links. */
  uiUrl: string;
  tlsCert?: string;
  tlsKey?: string;
  apiKey?: string;
}

export function temporalSettings(flags: Partial<TemporalSettings> = {}, env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = flags.address ?? env['TEMPORAL_ADDRESS'] ?? 'localhost:7233';
  const host = address.split(':')[0] ?? 'localhost';
  const tlsCert = flags.tlsCert ?? env['TEMPORAL_TLS_CLIENT_CERT_PATH'];
  const tlsKey = flags.tlsKey ?? env['TEMPORAL_TLS_CLIENT_KEY_PATH'];
  const apiKey = flags.apiKey ?? env['TEMPORAL_API_KEY'];
  return {
    address,
    namespace: flags.namespace ?? env['TEMPORAL_NAMESPACE'] ?? 'default',
    taskQueue: flags.taskQueue ?? env['TEMPORAL_TASK_QUEUE'] ?? TASK_QUEUE,
    uiUrl: (flags.uiUrl ?? env['TEMPORAL_UI_URL'] ?? `http://${host}:8233`).replace(/\/$/, ''),
    ...(tlsCert ? { tlsCert } : {}),
    ...(tlsKey ? { tlsKey } : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}

export function connectionOptions(s: TemporalSettings): ConnectionOptions & { apiKey?: string } {
  return {
    address: s.address,
    ...(s.tlsCert && s.tlsKey ? { tls: { clientCertPair: { crt: readFileSync(s.tlsCert), key: readFileSync(s.tlsKey) } } } : {}),
    ...(s.apiKey ? { apiKey: s.apiKey, tls: true } : {}),
  };
}

export async function createClient(s: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(s), connectTimeout: '5s' });
  return new Client({ connection, namespace: s.namespace });
}

export const workflowUrl = (s: TemporalSettings, workflowId: string, runId?: string) =>
  `${s.uiUrl}/namespaces/${encodeURIComponent(s.namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}/history`;
