// One host's rollout of a component, as the runbook does it by hand, in two halves:
//   deliver:  copy the package, `tar -zxvf`, `docker load` (nothing running is touched, so every host
//             is delivered at once, while etcd boots);
//   activate: edit the conf file, `docker compose up`, check (one host at a time on a running estate).
// Shared by the control plane (in the parent workflow) and the data plane batches (child workflows).
import { CancellationScope, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { DeployActivities } from '../activities/deploy';
import type { ComponentStep, PackageStep } from '../plan/inputs';
import { quick, transfer, waits, withSummary } from './profiles';
import { Progress, messageOf, progressQuery } from './progress';
import type { HostRollout } from './types';

const act = proxyActivities<DeployActivities>(quick);

const what = (c: ComponentStep) => (c.component === 'control_plane' ? 'dashboard' : 'gateway');

export async function deliverHost(pkg: PackageStep): Promise<HostRollout> {
  const h = pkg.target.host;
  const started = Date.now();
  const upload = await act.uploadPackage.executeWithOptions(withSummary(transfer, `${h}: upload ${pkg.pkg.fileName}`), [pkg]);
  const install = await act.installPackage.executeWithOptions(withSummary(transfer, `${h}: tar -xzf ${pkg.pkg.fileName} and docker load`), [pkg]);
  return { host: h, ok: true, uploaded: upload.uploaded, imagesLoaded: install.loaded.length, ms: Date.now() - started };
}

export async function activateHost(comp: ComponentStep): Promise<HostRollout> {
  const h = comp.target.host;
  const started = Date.now();
  const config = await act.configureComponent.executeWithOptions(withSummary(quick, `${h}: render the ${what(comp)} configuration`), [comp]);
  // Not cancellable: `docker compose up` stopped half-way can leave the old container removed and
  // the new one not created. A cancel lets it finish, then ends the run before the health wait.
  const start = await CancellationScope.nonCancellable(() =>
    act.startComponent.executeWithOptions(withSummary(quick, `${h}: docker compose up the ${what(comp)}`), [comp, config.changed]),
  );
  await act.waitComponentHealthy.executeWithOptions(withSummary(waits, `${h}: wait until the ${what(comp)} is healthy`), [comp]);
  return { host: h, ok: true, configChanged: config.changed, action: start.action, ms: Date.now() - started };
}

export interface BatchInput {
  batch: number;
  of: number;
  phase: 'deliver' | 'activate';
  hosts: { pkg: PackageStep; comp: ComponentStep }[];
}

/**
 * A batch of gateways, all at once. A gateway that fails (after its activities' retries) is reported,
 * not thrown: the parent decides against the failure budget.
 */
export async function rolloutDataPlaneBatch(input: BatchInput): Promise<HostRollout[]> {
  const title = input.phase === 'deliver' ? 'Deliver the package' : 'Configure, start, check';
  const progress = new Progress('deploy', input.hosts[0]?.comp.cluster ?? '', [['gateways', `Gateways ${title.toLowerCase()}, batch ${input.batch} of ${input.of}`]]);
  setHandler(progressQuery, () => progress.state);
  const results = await progress.run('gateways', () =>
    Promise.all(
      input.hosts.map((s) =>
        progress
          .host('gateways', s.comp.target.host, () => (input.phase === 'deliver' ? deliverHost(s.pkg) : activateHost(s.comp)))
          .catch((e: unknown): HostRollout => {
            if (isCancellation(e)) throw e; // a cancelled run is not a failed gateway
            return { host: s.comp.target.host, ok: false, error: messageOf(e) };
          }),
      ),
    ),
  );
  progress.finish('done');
  return results;
}
