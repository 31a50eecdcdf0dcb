// deployCluster and failoverVerification on a real Temporal server with mocked activities: the
// orchestration itself (order, parallelism, retries, non-retryable paths, budgets, cancellation).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../src/activities';
import type { DrillJournal, ProbeSeries } from '../../src/drills/journal';
import type { ProbePlan } from '../../src/drills/probes';
import type { MemberResult } from '../../src/reconcile/etcd';
import type { RunProgress } from '../../src/contracts';
import { messageOf } from '../../src/runbook/runner';
import type { DeployResult } from '../../src/runbook/types';
import { deployInput, fakeArtifacts, labSpec } from '../support/fixtures';
import type { ScenarioProbePlan } from '../../src/drills/probe-run';
import { testEnv, testWorker, uniqueQueue } from '../support/temporal';

/** Synthetic probe samples: `seconds` at 20/s, all answered, but for an outage [from, to) in ms. */
function samples(plan: ProbePlan, seconds = 4, outage?: [number, number]): ProbeSeries[] {
  const startedAt = Date.now();
  const names = [...(plan.dp ? (['dp'] as const) : []), ...(plan.cp ? (['cp'] as const) : []), 'victim' as const];
  return names.map((name) => ({
    name,
    target: name,
    startedAt,
    ratePerS: 20,
    okStatus: [200],
    samples: Array.from({ length: seconds * 20 }, (_, i): [number, number, number] => {
      const t = i * 50;
      const down = name === 'dp' && outage !== undefined && t >= outage[0] && t < outage[1];
      return [t, down ? 0 : 200, 2];
    }),
  }));
}

/** The probes' last report (all their samples at once, as a run whose worker never stopped). */
const report = (key: string, series: ProbeSeries[], plan?: ScenarioProbePlan) => ({
  key,
  attempt: 1,
  seq: 1,
  startedAt: series[0]?.startedAt ?? Date.now(),
  series: series.map((s) => ({ name: s.name, target: s.target, okStatus: s.okStatus, samples: s.samples })),
  // Every gateway asked served each canary version within ~40 ms.
  propagation: (plan?.propagation?.gateways ?? []).map((g) => ({ gateway: g.host, target: g.url, samples: [[100, 200, 30], [1100, 200, 40]] as [number, number, number][], writeFailures: 0 })),
  final: true,
});

interface Call {
  name: string;
  host?: string;
  start: number;
  end?: number;
}

const DAY2_UNUSED = ['readEtcdQuorum', 'chooseSnapshotSource', 'takeSnapshot', 'fetchSnapshot', 'verifyBackup', 'applyBackupRetention', 'stopEtcdMember', 'restoreEtcdMember', 'startRestoredMember', 'removeEtcdMember', 'addEtcdMember', 'defragEtcdMember', 'moveEtcdLeader', 'compactEtcd', 'disarmEtcdAlarms', 'readMemberCa', 'rotateMemberTls', 'rotateComponentTls', 'putMarkerRoute', 'routeServed'] as const;

