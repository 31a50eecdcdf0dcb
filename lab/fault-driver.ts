// The lab's host-fault driver, for drills on the lab (drills.host_faults: lab). A worker loads it with
// `api7-ha worker --fault-driver dist/lab/fault-driver.js` (or API7_HA_FAULT_DRIVERS); api7-ha itself
// never imports lab/. Each fault is the lab's own command line (`npm run lab -- power-off ha4`), in
// its own process, against the lab folder the inventory names.
import { execFile } from 'node:child_process';
import type { HostFaultDriverFactory } from '../src/drills/drivers';

const DONE: Record<string, string> = {
  'power-off': 'powered off (every process on the host killed at once)',
  'power-on': 'powered on',
  disconnect: 'cut off the network',
  reconnect: 'reconnected',
};

export const hostFaultDriver: HostFaultDriverFactory<'lab'> = {
  type: 'lab',
  create: ({ labDir }) => ({
    canDisconnect: true,
    run: (action, host, signal) =>
      new Promise((resolve, reject) =>
        execFile(process.execPath, [...process.execArgv, require.resolve('./cli'), '--dir', labDir, '-q', action, host.name], { timeout: 120_000, ...(signal ? { signal } : {}) }, (err, _stdout, stderr) =>
          err ? reject(new Error(`lab ${action} ${host.name}: ${stderr.trim() || err.message}`)) : resolve(DONE[action] ?? action),
        ),
      ),
  }),
};
