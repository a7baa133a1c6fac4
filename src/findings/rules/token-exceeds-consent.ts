import { consentsOf, eventRef, tokensOf, verificationsOf } from '../chain-evidence';
import { approves, consentedGrantOf } from '../../evidence/types/consent-event';
import { tokenGrantOf } from '../../evidence/types/token-events';
import { requestedGrantOf } from '../../evidence/types/verification-event';
import { describeExcess, excessOf, isEmptyExcess, unionOf } from '../grant';
import type { FindingDraft, Rule } from '../rule';
import { byOccurrence } from './ordering';
import { tokenName } from './token-lookup';

/**
 * token_exceeds_consent: a token (access, refresh, or derived from a parent) carries scopes, resources or
 * authorization_details beyond what the chain's consents granted: the union of approved and partial consents'
 * `granted` (a consent without `granted` granted what the accepted request objects asked). A token's `aud` is not a
 * resource: only `resource` is compared. With no consent in the chain nothing is comparable; a chain whose only
 * consents are denied granted nothing, so any token in it exceeds them.
 */
export const tokenExceedsConsent: Rule = (chain) => {
  // A purged consent or verification may have granted or asked for more: with one, what was granted is unknown.
  if (consentsOf(chain.records).some((consent) => consent.data === null) || verificationsOf(chain.records).some((record) => record.data === null)) return { findings: [] };
  const consents = consentsOf(chain.records).sort(byOccurrence);
  if (consents.length === 0) return { findings: [] };
  const approving = consents.filter((consent) => approves(consent.data!));
  const requested = unionOf(verificationsOf(chain.records).filter((record) => record.data?.verdict === 'accepted').map((record) => requestedGrantOf(record.data!)));
  const granted = unionOf(approving.map((consent) => consentedGrantOf(consent.data!) ?? requested));
  const findings: FindingDraft[] = [];
  for (const token of tokensOf(chain.records).sort(byOccurrence)) {
    if (token.data === null) continue;
    const excess = excessOf(tokenGrantOf(token.data), granted, { scope: true, resource: true, authorization_details: true });
    if (isEmptyExcess(excess) && approving.length > 0) continue;
    findings.push({
      rule: 'token_exceeds_consent',
      severity: 'high',
      key: `token:${token.eventId}:${token.sourceId}`,
      evidence: [eventRef(token), ...consents.map(eventRef)],
      summary:
        approving.length === 0
          ? `${tokenName(token)} was issued although the user denied consent`
          : `${tokenName(token)} carries ${describeExcess(excess)} beyond what the consent granted`,
      facts: { excess, granted, consent_denied: approving.length === 0 },
    });
  }
  return { findings };
};
