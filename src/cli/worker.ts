// `api7-ha worker [--fault-driver MODULE]...`: runs the activities and workflows until SIGINT/SIGTERM.
import { DriverModuleError } from '../drills/drivers';
import { createWorker } from '../worker';
import { InputError, settingsFrom } from './common';

export async function workerCommand(flags: { address?: string; namespace?: string; taskQueue?: string; faultDriver?: string[] }): Promise<number> {
  const settings = settingsFrom(flags);
  const { worker, pool, connection } = await createWorker(settings, { faultDrivers: flags.faultDriver ?? [] }).catch((e: unknown) => {
    if (e instanceof DriverModuleError) throw new InputError(`--fault-driver / API7_HA_FAULT_DRIVERS: ${e.message}`);
    throw e;
  });
  process.stderr.write(`api7-ha worker polling ${settings.taskQueue} on ${settings.address} (namespace ${settings.namespace})\n`);
  try {
    await worker.run();
  } finally {
    await pool.closeAll();
    await connection.close();
  }
  return 0;
}