/** Activities that succeed instantly (a healthy fresh estate), recording every call; override per test. */
function mockActivities(overrides: Partial<Record<keyof Activities, (...args: never[]) => unknown>> = {}, opts: { delayMs?: number } = {}) {
  const calls: Call[] = [];
  const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const hostOf = (args: unknown[]): string | undefined => {
    const a = args[0] as { target?: { host?: string } } | undefined;
    return a?.target?.host;
  };
  const base: Record<keyof Activities, (...args: never[]) => unknown> = {
    inspectArtifacts: async () => fakeArtifacts(),
    preflightHosts: async (inputs: { target: { host: string } }[]) => inputs.map((i) => ({ host: i.target.host, reachable: true, facts: { compose: 'standalone', clockOffsetMs: 0 }, problems: [] })),
    ensureEtcdMember: async (s: { target: { host: string }; member: { member: { name: string } } }): Promise<MemberResult> => ({
      host: s.target.host,
      member: s.member.member.name,
      action: 'created',
      image: { image: 'bitnami/etcd:3.4.13', action: 'loaded', uploaded: true },
    }),
    recreateEtcdMember: async (s: { target: { host: string }; member: { member: { name: string } } }): Promise<MemberResult> => ({
      host: s.target.host,
      member: s.member.member.name,
      action: 'recreated',
      image: { image: 'bitnami/etcd:3.4.13', action: 'present', uploaded: false },
    }),
    checkQuorum: async () => ({ healthy: true, problems: [], leader: '1', leaderName: 'api7-etcd-1', term: '2', members: [] }),
    uploadPackage: async (s: { target: { host: string } }) => ({ host: s.target.host, uploaded: true, bytes: 100, resumedFrom: 0 }),
    installPackage: async (s: { target: { host: string } }) => ({ host: s.target.host, extracted: true, loaded: ['sha256:x'] }),
    deliverImage: async () => ({ image: 'api7-ha/haproxy:2.6', action: 'loaded', uploaded: true }),
    configureComponent: async (s: { target: { host: string } }) => ({ host: s.target.host, changed: true }),
    startComponent: async (s: { target: { host: string } }) => ({ host: s.target.host, action: 'started' }),
    waitComponentHealthy: async (s: { target: { host: string } }) => ({ host: s.target.host, healthy: true, ms: 1 }),
    componentsRunning: async (steps: unknown[]) => steps.map(() => false),
    stopComponent: async (s: { target: { host: string } }) => ({ host: s.target.host, wasRunning: true }),
    runProbes: async (_s: string, plan: ProbePlan) => samples(plan),
    probeScenario: async (key: string, plan: ScenarioProbePlan) => report(key, samples(plan), plan),
    sendNotification: async (_m: unknown, w: { name: string }) => ({ webhook: w.name, status: 200, ms: 1 }),
    recordMetrics: async () => undefined,
    // Upgrades (not called by a deploy or a drill).
    readReleases: async () => [],
    switchRelease: async () => ({ action: 'unchanged' }),
    waitReleaseHealthy: async () => ({ healthy: true, ms: 1 }),
    drainServer: async () => ({ ms: 0, sessions: 0 }),
    readyServer: async () => ({ ms: 0 }),
    undrainServer: async () => ({ ms: 0 }),
    snapshotEtcd: async () => ({ path: '/x.db' }),
    cleanupReleases: async () => [],
    steadyState: async () => ({
      ok: true,
      problems: [],
      quorum: { healthy: true, leaderName: 'api7-etcd-1', members: ['api7-etcd-1', 'api7-etcd-2', 'api7-etcd-3'].map((name, i) => ({ name, healthy: true, isLeader: i === 0 })) },
      checkedAt: Date.now(),
    }),
    injectFault: async (f: { kind: string }) => ({ startedAt: Date.now(), endedAt: Date.now() + 1, detail: f.kind }),
    rollbackFault: async (f: { kind: string }) => ({ startedAt: Date.now(), endedAt: Date.now() + 1, detail: `undo ${f.kind}` }),
    waitRecovered: async () => ({ startedAt: Date.now(), endedAt: Date.now() + 5, detail: 'healthy' }),
    writeRouteReachesGateways: async () => ({ ok: true, startedAt: Date.now(), endedAt: Date.now() + 30, detail: 'served by ha4, ha5' }),
    restartGateway: async () => ({ ok: true, startedAt: Date.now(), endedAt: Date.now() + 30, detail: 'restarted' }),
    pastDrillCount: async () => 0,
    lockHolder: async () => undefined,
    ensureProbeRoute: async () => ({ written: true }),
    ensureLoadBalancer: async (s: { target: { host: string } }) => ({ host: s.target.host, action: 'created', configChanged: true }),
    checkLoadBalancers: async () => ({ ms: 1 }),
    verifyPropagation: async () => ({ routeId: 'api7-ha-verify-x', propagationMs: 42, writeMs: 3 }),
    // Day-2 etcd: a fresh estate has no cluster yet (no member answers), so the deploy bootstraps it.
    etcdMembershipPlan: async () => ({ exists: false, live: [], change: {}, healthy: 0, healthyIds: [], quorum: false, problems: ['no etcd member answered member list: no member container'] }),
    ...(Object.fromEntries(
      DAY2_UNUSED.map((n) => [
        n,
        async () => {
          throw new Error(`${n} is not expected in a deploy of a fresh estate`);
        },
      ]),
    ) as Record<(typeof DAY2_UNUSED)[number], () => Promise<never>>),
  };
  const activities = Object.fromEntries(
    (Object.keys(base) as (keyof Activities)[]).map((name) => [
      name,
      async (...args: never[]) => {
        const call: Call = { name, host: hostOf(args), start: performance.now() };
        calls.push(call);
        try {
          if (opts.delayMs) await delay(opts.delayMs);
          return await (overrides[name] ?? base[name])(...args);
        } finally {
          call.end = performance.now();
        }
      },
    ]),
  );
  return { activities, calls };
}

