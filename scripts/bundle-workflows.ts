// Bundles the workflows once at build time, so a worker starts in well under a second instead of
// running webpack on every start (it matters when a worker is restarted after a crash).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main() {
  const root = join(__dirname, '..', '..');
  const logger = { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} } as never;
  const workflowsPath = join(root, 'dist', 'src', 'workflows', 'index.js');
  writeFileSync(join(root, 'dist', 'workflow-bundle.js'), (await bundleWorkflowCode({ workflowsPath, logger })).code);
  // With the payload codec on, failure messages are encrypted too: that converter runs in the sandbox.
  const failureConverterPath = join(root, 'dist', 'src', 'codec', 'failure-converter.js');
  writeFileSync(join(root, 'dist', 'workflow-bundle-encrypted.js'), (await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger })).code);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
