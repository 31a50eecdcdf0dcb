// Bundles the workflows once at build time, so a worker starts in well under a second instead of
// running webpack on every start (it matters when a worker is restarted after a crash).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main() {
  const root = join(__dirname, '..', '..');
  const { code } = await bundleWorkflowCode({ workflowsPath: join(root, 'dist', 'src', 'workflows', 'index.js'), logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} } as never });
  writeFileSync(join(root, 'dist', 'workflow-bundle.js'), code);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