const overlap = (a: Call, b: Call) => a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity);
const named = (calls: Call[], name: string) => calls.filter((c) => c.name === name);
/** A running cluster: the deploy snapshots its members before it recreates any. */
const snapshotsOfARunningCluster = {
  chooseSnapshotSource: async () => ({ host: 'ha2', member: 'api7-etcd-2', why: 'a healthy follower' }),
  takeSnapshot: async (step: { fileName: string }) => ({ fileName: step.fileName, host: 'ha2', member: 'api7-etcd-2', saveMs: 5 }),
  fetchSnapshot: async (step: { fileName: string }) => ({ record: { fileName: step.fileName, path: `/backups/${step.fileName}` }, copyMs: 1 }),
};

void describe('deployCluster orchestration (real Temporal server, mocked activities)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await testEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  /** Run a deploy to its end; `afterwards` runs while the worker still runs (queries need one). */
  async function run(spec = labSpec(), mocks = mockActivities(), failover: 'auto' | 'always' | 'never' = 'auto', afterwards?: (h: WorkflowHandle) => Promise<void>) {
    const taskQueue = uniqueQueue('wf-deploy');
    const worker = await testWorker(env, { taskQueue, activities: mocks.activities });
    const workflowId = `deploy-test-${taskQueue}`;
    const outcome = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('deployCluster', { taskQueue, workflowId, args: [deployInput(spec, failover)] });
      let out: { result?: DeployResult; error?: WorkflowFailedError; handle: WorkflowHandle };
      try {
        out = { result: (await handle.result()) as DeployResult, handle };
      } catch (error) {
        out = { error: error as WorkflowFailedError, handle };
      }
      await afterwards?.(handle);
      return out;
    });
    return { ...outcome, calls: mocks.calls };
  }

  void it('runs the runbook steps in order, hosts of a step in parallel, and returns the endpoints', async () => {
    // etcd members take a while to boot (as real ones do): the deliveries must run meanwhile.
    const slowEtcd = mockActivities({}, { delayMs: 30 }).activities['ensureEtcdMember'] as (...a: never[]) => Promise<unknown>;
    const mocks = mockActivities(
      {
        ensureEtcdMember: async (...a: never[]) => {
          await new Promise((r) => setTimeout(r, 1500));
          return slowEtcd(...a);
        },
      },
      { delayMs: 30 },
    );
    let progress: RunProgress | undefined;
    const { result, error, calls, handle } = await run(labSpec(), mocks, 'auto', async (h) => {
      progress = await h.query<RunProgress>('progress');
    });
    assert.equal(error, undefined);
    assert.ok(result);
    const firstOf = (n: string) => Math.min(...named(calls, n).map((c) => c.start));
    // The failover checks call some activities again (quorum after restoring etcd): order the deploy's own calls.
    const deployCalls = calls.filter((c) => c.start < firstOf('steadyState'));
    const lastOf = (n: string) => Math.max(...named(n === 'injectFault' ? calls : deployCalls, n).map((c) => c.end ?? Infinity));
    const order = ['preflightHosts', 'ensureEtcdMember', 'checkQuorum', 'ensureProbeRoute', 'checkLoadBalancers', 'verifyPropagation', 'injectFault'];
    for (let i = 1; i < order.length; i++) assert.ok(lastOf(order[i - 1]!) <= firstOf(order[i]!), `${order[i - 1]} finishes before ${order[i]} starts`);
    // Every host's preflight runs at once (one activity per 50 hosts), as do the three etcd members
    // (a first boot needs them all).
    assert.equal(named(calls, 'preflightHosts').length, 1);
    assert.equal(result.preflight.hosts.length, 6);
    const etcd = named(calls, 'ensureEtcdMember');
    assert.deepEqual(etcd.map((c) => c.host).sort(), ['ha1', 'ha2', 'ha3']);
    assert.ok(etcd.every((a) => etcd.every((b) => overlap(a, b))), 'etcd members start concurrently');
    // Packages go to every host while etcd boots (nothing running is touched by a delivery).
    const uploads = named(deployCalls, 'uploadPackage');
    assert.deepEqual(uploads.map((c) => c.host).sort(), ['ha1', 'ha2', 'ha4', 'ha5']);
    const etcdDone = Math.max(...etcd.map((e) => e.end!));
    assert.ok(uploads.every((u) => u.start < etcdDone), 'every delivery starts while the etcd members boot, not after');
    // First install: both dashboards activated in parallel; the gateways only after the control plane.
    const cpStarts = named(deployCalls, 'startComponent').filter((c) => c.host === 'ha1' || c.host === 'ha2');
    assert.ok(overlap(cpStarts[0]!, cpStarts[1]!), 'first install starts the dashboards in parallel');
    const cpHealthy = named(deployCalls, 'waitComponentHealthy').filter((c) => c.host === 'ha1' || c.host === 'ha2');
    const dpConfigs = named(deployCalls, 'configureComponent').filter((c) => c.host === 'ha4' || c.host === 'ha5');
    assert.ok(Math.max(...cpHealthy.map((c) => c.end!)) <= Math.min(...dpConfigs.map((c) => c.start)));
    assert.deepEqual(result.endpoints, { controlPlane: 'http://10.9.1.253:9000', dataPlane: 'http://10.9.1.253' });
    assert.equal(result.changed, true);
    assert.equal(result.failover?.passed, true, 'a deploy that changed something runs the failover checks');
    // The runbook's three checks, victims rotating across scenarios: a gateway, a dashboard, an etcd follower.
    assert.deepEqual(result.failover?.checks.map((c) => [c.name, c.victim]), [['dp-node-loss', 'ha4'], ['cp-node-loss', 'ha2'], ['etcd-member-loss', 'ha2']]);
    assert.equal(result.failover?.score, 100);
    assert.ok(result.failover?.checks.every((c) => c.restored));
    assert.equal(progress?.status, 'done');
    assert.ok(progress?.steps.every((s) => s.status === 'done'), JSON.stringify(progress.steps.map((s) => [s.name, s.status])));
    const desc = await handle.describe();
    assert.deepEqual(desc.searchAttributes['Api7Phase'], ['completed']);
    assert.deepEqual(desc.searchAttributes['Api7Cluster'], ['lab']);
  });

  void it('reports every blocking preflight problem on every host at once, then stops before etcd', async () => {
    const mocks = mockActivities({
      preflightHosts: async (inputs: { target: { host: string } }[]) =>
        inputs.map((i) => ({
          host: i.target.host,
          reachable: true,
          facts: {},
          problems:
            i.target.host === 'ha2'
              ? [{ host: 'ha2', severity: 'block', check: 'ports', message: 'port 2379 (etcd) is already in use by another process', fix: 'stop it' }]
              : i.target.host === 'ha5'
                ? [{ host: 'ha5', severity: 'block', check: 'docker', message: 'Docker 19.03.1 is older than 20.10.7', fix: 'upgrade Docker' }]
                : [],
        })),
    });
    const { error, calls } = await run(labSpec(), mocks);
    assert.ok(error instanceof WorkflowFailedError);
    const cause = error.cause as ApplicationFailure;
    assert.equal(cause.type, 'PreflightFailed');
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, /ha2\s+BLOCK\s+ports\s+port 2379 \(etcd\)/);
    assert.match(cause.message, /ha5\s+BLOCK\s+docker\s+Docker 19\.03\.1/);
    assert.equal(named(calls, 'ensureEtcdMember').length, 0, 'nothing is deployed after a blocked preflight');
  });

  void it('retries transient activity failures with backoff and completes', async () => {
    let attempts = 0;
    const mocks = mockActivities({
      uploadPackage: async (s: { target: { host: string } }) => {
        if (s.target.host === 'ha4' && ++attempts < 3) throw ApplicationFailure.retryable('ha4: cannot connect over SSH: ECONNRESET', 'SshUnavailable');
        return { host: s.target.host, uploaded: true, bytes: 1, resumedFrom: 0 };
      },
    });
    const { result, error } = await run(labSpec(), mocks, 'never');
    assert.equal(error, undefined);
    assert.equal(attempts, 3);
    assert.equal(result?.dataPlane.hosts.find((h) => h.host === 'ha4')?.ok, true);
  });

  void it('stops at once on a non-retryable failure and names the host', async () => {
    let tries = 0;
    const mocks = mockActivities({
      ensureEtcdMember: async (s: { target: { host: string } }) => {
        if (s.target.host === 'ha3') {
          tries++;
          throw ApplicationFailure.nonRetryable('ha3 (10.9.0.13:22): HOST KEY CHANGED', 'HostKeyError');
        }
        return { host: s.target.host, member: 'x', action: 'created', image: { image: 'i', action: 'present', uploaded: false } };
      },
    });
    const { error, calls } = await run(labSpec(), mocks);
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal(tries, 1, 'a non-retryable failure is not retried');
    assert.match(messageOf(error), /ha3.*HOST KEY CHANGED/);
    assert.equal(named(calls, 'checkQuorum').length, 0);
  });

  void it('recreates changed etcd members one at a time', async () => {
    const mocks = mockActivities(
      {
        ensureEtcdMember: async (s: { target: { host: string }; member: { member: { name: string } } }) => ({
          host: s.target.host,
          member: s.member.member.name,
          action: s.target.host === 'ha3' ? 'unchanged' : 'needs-recreate',
          image: { image: 'i', action: 'present', uploaded: false },
        }),
        ...snapshotsOfARunningCluster,
      },
      { delayMs: 20 },
    );
    const { result, calls } = await run(labSpec(), mocks, 'never');
    const rec = named(calls, 'recreateEtcdMember');
    assert.deepEqual(rec.map((c) => c.host), ['ha1', 'ha2']);
    assert.ok(!overlap(rec[0]!, rec[1]!), 'never two members recreated at once');
    assert.deepEqual(result?.etcd.members.map((m) => m.action), ['recreated', 'recreated', 'unchanged']);
    const fetched = named(calls, 'fetchSnapshot');
    assert.equal(fetched.length, 1, 'one snapshot before the recreations');
    assert.ok(fetched[0]!.end! <= rec[0]!.start, 'the snapshot is copied off before the first member is recreated');
    assert.match(result?.etcd.snapshotBefore ?? '', /before-recreate/);
  });

  void it('lets a cancel wait for the etcd member being recreated, and recreates no other', async () => {
    let recreating: () => void = () => undefined;
    const inRecreate = new Promise<void>((r) => (recreating = r));
    let recreatedAt = 0;
    const base = mockActivities();
    const mocks = mockActivities({
      ensureEtcdMember: async (s: { target: { host: string }; member: { member: { name: string } } }) => ({
        host: s.target.host,
        member: s.member.member.name,
        action: 'needs-recreate',
        image: { image: 'i', action: 'present', uploaded: false },
      }),
      ...snapshotsOfARunningCluster,
      // The old container is parked and the new one starting: this must finish, cancel or not.
      recreateEtcdMember: async (...a: never[]) => {
        recreating();
        await new Promise((r) => setTimeout(r, 800));
        recreatedAt = Date.now();
        return (base.activities['recreateEtcdMember'] as (...x: never[]) => Promise<unknown>)(...a);
      },
    });
    const taskQueue = uniqueQueue('wf-deploy');
    const worker = await testWorker(env, { taskQueue, activities: mocks.activities });
    const closed = await worker.runUntil(async () => {
      const h = await env.client.workflow.start('deployCluster', { taskQueue, workflowId: `deploy-test-${taskQueue}`, args: [deployInput(labSpec(), 'never')] });
      await inRecreate;
      await h.cancel();
      await assert.rejects(h.result(), (e: unknown) => e instanceof WorkflowFailedError && e.cause instanceof CancelledFailure);
      return (await h.describe()).closeTime!;
    });
    assert.ok(recreatedAt > 0 && closed.getTime() >= recreatedAt, 'the run ended only after the member was back');
    assert.deepEqual(named(mocks.calls, 'recreateEtcdMember').map((c) => c.host), ['ha1'], 'no second member is taken down after the cancel');
  });

  void it('rolls a running control plane one host at a time', async () => {
    const mocks = mockActivities({ componentsRunning: async (steps: unknown[]) => steps.map(() => true) }, { delayMs: 20 });
    const { result, calls } = await run(labSpec(), mocks, 'never');
    assert.equal(result?.controlPlane.mode, 'rolling');
    const cp = named(calls, 'startComponent').filter((c) => c.host === 'ha1' || c.host === 'ha2');
    assert.ok(!overlap(cp[0]!, cp[1]!), 'dashboards restart one at a time');
  });

  void it('holds a failing gateway against the failure budget', async () => {
    const failHa5 = {
      waitComponentHealthy: async (s: { target: { host: string } }) => {
        if (s.target.host === 'ha5') throw ApplicationFailure.nonRetryable('ha5: gateway never answered the probe', 'Unhealthy');
        return { host: s.target.host, healthy: true, ms: 1 };
      },
    };
    const strict = await run(labSpec(), mockActivities(failHa5), 'never');
    assert.ok(strict.error instanceof WorkflowFailedError);
    assert.equal((strict.error.cause as ApplicationFailure).type, 'FailureBudgetExceeded');
    assert.match(strict.error.cause!.message, /ha5: .*never answered the probe/);
    const lenient = await run(labSpec({ extra: 'data_plane: { failure_budget: 1 }' }), mockActivities(failHa5), 'never');
    assert.equal(lenient.error, undefined);
    assert.equal(lenient.result?.dataPlane.failures, 1);
  });

  void it('runs the data plane in child workflows of at most 50 gateways', async () => {
    const mocks = mockActivities();
    const { result, handle } = await run(labSpec({ gateways: 60 }), mocks, 'never');
    assert.equal(result?.dataPlane.hosts.length, 60);
    assert.ok(result?.dataPlane.hosts.every((h) => h.ok));
    const kids = await env.client.workflow.getHandle(`${handle.workflowId}-dp-batch-2`).describe();
    assert.equal(kids.status.name, 'COMPLETED');
  });

  void it('skips the failover checks when a re-run changed nothing', async () => {
    const mocks = mockActivities({
      ensureEtcdMember: async (s: { target: { host: string } }) => ({ host: s.target.host, member: 'm', action: 'unchanged', image: { image: 'i', action: 'present', uploaded: false } }),
      uploadPackage: async (s: { target: { host: string } }) => ({ host: s.target.host, uploaded: false, bytes: 0, resumedFrom: 0 }),
      installPackage: async (s: { target: { host: string } }) => ({ host: s.target.host, extracted: false, loaded: [] }),
      configureComponent: async (s: { target: { host: string } }) => ({ host: s.target.host, changed: false }),
      startComponent: async (s: { target: { host: string } }) => ({ host: s.target.host, action: 'unchanged' }),
      ensureLoadBalancer: async (s: { target: { host: string } }) => ({ host: s.target.host, action: 'unchanged', configChanged: false }),
      componentsRunning: async (steps: unknown[]) => steps.map(() => true),
    });
    let p: RunProgress | undefined;
    const { result, calls } = await run(labSpec(), mocks, 'auto', async (h) => {
      p = await h.query<RunProgress>('progress');
    });
    assert.equal(result?.changed, false);
    assert.equal(result?.failover, undefined);
    assert.equal(named(calls, 'injectFault').length, 0, 'no fault is injected on a converged estate');
    assert.equal(p?.steps.find((s) => s.name === 'failover-verification')?.status, 'skipped');
  });
});

