// One host's rollout of a component, as the runbook does it by hand, in two halves:
//   deliver:  copy the package, `tar -zxvf`, `docker load` (nothing running is touched, so every host
//             is delivered at once, while etcd boots);
//   activate: edit the conf file, `docker compose up`, check (one host at a time on a running estate).
// Fragments: the deploy runs them for a few hosts itself and for gateways in child runs of up to 50.
import type { RolloutItem } from '../steps/inputs';
import { describeHost } from './operations';
import type { Fragment } from './runner';
import type { HostRollout } from './types';

export const deliver: Fragment<RolloutItem, HostRollout> = {
  name: 'deliver',
  title: 'deliver the package',
  host: (item) => item.pkg.target.host,
  describe: describeHost,
  async run(s, { pkg }) {
    const started = Date.now();
    const upload = await s.uploadPackage(pkg);
    const install = await s.installPackage(pkg);
    return { host: pkg.target.host, ok: true, uploaded: upload.uploaded, imagesLoaded: install.loaded.length, ms: Date.now() - started };
  },
};

export const activate: Fragment<RolloutItem, HostRollout> = {
  name: 'activate',
  title: 'configure, start, check',
  host: (item) => item.comp.target.host,
  describe: describeHost,
  async run(s, { comp }) {
    const started = Date.now();
    const config = await s.configureComponent(comp);
    // Not cancellable: `docker compose up` stopped half-way can leave the old container removed and
    // the new one not created. A cancel lets it finish, then ends the run before the health wait.
    const start = await s.critical(() => s.startComponent(comp, config.changed));
    await s.waitComponentHealthy(comp);
    return { host: comp.target.host, ok: true, configChanged: config.changed, action: start.action, ms: Date.now() - started };
  },
};

/** Every fragment by name: a child run gets the name and finds the code here. */
export const FRAGMENTS: Record<string, Fragment<RolloutItem, HostRollout>> = { deliver, activate };
