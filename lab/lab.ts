/**
 * The multi-host lab: each host is a network namespace on a bridge, with its own persistent mount
 * (per-host overlays) and UTS namespaces, its own sshd and its own Docker engine. See
 * /work/shared/notes/lab-recipe.md for the recipe this follows and why each piece is there.
 *
 * Layering: topology.ts (names, addresses; pure) -> commands.ts (argv, config text; pure) ->
 * exec.ts / procs.ts / probe.ts (the only I/O primitives) -> one module per concern:
 * blueprint.ts (a new lab's names and paths), hosts.ts (building and booting a host), keys.ts (the
 * client's key, known_hosts, secrets, inventory), status.ts (health), faults.ts (power, network),
 * access.ts (exec and ssh into a host), lifecycle.ts (up / down / info) -> this file, the API.
 */
import * as path from 'node:path';
import * as access from './access';
import * as faults from './faults';
import * as lifecycle from './lifecycle';
import { defaultArtifactsDir, defaultLabDir } from './locations';
import type { RunResult } from './exec';
import { labStatus, type LabStatus } from './status';
import { DEFAULT_GATEWAYS, DEFAULT_SHAPE, MAX_GATEWAYS, MIN_GATEWAYS, type LabShape, type Role } from './topology';
import type { LabContext, LabInfo, LabOptions, UpReport } from './types';

export type { LabArtifacts } from './images/build';
export type { HostStatus, LabStatus } from './status';
export { LabUsageError, type LabHost, type LabInfo, type LabOptions, type UpReport } from './types';
export { defaultArtifactsDir, defaultLabDir, repoRoot } from './locations';

export class Lab {
  readonly dir: string;
  readonly artifactsDir: string;
  private readonly ctx: LabContext;
  /** What the last `up` did, with per-phase timings (the CLI prints it). */
  lastUp?: UpReport;

  constructor(opts: LabOptions = {}) {
    this.dir = path.resolve(opts.dir ?? defaultLabDir());
    this.artifactsDir = path.resolve(opts.artifactsDir ?? defaultArtifactsDir());
    this.ctx = { dir: this.dir, artifactsDir: this.artifactsDir, log: opts.log ?? (() => undefined) };
  }

  /** Build (or verify, or repair) the lab in the given shape (defaults: DEFAULT_SHAPE, 2 gateways). */
  async up(opts: Partial<LabShape> = {}): Promise<LabInfo> {
    const { info, report } = await lifecycle.up(this.ctx, opts);
    this.lastUp = report;
    return info;
  }

  down(): Promise<void> {
    return lifecycle.down(this.ctx);
  }

  info(): Promise<LabInfo | undefined> {
    return Promise.resolve(lifecycle.info(this.dir));
  }

  status(): Promise<LabStatus> {
    return labStatus(this.dir);
  }

  /**
   * The host stops abruptly: its NIC goes dark (peers see timeouts, as with a dead server, not
   * connection resets) and every process of the host gets SIGKILL at once. Its files persist.
   */
  powerOff(name: string): Promise<void> {
    return faults.powerOff(this.ctx, name);
  }

  /** Boot the host again: fresh /run, sshd and dockerd (restart-policy containers come back), echo. */
  powerOn(name: string): Promise<void> {
    return faults.powerOn(this.ctx, name);
  }

  /** Cut the host off the network (its veth goes down); processes keep running. */
  disconnect(name: string): Promise<void> {
    return faults.disconnect(this.ctx, name);
  }

  reconnect(name: string): Promise<void> {
    return faults.reconnect(this.ctx, name);
  }

  /** Run argv inside a host's namespaces (no ssh), with DOCKER_HOST set to the host's engine. */
  hostExec(name: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return access.hostExec(this.dir, name, argv, opts);
  }

  /** argv for the system ssh client with the lab key and pinned host keys. */
  sshArgv(name: string, remote: string[] = [], opts: { batch?: boolean } = {}): string[] {
    return access.sshArgv(this.dir, name, remote, opts);
  }
}

// ---------------------------------------------------------------------------------------------
// Faults as functions (drills import these)

export async function powerOff(host: string, opts: LabOptions = {}): Promise<void> {
  await new Lab(opts).powerOff(host);
}

export async function powerOn(host: string, opts: LabOptions = {}): Promise<void> {
  await new Lab(opts).powerOn(host);
}

export async function disconnect(host: string, opts: LabOptions = {}): Promise<void> {
  await new Lab(opts).disconnect(host);
}

export async function reconnect(host: string, opts: LabOptions = {}): Promise<void> {
  await new Lab(opts).reconnect(host);
}

export { DEFAULT_GATEWAYS, DEFAULT_SHAPE, MAX_GATEWAYS, MIN_GATEWAYS };
export type { LabShape, Role };
