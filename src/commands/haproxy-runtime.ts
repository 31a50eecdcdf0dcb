// HAProxy's runtime API (management guide, "Unix Socket commands"): take a backend server out of
// rotation without a reload (`set server B/S state drain`: no new requests, current ones finish),
// read its sessions (`show stat`), and put it back (`state ready`). The managed HAProxy listens for it
// on the load balancer host's loopback only (`stats socket ipv4@127.0.0.1:PORT level admin`); the
// command reaches it with bash's /dev/tcp, which every server has (the haproxy image has no socat,
// and a host may not either).
import { change, probe, type RemoteCommand } from './types';

export type ServerState = 'ready' | 'drain' | 'maint';

/** Backend and server names as HAProxy allows them, and as this tool writes them into haproxy.cfg. */
const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

function checked(what: string, v: string): string {
  if (!NAME.test(v)) throw new Error(`${what} ${JSON.stringify(v)} is not a valid HAProxy name`);
  return v;
}

/** One runtime API command, sent to the socket on the host's loopback, its answer on stdout. */
const SCRIPT = 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "%s\\n" "$2" >&3 && cat <&3';

function runtime(port: number, command: string): string[] {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`runtime API port ${port} is out of range`);
  return ['bash', '-c', SCRIPT, 'haproxy-runtime', String(port), command];
}

export const setServerState = (port: number, backend: string, server: string, state: ServerState): RemoteCommand =>
  change(runtime(port, `set server ${checked('backend', backend)}/${checked('server', server)} state ${state}`), `HAProxy: set server ${backend}/${server} state ${state}`, { sudo: false, timeoutMs: 10_000 });

export const showStat = (port: number): RemoteCommand => probe(runtime(port, 'show stat'), 'HAProxy: show stat', { timeoutMs: 10_000 });

export interface ServerStat {
  backend: string;
  server: string;
  /** Current sessions. */
  scur: number;
  /** Sessions in total since start (grows while the server takes traffic). */
  stot: number;
  /** UP, DOWN, DRAIN, MAINT, "UP 1/2", ... */
  status: string;
}

/** `show stat`'s CSV ("# pxname,svname,qcur,...") to one row per backend server. */
export function parseStat(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.trim());
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) return [];
  const cols = header.slice(2).split(',');
  const at = (name: string) => cols.indexOf(name);
  const [px, sv, scur, stot, status] = [at('pxname'), at('svname'), at('scur'), at('stot'), at('status')];
  return lines
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.split(','))
    .filter((f) => f[sv] !== 'FRONTEND' && f[sv] !== 'BACKEND')
    .map((f) => ({ backend: f[px] ?? '', server: f[sv] ?? '', scur: Number(f[scur] ?? 0), stot: Number(f[stot] ?? 0), status: f[status] ?? '' }));
}
