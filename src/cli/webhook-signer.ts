import { Webhook } from 'standardwebhooks';
import type { Secret } from './secret';

/** The three Standard Webhooks headers that authenticate one delivery. */
export interface WebhookHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/**
 * Whether a source secret can sign at all (`whsec_` + base64, or bare base64, as the service accepts). Checked
 * before anything is sent, so that a mistyped secret is a usage error and not a 401 per file.
 */
export function isUsableSourceSecret(secret: string): boolean {
  if (!/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(secret)) return false;
  try {
    new Webhook(secret);
    return true;
  } catch {
    return false;
  }
}

/**
 * Signs a body as a sender does, with `standardwebhooks`, the reference implementation of the specification,
 * rather than our own HMAC code: the CLI then also shows that the service accepts what real senders produce.
 */
export function signDelivery(secret: Secret, id: string, body: string, at: Date): WebhookHeaders {
  const timestamp = new Date(Math.floor(at.getTime() / 1000) * 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': new Webhook(secret.reveal()).sign(id, timestamp, body),
  };
}
