// api7-ha on the production shape of Temporal, as a team runs it: the server built from source on
// PostgreSQL 15 (scripts/temporal-cluster.ts: the compose file's schema, template and setup), mTLS
// with certificates made here, authorization on (API keys: JWTs checked by the server's default claim
// mapper against a JWKS served here), payloads encrypted by the codec, and two workers in their own
// processes. One cluster and one lab for every test in this file: a deploy with a worker SIGKILLed in
// the middle, a drill with the other worker SIGKILLed and the Temporal server itself restarted in the
// middle, then what an auditor reads in the exported histories, with and without the key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { parse } from 'yaml';
import type { LabInfo } from '../../lab/lab';
import { TemporalCluster } from '../../scripts/temporal-cluster';
import { createClient, temporalSettings } from '../../src/client';
import { AesGcmCodec, loadKeyRing } from '../../src/codec';
import { startCodecServer } from '../../src/codec/server';
import type { DrillJournal } from '../../src/drills/journal';
import { http } from '../../src/reconcile/http';
import { progressQuery } from '../../src/contracts';
import type { DeployResult } from '../../src/runbook/types';
import { cli, startWorker, type TemporalEnv, type WorkerProcess } from '../support/cli';
import { hostOf, labSkip, run, sshOk, testLab } from '../support/lab';
import { repoRoot, temporalBin } from '../support/paths';
import { TestIssuer } from '../support/jwt';
import { makePki, type TestPki } from '../support/tls';

const serverBuilt = existsSync(join(repoRoot(), '.data', 'tools', 'temporal-server', 'temporal-server'));
const skip = labSkip || (serverBuilt ? false : 'needs the Temporal server built by scripts/provision.sh');
const lab = testLab('cluster');
const dir = join(repoRoot(), '.data', `test-cluster-${process.pid}`);

interface HistoryJson {
  events: Record<string, unknown>[];
}

/**
 * Every string an auditor could read in an exported history: plain strings as they are, payload data
 * (base64 in the export) as its bytes, where a plaintext value would otherwise hide in base64.
 */
function readableText(v: unknown, key = ''): string[] {
  if (typeof v === 'string') return key === 'data' ? [v, Buffer.from(v, 'base64').toString('latin1')] : [v];
  if (Array.isArray(v)) return v.flatMap((x) => readableText(x, key));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [k, ...readableText(x, k)]);
  return [];
}

/** Host addresses, the SSH user and every path in the inventory (as written and as resolved). */
function identifyingValues(info: LabInfo): string[] {
  const inv = parse(readFileSync(info.inventoryPath, 'utf8')) as Record<string, unknown>;
  const found = new Set<string>([...info.hosts, info.upstream].map((h) => h.address));
  const walk = (v: unknown, key: string): void => {
    if (typeof v === 'string') {
      if (key === 'address' || key === 'user' || v.includes('/')) found.add(v);
      if (v.includes('/') && !v.startsWith('/')) found.add(join(info.dir, v));
    } else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => walk(x, k));
  };
  walk(inv, '');
  found.add(info.dir);
  return [...found].filter((s) => s.length >= 4);
}

/**
 * The encoding of every payload in an export, but search attributes (readable by design) and the
 * SDK's own patch markers (a patch ID, written by the SDK core past the codec).
 */
function payloadEncodings(v: unknown, key = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => payloadEncodings(x, key));
  if (!v || typeof v !== 'object' || key === 'indexedFields') return [];
  const o = v as Record<string, unknown>;
  if (o['markerName'] === 'core_patch') return [];
  const enc = (o['metadata'] as Record<string, unknown> | undefined)?.['encoding'];
  if (typeof enc === 'string') return [Buffer.from(enc, 'base64').toString('utf8')];
  return Object.entries(o).flatMap(([k, x]) => payloadEncodings(x, k));
}

/** A value as a whole word: "root" the user, not the "root" of rootWorkflowExecution. */
const wordRe = (s: string) => new RegExp(`(?<![A-Za-z0-9])${s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?![A-Za-z0-9])`);

