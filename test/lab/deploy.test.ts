// The deploy on the lab, end to end, as an operator runs it: `api7-ha deploy` against a worker in its
// own process, a real Temporal server, real sshd and Docker engines, real etcd.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import type { LabInfo } from '../../lab/lab';
import { createClient, temporalSettings } from '../../src/client';
import { http, looksLikeUpstream } from '../../src/reconcile/http';
import { workflowSource } from '../../src/worker';
import type { RunProgress } from '../../src/workflows/progress';
import type { DeployResult, FailoverCheck } from '../../src/runbook/types';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { eventually, hostOf, labSkip, ssh, sshOk, testLab } from '../support/lab';
import { quietRuntime } from '../support/temporal';

const lab = testLab('deploy');
const env = temporalEnv(`api7-ha-lab-deploy-${process.pid}`);
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

function decode(payloads: temporal.api.common.v1.IPayloads | null | undefined): unknown[] {
  return (payloads?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p));
}

/** Every activity the run scheduled, with its host (from its input) and its result. */
function activities(events: HistoryEvent[]) {
  const scheduled = new Map<string, { type: string; host?: string; result?: unknown; attempt?: number }>();
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const arg = decode(s.input)[0] as { target?: { host?: string } } | undefined;
      scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '', ...(arg?.target?.host ? { host: arg.target.host } : {}) });
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c) {
      const a = scheduled.get(String(c.scheduledEventId));
      if (a) a.result = decode(c.result)[0];
    }
    const st = e.activityTaskStartedEventAttributes;
    if (st) {
      const a = scheduled.get(String(st.scheduledEventId));
      if (a) a.attempt = st.attempt ?? 1;
    }
  }
  return [...scheduled.values()];
}

/** Containers and images on every host: what a re-run must not change. */
async function snapshot(info: LabInfo): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of info.hosts) {
    out[`${h.name} containers`] = (await sshOk(info, h, "docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.Status}}' | sed 's/Up [^(]*//' | sort")).trim();
    out[`${h.name} started`] = (await sshOk(info, h, "docker inspect --format '{{.Name}} {{.State.StartedAt}} {{.RestartCount}}' $(docker ps -aq) 2>/dev/null | sort || true")).trim();
    out[`${h.name} images`] = (await sshOk(info, h, "docker images --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort")).trim();
  }
  return out;
}

