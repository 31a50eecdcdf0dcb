// `api7-ha worker`: runs the activities and workflows until SIGINT/SIGTERM.
import { createWorker } from '../worker';
import { settingsFrom } from './common';

export async function workerCommand(flags: { address?: string; namespace?: string; taskQueue?: string }): Promise<number> {
  const settings = settingsFrom(flags);
  const { worker, pool, connection } = await createWorker(settings);
  process.stderr.write(`api7-ha worker polling ${settings.taskQueue} on ${settings.address} (namespace ${settings.namespace})\n`);
  try {
    await worker.run();
  } finally {
    await pool.closeAll();
    await connection.close();
  }
  return 0;
}
