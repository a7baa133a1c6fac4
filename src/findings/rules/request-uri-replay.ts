import { approves } from '../../evidence/types/consent-event';
import { consentsOf, eventRef, type EvidenceRecord, type VerificationRecord, verificationsOf } from '../chain-evidence';
import type { FindingDraft, Rule } from '../rule';
import { quoted, withRelated } from './ordering';

/** The replay keys of a verification: its PAR request_uri, and its request object's jti for its client. */
export function replayKeysOf(record: VerificationRecord): { key: string; what: string }[] {
  if (record.data === null) return [];
  const keys: { key: string; what: string }[] = [];
  if (record.data.delivery === 'par' && record.data.request_uri !== undefined) {
    keys.push({ key: `request_uri:${record.data.request_uri}`, what: `PAR request_uri ${quoted(record.data.request_uri)}` });
  }
  if (record.data.claims.jti !== undefined) {
    keys.push({ key: `jti:${record.data.client_id}:${record.data.claims.jti}`, what: `request-object jti ${quoted(record.data.claims.jti)} of client ${quoted(record.data.client_id)}` });
  }
  return keys;
}

/** The uses of each replay key among these records, first use first. */
export function usesByKey(records: readonly EvidenceRecord[]): Map<string, { what: string; uses: VerificationRecord[] }> {
  const byKey = new Map<string, { what: string; uses: VerificationRecord[] }>();
  for (const record of verificationsOf(records)) {
    for (const { key, what } of replayKeysOf(record)) {
      const entry = byKey.get(key) ?? { what, uses: [] };
      entry.uses.push(record);
      byKey.set(key, entry);
    }
  }
  return byKey;
}

/** True when this verification is a later use of a key used before: the AS refusing it is a replay caught, not a mismatch. */
export function isReplayedUse(record: VerificationRecord, records: readonly EvidenceRecord[]): boolean {
  const uses = usesByKey(records);
  return replayKeysOf(record).some(({ key }) => {
    const ordered = uses.get(key)?.uses ?? [];
    return ordered.length > 1 && ordered[0]!.seq !== record.seq && ordered.some((use) => use.seq === record.seq);
  });
}

/**
 * request_uri_replay: one PAR request_uri, or one request-object jti of one client, used more than once. The first
 * use (by occurrence, then seq) is legitimate; the finding lands on the chain of each later use. High when two uses
 * were accepted, or when a refused later use still had a consent approved in its chain (a second user got through
 * login and consent before the refusal); low when the AS refused the later use (an attempt, kept as evidence).
 */
export const requestUriReplay: Rule = (chain) => {
  const all = withRelated(chain.records, chain.related);
  const own = new Set(chain.records.map((record) => record.seq));
  const approvedConsents = consentsOf(chain.records).filter((consent) => consent.data !== null && approves(consent.data)).length;
  const findings: FindingDraft[] = [];
  for (const [key, { what, uses }] of usesByKey(all)) {
    if (uses.length < 2) continue;
    const laterOwn = uses.slice(1).filter((use) => own.has(use.seq));
    if (laterOwn.length === 0) continue;
    const accepted = uses.filter((use) => use.data!.verdict === 'accepted');
    const laterAccepted = laterOwn.some((use) => use.data!.verdict === 'accepted');
    // Each accepted use of this chain accounts for one approved consent in it; a consent beyond those was given on a
    // use the AS refused only afterwards.
    const acceptedHere = uses.filter((use) => own.has(use.seq) && use.data!.verdict === 'accepted').length;
    const consentOnRefusedUse = approvedConsents > acceptedHere;
    const high = (laterAccepted && accepted.length >= 2) || consentOnRefusedUse;
    findings.push({
      rule: 'request_uri_replay',
      severity: high ? 'high' : 'low',
      key,
      evidence: uses.map(eventRef),
      summary: `${what} was used ${uses.length} times (${accepted.length} accepted by the AS)${high ? '' : '; the AS refused the replay'}`,
      facts: {
        key_kind: key.startsWith('request_uri:') ? 'request_uri' : 'jti',
        uses: uses.map((use) => ({ verdict: use.data!.verdict, at: use.occurredAt.toISOString(), chains: use.chains })),
        accepted_uses: accepted.length,
        consent_on_refused_use: consentOnRefusedUse,
      },
    });
  }
  return { findings };
};
