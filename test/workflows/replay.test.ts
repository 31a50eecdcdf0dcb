// Recorded histories of real runs on the lab (a first deploy with its children, a converged re-run,
// drills) replay against the current workflow code: a change that would break runs in flight fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { workflowSource } from '../../src/worker';
import { repoRoot } from '../support/paths';
import { quietRuntime } from '../support/temporal';

quietRuntime();

const dir = join(repoRoot(), 'test', 'fixtures', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'index.json');
/** The workflow ID of each recorded run (child workflow IDs derive from it). */
const ids = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Record<string, string>;

void describe('replay of recorded histories', () => {
  void it('has recorded deploy and drill histories to replay', () => {
    assert.ok(files.some((f) => f.startsWith('deploy')), files.join(', '));
    assert.ok(files.some((f) => f.startsWith('drill')), files.join(', '));
  });

  for (const f of files) {
    void it(`${f} replays deterministically`, async () => {
      const history = JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown;
      assert.ok(ids[f], `${f} is listed in index.json`);
      await Worker.runReplayHistory({ ...workflowSource() }, history as never, ids[f]);
    });
  }
});
