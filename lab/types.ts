/** The lab's public types, shared by its modules (lab.ts re-exports them). */
import type { LabArtifacts } from './images/build';
import type { LabShape } from './topology';

export interface LabHost {
  name: string;
  address: string;
  roles: string[];
  netns: string;
  mountNs: string;
  dockerSocket: string;
  sshPort: number;
  /** Behind the bastion: the jump host to reach it through (the machine has no route to `address`). */
  jump?: { address: string; port: number };
  /** Its address on the inner bridge, for a host on both (the bastion, the load balancer behind one). */
  innerAddress?: string;
}

export interface LabInfo {
  dir: string;
  prefix: string;
  subnet: string;
  bridge: string;
  /** Estate members, in inventory order (the upstream is `upstream`, not listed here). */
  hosts: LabHost[];
  inventoryPath: string;
  sshKey: string;
  knownHosts: string;
  upstream: LabHost;
  /** The jump host, when the lab's hosts sit behind one. */
  bastion?: LabHost;
  shape: LabShape;
  artifacts: LabArtifacts;
}

export interface UpReport {
  /** created: built from scratch; verified: already healthy; repaired: powered on / reconnected hosts. */
  action: 'created' | 'verified' | 'repaired';
  cleanedStale: boolean;
  repairedHosts: string[];
  timingsMs: Record<string, number>;
}

/** A problem with how the lab was asked to do something (exit code 2 in the CLI). */
export class LabUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'LabUsageError';
  }
}

export interface LabOptions {
  /** Lab directory; default env API7HA_LAB_DIR, else <repo>/.lab. */
  dir?: string;
  log?: (line: string) => void;
  /** Artifact cache shared by every lab of the checkout; default env API7HA_LAB_ARTIFACTS_DIR, else <repo>/.lab/artifacts. */
  artifactsDir?: string;
}

/** What every part of the lab works with: where it lives and where progress goes. */
export interface LabContext {
  dir: string;
  artifactsDir: string;
  log: (line: string) => void;
}

export const elapsed = (t0: number): number => Date.now() - t0;
