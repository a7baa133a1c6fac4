import { eventRef, verificationsOf } from '../chain-evidence';
import type { Rule } from '../rule';
import { isReplayedUse } from './request-uri-replay';
import { withRelated } from './ordering';

/**
 * verdict_mismatch: jartrail's own verification disagrees with the AS. High when the AS accepted what jartrail
 * rejects (the object's signature, algorithm, claims or the AS's claim facts are wrong); medium when the AS refused
 * what jartrail verified. A refusal of a replayed request_uri or jti is the AS doing its job: request_uri_replay
 * reports it, and it is no mismatch.
 */
export const verdictMismatch: Rule = (chain) => {
  const all = withRelated(chain.records, chain.related);
  const findings = verificationsOf(chain.records).flatMap((record) => {
    const independent = record.independent;
    if (independent === null || independent === 'pending' || !independent.mismatch || record.data === null) return [];
    const asAccepted = record.data.verdict === 'accepted';
    if (!asAccepted && isReplayedUse(record, all)) return [];
    const reasons = independent.reasons.map((reason) => reason.code);
    return [
      {
        rule: 'verdict_mismatch' as const,
        severity: asAccepted ? ('high' as const) : ('medium' as const),
        key: `verification:${record.eventId}:${record.sourceId}`,
        evidence: [eventRef(record)],
        summary: asAccepted
          ? `the AS accepted a request object that jartrail rejects (${reasons.join(', ') || 'no reason recorded'})`
          : `the AS refused a request object that jartrail verified${record.data.reason ? ` (AS reason: ${JSON.stringify(record.data.reason)})` : ''}`,
        facts: { as_verdict: record.data.verdict, independent_verdict: independent.verdict, reasons },
      },
    ];
  });
  return { findings };
};
