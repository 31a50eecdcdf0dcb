// A real Prometheus (Debian's `prometheus`) for lab tests: scrapes what the test names, answers PromQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '../../src/reconcile/http';

export const PROMETHEUS = '/usr/bin/prometheus';
export const prometheusSkip = existsSync(PROMETHEUS) ? false : "needs Debian's prometheus (npm test provisions it)";

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface Prometheus {
  url: string;
  /** An instant query's numbers by series labels (job, instance, ...). */
  query(q: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  stop(): Promise<void>;
}

/** jobs: job name -> [targets (host:port), metrics path]. Scrapes every second. */
export async function startPrometheus(jobs: Record<string, { targets: string[]; path?: string }>): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'api7ha-prom-'));
  const port = await freePort();
  const scrape = Object.entries(jobs)
    .map(([job, j]) => `  - job_name: ${job}\n    metrics_path: ${j.path ?? '/metrics'}\n    static_configs:\n      - targets: [${j.targets.map((t) => `'${t}'`).join(', ')}]`)
    .join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nscrape_configs:\n${scrape}\n`);
  const child: ChildProcess = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while ((await http(`${url}/-/ready`, { timeoutMs: 1000 })).status !== 200) {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${err}`);
    if (Date.now() > deadline) throw new Error(`prometheus did not become ready: ${err}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async query(q) {
      const r = await http(`${url}/api/v1/query?query=${encodeURIComponent(q)}`, { timeoutMs: 5000 });
      const j = JSON.parse(r.body) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (j.status !== 'success') throw new Error(`query ${q}: ${r.body}`);
      return j.data.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
