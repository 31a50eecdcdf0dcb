// HA drills on a deployed lab, as an operator runs them: `api7-ha drill`, `cancel`, `schedule`,
// `report`, `drills`, against a worker in its own process and a real Temporal server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { LabInfo } from '../../lab/lab';
import { createClient, temporalSettings } from '../../src/client';
import { progressQuery, type RunProgress } from '../../src/contracts';
import type { DrillJournal } from '../../src/drills/journal';
import { http } from '../../src/reconcile/http';
import { drillInput } from '../../src/cli/drill';
import { loadInventory } from '../../src/inventory/load';
import type { DrillInput } from '../../src/runbook/types';
import { failoverVerification } from '../../src/workflows/failover-verification';
import { SDK_METRICS } from '../../src/metrics/definitions';
import { distDir } from '../support/paths';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { eventually, hostOf, labSkip, ssh, sshOk, testLab } from '../support/lab';
import { freePort, prometheusSkip, startPrometheus, type Prometheus } from '../support/prometheus';

const lab = testLab('drill');
const env = temporalEnv(`api7-ha-lab-drill-${process.pid}`);

/** etcdctl prints its health lines on stderr. */
async function healthOut(info: LabInfo): Promise<string> {
  const r = await ssh(info, hostOf(info, 'ha1'), 'docker exec etcd etcdctl endpoint health --cluster');
  return r.stdout + r.stderr;
}

