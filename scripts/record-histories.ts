// Records finished runs' histories as replay fixtures (test/fixtures/histories/<name>.json), with the
// `temporal` CLI, in the format of `temporal workflow show --output json` (what operators export).
// Used when the workflow code changes on purpose: record a deploy (with its children) and a drill from
// a lab run, commit them, and the replay test then guards that the code stays compatible.
//   node dist/scripts/record-histories.js --address 127.0.0.1:7233 deploy-lab@RUN:deploy-first drill-lab-...:drill
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const args = process.argv.slice(2);
const at = args.indexOf('--address');
const address = at >= 0 ? args[at + 1] : (process.env['TEMPORAL_ADDRESS'] ?? '127.0.0.1:7233');
for (const pair of args.filter((_, i) => at < 0 || (i !== at && i !== at + 1))) {
  const [spec, name] = pair.split(':');
  const [workflowId, runId] = (spec ?? '').split('@');
  if (!workflowId || !name || !/^[a-z0-9-]+$/.test(name)) throw new Error(`expected workflowId[@runId]:fixture-name, got ${pair}`);
  const json = execFileSync(join(root, '.data', 'tools', 'bin', 'temporal'), ['workflow', 'show', '--address', address ?? '', '-w', workflowId, ...(runId ? ['-r', runId] : []), '--output', 'json'], { maxBuffer: 256 << 20 }).toString();
  // Fixtures replay in tests without keys: record from a server the codec was not used on.
  if (json.includes('YmluYXJ5L2VuY3J5cHRlZA==')) throw new Error(`${workflowId}: its payloads are encrypted (binary/encrypted); record fixtures from a run without the codec (npm run temporal, no --codec-key)`);
  const file = join(root, 'test', 'fixtures', 'histories', `${name}.json`);
  writeFileSync(file, json);
  // The workflow ID is not in the history, and workflows derive child IDs from it: keep it beside.
  const index = join(root, 'test', 'fixtures', 'histories', 'index.json');
  const ids = existsSync(index) ? (JSON.parse(readFileSync(index, 'utf8')) as Record<string, string>) : {};
  ids[`${name}.json`] = workflowId;
  writeFileSync(index, `${JSON.stringify(ids, null, 2)}\n`);
  console.log(`${workflowId} -> ${file} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`);
}
