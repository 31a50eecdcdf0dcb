// The host ports each role binds: one definition for the inventory's port-clash rule, preflight's
// "is the port free (or ours)?" check and the firewall commands. Pure (workflows import it).
import type { Role } from './schema';

export interface PortSettings {
  etcd: { clientPort: number; peerPort: number };
  loadBalancer: { mode: 'managed' | 'external'; controlPlanePort: number; dataPlanePort: number; statsPort: number };
}

/** The product's component ports (from its profile). */
export interface ProductPorts {
  controlPlane: number[];
  dataPlane: number[];
}

export type HostPorts = Record<Role, number[]>;

export function rolePorts(s: PortSettings, product: ProductPorts): HostPorts {
  const lb = s.loadBalancer;
  return {
    etcd: [s.etcd.clientPort, s.etcd.peerPort],
    control_plane: product.controlPlane,
    data_plane: product.dataPlane,
    load_balancer: lb.mode === 'managed' ? [lb.controlPlanePort, lb.dataPlanePort, lb.statsPort] : [],
  };
}
