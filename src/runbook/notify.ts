// The notification hook any runbook calls: `await notify(r, spec, 'backup', { type: 'backup.passed',
// summary, figures })`. It posts the notice to every webhook of the inventory that wants its event,
// each through the sendNotification activity (retried; one activity per webhook, so a retry never
// repeats a delivery that went through), and never throws: a webhook that cannot be reached is
// recorded (the journal keeps it) and the run goes on. Pure: no SDK, no I/O.
import type { ClusterSpec } from '../inventory/model';
import type { NotificationRecord } from '../drills/journal';
import { reportUrl, type Notice, type NotificationMessage } from '../notifications/messages';
import { messageOf, type Runner } from './runner';

export type NotifyRunner = Pick<Runner, 'id' | 'runId' | 'sendNotification' | 'isCancellation'>;

/** The webhooks that want this event (an empty `events` list in the inventory means all of them). */
export const webhooksFor = (spec: Pick<ClusterSpec, 'notifications'>, type: Notice['type']) => (spec.notifications?.webhooks ?? []).filter((w) => w.events.length === 0 || w.events.includes(type));

export function messageFor(r: Pick<Runner, 'id' | 'runId'>, spec: Pick<ClusterSpec, 'cluster' | 'notifications'>, kind: string, notice: Notice): NotificationMessage {
  const url = reportUrl(spec.notifications?.reportUrl, r.id, r.runId);
  return {
    ...notice,
    id: `${r.id}/${r.runId}/${notice.type}${notice.key ? `/${notice.key}` : ''}`,
    cluster: spec.cluster.name,
    kind,
    workflowId: r.id,
    runId: r.runId,
    at: Date.now(),
    report: { command: kind === 'drill' || kind === 'deploy' ? `api7-ha report ${r.id} -o report.html` : `api7-ha status ${r.id}`, ...(url ? { url } : {}) },
  };
}

export async function notify(r: NotifyRunner, spec: Pick<ClusterSpec, 'cluster' | 'notifications'>, kind: string, notice: Notice): Promise<NotificationRecord[]> {
  const targets = webhooksFor(spec, notice.type);
  if (!targets.length) return [];
  const message = messageFor(r, spec, kind, notice);
  return Promise.all(
    targets.map(async (w): Promise<NotificationRecord> => {
      try {
        await r.sendNotification(message, w);
        return { event: notice.type, webhook: w.name, ok: true, at: message.at };
      } catch (e) {
        if (r.isCancellation(e)) return { event: notice.type, webhook: w.name, ok: false, at: message.at, error: 'cancelled before it was delivered' };
        return { event: notice.type, webhook: w.name, ok: false, at: message.at, error: messageOf(e) };
      }
    }),
  );
}
