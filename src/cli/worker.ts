// `api7-ha worker [--fault-driver MODULE]...`: runs the activities and workflows until SIGINT/SIGTERM.
import { DriverModuleError } from '../drills/drivers';
import { Runtime } from '@temporalio/worker';
import { metricsTelemetry } from '../metrics/exporter';
import { createWorker } from '../worker';
import { InputError, settingsFrom } from './common';

export async function workerCommand(flags: { address?: string; namespace?: string; taskQueue?: string; faultDriver?: string[]; metrics?: string }): Promise<number> {
  const settings = settingsFrom(flags);
  const metrics = flags.metrics ?? process.env.API7HA_METRICS;
  if (metrics !== undefined) {
    // host:port, or :port for every interface (as Prometheus' own listen flags).
    const m = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[\da-fA-F:]{2,39}\]|localhost)?:(\d{1,5})$/.exec(metrics);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new InputError(`--metrics / API7HA_METRICS: "${metrics.slice(0, 64)}" is not an address:port; use e.g. 127.0.0.1:9464 or :9464`);
    // Before any connection: the SDK's runtime telemetry and api7-ha's gauges on one /metrics endpoint.
    Runtime.install({ telemetryOptions: { metrics: metricsTelemetry(`${m[1] === undefined ? '0.0.0.0' : m[1] === 'localhost' ? '127.0.0.1' : m[1]}:${m[2]}`) } });
  }
  const { worker, pool, connection } = await createWorker(settings, { faultDrivers: flags.faultDriver ?? [] }).catch((e: unknown) => {
    if (e instanceof DriverModuleError) throw new InputError(`--fault-driver / API7_HA_FAULT_DRIVERS: ${e.message}`);
    throw e;
  });
  process.stderr.write(`api7-ha worker polling ${settings.taskQueue} on ${settings.address} (namespace ${settings.namespace})${metrics ? `, metrics on http://${metrics.startsWith(':') ? `0.0.0.0${metrics}` : metrics}/metrics` : ''}\n`);
  try {
    await worker.run();
  } finally {
    await pool.closeAll();
    await connection.close();
  }
  return 0;
}
