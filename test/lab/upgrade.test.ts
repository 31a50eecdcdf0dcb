// Upgrades and rollbacks on a deployed lab, as an operator runs them: `api7-ha upgrade --plan`, `upgrade`,
// `rollback`, against a worker in its own process and a real Temporal server. One deploy for every case:
// 2.13.2304 -> 2.13.2305 and back with probes through both load balancers, then the two broken builds
// the gates must stop at the canary (one fails its health check, one stops serving while an etcd member
// is down).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabInfo } from '../../lab/lab';
import { http } from '../../src/reconcile/http';
import type { UpgradeResult } from '../../src/runbook/upgrade';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { eventually, hostOf, labSkip, sshOk, testLab } from '../support/lab';
import { createClient, temporalSettings } from '../../src/client';

const lab = testLab('upgrade');
const env = temporalEnv(`api7-ha-lab-upgrade-${process.pid}`);
const OLD = '2.13.2304';
const NEW = '2.13.2305';

/** The lab's inventory with other packages named (as an operator edits it for an upgrade). */
function inventoryWith(info: LabInfo, name: string, cp: string, dp: string): string {
  const text = readFileSync(info.inventoryPath, 'utf8').replace(/api7-2\.13\.2304-cp\.tar\.gz/, `api7-${cp}-cp.tar.gz`).replace(/api7-2\.13\.2304-dp\.tar\.gz/, `api7-${dp}-dp.tar.gz`);
  const path = join(dirname(info.inventoryPath), `inventory-${name}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** Which build each gateway and dashboard answers with, asked directly (its Server header). */
async function versions(info: LabInfo): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const n of ['ha4', 'ha5']) out[n] = (await http(`http://${hostOf(info, n).address}/get`, { headers: { Host: 'test.com' } })).server;
  for (const n of ['ha1', 'ha2']) out[n] = (await http(`http://${hostOf(info, n).address}:9000/ping`)).server;
  return out;
}

const everyHostOn = (v: string) => ({ ha4: `API7/${v}`, ha5: `API7/${v}`, ha1: `API7-Dashboard/${v}`, ha2: `API7-Dashboard/${v}` });

/** HAProxy's view of every backend server: none may be left drained or in maintenance. */
async function lbStates(info: LabInfo): Promise<string[]> {
  const csv = await sshOk(info, hostOf(info, 'lb'), `bash -c 'exec 3<>/dev/tcp/127.0.0.1/9999 && echo "show stat" >&3 && cat <&3'`);
  return csv
    .split('\n')
    .filter((l) => /^(gateways|dashboards),/.test(l) && !/,(FRONTEND|BACKEND),/.test(l))
    .map((l) => `${l.split(',')[1]} ${l.split(',')[17]}`);
}

const startedAt = (info: LabInfo, host: string) => sshOk(info, hostOf(info, host), "docker ps --no-trunc --filter label=com.docker.compose.service=api7-gateway --format '{{.ID}} {{.Image}}'");

function parse(stdout: string): UpgradeResult & { error?: string } {
  return JSON.parse(stdout) as UpgradeResult & { error?: string };
}

function assertNoFailedRequest(r: UpgradeResult, label: string): void {
  const dp = r.probes.find((p) => p.name === 'dp')!;
  const cp = r.probes.find((p) => p.name === 'cp')!;
  console.log(`# ${label}: dp ${dp.requests} requests, ${dp.failures} failed, longest outage ${dp.longestOutageMs} ms; cp reads ${cp.requests}, ${cp.failures} failed, longest outage ${cp.longestOutageMs} ms`);
  for (const h of r.hosts) console.log(`#   ${h.host} ${h.from} -> ${h.to}: ${h.ms} ms (drain ${h.drainMs} ms, back in rotation ${h.readyMs} ms)`);
  if (r.canaryDrill) console.log(`#   canary drill ${r.canaryDrill.verdict} in ${r.canaryDrill.ms} ms`);
  assert.ok(dp.requests > 100, `dp probes ran (${dp.requests})`);
  assert.ok(cp.requests > 100, `cp probes ran (${cp.requests})`);
  assert.equal(dp.failures, 0, 'no failed request through the data plane LB');
  assert.equal(cp.failures, 0, 'no failed authenticated read through the control plane LB');
}

void describe('Upgrades and rollbacks on the lab', { skip: labSkip }, () => {
  let info: LabInfo;
  let worker: WorkerProcess;
  let next: string;

  before(async () => {
    info = await lab.up();
    worker = await startWorker(env);
    const d = await cli(['deploy', '-i', info.inventoryPath, '--wait', '--failover', 'never'], env);
    assert.equal(d.code, 0, d.stderr);
    next = inventoryWith(info, 'next', NEW, NEW);
  });
  after(async () => {
    await worker?.kill('SIGTERM');
    await lab.down();
  });

  void it('plans per host old -> new version, the canary first, touching nothing', async () => {
    const r = await cli(['upgrade', '-i', next, '--plan', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as { canary: unknown[]; dataPlane: unknown[][]; controlPlane: unknown[] };
    assert.deepEqual(plan.canary, [{ host: 'ha4', component: 'data_plane', from: OLD, to: NEW }]);
    assert.deepEqual(plan.dataPlane, [[{ host: 'ha5', component: 'data_plane', from: OLD, to: NEW }]]);
    assert.deepEqual(plan.controlPlane, [
      { host: 'ha1', component: 'control_plane', from: OLD, to: NEW },
      { host: 'ha2', component: 'control_plane', from: OLD, to: NEW },
    ]);
    assert.deepEqual(await versions(info), everyHostOn(OLD), 'the plan changed nothing');
    const refused = await cli(['rollback', '-i', info.inventoryPath, '--wait'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /rollback refused: nothing to roll back/);
  });

  void it(`upgrades ${OLD} -> ${NEW} with no failed request, the canary proven by a drill, every host on ${NEW}`, async () => {
    const r = await cli(['upgrade', '-i', next, '--wait', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const res = parse(r.stdout);
    assertNoFailedRequest(res, 'upgrade');
    assert.deepEqual(res.hosts.map((h) => [h.host, h.from, h.to, h.ok]), ['ha4', 'ha5', 'ha1', 'ha2'].map((h) => [h, OLD, NEW, true]));
    assert.equal(res.canaryDrill?.verdict, 'passed');
    // Which build served the probes: the old one first, the new one at the end.
    const dp = res.probes.find((p) => p.name === 'dp')!;
    assert.deepEqual(dp.versions.map((v) => v.version).sort(), [OLD, NEW].sort());
    const lastDp = res.series.find((s) => s.name === 'dp')!.samples.slice(-10);
    assert.ok(lastDp.every((s) => s[3] === NEW), 'the last probes were served by the new build');
    assert.deepEqual(await versions(info), everyHostOn(NEW));
    assert.ok(res.snapshot && res.snapshot.revision! > 0, 'etcd snapshot taken');
    assert.match(await sshOk(info, hostOf(info, res.snapshot.host), `stat -c %s ${res.snapshot.path}`), /^\d+/);
    assert.deepEqual((await lbStates(info)).filter((s) => !/ UP$/.test(s)), [], 'every backend ready and UP');
  });

  void it(`rolls back to ${OLD} (kept on the hosts) with no failed request`, async () => {
    const r = await cli(['rollback', '-i', next, '--wait', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const res = parse(r.stdout);
    assertNoFailedRequest(res, 'rollback');
    assert.deepEqual(res.hosts.map((h) => [h.host, h.from, h.to, h.ok]), ['ha4', 'ha5', 'ha1', 'ha2'].map((h) => [h, NEW, OLD, true]));
    assert.deepEqual(await versions(info), everyHostOn(OLD));
    assert.deepEqual((await lbStates(info)).filter((s) => !/ UP$/.test(s)), []);
  });

  for (const [build, check] of [
    [`${NEW}-unhealthy`, /canary upgrade stopped: ha4 failed its health check on 2\.13\.2305-unhealthy/],
    [`${NEW}-fragile`, /canary drill failed with ha4 on 2\.13\.2305-fragile: etcd-member-loss/],
  ] as const)
    void it(`stops ${build} at the canary, rolls it back, never reaches a second host`, async () => {
      const inv = inventoryWith(info, build, OLD, build);
      const ha5Before = await startedAt(info, 'ha5');
      const r = await cli(['upgrade', '-i', inv, '--wait', '--health-deadline', '10'], env);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, check);
      assert.deepEqual(await versions(info), everyHostOn(OLD), 'the canary is back on the old build');
      assert.equal(await startedAt(info, 'ha5'), ha5Before, 'ha5 was not touched');
      assert.deepEqual((await lbStates(info)).filter((s) => !/ UP$/.test(s)), [], 'no host left drained');
    });

  // A run is started without --wait; this waits for a host to be out of rotation (drained or swapping).
  async function startAndCatchInFlight(): Promise<string> {
    const started = await cli(['upgrade', '-i', next, '--canary', '0', '--json'], env);
    assert.equal(started.code, 0, started.stderr);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    await eventually('a backend out of rotation', async () => ((await lbStates(info)).some((s) => !/ UP$/.test(s)) ? true : undefined), 180_000, 50);
    return workflowId;
  }

  void it('cancelled mid-host: the host in flight is rolled back or finished, none is left drained', async () => {
    const id = await startAndCatchInFlight();
    const c = await cli(['cancel', id, '--json'], env);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /CANCELLED|COMPLETED/);
    assert.deepEqual((await lbStates(info)).filter((s) => !/ UP$/.test(s)), [], 'no host left drained');
    for (const [host, v] of Object.entries(await versions(info))) assert.ok(v === `${host === 'ha1' || host === 'ha2' ? 'API7-Dashboard' : 'API7'}/${OLD}` || v?.endsWith(`/${NEW}`), `${host} serves a whole release: ${v}`);
  });

  void it('resumes after the worker is SIGKILLed mid-batch: every host on the new build, none left drained', async () => {
    const id = await startAndCatchInFlight();
    await worker.kill('SIGKILL');
    worker = await startWorker(env);
    const client = await createClient(temporalSettings({ address: env.TEMPORAL_ADDRESS }));
    try {
      const res = (await client.workflow.getHandle(id).result()) as UpgradeResult;
      assert.ok(res.hosts.every((h) => h.ok), JSON.stringify(res.hosts));
    } finally {
      await client.connection.close();
    }
    assert.deepEqual(await versions(info), everyHostOn(NEW));
    assert.deepEqual((await lbStates(info)).filter((s) => !/ UP$/.test(s)), [], 'no host left drained');
  });

  void it('cleanup keeps the running and the previous release, removes the broken ones (folder, tarball, image)', async () => {
    const r = await cli(['cleanup', '-i', next, '--keep', '0', '--wait', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { hosts: { host: string; component: string; kept: string[]; removed: string[] }[] };
    for (const gw of ['ha4', 'ha5']) {
      const h = res.hosts.find((x) => x.host === gw)!;
      assert.deepEqual(h.removed.sort(), [`api7-${NEW}-fragile-dp`, `api7-${NEW}-unhealthy-dp`]);
      assert.deepEqual(h.kept.sort(), [`api7-${OLD}-dp`, `api7-${NEW}-dp`].sort());
      const folders = await sshOk(info, hostOf(info, gw), `ls "$(dirname "$(docker ps --filter label=com.docker.compose.service=api7-gateway --format '{{.Label "com.docker.compose.project.working_dir"}}')")"`);
      assert.doesNotMatch(folders, /unhealthy|fragile/);
      assert.match(folders, new RegExp(`api7-${OLD.replace(/\./g, '\\.')}-dp`));
      const images = await sshOk(info, hostOf(info, gw), "docker images --format '{{.Repository}}:{{.Tag}}'");
      assert.doesNotMatch(images, /unhealthy|fragile/);
      assert.match(images, new RegExp(`api7-gateway:${OLD.replace(/\./g, '\\.')}`), 'the previous release stays');
    }
    for (const cp of ['ha1', 'ha2']) assert.deepEqual(res.hosts.find((x) => x.host === cp)!.removed, []);
    assert.deepEqual(await versions(info), everyHostOn(NEW), 'nothing running was touched');
  });
});
