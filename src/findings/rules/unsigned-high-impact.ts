import { consentsOf, eventRef, tokensOf, type VerificationRecord, verificationsOf } from '../chain-evidence';
import { approves, consentedGrantOf } from '../../evidence/types/consent-event';
import { tokenGrantOf } from '../../evidence/types/token-events';
import { isUnsignedRequest } from '../../evidence/types/verification-event';
import { scopesOf } from '../grant';
import type { Rule } from '../rule';
import { byOccurrence, quoted } from './ordering';

/** Which of the client's protections a request went without. */
type Branch = 'unsigned' | 'unencrypted';

/**
 * unsigned_high_impact: a scope or authorization_details type the client marks high-impact was granted (by an
 * approved or partial consent's `granted`; without consents, carried by a token) in a chain whose request went without
 * a protection the grant needed. Two branches, named in the finding's `facts.branches` and summary:
 * - `unsigned`: the request was a plain authorization request (`unsigned`) or a request object with alg `none`:
 *   nothing proves the client asked for it;
 * - `unencrypted`: the client requires encrypted requests (`require_encrypted_request_object`) and the AS accepted one
 *   of its requests that travelled without encryption (no `encryption` in its report): what was asked was readable on
 *   the way, against the client's own policy. Only an accepted request counts here: a refused one granted nothing, and
 *   an encrypted request's inner JWS joins its chain by alias.
 * One finding per verification, high. Cannot judge an unregistered client.
 */
export const unsignedHighImpact: Rule = (chain) => {
  const findings = verificationsOf(chain.records)
    .sort(byOccurrence)
    .flatMap((request) => {
      if (request.data === null) return [];
      const client = chain.clients.get(request.data.client_id);
      if (!client) return [];
      const branches = branchesOf(request, client.requireEncryptedRequestObject);
      if (branches.length === 0) return [];
      const consents = consentsOf(chain.records)
        .filter((consent) => consent.data !== null && approves(consent.data))
        .sort(byOccurrence);
      const grants =
        consents.length > 0
          ? consents.map((consent) => ({ record: consent, grant: consentedGrantOf(consent.data!) }))
          : tokensOf(chain.records)
              .filter((token) => token.data !== null)
              .sort(byOccurrence)
              .map((token) => ({ record: token, grant: tokenGrantOf(token.data!) }));
      const highImpact = grants.flatMap(({ record, grant }) => {
        const scopes = scopesOf(grant?.scope).filter((scope) => client.highImpactScopes.includes(scope));
        const types = (grant?.authorization_details ?? []).map((entry) => entry.type).filter((type) => client.highImpactAuthorizationDetailsTypes.includes(type));
        return scopes.length + types.length > 0 ? [{ record, scopes, types }] : [];
      });
      if (highImpact.length === 0) return [];
      const scopes = [...new Set(highImpact.flatMap((entry) => entry.scopes))];
      const types = [...new Set(highImpact.flatMap((entry) => entry.types))];
      const how = branches.map((branch) =>
        branch === 'unencrypted'
          ? 'a request that travelled unencrypted although the client requires encrypted requests'
          : request.data!.unsigned
            ? 'a plain unsigned request'
            : 'a request object with alg "none"',
      );
      return [
        {
          rule: 'unsigned_high_impact' as const,
          severity: 'high' as const,
          key: `verification:${request.eventId}:${request.sourceId}`,
          evidence: [eventRef(request), ...highImpact.map((entry) => eventRef(entry.record))],
          summary: `high-impact ${[...scopes.map((scope) => `scope ${quoted(scope)}`), ...types.map((type) => `type ${quoted(type)}`)].join(', ')} granted to client ${quoted(request.data.client_id)} from ${how.join(', and ')}`,
          facts: {
            branches,
            scopes,
            authorization_details_types: types,
            unsigned: request.data.unsigned === true,
            alg: request.data.header?.alg ?? null,
            encrypted: request.data.encryption !== undefined,
            encryption_required: client.requireEncryptedRequestObject,
            as_verdict: request.data.verdict,
          },
        },
      ];
    });
  return { findings };
};

function branchesOf(request: VerificationRecord, encryptionRequired: boolean): Branch[] {
  const data = request.data!;
  const branches: Branch[] = [];
  if (isUnsignedRequest(data)) branches.push('unsigned');
  if (encryptionRequired && data.encryption === undefined && data.verdict === 'accepted') branches.push('unencrypted');
  return branches;
}
