import { createHmac, timingSafeEqual } from 'node:crypto';
import { EVENT_ID } from '../evidence/event-id';

// The secret format is shared with sources and the CLI; readers of the signature get both from here.
export { SECRET_PREFIX, secretKeyBytes } from '../common/crypto/webhook-secret';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` holds one or more
 * space-separated `v1,<base64 HMAC-SHA256>` values over `{webhook-id}.{webhook-timestamp}.{body}`, so that a
 * sender can sign with the old and the new secret while a rotation is under way.
 */

export interface SignedDelivery {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: Buffer;
}

export type SignatureFailure =
  | { readonly reason: 'missing_header'; readonly header: 'webhook-id' | 'webhook-timestamp' | 'webhook-signature' }
  | { readonly reason: 'malformed_id' }
  | { readonly reason: 'malformed_timestamp' }
  | { readonly reason: 'timestamp_out_of_tolerance'; readonly skewSeconds: number }
  | { readonly reason: 'no_matching_signature' };

export function verifyWebhookSignature(
  delivery: SignedDelivery,
  keys: readonly Buffer[],
  now: Date,
  toleranceSeconds: number,
): SignatureFailure | undefined {
  if (!delivery.id) return { reason: 'missing_header', header: 'webhook-id' };
  if (!delivery.timestamp) return { reason: 'missing_header', header: 'webhook-timestamp' };
  if (!delivery.signature) return { reason: 'missing_header', header: 'webhook-signature' };
  if (!EVENT_ID.test(delivery.id)) return { reason: 'malformed_id' };
  if (!/^\d{1,12}$/.test(delivery.timestamp)) return { reason: 'malformed_timestamp' };

  // Checked before the signature, as the specification asks, so that old captures are refused cheaply.
  const skewSeconds = Math.floor(now.getTime() / 1000) - Number(delivery.timestamp);
  if (Math.abs(skewSeconds) > toleranceSeconds) return { reason: 'timestamp_out_of_tolerance', skewSeconds };

  // Compared as base64 text, not decoded: Node's decoder is lenient (it stops at "=" and takes base64url), and the
  // specification's signature is exactly the standard base64 of the HMAC.
  const presented = delivery.signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'utf8'));
  for (const key of keys) {
    const expected = Buffer.from(
      createHmac('sha256', key).update(`${delivery.id}.${delivery.timestamp}.`, 'utf8').update(delivery.body).digest('base64'),
      'utf8',
    );
    if (presented.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected))) {
      return undefined;
    }
  }
  return { reason: 'no_matching_signature' };
}
