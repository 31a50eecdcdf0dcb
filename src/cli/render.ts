// Text rendering for the terminal: the step tree (watch, status) and the deploy summary.
import type { RunProgress, Status } from '../contracts';
import type { DeployResult } from '../runbook/types';

const ICON: Record<Status, string> = { pending: '·', running: '▶', done: '✔', failed: '✘', skipped: '–' };

const secs = (ms: number | undefined) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)}s`);

export function renderProgress(p: RunProgress, children: Record<string, RunProgress> = {}, now = Date.now()): string {
  const lines: string[] = [];
  const took = (p.endedAt ?? now) - p.startedAt;
  lines.push(`${p.kind} ${p.cluster}: ${p.status.toUpperCase()} (${secs(took)})${p.error ? `\n  error: ${p.error}` : ''}`);
  for (const s of p.steps) {
    const d = s.startedAt ? secs((s.endedAt ?? now) - s.startedAt) : '';
    lines.push(`  ${ICON[s.status]} ${s.title}${d ? `  [${d}]` : ''}${s.summary ? `  — ${s.summary}` : ''}`);
    if (s.error && s.status === 'failed') lines.push(`      error: ${s.error.split('\n').join('\n      ')}`);
    const hosts = Object.entries(s.hosts);
    if (s.status === 'running' || s.status === 'failed' || hosts.some(([, h]) => h.status === 'failed')) {
      for (const [name, h] of hosts) {
        const hd = h.startedAt ? secs((h.endedAt ?? now) - h.startedAt) : '';
        lines.push(`      ${ICON[h.status]} ${name}${hd ? ` ${hd}` : ''}${h.detail ? `  ${h.detail}` : ''}`);
      }
    }
  }
  for (const [id, c] of Object.entries(children)) {
    if (c.status !== 'running' && c.status !== 'failed') continue;
    lines.push(`  └ ${id}`);
    for (const s of c.steps) {
      lines.push(`      ${ICON[s.status]} ${s.title}${s.summary ? `  — ${s.summary}` : ''}`);
      for (const [name, h] of Object.entries(s.hosts)) lines.push(`          ${ICON[h.status]} ${name}${h.detail ? `  ${h.detail}` : ''}`);
    }
  }
  return lines.join('\n');
}

export function renderDeployResult(r: DeployResult): string {
  const lines = [
    `Cluster ${r.cluster} (${r.product}) is deployed${r.changed ? '' : ' — nothing changed'}.`,
    `  control plane: ${r.endpoints.controlPlane}`,
    `  data plane:    ${r.endpoints.dataPlane}`,
    `  etcd: leader ${r.etcd.quorum.leaderName ?? r.etcd.quorum.leader ?? '?'}, term ${r.etcd.quorum.term ?? '?'}; members ${r.etcd.members.map((m) => `${m.member}=${m.action}`).join(', ')}`,
    `  dashboards (${r.controlPlane.mode}): ${r.controlPlane.hosts.map((h) => `${h.host}=${h.ok ? h.action : 'FAILED'}`).join(', ')}`,
    `  gateways (${r.dataPlane.mode}): ${r.dataPlane.hosts.map((h) => `${h.host}=${h.ok ? h.action : 'FAILED'}`).join(', ')}`,
    `  verification: a new route was served through the data plane ${r.verification.propagationMs} ms after the control plane accepted it`,
  ];
  if (r.failover) for (const c of r.failover.checks) lines.push(`  failover ${c.name} (${c.victim} stopped): ${c.passed ? 'passed' : 'FAILED'} — ${c.detail}`);
  const warnings = r.preflight.problems.filter((p) => p.severity === 'warn');
  if (warnings.length) lines.push(`  preflight warnings: ${warnings.map((w) => `${w.host}: ${w.message}`).join('; ')}`);
  lines.push(`  step times: ${Object.entries(r.durationsMs).map(([k, v]) => `${k} ${secs(v)}`).join(', ')}`);
  return lines.join('\n');
}
