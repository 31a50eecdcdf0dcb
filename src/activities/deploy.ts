// Deploy activities: each does one thing on one host (or on the worker), so a retry or a resume after
// a worker crash redoes at most that one thing, and usually nothing (every step checks first).
import type { SshTarget } from '../inventory/model';
import { inspectArtifacts, type ArtifactFacts, type ArtifactPaths } from '../artifacts/inspect';

export type { ArtifactFacts, ImageFacts } from '../artifacts/inspect';
import type {
  ApiTarget,
  ComponentStep,
  Endpoints,
  EtcdMemberStep,
  ImageDelivery,
  LoadBalancerStep,
  PackageStep,
  PreflightInput,
  QuorumCheckInput,
} from '../plan/inputs';
import * as component from '../reconcile/component';
import * as etcd from '../reconcile/etcd';
import { ensureImage } from '../reconcile/images';
import { ensureLoadBalancer as ensureLb, waitLoadBalancersServing } from '../reconcile/loadbalancer';
import { preflightHost as preflight } from '../reconcile/preflight';
import { ensureProbeRoute as ensureRoute, verifyPropagation as verify, type ProbeSettings } from '../reconcile/verify';
import { HostExecutor } from '../remote/executor';
import { local, onHost, type ActivityDeps } from './runtime';

export function deployActivities(deps: ActivityDeps) {
  const host = onHost(deps);
  const execFor = (secrets: QuorumCheckInput['secrets']) => (t: SshTarget) => new HostExecutor(t, deps.pool, 'apply', secrets);

  return {
    /** sha256 and image IDs of the operator's files, recorded in the run before anything is sent. */
    async inspectArtifacts(paths: ArtifactPaths): Promise<ArtifactFacts> {
      return local((ctx) => inspectArtifacts(paths, (p) => ctx.heartbeat({ hashing: p })));
    },

    /** Preflight of a batch of hosts at once: one activity per batch keeps history bounded at scale. */
    async preflightHosts(inputs: PreflightInput[]) {
      return Promise.all(inputs.map((input) => host(input.target, input.secrets, (ctx) => preflight(ctx, input))));
    },

    async ensureEtcdMember(step: EtcdMemberStep, stamp: string) {
      return host(step.target, step.secrets, (ctx) => etcd.ensureMember(ctx, step, stamp));
    },

    async recreateEtcdMember(step: EtcdMemberStep, stamp: string) {
      return host(step.target, step.secrets, (ctx) => etcd.recreateMember(ctx, step, stamp));
    },

    async checkQuorum(input: QuorumCheckInput) {
      return local((ctx) => etcd.waitForQuorum(ctx, execFor(input.secrets), input));
    },

    async uploadPackage(step: PackageStep) {
      return host(step.target, step.secrets, (ctx) => component.uploadPackage(ctx, step));
    },

    /** An image tarball to a host and `docker load`, unless the host has the image's ID already. */
    async deliverImage(step: { target: SshTarget; secrets: PackageStep['secrets']; image: ImageDelivery }) {
      return host(step.target, step.secrets, (ctx) => ensureImage(ctx, step.image));
    },

    async installPackage(step: PackageStep) {
      return host(step.target, step.secrets, (ctx) => component.installPackage(ctx, step));
    },

    async configureComponent(step: ComponentStep) {
      return host(step.target, step.secrets, (ctx) => component.configureComponent(ctx, step));
    },

    async startComponent(step: ComponentStep, configChanged: boolean) {
      return host(step.target, step.secrets, (ctx) => component.startComponent(ctx, step, configChanged));
    },

    async waitComponentHealthy(step: ComponentStep) {
      return host(step.target, step.secrets, (ctx) => component.waitComponentHealthy(ctx, step));
    },

    /** Which of these hosts already run the component (first install or a running estate?). */
    async componentsRunning(steps: ComponentStep[]): Promise<boolean[]> {
      return Promise.all(steps.map((step) => host(step.target, step.secrets, async (ctx) => (await component.serviceState(ctx, step)).running)));
    },

    async stopComponent(step: ComponentStep) {
      return host(step.target, step.secrets, (ctx) => component.stopComponent(ctx, step));
    },

    async ensureProbeRoute(api: ApiTarget, probe: ProbeSettings) {
      return local((ctx) => ensureRoute(ctx, api, probe));
    },

    async ensureLoadBalancer(step: LoadBalancerStep) {
      return host(step.target, step.secrets, (ctx) => ensureLb(ctx, step));
    },

    async checkLoadBalancers(endpoints: Endpoints, checks: { cpHealthPath: string; probe: { host: string; path: string; expectStatus: number } }, deadlineS: number) {
      return local((ctx) => waitLoadBalancersServing(ctx, endpoints, checks, deadlineS));
    },

    async verifyPropagation(api: ApiTarget, endpoints: Endpoints, probe: ProbeSettings, nonce: string, deadlineS: number) {
      return local((ctx) => verify(ctx, api, endpoints, probe, nonce, deadlineS));
    },
  };
}

export type DeployActivities = ReturnType<typeof deployActivities>;
