// `api7-ha validate -i INV`: the inventory checks alone (exit 0 or 2); nothing touches a host.
import { controlPlaneHosts, dataPlaneHosts, etcdMembers, loadBalancerHosts } from '../inventory/model';
import { print, readInventory } from './common';

export function validateCommand(flags: { inventory?: string; json?: boolean }): number {
  const { spec, warnings } = readInventory(flags.inventory);
  print(!!flags.json, { valid: true, warnings, spec }, () =>
    [
      `${spec.inventoryPath}: valid`,
      `  cluster ${spec.cluster.name} (cluster_id ${spec.cluster.clusterId}), ${spec.product}`,
      `  etcd: ${etcdMembers(spec).map((h) => `${h.name}(${h.etcdName})`).join(', ')}`,
      `  control plane: ${controlPlaneHosts(spec).map((h) => h.name).join(', ')}`,
      `  data plane: ${dataPlaneHosts(spec).map((h) => h.name).join(', ')}`,
      `  load balancers: ${spec.loadBalancer.mode === 'managed' ? loadBalancerHosts(spec).map((h) => h.name).join(', ') : 'external'}`,
    ].join('\n'),
  );
  return 0;
}
