// A lab-shaped ClusterSpec and artifact facts for tests that do not touch hosts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactFacts } from '../../src/artifacts/inspect';
import type { ClusterSpec } from '../../src/inventory/model';
import { parseInventory } from '../../src/inventory/load';
import { factsOf, productProfile } from '../../src/products';
import type { DeployInput } from '../../src/runbook/types';

export function labInventoryYaml(opts: { gateways?: number; dashboards?: number; extra?: string } = {}): string {
  const gateways = opts.gateways ?? 2;
  const dashboards = opts.dashboards ?? 2;
  const hosts = [
    `  - { name: ha1, address: 10.9.0.11, roles: [etcd${dashboards >= 1 ? ', control_plane' : ''}] }`,
    `  - { name: ha2, address: 10.9.0.12, roles: [etcd${dashboards >= 2 ? ', control_plane' : ''}] }`,
    '  - { name: ha3, address: 10.9.0.13, roles: [etcd] }',
    ...Array.from({ length: gateways }, (_, i) => `  - { name: ha${4 + i}, address: 10.9.${Math.floor((14 + i) / 250)}.${(14 + i) % 250 || 250}, roles: [data_plane] }`),
    '  - { name: lb, address: 10.9.1.253, roles: [load_balancer] }',
  ];
  return `cluster: { name: lab, cluster_id: "21322091" }
product: api7-ee-2.13
ssh: { user: root, port: 22, identity_file: ssh/id_ed25519, known_hosts: ssh/known_hosts, host_key_policy: strict }
hosts:
${hosts.join('\n')}
packages:
  control_plane: artifacts/api7-2.13.2304-cp.tar.gz
  data_plane: artifacts/api7-2.13.2304-dp.tar.gz
  etcd_image: { tarball: artifacts/etcd.tar.gz, name: "bitnami/etcd:3.4.13" }
  haproxy_image: { tarball: artifacts/haproxy.tar.gz, name: "api7-ha/haproxy:2.6" }
control_plane:
  auth_secret: { file: secrets/dashboard-secret }
  admin: { username: admin, password: { file: secrets/admin-password } }
load_balancer: { mode: managed }
verification: { host: test.com, path: /get, upstream: "10.9.1.254:80" }
${opts.extra ?? ''}`;
}

/** Parse the lab-shaped inventory as if it lived in a temp folder (files are not checked). */
export function labSpec(opts: Parameters<typeof labInventoryYaml>[0] = {}): ClusterSpec {
  const dir = mkdtempSync(join(tmpdir(), 'api7ha-spec-'));
  const path = join(dir, 'inventory.yaml');
  writeFileSync(path, labInventoryYaml(opts));
  return parseInventory(labInventoryYaml(opts), path, { checkFiles: false }).spec;
}

export function fakeArtifacts(): ArtifactFacts {
  const sha = (c: string) => c.repeat(64).slice(0, 64);
  return {
    controlPlane: {
      localPath: '/tmp/api7-2.13.2304-cp.tar.gz',
      fileName: 'api7-2.13.2304-cp.tar.gz',
      sha256: sha('a'),
      topDir: 'api7-2.13.2304-cp',
      files: ['docker-compose.yaml', 'dashboard_conf/conf.yaml', 'images/api7-dashboard-2.13.2304.tar.gz'],
      images: [{ file: 'images/api7-dashboard-2.13.2304.tar.gz', id: `sha256:${sha('1')}`, tags: ['api7ee.azurecr.io/api7-dashboard:2.13.2304'] }],
    },
    dataPlane: {
      localPath: '/tmp/api7-2.13.2304-dp.tar.gz',
      fileName: 'api7-2.13.2304-dp.tar.gz',
      sha256: sha('b'),
      topDir: 'api7-2.13.2304-dp',
      files: ['docker-compose.yaml', 'gateway_conf/config.yaml', 'images/api7-gateway-2.13.2304.tar.gz'],
      images: [{ file: 'images/api7-gateway-2.13.2304.tar.gz', id: `sha256:${sha('2')}`, tags: ['api7ee.azurecr.io/api7-gateway:2.13.2304'] }],
    },
    etcdImage: { sha256: sha('c'), id: `sha256:${sha('3')}`, fileName: 'etcd.tar.gz' },
    haproxyImage: { sha256: sha('d'), id: `sha256:${sha('4')}`, fileName: 'haproxy.tar.gz' },
  };
}

export function deployInput(spec: ClusterSpec, failover: DeployInput['options']['failover'] = 'auto'): DeployInput {
  return { spec, product: factsOf(productProfile(spec.product)), options: { fixFirewall: false, failover } };
}
