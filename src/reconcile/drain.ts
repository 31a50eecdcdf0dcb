// A dashboard or gateway out of rotation and back, on every managed load balancer, through HAProxy's
// runtime API: drain (no new requests; current sessions finish), wait until its sessions are 0; ready,
// wait until it is UP and takes traffic again (its session count grows while requests come through
// the frontend).
import { parseStat, setServerState, showStat, type ServerStat } from '../commands/haproxy-runtime';
import type { SshTarget } from '../inventory/model';
import type { HostExecutor } from '../remote/executor';
import type { Secrets } from '../steps/inputs';
import { pollUntil, type StepContext } from './context';
import { http } from './http';

export interface LbServer {
  /** The backend host (the watch tree's line). */
  target: SshTarget;
  secrets: Secrets;
  lbs: SshTarget[];
  runtimeApiPort: number;
  backend: 'gateways' | 'dashboards';
  server: string;
  /** A request through the frontend that lands on some backend (traffic to see it take). */
  frontend: { url: string; headers?: Record<string, string> };
}

type Exec = (t: SshTarget) => HostExecutor;
type Ctx = Pick<StepContext, 'heartbeat' | 'signal'>;

async function statOf(x: HostExecutor, s: LbServer): Promise<ServerStat | undefined> {
  const out = (await x.run(showStat(s.runtimeApiPort))).stdout;
  return parseStat(out).find((r) => r.backend === s.backend && r.server === s.server);
}

export async function drainServer(ctx: Ctx, exec: Exec, s: LbServer, timeoutS: number): Promise<{ host: string; ms: number; sessions: number }> {
  const started = Date.now();
  let sessions = 0;
  for (const lb of s.lbs) {
    const x = exec(lb);
    await x.run(setServerState(s.runtimeApiPort, s.backend, s.server, 'drain'));
    if (x.planning) continue;
    sessions += (await statOf(x, s))?.scur ?? 0;
    await pollUntil(ctx, `${s.server}: current sessions on ${lb.host} reach 0`, timeoutS * 1000, 100, async () => {
      const st = await statOf(x, s);
      if (!st) return { done: false, reason: `no server ${s.backend}/${s.server} in ${lb.host}'s HAProxy` };
      return st.scur === 0 ? { done: true, value: true } : { done: false, reason: `${st.scur} current session(s), state ${st.status}` };
    });
  }
  return { host: s.target.host, ms: Date.now() - started, sessions };
}

export async function readyServer(ctx: Ctx, exec: Exec, s: LbServer, deadlineS: number): Promise<{ host: string; ms: number }> {
  const started = Date.now();
  for (const lb of s.lbs) {
    const x = exec(lb);
    await x.run(setServerState(s.runtimeApiPort, s.backend, s.server, 'ready'));
    if (x.planning) continue;
    if (deadlineS <= 0) continue;
    const before = (await statOf(x, s))?.stot ?? 0;
    await pollUntil(ctx, `${s.server}: UP in ${lb.host}'s HAProxy and taking traffic`, deadlineS * 1000, 100, async () => {
      // Requests through the frontend: round robin brings some to this server once it is UP.
      await Promise.all([0, 1, 2].map(() => http(s.frontend.url, { ...(s.frontend.headers ? { headers: s.frontend.headers } : {}), timeoutMs: 2000 })));
      const st = await statOf(x, s);
      if (!st) return { done: false, reason: `no server ${s.backend}/${s.server}` };
      if (!st.status.startsWith('UP')) return { done: false, reason: `state ${st.status}` };
      return st.stot > before ? { done: true, value: true } : { done: false, reason: 'UP, but no request has reached it yet' };
    });
  }
  return { host: s.target.host, ms: Date.now() - started };
}
