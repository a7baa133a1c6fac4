import { eventRef, verificationsOf } from '../chain-evidence';
import type { Rule } from '../rule';
import { quoted } from './ordering';

/** The verifier's default clock skew (VERIFY_CLOCK_SKEW_SECONDS). */
export const EXPIRY_SKEW_SECONDS = 60;

const LIFETIME_REASONS = new Set(['expired', 'lifetime_exceeded', 'exp_missing', 'not_yet_valid', 'iat_in_future']);

/**
 * lifetime_policy: a request object the AS accepted although its lifetime (exp minus nbf, else iat, from the AS's
 * claim facts) exceeds the client's maximum, it has no exp, or it had expired when the AS accepted it (the time of the
 * AS's report, beyond a minute of clock skew); or jartrail's own verification found one of those. Medium; high when it was accepted while expired.
 * Without a registration only a missing or passed exp is judged.
 */
export const lifetimePolicy: Rule = (chain) => {
  const findings = verificationsOf(chain.records).flatMap((record) => {
    if (record.data === null || record.data.verdict !== 'accepted' || record.data.unsigned === true) return [];
    const { claims } = record.data;
    const client = chain.clients.get(record.data.client_id);
    const acceptedAt = Math.floor(record.occurredAt.getTime() / 1000);
    const problems: string[] = [];
    let expired = false;
    if (claims.exp === undefined) problems.push('it has no exp');
    else {
      // The AS's and the client's clocks differ: as the verifier does, a minute of skew is not held against it.
      if (claims.exp + EXPIRY_SKEW_SECONDS < acceptedAt) {
        expired = true;
        problems.push(`it had expired ${acceptedAt - claims.exp} s before the AS accepted it`);
      }
      const start = claims.nbf ?? claims.iat;
      if (client && start !== undefined && claims.exp - start > client.maxRequestObjectLifetime) {
        problems.push(`its lifetime of ${claims.exp - start} s exceeds the client's ${client.maxRequestObjectLifetime} s`);
      }
    }
    const independent = typeof record.independent === 'object' && record.independent !== null ? record.independent : undefined;
    const reasonCodes = (independent?.reasons ?? []).map((reason) => reason.code).filter((code) => LIFETIME_REASONS.has(code));
    if (reasonCodes.includes('expired')) expired = true;
    if (problems.length === 0 && reasonCodes.length === 0) return [];
    return [
      {
        rule: 'lifetime_policy' as const,
        severity: expired ? ('high' as const) : ('medium' as const),
        key: `verification:${record.eventId}:${record.sourceId}`,
        evidence: [eventRef(record)],
        summary: `the AS accepted a request object of client ${quoted(record.data.client_id)} although ${problems.join(' and ') || `jartrail finds ${reasonCodes.join(', ')}`}`,
        facts: { exp: claims.exp ?? null, nbf: claims.nbf ?? null, iat: claims.iat ?? null, accepted_at: acceptedAt, max_lifetime: client?.maxRequestObjectLifetime ?? null, reasons: reasonCodes },
      },
    ];
  });
  return { findings };
};
