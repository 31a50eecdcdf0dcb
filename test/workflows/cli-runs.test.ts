// The CLI against a real Temporal server where the answer is bad input (exit 2) and where it is a real
// verdict (exit 1): replay of a run that does not exist, of a malformed history, of a divergent one;
// report of the cluster lock.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { cli, temporalEnv } from '../support/cli';
import { repoRoot } from '../support/paths';
import { testEnv, uniqueQueue } from '../support/temporal';

void describe('replay and report from the command line (real Temporal server)', () => {
  let env: TestWorkflowEnvironment;
  const dir = mkdtempSync(join(tmpdir(), 'api7ha-cli-runs-'));
  const temporal = temporalEnv(uniqueQueue('cli-runs'));
  before(async () => {
    env = await testEnv();
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await env?.teardown();
  });

  void it('replay of a workflow ID that does not exist is bad input (exit 2), naming it', async () => {
    const r = await cli(['replay', 'deploy-no-such-cluster'], temporal);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no run with workflow ID deploy-no-such-cluster/);
  });

  void it('a malformed history is bad input (exit 2), not "NOT deterministic"', async () => {
    for (const [name, text] of [
      ['empty.json', '{"events": []}'],
      ['not-json.json', '{"events": ['],
      ['no-start.json', JSON.stringify({ events: [{ eventId: '1', eventType: 'EVENT_TYPE_TIMER_FIRED', timerFiredEventAttributes: { timerId: '1' } }] })],
    ] as const) {
      writeFileSync(join(dir, name), text);
      const r = await cli(['replay', '--file', join(dir, name), '--workflow-id', 'deploy-lab'], temporal);
      assert.equal(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /NOT deterministic/);
      assert.match(r.stderr, /temporal workflow show -w ID --output json/);
    }
  });

  void it('a history that diverges from the code is nondeterminism (exit 1)', async () => {
    const fixtures = join(repoRoot(), 'test', 'fixtures', 'histories');
    const ids = JSON.parse(readFileSync(join(fixtures, 'index.json'), 'utf8')) as Record<string, string>;
    const history = JSON.parse(readFileSync(join(fixtures, 'deploy-rerun.json'), 'utf8')) as { events: { activityTaskScheduledEventAttributes?: { activityType?: { name: string } } }[] };
    // The code schedules one activity where the recorded run scheduled another.
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'anActivityThisCodeNeverRuns';
    writeFileSync(join(dir, 'divergent.json'), JSON.stringify(history));
    const r = await cli(['replay', '--file', join(dir, 'divergent.json'), '--workflow-id', ids['deploy-rerun.json']!], temporal);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /NOT deterministic/);
  });

  void it('report of the cluster lock says what it is (exit 2), no TypeError', async () => {
    const lock = await env.client.workflow.start('clusterLock', { taskQueue: temporal.TEMPORAL_TASK_QUEUE, workflowId: `lock-cli-${Date.now()}`, args: [{ workflowId: 'deploy-lab', kind: 'deploy' }] });
    try {
      const r = await cli(['report', lock.workflowId], temporal);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is a cluster lock .*not a drill or a deploy: report takes a drill's ID \(list them with `api7-ha drills -c CLUSTER`\)/);
      assert.doesNotMatch(r.stderr, /TypeError/);
    } finally {
      await lock.terminate();
    }
  });
});
