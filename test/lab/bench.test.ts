// `npm run bench -- --quick` at tiny sizes, so the benchmark keeps working (figures are not asserted:
// speed goals live in the benchmark's own table, never in tests).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { labSkip } from '../support/lab';
import { distDir } from '../support/paths';

void describe('the benchmark, quick', { skip: labSkip }, () => {
  void it('runs every comparison and writes its results', async () => {
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [join(distDir(), 'bench', 'run.js'), '--quick'], { timeout: 900_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(out.code, 0, out.stderr.slice(-3000));
    for (const row of ['Full deploy, api7-ha', 'Direct lower bound', 'Runbook as a shell script', 'Converged re-run', 'DP rollout, 2 gateways', 'SSH commands/s', 'Plan 100 hosts without SSH'])
      assert.ok(out.stdout.includes(row), `the table has "${row}"`);
    const file = /raw: (\S+\.json)/.exec(out.stdout)?.[1];
    assert.ok(file && existsSync(file));
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { deploy: { api7ha: { ms: number }; runbookScript: { ms: number }; direct: { ms: number }; convergedRerun: { changed: boolean } } };
    assert.ok(raw.deploy.api7ha.ms > 0 && raw.deploy.runbookScript.ms > 0 && raw.deploy.direct.ms > 0);
    assert.equal(raw.deploy.convergedRerun.changed, false);
  });
});
