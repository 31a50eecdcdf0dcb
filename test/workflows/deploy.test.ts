// deployCluster and failoverVerification on a real Temporal server with mocked activities: the
// orchestration itself (order, parallelism, retries, non-retryable paths, budgets, cancellation).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DeployActivities } from '../../src/activities/deploy';
import type { FailoverActivities } from '../../src/activities/failover';
import type { MemberResult } from '../../src/reconcile/etcd';
import { messageOf, type RunProgress } from '../../src/workflows/progress';
import type { DeployResult } from '../../src/workflows/types';
import { deployInput, fakeArtifacts, labSpec } from '../support/fixtures';
import { testEnv, testWorker, uniqueQueue } from '../support/temporal';

type Activities = DeployActivities & FailoverActivities;

interface Call {
  name: string;
  host?: string;
  start: number;
  end?: number;
}

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
    preflightHost: async (i: { target: { host: string } }) => ({ host: i.target.host, reachable: true, facts: { compose: 'standalone', clockOffsetMs: 0 }, problems: [] }),
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
    configureComponent: async (s: { target: { host: string } }) => ({ host: s.target.host, changed: true }),
    startComponent: async (s: { target: { host: string } }) => ({ host: s.target.host, action: 'started' }),
    waitComponentHealthy: async (s: { target: { host: string } }) => ({ host: s.target.host, healthy: true, ms: 1 }),
    componentRunning: async () => false,
    stopComponent: async (s: { target: { host: string } }) => ({ host: s.target.host, wasRunning: true }),
    ensureProbeRoute: async () => ({ written: true }),
    ensureLoadBalancer: async (s: { target: { host: string } }) => ({ host: s.target.host, action: 'created', configChanged: true }),
    checkLoadBalancers: async () => ({ ms: 1 }),
    verifyPropagation: async () => ({ routeId: 'api7-ha-verify-x', propagationMs: 42, writeMs: 3 }),
    stopEtcdMember: async (r: { target: { host: string } }) => ({ host: r.target.host, wasRunning: true }),
    startEtcdMember: async (r: { target: { host: string } }) => ({ host: r.target.host, started: true }),
    checkDataPlaneServes: async (_u: string, _p: unknown, n: number) => ({ requests: n, failures: 0, statuses: { '200': n } }),
    checkControlPlaneReadWrite: async () => ({ ms: 5, attempts: 1 }),
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
    const mocks = mockActivities({}, { delayMs: 30 });
    let progress: RunProgress | undefined;
    const { result, error, calls, handle } = await run(labSpec(), mocks, 'auto', async (h) => {
      progress = await h.query<RunProgress>('progress');
    });
    assert.equal(error, undefined);
    assert.ok(result);
    const firstOf = (n: string) => Math.min(...named(calls, n).map((c) => c.start));
    // The failover checks call some activities again (quorum after restoring etcd): order the deploy's own calls.
    const deployCalls = calls.filter((c) => c.start < firstOf('stopComponent'));
    const lastOf = (n: string) => Math.max(...named(n === 'stopComponent' ? calls : deployCalls, n).map((c) => c.end ?? Infinity));
    const order = ['inspectArtifacts', 'preflightHost', 'ensureEtcdMember', 'checkQuorum', 'ensureProbeRoute', 'ensureLoadBalancer', 'verifyPropagation', 'stopComponent'];
    for (let i = 1; i < order.length; i++) assert.ok(lastOf(order[i - 1]!) <= firstOf(order[i]!), `${order[i - 1]} finishes before ${order[i]} starts`);
    // Every host's preflight runs at once, as do the three etcd members (a first boot needs them all).
    const pre = named(calls, 'preflightHost');
    assert.equal(pre.length, 6);
    assert.ok(pre.every((a) => pre.every((b) => overlap(a, b))), 'preflight runs on all hosts concurrently');
    const etcd = named(calls, 'ensureEtcdMember');
    assert.deepEqual(etcd.map((c) => c.host).sort(), ['ha1', 'ha2', 'ha3']);
    assert.ok(etcd.every((a) => etcd.every((b) => overlap(a, b))), 'etcd members start concurrently');
    // First install: both dashboards in parallel; the data plane only after the control plane.
    const cpUploads = named(deployCalls, 'uploadPackage').filter((c) => c.host === 'ha1' || c.host === 'ha2');
    assert.ok(overlap(cpUploads[0]!, cpUploads[1]!), 'first install rolls the dashboards out in parallel');
    const cpHealthy = named(deployCalls, 'waitComponentHealthy').filter((c) => c.host === 'ha1' || c.host === 'ha2');
    const dpUploads = named(deployCalls, 'uploadPackage').filter((c) => c.host === 'ha4' || c.host === 'ha5');
    assert.ok(Math.max(...cpHealthy.map((c) => c.end!)) <= Math.min(...dpUploads.map((c) => c.start)));
    assert.deepEqual(result.endpoints, { controlPlane: 'http://10.9.1.253:9000', dataPlane: 'http://10.9.1.253' });
    assert.equal(result.changed, true);
    assert.equal(result.failover?.passed, true, 'a deploy that changed something runs the failover checks');
    assert.deepEqual(result.failover?.checks.map((c) => [c.name, c.victim]), [['gateway', 'ha4'], ['dashboard', 'ha1'], ['etcd', 'ha1']]);
    assert.equal(progress?.status, 'done');
    assert.ok(progress?.steps.every((s) => s.status === 'done'), JSON.stringify(progress.steps.map((s) => [s.name, s.status])));
    const desc = await handle.describe();
    assert.deepEqual(desc.searchAttributes['Api7Phase'], ['completed']);
    assert.deepEqual(desc.searchAttributes['Api7Cluster'], ['lab']);
  });

  void it('reports every blocking preflight problem on every host at once, then stops before etcd', async () => {
    const mocks = mockActivities({
      preflightHost: async (i: { target: { host: string } }) => ({
        host: i.target.host,
        reachable: true,
        facts: {},
        problems:
          i.target.host === 'ha2'
            ? [{ host: 'ha2', severity: 'block', check: 'ports', message: 'port 2379 (etcd) is already in use by another process', fix: 'stop it' }]
            : i.target.host === 'ha5'
              ? [{ host: 'ha5', severity: 'block', check: 'docker', message: 'Docker 19.03.1 is older than 20.10.7', fix: 'upgrade Docker' }]
              : [],
      }),
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
      },
      { delayMs: 20 },
    );
    const { result, calls } = await run(labSpec(), mocks, 'never');
    const rec = named(calls, 'recreateEtcdMember');
    assert.deepEqual(rec.map((c) => c.host), ['ha1', 'ha2']);
    assert.ok(!overlap(rec[0]!, rec[1]!), 'never two members recreated at once');
    assert.deepEqual(result?.etcd.members.map((m) => m.action), ['recreated', 'recreated', 'unchanged']);
  });

  void it('rolls a running control plane one host at a time', async () => {
    const mocks = mockActivities({ componentRunning: async () => true }, { delayMs: 20 });
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
      componentRunning: async () => true,
    });
    let p: RunProgress | undefined;
    const { result, calls } = await run(labSpec(), mocks, 'auto', async (h) => {
      p = await h.query<RunProgress>('progress');
    });
    assert.equal(result?.changed, false);
    assert.equal(result?.failover, undefined);
    assert.equal(named(calls, 'stopComponent').length + named(calls, 'stopEtcdMember').length, 0, 'no fault is injected on a converged estate');
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

  void it('restores a stopped etcd member when the run is cancelled during the fault', async () => {
    let stopped = false;
    let restored = false;
    let checking: () => void = () => undefined;
    const inCheck = new Promise<void>((r) => (checking = r));
    const { Context } = await import('@temporalio/activity');
    const mocks = mockActivities({
      stopEtcdMember: async (r: { target: { host: string } }) => {
        stopped = true;
        return { host: r.target.host, wasRunning: true };
      },
      startEtcdMember: async (r: { target: { host: string } }) => {
        restored = true;
        return { host: r.target.host, started: true };
      },
      // The etcd check hangs (heartbeating) until cancelled, as a real one would during a long outage.
      checkControlPlaneReadWrite: async () => {
        if (!stopped) return { ms: 1, attempts: 1 };
        checking();
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
      },
    });
    const spec = labSpec();
    const taskQueue = uniqueQueue('wf-failover');
    const worker = await testWorker(env, { taskQueue, activities: mocks.activities });
    await worker.runUntil(async () => {
      const handle: WorkflowHandle = await env.client.workflow.start('deployCluster', { taskQueue, workflowId: `deploy-cancel-${taskQueue}`, args: [deployInput(spec, 'always')] });
      await inCheck;
      assert.equal(stopped, true);
      assert.equal(restored, false);
      await handle.cancel();
      await assert.rejects(handle.result(), (e: unknown) => e instanceof WorkflowFailedError);
    });
    assert.equal(restored, true, 'the etcd member was started again before the run ended');
    const names = mocks.calls.map((c) => c.name);
    assert.ok(names.lastIndexOf('startEtcdMember') > names.lastIndexOf('stopEtcdMember'));
    assert.ok(names.includes('checkQuorum'), 'the restore waits for the member to rejoin');
  });

  void it('fails the check but still restores when the data plane drops requests with a gateway down', async () => {
    let gatewayRestarted = false;
    const mocks = mockActivities({
      checkDataPlaneServes: async (_u: string, _p: unknown, n: number) => ({ requests: n, failures: 3, statuses: { '200': n - 3, ECONNREFUSED: 3 } }),
      startComponent: async (s: { target: { host: string } }) => {
        if (s.target.host === 'ha4') gatewayRestarted = true;
        return { host: s.target.host, action: 'started' };
      },
    });
    const { error } = await (async () => {
      const taskQueue = uniqueQueue('wf-failover2');
      const worker = await testWorker(env, { taskQueue, activities: mocks.activities });
      return worker.runUntil(async () => {
        const h = await env.client.workflow.start('failoverVerification', {
          taskQueue,
          workflowId: `failover-${taskQueue}`,
          args: [
            {
              cluster: 'lab',
              endpoints: { controlPlane: 'http://lb:9000', dataPlane: 'http://lb' },
              api: { product: 'api7-ee-2.13', clusterId: '1', baseUrl: 'http://lb:9000', adminUser: 'admin', secrets: {} },
              probe: { host: 'test.com', path: '/get', expectStatus: 200, upstream: 'u:80', routeId: 'p' },
              gateway: { target: { host: 'ha4' } },
              etcd: { member: { target: { host: 'ha1' }, secrets: {}, containerName: 'etcd' }, quorum: {} },
            },
          ],
        });
        const r = (await h.result()) as { passed: boolean; checks: { name: string; passed: boolean; restored: boolean; detail: string }[] };
        return { error: undefined, r };
      });
    })().then((x) => {
      assert.equal(x.r.passed, false);
      const g = x.r.checks.find((c) => c.name === 'gateway')!;
      assert.equal(g.passed, false);
      assert.equal(g.restored, true);
      assert.match(g.detail, /3 of 20 requests failed/);
      return x;
    });
    assert.equal(error, undefined);
    assert.equal(gatewayRestarted, true);
  });
});