void describe('api7-ha on a PostgreSQL-backed Temporal cluster with mTLS, API keys and encrypted payloads', { skip }, () => {
  let cluster: TemporalCluster;
  let pki: TestPki;
  let info: LabInfo;
  let env: TemporalEnv & Record<string, string>;
  let client: Client;
  let workers: WorkerProcess[] = [];
  let keyRingFile: string;
  let issuer: TestIssuer;
  let jwks: Awaited<ReturnType<TestIssuer['serveJwks']>> | undefined;
  const runs: { deploy?: WorkflowHandle; drill?: WorkflowHandle; deployRunId?: string } = {};

  /**
   * Wait until one of our workers runs one of the run's activities (its identity is pid@host), once
   * `ready` holds; a run that ends first (refused in preflight, say) fails the test at once.
   */
  async function workerRunningAnActivity(handle: WorkflowHandle, ready: () => Promise<boolean> = async () => true, timeoutMs = 300_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const d = await handle.describe();
      if (d.status.name !== 'RUNNING') {
        await handle.result();
        throw new Error(`${handle.workflowId} completed before any worker was killed`);
      }
      // state 2 = PENDING_ACTIVITY_STATE_STARTED: running now, not waiting for a retry.
      const running = (d.raw.pendingActivities ?? []).filter((x) => Number(x.state) === 2).map((x) => x.lastWorkerIdentity ?? '');
      const i = workers.findIndex((w) => running.some((id) => id.startsWith(`${w.child.pid}@`)));
      if (i >= 0 && (await ready())) return i;
      if (Date.now() > end) throw new Error(`${handle.workflowId}: no activity ran on our workers within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    mkdirSync(dir, { recursive: true });
    pki = makePki(join(dir, 'pki'));
    issuer = new TestIssuer();
    jwks = await issuer.serveJwks();
    cluster = new TemporalCluster({
      dir: join(dir, 'cluster'),
      fast: true,
      tls: { caFile: pki.caFile, certFile: pki.serverCert, keyFile: pki.serverKey, requireClientAuth: true },
      auth: { jwksUri: jwks.url, adminToken: issuer.token('api7-ha-test-admin', ['temporal-system:admin']) },
    });
    const t0 = Date.now();
    await cluster.start({ adminClient: { certFile: pki.clientCert, keyFile: pki.clientKey } });
    console.log(`# cluster (PostgreSQL + schema + server + namespace and search attributes) started in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(cluster.timings)}`);
    // Two keys: "k2" encrypts, "k1" (retired) still decrypts.
    keyRingFile = join(dir, 'codec-keys');
    writeFileSync(keyRingFile, `k2:${randomBytes(32).toString('base64')}\nk1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    env = { TEMPORAL_ADDRESS: cluster.address, ...cluster.clientEnv({ certFile: pki.clientCert, keyFile: pki.clientKey }), TEMPORAL_TASK_QUEUE: `api7-ha-cluster-${process.pid}`, API7HA_CODEC_KEY: `file:${keyRingFile}`, TEMPORAL_API_KEY: issuer.token('api7-ha-ops', ['default:admin']) };
    info = await lab.up();
    client = await createClient(temporalSettings({}, env));
    workers = await Promise.all([startWorker(env), startWorker(env)]);
  });

  after(async () => {
    for (const w of workers) await w.kill('SIGTERM');
    await client?.connection.close();
    await lab.down();
    await cluster?.stop();
    jwks?.server.close();
    rmSync(dir, { recursive: true, force: true });
    if (info) rmSync(info.dir, { recursive: true, force: true });
  });

  void it('refuses clients without a certificate the server trusts or a valid API key, and says where it tried and what to check', async () => {
    const noCert = { ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '' };
    const rogue = { ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: pki.rogueCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.rogueKey };
    const plain = { ...noCert, TEMPORAL_TLS: '', TEMPORAL_TLS_SERVER_CA_CERT_PATH: '', TEMPORAL_TLS_SERVER_NAME: '' };
    for (const [what, e] of [['no client certificate', noCert], ['a certificate from another CA', rogue], ['no TLS', plain]] as const) {
      const r = await cli(['drills', '-c', 'lab'], e as TemporalEnv);
      assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`cannot reach the Temporal server at ${cluster.address.replace(/\./g, '\\.')}`), what);
      assert.match(r.stderr, /Is a server running\? Start one with `npm run temporal`/, what);
    }
    // Half a key pair is bad input, named: exit 2.
    const half = await cli(['drills', '-c', 'lab', '--tls-cert-path', pki.clientCert], { ...noCert } as TemporalEnv);
    assert.equal(half.code, 2, half.stderr);
    assert.match(half.stderr, /--tls-key-path/);
    // API keys: none, or one signed by someone else, is refused by the server's authorizer; the
    // right one, given by reference (--api-key file:PATH), is accepted.
    for (const [what, key] of [['no API key', ''], ['a forged API key', new TestIssuer().token('intruder', ['default:admin'])]] as const) {
      const r = await cli(['drills', '-c', 'lab'], { ...env, TEMPORAL_API_KEY: key } as TemporalEnv);
      assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /the Temporal server( at \S+ \(namespace default\))? refused this client's credentials \(Request unauthorized\.\): check the API key/, `${what}: ${r.stderr}`);
    }
    const keyFile = join(dir, 'api-key');
    writeFileSync(keyFile, `${env['TEMPORAL_API_KEY']}\n`, { mode: 0o600 });
    const byRef = await cli(['drills', '-c', 'lab', '--api-key', `file:${keyFile}`], { ...env, TEMPORAL_API_KEY: '' } as TemporalEnv);
    assert.equal(byRef.code, 0, byRef.stderr);
    // With the certificate and the key, the same command works (and reads the search attributes: SQL visibility).
    const ok = await cli(['drills', '-c', 'lab', '--json'], env);
    assert.equal(ok.code, 0, ok.stderr);
  });

  void it('deploys through the cluster with two workers, one SIGKILLed in the middle', async () => {
    const started = await cli(['deploy', '-i', info.inventoryPath, '--json', '--failover', 'never'], env);
    assert.equal(started.code, 0, started.stderr);
    const { workflowId, runId } = JSON.parse(started.stdout) as { workflowId: string; runId: string };
    const handle = client.workflow.getHandle(workflowId, runId);
    runs.deploy = handle;
    runs.deployRunId = runId;
    const t0 = Date.now();
    // The middle: more than the preflight done, an activity running on one of the workers (that one
    // is killed, so its work must move to the other). The query's answer went through the codec.
    const victim = await workerRunningAnActivity(handle, async () => (await handle.query(progressQuery)).steps.filter((st) => st.status === 'done').length >= 2);
    await workers[victim]!.kill('SIGKILL');
    const killedAt = Date.now();
    const result = (await handle.result()) as DeployResult;
    const done = Date.now();
    workers[victim] = await startWorker(env);
    // The time lost: from the kill to the retry of the activities that died with the worker.
    const history = await handle.fetchHistory();
    const retried = (history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    const lastRetry = Math.max(0, ...retried.map((e) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6)));
    console.log(`# deploy: killed worker ${victim + 1} (running an activity) at ${((killedAt - t0) / 1000).toFixed(1)} s; completed ${((done - killedAt) / 1000).toFixed(1)} s later; ${retried.length} activities retried on the other worker, the last ${retried.length ? ((lastRetry - killedAt) / 1000).toFixed(1) : '-'} s after the kill`);
    assert.equal(result.etcd.quorum.healthy, true);
    assert.ok(result.controlPlane.hosts.every((h) => h.ok) && result.dataPlane.hosts.every((h) => h.ok));
    const lb = hostOf(info, 'lb').address;
    assert.equal((await http(`http://${lb}/get`, { headers: { Host: 'test.com' } })).status, 200);
  });

  void it('runs a drill through the cluster while a worker is SIGKILLed and the Temporal server restarts', async () => {
    const started = await cli(['drill', '-i', info.inventoryPath, '--scenarios', 'dp-node-loss', '--json'], env);
    assert.equal(started.code, 0, started.stderr);
    const { workflowId, runId } = JSON.parse(started.stdout) as { workflowId: string; runId: string };
    const handle = client.workflow.getHandle(workflowId, runId);
    runs.drill = handle;
    const victim = await workerRunningAnActivity(handle);
    await workers[victim]!.kill('SIGKILL');
    const killedAt = Date.now();
    workers[victim] = await startWorker(env);
    // The server: killed (a crash, not a clean stop) and started again on the same database.
    await new Promise((r) => setTimeout(r, 1000));
    const downAt = Date.now();
    await cluster.stopServer('SIGKILL');
    await cluster.startServer();
    const upAt = Date.now();
    const journal = (await handle.result()) as DrillJournal;
    console.log(
      `# drill: worker ${victim + 1} (running an activity) killed; server down ${((upAt - downAt) / 1000).toFixed(1)} s; completed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; verdict ${journal.verdict} (${journal.scenarios.map((s) => `${s.id} ${s.status}`).join(', ')})`,
    );
    // The run completed with its journal, and the estate is whole: the fault was rolled back.
    assert.ok(journal.scenarios.length === 1 && journal.scenarios[0]!.actions.some((a) => a.kind === 'rollback' && a.ok), JSON.stringify(journal.scenarios[0]?.actions));
    for (const h of info.hosts) {
      for (const line of (await sshOk(info, h, "docker ps -a --format '{{.Names}} {{.State}}'")).trim().split('\n').filter(Boolean)) assert.match(line, / running$/, `${h.name}: ${line}`);
    }
    // Both workers serve again after the restart: a converged re-run completes.
    const again = await cli(['deploy', '-i', info.inventoryPath, '--wait', '--json', '--failover', 'never'], env);
    assert.equal(again.code, 0, again.stderr.slice(-2000));
    assert.equal((JSON.parse(again.stdout) as DeployResult).changed, false);
  });

  void it('exported histories hold no host address, user or path, only ciphertext; search attributes stay readable', async () => {
    const secretish = identifyingValues(info);
    assert.ok(secretish.length >= 8, secretish.join(', '));
    const exported: Record<string, HistoryJson> = {};
    // The deploy, its children, and the drill, as `temporal workflow show --output json` exports them.
    const list = await run(temporalBin(), ['workflow', 'list', '--query', `RootWorkflowId = "${runs.deploy!.workflowId}" OR RootWorkflowId = "${runs.drill!.workflowId}"`, '--output', 'json'], { env: { ...process.env, ...env } });
    assert.equal(list.code, 0, list.stderr);
    const ids = (JSON.parse(list.stdout) as { execution: { workflowId: string; runId: string } }[]).map((x) => x.execution);
    assert.ok(ids.length >= 3, JSON.stringify(ids));
    for (const { workflowId, runId } of ids) {
      const r = await run(temporalBin(), ['workflow', 'show', '-w', workflowId, '-r', runId, '--output', 'json'], { env: { ...process.env, ...env } });
      assert.equal(r.code, 0, r.stderr);
      exported[`${workflowId}@${runId}`] = JSON.parse(r.stdout) as HistoryJson;
    }
    let payloads = 0;
    for (const [id, h] of Object.entries(exported)) {
      const text = readableText(h).join('\n');
      for (const s of secretish) assert.doesNotMatch(text, wordRe(s), `${id}: the export contains ${JSON.stringify(s)}`);
      const encodings = payloadEncodings(h);
      assert.ok(encodings.length > 0 && encodings.every((e) => e === 'binary/encrypted'), `${id}: payload encodings ${[...new Set(encodings)].join(', ')}`);
      payloads += encodings.length;
    }
    console.log(`# ${Object.keys(exported).length} exported histories: ${payloads} payloads, every one binary/encrypted; 0 of ${secretish.length} addresses, users and paths found`);
    // What stays readable, as it must for lists and filters: the search attributes (cluster, kind, verdict).
    const drills = await run(temporalBin(), ['workflow', 'list', '--query', 'Api7Cluster = "lab" AND Api7Kind = "drill"', '--output', 'json'], { env: { ...process.env, ...env } });
    assert.equal((JSON.parse(drills.stdout) as unknown[]).length, 1, drills.stdout);
    writeFileSync(join(dir, 'deploy-history.json'), JSON.stringify(exported[`${runs.deploy!.workflowId}@${runs.deployRunId}`]));
  });

  void it('decodes for those who hold the key: the codec server for the temporal CLI, and replay', async () => {
    const codec = new AesGcmCodec(loadKeyRing('test', `file:${keyRingFile}`));
    const server: Server = await startCodecServer({ codec, origins: [], host: '127.0.0.1', port: 0 });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const shown = await run(temporalBin(), ['workflow', 'show', '-w', runs.deploy!.workflowId, '-r', runs.deployRunId!, '--output', 'json', '--codec-endpoint', url], { env: { ...process.env, ...env } });
      assert.equal(shown.code, 0, shown.stderr);
      const decoded = JSON.parse(shown.stdout) as HistoryJson;
      assert.ok(readableText(decoded).join('\n').includes(hostOf(info, 'ha1').address), 'the decoded history shows the inventory');
      assert.ok(!payloadEncodings(decoded).includes('binary/encrypted'), 'nothing is left encrypted');
    } finally {
      server.close();
    }
    const replay = await cli(['replay', runs.deploy!.workflowId], env);
    assert.equal(replay.code, 0, replay.stdout + replay.stderr);
    assert.match(replay.stdout, /replays deterministically/);
    const fromFile = await cli(['replay', '--file', join(dir, 'deploy-history.json'), '--workflow-id', runs.deploy!.workflowId], env);
    assert.equal(fromFile.code, 0, fromFile.stdout + fromFile.stderr);
    // The drill's memo (verdict, figures) is encrypted, and `api7-ha drills` decodes it with the key.
    const drills = await cli(['drills', '-c', 'lab', '--json'], env);
    assert.equal(drills.code, 0, drills.stderr);
    assert.match(drills.stdout, new RegExp(runs.drill!.workflowId));
  });
});
