// Rotating etcd's mTLS material without a failed request: the new CA is trusted everywhere first (a
// bundle of the old and the new CA), then member and client certificates are replaced one host at a
// time, then the old CA is dropped. etcd reloads its key pair per connection but reads its trusted
// CAs once at start, so each change is followed by a restart of that one member (or gateway, or
// dashboard), and the next host waits until it is healthy again. Every file replaced is kept as
// `<file>.bak-<stamp>`.
import { readFile } from 'node:fs/promises';
import * as docker from '../commands/docker';
import * as etcd from '../commands/etcd';
import * as files from '../commands/files';
import type { FileSpec } from '../commands/types';
import type { ComponentStep } from '../steps/inputs';
import { productProfile } from '../products';
import { pollUntil, type StepContext } from './context';
import { parseHealth } from './etcd';
import * as component from './component';

/** What to write: the CA as text (certificates are public), key pairs by local path (keys are not). */
export interface TlsChange {
  caPem?: string;
  server?: { certFile: string; keyFile: string };
  client?: { certFile: string; keyFile: string };
}

async function specs(dir: string, change: TlsChange, withServer: boolean): Promise<FileSpec[]> {
  const f = (name: string, content: string, mode: number, describe: string): FileSpec => ({ path: `${dir}/${name}`, content, mode, secrets: 'none', backup: true, describe });
  const out: FileSpec[] = [];
  if (change.caPem) out.push(f('ca.pem', change.caPem, 0o644, 'etcd CA bundle'));
  if (withServer && change.server) out.push(f('server.pem', await readFile(change.server.certFile, 'utf8'), 0o644, 'etcd member certificate'), f('server-key.pem', await readFile(change.server.keyFile, 'utf8'), 0o600, 'etcd member key'));
  if (change.client) out.push(f('client.pem', await readFile(change.client.certFile, 'utf8'), 0o644, 'etcd client certificate'), f('client-key.pem', await readFile(change.client.keyFile, 'utf8'), 0o600, 'etcd client key'));
  return out;
}

/** The CA a member host trusts now (its certificate folder's ca.pem). */
export async function readMemberCa(ctx: StepContext, dataDir: string): Promise<string> {
  const pem = await ctx.exec.output(files.read(`${etcd.certsDirOnHost(dataDir)}/ca.pem`));
  if (!pem) throw new Error(`${ctx.exec.host}: no ${etcd.certsDirOnHost(dataDir)}/ca.pem: is etcd TLS deployed there?`);
  return `${pem}\n`;
}

export interface TlsStepResult {
  host: string;
  changed: boolean;
  restarted: boolean;
  ms: number;
}

/** A member: its files, then (if anything changed) a restart and its own health check. */
export async function rotateMemberTls(ctx: StepContext, m: { dataDir: string; containerName: string; endpoint: string; auth: { enabled: boolean; user: string } }, change: TlsChange, stamp: string): Promise<TlsStepResult> {
  const x = ctx.exec;
  const t0 = Date.now();
  let changed = false;
  for (const s of await specs(etcd.certsDirOnHost(m.dataDir), change, true)) changed = (await x.ensureFile(s, stamp)).changed || changed;
  if (!changed || x.planning) return { host: x.host, changed, restarted: false, ms: Date.now() - t0 };
  await x.run(docker.restart(m.containerName));
  const own: etcd.EtcdctlTarget = { containerName: m.containerName, endpoints: [m.endpoint], auth: m.auth, tls: true };
  await pollUntil(ctx, `${x.host}: etcd member healthy after the certificate change`, 60_000, 500, async () => {
    const res = await x.run(etcd.endpointHealth(own));
    return res.code === 0 && parseHealth(res.stdout).every((h) => h.health) ? { done: true, value: true } : { done: false, reason: res.stderr.trim() || res.stdout.trim() };
  });
  return { host: x.host, changed, restarted: true, ms: Date.now() - t0 };
}

/** A dashboard or gateway: its certs folder, then (if changed) a restart behind the load balancer and its health check. */
export async function rotateComponentTls(ctx: StepContext, step: ComponentStep, change: TlsChange): Promise<TlsStepResult> {
  const x = ctx.exec;
  const t0 = Date.now();
  const product = productProfile(step.product);
  const profile = step.component === 'control_plane' ? product.controlPlane : product.dataPlane;
  let changed = false;
  for (const s of await specs(`${step.packageDir}/${profile.confDirInPackage}/certs`, change, false)) changed = (await x.ensureFile(s, step.stamp)).changed || changed;
  if (!changed || x.planning) return { host: x.host, changed, restarted: false, ms: Date.now() - t0 };
  await component.startComponent(ctx, step, true);
  await component.waitComponentHealthy(ctx, step);
  return { host: x.host, changed, restarted: true, ms: Date.now() - t0 };
}
