import { eventRef, verificationsOf } from '../chain-evidence';
import type { Rule } from '../rule';
import { quoted } from './ordering';

/**
 * redirect_uri_unregistered: the request object's redirect_uri is not exactly one of the client's registered
 * redirect URIs (RFC 6749 section 3.1.2.3 compares them as strings). High when the AS accepted it: the code may have
 * gone to an attacker; low when refused. Cannot judge an unregistered client or one without registered URIs.
 */
export const redirectUriUnregistered: Rule = (chain) => {
  const findings = verificationsOf(chain.records).flatMap((record) => {
    const redirectUri = record.data?.claims.redirect_uri;
    if (record.data === null || redirectUri === undefined) return [];
    const client = chain.clients.get(record.data.client_id);
    if (!client || client.redirectUris.length === 0 || client.redirectUris.includes(redirectUri)) return [];
    const accepted = record.data.verdict === 'accepted';
    return [
      {
        rule: 'redirect_uri_unregistered' as const,
        severity: accepted ? ('high' as const) : ('low' as const),
        key: `verification:${record.eventId}:${record.sourceId}`,
        evidence: [eventRef(record)],
        summary: `the request object of client ${quoted(record.data.client_id)} names redirect_uri ${quoted(redirectUri)}, which is not registered; the AS ${accepted ? 'accepted' : 'refused'} it`,
        facts: { redirect_uri: redirectUri, registered: client.redirectUris, as_verdict: record.data.verdict },
      },
    ];
  });
  return { findings };
};