void describe('failoverVerification (real Temporal server, mocked activities)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await testEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  async function drill(mocks: ReturnType<typeof mockActivities>, scenarios: string[], body?: (h: WorkflowHandle) => Promise<void>) {
    const taskQueue = uniqueQueue('wf-drill');
    const worker = await testWorker(env, { taskQueue, activities: mocks.activities });
    const spec = labSpec();
    return worker.runUntil(async () => {
      const h = await env.client.workflow.start('failoverVerification', {
        taskQueue,
        workflowId: `drill-lab-${taskQueue}`,
        args: [{ ...deployInput(spec), scenarios, kind: 'drill', lock: true, timing: { baselineS: 0.2, holdS: 0.5, afterS: 0.2 } }],
      });
      if (body) await body(h);
      return h.result().then(
        (journal) => ({ journal: journal as DrillJournal, error: undefined }),
        (error: unknown) => ({ journal: undefined, error: error as WorkflowFailedError }),
      );
    });
  }

  void it('journals every default scenario with victims, actions, probes, hypotheses and a score', async () => {
    const mocks = mockActivities();
    const { journal, error } = await drill(mocks, ['dp-node-loss', 'cp-node-loss', 'etcd-member-loss', 'gateway-restart-during-etcd-degradation']);
    assert.equal(error, undefined);
    assert.equal(journal?.verdict, 'passed');
    assert.equal(journal?.score, 100);
    assert.deepEqual(journal?.scenarios.map((s) => s.status), ['passed', 'passed', 'passed', 'passed']);
    for (const s of journal!.scenarios) {
      assert.deepEqual(s.actions.map((a) => a.kind).filter((k) => k !== 'action'), ['steady-state', 'fault', 'rollback', 'recovery', 'steady-state'], s.id);
      assert.ok(s.faultWindow && s.faultWindow.end >= s.faultWindow.start);
      assert.ok(s.probes.length >= 2);
    }
    const etcd = journal!.scenarios.find((s) => s.id === 'etcd-member-loss')!;
    assert.equal(etcd.victim?.role, 'etcd');
    assert.notEqual(etcd.victim?.host, 'ha1', 'a follower, not the leader (api7-etcd-1)');
    assert.ok(etcd.hypotheses.find((h) => h.id === 'route-propagates')?.ok);
    const order = mocks.calls.map((c) => c.name);
    assert.ok(order.indexOf('rollbackFault') > order.indexOf('injectFault'));
  });

  void it('refuses to inject into a degraded estate and changes nothing', async () => {
    const mocks = mockActivities({
      steadyState: async () => ({ ok: false, problems: ['etcd: http://10.9.0.13:2379 is unhealthy'], quorum: { healthy: false, members: [] }, checkedAt: Date.now() }),
    });
    const { error } = await drill(mocks, ['dp-node-loss']);
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal((error.cause as ApplicationFailure).type, 'SteadyStateViolated');
    assert.match(messageOf(error), /refused: the estate is not in its steady state.*10\.9\.0\.13:2379 is unhealthy/);
    assert.equal(named(mocks.calls, 'injectFault').length, 0);
  });

  void it('fails a hypothesis when the data plane is out longer than the threshold, and still rolls back', async () => {
    const mocks = mockActivities({ probeScenario: async (key: string, plan: ScenarioProbePlan) => report(key, samples(plan, 6, [1000, 3600]), plan) });
    const { journal } = await drill(mocks, ['dp-node-loss']);
    const s = journal!.scenarios[0]!;
    assert.equal(s.status, 'failed');
    assert.equal(s.metrics.probes.dp?.longestOutageMs, 2600);
    assert.deepEqual(
      s.hypotheses.map((h) => [h.id, h.ok, h.observed, h.threshold]),
      [
        ['dp-keeps-serving', false, '2600 ms', '<= 2000 ms'],
        ['recovers', true, 'healthy', undefined],
      ],
    );
    assert.equal(journal!.verdict, 'failed');
    assert.equal(journal!.score, 50, 'one of the two hypotheses held');
    assert.ok(s.actions.some((a) => a.kind === 'rollback' && a.ok));
  });

  void it('rolls the etcd member back when the drill is cancelled during the fault', async () => {
    let injected: () => void = () => undefined;
    const inFault = new Promise<void>((r) => (injected = r));
    const mocks = mockActivities({
      // The cancel arrives while `docker stop` is still running: the stop goes through anyway.
      injectFault: async (f: { kind: string; host: string }) => {
        const startedAt = Date.now();
        injected();
        await new Promise((r) => setTimeout(r, 800));
        return { startedAt, endedAt: Date.now(), detail: `${f.kind} on ${f.host}` };
      },
    });
    const { error } = await drill(mocks, ['etcd-member-loss'], async (h) => {
      await inFault;
      await h.cancel();
    });
    assert.ok(error instanceof WorkflowFailedError);
    const names = mocks.calls.map((c) => c.name);
    const inject = named(mocks.calls, 'injectFault')[0]!;
    const rollback = named(mocks.calls, 'rollbackFault')[0];
    assert.ok(rollback, `rolled back: ${names.join(', ')}`);
    assert.ok(inject.end !== undefined && rollback.start >= inject.end, 'the rollback runs after the injection finished, never before it');
    assert.ok(names.includes('waitRecovered'), 'and waited for the member to rejoin');
  });

  void it('rolls back an injection that failed half-way, and says so in the journal', async () => {
    const mocks = mockActivities({
      injectFault: async () => {
        throw ApplicationFailure.nonRetryable('ssh: connection reset after `docker stop` was sent');
      },
    });
    const { journal, error } = await drill(mocks, ['etcd-member-loss']);
    assert.equal(error, undefined);
    const s = journal!.scenarios[0]!;
    assert.equal(s.status, 'error');
    assert.match(s.error ?? '', /connection reset/);
    assert.equal(named(mocks.calls, 'rollbackFault').length, 1, 'the member is started again in case the stop went through');
    assert.ok(s.actions.some((a) => a.kind === 'rollback' && a.ok));
    assert.notEqual(journal!.verdict, 'passed');
  });

  void it('refuses a drill while a deploy holds the cluster, naming it', async () => {
    const taskQueue = uniqueQueue('wf-lock');
    const mocks = mockActivities({ lockHolder: async () => ({ workflowId: 'deploy-lab', kind: 'deploy' }) });
    const worker = await testWorker(env, { taskQueue, activities: mocks.activities });
    await worker.runUntil(async () => {
      // A lock held by someone else: the real lock workflow, started directly.
      const lock = await env.client.workflow.start('clusterLock', { taskQueue, workflowId: 'lock-lab', args: [{ workflowId: 'deploy-lab', kind: 'deploy' }] });
      try {
        const h = await env.client.workflow.start('failoverVerification', {
          taskQueue,
          workflowId: `drill-lab-${taskQueue}`,
          args: [{ ...deployInput(labSpec()), scenarios: ['dp-node-loss'], kind: 'drill', lock: true }],
        });
        await assert.rejects(h.result(), (e: unknown) => e instanceof WorkflowFailedError && /refused: deploy deploy-lab is running on cluster lab/.test(messageOf(e)));
      } finally {
        await lock.terminate();
      }
    });
    assert.equal(named(mocks.calls, 'injectFault').length, 0);
  });
});
