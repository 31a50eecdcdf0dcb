// Faults in the middle of one deploy, on a fresh lab, through Temporal, real processes, nothing mocked:
// a host cut off the network while the packages are delivered; the worker SIGKILLed while a dashboard's
// `docker compose up` runs, once the container exists (the point where a retry used to recreate it);
// the Docker daemon of a gateway host restarted while its gateway starts. The run must converge with
// every container running, no dashboard restarted needlessly, no half-written file, and a re-run plan
// of "No changes". (What each fault costs in seconds is measured in `npm run bench`, not here.)
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { LabInfo } from '../../lab/lab';
import { createClient, temporalSettings } from '../../src/client';
import type { DeployResult } from '../../src/runbook/types';
import type { RunProgress } from '../../src/workflows/progress';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { eventually, hostOf, labSkip, sshOk, testLab } from '../support/lab';

const lab = testLab('faults');
const env = temporalEnv(`api7-ha-lab-faults-${process.pid}`);
const STARTED = 2; // PENDING_ACTIVITY_STATE_STARTED

/** Is an activity of this type running on a worker now, in the phase's workflow or its children? */
async function running(client: Client, handle: WorkflowHandle, phase: string, type: string): Promise<true | undefined> {
  const p = await handle.query<RunProgress>('progress').catch(() => undefined);
  const step = p?.steps.find((s) => s.name === phase);
  if (step?.status !== 'running') return undefined;
  const ids = [handle.workflowId, ...(step.children ?? [])];
  const described = await Promise.all(ids.map((id) => client.workflow.getHandle(id).describe().catch(() => undefined)));
  return described.some((d) => (d?.raw.pendingActivities ?? []).some((a) => a.activityType?.name === type && Number(a.state) === STARTED)) ? true : undefined;
}

void describe('faults in the middle of a deploy', { skip: labSkip }, () => {
  let info: LabInfo;
  let worker: WorkerProcess;
  let client: Client;

  before(async () => {
    info = await lab.up();
    client = await createClient(temporalSettings({ address: env.TEMPORAL_ADDRESS }));
    worker = await startWorker(env);
  });
  after(async () => {
    await worker?.kill('SIGTERM');
    await client?.connection.close();
    await lab.down();
    rmSync(info.dir, { recursive: true, force: true });
  });

  void it('converges through a network cut, a worker SIGKILL inside docker compose up and a Docker daemon restart; nothing is done twice or left half-done', async () => {
    const [ha1, ha2, ha4] = ['ha1', 'ha2', 'ha4'].map((n) => hostOf(info, n));
    const started = await cli(['deploy', '-i', info.inventoryPath, '--json', '--failover', 'never'], env);
    assert.equal(started.code, 0, started.stderr);
    const { workflowId, runId } = JSON.parse(started.stdout) as { workflowId: string; runId: string };
    const handle = client.workflow.getHandle(workflowId, runId);
    const t0 = Date.now();
    const at = (what: string) => console.log(`# ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // 1. ha4 drops off the network for 5 s while the packages are delivered (SSH sessions stall, as
    //    with a pulled cable: no reset).
    await eventually('an upload runs', () => running(client, handle, 'delivery', 'uploadPackage'), 300_000, 25);
    await lab.disconnect('ha4');
    at('ha4 disconnected');
    await new Promise((r) => setTimeout(r, 5000));
    await lab.reconnect('ha4');
    at('ha4 reconnected');

    // 2. The worker is SIGKILLed while a dashboard's `docker compose up` has created its container:
    //    the retry must find it and leave it alone.
    const dashboards = "docker ps -aq --filter label=com.docker.compose.service=api7-dashboard";
    await eventually(
      'a dashboard container exists while startComponent runs',
      async () => ((await running(client, handle, 'control-plane', 'startComponent')) && ((await sshOk(info, ha1!, dashboards)).trim() || (await sshOk(info, ha2!, dashboards)).trim()) ? true : undefined),
      300_000,
      25,
    );
    await worker.kill('SIGKILL');
    at('worker SIGKILLed in docker compose up');
    worker = await startWorker(env);

    // 3. ha4's Docker daemon restarts while its gateway starts.
    await eventually('a gateway starts', () => running(client, handle, 'data-plane', 'startComponent'), 300_000, 25);
    await lab.restartDocker('ha4');
    at('ha4 docker daemon restarted');

    const result = (await handle.result()) as DeployResult;
    at('deploy completed');
    assert.equal(result.etcd.quorum.healthy, true);
    assert.ok([...result.controlPlane.hosts, ...result.dataPlane.hosts].every((h) => h.ok), JSON.stringify(result));
    // The retries, for the record (which activities a fault hit depends on timing, so none is asserted).
    const retried: string[] = [];
    for (const e of (await handle.fetchHistory()).events ?? []) if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retried.push(`#${String(e.activityTaskStartedEventAttributes!.scheduledEventId)} attempt ${e.activityTaskStartedEventAttributes!.attempt}`);
    console.log(`# retried activities in the parent workflow: ${retried.join(', ') || 'none'}`);

    // No dashboard was created twice or stopped: the retried `up` found the container it had started.
    for (const h of [ha1!, ha2!]) {
      const events = (await sshOk(info, h, `docker events --since 0 --until "$(date +%s)" --filter type=container --filter label=com.docker.compose.service=api7-dashboard --format '{{.Action}}'`)).trim().split('\n');
      assert.deepEqual(events.filter((e) => ['create', 'kill', 'die', 'stop', 'destroy'].includes(e)), ['create'], `${h.name}: dashboard container events ${events.join(', ')}`);
    }
    // Every container on every host runs (none left stopped by the daemon restart or a killed `up`),
    // and no staged file was left beside a configuration file.
    for (const h of info.hosts) {
      const stopped = (await sshOk(info, h, "docker ps -a --filter status=exited --filter status=created --format '{{.Names}}'")).trim();
      assert.equal(stopped, '', `${h.name}: containers not running: ${stopped}`);
      const staged = (await sshOk(info, h, "find /opt /usr/local/etcd -name '*.api7-ha-tmp' 2>/dev/null || true")).trim();
      assert.equal(staged, '', `${h.name}: half-written files left: ${staged}`);
    }
    assert.match(await sshOk(info, ha4!, "docker ps --filter label=com.docker.compose.service=api7-gateway --format '{{.Status}}'"), /^Up /);

    // A re-run has nothing to do, and the plan says so.
    const plan = await cli(['deploy', '-i', info.inventoryPath, '--plan', '--detailed-exitcode'], env);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /No changes: the estate matches the inventory\./);
  });
});
