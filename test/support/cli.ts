// Running api7-ha the way an operator does: the CLI and a worker as separate processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { cliBin, distDir } from './paths';
import { run, type Out } from './lab';

export interface TemporalEnv {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_TASK_QUEUE: string;
}

export function temporalEnv(queue: string): TemporalEnv {
  const address = process.env['TEMPORAL_ADDRESS'];
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run lab tests through `npm test` (it starts a Temporal dev server)');
  return { TEMPORAL_ADDRESS: address, TEMPORAL_TASK_QUEUE: queue };
}

export function cli(args: string[], env: TemporalEnv, timeoutMs = 600_000): Promise<Out> {
  return run(process.execPath, [cliBin(), ...args], { env: { ...process.env, ...env }, timeoutMs });
}

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** The lab's host-fault driver module: lab workers load it, as an operator's lab worker would. */
export const labFaultDriver = () => join(distDir(), 'lab', 'fault-driver.js');

/** `api7-ha worker` in its own process (with the lab's fault driver), ready once it polls its task queue. */
export async function startWorker(env: TemporalEnv): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [cliBin(), 'worker', '--fault-driver', labFaultDriver()], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!/state: 'RUNNING'/.test(out)) {
    if (child.exitCode !== null) throw new Error(`the worker exited: ${out}`);
    if (Date.now() > deadline) throw new Error(`the worker did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    output: () => out,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
