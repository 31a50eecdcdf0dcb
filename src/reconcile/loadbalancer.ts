// The managed HAProxy on a load_balancer host: image, configuration (validated before it replaces the
// running one, the previous kept as a backup), container, and a hitless reload (master-worker USR2).
import * as docker from '../commands/docker';
import * as files from '../commands/files';
import * as haproxy from '../commands/haproxy';
import type { Endpoints, LoadBalancerStep } from '../steps/inputs';
import { PermanentError, pollUntil, type StepContext } from './context';
import { configHash, inspectContainer, staysUp } from './containers';
import { ensureImage } from './images';
import { http, looksLikeUpstream } from './http';

export interface LoadBalancerResult {
  host: string;
  action: 'unchanged' | 'created' | 'reloaded' | 'recreated' | 'started';
  configChanged: boolean;
  backup?: string;
}

export async function ensureLoadBalancer(ctx: StepContext, step: LoadBalancerStep): Promise<LoadBalancerResult> {
  const x = ctx.exec;
  if ((await x.run(files.isDir(step.installDir))).code !== 0) await x.run(files.mkdirP(step.installDir));
  const image = await ensureImage(ctx, step.image);
  const cfg = haproxy.configFile(step.installDir, step.haproxy);

  // Validate a candidate with the same image before it may replace the live file.
  const candidate = { ...cfg, path: `${step.installDir}/haproxy.cfg.candidate`, backup: false, describe: 'HAProxy configuration candidate (validated before use)' };
  const cand = await x.ensureFile(candidate, step.stamp);
  const live = await x.output(files.read(cfg.path));
  const changed = live === undefined || live !== cfg.content.trim();
  if (!x.planning && (changed || cand.changed)) {
    const check = await x.run({
      argv: ['docker', 'run', '--rm', '--network=none', '--label', `${docker.LABELS.role}=config-check`, '-v', `${step.installDir}:${haproxy.CONFIG_IN_CONTAINER}:ro`, '--entrypoint', 'haproxy', image.id ?? step.image.name, '-c', '-f', `${haproxy.CONFIG_IN_CONTAINER}/haproxy.cfg.candidate`],
      mutates: false,
      sudo: true,
      describe: 'validate the HAProxy configuration',
      okExit: [0, 1, 2],
    });
    if (check.code !== 0) throw new PermanentError(`${x.host}: HAProxy refuses the generated configuration: ${(check.stderr || check.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  }
  const written = await x.ensureFile(cfg, step.stamp);

  const hash = configHash({ image: image.id ?? step.image.name, installDir: step.installDir });
  const spec = haproxy.runSpec(step.installDir, step.image.name, step.cluster, hash);
  const current = await inspectContainer(x, haproxy.CONTAINER_NAME);
  const base = { host: x.host, configChanged: written.changed, ...(written.backup ? { backup: written.backup } : {}) };
  let action: LoadBalancerResult['action'] = 'unchanged';
  if (!current) {
    await x.run(docker.run(spec));
    action = 'created';
  } else if (current.labels[docker.LABELS.configHash] !== hash) {
    await x.run(docker.stop(haproxy.CONTAINER_NAME, 5));
    await x.run(docker.remove(haproxy.CONTAINER_NAME));
    await x.run(docker.run(spec));
    action = 'recreated';
  } else if (!current.running) {
    await x.run(docker.start(haproxy.CONTAINER_NAME));
    action = 'started';
  } else if (written.changed) {
    await x.run(docker.kill(haproxy.CONTAINER_NAME, 'USR2'));
    action = 'reloaded';
  }
  if (action !== 'unchanged') await staysUp(ctx, haproxy.CONTAINER_NAME);
  return { ...base, action };
}

/** Both frontends answer: the dashboards' health path and the gateways' probe route. */
export async function waitLoadBalancersServing(
  ctx: StepContext | Pick<StepContext, 'heartbeat' | 'signal'>,
  endpoints: Endpoints,
  checks: { cpHealthPath: string; probe: { host: string; path: string; expectStatus: number } },
  deadlineS: number,
): Promise<{ ms: number }> {
  const started = Date.now();
  await pollUntil(ctx, 'load balancers serving', deadlineS * 1000, 500, async () => {
    const cp = await http(`${endpoints.controlPlane}${checks.cpHealthPath}`, { timeoutMs: 2000 });
    if (cp.status !== 200) return { done: false, reason: `control plane LB ${endpoints.controlPlane}${checks.cpHealthPath}: ${cp.error ?? cp.status}` };
    const dp = await http(`${endpoints.dataPlane}${checks.probe.path}`, { headers: { Host: checks.probe.host }, timeoutMs: 2000 });
    if (dp.status !== checks.probe.expectStatus) return { done: false, reason: `data plane LB ${endpoints.dataPlane}${checks.probe.path}: ${dp.error ?? dp.status}` };
    if (checks.probe.expectStatus === 200 && !looksLikeUpstream(dp.body)) return { done: false, reason: 'data plane LB answered without the upstream\'s JSON' };
    return { done: true, value: true };
  });
  return { ms: Date.now() - started };
}
