import { eventRef, verificationsOf } from '../chain-evidence';
import { requestedGrantOf } from '../../evidence/types/verification-event';
import { scopesOf } from '../grant';
import type { Rule } from '../rule';
import { quoted } from './ordering';

/**
 * unencrypted_sensitive: a request whose claim facts ask for a scope or authorization_details type the client marks
 * sensitive travelled unencrypted (no JWE around it: a plain JWS, alg none, or a plain authorization request), so its
 * contents were readable on the way. Medium; high when the AS accepted it. Cannot judge an unregistered client.
 */
export const unencryptedSensitive: Rule = (chain) => {
  const findings = verificationsOf(chain.records).flatMap((record) => {
    if (record.data === null || record.data.encryption !== undefined) return [];
    const client = chain.clients.get(record.data.client_id);
    if (!client) return [];
    const requested = requestedGrantOf(record.data);
    const scopes = scopesOf(requested.scope).filter((scope) => client.sensitiveScopes.includes(scope));
    const types = (requested.authorization_details ?? [])
      .map((entry) => entry.type)
      .filter((type, index, all) => client.sensitiveAuthorizationDetailsTypes.includes(type) && all.indexOf(type) === index);
    if (scopes.length + types.length === 0) return [];
    const accepted = record.data.verdict === 'accepted';
    return [
      {
        rule: 'unencrypted_sensitive' as const,
        severity: accepted ? ('high' as const) : ('medium' as const),
        key: `verification:${record.eventId}:${record.sourceId}`,
        evidence: [eventRef(record)],
        summary: `a request of client ${quoted(record.data.client_id)} asking for sensitive ${[...scopes.map((scope) => `scope ${quoted(scope)}`), ...types.map((type) => `type ${quoted(type)}`)].join(', ')} travelled unencrypted; the AS ${accepted ? 'accepted' : 'refused'} it`,
        facts: { scopes, authorization_details_types: types, as_verdict: record.data.verdict },
      },
    ];
  });
  return { findings };
};
