// Host-fault drivers: how a drill takes a whole host away (power off, cut off the network) and gives
// it back. Two kinds: `commands` (built in: operator-given argv from the inventory, run on the worker
// machine, e.g. ipmitool or a cloud CLI) and `lab` (api7-ha's test lab, registered from lab/ by a
// driver module the worker loads: `api7-ha worker --fault-driver dist/lab/fault-driver.js`).
// src/ knows nothing of the lab: a driver module only has to export `hostFaultDriver`.
import { resolve } from 'node:path';
import type { HostFaultDriverSpec } from '../../inventory/model';
import { PermanentError } from '../../reconcile/context';
import { commandsDriver } from './commands';
import type { HostFaultDriver, HostFaultDriverFactory } from './types';

export type { FaultHost, HostFaultAction, HostFaultDriver, HostFaultDriverFactory } from './types';

/** A driver module that cannot be loaded (bad input to the worker: its path or its exports). */
export class DriverModuleError extends Error {
  override name = 'DriverModuleError';
}

/** The drivers a worker has: `commands` always, others as driver modules register them. */
export class FaultDrivers {
  private readonly factories = new Map<string, HostFaultDriverFactory>();

  constructor(factories: HostFaultDriverFactory[] = [commandsDriver as HostFaultDriverFactory]) {
    for (const f of factories) this.register(f);
  }

  register(f: HostFaultDriverFactory): void {
    this.factories.set(f.type, f);
  }

  /** The driver for an inventory's `drills.host_faults`, or a failure that names the fix (not retried). */
  create(spec: HostFaultDriverSpec): HostFaultDriver {
    const f = this.factories.get(spec.type);
    if (!f)
      throw new PermanentError(
        `this worker has no "${spec.type}" host-fault driver (drills.host_faults: ${spec.type}); start the worker with --fault-driver MODULE (the lab's: dist/lab/fault-driver.js), or set API7_HA_FAULT_DRIVERS`,
        'NoFaultDriver',
      );
    return f.create(spec as never);
  }

  /** Load driver modules (paths; each exports `hostFaultDriver`), as `--fault-driver` and API7_HA_FAULT_DRIVERS name them. */
  static load(modules: string[]): FaultDrivers {
    const drivers = new FaultDrivers();
    for (const m of modules) {
      let loaded: { hostFaultDriver?: HostFaultDriverFactory };
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module named at run time
        loaded = require(resolve(m)) as typeof loaded;
      } catch (e) {
        throw new DriverModuleError(`cannot load the fault driver module ${m}: ${(e as Error).message}`);
      }
      if (!loaded.hostFaultDriver || typeof loaded.hostFaultDriver.create !== 'function') throw new DriverModuleError(`${m} is not a fault driver module: it exports no hostFaultDriver`);
      drivers.register(loaded.hostFaultDriver);
    }
    return drivers;
  }
}

/** Driver modules named in the environment (colon-separated paths), for workers started by scripts. */
export const driverModulesFromEnv = (env: NodeJS.ProcessEnv = process.env): string[] => (env['API7_HA_FAULT_DRIVERS'] ?? '').split(':').filter(Boolean);
