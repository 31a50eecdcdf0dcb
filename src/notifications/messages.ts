// Notifications as data: the events a run tells people about, and the two payloads a webhook gets
// (a generic JSON document, or a Slack-compatible message). Pure: the runbooks build a notice, an
// activity posts it (src/notifications/send.ts). A message carries the verdict, the key figures and
// where the report is; never a secret (webhook URLs are references, resolved only by the sender).

import type { NotificationEventType } from '../inventory/vocabulary';

export { NOTIFICATION_EVENTS, type NotificationEventType } from '../inventory/vocabulary';

/** What a run says: the runbook fills it in; the message adds who, where and when. */
export interface Notice {
  type: NotificationEventType;
  /** One line for people. */
  summary: string;
  verdict?: string;
  score?: number;
  /** Key figures, label -> value ("dp-node-loss longest DP outage": "0 ms"). */
  figures?: Record<string, string | number>;
  /** Distinguishes events of one type within a run (a second rollback failure). */
  key?: string;
}

export interface NotificationMessage extends Notice {
  /** The same on every retry and every worker: receivers drop a message they already have. */
  id: string;
  cluster: string;
  /** drill, deploy, backup. */
  kind: string;
  workflowId: string;
  runId: string;
  /** Epoch ms (the run's clock). */
  at: number;
  report: { command: string; url?: string };
}

export type WebhookFormat = 'json' | 'slack';

const SEVERE: NotificationEventType[] = ['drill.failed', 'drill.aborted', 'deploy.failed', 'backup.failed', 'rollback.failed'];

/** `{workflow_id}` and `{run_id}` in the inventory's report_url, filled in. */
export const reportUrl = (template: string | undefined, workflowId: string, runId: string): string | undefined =>
  template?.replace(/\{workflow_id\}/g, encodeURIComponent(workflowId)).replace(/\{run_id\}/g, encodeURIComponent(runId));

/** The generic JSON payload: the message itself, with a version for receivers. */
export function genericPayload(m: NotificationMessage): Record<string, unknown> {
  return { version: 1, ...m, at: new Date(m.at).toISOString() };
}

/** A Slack incoming-webhook message (also what Mattermost, Rocket.Chat and Teams' Slack-compatible hooks take). */
export function slackPayload(m: NotificationMessage): Record<string, unknown> {
  const icon = m.type === 'rollback.failed' ? ':rotating_light:' : SEVERE.includes(m.type) ? ':x:' : m.type.endsWith('.passed') ? ':white_check_mark:' : ':information_source:';
  const head = `${icon} *${m.kind} ${m.cluster}*: ${m.type.split('.')[1]!.toUpperCase()}${m.verdict ? ` (verdict ${m.verdict.toUpperCase()}${m.score !== undefined ? `, score ${m.score}/100` : ''})` : ''}`;
  const figures = Object.entries(m.figures ?? {}).map(([k, v]) => `• ${k}: ${v}`);
  const where = m.report.url ? `<${m.report.url}|report> · \`${m.report.command}\`` : `report: \`${m.report.command}\``;
  const text = [head, m.summary, ...figures, where].join('\n');
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${head}\n${m.summary}` } },
      ...(figures.length ? [{ type: 'section', text: { type: 'mrkdwn', text: figures.join('\n') } }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${where} · ${m.workflowId}` }] },
    ],
  };
}

export const payloadOf = (m: NotificationMessage, format: WebhookFormat) => (format === 'slack' ? slackPayload(m) : genericPayload(m));
