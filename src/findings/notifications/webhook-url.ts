import { addressLiteralOf, isLocalhostName, isPublicAddress } from '../../common/net/public-address';

/** NOTIFICATIONS_ALLOW_HTTP and NOTIFICATIONS_ALLOW_PRIVATE. */
export interface WebhookUrlPolicy {
  readonly allowHttp: boolean;
  readonly allowPrivateAddresses: boolean;
}

export interface WebhookUrlProblem {
  readonly code: 'invalid_url' | 'url_credentials' | 'https_required' | 'non_public_address';
  readonly detail: string;
}

/**
 * Why jartrail may not POST to a subscription URL, or undefined. https only (plain http behind a setting), no
 * credentials in the URL (they would be stored and shown), and no host that is a non-public address literal or a
 * localhost name unless private addresses are allowed: jartrail must not be a way into the network it runs in.
 * A name is resolved and checked again at every attempt (publicOnlyLookup), as for jwks_uri fetches.
 */
export function webhookUrlProblem(raw: string, policy: WebhookUrlPolicy): WebhookUrlProblem | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { code: 'invalid_url', detail: 'must be an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { code: 'invalid_url', detail: 'must be an https URL' };
  if (url.username || url.password) return { code: 'url_credentials', detail: 'must not carry credentials (user or password)' };
  if (url.protocol === 'http:' && !policy.allowHttp) return { code: 'https_required', detail: 'must be https (NOTIFICATIONS_ALLOW_HTTP=true allows plain http)' };
  if (!policy.allowPrivateAddresses) {
    const literal = addressLiteralOf(url.hostname);
    if (isLocalhostName(url.hostname) || (literal !== undefined && !isPublicAddress(literal))) {
      return {
        code: 'non_public_address',
        detail: 'must not name a loopback, private, link-local or other non-public address (NOTIFICATIONS_ALLOW_PRIVATE=true allows them)',
      };
    }
  }
  return undefined;
}