void describe('deploy on the lab', { skip: labSkip }, () => {
  let info: LabInfo;
  let inventory: string;
  let worker: WorkerProcess;
  let client: Client;
  const histories: { id: string; runId: string }[] = [];

  before(async () => {
    info = await lab.up();
    inventory = info.inventoryPath;
    client = await createClient(temporalSettings({ address: env.TEMPORAL_ADDRESS }));
    worker = await startWorker(env);
  });
  after(async () => {
    await worker?.kill('SIGTERM');
    await client?.connection.close();
    await lab.down();
    rmSync(info.dir, { recursive: true, force: true });
  });

  void it('preflight reports a host whose etcd port is taken, with the port, and deploys nothing', async () => {
    const ha2 = hostOf(info, 'ha2');
    const pid = (await sshOk(info, ha2, 'nohup busybox nc -l -p 2379 >/dev/null 2>&1 & echo $!')).trim();
    try {
      const r = await cli(['deploy', '-i', inventory, '--wait'], env);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /ha2\s+BLOCK\s+ports\s+port 2379 \(etcd\) is already in use/);
      assert.notEqual((await ssh(info, ha2, 'docker inspect etcd')).code, 0, 'no etcd container was started on ha2');
      assert.notEqual((await ssh(info, hostOf(info, 'ha1'), 'docker inspect etcd')).code, 0, 'nor anywhere else');
    } finally {
      await ssh(info, ha2, `kill ${pid}`);
    }
  });

  void it('deploys the runbook\'s estate, resuming after the worker is killed during the control plane rollout', async () => {
    const started = await cli(['deploy', '-i', inventory, '--json'], env);
    assert.equal(started.code, 0, started.stderr);
    const { workflowId, runId } = JSON.parse(started.stdout) as { workflowId: string; runId: string };
    assert.equal(workflowId, 'deploy-lab');
    const handle = client.workflow.getHandle(workflowId, runId);
    // A second deploy of the same cluster is refused while this one runs, naming the running one.
    const second = await cli(['deploy', '-i', inventory], env);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /already running: deploy-lab|deploy deploy-lab is running/);

    await eventually('the control plane rollout starts', async () => ((await handle.query<RunProgress>('progress')).phase === 'control-plane' ? true : undefined), 300_000, 50);
    await worker.kill('SIGKILL');
    const killedAt = Date.now();
    worker = await startWorker(env);
    const result = (await handle.result()) as DeployResult;
    histories.push({ id: workflowId, runId });
    console.log(`# deploy completed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the worker was killed`);

    assert.deepEqual(result.endpoints, { controlPlane: `http://${hostOf(info, 'lb').address}:9000`, dataPlane: `http://${hostOf(info, 'lb').address}` });
    assert.equal(result.etcd.quorum.healthy, true);
    assert.deepEqual(result.etcd.members.map((m) => m.action), ['created', 'created', 'created']);
    assert.ok(result.controlPlane.hosts.every((h) => h.ok) && result.dataPlane.hosts.every((h) => h.ok));
    assert.equal(result.failover?.passed, true, JSON.stringify(result.failover));

    // Nothing finished was done again: each activity ran to completion once per host; an upload
    // interrupted by the kill resumed from the bytes already on the host.
    const acts = activities((await handle.fetchHistory()).events ?? []);
    for (const type of ['uploadPackage', 'installPackage', 'configureComponent', 'startComponent', 'ensureEtcdMember']) {
      const byHost = new Map<string, number>();
      for (const a of acts.filter((x) => x.type === type && x.host)) byHost.set(a.host!, (byHost.get(a.host!) ?? 0) + 1);
      for (const [host, n] of byHost) {
        const allowed = 1;
        assert.ok(n <= allowed, `${type} on ${host} scheduled ${n} times`);
      }
    }
    for (const up of acts.filter((a) => a.type === 'uploadPackage')) {
      const r = up.result as { uploaded: boolean; resumedFrom: number };
      if ((up.attempt ?? 1) > 1) assert.ok(!r.uploaded || r.resumedFrom >= 0, `retried upload on ${up.host} resumed (${JSON.stringify(r)})`);
    }
    // The engines' own event logs: each image was loaded once per host, each container created once
    // (but the gateway and dashboard the failover check stopped with `compose down` and started again).
    for (const h of info.hosts) {
      const loads = (await sshOk(info, h, `docker events --since 0 --until "$(date +%s)" --filter type=image --filter event=load --format '{{.ID}}'`)).trim().split('\n').filter(Boolean);
      const expected = (h.roles.includes('etcd') ? 1 : 0) + (h.roles.includes('control_plane') ? 1 : 0) + (h.roles.includes('data_plane') ? 1 : 0) + (h.roles.includes('load_balancer') ? 1 : 0);
      assert.equal(loads.length, expected, `${h.name}: docker load ran ${loads.length} times (${loads.join(', ')})`);
      const creates = (await sshOk(info, h, `docker events --since 0 --until "$(date +%s)" --filter type=container --filter event=create --format '{{.Actor.Attributes.name}} {{index .Actor.Attributes "io.api7-ha.role"}}'`))
        .trim()
        .split('\n')
        .filter((l) => l && !l.endsWith(' config-check')); // HAProxy's throwaway `haproxy -c` containers
      // `docker compose down` + `up` of the failover check's gateway and dashboard victims creates anew.
      const restarted: number = result.failover!.checks.filter((c: FailoverCheck) => (c.name === 'dp-node-loss' || c.name === 'cp-node-loss') && c.victim === h.name).length;
      assert.equal(creates.length, expected + restarted, `${h.name}: containers created ${creates.join(', ')}`);
    }
  });

  void it('serves the upstream\'s JSON for Host: test.com through the data plane load balancer', async () => {
    const lb = hostOf(info, 'lb').address;
    for (let i = 0; i < 10; i++) {
      const r = await http(`http://${lb}/get`, { headers: { Host: 'test.com' } });
      assert.equal(r.status, 200);
      assert.ok(looksLikeUpstream(r.body));
      assert.equal((JSON.parse(r.body) as { url: string }).url, 'http://test.com/get');
    }
    // The control plane load balancer answers too, with the dashboards behind it.
    assert.equal((await http(`http://${lb}:9000/ping`)).status, 200);
  });

  void it('changes nothing on a second deploy: no container recreated, no image loaded', async () => {
    const before = await snapshot(info);
    const t0 = Date.now();
    const r = await cli(['deploy', '-i', inventory, '--wait', '--json'], env);
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as DeployResult & { workflowId: string; runId: string };
    histories.push({ id: result.workflowId, runId: result.runId });
    console.log(`# converged re-run took ${seconds.toFixed(1)} s`);
    assert.equal(result.changed, false);
    assert.equal(result.failover, undefined, 'no fault is injected into an unchanged estate');
    assert.ok(result.etcd.members.every((m) => m.action === 'unchanged'));
    assert.ok([...result.controlPlane.hosts, ...result.dataPlane.hosts].every((h) => h.action === 'unchanged' && h.imagesLoaded === 0 && !h.uploaded && !h.configChanged));
    assert.deepEqual(await snapshot(info), before);
    // The plan agrees: nothing to do.
    const plan = await cli(['deploy', '-i', inventory, '--plan'], env);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /No changes: the estate matches the inventory\./);
  });

  void it('plans a drifted host without showing the secret deployed on it, in text or JSON', async () => {
    const ha1 = hostOf(info, 'ha1');
    const conf = '/opt/api7/api7-2.13.2304-cp/dashboard_conf/conf.yaml';
    const drifted = `drifted-${Date.now()}-secret`;
    // Someone rotated the shared secret on ha1 by hand (the original file is kept, mtime and all).
    await sshOk(info, ha1, `cp -p ${conf} ${conf}.drift-test && sed -i 's/^\\(  secret: \\).*/\\1"${drifted}"/' ${conf} && grep -q ${drifted} ${conf}`);
    try {
      const text = await cli(['deploy', '-i', inventory, '--plan', '--detailed-exitcode'], env);
      const json = await cli(['deploy', '-i', inventory, '--plan', '--json'], env);
      assert.equal(text.code, 3, `changes pending: ${text.stdout}${text.stderr}`);
      assert.equal(json.code, 0, json.stderr);
      for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) assert.ok(!out.includes(drifted), 'the deployed secret is in the plan');
      assert.match(text.stdout, /-\s+secret: \*\*\*\n\s+\+\s+secret: __SECRET_dashboard_secret__/);
    } finally {
      await sshOk(info, ha1, `mv ${conf}.drift-test ${conf}`);
    }
  });

  void it('rolls a configuration change out one member and one dashboard at a time, keeping data and backups', async () => {
    const members = ['ha1', 'ha2', 'ha3'].map((n) => hostOf(info, n));
    // Data written before the change must survive it: no data dir is ever wiped.
    await sshOk(info, members[0]!, `docker exec etcd etcdctl put /api7-ha-test/survives yes`);
    const changed = join(info.dir, 'inventory-changed.yaml');
    writeFileSync(
      changed,
      readFileSync(inventory, 'utf8').replace('control_plane:\n', 'control_plane:\n  token_expire_s: 7200\n').concat('etcd:\n  heartbeat_interval_ms: 150\n  election_timeout_ms: 1500\n'),
    );
    const before = await Promise.all(members.map(async (m) => (await sshOk(info, m, "docker inspect --format '{{.Id}}' etcd")).trim()));
    const r = await cli(['deploy', '-i', changed, '--wait', '--json', '--failover', 'never'], env);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const result = JSON.parse(r.stdout) as DeployResult & { workflowId: string; runId: string };
    histories.push({ id: result.workflowId, runId: result.runId });
    assert.deepEqual(result.etcd.members.map((m) => m.action), ['recreated', 'recreated', 'recreated']);
    assert.equal(result.controlPlane.mode, 'rolling');
    assert.ok(result.controlPlane.hosts.every((h) => h.configChanged && h.action === 'recreated'));
    assert.ok(result.dataPlane.hosts.every((h) => h.action === 'unchanged'), 'the gateways\' config did not change');
    // One member at a time: the recreations did not overlap (the history orders them).
    const recreations = activities((await client.workflow.getHandle(result.workflowId, result.runId).fetchHistory()).events ?? []).filter((a) => a.type === 'recreateEtcdMember');
    assert.equal(recreations.length, 3);
    for (const [i, m] of members.entries()) {
      const id = (await sshOk(info, m, "docker inspect --format '{{.Id}}' etcd")).trim();
      assert.notEqual(id, before[i], `${m.name}'s member container was recreated`);
      const env = await sshOk(info, m, "docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' etcd");
      assert.match(env, /ETCD_INITIAL_CLUSTER_STATE=existing/);
      assert.match(env, /ETCD_HEARTBEAT_INTERVAL=150/);
      assert.equal((await sshOk(info, m, `docker exec etcd etcdctl get /api7-ha-test/survives --print-value-only`)).trim(), 'yes');
    }
    // Every replaced conf.yaml is kept beside the new one: the vendor's template (first deploy), then
    // the version with the old expiry (this change).
    for (const name of ['ha1', 'ha2']) {
      const dir = '/opt/api7/api7-2.13.2304-cp/dashboard_conf';
      const backups = (await sshOk(info, hostOf(info, name), `ls ${dir} | grep '^conf.yaml.bak-' | sort`)).trim().split('\n');
      assert.equal(backups.length, 2, `${name}: ${backups.join(', ')}`);
      assert.doesNotMatch(await sshOk(info, hostOf(info, name), `cat ${dir}/${backups[0]}`), /Managed by api7-ha/, 'the first backup is the package\'s own file');
      assert.match(await sshOk(info, hostOf(info, name), `cat ${dir}/${backups[1]}`), /expire_time: 3600/);
      assert.match(await sshOk(info, hostOf(info, name), `cat ${dir}/conf.yaml`), /expire_time: 7200/);
    }
  });

  void it('keeps secrets out of workflow history and worker logs', async () => {
    const dir = join(info.dir);
    const secrets = ['dashboard-secret', 'admin-password'].map((f) => readFileSync(join(dir, 'secrets', f), 'utf8').trim());
    for (const h of histories) {
      const json = JSON.stringify(await client.workflow.getHandle(h.id, h.runId).fetchHistory());
      for (const s of secrets) assert.ok(!json.includes(s) && !json.includes(Buffer.from(s).toString('base64').slice(0, 16)), `a secret is in the history of ${h.id}`);
    }
    for (const s of secrets) assert.ok(!worker.output().includes(s));
  });

  void it('replays the recorded deploy histories against the current workflow code', async () => {
    quietRuntime();
    const hs = await Promise.all(histories.map(async (h) => ({ workflowId: h.id, history: await client.workflow.getHandle(h.id, h.runId).fetchHistory() })));
    assert.ok(hs.length >= 2);
    for await (const r of Worker.runReplayHistories({ ...workflowSource() }, hs)) assert.equal(r.error, undefined, `${r.workflowId}: ${String(r.error)}`);
  });
});
