// HA drills on a deployed lab, as an operator runs them: `api7-ha drill`, `cancel`, `schedule`,
// `report`, `drills`, against a worker in its own process and a real Temporal server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { LabInfo } from '../../lab/lab';
import { createClient, temporalSettings } from '../../src/client';
import type { DrillJournal } from '../../src/drills/journal';
import { http } from '../../src/reconcile/http';
import { drillInput } from '../../src/cli/drill';
import { loadInventory } from '../../src/inventory/load';
import type { DrillInput } from '../../src/runbook/types';
import { failoverVerification } from '../../src/workflows/failover-verification';
import { distDir } from '../support/paths';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { eventually, hostOf, labSkip, ssh, sshOk, testLab } from '../support/lab';

const lab = testLab('drill');
const env = temporalEnv(`api7-ha-lab-drill-${process.pid}`);

/** etcdctl prints its health lines on stderr. */
async function healthOut(info: LabInfo): Promise<string> {
  const r = await ssh(info, hostOf(info, 'ha1'), 'docker exec etcd etcdctl endpoint health --cluster');
  return r.stdout + r.stderr;
}

/** What an operator checks after a drill: every container up, etcd whole, both LBs answering. */
async function everythingRunning(info: LabInfo): Promise<void> {
  for (const h of info.hosts) {
    const ps = await sshOk(info, h, "docker ps -a --format '{{.Names}} {{.State}}'");
    for (const line of ps.trim().split('\n').filter(Boolean)) assert.match(line, / running$/, `${h.name}: ${line}`);
  }
  const endpoints = ['ha1', 'ha2', 'ha3'].map((n) => `${hostOf(info, n).address}:2379`).join(',');
  const health = await ssh(info, hostOf(info, 'ha1'), `docker exec etcd etcdctl --endpoints ${endpoints} endpoint health`);
  assert.equal((`${health.stdout}${health.stderr}`.match(/is healthy/g) ?? []).length, 3, health.stdout + health.stderr);
  const lb = hostOf(info, 'lb').address;
  assert.equal((await http(`http://${lb}/get`, { headers: { Host: 'test.com' } })).status, 200);
  assert.equal((await http(`http://${lb}:9000/ping`)).status, 200);
}

