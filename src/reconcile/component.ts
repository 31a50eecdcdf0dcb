// Control plane (API7-Dashboard) and data plane (API7-Gateway) on one host, as the runbook does it:
// copy the package, `tar -zxvf`, `docker load < images/...`, edit the conf file, `docker compose up`,
// check the logs and the port. Each function is one activity; each is a no-op when already done.
import { readFile } from 'node:fs/promises';
import * as compose from '../commands/compose';
import * as docker from '../commands/docker';
import * as files from '../commands/files';
import type { FileSpec } from '../commands/types';
import { productProfile } from '../products';
import type { ComponentStep, PackageStep } from '../steps/inputs';
import { PermanentError, pollUntil, type StepContext } from './context';
import { http, looksLikeUpstream } from './http';
import { loadAndVerify } from './images';
import type { HostExecutor } from '../remote/executor';
import { inspectContainer } from './containers';

export const packagesDir = (installDir: string) => `${installDir}/packages`;

export interface UploadResult {
  host: string;
  uploaded: boolean;
  bytes: number;
  resumedFrom: number;
}

export async function uploadPackage(ctx: StepContext, step: PackageStep): Promise<UploadResult> {
  const x = ctx.exec;
  const dir = packagesDir(step.installDir);
  if ((await x.run(files.isDir(dir))).code !== 0) await x.run(files.mkdirP(dir));
  const res = await x.upload(step.pkg.localPath, `${dir}/${step.pkg.fileName}`, step.pkg.sha256, {
    onProgress: (sent, total) => ctx.heartbeat({ sent, total }),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  return { host: x.host, ...res };
}

export interface InstallResult {
  host: string;
  extracted: boolean;
  loaded: string[];
}

/** Extract (never over existing files) and load the package's images whose IDs are missing. */
export async function installPackage(ctx: StepContext, step: PackageStep): Promise<InstallResult> {
  const x = ctx.exec;
  const dir = `${step.installDir}/${step.pkg.topDir}`;
  const tarball = `${packagesDir(step.installDir)}/${step.pkg.fileName}`;
  const complete = await Promise.all(step.pkg.files.map((f) => x.run(files.exists(`${dir}/${f}`))));
  let extracted = false;
  if (complete.some((r) => r.code !== 0)) {
    await x.run(files.extract(tarball, step.installDir));
    extracted = true;
  }
  const loaded: string[] = [];
  for (const img of step.pkg.images) {
    if ((await x.output(docker.imageId(img.id))) === img.id) continue;
    ctx.heartbeat({ loading: img.file });
    await loadAndVerify(ctx, `${dir}/${img.file}`, [img.id]);
    loaded.push(img.id);
  }
  return { host: x.host, extracted, loaded };
}

function configInput(step: ComponentStep) {
  return {
    endpoints: step.etcdEndpoints,
    scheme: step.etcdScheme,
    ...(step.etcdAuthUser !== undefined ? { authUser: step.etcdAuthUser } : {}),
    ...(step.tlsFiles ? { tls: true } : {}),
  };
}

/** The conf file the runbook edits by hand (`vim dashboard_conf/conf.yaml`), rendered by the product. */
export function componentConfigFile(step: ComponentStep): FileSpec {
  const product = productProfile(step.product);
  if (step.component === 'control_plane') {
    return {
      path: `${step.packageDir}/${product.controlPlane.configPath}`,
      content: product.controlPlane.renderConfig({
        etcd: configInput(step),
        port: product.controlPlane.health.port,
        sharedSecret: step.secrets.dashboard_secret !== undefined,
        adminUser: step.adminUser,
        adminPassword: step.secrets.admin_password !== undefined,
        tokenExpireS: step.tokenExpireS,
      }),
      mode: 0o600,
      secrets: 'yaml',
      backup: true,
      describe: `${product.displayName} dashboard configuration (etcd endpoints, auth, mTLS, prefix, shared secret)`,
    };
  }
  return {
    path: `${step.packageDir}/${product.dataPlane.configPath}`,
    content: product.dataPlane.renderConfig({ etcd: configInput(step), clusterId: step.clusterId }),
    mode: 0o600,
    secrets: 'yaml',
    backup: true,
    describe: `${product.displayName} gateway configuration (etcd hosts, prefix ${product.dataPlane.etcdPrefix(step.clusterId)})`,
  };
}

export interface ConfigureResult {
  host: string;
  changed: boolean;
  backup?: string;
}

export async function configureComponent(ctx: StepContext, step: ComponentStep): Promise<ConfigureResult> {
  const x = ctx.exec;
  const product = productProfile(step.product);
  const profile = step.component === 'control_plane' ? product.controlPlane : product.dataPlane;
  let changed = false;
  if (step.tlsFiles) {
    const certs = `${step.packageDir}/${profile.confDirInPackage}/certs`;
    if ((await x.run(files.isDir(certs))).code !== 0) await x.run(files.mkdirP(certs, '700'));
    const tls = step.tlsFiles;
    const certFiles: [string, string, number][] = [
      ['ca.pem', tls.caFile, 0o644],
      ['client.pem', tls.clientCertFile, 0o644],
      ['client-key.pem', tls.clientKeyFile, 0o600],
    ];
    for (const [name, local, mode] of certFiles) {
      const r = await x.ensureFile({ path: `${certs}/${name}`, content: await readFile(local, 'utf8'), mode, secrets: 'none', backup: true, describe: `etcd ${name}` }, step.stamp);
      changed = changed || r.changed;
    }
  }
  const r = await x.ensureFile(componentConfigFile(step), step.stamp);
  return { host: x.host, changed: changed || r.changed, ...(r.backup ? { backup: r.backup } : {}) };
}

/**
 * The compose the host has: preflight found it during a deploy; drills ("auto") ask the host, once
 * per executor, the v2 plugin first.
 */
const detected = new WeakMap<HostExecutor, Promise<compose.ComposeVariant>>();
export function variantOf(x: HostExecutor, step: Pick<ComponentStep, 'compose'>): Promise<compose.ComposeVariant> {
  if (step.compose !== 'auto') return Promise.resolve(step.compose);
  let v = detected.get(x);
  if (!v) {
    v = (async () => {
      const plugin = await x.run(compose.detectPlugin());
      if (plugin.code === 0 && /\d/.test(plugin.stdout)) return 'plugin';
      const standalone = await x.run(compose.detectStandalone());
      if (standalone.code === 0 && standalone.stdout.trim()) return 'standalone';
      throw new PermanentError(`${x.host}: neither docker compose nor docker-compose is installed`);
    })();
    detected.set(x, v);
  }
  return v;
}

export const composeProject = (step: Pick<ComponentStep, 'packageDir'>) => compose.projectAt(step.packageDir);
export const serviceOf = (step: Pick<ComponentStep, 'product' | 'component'>) => {
  const p = productProfile(step.product);
  return step.component === 'control_plane' ? p.controlPlane.service : p.dataPlane.service;
};

export interface ServiceState {
  containerId?: string;
  running: boolean;
  startedAt?: string;
}

export async function serviceState(ctx: StepContext, step: ComponentStep): Promise<ServiceState> {
  const x = ctx.exec;
  const ids = (await x.output(compose.ps(composeProject(step), serviceOf(step)))) ?? '';
  const id = ids.split('\n').map((s) => s.trim()).filter(Boolean)[0];
  if (!id) return { running: false };
  const c = await inspectContainer(x, id);
  return { containerId: id, running: c?.running ?? false, ...(c ? { startedAt: c.startedAt } : {}) };
}

export interface StartResult {
  host: string;
  action: 'unchanged' | 'started' | 'recreated';
  containerId?: string;
}

/**
 * `docker compose up <service> -d`. A running container whose conf file is newer than its start is
 * recreated to read it (compose does not notice a changed file behind a bind mount). Comparing times,
 * not just this run's "changed" flag, also catches a run that wrote the file and died before this step.
 */
export async function startComponent(ctx: StepContext, step: ComponentStep, configChanged: boolean): Promise<StartResult> {
  const x = ctx.exec;
  const before = await serviceState(ctx, step);
  let stale = configChanged;
  if (before.running && !stale && before.startedAt) {
    const mtime = await x.output(files.mtime(componentConfigFile(step).path));
    // Whole seconds (older coreutils print no fractions): strictly newer, so a first install that
    // writes and starts within one second is not taken for stale on the next run.
    stale = mtime !== undefined && Number(mtime) > Math.floor(Date.parse(before.startedAt) / 1000);
  }
  if (before.running && !stale) return { host: x.host, action: 'unchanged', ...(before.containerId ? { containerId: before.containerId } : {}) };
  const recreate = before.containerId !== undefined && stale;
  await x.run(compose.up(await variantOf(x, step), composeProject(step), serviceOf(step), recreate));
  const after = x.planning ? before : await serviceState(ctx, step);
  return { host: x.host, action: recreate ? 'recreated' : 'started', ...(after.containerId ? { containerId: after.containerId } : {}) };
}

export interface HealthResult {
  host: string;
  healthy: true;
  ms: number;
}

/**
 * Dashboard: the runbook's log line plus HTTP on its port. Gateway: it answers the probe itself
 * (Host header + path) with the expected status, from the upstream.
 */
export async function waitComponentHealthy(ctx: StepContext, step: ComponentStep): Promise<HealthResult> {
  const x = ctx.exec;
  const product = productProfile(step.product);
  const started = Date.now();
  if (x.planning) return { host: x.host, healthy: true, ms: 0 };
  const addr = step.target.address;
  if (step.component === 'control_plane') {
    const cp = product.controlPlane;
    await pollUntil(ctx, `${x.host}: dashboard ready`, step.healthDeadlineS * 1000, 500, async () => {
      const st = await serviceState(ctx, step);
      if (!st.containerId || !st.running) return { done: false, reason: 'the dashboard container is not running' };
      await crashLoopCheck(ctx, st.containerId);
      const logs = await x.run({ ...docker.logs(st.containerId, 500), okExit: [0, 1] });
      if (!`${logs.stdout}\n${logs.stderr}`.includes(cp.readyLogLine)) return { done: false, reason: `no "${cp.readyLogLine}" in its logs yet` };
      const res = await http(`http://${addr}:${cp.health.port}${cp.health.path}`, { timeoutMs: 2000 });
      return res.status === cp.health.expect ? { done: true, value: true } : { done: false, reason: `GET ${cp.health.path} on port ${cp.health.port}: ${res.error ?? res.status}` };
    });
  } else {
    const dp = product.dataPlane;
    await pollUntil(ctx, `${x.host}: gateway answers the probe`, step.healthDeadlineS * 1000, 500, async () => {
      const st = await serviceState(ctx, step);
      if (st.containerId) await crashLoopCheck(ctx, st.containerId);
      const res = await http(`http://${addr}:${dp.httpPort}${step.probe.path}`, { headers: { Host: step.probe.host }, timeoutMs: 2000 });
      if (res.status !== step.probe.expectStatus) return { done: false, reason: `GET ${step.probe.path} (Host: ${step.probe.host}) answered ${res.error ?? res.status}` };
      if (step.probe.expectStatus === 200 && !looksLikeUpstream(res.body)) return { done: false, reason: 'answered, but not with the upstream\'s JSON' };
      return { done: true, value: true };
    });
  }
  return { host: x.host, healthy: true, ms: Date.now() - started };
}

/** A container restarting over and over will not get healthy by waiting: say so, with its logs. */
async function crashLoopCheck(ctx: StepContext, id: string): Promise<void> {
  const c = await inspectContainer(ctx.exec, id);
  if (c && c.restartCount >= 3 && !c.running) {
    const logs = await ctx.exec.run({ ...docker.logs(id, 10), okExit: [0, 1] });
    throw new PermanentError(`${ctx.exec.host}: the container keeps restarting (${c.restartCount} restarts): ${`${logs.stdout}\n${logs.stderr}`.trim().split('\n').slice(-6).join(' | ')}`, 'ContainerCrashLoop');
  }
}

/** The runbook's failover check: `docker compose down` in the package folder. */
export async function stopComponent(ctx: StepContext, step: ComponentStep): Promise<{ host: string; wasRunning: boolean }> {
  const before = await serviceState(ctx, step);
  await ctx.exec.run(compose.down(await variantOf(ctx.exec, step), composeProject(step)));
  return { host: ctx.exec.host, wasRunning: before.running };
}
