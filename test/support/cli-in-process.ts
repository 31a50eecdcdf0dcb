// The CLI's main(argv) run in-process with its output captured, and the check that a run refused bad
// input as it must (exit 2, the field named, no stack trace, no raw control character, nothing
// printed on stdout). Also a worker-thread entry point: a long list of runs goes to a worker, so that
// a check that hangs (a backtracking pattern) fails the test instead of stalling the whole suite.
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { main } from '../../src/cli/main';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

export async function inProcess(args: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'api7-ha', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** A stack frame line ("    at fn (file.js:1:2)"). */
const STACK = /^ +at \S.*:\d+:\d+\)?$/m;
const rawControl = (s: string) => [...s].some((c) => c !== '\n' && (c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) < 0xa0)));

/** Why a run is not a proper refusal of bad input reported at `at`, or undefined. */
export function refusalProblem(o: Outcome, at: string): string | undefined {
  const tail = `\n${o.stderr.slice(0, 1500)}`;
  if (o.code !== 2) return `exit ${o.code}${tail}`;
  if (!o.stderr.includes(`- ${at}:`)) return `stderr does not name ${at}:${tail}`;
  if (STACK.test(o.stderr)) return `a stack trace${tail}`;
  if (rawControl(o.stderr)) return 'a raw control character in stderr';
  if (o.stdout !== '') return `printed a result: ${o.stdout.slice(0, 300)}`;
  return undefined;
}

export interface Job {
  id: string;
  args: string[];
  at: string;
}

export interface Report {
  runs: number;
  failures: { id: string; args: string[]; problem: string }[];
}

/** Run the jobs in a worker thread; a run that hangs past `guardMs` fails, naming the last one started. */
export async function runInWorker(jobs: Job[], env: NodeJS.ProcessEnv, guardMs: number): Promise<Report> {
  const worker = new Worker(__filename, { env, workerData: null, stdout: true, stderr: true });
  let current = '(none yet)';
  try {
    return await new Promise<Report>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`a run did not end within ${guardMs} ms; the last one started: ${current}`)), guardMs);
      worker.on('message', (m: { started?: string; report?: Report }) => {
        if (m.started) current = m.started;
        if (m.report) {
          clearTimeout(guard);
          resolve(m.report);
        }
      });
      worker.on('error', (e) => {
        clearTimeout(guard);
        reject(e);
      });
      worker.postMessage(jobs);
    });
  } finally {
    await worker.terminate();
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.once('message', (jobs: Job[]) => {
    void (async () => {
      const report: Report = { runs: 0, failures: [] };
      for (const job of jobs) {
        port.postMessage({ started: `${job.id} / ${job.args.join(' ')}` });
        const problem = refusalProblem(await inProcess(job.args), job.at);
        report.runs++;
        if (problem) report.failures.push({ id: job.id, args: job.args, problem });
      }
      port.postMessage({ report });
    })();
  });
}
