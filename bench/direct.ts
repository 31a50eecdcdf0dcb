// The direct lower bound: the deploy's own commands (the reconcile layer), in the same order and with
// the same parallelism as deployCluster, over the same pooled SSH connections, but without Temporal:
// no history, no task queues, no heartbeats. What is left between this and api7-ha is what
// durability costs.
import { inspectArtifacts } from '../src/artifacts/inspect';
import { controlPlaneHosts, dataPlaneHosts, etcdMembers, loadBalancerHosts, type ClusterSpec } from '../src/inventory/model';
import {
  apiTarget,
  artifactPaths,
  componentStep,
  endpointsOf,
  etcdMemberInput,
  imageDelivery,
  loadBalancerInput,
  packageStep,
  preflightInput,
  probeSettings,
  quorumCheckInput,
  tlsFiles,
  type Component,
} from '../src/plan/inputs';
import type { ProductFacts } from '../src/products/types';
import * as component from '../src/reconcile/component';
import type { StepContext } from '../src/reconcile/context';
import * as etcd from '../src/reconcile/etcd';
import { ensureLoadBalancer, waitLoadBalancersServing } from '../src/reconcile/loadbalancer';
import { preflightHost } from '../src/reconcile/preflight';
import { ensureImage } from '../src/reconcile/images';
import { ensureProbeRoute, verifyPropagation } from '../src/reconcile/verify';
import { HostExecutor } from '../src/remote/executor';
import { SshPool } from '../src/remote/ssh';

export async function directDeploy(spec: ClusterSpec, product: ProductFacts): Promise<{ totalMs: number; phases: Record<string, number> }> {
  const pool = new SshPool();
  const phases: Record<string, number> = {};
  const ctxFor = (t: ClusterSpec['hosts'][number]['ssh']): StepContext => ({ exec: new HostExecutor(t, pool, 'apply', spec.secrets), heartbeat: () => undefined, log: () => undefined });
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      phases[name] = Math.round(performance.now() - t0);
    }
  };
  const start = performance.now();
  const stamp = new Date().toISOString();
  try {
    const [artifacts, reports] = await Promise.all([
      phase('packages', () => inspectArtifacts(artifactPaths(spec))),
      phase('preflight', () => Promise.all(spec.hosts.map((h) => preflightHost(ctxFor(h.ssh), preflightInput(spec, h, product, false))))),
    ]);
    const compose = new Map(reports.map((r) => [r.host, r.facts.compose ?? 'plugin'] as const));
    const etcdImage = imageDelivery(spec, spec.packages.etcdImage, artifacts.etcdImage);
    const lbImage = imageDelivery(spec, spec.packages.haproxyImage!, artifacts.haproxyImage);
    const steps = (c: Component, hosts: ClusterSpec['hosts']) => {
      const pkg = c === 'control_plane' ? artifacts.controlPlane : artifacts.dataPlane;
      return hosts.map((h) => ({ h, ps: packageStep(spec, h, c, pkg), cs: componentStep(spec, h, c, pkg, compose.get(h.name) ?? 'plugin', stamp) }));
    };
    const cp = steps('control_plane', controlPlaneHosts(spec));
    const dp = steps('data_plane', dataPlaneHosts(spec));
    // As the workflow: deliver packages and images while etcd boots.
    const delivery = phase('delivery', () =>
      Promise.all([
        ...[...cp, ...dp].map(async ({ h, ps }) => {
          const ctx = ctxFor(h.ssh);
          await component.uploadPackage(ctx, ps);
          await component.installPackage(ctx, ps);
        }),
        ...loadBalancerHosts(spec).map((h) => ensureImage(ctxFor(h.ssh), lbImage)),
      ]),
    );
    await phase('etcd-bootstrap', () =>
      Promise.all(
        etcdMembers(spec).map((h) => {
          const tls = tlsFiles(spec, true);
          return etcd.ensureMember(ctxFor(h.ssh), { target: h.ssh, secrets: spec.secrets, member: etcdMemberInput(spec, h), image: etcdImage, ...(tls ? { tlsFiles: tls } : {}) }, stamp);
        }),
      ),
    );
    await phase('quorum-check', () => etcd.waitForQuorum({ heartbeat: () => undefined }, (t) => new HostExecutor(t, pool, 'apply', spec.secrets), quorumCheckInput(spec)));
    await delivery;
    const activate = (list: typeof cp) =>
      Promise.all(
        list.map(async ({ h, cs }) => {
          const ctx = ctxFor(h.ssh);
          const cfg = await component.configureComponent(ctx, cs);
          await component.startComponent(ctx, cs, cfg.changed);
          await component.waitComponentHealthy(ctx, cs);
        }),
      );
    const endpoints = endpointsOf(spec);
    const lbs = phase('load-balancers', () => Promise.all(loadBalancerHosts(spec).map((h) => ensureLoadBalancer(ctxFor(h.ssh), loadBalancerInput(spec, h, lbImage, product, stamp)))));
    await phase('control-plane', () => activate(cp));
    const probe = probeSettings(spec);
    await ensureProbeRoute({ heartbeat: () => undefined }, apiTarget(spec, `http://${controlPlaneHosts(spec)[0]!.address}:${product.controlPlane.port}`), probe);
    await phase('data-plane', () => activate(dp));
    await lbs;
    await waitLoadBalancersServing({ heartbeat: () => undefined }, endpoints, { cpHealthPath: product.controlPlane.health.path, probe }, 120);
    await phase('verification', () => verifyPropagation({ heartbeat: () => undefined }, apiTarget(spec, endpoints.controlPlane), endpoints, probe, 'direct', 60));
    return { totalMs: Math.round(performance.now() - start), phases };
  } finally {
    await pool.closeAll();
  }
}
