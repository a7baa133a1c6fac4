import { consentsOf, eventRef, verificationsOf } from '../chain-evidence';
import { approves, consentedGrantOf } from '../../evidence/types/consent-event';
import { requestedGrantOf } from '../../evidence/types/verification-event';
import { describeExcess, excessOf, type Grant, isEmptyExcess, unionOf } from '../grant';
import type { FindingDraft, Rule } from '../rule';
import { byOccurrence } from './ordering';

/**
 * consent_exceeds_request: an approved or partial consent granted scopes, resources or authorization_details that no
 * accepted verification of the chain asked for in its claim facts: the consent screen reflected something other than
 * the validated request object (an altered front-channel parameter). A consent without `granted` granted what was
 * asked. Judged only when an accepted verification states what it asked for (scope, resource or
 * authorization_details); then every kind is compared (asking for scopes only and being granted
 * authorization_details exceeds the request).
 */
export const consentExceedsRequest: Rule = (chain) => {
  // A purged verification may have asked for more: with one, what was asked is unknown.
  if (verificationsOf(chain.records).some((record) => record.data === null)) return { findings: [] };
  const asked = verificationsOf(chain.records)
    .filter((record) => record.data!.verdict === 'accepted')
    .sort(byOccurrence);
  const requested: Grant = unionOf(asked.map((record) => requestedGrantOf(record.data!)));
  if (requested.scope === undefined && requested.resource === undefined && requested.authorization_details === undefined) return { findings: [] };
  const findings: FindingDraft[] = [];
  for (const consent of consentsOf(chain.records).sort(byOccurrence)) {
    const granted = consent.data !== null && approves(consent.data) ? consentedGrantOf(consent.data) : undefined;
    if (granted === undefined) continue;
    const excess = excessOf(granted, requested, { scope: true, resource: true, authorization_details: true });
    if (isEmptyExcess(excess)) continue;
    findings.push({
      rule: 'consent_exceeds_request',
      severity: 'high',
      key: `consent:${consent.eventId}:${consent.sourceId}`,
      evidence: [eventRef(consent), ...asked.map(eventRef)],
      summary: `the consent granted ${describeExcess(excess)} that the validated request object did not ask for`,
      facts: { excess, requested },
    });
  }
  return { findings };
};