void describe('HA drills on the lab', { skip: labSkip }, () => {
  let info: LabInfo;
  let worker: WorkerProcess;
  let client: Client;
  const drillIds: string[] = [];

  before(async () => {
    info = await lab.up();
    client = await createClient(temporalSettings({ address: env.TEMPORAL_ADDRESS }));
    worker = await startWorker(env);
    const d = await cli(['deploy', '-i', info.inventoryPath, '--wait', '--failover', 'never'], env);
    assert.equal(d.code, 0, d.stderr);
  });
  after(async () => {
    await cli(['schedule', 'delete', 'drill-lab'], env);
    await worker?.kill('SIGTERM');
    await client?.connection.close();
    await lab.down();
  });

  void it('passes every default scenario, measured, and leaves every service running', async () => {
    const r = await cli(['drill', '-i', info.inventoryPath, '--wait', '--json'], env);
    const journal = JSON.parse(r.stdout) as DrillJournal;
    drillIds.push(journal.workflowId);
    assert.equal(r.code, 0, `${journal.summary}\n${journal.scenarios.filter((s) => s.error).map((s) => `${s.id}: ${s.error}`).join('\n')}\n${r.stderr}`);
    assert.equal(journal.verdict, 'passed');
    assert.deepEqual(journal.scenarios.map((s) => [s.id, s.status]), [
      ['dp-node-loss', 'passed'],
      ['cp-node-loss', 'passed'],
      ['etcd-member-loss', 'passed'],
      ['gateway-restart-during-etcd-degradation', 'passed'],
    ]);
    assert.equal(journal.score, 100);
    for (const s of journal.scenarios) {
      console.log(
        `# ${s.id} (${s.victim?.host}): dp outage ${s.metrics.probes.dp?.longestOutageMs ?? '-'} ms, cp outage ${s.metrics.probes.cp?.longestOutageMs ?? '-'} ms, ` +
          `detect ${s.metrics.detectMs ?? '-'} ms, recover ${s.metrics.recoverMs ?? '-'} ms, dp rate ${s.metrics.probes.dp?.achievedRatePerS ?? '-'}/s`,
      );
      for (const p of s.probes.filter((x) => x.name !== 'victim')) assert.ok(s.metrics.probes[p.name]!.achievedRatePerS >= 10, `${s.id} ${p.name} probed at >= 10/s`);
      assert.ok(s.actions.some((a) => a.kind === 'rollback' && a.ok), `${s.id} rolled back`);
    }
    await everythingRunning(info);
  });

  void it('renders the journal as a report that loads in headless Chromium, one timeline per scenario', { skip: existsSync('/usr/bin/chromium') ? false : 'needs Debian chromium' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api7ha-report-'));
    try {
      const file = join(dir, 'report.html');
      const r = await cli(['report', drillIds[0]!, '-o', file], env);
      assert.equal(r.code, 0, r.stderr);
      const dom = await new Promise<string>((resolve, reject) =>
        execFile(
          '/usr/bin/chromium',
          ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, '--dump-dom', `file://${file}`],
          { timeout: 60_000, maxBuffer: 64 << 20 },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      );
      for (const id of ['dp-node-loss', 'cp-node-loss', 'etcd-member-loss', 'gateway-restart-during-etcd-degradation']) assert.match(dom, new RegExp(`<svg[^>]*class="timeline"[^>]*data-scenario="${id}"`));
      assert.match(dom, /PASSED/);
      assert.ok(readFileSync(file, 'utf8').length > 10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('refuses to drill a degraded estate (one etcd member stopped) and changes nothing', async () => {
    const ha3 = hostOf(info, 'ha3');
    await sshOk(info, ha3, 'docker stop etcd');
    try {
      const before = await Promise.all(info.hosts.map((h) => sshOk(info, h, "docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}' | sort")));
      const r = await cli(['drill', '-i', info.inventoryPath, '--wait'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refused: the estate is not in its steady state, so no fault was injected: etcd: .*unhealthy/);
      const afterPs = await Promise.all(info.hosts.map((h) => sshOk(info, h, "docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}' | sort")));
      assert.deepEqual(afterPs, before, 'no container was stopped, started or recreated');
    } finally {
      await sshOk(info, ha3, 'docker start etcd');
    }
    await eventually('etcd whole again', async () => ((await healthOut(info)).match(/is healthy/g)?.length === 3 ? true : undefined), 60_000, 500);
  });

  void it('restores the etcd member when the drill is cancelled during the fault', async () => {
    const started = await cli(['drill', '-i', info.inventoryPath, '--scenarios', 'etcd-member-loss', '--json'], env);
    assert.equal(started.code, 0, started.stderr);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    drillIds.push(workflowId);
    const members = ['ha1', 'ha2', 'ha3'].map((n) => hostOf(info, n));
    const victim = await eventually(
      'an etcd member stopped by the drill',
      async () => {
        for (const m of members) if ((await sshOk(info, m, "docker inspect --format '{{.State.Running}}' etcd")).trim() === 'false') return m;
        return undefined;
      },
      120_000,
      100,
    );
    const c = await cli(['cancel', workflowId], env);
    assert.equal(c.code, 0, c.stderr);
    assert.equal((await sshOk(info, victim, "docker inspect --format '{{.State.Running}}' etcd")).trim(), 'true', `${victim.name}'s member was started again before the cancel returned`);
    const desc = await client.workflow.getHandle(workflowId).describe();
    assert.equal(desc.status.name, 'CANCELLED');
    await eventually('the member rejoined', async () => ((await healthOut(info)).match(/is healthy/g)?.length === 3 ? true : undefined), 60_000, 500);
    await everythingRunning(info);
  });

  void it('runs a drill from a schedule when triggered, and lists drills with their verdicts', async () => {
    const created = await cli(['schedule', 'create', '-i', info.inventoryPath, '--cron', '0 3 * * *', '--timezone', 'Europe/Berlin', '--jitter', '10m', '--scenarios', 'dp-node-loss'], env);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /drill-lab: 0 3 \* \* \* \(Europe\/Berlin\), jitter 10m, overlap SKIP, catch-up 1h/);
    const listed = await cli(['schedule', 'list'], env);
    assert.match(listed.stdout, /drill-lab\s+active/);
    const t = await cli(['schedule', 'trigger', 'drill-lab'], env);
    assert.equal(t.code, 0, t.stderr);
    const id = await eventually(
      'the scheduled drill starts',
      async () => {
        const d = await client.schedule.getHandle('drill-lab').describe();
        return d.info.recentActions[0]?.action.workflow.workflowId;
      },
      30_000,
      250,
    );
    const journal = (await client.workflow.getHandle(id).result()) as DrillJournal;
    drillIds.push(id);
    assert.equal(journal.verdict, 'passed');
    assert.deepEqual(journal.scenarios.map((s) => s.id), ['dp-node-loss']);
    // The bad-input path of schedule create: exit 2, naming the flag.
    const bad = await cli(['schedule', 'create', '-i', info.inventoryPath, '--cron', '61 3 * *'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--cron 61 3 \* \*: expected five cron fields/);

    const drills = await eventually(
      'drills listed in visibility',
      async () => {
        const r = await cli(['drills', '-c', 'lab', '--json'], env);
        const rows = JSON.parse(r.stdout) as { workflowId: string; memo?: { verdict: string; score: number } }[];
        return drillIds.every((d) => rows.some((x) => x.workflowId === d && (x.memo || d === drillIds[1]))) ? rows : undefined;
      },
      30_000,
      500,
    );
    assert.equal(drills.find((d) => d.workflowId === drillIds[0])?.memo?.verdict, 'passed');
    const text = await cli(['drills', '-c', 'lab'], env);
    assert.match(text.stdout, /VERDICT\s+SCORE/);
    assert.match(text.stdout, new RegExp(`${drillIds[0]}.*passed\\s+100`));
  });

  void it('survives a whole host powered off and an etcd host cut off the network, and brings both back', async () => {
    const r = await cli(['drill', '-i', info.inventoryPath, '--scenarios', 'host-loss,etcd-partition', '--wait', '--json'], env);
    const journal = JSON.parse(r.stdout) as DrillJournal;
    assert.equal(r.code, 0, `${journal.summary}\n${journal.scenarios.filter((s) => s.error).map((s) => `${s.id}: ${s.error}`).join('\n')}\n${r.stderr}`);
    assert.deepEqual(journal.scenarios.map((s) => [s.id, s.status]), [
      ['host-loss', 'passed'],
      ['etcd-partition', 'passed'],
    ]);
    for (const s of journal.scenarios) {
      console.log(`# ${s.id} (${s.victim?.host}): dp outage ${s.metrics.probes.dp?.longestOutageMs ?? '-'} ms, cp outage ${s.metrics.probes.cp?.longestOutageMs ?? '-'} ms, recover ${s.metrics.recoverMs ?? '-'} ms`);
      assert.deepEqual(s.actions.filter((a) => a.kind === 'fault' || a.kind === 'rollback' || a.kind === 'recovery').map((a) => [a.kind, a.ok]), [
        ['fault', true],
        ['rollback', true],
        ['recovery', true],
      ]);
    }
    // The lab agrees: no host is left powered off or disconnected.
    const state = JSON.parse(readFileSync(join(lab.dir, 'state.json'), 'utf8')) as { hosts: { name: string; poweredOff?: boolean; disconnected?: boolean }[] };
    assert.deepEqual(state.hosts.filter((h) => h.poweredOff || h.disconnected).map((h) => h.name), []);
    await everythingRunning(info);
  });

  void it('takes a whole host away through the commands driver (operator argv, as ipmitool would be), and brings it back', async () => {
    // An estate outside the lab names its own power commands; here they are the lab's, run as argv.
    const { spec } = loadInventory(info.inventoryPath);
    const labCli = (action: string) => [process.execPath, join(distDir(), 'lab', 'cli.js'), '--dir', info.dir, '-q', action, '{host}'];
    spec.drills.hostFaultDriver = { type: 'commands', commands: { powerOff: labCli('power-off'), powerOn: labCli('power-on'), timeoutS: 60 } };
    const input: DrillInput = { ...drillInput(spec, ['host-loss'], 'ha5'), timing: { baselineS: 1, holdS: 2, afterS: 1 } };
    const journal = await client.workflow.execute(failoverVerification, { taskQueue: env.TEMPORAL_TASK_QUEUE, workflowId: `drill-lab-commands-${Date.now()}`, args: [input] });
    const s = journal.scenarios[0]!;
    assert.equal(s.status, 'passed', JSON.stringify(s.actions));
    assert.equal(s.victim?.host, 'ha5');
    const fault = s.actions.find((a) => a.kind === 'fault')!;
    // The journal names the operator's argv and what it printed.
    assert.match(fault.detail, /^power-off ha5: .*lab\/cli\.js --dir \S+ -q power-off ha5 \(power-off ha5: done in [\d.]+s\)$/);
    assert.match(s.actions.find((a) => a.kind === 'rollback')!.detail, /^power-on ha5: /);
    assert.ok(s.probes.find((p) => p.name === 'victim')!.samples.some(([, status]) => status === 0), 'the victim was seen down');
    const state = JSON.parse(readFileSync(join(lab.dir, 'state.json'), 'utf8')) as { hosts: { name: string; poweredOff?: boolean }[] };
    assert.deepEqual(state.hosts.filter((h) => h.poweredOff).map((h) => h.name), []);
    await everythingRunning(info);
  });
});