/** The report as headless Chromium loads it (the DOM after parsing). */
function chromiumDom(file: string, dir: string): Promise<string> {
  return new Promise<string>((resolve, reject) =>
    execFile(
      '/usr/bin/chromium',
      ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, '--dump-dom', `file://${file}`],
      { timeout: 60_000, maxBuffer: 64 << 20 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
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
  // The worker serves its Prometheus metrics here (the SDK's and api7-ha's).
  const workerEnv: Record<string, string> = {};
  const progress = async (id: string): Promise<RunProgress | undefined> => client.workflow.getHandle(id).query(progressQuery).catch(() => undefined);

  before(async () => {
    info = await lab.up();
    client = await createClient(temporalSettings({ address: env.TEMPORAL_ADDRESS }));
    workerEnv.API7HA_METRICS = `127.0.0.1:${await freePort()}`;
    worker = await startWorker(env, workerEnv);
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
      ['config-propagation', 'passed'],
      ['dp-node-loss', 'passed'],
      ['cp-node-loss', 'passed'],
      ['etcd-member-loss', 'passed'],
      ['gateway-restart-during-etcd-degradation', 'passed'],
    ]);
    assert.equal(journal.score, 100);
    // Configuration propagation: every gateway served every version of the canary route, quiet or not.
    for (const s of journal.scenarios.filter((x) => x.metrics.propagation)) {
      const per = s.metrics.propagation!;
      const expected = s.id === 'gateway-restart-during-etcd-degradation' ? 1 : 2; // the restarted gateway is not asked
      assert.equal(Object.keys(per).length, expected, `${s.id}: gateways measured`);
      for (const [gw, m] of Object.entries(per)) {
        assert.ok(m.count > 0, `${s.id}: ${gw} served versions`);
        assert.equal(m.stale, 0, `${s.id}: ${gw} never stopped receiving changes`);
        console.log(`# propagation ${s.id} ${gw}: ${m.count} versions, p50 ${m.p50} ms, p99 ${m.p99} ms, max ${m.maxMs} ms`);
      }
    }
    assert.deepEqual(Object.keys(journal.scenarios[0]!.metrics.propagation!).sort(), ['ha4', 'ha5']);
    for (const s of journal.scenarios) {
      console.log(
        `# ${s.id} (${s.victim?.host}): dp outage ${s.metrics.probes.dp?.longestOutageMs ?? '-'} ms, cp outage ${s.metrics.probes.cp?.longestOutageMs ?? '-'} ms, ` +
          `detect ${s.metrics.detectMs ?? '-'} ms, recover ${s.metrics.recoverMs ?? '-'} ms, dp rate ${s.metrics.probes.dp?.achievedRatePerS ?? '-'}/s`,
      );
      for (const p of s.probes.filter((x) => x.name !== 'victim')) assert.ok(s.metrics.probes[p.name]!.achievedRatePerS >= 10, `${s.id} ${p.name} probed at >= 10/s`);
      if (s.metrics.probes.dp) assert.equal(s.metrics.probes.dp.failures, 0, `${s.id}: no failed request through the data plane LB`);
      if (s.id !== 'config-propagation') assert.ok(s.actions.some((a) => a.kind === 'rollback' && a.ok), `${s.id} rolled back`);
    }
    await everythingRunning(info);
  });

  void it('renders the journal as a report that loads in headless Chromium, one timeline per scenario', { skip: existsSync('/usr/bin/chromium') ? false : 'needs Debian chromium' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api7ha-report-'));
    try {
      const file = join(dir, 'report.html');
      const r = await cli(['report', drillIds[0]!, '-o', file], env);
      assert.equal(r.code, 0, r.stderr);
      const dom = await chromiumDom(file, dir);
      for (const id of ['dp-node-loss', 'cp-node-loss', 'etcd-member-loss', 'gateway-restart-during-etcd-degradation']) assert.match(dom, new RegExp(`<svg[^>]*class="timeline"[^>]*data-scenario="${id}"`));
      assert.match(dom, /PASSED/);
      // Propagation figures per gateway (the quiet period and the etcd faults), and the history strip.
      assert.match(dom, /<section class="scenario" id="[^"]*" data-scenario="config-propagation"[\s\S]*?<h3>Configuration propagation<\/h3><table class="propagation">[\s\S]*?<th scope="row" class="mono">ha4<\/th>/);
      assert.match(dom, /<section class="history" aria-label="Drill history">[\s\S]*?<span class="cell t-ok current" data-verdict="passed"/);
      assert.ok(readFileSync(file, 'utf8').length > 10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('aborts the fault when a stop condition fires (a second gateway stopped), still rolls back, tells the webhooks once per event, and feeds Prometheus', { skip: prometheusSkip }, async () => {
    // The webhook receiver: its URL holds a token, so the URL is a secret (as a Slack hook's is).
    const token = `hook-${randomBytes(12).toString('hex')}`;
    const received: { path: string; key: string; body: Record<string, unknown> }[] = [];
    const server: Server = createServer((req, res) => {
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => {
        const ok = req.url?.startsWith(`/hooks/${token}/`) ?? false;
        if (ok) received.push({ path: req.url!.split('/').pop()!, key: String(req.headers['idempotency-key']), body: JSON.parse(b) as Record<string, unknown> });
        res.writeHead(ok ? 200 : 404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/${token}`;
    let prom: Prometheus | undefined;
    const ha5 = hostOf(info, 'ha5');
    try {
      prom = await startPrometheus({
        gateways: { targets: ['ha4', 'ha5'].map((n) => `${hostOf(info, n).address}:9091`), path: '/apisix/prometheus/metrics' },
        'api7-ha': { targets: [workerEnv.API7HA_METRICS!] },
      });
      await eventually('Prometheus scraped both gateways', async () => ((await prom!.query('sum(up{job="gateways"})'))[0]?.value === 2 ? true : undefined), 30_000, 250);
      const dir = dirname(info.inventoryPath);
      writeFileSync(join(dir, 'webhook-json.url'), `${hook}/json\n`, { mode: 0o600 });
      writeFileSync(join(dir, 'webhook-slack.url'), `${hook}/slack\n`, { mode: 0o600 });
      const inv = parse(readFileSync(info.inventoryPath, 'utf8')) as Record<string, Record<string, unknown>>;
      // A long hold: the stop condition cuts it short, so it costs nothing unless the abort fails.
      inv.drills = { ...inv.drills, hold_s: 20, stop_conditions: [{ name: 'gateways-up', prometheus: { url: prom.url, query: 'sum(up{job="gateways"})', threshold: 1, when: 'below' } }] };
      inv.notifications = {
        report_url: 'http://temporal-ui.invalid/namespaces/default/workflows/{workflow_id}/{run_id}',
        webhooks: [
          { name: 'team', url: { file: join(dir, 'webhook-json.url') } },
          { name: 'team-chat', url: { file: join(dir, 'webhook-slack.url') }, format: 'slack', events: ['drill.aborted', 'rollback.failed'] },
        ],
      };
      const invPath = join(dir, 'inventory-stop.yaml');
      writeFileSync(invPath, stringify(inv));

      const started = await cli(['drill', '-i', invPath, '--scenarios', 'dp-node-loss', '--victim', 'ha4', '--json'], env);
      assert.equal(started.code, 0, started.stderr);
      const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
      drillIds.push(workflowId);
      // What `watch` shows while the fault holds: the action and live counts per probe.
      const live = await eventually('the fault holds', async () => ((await progress(workflowId))?.live?.action === 'holding' ? (await progress(workflowId))!.live : undefined), 120_000, 100);
      // Customers are failing now: the other gateway goes too.
      await sshOk(info, ha5, 'docker stop $(docker ps -q)');
      assert.equal(live?.scenario, 'dp-node-loss');
      assert.ok(live?.probes.some((p) => p.name === 'dp' && p.requests > 0), JSON.stringify(live));
      const journal = (await client.workflow.getHandle(workflowId).result()) as DrillJournal;
      await sshOk(info, ha5, 'docker start $(docker ps -aq)');
      const s = journal.scenarios[0]!;
      assert.equal(journal.verdict, 'failed');
      assert.equal(s.status, 'aborted', s.error);
      assert.ok(s.abort && ['peer-unhealthy:ha5', 'gateways-up', 'dp-budget'].includes(s.abort.condition), JSON.stringify(s.abort));
      assert.match(s.error!, /^aborted by stop condition /);
      const fault = s.actions.find((a) => a.kind === 'fault')!;
      const rollback = s.actions.find((a) => a.kind === 'rollback')!;
      assert.ok(rollback.ok && s.actions.find((a) => a.kind === 'recovery')?.ok, JSON.stringify(s.actions));
      assert.ok(rollback.startedAt < fault.endedAt + 20_000, 'the hold was cut short');
      assert.ok(s.abort.firingToRollbackStartMs !== undefined && s.abort.firingToRollbackDoneMs !== undefined);
      console.log(`# stop condition ${s.abort.condition} (${s.abort.detail}): rollback started ${s.abort.firingToRollbackStartMs} ms after firing, done (recovered) ${s.abort.firingToRollbackDoneMs} ms after`);
      // The Prometheus condition was evaluated against the real Prometheus while the fault held.
      const promRecord = s.stopConditions?.find((c) => c.condition === 'gateways-up');
      assert.ok(promRecord && promRecord.checks > 0 && promRecord.lastError === undefined, JSON.stringify(s.stopConditions));
      assert.equal((await sshOk(info, hostOf(info, 'ha4'), "docker ps --format '{{.State}}'")).trim(), 'running', 'the victim was restored');

      // Notifications: once per event and webhook, with the verdict, figures and report; never the URL.
      await eventually('the end notifications arrived', async () => (received.length >= 3 ? true : undefined), 30_000, 100);
      const byHook = (path: string) => received.filter((m) => m.path === path).map((m) => (m.body.type as string | undefined) ?? 'slack');
      assert.deepEqual(byHook('json'), ['drill.started', 'drill.aborted']);
      assert.deepEqual(byHook('slack'), ['slack']);
      // The Idempotency-Key is the event's (the same on every retry); each webhook gets it once.
      assert.equal(new Set(received.map((m) => `${m.path} ${m.key}`)).size, received.length, 'no duplicate');
      assert.equal(received.find((m) => m.path === 'slack')!.key, received.find((m) => m.body.type === 'drill.aborted')!.key);
      const end = received.find((m) => m.body.type === 'drill.aborted')!.body as { verdict: string; figures: Record<string, string>; report: { url: string; command: string } };
      assert.equal(end.verdict, 'failed');
      assert.match(end.figures['dp-node-loss']!, /^ABORTED; .*aborted by /);
      assert.match(end.report.url, new RegExp(`/workflows/${workflowId}/`));
      assert.match(String(received.find((m) => m.path === 'slack')!.body.text), /drill lab\*: ABORTED \(verdict FAILED, score \d+\/100\)/);
      assert.deepEqual(journal.notifications?.map((n) => [n.event, n.webhook, n.ok]), [
        ['drill.started', 'team', true],
        ['drill.aborted', 'team', true],
        ['drill.aborted', 'team-chat', true],
      ]);
      const history = JSON.stringify(await client.workflow.getHandle(workflowId).fetchHistory());
      const reportFile = join(dir, 'report-stop.html');
      assert.equal((await cli(['report', workflowId, '-o', reportFile], env)).code, 0);
      if (existsSync('/usr/bin/chromium')) {
        const profile = mkdtempSync(join(tmpdir(), 'api7ha-report-'));
        try {
          const dom = await chromiumDom(reportFile, profile);
          assert.match(dom, new RegExp(`<div class="abort" role="alert" data-abort="${s.abort.condition}"><b>Aborted by stop condition`));
          assert.match(dom, /rollback started [\d.]+ (ms|s) after it fired/);
          assert.match(dom, /<span class="cell t-bad current" data-verdict="failed"/);
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      }
      for (const [where, text] of [
        ['history', history],
        ['journal', JSON.stringify(journal)],
        ['worker log', worker.output()],
        ['report', readFileSync(reportFile, 'utf8')],
        ['notifications', JSON.stringify(received.map((m) => m.body))],
      ] as const)
        assert.ok(!text.includes(token), `the webhook URL is not in the ${where}`);
      // Structured worker logs: one JSON line per activity start and end.
      const lines = worker
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{"ts"') && l.endsWith('}'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as { event: string; run: string; step: string; outcome?: string; durationMs?: number }];
          } catch {
            return []; // a line the pipe split between stdout and stderr chunks
          }
        });
      assert.ok(lines.some((l) => l.run === workflowId && l.event === 'activity.end' && l.step === 'rollbackFault' && l.outcome === 'ok' && typeof l.durationMs === 'number'), 'a JSON line for the rollback');

      // The worker's metrics, scraped by the real Prometheus and read back with PromQL.
      const score = await eventually('Prometheus has the drill', async () => (await prom!.query('api7ha_drill_last_score{cluster="lab"}'))[0], 30_000, 500);
      assert.equal(score.value, journal.score);
      assert.equal((await prom.query('api7ha_drill_scenario_aborted{cluster="lab",scenario="dp-node-loss"}'))[0]?.value, 1);
      assert.equal((await prom.query('api7ha_drill_last_verdict{cluster="lab",verdict="failed"}'))[0]?.value, 1);
      assert.ok((await prom.query('count({job="api7-ha",__name__=~"temporal_.+"})'))[0]!.value > 0, "the SDK's own metrics are there too");
      // The ones the Grafana dashboard reads exist under those names.
      for (const n of SDK_METRICS) assert.ok((await prom.query(`count(${n}_bucket{job="api7-ha"})`))[0]!.value > 0, n);
    } finally {
      await sshOk(info, ha5, 'docker start $(docker ps -aq)');
      await prom?.stop();
      server.close();
    }
    await eventually('ha5 serves again', async () => ((await http(`http://${ha5.address}/get`, { headers: { Host: 'test.com' } })).status === 200 ? true : undefined), 60_000, 250);
    await everythingRunning(info);
  });

  void it('keeps the samples across a worker SIGKILL while a fault holds: the gap is marked, the scenario re-run, the verdict the estate\'s', async () => {
    const started = await cli(['drill', '-i', info.inventoryPath, '--scenarios', 'dp-node-loss', '--json'], env);
    assert.equal(started.code, 0, started.stderr);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    drillIds.push(workflowId);
    await eventually('the fault holds', async () => ((await progress(workflowId))?.live?.action === 'holding' ? true : undefined), 120_000, 100);
    // What `status` (and `watch`) show while the scenario runs: its action and live counts per probe.
    const w = await cli(['status', workflowId], env);
    assert.match(w.stdout, /now: [a-z ]+ \([\d.]+s\)\n\s+dp\s+\d+ requests, \d+ failed, longest outage \d+ ms/);
    await worker.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    worker = await startWorker(env, workerEnv);
    const restartedAt = Date.now();
    const journal = (await client.workflow.getHandle(workflowId).result()) as DrillJournal;
    const s = journal.scenarios[0]!;
    assert.equal(journal.verdict, 'passed', journal.summary);
    assert.equal(s.status, 'passed', s.error);
    assert.ok(s.interruption, 'the journal records the interruption');
    assert.equal(s.interruption.attempt.status, 'interrupted');
    assert.match(s.interruption.reason, /the probes stopped for \d+ ms \(a worker restart\): not measured/);
    const dp = s.interruption.attempt.probes.find((p) => p.name === 'dp')!;
    assert.equal(dp.gaps?.length, 1, 'one gap');
    const gap = dp.gaps![0]!;
    // The samples of the killed worker survived, and the probes resumed after the gap.
    assert.ok(dp.samples.some(([t]) => t < gap.from) && dp.samples.some(([t]) => t > gap.to), 'samples before and after the gap');
    assert.ok(!dp.samples.some(([t]) => t > gap.from && t < gap.to), 'nothing measured inside the gap');
    // The interrupted attempt still rolled back: the fault was not left in place.
    assert.ok(s.interruption.attempt.actions.some((a) => a.kind === 'rollback' && a.ok));
    assert.ok(!s.interruption.attempt.hypotheses.some((h) => !h.ok) || s.interruption.attempt.status === 'interrupted');
    console.log(`# worker SIGKILL mid-fault: probe gap ${gap.to - gap.from} ms (worker down ${restartedAt - killedAt} ms), re-run ${s.status}, dp outage ${s.metrics.probes.dp?.longestOutageMs} ms`);
    await everythingRunning(info);
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
      console.log(
        `# ${s.id} (${s.victim?.host}): dp outage ${s.metrics.probes.dp?.longestOutageMs ?? '-'} ms, dp failed ${s.metrics.probes.dp?.failures ?? '-'} of ${s.metrics.probes.dp?.requests ?? '-'}, cp outage ${s.metrics.probes.cp?.longestOutageMs ?? '-'} ms, recover ${s.metrics.recoverMs ?? '-'} ms`,
      );
      // The managed HAProxy retries a request that finds its backend gone: customers see no failure.
      assert.equal(s.metrics.probes.dp?.failures, 0, `${s.id}: no failed request through the data plane LB`);
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
