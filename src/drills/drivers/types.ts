// The host-fault driver interface (see index.ts for the registry and how drivers reach a worker).
import type { HostFaultDriverSpec } from '../../inventory/model';

/** The host a fault takes: its inventory name and address (both validated by the inventory). */
export interface FaultHost {
  name: string;
  address: string;
}

export type HostFaultAction = 'power-off' | 'power-on' | 'disconnect' | 'reconnect';

/** One driver bound to its inventory settings. Each call returns a line for the journal. */
export interface HostFaultDriver {
  run(action: HostFaultAction, host: FaultHost, signal?: AbortSignal): Promise<string>;
  /** Whether it can cut a host off the network (commands: only with disconnect/reconnect). */
  canDisconnect: boolean;
}

/** What a driver module exports: the inventory type it serves and how to bind it. */
export interface HostFaultDriverFactory<T extends HostFaultDriverSpec['type'] = HostFaultDriverSpec['type']> {
  type: T;
  create(spec: Extract<HostFaultDriverSpec, { type: T }>): HostFaultDriver;
}
