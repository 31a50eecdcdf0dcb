// A real Temporal server for tests: the one the suite started (TEMPORAL_ADDRESS, see scripts/test.sh),
// or, when a file runs alone, a dev server of our own from the installed CLI on free ports.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';

// Workers started by tests log at WARN: their INFO lines would bury the test output. A test whose
// workers fail tasks on purpose (nondeterminism) asks for ERROR before anything else installs it.
let quiet = false;
export function quietRuntime(level: 'WARN' | 'ERROR' = 'WARN'): void {
  if (quiet) return;
  quiet = true;
  Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { filter: { core: level, other: level } } } });
}
import { workflowSource } from '../../src/worker';
import { searchAttributes } from '../../src/workflows/search-attributes';
import { temporalBin } from './paths';

export async function testEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const address = process.env['TEMPORAL_ADDRESS'];
  if (address) return TestWorkflowEnvironment.createFromExistingServer({ address });
  return TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBin() }, searchAttributes: Object.values(searchAttributes), extraArgs: ['--log-level', 'error'] },
  });
}

/** A worker running the real workflows (the prebuilt bundle when current) with the given activities. */
export async function testWorker(env: TestWorkflowEnvironment, opts: Omit<WorkerOptions, 'connection' | 'workflowsPath' | 'workflowBundle'>): Promise<Worker> {
  return Worker.create({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', ...workflowSource(), ...opts });
}

let counter = 0;
export const uniqueQueue = (name: string) => `${name}-${process.pid}-${Date.now()}-${counter++}`;
