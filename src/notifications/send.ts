// Posting a notification to one webhook (the sendNotification activity). The URL is a secret (Slack's
// holds its token): it is resolved here, on the worker, used for one request and never returned,
// logged or put in an error. The message's id goes out as Idempotency-Key, so a receiver can drop the
// rare duplicate a retry after a worker crash could make.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { WebhookSpec } from '../inventory/model';
import { PermanentError } from '../reconcile/context';
import { resolveSecret } from '../remote/secrets';
import { payloadOf, type NotificationMessage } from './messages';

export interface Delivery {
  webhook: string;
  status: number;
  ms: number;
}

/** Thrown for an answer a retry may fix (5xx, 429, no answer); the message names the webhook, never its URL. */
export class DeliveryFailed extends Error {
  override name = 'DeliveryFailed';
}

export async function sendNotification(message: NotificationMessage, webhook: WebhookSpec, signal?: AbortSignal): Promise<Delivery> {
  const raw = await resolveSecret(webhook.url);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new PermanentError(`webhook ${webhook.name}: its URL (from the reference) is not a URL`, 'NotificationConfiguration');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new PermanentError(`webhook ${webhook.name}: its URL must be http(s)`, 'NotificationConfiguration');
  const body = JSON.stringify(payloadOf(message, webhook.format));
  const started = performance.now();
  const status = await new Promise<number>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': message.id, 'user-agent': 'api7-ha' },
        timeout: webhook.timeoutS * 1000,
        ...(signal ? { signal } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${webhook.timeoutS} s`)));
    // The error's own text can hold the address: only its code is kept.
    req.on('error', (e: NodeJS.ErrnoException) => reject(new DeliveryFailed(`webhook ${webhook.name}: ${e.code ?? (e.message.startsWith('no answer') ? e.message : 'request failed')}`)));
    req.end(body);
  });
  const ms = Math.round(performance.now() - started);
  if (status >= 200 && status < 300) return { webhook: webhook.name, status, ms };
  if (status === 429 || status >= 500) throw new DeliveryFailed(`webhook ${webhook.name} answered ${status}`);
  // 4xx: the receiver refuses this message (a revoked Slack hook answers 404): retrying cannot help.
  throw new PermanentError(`webhook ${webhook.name} refused the message (${status})`, 'NotificationRefused');
}
