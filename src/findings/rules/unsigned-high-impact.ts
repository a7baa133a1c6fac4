import { consentsOf, eventRef, tokensOf, verificationsOf } from '../chain-evidence';
import { approves, consentedGrantOf } from '../../evidence/types/consent-event';
import { tokenGrantOf } from '../../evidence/types/token-events';
import { isUnsignedRequest } from '../../evidence/types/verification-event';
import { scopesOf } from '../grant';
import type { Rule } from '../rule';
import { quoted } from './ordering';

/**
 * unsigned_high_impact: a scope or authorization_details type the client marks high-impact was granted (by an
 * approved or partial consent's `granted`; without consents, carried by a token) in a chain whose request was not
 * signed: a plain authorization request (`unsigned`) or a request object with alg `none`. Nothing then proves the
 * client asked for it. High. Cannot judge an unregistered client.
 */
export const unsignedHighImpact: Rule = (chain) => {
  const unsignedRequests = verificationsOf(chain.records).filter((record) => record.data !== null && isUnsignedRequest(record.data));
  if (unsignedRequests.length === 0) return { findings: [] };
  const findings = unsignedRequests.flatMap((request) => {
    const client = chain.clients.get(request.data!.client_id);
    if (!client) return [];
    const consents = consentsOf(chain.records).filter((consent) => consent.data !== null && approves(consent.data));
    const grants =
      consents.length > 0
        ? consents.map((consent) => ({ record: consent, grant: consentedGrantOf(consent.data!) }))
        : tokensOf(chain.records)
            .filter((token) => token.data !== null)
            .map((token) => ({ record: token, grant: tokenGrantOf(token.data!) }));
    const highImpact = grants.flatMap(({ record, grant }) => {
      const scopes = scopesOf(grant?.scope).filter((scope) => client.highImpactScopes.includes(scope));
      const types = (grant?.authorization_details ?? []).map((entry) => entry.type).filter((type) => client.highImpactAuthorizationDetailsTypes.includes(type));
      return scopes.length + types.length > 0 ? [{ record, scopes, types }] : [];
    });
    if (highImpact.length === 0) return [];
    const scopes = [...new Set(highImpact.flatMap((entry) => entry.scopes))];
    const types = [...new Set(highImpact.flatMap((entry) => entry.types))];
    return [
      {
        rule: 'unsigned_high_impact' as const,
        severity: 'high' as const,
        key: `verification:${request.eventId}:${request.sourceId}`,
        evidence: [eventRef(request), ...highImpact.map((entry) => eventRef(entry.record))],
        summary: `high-impact ${[...scopes.map((scope) => `scope ${quoted(scope)}`), ...types.map((type) => `type ${quoted(type)}`)].join(', ')} granted to client ${quoted(request.data!.client_id)} from ${request.data!.unsigned ? 'a plain unsigned request' : 'a request object with alg "none"'}`,
        facts: { scopes, authorization_details_types: types, unsigned: request.data!.unsigned === true, alg: request.data!.header?.alg ?? null },
      },
    ];
  });
  return { findings };
};
